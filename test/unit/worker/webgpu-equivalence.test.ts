// The WebGPU step trains the same model as the WebAssembly kernel: same starting weights, same rows,
// same batches give the same loss curve and the same weights within a stated tolerance. Run through
// Dawn for Node on SwiftShader's Vulkan driver (a CPU implementation of a GPU), so no GPU is needed.
// Each model trains in its own GPU session (its own thread and device), opened and closed here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTrainingJobSpec } from '../../../common/jobspec.js';
import { SeededRandom } from '../../../common/model/random.js';
import { denseOptimizerOf, denseShapeOf } from '../../../worker/training/dense-spec.js';
import { DenseMlpKernel, type DenseMlpShape, type DenseOptimizer } from '../../../worker/training/kernel/dense-mlp.js';
import type { GpuTrainRequest } from '../../../worker/training/webgpu/gpu-messages.js';
import { GpuSession } from '../../../worker/training/webgpu/gpu-session.js';
import { useSwiftShader } from '../../helpers/webgpu.js';

useSwiftShader();

/** Largest difference allowed between the two engines, per batch loss and per weight, after every step of a round. */
const LOSS_TOLERANCE = 1e-4;
const WEIGHT_TOLERANCE = 1e-4;

const SEED = Number(process.env.TROVE_TEST_SEED ?? 0x9e0);
console.log(`webgpu equivalence seed ${SEED} (replay with TROVE_TEST_SEED=${SEED})`);

/** One round's input, as the worker hands it to the GPU. */
type Round = GpuTrainRequest;

/** Seeded rows with a learnable one-hot label, starting weights and every epoch's row order. */
function round(shape: DenseMlpShape, optimizer: DenseOptimizer, batchSize: number, rows: number, epochCount: number, seed: number): Round {
  const rng = new SeededRandom(seed);
  const inputs = shape.sizes[0]!;
  const outputs = shape.sizes[shape.sizes.length - 1]!;
  const x = new Float32Array(rows * inputs);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const y = new Float32Array(rows * outputs);
  for (let r = 0; r < rows; r++) {
    const o = r * inputs;
    const score = x[o]! + 0.5 * x[o + 1]! * x[(o + 2) % x.length]!;
    y[r * outputs + Math.min(outputs - 1, Math.floor(((Math.tanh(score) + 1) / 2) * outputs))] = 1;
  }
  let params = 0;
  for (let l = 0; l + 1 < shape.sizes.length; l++) params += shape.sizes[l]! * shape.sizes[l + 1]! + shape.sizes[l + 1]!;
  const weights = new Float32Array(params);
  for (let i = 0; i < params; i++) weights[i] = rng.normal() * 0.2;
  const epochs = Array.from({ length: epochCount }, () => rng.permutation(rows));
  return { shape, optimizer, batchSize, weights, x, y, epochs };
}

/** The WebAssembly kernel's loss per batch of each epoch, and its final weights. */
function onCpu(r: Round): { losses: Float32Array[]; weights: Float32Array } {
  const cpu = new DenseMlpKernel(r.shape, r.batchSize);
  cpu.setWeights(r.weights);
  cpu.resetOptimizer();
  const rows = r.x.length / r.shape.sizes[0]!;
  const losses = r.epochs.map((order) => {
    const out = new Float32Array(Math.ceil(rows / r.batchSize));
    for (let s = 0, k = 0; s < rows; s += r.batchSize, k++) out[k] = cpu.trainBatch(r.x, r.y, order, s, Math.min(rows, s + r.batchSize), r.optimizer).loss;
    return out;
  });
  return { losses, weights: cpu.getWeights() };
}

async function onGpu(r: Round): Promise<{ losses: Float32Array[]; weights: Float32Array; adapter: string }> {
  const opened = await GpuSession.open({ allowSoftware: true });
  if (!opened.ok) throw new Error(`no WebGPU adapter: ${opened.reason}`);
  const losses: Float32Array[] = [];
  try {
    const weights = await opened.session.train(r, { onEpoch: (e) => (losses[e.epoch] = e.losses) });
    return { losses, weights, adapter: opened.session.adapterName };
  } finally {
    await opened.session.close();
  }
}

function largestDifference(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let most = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    most = Number.isNaN(d) ? Infinity : Math.max(most, d);
  }
  return most;
}

function expectSameRound(model: string, cpu: { losses: Float32Array[]; weights: Float32Array }, gpu: { losses: Float32Array[]; weights: Float32Array }): void {
  expect(gpu.losses.length).toBe(cpu.losses.length);
  let lossDifference = 0;
  cpu.losses.forEach((curve, e) => {
    const d = largestDifference(curve, gpu.losses[e]!);
    expect(d, `epoch ${e}: batch losses differ by up to ${d}`).toBeLessThanOrEqual(LOSS_TOLERANCE);
    lossDifference = Math.max(lossDifference, d);
  });
  const d = largestDifference(cpu.weights, gpu.weights);
  expect(d, `weights differ by up to ${d}`).toBeLessThanOrEqual(WEIGHT_TOLERANCE);
  console.log(`${model}: losses within ${lossDifference.toExponential(1)}, weights within ${d.toExponential(1)} of the WebAssembly kernel`);
}

const adam: DenseOptimizer = { kind: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

describe('the WebGPU step against the WebAssembly kernel', () => {
  it('the reference MLP (32-64-64-2, Adam, batch 256): same loss curve and weights over 2 epochs of 4,096 rows', async () => {
    const r = round({ sizes: [32, 64, 64, 2], hidden: ['relu', 'relu'], loss: 'softmax-crossentropy' }, adam, 256, 4096, 2, SEED);
    const cpu = onCpu(r);
    const gpu = await onGpu(r);
    expect(gpu.adapter).toMatch(/swiftshader/i);
    expectSameRound('reference MLP', cpu, gpu);
    // the run learned something, so agreeing is not agreeing on nothing
    const first = cpu.losses[0]!;
    const last = cpu.losses[cpu.losses.length - 1]!;
    expect(last[last.length - 1]!).toBeLessThan(first[0]!);
  }, 120_000);

  it("the example job's model (coordinator/jobs/sleep-mood.json, from its own spec): same loss curve and weights", async () => {
    const document = JSON.parse(readFileSync(new URL('../../../coordinator/jobs/sleep-mood.json', import.meta.url), 'utf8')) as { training: unknown };
    const spec = parseTrainingJobSpec(document.training);
    const shape = denseShapeOf(spec);
    const r = round(shape, denseOptimizerOf(spec), spec.local.batchSize, 1000, spec.local.epochs, SEED + 1);
    expectSameRound('example job', onCpu(r), await onGpu(r));
  }, 120_000);

  it('a regressor with a linear hidden layer and plain SGD: same loss curve and weights', async () => {
    const shape: DenseMlpShape = { sizes: [5, 8, 1], hidden: ['linear'], loss: 'mse' };
    const r = round(shape, { kind: 'sgd', learningRate: 0.05 }, 16, 200, 3, SEED + 2);
    // a real-valued target for a regressor
    const rng = new SeededRandom(SEED + 3);
    for (let i = 0; i < r.y.length; i++) r.y[i] = r.x[i * 5]! * 0.7 + 0.1 * rng.normal();
    expectSameRound('regressor', onCpu(r), await onGpu(r));
  }, 120_000);

  it('positive control: a GPU round from different starting weights is caught by the same comparison', async () => {
    const r = round({ sizes: [32, 64, 64, 2], hidden: ['relu', 'relu'], loss: 'softmax-crossentropy' }, adam, 256, 1024, 1, SEED);
    const cpu = onCpu(r);
    const nudged = { ...r, weights: r.weights.map((w, i) => (i === 7 ? w + 0.01 : w)) };
    const gpu = await onGpu(nudged);
    expect(largestDifference(cpu.weights, gpu.weights)).toBeGreaterThan(WEIGHT_TOLERANCE);
  }, 120_000);
});
