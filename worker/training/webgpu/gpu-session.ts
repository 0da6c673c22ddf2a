// The training code's handle on the GPU thread: open a GPU, train one round on it, close it. One
// session per local step, so no device outlives the round that used it. A thread that goes
// silent past the watchdog, dies, or reports a lost device ends the round with GPU_FAILED.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TroveError, type TroveErrorCode } from '../../../common/errors.js';
import type { FromGpuThread, GpuOpenOptions, GpuTrainRequest, ToGpuThread } from './gpu-messages.js';

export interface GpuEpoch {
  epoch: number;
  losses: Float32Array;
  correct: Float32Array;
}

export interface GpuSessionOptions extends GpuOpenOptions {
  /** Longest silence from the GPU thread (opening, or between two epochs) before it counts as hung. */
  silenceLimitMs?: number;
}

function startThread(): Worker {
  const compiled = new URL('./gpu-thread.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return new Worker(compiled);
  // Running from sources (tests, development): register tsx in the thread, then load the entry.
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./gpu-thread.ts', import.meta.url).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then((t) => t.register()).then(() => import(${JSON.stringify(entry)}))`, { eval: true });
}

const KNOWN_CODES = new Set<TroveErrorCode>(['GPU_FAILED', 'CANCELLED']);

export class GpuSession {
  readonly adapterName: string;
  readonly software: boolean;
  private readonly thread: Worker;
  private readonly silenceLimitMs: number;
  private nextId = 1;
  private broken: TroveError | null = null;
  private listener: ((m: FromGpuThread) => void) | undefined;
  private onBroken: ((err: TroveError) => void) | undefined;

  private constructor(thread: Worker, adapterName: string, software: boolean, silenceLimitMs: number) {
    this.thread = thread;
    this.adapterName = adapterName;
    this.software = software;
    this.silenceLimitMs = silenceLimitMs;
    thread.on('message', (m: FromGpuThread) => this.listener?.(m));
    const die = (why: string): void => {
      this.broken ??= new TroveError('GPU_FAILED', `The GPU stopped working during training (${why}).`);
      this.onBroken?.(this.broken);
    };
    thread.on('error', (err: unknown) => die(describe(err)));
    thread.on('exit', (code) => die(`its thread exited with code ${code}`));
  }

  /** Starts the GPU thread and opens a GPU there; the reason when there is none to use. */
  static async open(options: GpuSessionOptions = {}): Promise<{ ok: true; session: GpuSession } | { ok: false; reason: string }> {
    const silenceLimitMs = options.silenceLimitMs ?? 120_000;
    let thread: Worker;
    try {
      thread = startThread();
    } catch (err) {
      return { ok: false, reason: `the GPU thread could not start (${(err as Error).message})` };
    }
    const { silenceLimitMs: _, ...open } = options;
    const answer = await new Promise<FromGpuThread | { kind: 'dead'; reason: string }>((resolve) => {
      const timer = setTimeout(() => resolve({ kind: 'dead', reason: `no answer from the GPU within ${Math.round(silenceLimitMs / 1000)} s` }), silenceLimitMs);
      thread.once('message', (m: FromGpuThread) => {
        clearTimeout(timer);
        resolve(m);
      });
      thread.once('error', (err) => {
        clearTimeout(timer);
        resolve({ kind: 'dead', reason: `the GPU thread failed (${String((err as Error | undefined)?.message ?? err).split('\n')[0]})` });
      });
      thread.postMessage({ id: 0, op: 'open', options: open } satisfies ToGpuThread);
    });
    if (answer.kind === 'opened' && answer.ok) return { ok: true, session: new GpuSession(thread, answer.adapterName, answer.software, silenceLimitMs) };
    await thread.terminate();
    if (answer.kind === 'opened') return { ok: false, reason: answer.reason };
    return { ok: false, reason: answer.kind === 'dead' ? answer.reason : 'the GPU thread answered out of turn' };
  }

  /** Trains one round on the GPU; resolves with the new weights (TensorFlow.js's flat order). */
  train(request: GpuTrainRequest, hooks: { onEpoch?: (e: GpuEpoch) => void; signal?: AbortSignal } = {}): Promise<Float32Array> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise<Float32Array>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: TroveError | null, weights?: Float32Array): void => {
        clearTimeout(timer);
        this.listener = undefined;
        this.onBroken = undefined;
        hooks.signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(weights!);
      };
      const arm = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          this.broken = new TroveError('GPU_FAILED', `The GPU stopped answering for ${Math.round(this.silenceLimitMs / 1000)} s during training; it is treated as hung.`);
          void this.thread.terminate();
          finish(this.broken);
        }, this.silenceLimitMs);
      };
      const onAbort = (): void => this.thread.postMessage({ id, op: 'cancel' } satisfies ToGpuThread);
      hooks.signal?.addEventListener('abort', onAbort, { once: true });
      this.onBroken = (err) => finish(err);
      this.listener = (m) => {
        if (m.id !== id) return;
        arm();
        if (m.kind === 'epoch') hooks.onEpoch?.({ epoch: m.epoch, losses: m.losses, correct: m.correct });
        else if (m.kind === 'trained') finish(null, m.weights);
        else if (m.kind === 'failed') {
          const code = KNOWN_CODES.has(m.code as TroveErrorCode) ? (m.code as TroveErrorCode) : 'GPU_FAILED';
          const err = new TroveError(code, m.message);
          if (code === 'GPU_FAILED') this.broken = err;
          finish(err);
        }
      };
      arm();
      this.thread.postMessage({ id, op: 'train', request } satisfies ToGpuThread);
    });
  }

  /** Builds the kernels and buffers for a network without running them; Dawn's validation errors. */
  async check(shape: GpuTrainRequest['shape'], optimizer: GpuTrainRequest['optimizer'], batchSize: number): Promise<string[]> {
    const id = this.nextId++;
    return new Promise<string[]>((resolve, reject) => {
      const done = (m: FromGpuThread): void => {
        if (m.id !== id) return;
        this.thread.off('message', done);
        if (m.kind === 'checked') resolve(m.errors);
        else reject(new TroveError('GPU_FAILED', m.kind === 'failed' ? m.message : 'unexpected answer'));
      };
      this.thread.on('message', done);
      this.thread.postMessage({ id, op: 'check', shape, optimizer, batchSize } satisfies ToGpuThread);
    });
  }

  /** Destroys the device under the session, as a driver reset would (tests). */
  async loseDevice(): Promise<void> {
    const id = this.nextId++;
    await new Promise<void>((resolve) => {
      const done = (m: FromGpuThread): void => {
        if (m.id === id) {
          this.thread.off('message', done);
          resolve();
        }
      };
      this.thread.on('message', done);
      this.thread.postMessage({ id, op: 'lose' } satisfies ToGpuThread);
    });
  }

  /** Ends the GPU thread; the device goes with it. */
  async close(): Promise<void> {
    this.onBroken = undefined;
    this.broken ??= new TroveError('GPU_FAILED', 'The GPU session is closed.');
    await this.thread.terminate();
  }
}

/** A thread's error in words: an Error's message, a device-lost info's reason and message, or JSON. */
function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object') {
    const o = err as { message?: unknown; reason?: unknown };
    const parts = [o.reason, o.message].filter((p): p is string => typeof p === 'string' && p.length > 0);
    if (parts.length > 0) return parts.join(': ');
    try {
      return JSON.stringify(err);
    } catch {
      return 'an unreadable error';
    }
  }
  return String(err);
}
