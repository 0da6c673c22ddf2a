// Analytics jobs in the jobs service, on a local chain with the real contracts and the real
// coordinator: discovery lists them, the consent card says what the question computes, each number
// of its output with its bounds, the privacy cost and whether the program is trusted; a program
// neither trusted nor approved cannot be joined (typed error, nothing charged, nobody enrolled)
// until the person approves it by its hash; a coordinator serving another program than the
// document names is refused at join; and results wait for the person when they asked to see them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAnalyticsJobDocument, type AnalyticsJobDocument } from '../../common/analytics/document.js';
import { PUBLISHED_TRUSTED_MODULES } from '../../common/analytics/trusted-modules.js';
import { privacyCostOf } from '../../common/jobs/kinds.js';
import { sleepDiaryCsv } from '../../common/samples/sleep-diary.js';
import { completeJobDocument, publishJobDocument } from '../../coordinator/jobs.js';
import type { SqliteStore } from '../../coordinator/store-sqlite.js';
import { ResultReviews } from '../../main/services/jobs/analytics.js';
import { describeRequests } from '../../main/services/rounds/request-log.js';
import { jobsChainConfig } from '../../main/services/jobs/config.js';
import { JobsService } from '../../main/services/jobs/service.js';
import { enrollmentCircuitFiles } from '../../main/services/jobs/circuits.js';
import { openPrivacyLedger } from '../../main/services/privacy/ledger.js';
import { Vault } from '../../main/services/vault/index.js';
import { WorkerSupervisor } from '../../main/services/worker/supervisor.js';
import { startRig, type CoordinatorRig } from '../coordinator/fixtures.js';
import { assemble, sha256, sleepMeanWat } from '../fixtures/analytics-modules.js';
import { FAST_KDF, PASSPHRASE } from '../helpers/vault.js';
import { testWorkerLauncher } from '../helpers/worker.js';

const HISTOGRAM = {
  kind: 'federated-analytics',
  maxRows: 60,
  computation: { kind: 'histogram', column: 'sleep_hours', edges: [0, 5, 6, 7, 8, 9, 24], groupBy: { column: 'mood', categories: ['low', 'okay', 'good', 'great'] } },
};

function moduleSpec(hash: string) {
  return {
    kind: 'federated-analytics',
    maxRows: 366,
    computation: { kind: 'module', sha256: hash, describes: 'Adds up your hours of sleep and counts the nights.', columns: ['sleep_hours'], output: { length: 2, min: 0, max: 8784 }, maxMemoryPages: 1, timeLimitMs: 5_000 },
  };
}

let rig: CoordinatorRig;
let dir: string;
let vault: Vault;
let supervisor: WorkerSupervisor;
let jobs: JobsService;
let datasetId: string;
let trustedBytes: Uint8Array;
let unknownBytes: Uint8Array;
const ids = { histogram: '', trusted: '', unknown: '', tampered: '' };
const docs: Record<string, AnalyticsJobDocument> = {};
let published = 0;

async function publish(analytics: unknown, module: Uint8Array | null): Promise<{ jobId: string; doc: AnalyticsJobDocument }> {
  const doc = completeJobDocument(
    {
      version: 1,
      title: `Sleep question ${++published}`,
      purpose: 'Only a masked list of numbers leaves your machine each round.',
      researcher: { name: 'Sleep & Mood Lab' },
      columnNotes: { sleep_hours: 'Hours slept the night before' },
      analytics,
      rounds: 2,
      minContributors: 4,
      privacy: { noiseMultiplier: 1, delta: 1e-5 },
      reward: { symbol: 'TUSD', decimals: 18, perRound: '1000', bond: '0', token: await rig.token.getAddress() },
      deadline: Math.floor(Date.now() / 1000) + 30 * 86_400 + published,
      aggregation: { deadlines: { advertiseKeysMs: 15_000, shareKeysMs: 15_000, collectMaskedInputsMs: 30_000, unmaskMs: 15_000 } },
    },
    {
      researcher: await rig.chain.accounts.researcher.getAddress(),
      coordinatorAddress: await rig.chain.accounts.coordinator.getAddress(),
      coordinatorUrl: rig.server.url,
      deployment: rig.chain.deployment,
      nowMs: Date.now(),
    },
  );
  const job = await publishJobDocument({ runner: rig.runner, researcher: rig.chain.accounts.researcher, deployment: rig.chain.deployment, document: doc, module });
  const parsed = parseAnalyticsJobDocument(doc);
  docs[job.jobId] = parsed;
  return { jobId: job.jobId, doc: parsed };
}

beforeAll(async () => {
  rig = await startRig({}, { timers: false });
  dir = mkdtempSync(join(tmpdir(), 'trove-analytics-service-'));
  trustedBytes = await assemble(sleepMeanWat());
  // The same program with one more (unused) function: another hash, on no one's list.
  unknownBytes = await assemble(sleepMeanWat().replace(/\)\s*$/, ' (func $unused))'));
  expect(sha256(trustedBytes)).toBe(PUBLISHED_TRUSTED_MODULES[0]!.sha256);
  ids.histogram = (await publish(HISTOGRAM, null)).jobId;
  ids.trusted = (await publish(moduleSpec(sha256(trustedBytes)), trustedBytes)).jobId;
  ids.unknown = (await publish(moduleSpec(sha256(unknownBytes)), unknownBytes)).jobId;
  ids.tampered = (await publish(moduleSpec(sha256(trustedBytes)), trustedBytes)).jobId;
  // The coordinator now serves another program for this job than its signed document names.
  (rig.store as SqliteStore).db.prepare('UPDATE modules SET bytes = ? WHERE job_id = ?').run(Buffer.from(unknownBytes), ids.tampered);

  vault = await Vault.create(join(dir, 'vault.db'), PASSPHRASE, { kdf: FAST_KDF, autoLockMs: null });
  const file = join(dir, 'diary.csv');
  writeFileSync(file, sleepDiaryCsv(7, 40));
  datasetId = (await vault.importFile(file, { name: 'Sleep diary' })).datasetId!;
  // This person allows a larger budget than the default: the test joins four jobs.
  await (await openPrivacyLedger(vault)).setBudget({ epsilon: 100, delta: 1e-4 });
  supervisor = new WorkerSupervisor({ launcher: await testWorkerLauncher() });
  jobs = new JobsService({ vault, supervisor, enrollmentCircuit: enrollmentCircuitFiles(), chain: jobsChainConfig(rig.chain.chain.url, rig.chain.deployment), allowLocalNetwork: true });
  // As a person presses Refresh: on a busy computer a document may miss one refresh's short budget.
  for (let i = 0; i < 60; i++) {
    const view = await jobs.refresh();
    if (view.jobs.length === Object.keys(ids).length) break;
  }
  expect(jobs.list().hidden).toEqual([]);
  expect(jobs.list().jobs.map((j) => j.jobId).sort()).toEqual(Object.values(ids).sort());
}, 120_000);

afterAll(async () => {
  await jobs?.close();
  await supervisor?.stop();
  vault?.close();
  await rig?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const entries = () => vault.activity(0, 500).entries;
async function charged(jobId: string): Promise<boolean> {
  const ledger = await openPrivacyLedger(vault);
  return ledger.entries.some((e) => e.jobId.endsWith(`/${jobId}`));
}

describe('analytics jobs in the jobs service', () => {
  it('lists a built-in analytics job with its question, each output number with its bounds, and its privacy cost', () => {
    const card = jobs.cardOf(ids.histogram);
    expect(card.analytics?.computes).toBe('Counts how many of your rows fall in each of 6 ranges of sleep_hours, separately for each mood, using up to 60 of your rows.');
    expect(card.analytics?.output).toHaveLength(24);
    expect(card.analytics?.output[0]).toEqual({ label: 'mood low, sleep_hours 0 to 5', min: 0, max: 60 });
    expect(card.analytics?.module).toBeNull();
    expect(card.vectorLength).toBe(24);
    expect(card.columns.map((c) => [c.name, c.role, c.kind, c.note])).toEqual([
      ['sleep_hours', 'read', 'numeric', 'Hours slept the night before'],
      ['mood', 'read', 'categorical', ''],
    ]);
    expect(card.privacy.epsilon).toBeCloseTo(privacyCostOf(docs[ids.histogram]!).epsilon, 9);
    expect(card.resources.summary).toMatch(/^No model is trained\./);
    // A training card has no analytics section: the view's settings start off.
    const view = jobs.list();
    expect(view.analytics.reviewResults).toBe(false);
    expect(view.analytics.trustedModules).toEqual([{ ...PUBLISHED_TRUSTED_MODULES[0], source: 'published' }]);
  });

  it('says whether a program is on the trusted list and who audited it', () => {
    expect(jobs.cardOf(ids.trusted).analytics?.module).toEqual({ sha256: sha256(trustedBytes), trust: 'trusted', name: PUBLISHED_TRUSTED_MODULES[0]!.name, auditedBy: ['Trove maintainers'] });
    expect(jobs.cardOf(ids.unknown).analytics?.module).toEqual({ sha256: sha256(unknownBytes), trust: 'unknown', name: null, auditedBy: [] });
  });

  it('refuses to join an unknown program until it is approved by its hash; the approval is kept and logged', async () => {
    await expect(jobs.optIn(ids.unknown, datasetId, { sleep_hours: 'sleep_hours' })).rejects.toMatchObject({ code: 'ANALYTICS_MODULE_NOT_APPROVED' });
    // Nothing happened: not enrolled with the coordinator, nothing charged, no consent recorded.
    expect(await rig.store.participants(ids.unknown)).toEqual([]);
    expect(await charged(ids.unknown)).toBe(false);
    expect(entries().some((e) => e.kind === 'job.consent')).toBe(false);
    // Only this job's own program can be approved for it.
    await expect(jobs.approveModule(ids.unknown, sha256(trustedBytes))).rejects.toMatchObject({ code: 'INVALID_INPUT' });

    const card = await jobs.approveModule(ids.unknown, sha256(unknownBytes));
    expect(card.analytics?.module?.trust).toBe('approved');
    expect(entries().filter((e) => e.kind === 'job.program-approved').map((e) => e.details?.sha256)).toEqual([sha256(unknownBytes)]);
    expect(jobs.list().analytics.trustedModules.find((m) => m.sha256 === sha256(unknownBytes))?.source).toBe('added');

    // Positive control: the same join now goes through, and charges the job's privacy cost.
    const joined = await jobs.optIn(ids.unknown, datasetId, { sleep_hours: 'sleep_hours' });
    expect(joined.participation.state).toBe('joined');
    expect(await rig.store.participants(ids.unknown)).toHaveLength(1);
    const ledger = await openPrivacyLedger(vault);
    expect(ledger.entries.find((e) => e.jobId.endsWith(`/${ids.unknown}`))?.cost.epsilon).toBeCloseTo(privacyCostOf(docs[ids.unknown]!).epsilon, 9);
    const consent = entries().find((e) => e.kind === 'job.consent');
    expect(consent?.summary).toContain('It computes: A researcher\'s program');
    expect(consent?.details?.program).toEqual({ sha256: sha256(unknownBytes), trust: 'approved' });
  });

  it('a program taken off the trusted list cannot be joined; trusting it again lets the join through', async () => {
    const view = await jobs.setModuleTrust(sha256(trustedBytes), false);
    expect(view.analytics.trustedModules.find((m) => m.sha256 === sha256(trustedBytes))?.source).toBe('removed');
    expect(jobs.cardOf(ids.trusted).analytics?.module?.trust).toBe('unknown');
    await expect(jobs.optIn(ids.trusted, datasetId, { sleep_hours: 'sleep_hours' })).rejects.toMatchObject({ code: 'ANALYTICS_MODULE_NOT_APPROVED' });
    expect(await charged(ids.trusted)).toBe(false);
    await jobs.setModuleTrust(sha256(trustedBytes), true);
    expect(jobs.cardOf(ids.trusted).analytics?.module?.trust).toBe('trusted');
    expect((await jobs.optIn(ids.trusted, datasetId, { sleep_hours: 'sleep_hours' })).participation.state).toBe('joined');
    expect(entries().filter((e) => e.kind === 'settings.changed').map((e) => e.summary)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^You no longer trust "/), expect.stringMatching(/^You trust "/)]),
    );
  });

  it('refuses a program the coordinator serves when it is not the one the signed document names: left again, nothing charged', async () => {
    await expect(jobs.optIn(ids.tampered, datasetId, { sleep_hours: 'sleep_hours' })).rejects.toMatchObject({ code: 'ANALYTICS_MODULE_REFUSED' });
    expect(await charged(ids.tampered)).toBe(false);
    expect((await rig.store.activeParticipants(ids.tampered))).toEqual([]);
    expect(jobs.cardOf(ids.tampered).participation.state).toBe('available');
  });

  it('maps a built-in job\'s columns by kind: numbers where it counts values, categories where it groups', async () => {
    await expect(jobs.optIn(ids.histogram, datasetId, { sleep_hours: 'mood', mood: 'sleep_hours' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(jobs.optIn(ids.histogram, datasetId, { sleep_hours: 'sleep_hours', mood: 'steps' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect((await jobs.optIn(ids.histogram, datasetId, { sleep_hours: 'sleep_hours', mood: 'mood' })).participation.state).toBe('joined');
  });

  it('turns "show me each result before it is sent" on and keeps it', async () => {
    expect((await jobs.setReviewResults(true)).analytics.reviewResults).toBe(true);
    expect(entries()[0]?.summary).toBe('Trove shows you each analytics result before it is sent, and sends it only if you agree.');
  });
});

describe('results waiting for review', () => {
  const doc = () => docs[ids.histogram]!;
  const review = (round: number) => ({ jobId: ids.histogram, round, title: 'Sleep', lines: ['…', 'Before it leaves, random noise (typically ±60) is added.'], output: Array.from({ length: 24 }, (_, i) => i % 3) });

  it('shows the exact numbers with their labels, and resolves with the person\'s answer', async () => {
    const seen: number[] = [];
    const reviews = new ResultReviews((list) => seen.push(list.length));
    const answer = reviews.ask(doc(), review(0));
    const [waiting] = reviews.list();
    expect(waiting!.values[1]).toEqual({ label: 'mood low, sleep_hours 5 to 6', value: 1 });
    expect(waiting!.noise).toBe('Before it leaves, random noise (typically ±60) is added.');
    reviews.answer(waiting!.id, false);
    expect(await answer).toBe(false);
    expect(reviews.list()).toEqual([]);
    expect(seen).toEqual([1, 0]);
    // An answer to a review that is gone is a typed error, not a send.
    expect(() => reviews.answer(waiting!.id, true)).toThrow(expect.objectContaining({ code: 'REVIEW_NOT_FOUND' }));
  });

  it('withdraws a review when its round ends first: cancelled, not declined', async () => {
    const reviews = new ResultReviews(() => undefined);
    const ended = new AbortController();
    const answer = reviews.ask(doc(), review(1), ended.signal);
    expect(reviews.list()).toHaveLength(1);
    ended.abort();
    await expect(answer).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(reviews.list()).toEqual([]);
    const stopped = reviews.ask(doc(), review(2));
    reviews.withdraw(ids.histogram);
    await expect(stopped).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});

describe('the requests of an analytics round in Activity', () => {
  const request = (path: string) => ({ method: 'GET', path, status: 200, sentBytes: 10, receivedBytes: 20, at: 0 });
  it('names the researcher\'s program fetched, and no model; a training round still names its model', () => {
    const requests = [request('/v1/jobs/1/module'), request('/v1/jobs/1/round')];
    const analytics = describeRequests(requests, { origin: 'http://127.0.0.1:1', round: 0, title: 'Sleep', analytics: true }).summary;
    expect(analytics).toContain("the researcher's program fetched once");
    expect(analytics).not.toContain('model');
    expect(describeRequests([request('/v1/jobs/1/round')], { origin: 'http://127.0.0.1:1', round: 0, title: 'Sleep' }).summary).toContain('the model fetched 0 times');
  });
});
