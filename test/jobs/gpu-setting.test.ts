// The "train on the GPU" setting: on by default, kept in the vault, and carried to the worker,
// which then skips every GPU backend and says so in the job's progress.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainingJobSpec } from '../../common/jobspec.js';
import type { FromWorker } from '../../common/worker-protocol.js';
import { JobsService } from '../../main/services/jobs/service.js';
import { WorkerSupervisor } from '../../main/services/worker/supervisor.js';
import type { Vault } from '../../main/services/vault/index.js';
import { TaskRunner } from '../../worker/task-runner.js';
import { healthSpec, healthTable } from '../fixtures/training-data.js';
import { newVault, useTempDir } from '../helpers/vault.js';
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

function service(vault: Vault): JobsService {
  return new JobsService({ vault, supervisor, enrollmentCircuit: enrollmentCircuitFiles(), chain: { rpcUrl: 'http://127.0.0.1:9', chainId: '31337', registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } });
}

describe('the GPU setting', () => {
  it('is on by default, and turning it off is kept in the vault', async () => {
    const vault = await newVault(t);
    const jobs = service(vault);
    expect(jobs.list().useGpu).toBe(true);
    expect((await jobs.setUseGpu(false)).useGpu).toBe(false);
    await jobs.close();
    // a new service over the same vault reads the choice back
    const again = service(vault);
    expect(again.list().useGpu).toBe(false);
    expect((await again.setUseGpu(true)).useGpu).toBe(true);
    await again.close();
  });

  it('reaches the worker: with the GPU off, no GPU backend is tried and the progress says so', async () => {
    const table = healthTable(200, 3);
    const spec = parseTrainingJobSpec(healthSpec({ epochs: 1 }));
    const posted: FromWorker[] = [];
    const runner = new TaskRunner({
      post: (m) => posted.push(m),
      diagnostics: false,
      data: { open: () => Promise.resolve({ rows: table.rows, release: () => undefined }) },
    });
    const reasonOf = async (taskId: string, useGpu: boolean | undefined): Promise<string> => {
      const finished = new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (posted.some((m) => (m.type === 'result' || m.type === 'error') && m.taskId === taskId)) {
            clearInterval(check);
            resolve();
          }
        }, 20);
      });
      runner.handle({ type: 'run', taskId, task: { kind: 'train-local', spec, globalWeights: null, data: { kind: 'inline', rows: table.rows }, ...(useGpu === undefined ? {} : { useGpu }) } });
      await finished;
      expect(posted.find((m) => m.type === 'result' && m.taskId === taskId)).toBeDefined();
      const m = posted.find((p) => p.type === 'progress' && p.taskId === taskId && p.progress.kind === 'backend');
      return m && m.type === 'progress' && m.progress.kind === 'backend' ? m.progress.backend.reason : '';
    };
    expect(await reasonOf('off', false)).toContain('webgpu turned off in Settings');
    // positive control: left on, the GPU step is tried (and reports its own reason)
    expect(await reasonOf('on', undefined)).not.toContain('turned off');
  }, 60_000);
});
