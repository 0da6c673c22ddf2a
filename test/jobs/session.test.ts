// The jobs channels end to end through the IPC router and the app session: a job published on a
// real local chain shows as a card (checked against the IPC contract), the user opts in with a
// column mapping, the round runs in the background with progress events, and after a restart
// the job picks up where it was.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, type JobCardValue, type JobsViewValue } from '../../common/ipc/contract.js';
import { sleepDiaryCsv } from '../../common/samples/sleep-diary.js';
import { createRouter } from '../../main/ipc/router.js';
import { sessionHandlers } from '../../main/ipc/handlers.js';
import { jobsChainConfig } from '../../main/services/jobs/config.js';
import { AppSession, type AppSessionOptions } from '../../main/services/session/session.js';
import { uploadFile } from '../../preload/api.js';
import { startTroveChain, type TroveChain } from '../fixtures/trove-chain.js';
import { FAST_KDF, PASSPHRASE } from '../helpers/vault.js';
import { testWorkerLauncher } from '../helpers/worker.js';
import { DIARY_MAPPING, DocumentServer, deployToken, publishJob, sleepJob, type Published } from './fixtures.js';
import { TestCoordinator } from './test-coordinator.js';

describe('jobs through the app session', () => {
  let chain: TroveChain;
  const docs = new DocumentServer();
  let coordinator: TestCoordinator;
  let job: Published;
  let dir: string;
  let options: AppSessionOptions;

  beforeAll(async () => {
    chain = await startTroveChain();
    await docs.start();
    const token = await (await deployToken(chain)).getAddress();
    const block = await chain.provider.getBlock('latest');
    const base = {
      researcher: await chain.accounts.researcher.getAddress(),
      token,
      chainId: chain.chainId.toString(),
      deadline: block!.timestamp + 30 * 86_400,
    };
    const placeholder = sleepJob({ ...base, coordinator: { url: 'http://127.0.0.1:1', address: Wallet.createRandom().address } });
    coordinator = await new TestCoordinator(placeholder, chain.chainId.toString(), '0').start();
    const document = sleepJob({ ...base, coordinator: { url: coordinator.url, address: await chain.accounts.coordinator.getAddress() } });
    job = await publishJob(chain, docs, document);
    coordinator.doc = document;
    coordinator.jobId = job.jobId;
    dir = mkdtempSync(join(tmpdir(), 'trove-jobs-'));
    options = {
      dataDir: join(dir, 'app'),
      vault: { kdf: FAST_KDF, autoLockMs: null },
      jobs: {
        chain: jsonRoundTrip(),
        launcher: await testWorkerLauncher(),
        participation: { backoffMs: () => 50, inboxWaitMs: 1_000, maxPollMs: 200 },
      },
    };
  }, 60_000);

  /** The chain settings as the host reads them: from the deployment file's JSON. */
  function jsonRoundTrip() {
    return jobsChainConfig(chain.chain.url, JSON.parse(JSON.stringify(chain.deployment)));
  }

  afterAll(async () => {
    await coordinator?.close();
    await docs.close();
    await chain?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function open(opts: AppSessionOptions = options) {
    const session = await AppSession.start(opts);
    const internal: string[] = [];
    const router = createRouter(sessionHandlers(session), { onInternalError: (channel, err) => internal.push(`${channel}: ${String(err)}`) });
    const call = async <T>(channel: string, request: unknown = {}): Promise<T> => {
      const r = await router.handle(channel, request);
      if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
      return r.value as T;
    };
    const changes: JobCardValue[] = [];
    const waiters: { match: (c: JobCardValue) => boolean; resolve: (c: JobCardValue) => void }[] = [];
    session.onEvent((event, payload) => {
      if (event !== 'jobs.changed') return;
      // Every event must be one the renderer's contract accepts.
      const card = events['jobs.changed'].parse(payload).job;
      changes.push(card);
      for (const w of [...waiters]) {
        if (!w.match(card)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(card);
      }
    });
    const changed = (match: (c: JobCardValue) => boolean) =>
      new Promise<JobCardValue>((resolve) => {
        const seen = changes.find(match);
        if (seen) resolve(seen);
        else waiters.push({ match, resolve });
      });
    return { session, router, call, internal, changes, changed };
  }

  it('shows the job, joins it with a mapping, runs its round, and resumes after a restart', async () => {
    const app = await open();
    await app.call('vault.create', { passphrase: PASSPHRASE });
    const blob = new Blob([sleepDiaryCsv(3, 200)]);
    const staged = await uploadFile({ name: 'diary.csv', size: blob.size, slice: (a, b) => blob.slice(a, b) }, (c, r) => app.router.handle(c, r));
    if (!staged.ok) throw new Error(staged.error.message);
    const report = await app.call<{ datasetId: string }>('import.start', { importId: 'diary-import-1', file: staged.value.token, policy: 'reject-import' });

    const view = await app.call<JobsViewValue>('jobs.refresh');
    expect(view.chain.reachable).toBe(true);
    const card = view.jobs.find((j) => j.jobId === job.jobId)!;
    expect(card.participation.state).toBe('available');
    expect(card.coordinator.url).toBe(coordinator.url);

    const done = app.changed((c) => c.participation.roundsContributed === 1);
    const joined = await app.call<JobCardValue>('jobs.optIn', { jobId: job.jobId, datasetId: report.datasetId, columns: DIARY_MAPPING });
    expect(joined.participation).toMatchObject({ mapping: { datasetId: report.datasetId, columns: DIARY_MAPPING } });
    expect(['joined', 'waiting', 'working']).toContain(joined.participation.state);
    await done;
    expect(app.changes.some((c) => c.participation.round?.step === 'training')).toBe(true);
    expect(coordinator.result!.contributors).toEqual([0, 1, 2]);

    const activity = await app.call<{ entries: { kind: string; summary: string; details?: Record<string, unknown> }[] }>('activity.list', { offset: 0, limit: 100 });
    const consent = activity.entries.find((e) => e.kind === 'job.consent')!;
    expect(consent.summary).toMatch(/^Joined "Sleep and mood" by Sleep Lab: it reads "sleep_hours", .* each round sends a masked vector of \d+ numbers .* never rows/);
    expect(consent.details).toMatchObject({ job: job.jobId, dataset: report.datasetId, columns: DIARY_MAPPING });
    // The privacy cost is charged: the card now counts it as spent, by this job and no earlier one.
    const after = (await app.call<JobsViewValue>('jobs.list')).jobs.find((j) => j.jobId === job.jobId)!;
    // (composed at the budget's delta, which is looser than the job's own, so it counts for less)
    expect(view.jobs.find((j) => j.jobId === job.jobId)!.privacy.spentEpsilon).toBe(0);
    expect(after.privacy).toMatchObject({ fits: true, spentEpsilon: 0 });
    expect(after.privacy.afterEpsilon).toBeGreaterThan(0);
    expect(after.privacy.afterEpsilon).toBeLessThanOrEqual(after.privacy.epsilon);

    // Locking stops the jobs; the channels then ask for the passphrase.
    await app.call('vault.lock');
    await expect(app.call('jobs.list')).rejects.toMatchObject({ code: 'VAULT_LOCKED' });
    app.session.close();
    expect(app.internal).toEqual([]);

    // After a restart the joined job resumes at the coordinator's current round (all done now).
    const again = await open();
    const finished = again.changed((c) => c.jobId === job.jobId && c.participation.state === 'finished');
    await again.call('vault.unlock', { passphrase: PASSPHRASE });
    const resumed = await finished;
    expect(resumed.participation.roundsContributed).toBe(1);
    expect(coordinator.posts).toHaveLength(4);

    const policy = await again.call<JobsViewValue>('jobs.setRunPolicy', { policy: 'on-power' });
    expect(policy.runPolicy).toBe('on-power');
    expect(policy.platformReports).toEqual({ power: false, idle: false });
    const integrity = await again.call<{ ok: boolean }>('vault.checkIntegrity');
    expect(integrity.ok).toBe(true);
    again.session.close();
    expect(again.internal).toEqual([]);
  }, 60_000);

  it('leaves a joined job: the coordinator is told, nothing more runs, and the log says so', async () => {
    const block = await chain.provider.getBlock('latest');
    const waiting = await new TestCoordinator(job.document, chain.chainId.toString(), '0', { waiting: true }).start();
    try {
      const document = sleepJob({
        researcher: await chain.accounts.researcher.getAddress(),
        token: job.document.reward.token,
        chainId: chain.chainId.toString(),
        deadline: block!.timestamp + 30 * 86_400,
        title: 'Sleep and mood, again',
        coordinator: { url: waiting.url, address: await chain.accounts.coordinator.getAddress() },
      });
      const second = await publishJob(chain, docs, document);
      waiting.doc = document;
      waiting.jobId = second.jobId;
      const app = await open({ ...options, dataDir: join(dir, 'second') });
      await app.call('vault.create', { passphrase: PASSPHRASE });
      const blob = new Blob([sleepDiaryCsv(4, 60)]);
      const staged = await uploadFile({ name: 'diary.csv', size: blob.size, slice: (a, b) => blob.slice(a, b) }, (c, r) => app.router.handle(c, r));
      if (!staged.ok) throw new Error(staged.error.message);
      const report = await app.call<{ datasetId: string }>('import.start', { importId: 'diary-import-2', file: staged.value.token, policy: 'reject-import' });
      await app.call('jobs.refresh');

      const roundRequest = `GET /v1/jobs/${second.jobId}/round`;
      const polled = new Promise<string>((resolve) => {
        const seen = (r: string): void => {
          if (r !== roundRequest) return;
          waiting.off('request', seen);
          resolve(r);
        };
        waiting.on('request', seen);
      });
      const isWaiting = app.changed((c) => c.jobId === second.jobId && c.participation.state === 'waiting');
      await app.call('jobs.optIn', { jobId: second.jobId, datasetId: report.datasetId, columns: DIARY_MAPPING });
      expect(await polled).toBe(roundRequest);
      expect(waiting.requests[0]).toBe(`POST /v1/jobs/${second.jobId}/enroll`);
      await isWaiting;

      const left = await app.call<JobCardValue>('jobs.optOut', { jobId: second.jobId });
      expect(left.participation.state).toBe('left');
      expect(waiting.requests).toContain(`DELETE /v1/jobs/${second.jobId}/enroll`);
      const asked = waiting.requests.length;
      // Leaving twice is refused; the job stays on the list as left.
      await expect(app.call('jobs.optOut', { jobId: second.jobId })).rejects.toMatchObject({ code: 'NOT_ENROLLED' });
      const view = await app.call<JobsViewValue>('jobs.list');
      expect(view.jobs.find((j) => j.jobId === second.jobId)!.participation.state).toBe('left');
      const activity = await app.call<{ entries: { kind: string; summary: string }[] }>('activity.list', { offset: 0, limit: 50 });
      expect(activity.entries[0]).toMatchObject({ kind: 'job.leave', summary: expect.stringMatching(/^Left "Sleep and mood, again"\. Nothing more runs for it on this device\.$/) });
      expect(activity.entries.some((e) => e.kind === 'job.data-granted')).toBe(false);
      app.session.close();
      expect(waiting.requests.length).toBe(asked);
      expect(app.internal).toEqual([]);
    } finally {
      await waiting.close();
    }
  }, 60_000);
});
