// A round on the GPU: the whole local training runs on the GPU thread (rows uploaded once, weights
// read back once); the held-out evaluation runs on the CPU kernel with the weights that came back,
// after the GPU is released.
import type { TrainingJobSpec } from '../../../common/jobspec.js';
import { denseOptimizerOf, denseShapeOf } from '../dense-spec.js';
import { DenseKernelTrainer, type BatchOutcome } from '../trainers.js';
import type { GpuEpoch, GpuSession } from './gpu-session.js';

export class GpuDenseTrainer {
  private readonly spec: TrainingJobSpec;
  private readonly session: GpuSession;
  private weights: Float32Array | null = null;

  constructor(spec: TrainingJobSpec, session: GpuSession) {
    this.spec = spec;
    this.session = session;
  }

  get adapterName(): string {
    return this.session.adapterName;
  }

  /** Trains one epoch per entry of `epochs` (row indices into x / y) from `start` weights. */
  async trainRound(start: Float32Array, x: Float32Array, y: Float32Array, epochs: Uint32Array[], hooks: { signal?: AbortSignal; onEpoch?: (e: GpuEpoch) => void }): Promise<Float32Array> {
    this.weights = await this.session.train(
      { shape: denseShapeOf(this.spec), optimizer: denseOptimizerOf(this.spec), batchSize: this.spec.local.batchSize, weights: start, x, y, epochs },
      hooks,
    );
    return this.weights;
  }

  /** Mean loss and correct count on the given rows, computed on the CPU kernel. */
  evaluate(x: Float32Array, y: Float32Array, rows: Uint32Array): BatchOutcome {
    if (!this.weights) throw new Error('GPU trainer: evaluate before training');
    const cpu = new DenseKernelTrainer(this.spec);
    cpu.setWeights(this.weights);
    return cpu.evaluate(x, y, rows);
  }

  /** Releases the GPU (ends its thread and the device with it). */
  close(): Promise<void> {
    return this.session.close();
  }
}
