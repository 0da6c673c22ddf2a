// k and t from Bell et al.'s bounds: checked against values computed independently (exact
// hypergeometric and binomial tails in Python's math.lgamma), against the complete-graph rule for
// small rounds, and against the old k = 3 log2 n rule, which the privacy target rejects.
import { describe, expect, it } from 'vitest';
import { DEFAULT_ASSUMPTIONS, log2BinomialTail, log2HypergeometricTail, neighbourhoodFor } from '../../../common/secagg/sizing.js';

describe('neighbourhood sizing', () => {
  it('matches an independent computation for the default 3% colluders and 5% dropouts', () => {
    // Python: smallest even k, smallest t with n * P[hypergeom >= 2t - k] <= 2^-40, then
    // n * P[binom(k, 0.08) >= k - t + 1] <= 2^-20.
    const expected: [number, number, number][] = [
      [40, 26, 14],
      [100, 32, 18],
      [300, 44, 27],
      [1000, 60, 39],
      [10000, 70, 46],
    ];
    for (const [n, k, t] of expected) expect(neighbourhoodFor(n)).toMatchObject({ neighbourCount: k, threshold: t, colluders: Math.floor(0.03 * n) });
    // And for 5% colluders and 10% dropouts.
    const heavier = { ...DEFAULT_ASSUMPTIONS, corruptFraction: 0.05, dropoutRate: 0.1 };
    expect(neighbourhoodFor(1000, heavier)).toMatchObject({ neighbourCount: 118, threshold: 74, colluders: 50 });
    expect(neighbourhoodFor(100, heavier)).toMatchObject({ neighbourCount: 60, threshold: 33, colluders: 5 });
  });

  it('meets both targets, and no smaller threshold meets the privacy one', () => {
    const { securityBits, correctnessBits, corruptFraction, dropoutRate } = DEFAULT_ASSUMPTIONS;
    for (const n of [100, 1000]) {
      const { neighbourCount: k, threshold: t, colluders: c } = neighbourhoodFor(n);
      expect(log2HypergeometricTail(n - 1, c, k, 2 * t - k) + Math.log2(n)).toBeLessThanOrEqual(-securityBits);
      expect(log2BinomialTail(k, corruptFraction + dropoutRate, k - t + 1) + Math.log2(n)).toBeLessThanOrEqual(-correctnessBits);
      expect(log2HypergeometricTail(n - 1, c, k, 2 * (t - 1) - k) + Math.log2(n)).toBeGreaterThan(-securityBits);
    }
  });

  it('uses the complete graph for small rounds with a margin for every tolerated colluder', () => {
    const tenPercent = { ...DEFAULT_ASSUMPTIONS, corruptFraction: 0.1 };
    for (const [n, assumptions] of [[4, DEFAULT_ASSUMPTIONS], [20, DEFAULT_ASSUMPTIONS], [12, tenPercent], [20, tenPercent]] as const) {
      const { neighbourCount: k, threshold: t, colluders: c } = neighbourhoodFor(n, assumptions);
      expect(k).toBe(n - 1);
      expect(2 * t).toBeGreaterThan(k + c);
      expect(2 * (t - 1)).toBeLessThanOrEqual(k + c);
    }
    // One colluder in 12: the complete graph's t rises from 6 to 7.
    expect(neighbourhoodFor(12, tenPercent)).toMatchObject({ neighbourCount: 11, threshold: 7, colluders: 1 });
  });

  it('positive control: the old rule (k about 3 log2 n, t = k/2 + 1) misses the privacy target at n = 1000', () => {
    const n = 1000;
    const k = 30;
    const t = k / 2 + 1;
    expect(log2HypergeometricTail(n - 1, 30, k, 2 * t - k) + Math.log2(n)).toBeGreaterThan(-DEFAULT_ASSUMPTIONS.securityBits);
  });

  it('refuses assumptions that cannot hold', () => {
    expect(() => neighbourhoodFor(10, { ...DEFAULT_ASSUMPTIONS, corruptFraction: 0.6, dropoutRate: 0.5 })).toThrowError(/fractions/);
    expect(() => neighbourhoodFor(4, { ...DEFAULT_ASSUMPTIONS, corruptFraction: 0.75 })).toThrowError(/cannot be private/);
  });
});
