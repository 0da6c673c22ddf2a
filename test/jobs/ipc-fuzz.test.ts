// The IPC fuzz against the jobs service with a real chain and coordinator behind it: random and
// almost-right requests on every jobs channel must answer with a typed result from the list below
// (never INTERNAL, never a throw), and afterwards the vault is whole and the job still listed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channels, type Channel } from '../../common/ipc/contract.js';
import { sleepDiaryCsv } from '../../common/samples/sleep-diary.js';
import { createRouter, type Router } from '../../main/ipc/router.js';
import { sessionHandlers } from '../../main/ipc/handlers.js';
import { jobsChainConfig } from '../../main/services/jobs/config.js';
import { AppSession } from '../../main/services/session/session.js';
import { startRig, type CoordinatorRig } from '../coordinator/fixtures.js';
import { FAST_KDF, PASSPHRASE } from '../helpers/vault.js';
import { testWorkerLauncher } from '../helpers/worker.js';
import { fuzzer } from '../unit/ipc/fuzz-values.js';
import { DIARY_MAPPING } from './fixtures.js';

/** What the jobs channels may answer to a bad or unlucky request. */
const JOB_CODES = new Set([
  'INVALID_INPUT', 'JOB_NOT_FOUND', 'JOB_NOT_ACTIVE', 'DATASET_NOT_FOUND', 'COLUMN_NOT_FOUND', 'PRIVACY_BUDGET_EXCEEDED',
  'VAULT_LOCKED', 'COORDINATOR_UNREACHABLE', 'COORDINATOR_REJECTED', 'CHAIN_UNREACHABLE', 'UNKNOWN_CHANNEL', 'REVIEW_NOT_FOUND',
]);
const SEED = Number(process.env.TROVE_FUZZ_SEED ?? 0x10b5);
const PER_CHANNEL = 60;

describe('IPC fuzz against the jobs service', () => {
  let rig: CoordinatorRig;
  let dir: string;
  let session: AppSession;
  let router: Router;
  let jobId: string;
  let datasetId: string;
  const internal: string[] = [];

  beforeAll(async () => {
    rig = await startRig({}, { timers: false });
    jobId = (await rig.publish({ rounds: 1 })).jobId;
    dir = mkdtempSync(join(tmpdir(), 'trove-jobs-fuzz-'));
    session = await AppSession.start({
      dataDir: join(dir, 'app'),
      vault: { kdf: FAST_KDF, autoLockMs: null },
      stagePaths: true,
      jobs: { chain: jobsChainConfig(rig.chain.chain.url, rig.chain.deployment), allowLocalNetwork: true, launcher: await testWorkerLauncher() },
    });
    router = createRouter(sessionHandlers(session), { onInternalError: (channel, err) => internal.push(`${channel}: ${String(err)}`) });
    await session.create(PASSPHRASE);
    const file = join(dir, 'diary.csv');
    writeFileSync(file, sleepDiaryCsv(5, 90));
    datasetId = (await session.startImport({ importId: 'fuzz-diary-1', file: session.files.stagePath(file).token, policy: 'skip-rows' })).datasetId!;
    expect((await session.jobsRefresh()).jobs.map((j) => j.jobId)).toEqual([jobId]);
  }, 120_000);
  afterAll(async () => {
    await session?.close();
    await rig?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`answers random and almost-right requests on every jobs channel with a listed code (seed ${SEED})`, { timeout: 300_000 }, async () => {
    const { randomValue, mutate } = fuzzer(SEED);
    const valid: Partial<Record<Channel, Record<string, unknown>>> = {
      'jobs.optIn': { jobId, datasetId, columns: { ...DIARY_MAPPING, mood: 'sleep_hours' } },
      'jobs.optOut': { jobId: '999' },
      'jobs.setRunPolicy': { policy: 'on-power' },
      'jobs.setUseGpu': { useGpu: false },
      'jobs.approveModule': { jobId, sha256: 'ab'.repeat(32) },
      'jobs.setModuleTrust': { sha256: 'cd'.repeat(32), trusted: true },
      'jobs.setReviewResults': { reviewResults: true },
      'jobs.answerReview': { id: '00000000-0000-4000-8000-000000000000', send: false },
    };
    const jobChannels = (Object.keys(channels) as Channel[]).filter((c) => c.startsWith('jobs.'));
    const codes = new Map<string, number>();
    let ok = 0;
    for (const channel of jobChannels) {
      for (let i = 0; i < PER_CHANNEL; i++) {
        const payload = i % 3 === 0 ? randomValue() : mutate(valid[channel] ?? {});
        const result = await router.handle(channel, payload);
        if (result.ok) {
          ok++;
          continue;
        }
        codes.set(result.error.code, (codes.get(result.error.code) ?? 0) + 1);
        expect(JOB_CODES.has(result.error.code), `${channel}: ${result.error.code} (${result.error.message})`).toBe(true);
        expect(result.error.message).not.toMatch(/\n\s+at /);
      }
    }
    console.log(`jobs fuzz seed ${SEED}: ${ok} answered, errors ${JSON.stringify(Object.fromEntries(codes))}`);
    expect(internal).toEqual([]);
    expect(codes.get('INVALID_INPUT')).toBeGreaterThan(PER_CHANNEL);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    // The job is still there, not joined by a mangled request, and the vault is whole.
    const view = await session.jobsList();
    expect(view.jobs.map((j) => j.jobId)).toEqual([jobId]);
    expect(view.jobs[0]!.participation.state).toBe('available');
    expect(session.verifyActivity().ok).toBe(true);
  });
});
