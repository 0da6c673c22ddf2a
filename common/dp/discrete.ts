// An exact sampler of the discrete Gaussian N_Z(0, σ²) (Canonne, Kamath and Steinke 2020,
// "The Discrete Gaussian for Differential Privacy", Algorithms 1-3): only uniform integers and
// Bernoulli trials with rational probabilities, in BigInt arithmetic, so no floating-point
// rounding bends the distribution the accountant assumes. σ² is a rational num/den.
import { TroveError } from '../errors.js';
import { randomBytes } from '../secagg/sodium.js';
import { cachedTable, FAST_MAX_STDDEV, TableDiscreteGaussian } from './discrete-table.js';

/** Uniform integers from a byte source (the platform's cryptographic one unless a test seeds it). */
export class RandomIntegers {
  private buffer: Uint8Array = new Uint8Array(0);
  private offset = 0;

  constructor(private readonly random: (bytes: number) => Uint8Array = randomBytes) {}

  private byte(): number {
    if (this.offset >= this.buffer.length) {
      this.buffer = this.random(4096);
      this.offset = 0;
    }
    return this.buffer[this.offset++] as number;
  }

  private word(): number {
    return ((this.byte() << 24) | (this.byte() << 16) | (this.byte() << 8) | this.byte()) >>> 0;
  }

  /** Uniform in [0, bound) by rejection: no modulo bias. Bounds below 2^32 stay in plain numbers. */
  below(bound: bigint): bigint {
    if (bound <= 1n) return 0n;
    if (bound <= 0x100000000n) {
      const b = Number(bound);
      const limit = 0x100000000 - (0x100000000 % b);
      for (;;) {
        const w = this.word();
        if (w < limit) return BigInt(w % b);
      }
    }
    const bits = (bound - 1n).toString(2).length;
    const bytes = Math.ceil(bits / 8);
    const mask = (1n << BigInt(bits)) - 1n;
    for (;;) {
      let x = 0n;
      for (let i = 0; i < bytes; i++) x = (x << 8n) | BigInt(this.byte());
      x &= mask;
      if (x < bound) return x;
    }
  }

  /** Bernoulli(p / q), 0 <= p <= q. */
  bernoulli(p: bigint, q: bigint): boolean {
    return this.below(q) < p;
  }

  /** Bernoulli(exp(-a / b)) for a >= 0, b > 0 (CKS Algorithm 1). */
  bernoulliExp(a: bigint, b: bigint): boolean {
    if (a <= b) {
      let k = 1n;
      while (this.bernoulli(a, b * k)) k++;
      return k % 2n === 1n;
    }
    for (let i = a / b; i > 0n; i--) if (!this.bernoulliExp(1n, 1n)) return false;
    return this.bernoulliExp(a % b, b);
  }

  /** Discrete Laplace with scale t: P(y) ∝ exp(-|y| / t) (CKS Algorithm 2 with s = 1). */
  discreteLaplace(t: bigint): bigint {
    for (;;) {
      const u = this.below(t);
      if (!this.bernoulliExp(u, t)) continue;
      let v = 0n;
      while (this.bernoulliExp(1n, 1n)) v++;
      const y = u + t * v;
      const negative = this.bernoulli(1n, 2n);
      if (negative && y === 0n) continue;
      return negative ? -y : y;
    }
  }

  /** One draw of N_Z(0, num/den): P(y) ∝ exp(-y² den / (2 num)) (CKS Algorithm 3). */
  discreteGaussian(num: bigint, den: bigint): bigint {
    if (num === 0n) return 0n;
    // Any t > 0 gives the exact distribution; floor(σ) + 1 makes rejections rare.
    const t = BigInt(Math.floor(Math.sqrt(Number(num) / Number(den)))) + 1n;
    for (;;) {
      const y = this.discreteLaplace(t);
      const abs = y < 0n ? -y : y;
      // γ = (|y| - σ²/t)² / (2σ²) = (|y| t den - num)² / (2 num den t²)
      const diff = abs * t * den - num;
      if (this.bernoulliExp(diff * diff, 2n * num * den * t * t)) return y;
    }
  }
}

/** The denominator small σ² are rounded to (upward, so the noise is never below what was asked). */
const VARIANCE_DENOMINATOR = 1n << 20n;

/** σ² as a fraction at or above `variance`: a whole number from 2^20 on (smaller BigInts), else num / 2^20. */
export function rationalVariance(variance: number): { num: bigint; den: bigint } {
  if (!(variance >= 0 && Number.isFinite(variance))) throw new TroveError('INVALID_INPUT', 'The noise variance must be a non-negative number.');
  if (variance === 0) return { num: 0n, den: 1n };
  // + 1: the float product may round down by an ulp.
  if (variance >= 2 ** 20) return { num: BigInt(Math.ceil(variance)) + 1n, den: 1n };
  return { num: BigInt(Math.ceil(variance * 2 ** 20)) + 1n, den: VARIANCE_DENOMINATOR };
}

/**
 * Adds independent N_Z(0, σ²) noise to each word, modulo 2^32 (the secure-aggregation modulus
 * 2^m divides it). `variance` is rounded up to a multiple of 2^-20. The table sampler
 * (discrete-table.ts) draws each coordinate; σ beyond its reach falls back to the exact one.
 */
export function addDiscreteGaussian(words: Uint32Array, variance: number, random?: (bytes: number) => Uint8Array): Uint32Array {
  const { num, den } = rationalVariance(variance);
  if (num === 0n) return words;
  if (Math.sqrt(Number(num) / Number(den)) > FAST_MAX_STDDEV) {
    const source = new RandomIntegers(random);
    for (let i = 0; i < words.length; i++) words[i] = ((words[i] as number) + Number(source.discreteGaussian(num, den))) >>> 0;
    return words;
  }
  const sampler = new TableDiscreteGaussian(cachedTable(num, den), random);
  for (let i = 0; i < words.length; i++) words[i] = ((words[i] as number) + sampler.sample()) >>> 0;
  return words;
}
