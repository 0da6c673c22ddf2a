// Shutting down in order: the jobs stop writing before the vault closes, and the session is not
// closed until its worker processes have ended. Each step is held open on purpose, so a close
// that raced ahead of it would be seen.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppSession } from '../../../main/services/session/session.js';
import { JobsService } from '../../../main/services/jobs/service.js';
import { Vault } from '../../../main/services/vault/index.js';
import { WorkerSupervisor } from '../../../main/services/worker/supervisor.js';
import { freeLoopbackPort } from '../../helpers/loopback.js';

const FAST_KDF = { opsLimit: 1, memLimit: 8 * 1024 * 1024 };
const PASSPHRASE = 'lantern orbit maple 9';

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'trove-shutdown-'));
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

async function sessionWithJobs(): Promise<AppSession> {
  // A loopback port nothing listens on: the jobs service starts, finds no chain, and keeps running.
  const chain = { rpcUrl: `http://127.0.0.1:${await freeLoopbackPort()}`, chainId: '31337', registry: '0x' + '11'.repeat(20) };
  const s = await AppSession.start({ dataDir: dir, vault: { kdf: FAST_KDF }, jobs: { chain, allowLocalNetwork: true } });
  await s.create(PASSPHRASE);
  // The jobs service (and with it the worker supervisor) is running once the list is read.
  expect((await s.jobsList()).chain.reachable).toBe(false);
  return s;
}

describe('shutting down', () => {
  it('closes the vault only after the jobs service has stopped', async () => {
    const s = await sessionWithJobs();
    const order: string[] = [];
    const held = gate();
    const jobsClose = JobsService.prototype.close;
    vi.spyOn(JobsService.prototype, 'close').mockImplementation(async function (this: JobsService) {
      order.push('jobs stopping');
      await held.promise;
      await jobsClose.call(this);
      order.push('jobs stopped');
    });
    const vaultClose = Vault.prototype.close;
    vi.spyOn(Vault.prototype, 'close').mockImplementation(function (this: Vault) {
      order.push('vault closed');
      vaultClose.call(this);
    });
    const closing = s.close();
    await vi.waitFor(() => expect(order).toContain('jobs stopping'));
    // The jobs service is still stopping: the vault must still be open under it.
    expect(order).not.toContain('vault closed');
    held.open();
    await closing;
    // Every stop of the jobs service finished, and only then did the vault close.
    expect(order.at(-1)).toBe('vault closed');
    expect(order.filter((o) => o === 'vault closed')).toHaveLength(1);
    expect(order.filter((o) => o === 'jobs stopped')).toHaveLength(order.filter((o) => o === 'jobs stopping').length);
  });

  it('is not closed until the worker processes have ended', async () => {
    const s = await sessionWithJobs();
    const held = gate();
    const stop = WorkerSupervisor.prototype.stop;
    let stopped = false;
    vi.spyOn(WorkerSupervisor.prototype, 'stop').mockImplementation(async function (this: WorkerSupervisor) {
      await held.promise;
      await stop.call(this);
      stopped = true;
    });
    let closed = false;
    const closing = s.close().then(() => (closed = true));
    await vi.waitFor(() => expect(WorkerSupervisor.prototype.stop).toHaveBeenCalled());
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    held.open();
    await closing;
    expect(stopped).toBe(true);
  });
});
