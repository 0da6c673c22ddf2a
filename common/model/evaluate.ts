// Inference for the allowlisted layers in plain JavaScript, so the coordinator can score each
// round's global model on the researcher's validation set without a training engine. Weights are
// one flat array in the order weightShapesOf lists them (TensorFlow.js's order, which every engine uses).
import { TroveError } from '../errors.js';
import { parameterCountOf, weightShapesOf, type TrainingJobSpec } from '../jobspec.js';
import type { TrainingMatrix } from './features.js';

type Activation = Extract<TrainingJobSpec['model']['layers'][number], { type: 'activation' }>['activation'];

export interface Evaluation {
  /** Mean loss per example, as the job's loss defines it. */
  loss: number;
  /** Share of examples classified right; null for a regression. */
  accuracy: number | null;
  examples: number;
}

/** Clipping TensorFlow.js applies to probabilities before taking logs. */
const EPSILON = 1e-7;
const SELU_ALPHA = 1.6732632423543772;
const SELU_SCALE = 1.0507009873554805;

function activate(v: Float64Array, rows: number, width: number, fn: Activation): void {
  if (fn === 'linear') return;
  if (fn === 'softmax') {
    for (let r = 0; r < rows; r++) {
      const o = r * width;
      let max = -Infinity;
      for (let j = 0; j < width; j++) max = Math.max(max, v[o + j]!);
      let sum = 0;
      for (let j = 0; j < width; j++) sum += v[o + j] = Math.exp(v[o + j]! - max);
      for (let j = 0; j < width; j++) v[o + j]! /= sum;
    }
    return;
  }
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    switch (fn) {
      case 'relu':
        v[i] = x > 0 ? x : 0;
        break;
      case 'sigmoid':
        v[i] = 1 / (1 + Math.exp(-x));
        break;
      case 'tanh':
        v[i] = Math.tanh(x);
        break;
      case 'elu':
        v[i] = x > 0 ? x : Math.expm1(x);
        break;
      case 'selu':
        v[i] = SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x));
        break;
      case 'softplus':
        v[i] = x > 30 ? x : Math.log1p(Math.exp(x));
        break;
    }
  }
}

/** The model's outputs for every row of `x` ([rows x inputWidth]), row-major. */
export function predict(model: TrainingJobSpec['model'], weights: ArrayLike<number>, x: ArrayLike<number>, rows: number): { out: Float64Array; width: number } {
  const expected = parameterCountOf(model);
  if (weights.length !== expected) {
    throw new TroveError('INVALID_INPUT', `The model has ${expected} weights; ${weights.length} were given.`, { expected, received: weights.length });
  }
  if (x.length !== rows * model.inputWidth) throw new TroveError('INVALID_INPUT', `Expected ${rows} rows of ${model.inputWidth} inputs.`);
  // Where each layer's weights start in the flat array.
  const offsets = new Map<string, number>();
  let at = 0;
  for (const s of weightShapesOf(model)) {
    offsets.set(`${s.layer}/${s.name}`, at);
    at += s.shape.reduce((a, b) => a * b, 1);
  }
  const offset = (layer: number, name: string) => offsets.get(`${layer}/${name}`) ?? -1;
  let width = model.inputWidth;
  let cur = Float64Array.from(x);
  for (const [li, layer] of model.layers.entries()) {
    if (layer.type === 'dense') {
      const units = layer.units;
      const kernel = offset(li, 'kernel');
      const bias = offset(li, 'bias');
      const next = new Float64Array(rows * units);
      for (let r = 0; r < rows; r++) {
        const o = r * units;
        if (bias >= 0) for (let j = 0; j < units; j++) next[o + j] = weights[bias + j]!;
        for (let i = 0; i < width; i++) {
          const xi = cur[r * width + i]!;
          if (xi === 0) continue;
          const k = kernel + i * units;
          for (let j = 0; j < units; j++) next[o + j]! += xi * weights[k + j]!;
        }
      }
      activate(next, rows, units, layer.activation);
      cur = next;
      width = units;
    } else if (layer.type === 'batch-norm') {
      // Inference uses the moving statistics: gamma, beta, moving mean, moving variance.
      const gamma = offset(li, 'gamma');
      const beta = offset(li, 'beta');
      const mean = offset(li, 'moving_mean');
      const variance = offset(li, 'moving_variance');
      for (let r = 0; r < rows; r++) {
        for (let j = 0; j < width; j++) {
          const i = r * width + j;
          cur[i] = ((cur[i]! - weights[mean + j]!) / Math.sqrt(weights[variance + j]! + layer.epsilon)) * weights[gamma + j]! + weights[beta + j]!;
        }
      }
    } else if (layer.type === 'activation') {
      activate(cur, rows, width, layer.activation);
    }
    // dropout is the identity at inference
  }
  return { out: cur, width };
}

/** Loss and accuracy of `weights` on a training matrix (all rows, or the rows listed in `which`). */
export function evaluateModel(model: TrainingJobSpec['model'], weights: ArrayLike<number>, data: TrainingMatrix, which?: ArrayLike<number>): Evaluation {
  const rowsOf = which ? Array.from(which) : Array.from({ length: data.rows }, (_, i) => i);
  const n = rowsOf.length;
  const x = new Float64Array(n * data.width);
  rowsOf.forEach((src, r) => x.set(data.x.subarray(src * data.width, (src + 1) * data.width), r * data.width));
  const { out, width } = predict(model, weights, x, n);
  if (width !== data.outputs) throw new TroveError('INVALID_INPUT', `The model gives ${width} outputs; the label needs ${data.outputs}.`);
  let loss = 0;
  let correct = 0;
  for (let r = 0; r < n; r++) {
    const src = rowsOf[r]!;
    const y = data.y.subarray(src * width, (src + 1) * width);
    const p = out.subarray(r * width, (r + 1) * width);
    if (model.loss === 'mean-squared-error') {
      let s = 0;
      for (let j = 0; j < width; j++) s += (p[j]! - y[j]!) ** 2;
      loss += s / width;
    } else if (model.loss === 'binary-crossentropy') {
      let s = 0;
      for (let j = 0; j < width; j++) {
        const q = Math.min(1 - EPSILON, Math.max(EPSILON, p[j]!));
        s -= y[j]! * Math.log(q) + (1 - y[j]!) * Math.log(1 - q);
        if (q >= 0.5 === y[j]! >= 0.5) correct++;
      }
      loss += s / width;
    } else {
      let s = 0;
      let best = 0;
      let truth = 0;
      for (let j = 0; j < width; j++) {
        s -= y[j]! * Math.log(Math.min(1 - EPSILON, Math.max(EPSILON, p[j]!)));
        if (p[j]! > p[best]!) best = j;
        if (y[j]! > y[truth]!) truth = j;
      }
      if (best === truth) correct++;
      loss += s;
    }
  }
  const accuracy = model.loss === 'mean-squared-error' ? null : n > 0 ? correct / (n * (model.loss === 'binary-crossentropy' ? width : 1)) : 0;
  return { loss: n > 0 ? loss / n : 0, accuracy, examples: n };
}
