// The built-in kernel must train exactly the model TensorFlow.js would: same seed, same batches,
// same weights after every step (up to float32 rounding).
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTrainingJobSpec, type TrainingJobSpecInput } from '../../../common/jobspec.js';
import { buildKernels } from '../../../scripts/build-kernels.js';
import { SeededRandom } from '../../../common/model/random.js';
import { initialWeights } from '../../../common/model/weights.js';
import { loadTf } from '../../../worker/training/backend.js';
import { DenseMlpKernel, type DenseMlpShape } from '../../../worker/training/kernel/dense-mlp.js';
import { DenseKernelTrainer, TfjsTrainer } from '../../../worker/training/trainers.js';

const tf = await loadTf();

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function problem(rows: number, width: number, outputs: number, kind: 'onehot' | 'binary' | 'value'): { x: Float32Array; y: Float32Array } {
  const rng = new SeededRandom(99);
  const x = new Float32Array(rows * width);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const y = new Float32Array(rows * outputs);
  for (let r = 0; r < rows; r++) {
    const s = x[r * width]! - 0.5 * x[r * width + 1]! + 0.1 * rng.normal();
    if (kind === 'onehot') y[r * outputs + (s > 0.3 ? 2 : s > -0.3 ? 1 : 0)] = 1;
    else if (kind === 'binary') y[r] = s > 0 ? 1 : 0;
    else y[r] = s;
  }
  return { x, y };
}

function spec(layers: TrainingJobSpecInput['model']['layers'], loss: TrainingJobSpecInput['model']['loss'], optimizer: TrainingJobSpecInput['optimizer'], width: number, classes: string[] | null) {
  return parseTrainingJobSpec({
    kind: 'federated-training',
    features: Array.from({ length: width }, (_, i) => ({ column: `f${i}`, kind: 'numeric' })),
    label: classes ? { column: 'y', kind: 'class', classes } : { column: 'y', kind: 'value' },
    model: { inputWidth: width, layers, loss },
    optimizer,
    local: { epochs: 1, batchSize: 32, heldOutFraction: 0, clipNorm: 10, seed: 5 },
  });
}

function compare(s: ReturnType<typeof spec>, data: { x: Float32Array; y: Float32Array }, rows: number, steps: number): void {
  const kernel = new DenseKernelTrainer(s);
  const reference = new TfjsTrainer(tf, s);
  const init = initialWeights(s.model, s.local.seed);
  kernel.setWeights(init);
  reference.setWeights(init);
  const order = new SeededRandom(3).permutation(rows);
  for (let step = 0; step < steps; step++) {
    const start = (step * 32) % rows;
    const a = kernel.trainBatch(data.x, data.y, order, start, start + 32);
    const b = reference.trainBatch(data.x, data.y, order, start, start + 32);
    expect(a.loss).toBeCloseTo(b.loss, 4);
    expect(a.correct).toBe(b.correct);
  }
  const wk = kernel.getWeights();
  const wr = reference.getWeights();
  expect(wk.length).toBe(wr.length);
  let maxDiff = 0;
  for (let i = 0; i < wk.length; i++) maxDiff = Math.max(maxDiff, Math.abs(wk[i]! - wr[i]!));
  expect(maxDiff).toBeLessThan(2e-4);
  // ending in a batch whose row count is not a multiple of 4 (padded rows in the gather)
  const ek = kernel.evaluate(data.x, data.y, rows - 3);
  const er = reference.evaluate(data.x, data.y, rows - 3);
  expect(ek.loss).toBeCloseTo(er.loss, 3);
  reference.dispose();
}

describe('dense kernel', () => {
  it('matches TensorFlow.js for an MLP classifier with Adam', () => {
    const s = spec(
      [
        { type: 'dense', units: 20, activation: 'relu' },
        { type: 'dense', units: 12, activation: 'relu' },
        { type: 'dense', units: 3, activation: 'softmax' },
      ],
      'categorical-crossentropy',
      { kind: 'adam', learningRate: 0.01 },
      13,
      ['a', 'b', 'c'],
    );
    compare(s, problem(256, 13, 3, 'onehot'), 256, 24);
  });

  it('matches TensorFlow.js for logistic regression with SGD', () => {
    const s = spec([{ type: 'dense', units: 1, activation: 'sigmoid' }], 'binary-crossentropy', { kind: 'sgd', learningRate: 0.1 }, 6, ['no', 'yes']);
    compare(s, problem(128, 6, 1, 'binary'), 128, 16);
  });

  it('matches TensorFlow.js for an MLP regressor with a linear hidden layer', () => {
    const s = spec(
      [
        { type: 'dense', units: 9, activation: 'linear' },
        { type: 'dense', units: 7, activation: 'relu' },
        { type: 'dense', units: 1, activation: 'linear' },
      ],
      'mean-squared-error',
      { kind: 'adam', learningRate: 0.005 },
      5,
      null,
    );
    compare(s, problem(160, 5, 1, 'value'), 160, 20);
  });

  it('ships a compiled kernel that matches its WebAssembly text source', async () => {
    expect(await buildKernels(true)).toEqual([]);
  });

  it('hands a released instance to the next kernel wiped, training exactly as a fresh one', () => {
    const opt = { kind: 'adam' as const, learningRate: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };
    const memoryOf = (k: DenseMlpKernel): ArrayBuffer => (k as unknown as { wasm: { memory: { buffer: ArrayBuffer } } }).wasm.memory.buffer;
    const train = (k: DenseMlpKernel, data: { x: Float32Array; y: Float32Array }, rows: number, batch: number): Float32Array => {
      k.setWeights(new Float32Array(k.parameterCount).map((_, i) => Math.sin(i) * 0.1));
      const order = new SeededRandom(4).permutation(rows);
      for (let s = 0; s < rows; s += batch) k.trainBatch(data.x, data.y, order, s, Math.min(rows, s + batch), opt);
      return k.getWeights();
    };
    // a first model trains on rows holding a value nothing else holds, then is released
    const first = problem(64, 13, 3, 'onehot');
    first.x[5] = 4242.5;
    const a = new DenseMlpKernel({ sizes: [13, 20, 3], hidden: ['relu'], loss: 'softmax-crossentropy' }, 32);
    train(a, first, 64, 32);
    const used = memoryOf(a);
    expect(new Float32Array(used).includes(4242.5)).toBe(true); // positive control: the rows were there
    a.release();
    expect(new Float32Array(memoryOf(a)).includes(4242.5)).toBe(false);
    expect(() => a.getWeights()).toThrow(/after release/);

    // the next kernel, another layout, gets that instance and trains as one on a fresh instance
    const shape: DenseMlpShape = { sizes: [5, 9, 1], hidden: ['relu'], loss: 'mse' };
    const data = problem(101, 5, 1, 'value');
    const reused = new DenseMlpKernel(shape, 24);
    expect(memoryOf(reused)).toBe(memoryOf(a));
    const fresh = new DenseMlpKernel(shape, 24);
    expect(memoryOf(fresh)).not.toBe(memoryOf(reused));
    expect(Array.from(train(reused, data, 101, 24))).toEqual(Array.from(train(fresh, data, 101, 24)));
  });
});
