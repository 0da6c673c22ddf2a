// Runs the tasks the main process sends, one at a time, and answers each with a result or a
// typed error. Cancel reaches a running task through its AbortSignal, which training checks
// before every batch.
import { TroveError, isTroveError } from '../common/errors.js';
import { columnsReadBy, parseTrainingJobSpec } from '../common/jobspec.js';
import type { FromWorker, TaskProgress, TaskResult, ToWorker, WireError, WorkerTask } from '../common/worker-protocol.js';
import type { DataSourceReader } from './data-source.js';
import { analyze } from './analytics/analyze.js';
import { proveClaim } from './proofs/claim-prover.js';
import { runLocalStep } from './training/local-step.js';
import { loadTf } from './training/backend.js';

const PROGRESS_INTERVAL_MS = 50;

export interface TaskRunnerOptions {
  post: (message: FromWorker) => void;
  data: DataSourceReader;
  /** Honour diagnostic tasks (crash, hang, exhaust memory): for supervisor tests only. */
  diagnostics: boolean;
}

export class TaskRunner {
  private current: { taskId: string; abort: AbortController; batches: number; batchesAtCancel: number | null } | undefined;

  constructor(private readonly options: TaskRunnerOptions) {}

  handle(message: ToWorker): void {
    if (message.type === 'prepare-training') {
      // Importing the training library costs seconds on a busy machine: pay it before any round's clock runs.
      void loadTf().catch(() => undefined);
      return;
    }
    if (message.type === 'cancel') {
      if (this.current?.taskId === message.taskId && !this.current.abort.signal.aborted) {
        this.current.batchesAtCancel = this.current.batches;
        this.current.abort.abort();
      }
      return;
    }
    if (message.type === 'run') {
      if (this.current) {
        this.options.post({ type: 'error', taskId: message.taskId, error: { code: 'INVALID_INPUT', message: 'The worker is already running a task.' } });
        return;
      }
      void this.run(message.taskId, message.task);
    }
  }

  private async run(taskId: string, task: WorkerTask): Promise<void> {
    const abort = new AbortController();
    const current = { taskId, abort, batches: 0, batchesAtCancel: null as number | null };
    this.current = current;
    try {
      const result = await this.execute(taskId, task, abort.signal);
      this.options.post({ type: 'result', taskId, result });
    } catch (err) {
      const wire = toWire(err);
      if (wire.code === 'CANCELLED' && current.batchesAtCancel !== null) {
        // how many batches still started after the cancel arrived (the promise: at most one)
        wire.details = { ...wire.details, batchesAfterCancel: current.batches - current.batchesAtCancel };
      }
      this.options.post({ type: 'error', taskId, error: wire });
    } finally {
      this.current = undefined;
    }
  }

  private async execute(taskId: string, task: WorkerTask, signal: AbortSignal): Promise<TaskResult> {
    // Batch progress crosses the process boundary at most every PROGRESS_INTERVAL_MS (small
    // batches would flood the channel); epoch ends and the backend choice always do.
    let lastPost = 0;
    const progress = (p: TaskProgress): void => {
      if (p.kind === 'batch') {
        if (this.current) this.current.batches++;
        const now = performance.now();
        if (now - lastPost < PROGRESS_INTERVAL_MS && p.batch + 1 < p.batches) return;
        lastPost = now;
      }
      this.options.post({ type: 'progress', taskId, progress: p });
    };
    if (task.kind === 'diagnostic') return this.diagnostic(task);
    if (task.kind === 'analyze') return { kind: 'analyze', analytics: await analyze(task, this.options.data) };
    if (task.kind === 'prove-claim') {
      try {
        return { kind: 'prove-claim', ...(await proveClaim(task, progress)) };
      } catch (err) {
        if (isTroveError(err)) throw err;
        throw new TroveError('PROOF_FAILED', `The claim's proof could not be made: ${(err as Error)?.message ?? String(err)}`);
      }
    }
    if (task.kind !== 'train-local') throw new TroveError('INVALID_INPUT', 'Unknown task kind.');

    // Validate before touching any data.
    const spec = parseTrainingJobSpec(task.spec);
    const data = await this.options.data.open(task.data, columnsReadBy(spec));
    try {
      const step = await runLocalStep(
        { spec, data: data.rows, globalWeights: task.globalWeights },
        {
          signal,
          backend: { gpu: task.useGpu !== false },
          onProgress: progress,
          onBackend: (backend) => {
            progress({ kind: 'backend', backend });
            this.options.post({ type: 'log', level: 'info', message: `training backend ${backend.reason}` });
          },
        },
      );
      return { kind: 'train-local', step };
    } finally {
      data.release();
    }
  }

  private async diagnostic(task: Extract<WorkerTask, { kind: 'diagnostic' }>): Promise<TaskResult> {
    if (!this.options.diagnostics) throw new TroveError('INVALID_INPUT', 'Diagnostic tasks are turned off in this worker.');
    switch (task.action) {
      case 'echo':
        return { kind: 'diagnostic', value: task.value };
      case 'crash':
        // an uncaught exception while the task runs: the process dies without answering
        setImmediate(() => {
          throw new Error('diagnostic crash');
        });
        return new Promise<TaskResult>(() => undefined);
      case 'hang':
        // blocks the event loop: no heartbeat, no message handling
        for (;;) {
          if (Date.now() < 0) break;
        }
        return { kind: 'diagnostic', value: 'unreachable' };
      case 'exhaust-external-memory': {
        // typed arrays live outside the JavaScript heap: only the supervisor's RSS check stops this
        const hog: Float64Array[] = [];
        for (;;) {
          hog.push(new Float64Array(8 * 1024 * 1024).fill(1));
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      case 'exhaust-memory-blocked': {
        // allocates outside the heap without ever yielding, so no heartbeat reports it; capped at
        // 1.5 GB, then spins, so a supervisor that cannot measure from outside sees only silence
        const hog: Uint8Array[] = [];
        while (hog.length < 48) hog.push(new Uint8Array(32 * 1024 * 1024).fill(1));
        for (;;) {
          if (Date.now() < 0) break;
        }
        return { kind: 'diagnostic', value: hog.length };
      }
      case 'exhaust-memory': {
        const hog: unknown[][] = [];
        for (;;) hog.push(new Array<number>(1_000_000).fill(hog.length + 0.5));
      }
    }
  }
}

export function toWire(err: unknown): WireError {
  if (isTroveError(err)) return err.toJSON();
  return { code: 'TRAINING_FAILED', message: `The task failed: ${(err as Error)?.message ?? String(err)}` };
}
