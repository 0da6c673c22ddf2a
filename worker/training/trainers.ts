// The two engines behind one interface: the fused dense kernel and TensorFlow.js (any backend).
// Both take and give weights as one flat Float32Array in TensorFlow.js's order, so a global
// model moves between contributors on different engines unchanged.
import type * as TfTypes from '@tensorflow/tfjs-core';
import type { Sequential } from '@tensorflow/tfjs-layers';
import type { TrainingJobSpec } from '../../common/jobspec.js';
import type { Tf } from './backend.js';
import { DenseMlpKernel, type DenseOptimizer } from './kernel/dense-mlp.js';
import { denseOptimizerOf, denseShapeOf } from './dense-spec.js';
import { SeededRandom } from '../../common/model/random.js';

export interface BatchOutcome {
  loss: number;
  /** Correct predictions (classification), 0 for regression. */
  correct: number;
}

export interface LocalTrainer {
  readonly parameterCount: number;
  setWeights(flat: Float32Array): void;
  getWeights(): Float32Array;
  /** One optimizer step on rows order[start..end) of x / y. */
  trainBatch(x: Float32Array, y: Float32Array, order: Uint32Array, start: number, end: number): BatchOutcome;
  /** Mean loss and correct count over the given rows (or the first `rows` rows). */
  evaluate(x: Float32Array, y: Float32Array, rows: number | Uint32Array): BatchOutcome;
  /** Frees every tensor and buffer this trainer holds (model, optimizer state). */
  dispose(): void;
}

export class DenseKernelTrainer implements LocalTrainer {
  private readonly kernel: DenseMlpKernel;
  private readonly opt: DenseOptimizer;

  constructor(spec: TrainingJobSpec) {
    this.kernel = new DenseMlpKernel(denseShapeOf(spec), spec.local.batchSize);
    this.opt = denseOptimizerOf(spec);
  }

  get parameterCount(): number {
    return this.kernel.parameterCount;
  }

  setWeights(flat: Float32Array): void {
    this.kernel.setWeights(flat);
    this.kernel.resetOptimizer();
  }

  getWeights(): Float32Array {
    return this.kernel.getWeights();
  }

  trainBatch(x: Float32Array, y: Float32Array, order: Uint32Array, start: number, end: number): BatchOutcome {
    return this.kernel.trainBatch(x, y, order, start, end, this.opt);
  }

  evaluate(x: Float32Array, y: Float32Array, rows: number | Uint32Array): BatchOutcome {
    return this.kernel.evaluate(x, y, rows);
  }

  dispose(): void {
    this.kernel.release();
  }
}

export class TfjsTrainer implements LocalTrainer {
  readonly parameterCount: number;
  private readonly tf: Tf;
  private readonly spec: TrainingJobSpec;
  private readonly model: Sequential;
  private optimizer: TfTypes.Optimizer;
  private readonly rng: SeededRandom;
  private readonly dropouts: { seed?: number }[] = [];

  constructor(tf: Tf, spec: TrainingJobSpec) {
    this.tf = tf;
    this.spec = spec;
    this.rng = new SeededRandom(spec.local.seed ^ 0xd409);
    const model = tf.sequential();
    let first = true;
    for (const l of spec.model.layers) {
      const input = first ? { inputShape: [spec.model.inputWidth] } : {};
      first = false;
      if (l.type === 'dense') {
        model.add(tf.layers.dense({ ...input, units: l.units, activation: l.activation, useBias: l.useBias }));
      } else if (l.type === 'dropout') {
        const layer = tf.layers.dropout({ ...input, rate: l.rate, seed: 1 });
        this.dropouts.push(layer as unknown as { seed?: number });
        model.add(layer);
      } else if (l.type === 'batch-norm') {
        model.add(tf.layers.batchNormalization({ ...input, momentum: l.momentum, epsilon: l.epsilon }));
      } else {
        model.add(tf.layers.activation({ ...input, activation: l.activation }));
      }
    }
    this.model = model;
    this.optimizer = this.makeOptimizer();
    this.parameterCount = model.getWeights().reduce((n, w) => n + w.size, 0);
  }

  private makeOptimizer(): TfTypes.Optimizer {
    const o = this.spec.optimizer;
    if (o.kind === 'adam') return this.tf.train.adam(o.learningRate, o.beta1, o.beta2, o.epsilon);
    if (o.kind === 'rmsprop') return this.tf.train.rmsprop(o.learningRate, o.decay);
    return this.tf.train.sgd(o.learningRate);
  }

  setWeights(flat: Float32Array): void {
    const tf = this.tf;
    const current = this.model.getWeights();
    let o = 0;
    const tensors = current.map((w) => {
      const t = tf.tensor(flat.subarray(o, o + w.size), w.shape, 'float32');
      o += w.size;
      return t;
    });
    if (o !== flat.length) {
      tf.dispose(tensors);
      throw new Error(`expected ${o} weights, got ${flat.length}`);
    }
    this.model.setWeights(tensors);
    tf.dispose(tensors);
    // a new round starts with fresh optimizer moments, as the dense kernel does
    this.optimizer.dispose();
    this.optimizer = this.makeOptimizer();
  }

  getWeights(): Float32Array {
    const out = new Float32Array(this.parameterCount);
    let o = 0;
    for (const w of this.model.getWeights()) {
      out.set(w.dataSync() as Float32Array, o);
      o += w.size;
    }
    return out;
  }

  private lossOf(yTrue: TfTypes.Tensor, yPred: TfTypes.Tensor): TfTypes.Scalar {
    const tf = this.tf;
    if (this.spec.model.loss === 'mean-squared-error') return tf.losses.meanSquaredError(yTrue, yPred) as TfTypes.Scalar;
    if (this.spec.model.loss === 'binary-crossentropy') return tf.mean(tf.metrics.binaryCrossentropy(yTrue, yPred));
    return tf.mean(tf.metrics.categoricalCrossentropy(yTrue, yPred));
  }

  private correctOf(yTrue: TfTypes.Tensor, yPred: TfTypes.Tensor): TfTypes.Scalar {
    const tf = this.tf;
    if (this.spec.model.loss === 'mean-squared-error') return tf.scalar(0);
    if (this.spec.model.loss === 'binary-crossentropy') return tf.sum(tf.equal(tf.greaterEqual(yPred, 0.5), tf.greaterEqual(yTrue, 0.5)));
    return tf.sum(tf.equal(tf.argMax(yPred, -1), tf.argMax(yTrue, -1)));
  }

  private gather(x: Float32Array, y: Float32Array, order: Uint32Array | null, start: number, end: number): [TfTypes.Tensor2D, TfTypes.Tensor2D] {
    const n = end - start;
    const w = this.spec.model.inputWidth;
    const k = y.length / (x.length / w);
    const xb = new Float32Array(n * w);
    const yb = new Float32Array(n * k);
    for (let r = 0; r < n; r++) {
      const src = order ? order[start + r]! : start + r;
      xb.set(x.subarray(src * w, src * w + w), r * w);
      yb.set(y.subarray(src * k, src * k + k), r * k);
    }
    return [this.tf.tensor2d(xb, [n, w]), this.tf.tensor2d(yb, [n, k])];
  }

  trainBatch(x: Float32Array, y: Float32Array, order: Uint32Array, start: number, end: number): BatchOutcome {
    const tf = this.tf;
    // Dropout masks differ per batch but follow the job's seed.
    for (const d of this.dropouts) d.seed = this.rng.nextUint32();
    let correctT: TfTypes.Scalar | undefined;
    const lossT = tf.tidy(() => {
      const [xb, yb] = this.gather(x, y, order, start, end);
      const cost = this.optimizer.minimize(() => {
        const pred = this.model.apply(xb, { training: true }) as TfTypes.Tensor;
        // kept: minimize frees everything the loss function made except its result
        correctT = tf.keep(this.correctOf(yb, pred));
        return this.lossOf(yb, pred);
      }, true);
      return cost!;
    });
    const loss = lossT.dataSync()[0]!;
    const correct = correctT!.dataSync()[0]!;
    tf.dispose([lossT, correctT!]);
    return { loss, correct };
  }

  evaluate(x: Float32Array, y: Float32Array, which: number | Uint32Array): BatchOutcome {
    const tf = this.tf;
    const batch = Math.max(this.spec.local.batchSize, 1024);
    const order = typeof which === 'number' ? null : which;
    const rows = typeof which === 'number' ? which : which.length;
    let loss = 0;
    let correct = 0;
    for (let start = 0; start < rows; start += batch) {
      const end = Math.min(rows, start + batch);
      const [l, c] = tf.tidy(() => {
        const [xb, yb] = this.gather(x, y, order, start, end);
        const pred = this.model.predict(xb) as TfTypes.Tensor;
        return [this.lossOf(yb, pred).dataSync()[0]!, this.correctOf(yb, pred).dataSync()[0]!];
      });
      loss += l * (end - start);
      correct += c;
    }
    return { loss: rows > 0 ? loss / rows : 0, correct };
  }

  dispose(): void {
    this.model.dispose();
    // model.dispose() leaves the optimizer's slots alive: free them too, or every round leaks.
    this.optimizer.dispose();
  }
}
