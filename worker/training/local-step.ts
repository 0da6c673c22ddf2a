// A federated round's local step, as a contributor's machine runs it: take the global weights,
// train the job's model for E epochs on the local rows, and hand back only the clipped update
// (new weights minus global weights), the number of examples, and metrics on a local held-out
// split. The rows never leave this function; the update is what secure aggregation masks next.
import type { ColumnarRows } from '../../common/dataset.js';
import { TroveError, isTroveError } from '../../common/errors.js';
import { parseTrainingJobSpec, parameterCountOf, type TrainingJobSpec } from '../../common/jobspec.js';
import type { BackendReport, LocalStepResult, TrainingProgress } from '../../common/worker-protocol.js';
import { loadTf, recordGpuFailure, selectBackend, type BackendChoice, type SelectOptions } from './backend.js';
import { GpuDenseTrainer } from './webgpu/trainer.js';
import { buildTrainingMatrix, type TrainingMatrix } from '../../common/model/features.js';
import { SeededRandom } from '../../common/model/random.js';
import { initialWeights } from '../../common/model/weights.js';
import { DenseKernelTrainer, TfjsTrainer, type LocalTrainer } from './trainers.js';
import { spareArrays } from '../spare-arrays.js';

export interface LocalStepInput {
  /** The training spec, as received (validated here before anything else happens). */
  spec: unknown;
  /** The job's columns: the spec's features in order, then the label. */
  data: ColumnarRows;
  /** Global weights of this round; null for a first round that starts from the seeded init. */
  globalWeights: Float32Array | null;
}

export interface LocalStepOptions {
  onProgress?: (p: TrainingProgress) => void;
  /** Checked before every batch: once aborted, no further batch starts. */
  signal?: AbortSignal;
  backend?: SelectOptions;
  /** Told which backend was chosen, before training starts. */
  onBackend?: (backend: BackendReport) => void;
  /** Yield to the event loop between batches (heartbeats, cancel messages). Default true. */
  yieldBetweenBatches?: boolean;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A batch-by-batch trainer for a CPU engine (the GPU trains whole rounds: see runOnGpu). */
export async function createTrainer(spec: TrainingJobSpec, choice: BackendChoice): Promise<LocalTrainer> {
  if (choice.engine === 'webgpu') throw new Error('the GPU trains whole rounds, not single batches');
  if (choice.engine === 'dense-kernel') return new DenseKernelTrainer(spec);
  return new TfjsTrainer(await loadTf(), spec);
}

/** L2 norm of a vector, accumulated in double precision. */
export function l2Norm(v: Float32Array): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

export async function runLocalStep(input: LocalStepInput, options: LocalStepOptions = {}): Promise<LocalStepResult> {
  const started = performance.now();
  const spec = parseTrainingJobSpec(input.spec);
  const expected = parameterCountOf(spec.model);
  if (input.globalWeights && input.globalWeights.length !== expected) {
    throw new TroveError('INVALID_INPUT', `The round's global weights have ${input.globalWeights.length} values; this model has ${expected}.`, {
      expected,
      received: input.globalWeights.length,
    });
  }
  for (const v of input.globalWeights ?? []) {
    if (!Number.isFinite(v)) throw new TroveError('INVALID_INPUT', "The round's global weights contain a value that is not a finite number.");
  }

  // x and y hold the rows: wiped when the step ends and kept for the next one (spare-arrays.ts)
  const arrays: Float32Array[] = [];
  const matrix = buildTrainingMatrix(spec, input.data, (n) => {
    const array = spareArrays.take(Float32Array, n);
    arrays.push(array);
    return array;
  });
  try {
    return await trainOn(spec, matrix, input, options, started);
  } finally {
    for (const array of arrays) spareArrays.keep(array);
  }
}

async function trainOn(spec: TrainingJobSpec, matrix: TrainingMatrix, input: LocalStepInput, options: LocalStepOptions, started: number): Promise<LocalStepResult> {
  const rng = new SeededRandom(spec.local.seed);
  const heldOut = Math.min(Math.floor(matrix.rows * spec.local.heldOutFraction), Math.max(matrix.rows - 1, 0));
  const trainRows = matrix.rows - heldOut;
  if (trainRows < 1) throw new TroveError('TRAINING_FAILED', 'There are no usable rows for this job in the dataset (every row was missing a value the job needs).');

  // Split once, seeded: the first heldOut indices of a permutation are held out. Rows stay where
  // they are; training and evaluation go through index arrays.
  const split = rng.permutation(matrix.rows);
  const heldIdx = split.subarray(0, heldOut);
  const trainIdx = split.subarray(heldOut);
  const { x, y } = matrix;

  const choice = await selectBackend(spec, options.backend);
  options.onBackend?.({ backend: choice.backend, engine: choice.engine, reason: choice.reason });
  if (choice.gpu) {
    return runOnGpu(new GpuDenseTrainer(spec, choice.gpu), { spec, matrix, rng, trainIdx, heldIdx, input, choice, started }, options);
  }
  const trainer = await createTrainer(spec, choice);
  try {
    const global = input.globalWeights ?? initialWeights(spec.model, spec.local.seed);
    trainer.setWeights(global);
    const batch = spec.local.batchSize;
    const batchesPerEpoch = Math.ceil(trainRows / batch);
    const yieldEach = options.yieldBetweenBatches ?? true;
    let trainLoss = 0;
    for (let epoch = 0; epoch < spec.local.epochs; epoch++) {
      const perm = rng.permutation(trainRows);
      const order = new Uint32Array(trainRows);
      for (let i = 0; i < trainRows; i++) order[i] = trainIdx[perm[i]!]!;
      let epochLoss = 0;
      for (let b = 0; b < batchesPerEpoch; b++) {
        if (yieldEach) await yieldToEventLoop();
        if (options.signal?.aborted) throw new TroveError('CANCELLED', 'Training was cancelled.');
        const start = b * batch;
        const end = Math.min(trainRows, start + batch);
        const out = trainer.trainBatch(x, y, order, start, end);
        if (!Number.isFinite(out.loss)) {
          throw new TroveError('TRAINING_FAILED', 'Training diverged (the loss is no longer a finite number); the round is skipped.', { epoch, batch: b });
        }
        epochLoss += out.loss * (end - start);
        options.onProgress?.({ kind: 'batch', epoch, epochs: spec.local.epochs, batch: b, batches: batchesPerEpoch, loss: out.loss });
      }
      trainLoss = epochLoss / trainRows;
      options.onProgress?.({ kind: 'epoch', epoch, epochs: spec.local.epochs, batch: batchesPerEpoch, batches: batchesPerEpoch, loss: trainLoss });
    }

    const held = heldOut > 0 ? trainer.evaluate(x, y, heldIdx) : null;
    return stepResult({ spec, global, local: trainer.getWeights(), trainLoss, trainRows, heldOut, held, droppedRows: matrix.droppedRows, choice, started });
  } catch (err) {
    if (isTroveError(err)) throw err;
    throw new TroveError('TRAINING_FAILED', `Training failed: ${(err as Error).message}`, undefined, { cause: err });
  } finally {
    trainer.dispose();
  }
}

interface PreparedStep {
  spec: TrainingJobSpec;
  matrix: ReturnType<typeof buildTrainingMatrix>;
  rng: SeededRandom;
  trainIdx: Uint32Array;
  heldIdx: Uint32Array;
  input: LocalStepInput;
  choice: BackendChoice;
  started: number;
}

/**
 * The local step on the GPU: the same seeded epochs as on the CPU, trained in one go on the GPU
 * thread. A GPU that is lost or hangs fails the step with GPU_FAILED and is not tried again by
 * this worker, so the next attempt trains on the CPU.
 */
async function runOnGpu(trainer: GpuDenseTrainer, p: PreparedStep, options: LocalStepOptions): Promise<LocalStepResult> {
  const { spec, matrix, rng, trainIdx, heldIdx, choice } = p;
  const { x, y } = matrix;
  const trainRows = trainIdx.length;
  const heldOut = heldIdx.length;
  const batch = spec.local.batchSize;
  const batchesPerEpoch = Math.ceil(trainRows / batch);
  // the same draws from the same generator as the CPU loop, so both see the same batches
  const epochs: Uint32Array[] = [];
  for (let epoch = 0; epoch < spec.local.epochs; epoch++) {
    const perm = rng.permutation(trainRows);
    const order = new Uint32Array(trainRows);
    for (let i = 0; i < trainRows; i++) order[i] = trainIdx[perm[i]!]!;
    epochs.push(order);
  }
  const global = p.input.globalWeights ?? initialWeights(spec.model, spec.local.seed);
  let trainLoss = 0;
  let diverged: { epoch: number; batch: number } | null = null;
  let local: Float32Array;
  try {
    if (options.signal?.aborted) throw new TroveError('CANCELLED', 'Training was cancelled.');
    local = await trainer.trainRound(global, x, y, epochs, {
      ...(options.signal ? { signal: options.signal } : {}),
      onEpoch: ({ epoch, losses }) => {
        let sum = 0;
        for (let b = 0; b < losses.length; b++) {
          const loss = losses[b]!;
          if (!Number.isFinite(loss)) diverged ??= { epoch, batch: b };
          const rows = Math.min(trainRows, (b + 1) * batch) - b * batch;
          sum += loss * rows;
          options.onProgress?.({ kind: 'batch', epoch, epochs: spec.local.epochs, batch: b, batches: batchesPerEpoch, loss });
        }
        trainLoss = sum / trainRows;
        options.onProgress?.({ kind: 'epoch', epoch, epochs: spec.local.epochs, batch: batchesPerEpoch, batches: batchesPerEpoch, loss: trainLoss });
      },
    });
  } catch (err) {
    if (isTroveError(err, 'GPU_FAILED')) {
      recordGpuFailure(err.message);
      throw new TroveError('GPU_FAILED', `${err.message} The next attempt trains on the CPU.`, { adapter: trainer.adapterName });
    }
    if (isTroveError(err)) throw err;
    throw new TroveError('TRAINING_FAILED', `Training failed: ${(err as Error).message}`, undefined, { cause: err });
  } finally {
    await trainer.close();
  }
  if (diverged) throw new TroveError('TRAINING_FAILED', 'Training diverged (the loss is no longer a finite number); the round is skipped.', diverged);

  const held = heldOut > 0 ? trainer.evaluate(x, y, heldIdx) : null;
  return stepResult({ spec, global, local, trainLoss, trainRows, heldOut, held, droppedRows: matrix.droppedRows, choice, started: p.started });
}

/** The clipped update and what the step reports, the same whichever engine trained. */
function stepResult(o: {
  spec: TrainingJobSpec;
  global: ArrayLike<number>;
  local: ArrayLike<number>;
  trainLoss: number;
  trainRows: number;
  heldOut: number;
  held: { loss: number; correct: number } | null;
  droppedRows: number;
  choice: BackendChoice;
  started: number;
}): LocalStepResult {
  const { spec, choice } = o;
  const update = new Float32Array(o.local.length);
  for (let i = 0; i < o.local.length; i++) update[i] = o.local[i]! - o.global[i]!;
  const norm = l2Norm(update);
  const scale = norm > spec.local.clipNorm ? spec.local.clipNorm / norm : 1;
  if (scale < 1) for (let i = 0; i < update.length; i++) update[i]! *= scale;
  return {
    update,
    exampleCount: o.trainRows,
    metrics: {
      trainLoss: o.trainLoss,
      heldOutLoss: o.held ? o.held.loss : null,
      heldOutAccuracy: o.held && spec.label.kind === 'class' ? o.held.correct / o.heldOut : null,
      heldOutExamples: o.heldOut,
      droppedRows: o.droppedRows,
    },
    clipping: { norm, clipNorm: spec.local.clipNorm, scale },
    backend: { backend: choice.backend, engine: choice.engine, reason: choice.reason },
    durationMs: performance.now() - o.started,
  };
}
