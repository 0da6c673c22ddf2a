// The desktop app's worker launcher (Electron utilityProcess), run with Electron replaced by a
// double whose utility processes are real Node children: the real worker answers over
// process.parentPort, and the real supervisor restarts it after a kill and reports an exhausted
// heap, as with the plain Node launcher.
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { isTroveError } from '../../../common/errors.js';
import type { WorkerTask } from '../../../common/worker-protocol.js';
import { bundledWorkerEntry } from '../../../main/cli/worker-bundle.js';
import { WorkerSupervisor } from '../../../main/services/worker/supervisor.js';
import { forkedUtilities } from './electron-double.js';

vi.mock('electron', () => import('./electron-double.js'));

const { UtilityWorkerLauncher } = await import('../../../main/electron/worker-launcher.js');

let entry: string;
beforeAll(async () => {
  entry = await bundledWorkerEntry();
});

const supervisors: WorkerSupervisor[] = [];
afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stop()));
  forkedUtilities.length = 0;
});

function supervisor(): WorkerSupervisor {
  const s = new WorkerSupervisor({ launcher: new UtilityWorkerLauncher(entry), diagnostics: true, heartbeatTimeoutMs: 30_000, defaultMemoryLimitMb: 512 });
  supervisors.push(s);
  return s;
}

const echo = (value: unknown): WorkerTask => ({ kind: 'diagnostic', action: 'echo', value });

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => undefined,
    (e: unknown) => e,
  );
}

describe('the utilityProcess worker launcher', () => {
  it('starts the worker as a named utility process with the task memory limit and no stdin', async () => {
    const s = supervisor();
    const typed = new Float32Array([1.5, -2, 3]);
    expect(await s.run(echo({ typed }))).toEqual({ kind: 'diagnostic', value: { typed } });
    expect(forkedUtilities).toHaveLength(1);
    const { modulePath, options } = forkedUtilities[0]!;
    expect(modulePath).toBe(entry);
    expect(options.execArgv).toEqual(['--max-old-space-size=512']);
    expect(options.stdio).toEqual(['ignore', 'ignore', 'pipe']);
    expect(options.serviceName).toBe('Trove worker');
    expect(options.env?.TROVE_WORKER_DIAGNOSTICS).toBe('1');
  });

  it('reports a crash and runs the next task on a fresh utility process', async () => {
    const s = supervisor();
    const err = await failure(s.run({ kind: 'diagnostic', action: 'crash' }));
    expect(isTroveError(err) && err.code).toBe('WORKER_CRASHED');
    expect(await s.run(echo('after crash'))).toEqual({ kind: 'diagnostic', value: 'after crash' });
    expect(forkedUtilities).toHaveLength(2);
  });

  it('reports a task that exhausts its heap, from what the utility process wrote to stderr', async () => {
    const s = supervisor();
    const err = await failure(s.run({ kind: 'diagnostic', action: 'exhaust-memory' }, { memoryLimitMb: 96 }));
    expect(isTroveError(err) && err.code).toBe('WORKER_OUT_OF_MEMORY');
    expect(forkedUtilities[0]!.options.execArgv).toEqual(['--max-old-space-size=96']);
    expect(await s.run(echo('next'))).toEqual({ kind: 'diagnostic', value: 'next' });
  });

  it('keeps the diagnostic tasks out of a worker started without diagnostics', async () => {
    const s = new WorkerSupervisor({ launcher: new UtilityWorkerLauncher(entry), heartbeatTimeoutMs: 30_000 });
    supervisors.push(s);
    const err = await failure(s.run({ kind: 'diagnostic', action: 'crash' }));
    expect(isTroveError(err)).toBe(true);
    expect(forkedUtilities[0]!.options.env?.TROVE_WORKER_DIAGNOSTICS).toBeUndefined();
  });
});
