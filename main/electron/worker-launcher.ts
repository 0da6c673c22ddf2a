// The desktop app's worker: an Electron utilityProcess behind the same launcher interface as the
// plain Node child (main/services/worker/launcher.ts). The packaged app turns the RunAsNode fuse
// off, which disables child_process.fork from the main process; a utility process is Electron's
// way to run a standalone Node process, and it ends with the app.
import { utilityProcess, type UtilityProcess } from 'electron';
import { fileURLToPath } from 'node:url';
import type { ToWorker } from '../../common/worker-protocol.js';
import type { WorkerExit, WorkerLauncher, WorkerLaunchOptions, WorkerProcess } from '../services/worker/launcher.js';
import { residentBytesOf } from '../services/worker/resident-memory.js';

const STDERR_TAIL_BYTES = 16 * 1024;

/** The compiled worker entry next to this file in dist/ (the app always runs from dist/). */
export function appWorkerEntry(): string {
  return fileURLToPath(new URL('../../worker/main.js', import.meta.url));
}

export class UtilityWorkerLauncher implements WorkerLauncher {
  constructor(private readonly entry: string = appWorkerEntry()) {}

  launch(options: WorkerLaunchOptions): WorkerProcess {
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (options.diagnostics) env.TROVE_WORKER_DIAGNOSTICS = '1';
    else delete env.TROVE_WORKER_DIAGNOSTICS;
    const child = utilityProcess.fork(this.entry, [], {
      execArgv: [`--max-old-space-size=${Math.round(options.memoryLimitMb)}`],
      stdio: ['ignore', 'ignore', 'pipe'],
      serviceName: 'Trove worker',
      env,
    });
    return new UtilityWorkerProcess(child);
  }
}

class UtilityWorkerProcess implements WorkerProcess {
  private tail = '';
  private exited = false;

  constructor(private readonly child: UtilityProcess) {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => this.keep(chunk));
    // V8's fatal errors (running out of heap among them) arrive as an 'error' event; keep its kind
    // and location where the supervisor looks for how the process ended.
    child.on('error', (type, location) => this.keep(`\n${type} at ${location}\n`));
    child.on('exit', () => (this.exited = true));
  }

  private keep(text: string): void {
    this.tail = (this.tail + text).slice(-STDERR_TAIL_BYTES);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  send(message: ToWorker): void {
    // A send racing the process's death is dropped; the exit handler reports the death.
    if (!this.exited) this.child.postMessage(message);
  }

  onMessage(handler: (message: unknown) => void): void {
    this.child.on('message', handler);
  }

  onExit(handler: (exit: WorkerExit) => void): void {
    // A utility process reports only its exit code; a kill shows as a non-zero code.
    this.child.on('exit', (code) => handler({ code, signal: null }));
  }

  stderrTail(): string {
    return this.tail;
  }

  kill(): void {
    if (!this.exited) this.child.kill();
  }

  residentBytes(): Promise<number | null> {
    const pid = this.child.pid;
    return pid === undefined || this.exited ? Promise.resolve(null) : residentBytesOf(pid);
  }
}
