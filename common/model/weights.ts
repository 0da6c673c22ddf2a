// The starting point of every federated model: the same seed gives the same weights on every
// machine, the coordinator's and each contributor's.
import { weightShapesOf, type TrainingJobSpec } from '../jobspec.js';
import { SeededRandom, glorotUniform } from './random.js';

/** Initial weights for a fresh model: Glorot-uniform kernels, zero biases, identity batch-norm. */
export function initialWeights(model: TrainingJobSpec['model'], seed: number): Float32Array {
  const shapes = weightShapesOf(model);
  const total = shapes.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
  const out = new Float32Array(total);
  const rng = new SeededRandom(seed ^ 0x5eed1717);
  let o = 0;
  for (const w of shapes) {
    const size = w.shape.reduce((a, b) => a * b, 1);
    if (w.name === 'kernel') out.set(glorotUniform(rng, w.shape[0]!, w.shape[1]!), o);
    else if (w.name === 'gamma' || w.name === 'moving_variance') out.fill(1, o, o + size);
    o += size;
  }
  return out;
}
