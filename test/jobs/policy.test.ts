// The run policy: kept sealed in the vault, honoured only where the platform reports power and
// idle state, and said so in the view where it does not (the headless host).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobsService, type PlatformState } from '../../main/services/jobs/service.js';
import { WorkerSupervisor } from '../../main/services/worker/supervisor.js';
import type { Vault } from '../../main/services/vault/index.js';
import { PASSPHRASE, newVault, useTempDir } from '../helpers/vault.js';
import { testWorkerLauncher } from '../helpers/worker.js';
import { enrollmentCircuitFiles } from '../../main/services/jobs/circuits.js';

const t = useTempDir();
let supervisor: WorkerSupervisor;
beforeAll(async () => {
  supervisor = new WorkerSupervisor({ launcher: await testWorkerLauncher() });
});
afterAll(async () => {
  await supervisor.stop();
});

function service(vault: Vault, platform?: PlatformState): JobsService {
  // No chain is read in these tests: the policy is the service's own.
  return new JobsService({ vault, supervisor, enrollmentCircuit: enrollmentCircuitFiles(), chain: { rpcUrl: 'http://127.0.0.1:9', chainId: '31337', registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3' }, ...(platform ? { platform } : {}) });
}

describe('the run policy', () => {
  it('on a platform that reports nothing, honours only "always" and says why the others wait', async () => {
    const vault = await newVault(t);
    const jobs = service(vault);
    expect(jobs.list()).toMatchObject({ runPolicy: 'always', platformReports: { power: false, idle: false } });
    expect(jobs.mayRun()).toEqual({ ok: true });
    for (const policy of ['on-power', 'when-idle', 'on-power-and-idle'] as const) {
      await jobs.setRunPolicy(policy);
      const verdict = jobs.mayRun();
      expect(verdict.ok).toBe(false);
      if (!verdict.ok) expect(verdict.reason).toMatch(/does not say .* Choose "always"/);
    }
    await jobs.close();
  });

  it('follows power and idle where the platform reports them, and keeps the choice in the vault', async () => {
    const vault = await newVault(t);
    const state = { onBattery: true, idle: 0 };
    const platform: PlatformState = { onBattery: () => state.onBattery, idleSeconds: () => state.idle };
    const jobs = service(vault, platform);
    const view = await jobs.setRunPolicy('on-power-and-idle');
    expect(view).toMatchObject({ runPolicy: 'on-power-and-idle', platformReports: { power: true, idle: true } });
    expect(jobs.mayRun()).toEqual({ ok: false, reason: 'Waiting for the device to be plugged in.' });
    state.onBattery = false;
    expect(jobs.mayRun()).toEqual({ ok: false, reason: 'Waiting until the device is not in use.' });
    state.idle = 600;
    expect(jobs.mayRun()).toEqual({ ok: true });
    await jobs.close();

    // Sealed in the vault: it is there after locking and unlocking, and the change is in the log.
    vault.lock();
    await vault.unlock(PASSPHRASE);
    const reopened = service(vault, platform);
    expect(reopened.runPolicy).toBe('on-power-and-idle');
    await reopened.close();
    expect(vault.activity().entries.find((e) => e.kind === 'settings.changed')?.summary).toBe('Jobs run only on power and when the device is idle.');
  });
});
