import { describe, expect, it } from 'vitest';
import { clipL2, gaussianNoise, l2Norm, perContributorNoiseStddev, privatizeUpdate } from '../../../common/dp/noise.js';

function variance(xs: ArrayLike<number>): { mean: number; variance: number } {
  let mean = 0;
  for (let i = 0; i < xs.length; i++) mean += xs[i] as number;
  mean /= xs.length;
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += ((xs[i] as number) - mean) ** 2;
  return { mean, variance: v / (xs.length - 1) };
}

describe('clipping', () => {
  it('scales an update down to the clipping norm and leaves smaller ones alone', () => {
    const { clipped, norm, scale } = clipL2([3, 4], 1);
    expect(norm).toBe(5);
    expect(scale).toBeCloseTo(0.2, 15);
    expect(l2Norm(clipped)).toBeCloseTo(1, 12);
    expect(clipL2([0.3, 0.4], 1).clipped).toEqual(new Float64Array([0.3, 0.4]));
    expect(() => clipL2([Number.NaN], 1)).toThrowError(/not finite/);
  });
});

describe('distributed Gaussian noise', () => {
  it('samples have the requested mean and variance', () => {
    const noise = gaussianNoise(200_000, 2);
    const { mean, variance: v } = variance(noise);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(v - 4) / 4).toBeLessThan(0.02);
    expect(noise.every(Number.isFinite)).toBe(true);
  });

  it('the sum over the minimum number of contributors carries the target noise', () => {
    const p = { clipNorm: 0.5, noiseMultiplier: 1.1, minContributors: 16 };
    expect(perContributorNoiseStddev(p)).toBeCloseTo((1.1 * 0.5) / 4, 15);
    const d = 40_000;
    const sum = new Float64Array(d);
    for (let c = 0; c < p.minContributors; c++) {
      const share = privatizeUpdate(new Float64Array(d), p);
      for (let i = 0; i < d; i++) sum[i] = (sum[i] as number) + (share[i] as number);
    }
    const target = (p.noiseMultiplier * p.clipNorm) ** 2;
    expect(Math.abs(variance(sum).variance - target) / target).toBeLessThan(0.04);
  });

  it('clips before adding noise', () => {
    const out = privatizeUpdate([30, 40], { clipNorm: 1, noiseMultiplier: 0, minContributors: 1 });
    expect(out[0]).toBeCloseTo(0.6, 12);
    expect(out[1]).toBeCloseTo(0.8, 12);
  });
});
