// Starts the worker process, hands it one task at a time, and watches it. A worker that crashes,
// stops sending heartbeats, runs out of memory or overruns its time limit is ended; the task
// fails with a typed error that says which, and the next task gets a fresh worker. Nothing a
// worker does can take the main process (or the vault it guards) down with it.
//
// A worker goes through named states: starting -> idle <-> busy -> gone. Each task has a time
// limit, a memory limit (the worker is restarted when the next task needs a different one), and
// a heartbeat deadline.
import { TroveError, type TroveErrorCode } from '../../../common/errors.js';
import { fromWorkerSchema, type FromWorker, type TaskProgress, type TaskResult, type WorkerTask } from '../../../common/worker-protocol.js';
import type { WorkerExit, WorkerLauncher, WorkerProcess } from './launcher.js';
import { SerialQueue } from '../../../common/serial-queue.js';

export interface SupervisorOptions {
  launcher: WorkerLauncher;
  /** A busy worker silent for this long is taken as hung and ended. */
  heartbeatTimeoutMs?: number;
  /** How long a new worker may take to say it is ready. */
  startTimeoutMs?: number;
  /** After a cancel, how long the worker has to stop on its own before it is ended. */
  cancelGraceMs?: number;
  defaultTimeLimitMs?: number;
  defaultMemoryLimitMb?: number;
  /** How often a busy worker's resident memory is measured from outside (heartbeats aside). */
  residentSampleMs?: number;
  /** Start workers that accept diagnostic tasks (tests of this supervisor). */
  diagnostics?: boolean;
  /** Everything worth a line in the log: starts, exits, failures, the worker's own log lines. */
  onEvent?: (event: SupervisorEvent) => void;
}

export type SupervisorEvent =
  | { kind: 'worker-started'; pid: number | undefined; memoryLimitMb: number }
  | { kind: 'worker-exited'; pid: number | undefined; code: number | null; signal: string | null }
  | { kind: 'task-failed'; taskId: string; code: TroveErrorCode; message: string }
  | { kind: 'worker-log'; level: 'info' | 'warn'; message: string };

export interface TaskOptions {
  timeLimitMs?: number;
  /** JavaScript heap limit of the worker (V8 --max-old-space-size). */
  memoryLimitMb?: number;
  /**
   * Limit on the worker's whole resident memory, which also holds typed arrays and WebAssembly
   * memory that the heap limit does not see; checked at every heartbeat and, from outside the
   * worker, every `residentSampleMs`. Default: twice the heap limit plus 256 MB.
   */
  residentLimitMb?: number;
  onProgress?: (progress: TaskProgress) => void;
  /**
   * End the worker once the task settles, so that the next task starts on a fresh one: for
   * tasks that run code from outside Trove (a researcher's analytics module).
   */
  retireWorker?: boolean;
  /** Aborting cancels the task: it stops within one batch, or the worker is ended. */
  signal?: AbortSignal;
}

type WorkerState = 'starting' | 'idle' | 'busy' | 'gone';

interface TaskHooks {
  onMessage(message: FromWorker): void;
  onExit(exit: WorkerExit): void;
}

interface LiveWorker {
  proc: WorkerProcess;
  memoryLimitMb: number;
  state: WorkerState;
  task: TaskHooks | undefined;
  ready: Promise<void>;
}

/** Codes a worker may report for a task; anything else is reported as a training failure. */
const WORKER_REPORTABLE = new Set<TroveErrorCode>([
  'INVALID_JOB_SPEC', 'INVALID_INPUT', 'TRAINING_FAILED', 'BACKEND_UNAVAILABLE', 'GPU_FAILED', 'CANCELLED', 'CORRUPT_DATA',
  'INTEGRITY_FAILURE', 'COLUMN_NOT_FOUND', 'DATASET_NOT_FOUND', 'VAULT_NOT_FOUND', 'PROOF_FAILED',
  'ANALYTICS_MODULE_REFUSED', 'ANALYTICS_MODULE_FAILED', 'ANALYTICS_OUTPUT_REFUSED',
]);

const OUT_OF_MEMORY = /heap out of memory|Reached heap limit|Allocation failed|out of memory/i;

export class WorkerSupervisor {
  private readonly opts: Required<Omit<SupervisorOptions, 'onEvent'>> & Pick<SupervisorOptions, 'onEvent'>;
  private worker: LiveWorker | undefined;
  private readonly queue = new SerialQueue();
  private stopped = false;
  private nextTask = 1;

  constructor(options: SupervisorOptions) {
    this.opts = {
      heartbeatTimeoutMs: 10_000,
      residentSampleMs: 250,
      startTimeoutMs: 60_000,
      cancelGraceMs: 5_000,
      defaultTimeLimitMs: 30 * 60_000,
      defaultMemoryLimitMb: 2048,
      diagnostics: false,
      ...options,
    };
  }

  /** The running worker's process id (undefined when none is running). */
  get workerPid(): number | undefined {
    return this.worker && this.worker.state !== 'gone' ? this.worker.proc.pid : undefined;
  }

  /** Runs a task on the worker (after those already queued) and resolves with its result. */
  run(task: WorkerTask, options: TaskOptions = {}): Promise<TaskResult> {
    return this.queue.run(() => this.runNow(task, options));
  }

  /**
   * Starts the worker (if none runs) and has it load the training library now, so that a round's
   * stage deadline does not also have to cover a cold start. Runs in the task queue's order.
   */
  prepareTraining(memoryLimitMb = this.opts.defaultMemoryLimitMb): Promise<void> {
    return this.queue.run(async () => {
      if (this.stopped) return;
      const w = await this.ensureWorker(memoryLimitMb);
      w.proc.send({ type: 'prepare-training' });
    });
  }

  /** Ends the worker; queued and later tasks fail with WORKER_STOPPED. */
  async stop(): Promise<void> {
    this.stopped = true;
    const w = this.worker;
    if (!w || w.state === 'gone') return;
    const gone = new Promise<void>((resolve) => w.proc.onExit(() => resolve()));
    w.proc.send({ type: 'shutdown' });
    const force = setTimeout(() => w.proc.kill(), this.opts.cancelGraceMs);
    await gone;
    clearTimeout(force);
  }

  private emit(event: SupervisorEvent): void {
    this.opts.onEvent?.(event);
  }

  private startWorker(memoryLimitMb: number): LiveWorker {
    const proc = this.opts.launcher.launch({ memoryLimitMb, diagnostics: this.opts.diagnostics });
    let readyResolve!: () => void;
    let readyReject!: (err: TroveError) => void;
    const ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    const live: LiveWorker = { proc, memoryLimitMb, state: 'starting', task: undefined, ready };
    const startTimer = setTimeout(() => {
      readyReject(new TroveError('WORKER_UNRESPONSIVE', 'The worker process did not start in time.'));
      proc.kill();
    }, this.opts.startTimeoutMs);

    proc.onMessage((raw) => {
      const parsed = fromWorkerSchema.safeParse(raw);
      if (!parsed.success) {
        this.emit({ kind: 'worker-log', level: 'warn', message: 'worker sent a malformed message; ending it' });
        proc.kill();
        return;
      }
      const message = raw as FromWorker;
      if (message.type === 'ready') {
        clearTimeout(startTimer);
        if (live.state === 'starting') live.state = 'idle';
        readyResolve();
        return;
      }
      if (message.type === 'log') {
        this.emit({ kind: 'worker-log', level: message.level, message: message.message });
        return;
      }
      live.task?.onMessage(message);
    });
    proc.onExit((exit) => {
      clearTimeout(startTimer);
      live.state = 'gone';
      if (this.worker === live) this.worker = undefined;
      this.emit({ kind: 'worker-exited', pid: proc.pid, code: exit.code, signal: exit.signal });
      readyReject(exitError(exit, proc.stderrTail(), live.memoryLimitMb, 'while starting'));
      live.task?.onExit(exit);
    });
    this.emit({ kind: 'worker-started', pid: proc.pid, memoryLimitMb });
    // a rejection here is also seen by whoever awaits `ready`
    ready.catch(() => undefined);
    return live;
  }

  private async ensureWorker(memoryLimitMb: number): Promise<LiveWorker> {
    let w = this.worker;
    if (w && w.state !== 'gone' && w.memoryLimitMb !== memoryLimitMb) {
      // the memory limit is fixed when a process starts: restart for a task that needs another
      const old = w;
      const gone = new Promise<void>((resolve) => old.proc.onExit(() => resolve()));
      old.proc.kill();
      await gone;
      w = undefined;
    }
    if (!w || w.state === 'gone') {
      w = this.startWorker(memoryLimitMb);
      this.worker = w;
    }
    await w.ready;
    return w;
  }

  private async runNow(task: WorkerTask, options: TaskOptions): Promise<TaskResult> {
    if (this.stopped) throw new TroveError('WORKER_STOPPED', 'The worker has been stopped.');
    if (options.signal?.aborted) throw new TroveError('CANCELLED', 'The task was cancelled before it started.');
    const memoryLimitMb = options.memoryLimitMb ?? this.opts.defaultMemoryLimitMb;
    const timeLimitMs = options.timeLimitMs ?? this.opts.defaultTimeLimitMs;
    const residentLimitMb = options.residentLimitMb ?? 2 * memoryLimitMb + 256;
    const w = await this.ensureWorker(memoryLimitMb);
    const taskId = `task-${this.nextTask++}`;

    return new Promise<TaskResult>((resolve, reject) => {
      let settled = false;
      /** Why the supervisor ended the worker, if it did. */
      let verdict: TroveError | undefined;
      const end = (why: TroveError): void => {
        verdict ??= why;
        w.proc.kill();
      };
      const timers: ReturnType<typeof setTimeout>[] = [];
      const timeLimit = setTimeout(
        () => end(new TroveError('TASK_TIMEOUT', `The task ran past its time limit of ${formatMs(timeLimitMs)} and was stopped.`, { timeLimitMs })),
        timeLimitMs,
      );
      const watchdog = setTimeout(
        () => end(new TroveError('WORKER_UNRESPONSIVE', 'The worker stopped responding and was restarted; the task did not finish.', { heartbeatTimeoutMs: this.opts.heartbeatTimeoutMs })),
        this.opts.heartbeatTimeoutMs,
      );
      timers.push(timeLimit, watchdog);
      const overMemory = (rssMb: number): void =>
        end(
          new TroveError('WORKER_OUT_OF_MEMORY', `The task used more memory than its limit of ${residentLimitMb} MB; the worker was restarted.`, {
            residentMb: Math.ceil(rssMb),
            residentLimitMb,
          }),
        );
      // Measured from outside: a worker blocked in one long loop sends no heartbeat to check.
      if (w.proc.residentBytes) {
        const measure = w.proc.residentBytes.bind(w.proc);
        const sampler = setInterval(() => {
          measure().then(
            (bytes) => {
              if (!settled && bytes !== null && bytes / (1024 * 1024) > residentLimitMb) overMemory(bytes / (1024 * 1024));
            },
            () => undefined,
          );
        }, this.opts.residentSampleMs);
        timers.push(sampler);
      }
      const onAbort = (): void => {
        w.proc.send({ type: 'cancel', taskId });
        timers.push(setTimeout(() => end(new TroveError('CANCELLED', 'The task was cancelled.')), this.opts.cancelGraceMs));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });

      const finish = (err: TroveError | undefined, result?: TaskResult): void => {
        if (settled) return;
        settled = true;
        timers.forEach(clearTimeout);
        options.signal?.removeEventListener('abort', onAbort);
        w.task = undefined;
        if (w.state === 'busy') w.state = 'idle';
        if (options.retireWorker && w.state !== 'gone') {
          w.state = 'gone';
          if (this.worker === w) this.worker = undefined;
          w.proc.kill();
        }
        if (err) {
          this.emit({ kind: 'task-failed', taskId, code: err.code, message: err.message });
          reject(err);
        } else {
          resolve(result!);
        }
      };

      w.task = {
        onMessage: (m) => {
          if (m.type === 'heartbeat') {
            watchdog.refresh();
            const rssMb = m.rss / (1024 * 1024);
            if (rssMb > residentLimitMb) overMemory(rssMb);
            return;
          }
          if (!('taskId' in m) || m.taskId !== taskId) return;
          // any message is a sign of life
          watchdog.refresh();
          if (m.type === 'progress') {
            try {
              options.onProgress?.(m.progress);
            } catch (err) {
              // a listener's bug must not take the main process down
              this.emit({ kind: 'worker-log', level: 'warn', message: `progress listener failed: ${(err as Error)?.message ?? String(err)}` });
            }
          }
          else if (m.type === 'result') finish(undefined, m.result);
          else if (m.type === 'error') {
            const code = WORKER_REPORTABLE.has(m.error.code) ? m.error.code : 'TRAINING_FAILED';
            finish(new TroveError(code, m.error.message, m.error.details));
          }
        },
        onExit: (exit) =>
          finish(
            verdict ??
              (this.stopped
                ? new TroveError('WORKER_STOPPED', 'The worker was stopped before the task finished.')
                : exitError(exit, w.proc.stderrTail(), memoryLimitMb, 'during the task')),
          ),
      };
      w.state = 'busy';
      w.proc.send({ type: 'run', taskId, task });
    });
  }
}

function exitError(exit: WorkerExit, stderr: string, memoryLimitMb: number, when: string): TroveError {
  const details = { code: exit.code, signal: exit.signal, memoryLimitMb };
  if (OUT_OF_MEMORY.test(stderr)) {
    return new TroveError('WORKER_OUT_OF_MEMORY', `The task needed more memory than its limit of ${memoryLimitMb} MB; the worker was restarted.`, details);
  }
  const how = exit.signal ? `was ended by ${exit.signal}` : `exited with code ${exit.code}`;
  return new TroveError('WORKER_CRASHED', `The worker process ${how} ${when}; it will be restarted for the next task.`, details);
}

function formatMs(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}
