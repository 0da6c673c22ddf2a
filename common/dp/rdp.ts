// Rényi-DP accounting for the Gaussian mechanism, with and without Poisson subsampling
// (Mironov 2017; Mironov, Talwar and Zhang 2019, "Rényi Differential Privacy of the Sampled
// Gaussian Mechanism"), and conversion to (epsilon, delta) with the bound of Balle et al. 2020 /
// Canonne, Kamath and Steinke 2020, the conversion Opacus and TensorFlow Privacy use.
import { TroveError } from '../errors.js';
import { logAdd, logErfc } from './special.js';

/** The orders Opacus uses by default: 1.1 .. 10.9 in steps of 0.1, then 12 .. 63. */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 52 }, (_, i) => 12 + i),
]);

function invalid(message: string): TroveError {
  return new TroveError('INVALID_INPUT', message);
}

/** RDP of the Gaussian mechanism with noise multiplier sigma (noise stddev / L2 sensitivity). */
export function gaussianRdp(noiseMultiplier: number, order: number): number {
  if (noiseMultiplier === 0 || order === Infinity) return Infinity;
  return order / (2 * noiseMultiplier * noiseMultiplier);
}

/** log A_alpha for integer alpha: a binomial expansion (Mironov et al. 2019, Sec. 3.2). */
function logAInt(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  const logQ = Math.log(q);
  const log1mq = Math.log1p(-q);
  let logBinom = 0; // log C(alpha, 0)
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log(alpha - i + 1) - Math.log(i);
    const term = logBinom + i * logQ + (alpha - i) * log1mq + (i * i - i) / (2 * sigma * sigma);
    logA = logAdd(logA, term);
  }
  return logA;
}

/** How fractional orders of the subsampled Gaussian are summed (see logAFrac). */
export type FractionalSeries = 'upper-bound' | 'exact';

/** A signed number held as (sign, log|x|), so long alternating series can be summed in log space. */
interface SignedLog {
  sign: 1 | -1;
  log: number;
}

function signedAdd(acc: SignedLog, sign: 1 | -1, log: number): SignedLog {
  if (log === -Infinity) return acc;
  if (acc.log === -Infinity) return { sign, log };
  if (acc.sign === sign) return { sign, log: logAdd(acc.log, log) };
  // Opposite signs: the larger magnitude keeps its sign.
  const hi = Math.max(acc.log, log);
  const lo = Math.min(acc.log, log);
  const mag = hi === lo ? -Infinity : hi + Math.log1p(-Math.exp(lo - hi));
  return { sign: acc.log >= log ? acc.sign : sign, log: mag };
}

/**
 * log A_alpha for fractional alpha: the generalised binomial series, split at z0 where its two
 * terms are equal so each half converges (Mironov et al. 2019, Sec. 3.3). The coefficients
 * C(alpha, i) change sign once i > alpha + 1. 'upper-bound' sums their absolute values, as Google's
 * dp_accounting (TensorFlow Privacy's accountant) does: never below the true value, so never
 * under-counts privacy loss. 'exact' sums them with their signs, as Opacus does; should
 * cancellation leave a non-positive or non-finite result, it falls back to the upper bound.
 */
function logAFrac(q: number, sigma: number, alpha: number, series: FractionalSeries): number {
  let exact0: SignedLog = { sign: 1, log: -Infinity };
  let exact1: SignedLog = { sign: 1, log: -Infinity };
  let bound0 = -Infinity;
  let bound1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const logQ = Math.log(q);
  const log1mq = Math.log1p(-q);
  const s2 = Math.SQRT2 * sigma;
  let logBinom = 0; // log |C(alpha, i)|
  let sign: 1 | -1 = 1; // sign of C(alpha, i)
  for (let i = 0; i < 1000; i++) {
    if (i > 0) {
      const factor = alpha - i + 1;
      logBinom += Math.log(Math.abs(factor)) - Math.log(i);
      if (factor < 0) sign = sign === 1 ? -1 : 1;
    }
    const j = alpha - i;
    const logS0 = logBinom + i * logQ + j * log1mq + (i * i - i) / (2 * sigma * sigma) + Math.log(0.5) + logErfc((i - z0) / s2);
    const logS1 = logBinom + j * logQ + i * log1mq + (j * j - j) / (2 * sigma * sigma) + Math.log(0.5) + logErfc((z0 - j) / s2);
    exact0 = signedAdd(exact0, sign, logS0);
    exact1 = signedAdd(exact1, sign, logS1);
    bound0 = logAdd(bound0, logS0);
    bound1 = logAdd(bound1, logS1);
    if (i > alpha + 1 && Math.max(logS0, logS1) < logAdd(bound0, bound1) - 36) {
      const bound = logAdd(bound0, bound1);
      if (series === 'upper-bound') return bound;
      const total = signedAdd(exact0, exact1.sign, exact1.log);
      return total.sign === 1 && Number.isFinite(total.log) && total.log <= bound ? total.log : bound;
    }
  }
  // Did not converge: this order gives no usable bound.
  return Infinity;
}

/**
 * RDP at `order` of the Gaussian mechanism applied to a Poisson subsample with rate `sampleRate`
 * (each contributor takes part independently with that probability). sampleRate = 1 is the
 * plain Gaussian mechanism.
 */
export function subsampledGaussianRdp(sampleRate: number, noiseMultiplier: number, order: number, series: FractionalSeries = 'upper-bound'): number {
  if (!(sampleRate >= 0 && sampleRate <= 1)) throw invalid('The sampling rate must be between 0 and 1.');
  if (!(noiseMultiplier >= 0)) throw invalid('The noise multiplier must not be negative.');
  if (!(order > 1)) throw invalid('RDP orders must be greater than 1.');
  if (sampleRate === 0) return 0;
  if (noiseMultiplier === 0 || order === Infinity) return Infinity;
  if (sampleRate === 1) return gaussianRdp(noiseMultiplier, order);
  if (Number.isInteger(order)) return logAInt(sampleRate, noiseMultiplier, order) / (order - 1);
  const rdp = logAFrac(sampleRate, noiseMultiplier, order, series) / (order - 1);
  if (Number.isFinite(rdp)) return rdp;
  // Close to 1 the series converges too slowly to sum. Rényi divergence never decreases with the
  // order, so the next integer order's exact value is a valid (if looser) bound here.
  // Subsampling never hurts, so the full Gaussian mechanism's value bounds it too.
  const ceiling = Math.max(2, Math.ceil(order));
  return Math.min(logAInt(sampleRate, noiseMultiplier, ceiling) / (ceiling - 1), gaussianRdp(noiseMultiplier, order));
}

export interface EpsilonAtOrder {
  epsilon: number;
  order: number;
}

/** The smallest epsilon such that the RDP curve implies (epsilon, delta)-DP. */
export function epsilonFromRdp(orders: readonly number[], rdp: readonly number[], delta: number): EpsilonAtOrder {
  if (orders.length !== rdp.length || orders.length === 0) throw invalid('Orders and RDP values must pair up.');
  if (!(delta >= 0 && delta <= 1)) throw invalid('Delta must be between 0 and 1.');
  if (delta === 0) return rdp.every((r) => r === 0) ? { epsilon: 0, order: orders[0] ?? 0 } : { epsilon: Infinity, order: orders[0] ?? 0 };
  let best: EpsilonAtOrder = { epsilon: Infinity, order: orders[0] ?? 0 };
  for (let i = 0; i < orders.length; i++) {
    const a = orders[i] as number;
    const r = rdp[i] as number;
    let eps: number;
    if (r < 0) eps = 0;
    // delta <= sqrt(1 - exp(-KL)) gives epsilon 0 outright.
    else if (delta * delta + Math.expm1(-r) > 0) eps = 0;
    // The conversion is numerically unstable as alpha -> 1 and useless there anyway.
    else if (a > 1.01) eps = r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1);
    else eps = Infinity;
    if (eps < best.epsilon) best = { epsilon: eps, order: a };
  }
  return { epsilon: Math.max(0, best.epsilon), order: best.order };
}

export interface DeltaAtOrder {
  delta: number;
  order: number;
}

/** The smallest delta such that the RDP curve implies (epsilon, delta)-DP. */
export function deltaFromRdp(orders: readonly number[], rdp: readonly number[], epsilon: number): DeltaAtOrder {
  if (orders.length !== rdp.length || orders.length === 0) throw invalid('Orders and RDP values must pair up.');
  if (!(epsilon >= 0)) throw invalid('Epsilon must not be negative.');
  let best: DeltaAtOrder = { delta: 1, order: orders[0] ?? 0 };
  let bestLog = Infinity;
  for (let i = 0; i < orders.length; i++) {
    const a = orders[i] as number;
    const r = rdp[i] as number;
    let logDelta = r <= 0 ? -Infinity : 0.5 * Math.log1p(-Math.exp(-r));
    if (a > 1.01) logDelta = Math.min(logDelta, (a - 1) * (r - epsilon + Math.log1p(-1 / a)) - Math.log(a));
    if (logDelta < bestLog) {
      bestLog = logDelta;
      best = { delta: Math.min(1, Math.exp(logDelta)), order: a };
    }
  }
  return best;
}

/** One kind of release the accountant composes: `steps` runs of a (subsampled) Gaussian. */
export interface GaussianEvent {
  noiseMultiplier: number;
  /** Poisson sampling rate of contributors per step; 1 (the default) means everyone, every step. */
  sampleRate?: number;
  steps?: number;
}

/** Composes Gaussian releases in RDP and reports the (epsilon, delta) they add up to. */
export class RdpAccountant {
  readonly orders: readonly number[];
  readonly series: FractionalSeries;
  private readonly curve: Float64Array;

  /** `series`: 'upper-bound' (the default, conservative) or 'exact' (Opacus' values). */
  constructor(orders: readonly number[] = DEFAULT_RDP_ORDERS, series: FractionalSeries = 'upper-bound') {
    if (orders.length === 0 || orders.some((a) => !(a > 1))) throw invalid('RDP orders must all be greater than 1.');
    this.orders = [...orders];
    this.series = series;
    this.curve = new Float64Array(orders.length);
  }

  compose(event: GaussianEvent): this {
    const steps = event.steps ?? 1;
    if (!Number.isInteger(steps) || steps < 0) throw invalid('The number of steps must be a whole number.');
    const q = event.sampleRate ?? 1;
    this.orders.forEach((a, i) => {
      this.curve[i] = (this.curve[i] as number) + steps * subsampledGaussianRdp(q, event.noiseMultiplier, a, this.series);
    });
    return this;
  }

  /** The composed RDP curve, one value per order. */
  get rdp(): number[] {
    return [...this.curve];
  }

  epsilon(delta: number): EpsilonAtOrder {
    return epsilonFromRdp(this.orders, this.rdp, delta);
  }

  delta(epsilon: number): DeltaAtOrder {
    return deltaFromRdp(this.orders, this.rdp, epsilon);
  }
}

/**
 * The smallest noise multiplier (to within `tolerance` in epsilon) for which `steps` releases at
 * sampling rate `sampleRate` stay within (targetEpsilon, delta): what a job must use to fit a
 * budget. Bisection; throws INVALID_INPUT when no multiplier up to `maxNoise` suffices.
 */
export function noiseMultiplierFor(
  target: { epsilon: number; delta: number; sampleRate: number; steps: number },
  options: { orders?: readonly number[]; series?: FractionalSeries; tolerance?: number; maxNoise?: number } = {},
): number {
  const { epsilon, delta, sampleRate, steps } = target;
  const tolerance = options.tolerance ?? 0.01;
  const maxNoise = options.maxNoise ?? 1000;
  if (!(epsilon > 0) || !(delta > 0 && delta < 1)) throw invalid('The target needs a positive epsilon and a delta between 0 and 1.');
  const eps = (sigma: number): number =>
    new RdpAccountant(options.orders ?? DEFAULT_RDP_ORDERS, options.series ?? 'upper-bound').compose({ noiseMultiplier: sigma, sampleRate, steps }).epsilon(delta)
      .epsilon;
  if (eps(maxNoise) > epsilon) throw invalid(`No noise multiplier up to ${maxNoise} reaches epsilon ${epsilon}.`);
  let lo = 0;
  let hi = 1;
  while (eps(hi) > epsilon) {
    lo = hi;
    hi = Math.min(2 * hi, maxNoise);
  }
  // Invariant: eps(hi) <= epsilon < eps(lo) (eps(0) is infinite).
  while (eps(hi) < epsilon - tolerance && hi - lo > 1e-9) {
    const mid = (lo + hi) / 2;
    if (eps(mid) > epsilon) lo = mid;
    else hi = mid;
  }
  return hi;
}
