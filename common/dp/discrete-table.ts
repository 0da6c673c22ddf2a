// A fast sampler of the discrete Gaussian N_Z(0, σ²) for whole model updates: rejection from a
// block envelope instead of CKS's chain of BigInt Bernoulli trials. |y| is drawn by picking a
// block of B consecutive integers from a precomputed table (thresholds to 2^-96, computed once
// per σ² in 128-bit fixed point), a uniform point in it, and accepting with p(|y|) / p(block
// start); the sign is a fair bit. The acceptance test compares a 53-bit uniform with Math.exp and
// decides exactly (128-bit fixed point) in the rare case the two are within 2^-40, so each draw's
// law differs from N_Z(0, σ²) truncated at ±TAIL_SIGMAS·σ by less than 2^-88 in total variation
// (docs/secure-aggregation.md works the bound through to the round's δ).
import { randomBytes } from '../secagg/sodium.js';

/** The table covers |y| <= ceil(TAIL_SIGMAS·σ); beyond it N_Z(0, σ²) has mass below 2^-140. */
export const TAIL_SIGMAS = 14;
/** Blocks per σ: at most TAIL_SIGMAS·BLOCKS_PER_SIGMA + 1 blocks, acceptance about 0.9 near 0. */
const BLOCKS_PER_SIGMA = 8;
/** Bits of the fixed-point arithmetic that decides close calls (and of the table's weights). */
const EXACT_BITS = 128n;
/** Past this σ a block is wider than one 32-bit uniform draw; the exact sampler takes over. */
export const FAST_MAX_STDDEV = 2 ** 34;

const TWO_32 = 0x100000000;

/** Uniform 32-bit words from a byte source, read in large chunks. */
class RandomWords {
  private words = new Uint32Array(0);
  private offset = 0;
  private bits = 0;
  private bitCount = 0;

  constructor(private readonly random: (bytes: number) => Uint8Array) {}

  word(): number {
    if (this.offset >= this.words.length) {
      const bytes = this.random(16384);
      // A copy: the source's bytes may not be 4-aligned.
      this.words = new Uint32Array(bytes.slice().buffer, 0, bytes.length >>> 2);
      this.offset = 0;
    }
    return this.words[this.offset++] as number;
  }

  bit(): number {
    if (this.bitCount === 0) {
      this.bits = this.word();
      this.bitCount = 32;
    }
    this.bitCount--;
    const b = this.bits & 1;
    this.bits >>>= 1;
    return b;
  }

  /** Uniform in [0, bound), 1 <= bound <= 2^32, by rejection: no modulo bias. */
  below(bound: number): number {
    if (bound <= 1) return 0;
    const limit = TWO_32 - (TWO_32 % bound);
    for (;;) {
      const w = this.word();
      if (w < limit) return w % bound;
    }
  }
}

/** floor(exp(-x/y)·2^bits) up to a few units, for x >= 0, y > 0 (Taylor series, guard bits). */
export function expNegFixed(x: bigint, y: bigint, bits: bigint = EXACT_BITS): bigint {
  const guard = 24n;
  const p = bits + guard;
  const one = 1n << p;
  const series = (f: bigint): bigint => {
    // exp(-f) for 0 <= f <= 1 in fixed point: alternating terms f^k / k!.
    let term = one;
    let sum = one;
    for (let k = 1n; term !== 0n; k++) {
      term = (term * f) / one / k;
      sum += k % 2n === 1n ? -term : term;
    }
    return sum;
  };
  let whole = x / y;
  let result = series(((x % y) << p) / y);
  // exp(-n) by squaring exp(-1).
  let power = series(one);
  while (whole > 0n && result !== 0n) {
    if (whole & 1n) result = (result * power) >> p;
    power = (power * power) >> p;
    whole >>= 1n;
  }
  return result >> guard;
}

/** The precomputed envelope for one σ² = num/den. */
export interface DiscreteGaussianTable {
  num: bigint;
  den: bigint;
  /** σ² as a number, for the fast acceptance test. */
  variance: number;
  /** Width of each block of |y| (the last block may be shorter). */
  blockWidth: number;
  /** Number of integers in each block. */
  blockSize: Float64Array;
  /** Cumulative block probabilities as 96-bit fractions, high, middle and low words. */
  high: Uint32Array;
  middle: Uint32Array;
  low: Uint32Array;
}

/**
 * The envelope for N_Z(0, num/den): block q holds |y| in [qB, qB + B) and has weight
 * size·2·exp(-(qB)²/(2σ²)), i.e. every point of it weighted as the block's largest. y = 0 sits
 * under 2·p(0) and is accepted half the time, so that each y != 0 has p(|y|) for both signs.
 */
export function discreteGaussianTable(num: bigint, den: bigint): DiscreteGaussianTable {
  const variance = Number(num) / Number(den);
  const sigma = Math.sqrt(variance);
  const reach = Math.ceil(TAIL_SIGMAS * sigma);
  const blockWidth = sigma > BLOCKS_PER_SIGMA ? Math.ceil(sigma / BLOCKS_PER_SIGMA) : 1;
  const blocks = Math.floor(reach / blockWidth) + 1;
  const weights: bigint[] = [];
  const blockSize = new Float64Array(blocks);
  let total = 0n;
  for (let q = 0; q < blocks; q++) {
    const start = BigInt(q * blockWidth);
    const size = Math.min(blockWidth, reach + 1 - q * blockWidth);
    blockSize[q] = size;
    const weight = 2n * BigInt(size) * expNegFixed(start * start * den, 2n * num);
    weights.push(weight);
    total += weight;
  }
  const high = new Uint32Array(blocks);
  const middle = new Uint32Array(blocks);
  const low = new Uint32Array(blocks);
  let cumulative = 0n;
  for (let q = 0; q < blocks; q++) {
    cumulative += weights[q] as bigint;
    // The last threshold is exactly 1 (all ones): every 96-bit draw lands in some block.
    const c = q === blocks - 1 ? (1n << 96n) - 1n : (cumulative << 96n) / total;
    high[q] = Number((c >> 64n) & 0xffffffffn);
    middle[q] = Number((c >> 32n) & 0xffffffffn);
    low[q] = Number(c & 0xffffffffn);
  }
  return { num, den, variance, blockWidth, blockSize, high, middle, low };
}

/** Draws from N_Z(0, σ²) with a precomputed table: a few 32-bit words and one exp per draw. */
export class TableDiscreteGaussian {
  private readonly words: RandomWords;

  /** `closeCall`: how near a uniform may be to exp's value before the exact test decides (tests widen it). */
  constructor(
    private readonly table: DiscreteGaussianTable,
    random: (bytes: number) => Uint8Array = randomBytes,
    private readonly closeCall = 2 ** -40,
  ) {
    this.words = new RandomWords(random);
  }

  /** A 96-bit uniform compared word by word against the thresholds, drawing lower words only on ties. */
  private block(): number {
    const { high, middle, low } = this.table;
    const last = high.length - 1;
    const u2 = this.words.word();
    let u1 = -1;
    let u0 = -1;
    for (let q = 0; q < last; q++) {
      const h = high[q] as number;
      if (u2 < h) return q;
      if (u2 > h) continue;
      if (u1 < 0) u1 = this.words.word();
      const m = middle[q] as number;
      if (u1 < m) return q;
      if (u1 > m) continue;
      if (u0 < 0) u0 = this.words.word();
      if (u0 < (low[q] as number)) return q;
    }
    return last;
  }

  /** Bernoulli(exp(-(a² - b²)/(2σ²))), exact to 2^-128. */
  private accept(a: number, b: number): boolean {
    const hi = this.words.word() >>> 5;
    const lo = this.words.word() >>> 6;
    const u = (hi * 2 ** 26 + lo) / 2 ** 53;
    const e = Math.exp(-((a - b) * (a + b)) / (2 * this.table.variance));
    if (u < e - this.closeCall) return true;
    if (u >= e + this.closeCall) return false;
    // Close call: extend u to 128 bits and compare with exp computed in fixed point.
    const extra = (BigInt(this.words.word()) << 43n) | (BigInt(this.words.word()) << 11n) | BigInt(this.words.word() >>> 21);
    const wide = (((BigInt(hi) << 26n) | BigInt(lo)) << 75n) | extra;
    const A = BigInt(a);
    const B = BigInt(b);
    return wide < expNegFixed((A * A - B * B) * this.table.den, 2n * this.table.num);
  }

  sample(): number {
    const { blockWidth, blockSize } = this.table;
    for (;;) {
      const q = this.block();
      const b = q * blockWidth;
      const a = b + this.words.below(blockSize[q] as number);
      if (a === 0) {
        if (this.words.bit() === 0) return 0;
        continue;
      }
      if (a !== b && !this.accept(a, b)) continue;
      return this.words.bit() === 0 ? a : -a;
    }
  }
}

const tables = new Map<string, DiscreteGaussianTable>();

/** The table for σ² = num/den, built once per process for each σ² a round asks for. */
export function cachedTable(num: bigint, den: bigint): DiscreteGaussianTable {
  const key = `${num}/${den}`;
  let table = tables.get(key);
  if (!table) {
    if (tables.size >= 64) tables.clear();
    table = discreteGaussianTable(num, den);
    tables.set(key, table);
  }
  return table;
}
