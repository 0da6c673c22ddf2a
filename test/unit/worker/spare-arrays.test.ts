import { describe, expect, it } from 'vitest';
import { SpareArrays } from '../../../worker/spare-arrays.js';

describe('spare arrays kept between tasks', () => {
  it('hands a kept array back wiped, by type and length, within the limit', () => {
    const spare = new SpareArrays(1024);
    const a = spare.take(Float64Array, 16);
    a.fill(7.5);
    expect(a.every((v) => v === 7.5)).toBe(true); // control: it held data before it was kept
    spare.keep(a);
    expect(a.every((v) => v === 0)).toBe(true);
    expect(spare.take(Float32Array, 16)).not.toBe(a);
    expect(spare.take(Float64Array, 8)).not.toBe(a);
    expect(spare.take(Float64Array, 16)).toBe(a);
    expect(spare.take(Float64Array, 16)).not.toBe(a); // taken once only

    const big = new Float64Array(200); // 1600 bytes: over the limit, wiped but not kept
    big.fill(1);
    spare.keep(big);
    expect(big.every((v) => v === 0)).toBe(true);
    expect(spare.take(Float64Array, 200)).not.toBe(big);
  });
});
