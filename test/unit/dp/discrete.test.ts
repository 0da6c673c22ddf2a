// The exact discrete Gaussian sampler and the integer-noise mechanism's guard rails: the sampler's
// frequencies match N_Z(0, σ²)'s probabilities (a chi-square test that rejects a wrong σ², the
// positive control), round parameters keep the noised sum inside the modulus, and a round that
// would shrink a contributor's share below what the ledger charged for is refused.
import { describe, expect, it } from 'vitest';
import { addDiscreteGaussian, RandomIntegers, rationalVariance } from '../../../common/dp/discrete.js';
import { checkShareVariance, log2WrapProbability, MIN_SHARE_STDDEV, noisyRoundParams, roundShareVariance, WRAP_PROBABILITY } from '../../../common/dp/integer-noise.js';
import { recommendedRoundParams } from '../../../common/secagg/params.js';
import { loadSodium, sodiumNow } from '../../../common/secagg/sodium.js';

const SEED = 20261203;

function seededBytes(seed: number): (n: number) => Uint8Array {
  const sodium = sodiumNow();
  const key = sodium.crypto_generichash(32, sodium.from_string(`trove-test-discrete:${seed}`), null);
  let counter = 0;
  return (n) => {
    const nonce = new Uint8Array(24);
    new DataView(nonce.buffer).setUint32(0, counter++, true);
    return sodium.crypto_stream_xchacha20_xor(new Uint8Array(n), nonce, key);
  };
}

/** Pearson's chi-square of `counts` against N_Z(0, variance), tails beyond ±cut pooled. */
function chiSquare(counts: Map<number, number>, total: number, variance: number, cut: number): { statistic: number; cells: number } {
  const weight = (y: number): number => Math.exp((-y * y) / (2 * variance));
  let norm = 0;
  for (let y = -60; y <= 60; y++) norm += weight(y);
  let statistic = 0;
  let cells = 0;
  let tailExpected = total;
  let tailObserved = total;
  for (let y = -cut; y <= cut; y++) {
    const expected = (total * weight(y)) / norm;
    const observed = counts.get(y) ?? 0;
    statistic += (observed - expected) ** 2 / expected;
    tailExpected -= expected;
    tailObserved -= observed;
    cells++;
  }
  statistic += (tailObserved - tailExpected) ** 2 / tailExpected;
  return { statistic, cells: cells + 1 };
}

describe('the discrete Gaussian sampler', () => {
  it('draws N_Z(0, 7/3) exactly: chi-square within the 99.9% quantile, and a wrong σ² is rejected', async () => {
    await loadSodium();
    console.log(`sampler seed ${SEED}`);
    const source = new RandomIntegers(seededBytes(SEED));
    const total = 40_000;
    const counts = new Map<number, number>();
    for (let i = 0; i < total; i++) {
      const y = Number(source.discreteGaussian(7n, 3n));
      counts.set(y, (counts.get(y) ?? 0) + 1);
    }
    // 10 cells (-4..4 and the pooled tail): 9 degrees of freedom, 99.9% quantile 27.88.
    const right = chiSquare(counts, total, 7 / 3, 4);
    expect(right.cells).toBe(10);
    expect(right.statistic).toBeLessThan(27.88);
    // Positive control: the same samples judged against σ² = 2 (a sampler off by 14%) fail.
    expect(chiSquare(counts, total, 2, 4).statistic).toBeGreaterThan(27.88);
  });

  it('rounds σ² up, never down, so the noise is never below what was asked', () => {
    for (const v of [0.1, 1, 2.5, 1e6 + 0.3, 3.5e13]) {
      const { num, den } = rationalVariance(v);
      expect(Number(num) / Number(den)).toBeGreaterThanOrEqual(v);
      expect(Number(num) / Number(den) - v).toBeLessThan(1e-5 * Math.max(1, v));
    }
  });

  it('adds noise modulo 2^32 whose mean and variance match σ²', async () => {
    await loadSodium();
    console.log(`sampler seed ${SEED + 1}`);
    const words = new Uint32Array(20_000).fill(0x80000000);
    addDiscreteGaussian(words, 1e6, seededBytes(SEED + 1));
    let sum = 0;
    let squares = 0;
    for (const w of words) {
      const y = w - 0x80000000;
      sum += y;
      squares += y * y;
    }
    const mean = sum / words.length;
    expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(1e6 / words.length));
    // Relative standard error of a variance from 20 000 draws is 1%.
    expect(Math.abs(squares / words.length / 1e6 - 1)).toBeLessThan(0.05);
  });
});

describe('integer noise in a round', () => {
  const noise = { sensitivity: Math.hypot(4, 4), noiseMultiplier: 3 };
  const base = { roundId: new Uint8Array(16), clientCount: 40, vectorLength: 100_001, clipRange: 4, minimumSurvivors: 14 };

  it('picks the finest quantization whose noised sum wraps with probability below 2^-40', () => {
    const heavy = { ...noise, noiseMultiplier: 20 };
    const params = noisyRoundParams(base, heavy);
    const wrap = (bits: number): number =>
      log2WrapProbability({ clients: 40, quantizationBits: bits, modulusBits: 32, variance: roundShareVariance({ ...params, quantizationBits: bits }, heavy), dimension: 100_001 });
    expect(wrap(params.quantizationBits)).toBeLessThanOrEqual(Math.log2(WRAP_PROBABILITY));
    // Positive control: one bit finer, and the secure-aggregation default, would risk wrapping.
    expect(wrap(params.quantizationBits + 1)).toBeGreaterThan(Math.log2(WRAP_PROBABILITY));
    expect(wrap(recommendedRoundParams(base).quantizationBits)).toBeGreaterThan(Math.log2(WRAP_PROBABILITY));
  });

  it('refuses a round whose share would fall below the charged minimum', () => {
    const coarse = recommendedRoundParams({ ...base, quantizationBits: 1 });
    const variance = roundShareVariance(coarse, { ...noise, noiseMultiplier: 0.001 });
    expect(variance).toBeLessThan(MIN_SHARE_STDDEV ** 2);
    expect(() => checkShareVariance(variance)).toThrowError(expect.objectContaining({ code: 'SECAGG_UNSAFE_REQUEST' }));
    expect(() => checkShareVariance(roundShareVariance(noisyRoundParams(base, noise), noise))).not.toThrow();
  });
});
