// The table sampler that noises whole updates: its frequencies, moments and tail frequencies match
// N_Z(0, σ²)'s probabilities (chi-square, seeded, seed printed) for a σ with one integer per block
// and for one with wide blocks; the rare exact path (forced on for every draw) matches too; and a
// deliberately wrong table is rejected by the same test, the positive control.
import { describe, expect, it } from 'vitest';
import { rationalVariance } from '../../../common/dp/discrete.js';
import { discreteGaussianTable, expNegFixed, TableDiscreteGaussian, type DiscreteGaussianTable } from '../../../common/dp/discrete-table.js';
import { loadSodium, sodiumNow } from '../../../common/secagg/sodium.js';

const SEED = 20261202;

function seededBytes(seed: number): (n: number) => Uint8Array {
  const sodium = sodiumNow();
  const key = sodium.crypto_generichash(32, sodium.from_string(`trove-test-discrete-table:${seed}`), null);
  let counter = 0;
  return (n) => {
    const nonce = new Uint8Array(24);
    new DataView(nonce.buffer).setUint32(0, counter++, true);
    return sodium.crypto_stream_xchacha20_xor(new Uint8Array(n), nonce, key);
  };
}

/** N_Z(0, variance)'s probabilities for |y| <= reach (the rest is below 1e-40 for reach = 20σ). */
function pmf(variance: number): (y: number) => number {
  const reach = Math.ceil(20 * Math.sqrt(variance));
  let norm = 0;
  for (let y = -reach; y <= reach; y++) norm += Math.exp((-y * y) / (2 * variance));
  return (y) => Math.exp((-y * y) / (2 * variance)) / norm;
}

/**
 * Pearson's chi-square of draws against N_Z(0, variance), in cells of `width` integers over
 * ±cut, tails pooled on each side. Returns the statistic and the degrees of freedom.
 */
function chiSquare(draws: Int32Array, variance: number, cut: number, width: number): { statistic: number; df: number } {
  const p = pmf(variance);
  const cells = new Map<number, { expected: number; observed: number }>();
  const cellOf = (y: number): number => (y < -cut ? -Infinity : y > cut ? Infinity : Math.floor((y + cut) / width));
  const reach = Math.ceil(20 * Math.sqrt(variance));
  for (let y = -reach; y <= reach; y++) {
    const c = cells.get(cellOf(y)) ?? { expected: 0, observed: 0 };
    c.expected += p(y) * draws.length;
    cells.set(cellOf(y), c);
  }
  for (const y of draws) {
    const c = cells.get(cellOf(y));
    if (!c) return { statistic: Infinity, df: 1 };
    c.observed++;
  }
  let statistic = 0;
  for (const c of cells.values()) statistic += (c.observed - c.expected) ** 2 / c.expected;
  return { statistic, df: cells.size - 1 };
}

/** The chi-square 99.9% quantile (Wilson-Hilferty), enough for df >= 5. */
function chiSquare999(df: number): number {
  const z = 3.0902;
  return df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
}

function draw(table: DiscreteGaussianTable, seed: number, count: number, closeCall?: number): Int32Array {
  const sampler = new TableDiscreteGaussian(table, seededBytes(seed), closeCall);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = sampler.sample();
  return out;
}

function tableFor(variance: number): DiscreteGaussianTable {
  const { num, den } = rationalVariance(variance);
  return discreteGaussianTable(num, den);
}

const cases = [
  { name: 'σ² = 7/3 (one integer per block)', variance: 7 / 3, cut: 5, width: 1 },
  { name: 'σ² = 400.5 (blocks of 3)', variance: 400.5, cut: 60, width: 4 },
];

describe('the table discrete Gaussian sampler', () => {
  for (const c of cases) {
    it(`matches N_Z(0, ${c.name}): chi-square, moments and tail frequencies`, async () => {
      await loadSodium();
      console.log(`table sampler seed ${SEED} (${c.name})`);
      const total = 200_000;
      const draws = draw(tableFor(c.variance), SEED, total);
      const { statistic, df } = chiSquare(draws, c.variance, c.cut, c.width);
      console.log(`chi-square ${statistic.toFixed(1)} on ${df} degrees of freedom (99.9% quantile ${chiSquare999(df).toFixed(1)})`);
      expect(statistic).toBeLessThan(chiSquare999(df));

      let sum = 0;
      let squares = 0;
      let beyond2 = 0;
      let beyond3 = 0;
      const sigma = Math.sqrt(c.variance);
      for (const y of draws) {
        sum += y;
        squares += y * y;
        if (Math.abs(y) > 2 * sigma) beyond2++;
        if (Math.abs(y) > 3 * sigma) beyond3++;
      }
      const p = pmf(c.variance);
      let variance = 0;
      let tail2 = 0;
      let tail3 = 0;
      for (let y = -Math.ceil(20 * sigma); y <= Math.ceil(20 * sigma); y++) {
        variance += y * y * p(y);
        if (Math.abs(y) > 2 * sigma) tail2 += p(y);
        if (Math.abs(y) > 3 * sigma) tail3 += p(y);
      }
      // Five standard errors each: the mean, the second moment, and two binomial tail counts.
      expect(Math.abs(sum / total)).toBeLessThan(5 * Math.sqrt(variance / total));
      expect(Math.abs(squares / total - variance)).toBeLessThan(5 * variance * Math.sqrt(2 / total));
      expect(Math.abs(beyond2 - tail2 * total)).toBeLessThan(5 * Math.sqrt(tail2 * total) + 1);
      expect(Math.abs(beyond3 - tail3 * total)).toBeLessThan(5 * Math.sqrt(tail3 * total) + 1);
    });
  }

  it('decides close calls exactly: with every acceptance sent down the 128-bit path, the law is the same', async () => {
    await loadSodium();
    console.log(`table sampler seed ${SEED + 1} (exact path)`);
    const draws = draw(tableFor(400.5), SEED + 1, 20_000, 1);
    const { statistic, df } = chiSquare(draws, 400.5, 60, 8);
    expect(statistic).toBeLessThan(chiSquare999(df));
  });

  it('computes exp(-x/y) in fixed point to within a few units of 2^-128', () => {
    for (const [x, y] of [
      [0n, 1n],
      [1n, 3n],
      [7n, 2n],
      [98n, 1n],
      [12345n, 4567n],
    ] as const) {
      const fixed = Number(expNegFixed(x, y)) / 2 ** 128;
      const expected = Math.exp(-Number(x) / Number(y));
      // Math.exp is itself good to about one part in 2^52; below 2^-128 the fixed point reads 0.
      expect(Math.abs(fixed - expected)).toBeLessThanOrEqual(expected * 4e-16 + 2 ** -126);
    }
  });

  it('positive control: a table with one block\'s weight moved to its neighbour fails the same test', async () => {
    await loadSodium();
    const table = tableFor(400.5);
    // Block 2's threshold set to block 1's: block 2 is never chosen, block 3 takes its share.
    const wrong = { ...table, high: table.high.slice(), middle: table.middle.slice(), low: table.low.slice() };
    wrong.high[2] = wrong.high[1] as number;
    wrong.middle[2] = wrong.middle[1] as number;
    wrong.low[2] = wrong.low[1] as number;
    const draws = draw(wrong, SEED, 200_000);
    const { statistic, df } = chiSquare(draws, 400.5, 60, 4);
    expect(statistic).toBeGreaterThan(chiSquare999(df));
    // And a table built for σ² 5% too small, with the right acceptance test, fails too.
    const small = { ...tableFor(400.5 * 0.95), variance: 400.5 };
    expect(chiSquare(draw(small, SEED, 200_000), 400.5, 60, 4).statistic).toBeGreaterThan(chiSquare999(df));
  });
});
