// Clipping and distributed Gaussian noise. Each contributor clips its update to L2 norm C and
// adds Gaussian noise with standard deviation z * C / sqrt(m): when at least m contributors'
// updates are in the sum (secure aggregation refuses to reveal a sum of fewer, see
// RoundParams.minimumSurvivors), the sum carries noise of standard deviation at least z * C,
// the Gaussian mechanism with noise multiplier z, and no single party ever sees less-noised data.
import { TroveError } from '../errors.js';
import { randomBytes } from '../secagg/sodium.js';

export interface DistributedNoise {
  /** C: the L2 norm every update is clipped to (the sensitivity of the sum). */
  clipNorm: number;
  /** z: noise standard deviation of the sum divided by C. */
  noiseMultiplier: number;
  /** m: the fewest contributors whose sum is ever revealed. */
  minContributors: number;
}

function check(p: DistributedNoise): void {
  if (!(p.clipNorm > 0 && Number.isFinite(p.clipNorm))) throw new TroveError('INVALID_INPUT', 'The clipping norm must be a positive number.');
  if (!(p.noiseMultiplier >= 0 && Number.isFinite(p.noiseMultiplier))) throw new TroveError('INVALID_INPUT', 'The noise multiplier must not be negative.');
  if (!(Number.isInteger(p.minContributors) && p.minContributors >= 1)) throw new TroveError('INVALID_INPUT', 'The minimum number of contributors must be at least 1.');
}

export function l2Norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] as number) * (v[i] as number);
  return Math.sqrt(s);
}

/** Scales `v` down (never up) so that its L2 norm is at most `maxNorm`. */
export function clipL2(v: ArrayLike<number>, maxNorm: number): { clipped: Float64Array; norm: number; scale: number } {
  if (!(maxNorm > 0)) throw new TroveError('INVALID_INPUT', 'The clipping norm must be positive.');
  const norm = l2Norm(v);
  if (!Number.isFinite(norm)) throw new TroveError('INVALID_INPUT', 'The update contains values that are not finite numbers.');
  const scale = norm > maxNorm ? maxNorm / norm : 1;
  const clipped = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) clipped[i] = (v[i] as number) * scale;
  return { clipped, norm, scale };
}

/** The standard deviation each contributor adds. */
export function perContributorNoiseStddev(p: DistributedNoise): number {
  check(p);
  return (p.noiseMultiplier * p.clipNorm) / Math.sqrt(p.minContributors);
}

/**
 * `length` independent N(0, stddev^2) samples (Box-Muller over 53-bit uniforms from the platform's
 * cryptographic random source). Adds into `into` when given.
 */
export function gaussianNoise(length: number, stddev: number, into?: Float64Array, random: (bytes: number) => Uint8Array = randomBytes): Float64Array {
  const out = into ?? new Float64Array(length);
  if (stddev === 0) return out;
  const pairs = Math.ceil(length / 2);
  const source = random(16 * pairs);
  const words = new Uint32Array(source.buffer, source.byteOffset, 4 * pairs);
  for (let p = 0; p < pairs; p++) {
    // Two 53-bit uniforms in (0, 1]: never 0, so the logarithm is finite.
    const u1 = ((words[4 * p] as number) * 2097152 + ((words[4 * p + 1] as number) >>> 11) + 1) / 9007199254740992;
    const u2 = ((words[4 * p + 2] as number) * 2097152 + ((words[4 * p + 3] as number) >>> 11)) / 9007199254740992;
    const r = stddev * Math.sqrt(-2 * Math.log(u1));
    const i = 2 * p;
    out[i] = (out[i] as number) + r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < length) out[i + 1] = (out[i + 1] as number) + r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** Clips an update and adds this contributor's share of the noise. */
export function privatizeUpdate(update: ArrayLike<number>, p: DistributedNoise): Float64Array {
  const sd = perContributorNoiseStddev(p);
  const { clipped } = clipL2(update, p.clipNorm);
  return gaussianNoise(clipped.length, sd, clipped);
}

/** S: the L2 sensitivity of one contributor's weighted vector (fedavg.weightedInput of an update clipped to C), update and count coordinate together. */
export function weightedSensitivity(p: { clipNorm: number; clipRange: number }): number {
  return Math.hypot(p.clipNorm, p.clipRange);
}
