// k and t from Bell et al.'s bounds: checked against values computed independently (exact
// hypergeometric and binomial tails in Python's math.lgamma), against the complete-graph rule for
// small rounds, and against the old k = 3 log2 n rule, which the privacy target rejects.
import { describe, expect, it } from 'vitest';
import { DEFAULT_ASSUMPTIONS, log2BinomialTail, log2HypergeometricTail, neighbourhoodFor } from '../../../common/secagg/sizing.js';

describe('neighbourhood sizing', () => {
  it('matches an independent computation for 5% colluders and 10% dropouts', () => {
    // Python: smallest even k, smallest t with n * P[hypergeom >= 2t - k] <= 2^-40, then
    // n * P[binom(k, 0.15) >= k - t + 1] <= 2^-20.
    const expected: [number, number, number][] = [
      [100, 60, 33],
      [300, 86, 51],
      [1000, 118, 74],
      [10000, 138, 87],
    ];
    for (const [n, k, t] of expected) expect(neighbourhoodFor(n)).toMatchObject({ neighbourCount: k, threshold: t, colluders: Math.floor(0.05 * n) });
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
    for (const n of [4, 12, 20, 40]) {
      const { neighbourCount: k, threshold: t, colluders: c } = neighbourhoodFor(n);
      expect(k).toBe(n - 1);
      expect(2 * t).toBeGreaterThan(k + c);
      expect(2 * (t - 1)).toBeLessThanOrEqual(k + c);
    }
    expect(neighbourhoodFor(40).colluders).toBe(2);
  });

  it('positive control: the old rule (k about 3 log2 n, t = k/2 + 1) misses the privacy target at n = 1000', () => {
    const n = 1000;
    const k = 30;
    const t = k / 2 + 1;
    expect(log2HypergeometricTail(n - 1, 50, k, 2 * t - k) + Math.log2(n)).toBeGreaterThan(-DEFAULT_ASSUMPTIONS.securityBits);
  });

  it('refuses assumptions that cannot hold', () => {
    expect(() => neighbourhoodFor(10, { ...DEFAULT_ASSUMPTIONS, corruptFraction: 0.6, dropoutRate: 0.5 })).toThrowError(/fractions/);
    expect(() => neighbourhoodFor(4, { ...DEFAULT_ASSUMPTIONS, corruptFraction: 0.75 })).toThrowError(/cannot be private/);
  });
});
