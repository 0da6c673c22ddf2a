// How a plain dense network in a job spec maps onto the built-in kernels (WebAssembly and
// WebGPU): layer widths, hidden activations, loss and optimizer.
import type { LayerSpec, TrainingJobSpec } from '../../common/jobspec.js';
import type { DenseLoss, DenseMlpShape, DenseOptimizer } from './kernel/dense-mlp.js';

function denseLoss(spec: TrainingJobSpec): DenseLoss {
  if (spec.model.loss === 'categorical-crossentropy') return 'softmax-crossentropy';
  if (spec.model.loss === 'binary-crossentropy') return 'sigmoid-crossentropy';
  return 'mse';
}

/** The network's shape; the spec must have passed denseKernelFit. */
export function denseShapeOf(spec: TrainingJobSpec): DenseMlpShape {
  const dense = spec.model.layers as Extract<LayerSpec, { type: 'dense' }>[];
  const sizes = [spec.model.inputWidth, ...dense.map((l) => l.units)];
  const hidden = dense.slice(0, -1).map((l) => (l.activation === 'relu' ? 'relu' : 'linear') as 'relu' | 'linear');
  return { sizes, hidden, loss: denseLoss(spec) };
}

export function denseOptimizerOf(spec: TrainingJobSpec): DenseOptimizer {
  const o = spec.optimizer;
  if (o.kind === 'adam') return { kind: 'adam', learningRate: o.learningRate, beta1: o.beta1, beta2: o.beta2, epsilon: o.epsilon };
  if (o.kind === 'sgd') return { kind: 'sgd', learningRate: o.learningRate };
  throw new Error(`dense kernel: optimizer ${o.kind}`);
}
