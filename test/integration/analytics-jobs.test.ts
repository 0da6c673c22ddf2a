// Compute-to-data whole: a researcher publishes two analytics jobs on a local chain (the built-in
// histogram of sleep hours by mood, and the example WebAssembly module that sums sleep hours),
// and ten contributors, each with a real vault of their own diary, take part through the real
// coordinator over HTTP. Each computes the job's question in a real worker process, adds its
// share of the DP noise, and sends it masked by SecAgg+; in each of two rounds two contributors
// leave after sharing their keys. The coordinator must sum exactly the others, the round must
// close on-chain, and the aggregate it publishes must match the true aggregate of the survivors'
// diaries within the error it states. Diaries come from a seed that is printed for replay.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAnalyticsJobDocument, type AnalyticsJobDocument } from '../../common/analytics/document.js';
import { CoordinatorClient } from '../../common/jobs/client.js';
import { TroveError } from '../../common/errors.js';
import { sleepDiary, sleepDiaryCsv, MOODS, type DiaryDay } from '../../common/samples/sleep-diary.js';
import { completeJobDocument, publishJobDocument } from '../../coordinator/jobs.js';
import type { RoundAggregate } from '../../coordinator/store.js';
import { deriveJobIdentity, type JobIdentity } from '../../main/services/jobs/identity.js';
import { openPrivacyLedger } from '../../main/services/privacy/ledger.js';
import { JobParticipation } from '../../main/services/rounds/participation.js';
import { Vault } from '../../main/services/vault/index.js';
import { WorkerSupervisor } from '../../main/services/worker/supervisor.js';
import { privacyCostOf } from '../../common/jobs/kinds.js';
import { passMaskedInputDeadline, startRig, until, type CoordinatorRig } from '../coordinator/fixtures.js';
import { assemble, sha256, sleepMeanWat } from '../fixtures/analytics-modules.js';
import { FAST_KDF, PASSPHRASE } from '../helpers/vault.js';
import { testWorkerLauncher } from '../helpers/worker.js';
import { DIARY_MAPPING } from '../jobs/fixtures.js';
import { proveEnrollment } from '../fixtures/enrollment-proof.js';

const SEED = Number(process.env.TROVE_TEST_SEED ?? 1414);
const CONTRIBUTORS = 10;
const DAYS = 30;
const EDGES = [0, 5, 6, 7, 8, 9, 24];

const dir = mkdtempSync(join(tmpdir(), 'trove-analytics-jobs-'));
let rig: CoordinatorRig;
let moduleBytes: Uint8Array;

interface Person {
  name: number;
  vault: Vault;
  datasetId: string;
  diary: DiaryDay[];
  /** Each person's own worker, as each runs their own app: a module job starts a fresh one per round. */
  supervisor: WorkerSupervisor;
}
const people: Person[] = [];

beforeAll(async () => {
  console.log(`analytics jobs test seed ${SEED} (TROVE_TEST_SEED=${SEED} replays it)`);
  // The coordinator's own timers start rounds and close stages, as in production.
  // Everyone enrolls at once, within the start delay, so each round invites all ten.
  rig = await startRig({}, { timers: true, startDelayMs: 8_000 });
  const launcher = await testWorkerLauncher();
  moduleBytes = await assemble(sleepMeanWat());
  for (let i = 0; i < CONTRIBUTORS; i++) {
    const vault = await Vault.create(join(dir, `vault-${i}.db`), PASSPHRASE, { kdf: FAST_KDF, autoLockMs: null });
    const file = join(dir, `diary-${i}.csv`);
    writeFileSync(file, sleepDiaryCsv(SEED + i, DAYS));
    const report = await vault.importFile(file, { name: 'Sleep diary' });
    people.push({ name: i, vault, datasetId: report.datasetId!, diary: sleepDiary(SEED + i, DAYS), supervisor: new WorkerSupervisor({ launcher, defaultMemoryLimitMb: 256 }) });
    // These people allow a larger privacy budget than the default, for the floor's noise below.
    await (await openPrivacyLedger(vault)).setBudget({ epsilon: 200, delta: 1e-4 });
  }
  await startJobs();
}, 180_000);

afterAll(async () => {
  for (const p of people) {
    await p.supervisor.stop();
    p.vault.close();
  }
  await rig?.close();
  rmSync(dir, { recursive: true, force: true });
});

let published = 0;
async function publish(analytics: unknown, module: Uint8Array | null, more: { minContributors?: number; advertiseKeysMs?: number } = {}): Promise<{ jobId: string; doc: AnalyticsJobDocument }> {
  const doc = completeJobDocument(
    {
      version: 1,
      title: 'Sleep and mood',
      purpose: 'Only a masked list of numbers leaves your machine each round.',
      researcher: { name: 'Sleep & Mood Lab' },
      analytics,
      rounds: 2,
      minContributors: more.minContributors ?? 4,
      // The floor's noise (0.3): at ten people a round's noise is still the size of its signal.
      privacy: { noiseMultiplier: 0.3, delta: 1e-5 },
      reward: { symbol: 'TUSD', decimals: 18, perRound: '1000', bond: '0', token: await rig.token.getAddress() },
      deadline: Math.floor(rig.clock.now() / 1000) + 30 * 86_400 + ++published,
      // The two who leave never send their masked input: the round waits this long for it.
      aggregation: { deadlines: { advertiseKeysMs: more.advertiseKeysMs ?? 90_000, shareKeysMs: 30_000, collectMaskedInputsMs: 30_000, unmaskMs: 30_000 } },
    },
    {
      researcher: await rig.chain.accounts.researcher.getAddress(),
      coordinatorAddress: await rig.chain.accounts.coordinator.getAddress(),
      coordinatorUrl: rig.server.url,
      deployment: rig.chain.deployment,
      nowMs: rig.clock.now(),
    },
  );
  const job = await publishJobDocument({ runner: rig.runner, researcher: rig.chain.accounts.researcher, deployment: rig.chain.deployment, document: doc, module });
  return { jobId: job.jobId, doc: parseAnalyticsJobDocument(doc) };
}

/** Each person joins (privacy budget charged as the app does) and takes part; two leave in each round. */
async function runJob(
  jobId: string,
  doc: AnalyticsJobDocument,
  leaving: (round: number) => number[],
  options: { who?: Person[]; review?: (round: number) => boolean } = {},
) {
  const identities = new Map<number, JobIdentity>();
  const running: JobParticipation[] = [];
  const reviewed: number[][] = [];
  const enrollments: (() => Promise<unknown>)[] = [];
  const who = options.who ?? people;
  for (const person of who) {
    const identity = await deriveJobIdentity(person.vault, { chainId: doc.chainId, registry: rig.chain.deployment.contracts.JobRegistry, jobId });
    identities.set(person.name, identity);
    const ledger = await openPrivacyLedger(person.vault);
    await ledger.charge(`job:${jobId}`, privacyCostOf(doc), new Date(), doc.rounds);
    const client = new CoordinatorClient({ baseUrl: rig.server.url, timeoutMs: 30_000 });
    // Proved before anyone enrolls, so that all enroll within the round's start delay.
    const enrollment = identity.enrollment(await proveEnrollment(identity.semaphore, rig.enrollmentRef, jobId, identity.signingKeyHex));
    enrollments.push(() => client.enroll(jobId, identity.signing, enrollment));
    const p = new JobParticipation({
      jobId,
      chainId: doc.chainId,
      document: doc,
      identity,
      client,
      vault: person.vault,
      supervisor: person.supervisor,
      mapping: { datasetId: person.datasetId, columns: DIARY_MAPPING },
      backoffMs: () => 100,
      inboxWaitMs: 2_000,
      maxPollMs: 250,
      // The upload waits at most a second: the stage's time goes to the local work on a busy machine.
      uploadSpreadMs: 1_000,
      approvedModules: () => (doc.analytics.computation.kind === 'module' ? [doc.analytics.computation.sha256] : []),
      // The first person asked to see each result before it is sent, and agrees.
      ...(person.name === 0 ? { reviewResult: (review) => (reviewed.push(review.output), Promise.resolve(options.review?.(review.round) ?? true)) } : {}),
      // Leaving after the keys are shared: the app closes just before its masked input would go.
      recordRelease: async (round) => {
        if (leaving(round).includes(person.name)) throw new TroveError('CANCELLED', 'The app was closed.');
        await ledger.release(`job:${jobId}`, round);
      },
    });
    running.push(p);
  }
  for (const enroll of enrollments) await enroll();
  for (const p of running) p.start();
  let finished = false;
  const senders = (round: number) => who.filter((p) => !leaving(round).includes(p.name) && !(p.name === 0 && options.review?.(round) === false)).length;
  // Those who leave or decline after sharing keys owe a masked input: each such round's stage
  // deadline is passed as soon as everyone else's is in. If this fails, the stage still ends on
  // its own deadline, only later.
  const watcher = identities.get(who[0]!.name)!.signingKeyHex;
  const deadlinesPassed = (async () => {
    for (let round = 0; round < doc.rounds && !finished; round++) await passMaskedInputDeadline(rig, rig.clock, { jobId, round, watcher, expected: senders(round) }, () => finished);
  })().catch(() => undefined);
  try {
    await until(async () => {
      const status = await rig.runner.status(jobId);
      return status.state === 'finished' && status.rounds.every((r) => r.stage === 'closed' || r.stage === 'aborted');
    }, 240_000, `job ${jobId} finished`, 250);
  } finally {
    finished = true;
    await deadlinesPassed;
    for (const p of running) await p.stop();
  }
  const stored = await rig.store.rounds(jobId);
  expect(stored.map((r) => r.abortReason ?? r.stage), `job ${jobId}: both rounds closed`).toEqual(['closed', 'closed']);
  const out: { included: number[]; aggregate: RoundAggregate }[] = [];
  for (let round = 0; round < 2; round++) {
    const row = (await rig.store.round(jobId, round))!;
    const included = row.included!.map((position) => [...identities].find(([, id]) => id.signingKeyHex === row.roster[position])![0]).sort((a, b) => a - b);
    out.push({ included, aggregate: row.aggregate! });
  }
  return { rounds: out, reviewed };
}

type JobRun = Awaited<ReturnType<typeof runJob>> & { jobId: string };
const jobs = {} as { histogram: Promise<JobRun>; module: Promise<JobRun>; declined: Promise<JobRun> };

/** Publishes the three jobs and sets them running, one after another; each test awaits its own. */
async function startJobs(): Promise<void> {
  const run = async (published: Promise<{ jobId: string; doc: AnalyticsJobDocument }>, ...rest: [(round: number) => number[], Parameters<typeof runJob>[3]?]): Promise<JobRun> => {
    const { jobId, doc } = await published;
    return { jobId, ...(await runJob(jobId, doc, ...rest)) };
  };
  const histogram = publish(
    { kind: 'federated-analytics', maxRows: DAYS, computation: { kind: 'histogram', column: 'sleep_hours', edges: EDGES, groupBy: { column: 'mood', categories: [...MOODS] } } },
    null,
  );
  await histogram;
  const module = publish(
    {
      kind: 'federated-analytics',
      maxRows: DAYS,
      computation: {
        kind: 'module',
        sha256: sha256(moduleBytes),
        describes: 'Adds up your hours of sleep (each night counted as 0 to 24 hours) and counts the nights with a value.',
        columns: ['sleep_hours'],
        output: { length: 2, min: 0, max: 24 * DAYS },
        maxMemoryPages: 1,
        timeLimitMs: 10_000,
      },
    },
    moduleBytes,
  );
  await module;
  const declined = publish(
    { kind: 'federated-analytics', maxRows: DAYS, computation: { kind: 'count', where: { column: 'sleep_hours', min: 0, max: 7 } } },
    null,
    // Four people: the round waits for the one who declined only until its first deadline.
    { minContributors: 3, advertiseKeysMs: 45_000 },
  );
  await declined;
  // One after another: on a busy machine ten workers at once already fill the stage deadlines.
  jobs.histogram = run(histogram, leaving);
  jobs.module = jobs.histogram.catch(() => undefined).then(() => run(module, leaving));
  jobs.declined = jobs.module.catch(() => undefined).then(() => run(declined, () => [], { who: people.slice(0, 4), review: (round) => round === 1 }));
  // Each test awaits its own; none is left unhandled meanwhile.
  for (const j of Object.values(jobs)) j.catch(() => undefined);
}

const leaving = (round: number): number[] => [(2 * round + 1) % CONTRIBUTORS, (2 * round + 6) % CONTRIBUTORS];
const others = (round: number): number[] => people.map((p) => p.name).filter((n) => !leaving(round).includes(n));

/** 95% bars per coordinate; across the whole vector allow 4.5 sd of noise (about 1 in 150,000 per coordinate). */
function expectWithinStatedError(aggregate: RoundAggregate, truth: number[]): void {
  const limit = 4.5 * aggregate.noiseStdDev + (aggregate.errorBar - 1.96 * aggregate.noiseStdDev);
  expect(aggregate.value).toHaveLength(truth.length);
  aggregate.value.forEach((v, i) => {
    expect(Math.abs(v - truth[i]!), `${aggregate.labels[i]}: ${v} against the true ${truth[i]} (seed ${SEED})`).toBeLessThanOrEqual(limit);
  });
  // The positive control: the noise the contributors were charged for is really in the sum.
  expect(aggregate.value.some((v, i) => Math.abs(v - truth[i]!) > 1e-6)).toBe(true);
}

describe('analytics jobs through the real coordinator and chain', () => {
  it('a built-in histogram of sleep hours by mood: two rounds, two leave in each, the published sum within its stated error', async () => {
    const { jobId, rounds, reviewed } = await jobs.histogram;
    for (let round = 0; round < 2; round++) {
      const { included, aggregate } = rounds[round]!;
      expect(included, `round ${round + 1} sums exactly those who sent their masked input`).toEqual(others(round));
      expect(aggregate.contributors).toBe(8);
      const truth = new Array<number>(24).fill(0);
      for (const name of included) {
        for (const day of people[name]!.diary) truth[MOODS.indexOf(day.mood) * 6 + EDGES.slice(1, -1).filter((e) => day.sleep_hours >= e).length]!++;
      }
      expectWithinStatedError(aggregate, truth);
      // The stated error is at least the charged noise of the sum: z x the L2 bound (maxRows).
      expect(aggregate.noiseStdDev).toBeGreaterThanOrEqual(0.3 * DAYS);
    }
    // The person who reviewed saw their own exact histogram each round: every one of their rows, counted once.
    expect(reviewed).toHaveLength(2);
    for (const r of reviewed) expect(r.reduce((a, b) => a + b, 0)).toBe(DAYS);
    expect((await rig.runner.status(jobId)).state).toBe('finished');
  }, 400_000);

  it('the example WebAssembly module (sum and count of sleep hours): served by the coordinator, checked by hash, within the stated error', async () => {
    const { rounds } = await jobs.module;
    for (let round = 0; round < 2; round++) {
      const { included, aggregate } = rounds[round]!;
      expect(included).toEqual(others(round));
      const truth = [0, 0];
      for (const name of included) {
        for (const day of people[name]!.diary) {
          truth[0]! += Math.min(24, Math.max(0, day.sleep_hours));
          truth[1]!++;
        }
      }
      expectWithinStatedError(aggregate, truth);
    }
  }, 400_000);

  it('a person who asked to see each result declines one round: nothing of theirs is sent in it, the log says so, and the next round they agree to goes', async () => {
    const { jobId, rounds, reviewed } = await jobs.declined;
    expect(reviewed, 'the first person saw their exact count in both rounds').toHaveLength(2);
    expect(rounds[0]!.included, 'round 1 sums only those who sent').toEqual([1, 2, 3]);
    expect(rounds[1]!.included, 'round 2 has the person again').toEqual([0, 1, 2, 3]);
    const log = people[0]!.vault.activity(0, 200).entries.filter((e) => e.details?.job === jobId);
    const ofRound = (round: number) => log.filter((e) => e.details?.round === round).map((e) => e.kind);
    expect(ofRound(0)).toContain('job.result-declined');
    expect(ofRound(0), 'nothing left in the declined round').not.toContain('job.upload');
    // The positive control: an upload is logged, and seen, in the round they agreed to.
    expect(ofRound(1)).toContain('job.upload');
    expect(ofRound(1)).not.toContain('job.result-declined');
  }, 400_000);
});
