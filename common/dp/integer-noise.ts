// The distributed discrete Gaussian mechanism (Kairouz, Liu and Steinke 2021): each contributor
// quantizes its weighted, clipped vector first (secure aggregation's stochastic rounding), then
// adds discrete Gaussian noise N_Z(0, σ²) to the integers. The sum of at least m contributors'
// shares is what the ledger charges; the sum is taken modulo 2^m, and the round's bit width is
// chosen so that wrapping around happens with probability below WRAP_PROBABILITY (wrapping is
// post-processing, so it costs no privacy; it would only spoil that round's sum).
import { TroveError } from '../errors.js';
import { recommendedRoundParams, type RoundParams } from '../secagg/params.js';
import { quantizationStep } from '../secagg/quantize.js';

/** Clients' shares below this σ (in quantization steps) are refused: it keeps τ below 1e-60. */
export const MIN_SHARE_STDDEV = 4;
/** The most clients a round may have (secure aggregation's own limit); τ is bounded for it. */
const MAX_CLIENTS = 1 << 16;
/** The probability, per round, that some coordinate of the noised sum leaves the modulus's range. */
export const WRAP_PROBABILITY = 2 ** -40;

/** The noise of a round's sum, before the round fixes m and the quantization step. */
export interface SumNoise {
  /** S: the L2 norm of one contributor's weighted vector (update and count coordinate). */
  sensitivity: number;
  /** z: the sum's noise standard deviation over its sensitivity, with m contributors. */
  noiseMultiplier: number;
}

export interface IntegerNoise {
  /** S: the L2 norm of one contributor's weighted vector (update and count coordinate). */
  sensitivity: number;
  /** z: the sum's noise standard deviation over its sensitivity, with m contributors. */
  noiseMultiplier: number;
  /** m: the fewest contributors whose sum is ever revealed. */
  minContributors: number;
}

/**
 * Δ₂ in quantization steps: a contributor's quantized vector differs from the zero vector's by
 * x/step plus two rounding errors below 1 per coordinate, so by at most S/step + 2·sqrt(d).
 */
export function integerSensitivity(sensitivity: number, step: number, dimension: number): number {
  return sensitivity / step + 2 * Math.sqrt(dimension);
}

/** σ²: the variance each contributor adds, in quantization steps squared. */
export function shareVariance(p: IntegerNoise, step: number, dimension: number): number {
  const delta = integerSensitivity(p.sensitivity, step, dimension);
  return (p.noiseMultiplier * delta) ** 2 / p.minContributors;
}

/**
 * Kairouz et al. 2021, Theorem 2: the sum of n shares N_Z(0, σ²) is (ε²/2)-concentrated DP for an
 * integer sensitivity Δ₂ in d dimensions, with ε² = Δ₂²/(nσ²) + τd/2 and
 * τ = 10 Σ_{k=1}^{n-1} exp(-2π²σ² k/(k+1)).
 */
export function distributedDiscreteGaussianEpsilon(o: { sensitivity: number; variance: number; clients: number; dimension: number }): number {
  let tau = 0;
  for (let k = 1; k < o.clients; k++) tau += Math.exp((-2 * Math.PI * Math.PI * o.variance * k) / (k + 1));
  tau *= 10;
  return Math.sqrt((o.sensitivity * o.sensitivity) / (o.clients * o.variance) + (tau * o.dimension) / 2);
}

/**
 * The Gaussian noise multiplier with the same RDP curve as one round of the mechanism, at its
 * worst: m contributors (z·Δ₂ of noise in the sum) whose shares are at the smallest σ a client
 * accepts. ρ-zCDP is RDP α·ρ at every order α, which is the Gaussian mechanism with multiplier
 * 1/sqrt(2ρ), so the accountant composes it as one.
 */
export function equivalentNoiseMultiplier(p: Pick<IntegerNoise, 'noiseMultiplier' | 'minContributors'>, dimension: number): number {
  if (p.noiseMultiplier === 0) return 0;
  // The τ term only grows with σ falling and with n, so bound it at the smallest share and the most clients.
  const s2 = MIN_SHARE_STDDEV * MIN_SHARE_STDDEV;
  // exp(-2π²σ² k/(k+1)) <= exp(-π²σ²) for every k >= 1.
  const tau = 10 * (MAX_CLIENTS - 1) * Math.exp(-Math.PI * Math.PI * s2);
  // Δ₂²/(nσ²) with nσ² = (zΔ₂)²: the sum of m shares, whatever Δ₂ is.
  const epsilon = Math.sqrt(1 / (p.noiseMultiplier * p.noiseMultiplier) + (tau * dimension) / 2);
  return 1 / epsilon;
}

/** Refuses a round whose quantization would leave this contributor's share below MIN_SHARE_STDDEV. */
export function checkShareVariance(variance: number): void {
  if (variance > 0 && variance < MIN_SHARE_STDDEV * MIN_SHARE_STDDEV) {
    throw new TroveError(
      'SECAGG_UNSAFE_REQUEST',
      'The round quantizes so coarsely that this device\'s share of the privacy noise would fall below what its privacy budget was charged for. Nothing was sent.',
      { variance },
    );
  }
}

/**
 * log2 of a bound on the probability that the decoded sum of up to `clients` quantized, noised
 * vectors wraps around the modulus in some coordinate. Each coordinate's centred sum is at most
 * n(2^b - 1)/2 in size, and the noise, a sum of n discrete Gaussians, is nσ²-subgaussian
 * (Canonne et al. 2020, Corollary 9): P(|noise| >= h) <= 2 exp(-h²/(2nσ²)), union over d.
 */
export function log2WrapProbability(o: { clients: number; quantizationBits: number; modulusBits: number; variance: number; dimension: number }): number {
  const headroom = 2 ** (o.modulusBits - 1) - (o.clients * (2 ** o.quantizationBits - 1)) / 2;
  if (headroom <= 0) return 0;
  if (o.variance === 0) return -Infinity;
  const lnP = Math.log(2 * o.dimension) - (headroom * headroom) / (2 * o.clients * o.variance);
  return Math.min(0, lnP / Math.LN2);
}

/** σ² each contributor of a round with these parameters adds (m = the round's minimum survivors). */
export function roundShareVariance(params: RoundParams, noise: SumNoise): number {
  return shareVariance({ ...noise, minContributors: params.minimumSurvivors }, quantizationStep(params), params.vectorLength);
}

/**
 * recommendedRoundParams with the finest quantization whose noised sum of all n contributors
 * stays inside the modulus but for WRAP_PROBABILITY.
 */
export function noisyRoundParams(options: Parameters<typeof recommendedRoundParams>[0], noise: SumNoise): RoundParams {
  let params = recommendedRoundParams(options);
  const wraps = (p: RoundParams): boolean =>
    log2WrapProbability({
      clients: p.clientCount,
      quantizationBits: p.quantizationBits,
      modulusBits: p.modulusBits,
      variance: roundShareVariance(p, noise),
      dimension: p.vectorLength,
    }) > Math.log2(WRAP_PROBABILITY);
  while (params.quantizationBits > 1 && wraps(params)) params = recommendedRoundParams({ ...options, quantizationBits: params.quantizationBits - 1 });
  return params;
}
