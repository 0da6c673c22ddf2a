// The WebGPU contender of bench:training, run in its own process (a driver crash must not take
// the whole benchmark with it): the reference MLP trains on the GPU and on the WebAssembly
// kernel, same weights, same rows, same batches; prints one JSON line with both rates, the
// adapter's name and the largest weight difference.
//
//   tsx bench/training-webgpu.ts <rows> <epochs> [--software]
import { SeededRandom } from '../common/model/random.js';
import { DenseMlpKernel, type DenseMlpShape, type DenseOptimizer } from '../worker/training/kernel/dense-mlp.js';
import { GpuSession } from '../worker/training/webgpu/gpu-session.js';

const [rowsArg, epochsArg] = process.argv.slice(2);
const ROWS = Number(rowsArg ?? 8192);
const EPOCHS = Number(epochsArg ?? 1);
const FEATURES = 32;
const BATCH = 256;
const shape: DenseMlpShape = { sizes: [FEATURES, 64, 64, 2], hidden: ['relu', 'relu'], loss: 'softmax-crossentropy' };
const optimizer: DenseOptimizer = { kind: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 };

const rng = new SeededRandom(2024);
const x = new Float32Array(ROWS * FEATURES);
for (let i = 0; i < x.length; i++) x[i] = rng.normal();
const y = new Float32Array(ROWS * 2);
for (let r = 0; r < ROWS; r++) y[r * 2 + (x[r * FEATURES]! * x[r * FEATURES + 1]! + 0.5 * x[r * FEATURES + 2]! > 0 ? 1 : 0)] = 1;
let params = 0;
for (let l = 0; l + 1 < shape.sizes.length; l++) params += shape.sizes[l]! * shape.sizes[l + 1]! + shape.sizes[l + 1]!;
const weights = new Float32Array(params);
for (let i = 0; i < params; i++) weights[i] = rng.normal() * 0.1;
const epochs = Array.from({ length: EPOCHS }, () => rng.permutation(ROWS));

const cpu = new DenseMlpKernel(shape, BATCH);
cpu.setWeights(weights);
cpu.resetOptimizer();
const c0 = performance.now();
for (const order of epochs) for (let s = 0; s < ROWS; s += BATCH) cpu.trainBatch(x, y, order, s, Math.min(ROWS, s + BATCH), optimizer);
const cpuSeconds = (performance.now() - c0) / 1000;
const expected = cpu.getWeights();

const opened = await GpuSession.open({ allowSoftware: process.argv.includes('--software') });
if (!opened.ok) {
  console.log(JSON.stringify({ adapter: null, reason: opened.reason }));
  process.exit(0);
}
const session = opened.session;
try {
  // one warm-up round compiles the kernels
  await session.train({ shape, optimizer, batchSize: BATCH, weights, x, y, epochs: [epochs[0]!.subarray(0, BATCH)] });
  const g0 = performance.now();
  const got = await session.train({ shape, optimizer, batchSize: BATCH, weights, x, y, epochs });
  const gpuSeconds = (performance.now() - g0) / 1000;
  let maxDifference = 0;
  for (let i = 0; i < expected.length; i++) maxDifference = Math.max(maxDifference, Math.abs(expected[i]! - got[i]!));
  console.log(
    JSON.stringify({
      adapter: session.adapterName,
      software: session.software,
      rows: ROWS,
      epochs: EPOCHS,
      gpuSamplesPerSecond: Math.round((ROWS * EPOCHS) / gpuSeconds),
      wasmSamplesPerSecond: Math.round((ROWS * EPOCHS) / cpuSeconds),
      maxWeightDifference: maxDifference,
    }),
  );
} finally {
  await session.close();
}
