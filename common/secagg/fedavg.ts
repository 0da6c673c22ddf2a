// Weighted aggregation on top of secure aggregation. A client cannot send its example count in
// the clear (it would single it out), so the count travels inside the masked vector: the client
// scales its update by w = examples / maxExamples and appends w * clipRange as one more
// coordinate. The server learns only sum(w_i * x_i) and sum(w_i), which is all FedAvg needs.
import { TroveError } from '../errors.js';

/** The vector a client submits for weighted aggregation: d + 1 coordinates. */
export function weightedInput(update: ArrayLike<number>, examples: number, maxExamples: number, clipRange: number): Float64Array {
  if (!(maxExamples > 0) || !Number.isFinite(maxExamples)) throw new TroveError('INVALID_INPUT', 'The maximum example count must be positive.');
  if (!(examples >= 0) || examples > maxExamples || !Number.isFinite(examples)) {
    throw new TroveError('INVALID_INPUT', `The example count must be between 0 and ${maxExamples}.`, { examples });
  }
  const w = examples / maxExamples;
  const out = new Float64Array(update.length + 1);
  for (let i = 0; i < update.length; i++) {
    const x = Math.max(-clipRange, Math.min(clipRange, update[i] as number));
    out[i] = x * w;
  }
  out[update.length] = w * clipRange;
  return out;
}

export interface WeightedMean {
  /** sum(w_i x_i) / sum(w_i): the example-weighted mean update. */
  mean: Float64Array;
  /** sum of examples over contributors (in examples, from the weight coordinate). */
  totalExamples: number;
}

/** Turns the decoded sum of weightedInput() vectors into the example-weighted mean. */
export function weightedMeanFromSum(sum: ArrayLike<number>, maxExamples: number, clipRange: number): WeightedMean {
  const d = sum.length - 1;
  if (d < 0) throw new TroveError('INVALID_INPUT', 'A weighted sum needs its weight coordinate.');
  const totalWeight = (sum[d] as number) / clipRange;
  const mean = new Float64Array(d);
  if (totalWeight > 0) for (let i = 0; i < d; i++) mean[i] = (sum[i] as number) / totalWeight;
  return { mean, totalExamples: Math.max(0, totalWeight * maxExamples) };
}

/** Unweighted mean of a decoded sum over `count` contributors. */
export function meanFromSum(sum: ArrayLike<number>, count: number): Float64Array {
  const out = new Float64Array(sum.length);
  if (count > 0) for (let i = 0; i < sum.length; i++) out[i] = (sum[i] as number) / count;
  return out;
}

/** One FedAvg server step: model + learningRate * meanUpdate (learningRate 1 is plain FedAvg). */
export function fedAvgStep(model: ArrayLike<number>, meanUpdate: ArrayLike<number>, learningRate = 1): Float64Array {
  if (model.length !== meanUpdate.length) throw new TroveError('INVALID_INPUT', 'The update does not match the model size.');
  const out = new Float64Array(model.length);
  for (let i = 0; i < model.length; i++) out[i] = (model[i] as number) + learningRate * (meanUpdate[i] as number);
  return out;
}
