// Starting a worker process, behind one interface: plain Node children here (tests, the headless
// host, the CLI); main/electron/worker-launcher.ts implements it on Electron's utilityProcess with the
// same shape (fork with execArgv, postMessage, exit, stderr).
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FromWorker, ToWorker } from '../../../common/worker-protocol.js';
import { residentBytesOf } from './resident-memory.js';

export interface WorkerLaunchOptions {
  /** V8 old-space limit of the new process: a task that needs more ends in an out-of-memory exit. */
  memoryLimitMb: number;
  /** Lets the worker run diagnostic tasks (crash, hang, exhaust memory). Tests only. */
  diagnostics?: boolean;
}

export interface WorkerExit {
  code: number | null;
  signal: string | null;
}

export interface WorkerProcess {
  readonly pid: number | undefined;
  send(message: ToWorker): void;
  onMessage(handler: (message: unknown) => void): void;
  onExit(handler: (exit: WorkerExit) => void): void;
  /** The last few kilobytes the process wrote to stderr (how V8 reports running out of heap). */
  stderrTail(): string;
  /** Ends the process at once (SIGKILL or the platform's equivalent). */
  kill(): void;
  /** Its resident memory measured from outside, in bytes; null when this platform cannot tell. */
  residentBytes?(): Promise<number | null>;
}

export interface WorkerLauncher {
  launch(options: WorkerLaunchOptions): WorkerProcess;
}

const STDERR_TAIL_BYTES = 16 * 1024;

/** Where the worker's entry is, whether running from TypeScript sources or from dist/. */
export function defaultWorkerEntry(): { entry: string; execArgv: string[] } {
  const compiled = fileURLToPath(new URL('../../../worker/main.js', import.meta.url));
  if (existsSync(compiled)) return { entry: compiled, execArgv: [] };
  // Running from sources (tests, development): load the TypeScript entry through tsx.
  return { entry: fileURLToPath(new URL('../../../worker/main.ts', import.meta.url)), execArgv: ['--import', 'tsx'] };
}

export class NodeWorkerLauncher implements WorkerLauncher {
  constructor(private readonly where: { entry: string; execArgv: string[] } = defaultWorkerEntry()) {}

  launch(options: WorkerLaunchOptions): WorkerProcess {
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (options.diagnostics) env.TROVE_WORKER_DIAGNOSTICS = '1';
    else delete env.TROVE_WORKER_DIAGNOSTICS;
    const child = fork(this.where.entry, [], {
      execArgv: [...this.where.execArgv, `--max-old-space-size=${Math.round(options.memoryLimitMb)}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env,
    });
    return new NodeWorkerProcess(child);
  }
}

class NodeWorkerProcess implements WorkerProcess {
  private tail = '';

  constructor(private readonly child: ChildProcess) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.tail = (this.tail + chunk).slice(-STDERR_TAIL_BYTES);
    });
    // A send racing the child's death must not throw in the main process.
    child.on('error', () => undefined);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(message: ToWorker): void {
    if (this.child.connected) this.child.send(message);
  }

  onMessage(handler: (message: unknown) => void): void {
    this.child.on('message', handler);
  }

  onExit(handler: (exit: WorkerExit) => void): void {
    // 'close' (not 'exit'): stderr has been read to the end by then.
    this.child.on('close', (code, signal) => handler({ code, signal }));
  }

  stderrTail(): string {
    return this.tail;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  residentBytes(): Promise<number | null> {
    return this.child.pid === undefined ? Promise.resolve(null) : residentBytesOf(this.child.pid);
  }
}

export type { FromWorker };
