// Before a round trusts a GPU, the job's own network trains a few steps on seeded rows on both the
// GPU and the WebAssembly kernel; the GPU is used only when the weights agree within the
// tolerance. A driver that miscompiles a kernel, or computes wrongly, is caught here, not in the
// update that leaves the machine.
import { SeededRandom } from '../../../common/model/random.js';
import { DenseMlpKernel, type DenseMlpShape, type DenseOptimizer } from '../kernel/dense-mlp.js';
import type { GpuSession } from './gpu-session.js';

/** Largest absolute difference in any weight that still counts as the same result. */
export const WEIGHT_TOLERANCE = 1e-4;

const ROWS = 24;
const BATCH = 8;
const EPOCHS = 2;

export interface SelfTestResult {
  ok: boolean;
  /** Largest absolute weight difference between the GPU and the CPU kernel. */
  maxDifference: number;
  detail: string;
}

export async function selfTestGpu(session: GpuSession, shape: DenseMlpShape, optimizer: DenseOptimizer): Promise<SelfTestResult> {
  const rng = new SeededRandom(0x5e1f7e57);
  const inputs = shape.sizes[0]!;
  const outputs = shape.sizes[shape.sizes.length - 1]!;
  const x = new Float32Array(ROWS * inputs);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const y = new Float32Array(ROWS * outputs);
  for (let r = 0; r < ROWS; r++) {
    if (shape.loss === 'softmax-crossentropy') y[r * outputs + Math.floor(rng.next() * outputs)] = 1;
    else for (let j = 0; j < outputs; j++) y[r * outputs + j] = shape.loss === 'mse' ? rng.normal() : rng.next() < 0.5 ? 1 : 0;
  }
  let params = 0;
  for (let l = 0; l + 1 < shape.sizes.length; l++) params += shape.sizes[l]! * shape.sizes[l + 1]! + shape.sizes[l + 1]!;
  const weights = new Float32Array(params);
  for (let i = 0; i < params; i++) weights[i] = rng.normal() * 0.3;
  const epochs = Array.from({ length: EPOCHS }, () => rng.permutation(ROWS));

  // the CPU reference first: this thread may block, the GPU thread must not
  const cpu = new DenseMlpKernel(shape, BATCH);
  cpu.setWeights(weights);
  cpu.resetOptimizer();
  for (const order of epochs) for (let s = 0; s < ROWS; s += BATCH) cpu.trainBatch(x, y, order, s, Math.min(ROWS, s + BATCH), optimizer);
  const expected = cpu.getWeights();

  const got = await session.train({ shape, optimizer, batchSize: BATCH, weights, x, y, epochs });
  let maxDifference = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(expected[i]! - got[i]!);
    // NaN counts as the largest possible difference
    maxDifference = Number.isNaN(d) ? Infinity : Math.max(maxDifference, d);
  }
  const ok = got.length === expected.length && maxDifference <= WEIGHT_TOLERANCE;
  return {
    ok,
    maxDifference,
    detail: ok
      ? `self-test passed (weights within ${maxDifference.toExponential(1)} of the CPU kernel)`
      : `self-test failed: weights differ from the CPU kernel by up to ${maxDifference.toExponential(1)} (allowed ${WEIGHT_TOLERANCE})`,
  };
}
