// How an analytics output leaves the machine and what the researcher gets back: the checked
// output (common/analytics/output.ts) goes into secure aggregation like a training update, and
// after quantization each contributor adds its share of discrete Gaussian noise
// (common/dp/integer-noise.ts), sized from the output's L2 bound as a training update's share is
// sized from its clipping norm. The coordinator's sum of the survivors' vectors is the aggregate;
// its error bar is the noise the sum is known to carry.
import { addDiscreteGaussian } from '../dp/discrete.js';
import { noisyRoundParams, roundShareVariance, type SumNoise } from '../dp/integer-noise.js';
import type { RoundParams } from '../secagg/params.js';
import { quantizationStep } from '../secagg/quantize.js';
import { outputBounds, outputLabels, outputLength, type AnalyticsJobSpec } from './spec.js';

/** The noise of a round's sum: z times the output's L2 bound. */
export function analyticsSumNoise(spec: AnalyticsJobSpec, noiseMultiplier: number): SumNoise {
  return { sensitivity: outputBounds(spec).l2, noiseMultiplier };
}

/**
 * The range each coordinate is quantized in for secure aggregation: the widest declared bound
 * (outputs are checked against their bounds before they get here, so nothing is clamped).
 */
export function analyticsClipRange(spec: AnalyticsJobSpec): number {
  const { min, max } = outputBounds(spec);
  let widest = 0;
  for (let i = 0; i < min.length; i++) widest = Math.max(widest, Math.abs(min[i]!), Math.abs(max[i]!));
  return widest;
}

/** Round parameters for an analytics job: the finest quantization whose noised sum cannot wrap. */
export function analyticsRoundParams(spec: AnalyticsJobSpec, noiseMultiplier: number, round: { roundId: Uint8Array; clientCount: number; minimumSurvivors?: number }): RoundParams {
  return noisyRoundParams(
    { ...round, vectorLength: outputLength(spec), clipRange: analyticsClipRange(spec) },
    analyticsSumNoise(spec, noiseMultiplier),
  );
}

/** The secure-aggregation client's addNoise: this contributor's share, in quantization steps. */
export function analyticsNoiseShare(spec: AnalyticsJobSpec, noiseMultiplier: number, random?: (bytes: number) => Uint8Array): (quantized: Uint32Array, params: RoundParams) => void {
  const noise = analyticsSumNoise(spec, noiseMultiplier);
  return (quantized, params) => void addDiscreteGaussian(quantized, roundShareVariance(params, noise), random);
}

export interface AnalyticsAggregate {
  labels: string[];
  /** The noised sum over the contributors in the round. */
  value: Float64Array;
  /** Standard deviation of the noise in each coordinate of the sum. */
  noiseStdDev: number;
  /** Half-width of the 95% interval per coordinate: noise (1.96 sd) plus the quantization bound. */
  errorBar: number;
  contributors: number;
}

/** The round's aggregate with its error bar: `contributors` shares of σ² each, in value units. */
export function analyticsAggregate(spec: AnalyticsJobSpec, sum: Float64Array, contributors: number, params: RoundParams, noiseMultiplier: number, quantizationError = 0): AnalyticsAggregate {
  const variance = roundShareVariance(params, analyticsSumNoise(spec, noiseMultiplier));
  const noiseStdDev = Math.sqrt(contributors * variance) * quantizationStep(params);
  return { labels: outputLabels(spec), value: sum, noiseStdDev, errorBar: 1.96 * noiseStdDev + quantizationError, contributors };
}

/**
 * A round's aggregate in plain words for the researcher: each number of the sum with its 95%
 * error bar (the DP noise the contributors were charged for, plus quantization), and how many
 * people it sums.
 */
export function describeAggregate(a: { labels: string[]; value: ArrayLike<number>; errorBar: number; noiseStdDev: number; contributors: number }): string[] {
  const fmt = (v: number): string => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(1));
  return [
    `The sum over ${a.contributors} contributors; each number is within ±${fmt(a.errorBar)} of the true sum 95% of the time (noise standard deviation ${fmt(a.noiseStdDev)}).`,
    ...Array.from(a.value, (v, i) => `${a.labels[i] ?? `output ${i + 1}`}: ${fmt(v)} ± ${fmt(a.errorBar)}`),
  ];
}

/**
 * A contributor's exact output in plain words, for "show me each result before it is sent": one
 * line per number, what it counts, and about how much noise is added to it before it leaves
 * (z x L2 / sqrt(m), the share of the fewest contributors the job allows).
 */
export function describeOutputForReview(spec: AnalyticsJobSpec, output: Float64Array, noise: { noiseMultiplier: number; minContributors: number }): string[] {
  const labels = outputLabels(spec);
  const sd = (noise.noiseMultiplier * outputBounds(spec).l2) / Math.sqrt(noise.minContributors);
  const fmt = (v: number): string => String(Number(v.toFixed(3)));
  return [
    ...Array.from(output, (v, i) => `${labels[i]}: ${fmt(v)}`),
    `Before it leaves, random noise (typically ±${fmt(sd)} on each number) is added, then the whole list is masked so the researcher only ever sees everyone's total.`,
  ];
}
