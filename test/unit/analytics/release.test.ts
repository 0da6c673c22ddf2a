import { describe, expect, it } from 'vitest';
import { analyticsAggregate, analyticsNoiseShare, analyticsRoundParams, describeOutputForReview } from '../../../common/analytics/release.js';
import { quantizationStep } from '../../../common/secagg/quantize.js';
import { parseAnalyticsJobSpec } from '../../../common/analytics/spec.js';
import { seededRandom } from '../../../common/random.js';

const SEED = 77;
const spec = parseAnalyticsJobSpec({ kind: 'federated-analytics', maxRows: 10, computation: { kind: 'histogram', column: 'sleep_hours', edges: [0, 6, 8, 24] } });
const noise = { noiseMultiplier: 2, minContributors: 4 };

describe('analytics release', () => {
  it('adds this contributor’s share of the noise after quantization, and states the error bar of a sum', () => {
    const random = seededRandom(SEED);
    const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
    const params = analyticsRoundParams(spec, noise.noiseMultiplier, { roundId: new Uint8Array(16), clientCount: 10, minimumSurvivors: 6 });
    const add = analyticsNoiseShare(spec, noise.noiseMultiplier, bytes);
    const samples: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const q = new Uint32Array(3).fill(1 << 20);
      add(q, params);
      q.forEach((w) => samples.push(((w - (1 << 20)) | 0) * quantizationStep(params)));
    }
    const sd = Math.sqrt(samples.reduce((s, v) => s + v * v, 0) / samples.length);
    // z x L2 / sqrt(m) = 2 x 10 / sqrt(6), plus the integer sensitivity's rounding allowance
    const expected = 20 / Math.sqrt(6);
    expect(sd, `seed ${SEED}`).toBeGreaterThan(expected * 0.95);
    expect(sd, `seed ${SEED}`).toBeLessThan(expected * 1.1);
    const a = analyticsAggregate(spec, Float64Array.from([1, 2, 3]), 9, params, noise.noiseMultiplier, 0.5);
    expect(a.noiseStdDev / 3).toBeCloseTo(sd, 0);
    expect(a.errorBar).toBeCloseTo(1.96 * a.noiseStdDev + 0.5);
    expect(a.labels).toEqual(['sleep_hours 0 to 6', 'sleep_hours 6 to 8', 'sleep_hours 8 to 24']);
  });

  it('shows the exact output in plain words before it is sent', () => {
    const lines = describeOutputForReview(spec, Float64Array.from([3, 5, 2]), noise);
    expect(lines.slice(0, 3)).toEqual(['sleep_hours 0 to 6: 3', 'sleep_hours 6 to 8: 5', 'sleep_hours 8 to 24: 2']);
    expect(lines[3]).toMatch(/noise \(typically ±10 on each number\)/);
  });
});
