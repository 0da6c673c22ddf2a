import { describe, expect, it } from 'vitest';
import { analyticsAggregate, describeOutputForReview, privatizeAnalyticsOutput } from '../../../common/analytics/release.js';
import { parseAnalyticsJobSpec } from '../../../common/analytics/spec.js';
import { seededRandom } from '../../../common/random.js';

const SEED = 77;
const spec = parseAnalyticsJobSpec({ kind: 'federated-analytics', maxRows: 10, computation: { kind: 'histogram', column: 'sleep_hours', edges: [0, 6, 8, 24] } });
const noise = { noiseMultiplier: 2, minContributors: 4 };

describe('analytics release', () => {
  it('adds this contributor’s share of the noise: z x L2 / sqrt(m) per number', () => {
    const random = seededRandom(SEED);
    const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
    const output = Float64Array.from([3, 5, 2]);
    const samples: number[] = [];
    for (let i = 0; i < 4000; i++) samples.push(...privatizeAnalyticsOutput(output, spec, noise, bytes).map((v, k) => v - output[k]!));
    const sd = Math.sqrt(samples.reduce((s, v) => s + v * v, 0) / samples.length);
    expect(sd, `seed ${SEED}`).toBeGreaterThan(10 * 0.97);
    expect(sd, `seed ${SEED}`).toBeLessThan(10 * 1.03);
    expect(Array.from(output)).toEqual([3, 5, 2]);
  });

  it('states the error bar of a sum of n survivors', () => {
    const a = analyticsAggregate(spec, Float64Array.from([1, 2, 3]), 9, noise, 0.5);
    expect(a.noiseStdDev).toBeCloseTo(30);
    expect(a.errorBar).toBeCloseTo(1.96 * 30 + 0.5);
    expect(a.labels).toEqual(['sleep_hours 0 to 6', 'sleep_hours 6 to 8', 'sleep_hours 8 to 24']);
  });

  it('shows the exact output in plain words before it is sent', () => {
    const lines = describeOutputForReview(spec, Float64Array.from([3, 5, 2]), noise);
    expect(lines.slice(0, 3)).toEqual(['sleep_hours 0 to 6: 3', 'sleep_hours 6 to 8: 5', 'sleep_hours 8 to 24: 2']);
    expect(lines[3]).toMatch(/noise \(typically ±10 on each number\)/);
  });
});
