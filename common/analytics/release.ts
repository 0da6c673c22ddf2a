// How an analytics output leaves the machine and what the researcher gets back: the checked
// output (common/analytics/output.ts) takes this contributor's share of the Gaussian noise, sized
// from the output's L2 bound exactly as a training update's share is sized from its clipping
// norm, and is then masked by secure aggregation like any update. The coordinator's sum of the
// survivors' vectors is the aggregate; its error bar is the noise the sum is known to carry.
import { gaussianNoise, perContributorNoiseStddev } from '../dp/noise.js';
import { outputBounds, outputLabels, type AnalyticsJobSpec } from './spec.js';

export interface AnalyticsNoise {
  /** z: the noise standard deviation of a round's sum over the output's L2 bound. */
  noiseMultiplier: number;
  /** m: the fewest contributors whose sum is ever revealed. */
  minContributors: number;
}

/** This contributor's output plus its share of the noise: the vector that is masked and sent. */
export function privatizeAnalyticsOutput(output: Float64Array, spec: AnalyticsJobSpec, noise: AnalyticsNoise, random?: (bytes: number) => Uint8Array): Float64Array {
  const sd = perContributorNoiseStddev({ clipNorm: outputBounds(spec).l2, ...noise });
  return gaussianNoise(output.length, sd, output.slice(), random);
}

/**
 * The range each coordinate is quantized in for secure aggregation: the widest declared bound,
 * with room for the noise share (inputs are encoded unclamped, so only precision depends on it).
 */
export function analyticsClipRange(spec: AnalyticsJobSpec): number {
  const { min, max } = outputBounds(spec);
  let widest = 0;
  for (let i = 0; i < min.length; i++) widest = Math.max(widest, Math.abs(min[i]!), Math.abs(max[i]!));
  return widest;
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

/**
 * The round's aggregate with its error bar. `contributors` survivors each added noise of
 * z x L2 / sqrt(m), so the sum carries z x L2 x sqrt(contributors / m).
 */
export function analyticsAggregate(spec: AnalyticsJobSpec, sum: Float64Array, contributors: number, noise: AnalyticsNoise, quantizationError = 0): AnalyticsAggregate {
  const perContributor = perContributorNoiseStddev({ clipNorm: outputBounds(spec).l2, ...noise });
  const noiseStdDev = perContributor * Math.sqrt(contributors);
  return { labels: outputLabels(spec), value: sum, noiseStdDev, errorBar: 1.96 * noiseStdDev + quantizationError, contributors };
}

/**
 * A contributor's exact output in plain words, for "show me each result before it is sent": one
 * line per number, what it counts, and the noise that will be added to it before it leaves.
 */
export function describeOutputForReview(spec: AnalyticsJobSpec, output: Float64Array, noise: AnalyticsNoise): string[] {
  const labels = outputLabels(spec);
  const sd = perContributorNoiseStddev({ clipNorm: outputBounds(spec).l2, ...noise });
  const fmt = (v: number): string => String(Number(v.toFixed(3)));
  return [
    ...Array.from(output, (v, i) => `${labels[i]}: ${fmt(v)}`),
    `Before it leaves, random noise (typically ±${fmt(sd)} on each number) is added, then the whole list is masked so the researcher only ever sees everyone's total.`,
  ];
}
