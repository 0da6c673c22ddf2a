// The jobs channels end to end through the IPC router and the app session: a job published on a
// real local chain by the real coordinator shows as a card (checked against the IPC contract), the
// user opts in with a column mapping, the round runs in the background with progress events
// alongside two other contributors, and after a restart the job picks up where it was.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { events, type JobCardValue, type JobsViewValue } from '../../common/ipc/contract.js';
import type { JobDocument } from '../../common/jobs/document.js';
import { sleepDiaryCsv } from '../../common/samples/sleep-diary.js';
import { createRouter } from '../../main/ipc/router.js';
import { sessionHandlers } from '../../main/ipc/handlers.js';
import { jobsChainConfig } from '../../main/services/jobs/config.js';
import { AppSession, type AppSessionOptions } from '../../main/services/session/session.js';
import { uploadFile } from '../../preload/api.js';
import { Contributor, startRig, type CoordinatorRig } from '../coordinator/fixtures.js';
import { FAST_KDF, PASSPHRASE } from '../helpers/vault.js';
import { testWorkerLauncher } from '../helpers/worker.js';
import { DIARY_MAPPING, otherContributors, recordingFetch } from './fixtures.js';

describe('jobs through the app session', () => {
  let rig: CoordinatorRig;
  let job: { jobId: string; document: JobDocument };
  const requests: string[] = [];
  let dir: string;
  let options: AppSessionOptions;

  beforeAll(async () => {
    rig = await startRig({}, { timers: true, startDelayMs: 0 });
    job = await rig.publish({ rounds: 1, minContributors: 3 });
    dir = mkdtempSync(join(tmpdir(), 'trove-jobs-'));
    options = {
      dataDir: join(dir, 'app'),
      vault: { kdf: FAST_KDF, autoLockMs: null },
      jobs: {
        chain: jsonRoundTrip(),
        launcher: await testWorkerLauncher(),
        fetch: recordingFetch(requests),
        // The rig's chain, documents and coordinator are on loopback.
        allowLocalNetwork: true,
        participation: { backoffMs: () => 50, inboxWaitMs: 1_000, maxPollMs: 200, uploadSpreadMs: 200 },
      },
    };
  }, 60_000);

  /** The chain settings as the host reads them: from the deployment file's JSON. */
  function jsonRoundTrip() {
    return jobsChainConfig(rig.chain.chain.url, JSON.parse(JSON.stringify(rig.chain.deployment)));
  }

  afterAll(async () => {
    await rig?.close();
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
    expect(card.coordinator.url).toBe(rig.server.url);

    const enrolled = await otherContributors(rig, job.jobId, job.document, 'session');
    const done = app.changed((c) => c.participation.roundsContributed === 1);
    const joined = await app.call<JobCardValue>('jobs.optIn', { jobId: job.jobId, datasetId: report.datasetId, columns: DIARY_MAPPING });
    // The others wait for their invitation from here: a join slowed by a busy computer must not use up their wait.
    const others = enrolled.round(0);
    expect(joined.participation).toMatchObject({ mapping: { datasetId: report.datasetId, columns: DIARY_MAPPING } });
    expect(['joined', 'waiting', 'working']).toContain(joined.participation.state);
    await done;
    expect((await others).map((o) => o.stage)).toEqual(['done', 'done']);
    expect(app.changes.some((c) => c.participation.round?.step === 'training')).toBe(true);
    await rig.runner.settled();
    expect((await rig.runner.status(job.jobId)).rounds).toMatchObject([{ round: 0, stage: 'closed', invited: 3, included: 3 }]);
    const roundEvents = (await rig.store.events(job.jobId, 0)).length;

    const activity = await app.call<{ entries: { kind: string; summary: string; details?: Record<string, unknown> }[] }>('activity.list', { offset: 0, limit: 100 });
    const consent = activity.entries.find((e) => e.kind === 'job.consent')!;
    expect(consent.summary).toMatch(/^Joined "Sleep, steps and mood" by Sleep & Mood Lab: it reads "sleep_hours", .* each round sends only a masked list of \d+ numbers to the job's coordinator, never rows; it uses [\d.]+ of the privacy budget\.$/);
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
    await app.session.close();
    expect(app.internal).toEqual([]);

    // The job ended with this device's last round, so after a restart it is shown finished and nothing more runs.
    const again = await open();
    await again.call('vault.unlock', { passphrase: PASSPHRASE });
    const resumed = (await again.call<JobsViewValue>('jobs.refresh')).jobs.find((j) => j.jobId === job.jobId)!;
    expect(resumed.participation).toMatchObject({ state: 'finished', roundsContributed: 1 });
    // Nothing more reached the finished round.
    expect(await rig.store.events(job.jobId, 0)).toHaveLength(roundEvents);

    const policy = await again.call<JobsViewValue>('jobs.setRunPolicy', { policy: 'on-power' });
    expect(policy.runPolicy).toBe('on-power');
    expect(policy.platformReports).toEqual({ power: false, idle: false });
    const integrity = await again.call<{ ok: boolean }>('vault.checkIntegrity');
    expect(integrity.ok).toBe(true);
    await again.session.close();
    expect(again.internal).toEqual([]);
  }, 60_000);

  it('leaves a joined job: the coordinator is told, nothing more runs, and the log says so', async () => {
    // Three contributors a round and only this one enrolled: it waits for the first round.
    const second = await rig.publish({ title: 'Sleep and mood, again', rounds: 1, minContributors: 3 });
    const app = await open({ ...options, dataDir: join(dir, 'second') });
    await app.call('vault.create', { passphrase: PASSPHRASE });
    const blob = new Blob([sleepDiaryCsv(4, 60)]);
    const staged = await uploadFile({ name: 'diary.csv', size: blob.size, slice: (a, b) => blob.slice(a, b) }, (c, r) => app.router.handle(c, r));
    if (!staged.ok) throw new Error(staged.error.message);
    const report = await app.call<{ datasetId: string }>('import.start', { importId: 'diary-import-2', file: staged.value.token, policy: 'reject-import' });
    await app.call('jobs.refresh');

    const base = `/v1/jobs/${second.jobId}`;
    const toJob = () => requests.filter((r) => r.includes(`${base}/`));
    const isWaiting = app.changed((c) => c.jobId === second.jobId && c.participation.state === 'waiting');
    await app.call('jobs.optIn', { jobId: second.jobId, datasetId: report.datasetId, columns: DIARY_MAPPING });
    await isWaiting;
    expect(toJob()[0]).toBe(`POST ${base}/enroll`);
    expect(toJob()).toContain(`GET ${base}/round`);
    expect((await new Contributor(rig.server.url, rig.clock.now, rig.enrollmentRef, 'session-reader').client.status(second.jobId)).enrolled).toBe(1);

    const left = await app.call<JobCardValue>('jobs.optOut', { jobId: second.jobId });
    expect(left.participation.state).toBe('left');
    expect(toJob()).toContain(`DELETE ${base}/enroll`);
    expect((await new Contributor(rig.server.url, rig.clock.now, rig.enrollmentRef, 'session-reader').client.status(second.jobId)).enrolled).toBe(0);
    const asked = toJob().length;
    // Leaving twice is refused; the job stays on the list as left.
    await expect(app.call('jobs.optOut', { jobId: second.jobId })).rejects.toMatchObject({ code: 'NOT_ENROLLED' });
    const view = await app.call<JobsViewValue>('jobs.list');
    expect(view.jobs.find((j) => j.jobId === second.jobId)!.participation.state).toBe('left');
    const activity = await app.call<{ entries: { kind: string; summary: string }[] }>('activity.list', { offset: 0, limit: 50 });
    expect(activity.entries[0]).toMatchObject({ kind: 'job.leave', summary: expect.stringMatching(/^Left "Sleep and mood, again"\. Nothing more runs for it on this device\.$/) });
    expect(activity.entries.some((e) => e.kind === 'job.data-granted')).toBe(false);
    await app.session.close();
    expect(toJob().length).toBe(asked);
    expect(app.internal).toEqual([]);
  }, 60_000);
});
