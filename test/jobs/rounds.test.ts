// The rounds engine against a coordinator over real HTTP, with a real vault, real per-job
// identities and training in a real worker process. An honest round goes from invitation to
// unmasking with only a masked vector leaving; a coordinator that lies about the round, sends
// garbage or an oversize model is refused with a typed error and gets nothing more; one that
// vanishes mid-round is retried until it is back, and the round completes.
import { Wallet } from 'ethers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorClient } from '../../common/jobs/client.js';
import { roundVectorLength, type JobDocument } from '../../common/jobs/document.js';
import { parameterCountOf } from '../../common/jobspec.js';
import { deriveJobIdentity } from '../../main/services/jobs/identity.js';
import { JobParticipation, type ParticipationEvents, type ParticipationProblem, type RoundStep } from '../../main/services/rounds/participation.js';
import { WorkerSupervisor } from '../../main/services/worker/supervisor.js';
import type { Vault } from '../../main/services/vault/index.js';
import { newVault, useTempDir } from '../helpers/vault.js';
import { testWorkerLauncher } from '../helpers/worker.js';
import { DIARY_MAPPING, importDiary, sleepJob } from './fixtures.js';
import { TestCoordinator, type CoordinatorHooks } from './test-coordinator.js';

const t = useTempDir();
const CHAIN = '31337';
const JOB = '1';
let supervisor: WorkerSupervisor;
const running: { p: JobParticipation; c: TestCoordinator }[] = [];
let vaults = 0;

beforeAll(async () => {
  supervisor = new WorkerSupervisor({ launcher: await testWorkerLauncher(), defaultMemoryLimitMb: 512 });
});
afterAll(async () => {
  await supervisor.stop();
});
afterEach(async () => {
  for (const { p, c } of running.splice(0)) {
    await p.stop();
    await c.close();
  }
});

function jobDocument(): JobDocument {
  return sleepJob({
    researcher: Wallet.createRandom().address,
    coordinator: { url: 'http://coordinator.test', address: Wallet.createRandom().address },
    token: Wallet.createRandom().address,
    chainId: CHAIN,
    deadline: Math.floor(Date.now() / 1000) + 86_400,
  });
}

async function setUp(hooks: CoordinatorHooks = {}, mayRun?: () => { ok: true } | { ok: false; reason: string }, lastRound: number | null = null): Promise<{ p: JobParticipation; c: TestCoordinator; vault: Vault; doc: JobDocument }> {
  const n = ++vaults;
  const vault = await newVault(t, {}, `vault-${n}.db`);
  const datasetId = await importDiary(vault, t.file(`diary-${n}.csv`));
  const doc = jobDocument();
  const c = await new TestCoordinator(doc, CHAIN, JOB, hooks).start();
  const identity = await deriveJobIdentity(vault, { chainId: CHAIN, registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3', jobId: JOB });
  const p = new JobParticipation({
    jobId: JOB,
    chainId: CHAIN,
    document: doc,
    identity,
    client: new CoordinatorClient({ baseUrl: c.url, timeoutMs: 5_000 }),
    vault,
    supervisor,
    mapping: { datasetId, columns: DIARY_MAPPING },
    backoffMs: () => 50,
    inboxWaitMs: 1_000,
    maxPollMs: 200,
    policyRecheckMs: 50,
    lastRound,
    ...(mayRun ? { mayRun } : {}),
  });
  running.push({ p, c });
  return { p, c, vault, doc };
}

/** Resolves with the first `event` whose arguments satisfy `match`. */
function when<E extends keyof ParticipationEvents>(p: JobParticipation, event: E, match: (...args: ParticipationEvents[E]) => boolean = () => true): Promise<ParticipationEvents[E]> {
  return new Promise((resolve) => {
    const listener = (...args: ParticipationEvents[E]): void => {
      if (!match(...args)) return;
      p.off(event, listener as never);
      resolve(args);
    };
    p.on(event, listener as never);
  });
}

const problemWith = (code: string) => (problem: ParticipationProblem) => problem.code === code;

function kinds(vault: Vault): string[] {
  return vault.activity(0, 100).entries.map((e) => e.kind).reverse();
}

describe('taking part in rounds', () => {
  it('trains, masks and uploads in an honest round, and logs what left the machine', async () => {
    const { p, c, vault, doc } = await setUp();
    const steps = new Set<RoundStep>();
    p.on('progress', (r) => steps.add(r.step));
    const contributed = when(p, 'contributed');
    const finished = when(p, 'status', (s) => s === 'finished');
    p.start();
    expect(await contributed).toEqual([0]);
    await finished;

    expect(c.posts).toHaveLength(4); // keys, shares, masked vector, unmasking shares
    const result = c.result!;
    expect(result.contributors).toEqual([0, 1, 2]);
    const trained = vault.activity(0, 100).entries.find((e) => e.kind === 'job.trained')!;
    const examples = trained.details!.examples as number;
    expect(examples).toBeGreaterThan(100);
    // The sum's last coordinate is the example weights: this device's and the two others'.
    const d = roundVectorLength(doc);
    expect(result.sum[d - 1]).toBeCloseTo(examples / doc.aggregation.maxExamples + 2 * c.peerWeight, 3);

    expect(['training', 'masking', 'uploading', 'unmasking', 'done'].every((s) => steps.has(s as RoundStep))).toBe(true);
    expect(kinds(vault)).toEqual(expect.arrayContaining(['job.round-started', 'job.data-granted', 'job.trained', 'job.upload', 'job.round-done']));
    const upload = vault.activity(0, 100).entries.find((e) => e.kind === 'job.upload')!;
    expect(upload.summary).toMatch(new RegExp(`^Sent a masked vector of ${d} numbers \\([0-9.]+ KB\\) to http://coordinator.test .*; no rows\\.$`));
    expect(upload.details).toEqual({ job: JOB, round: 0, numbers: d, bytes: c.posts[2]!.length, to: 'http://coordinator.test' });
    const granted = vault.activity(0, 100).entries.find((e) => e.kind === 'job.data-granted')!;
    expect((granted.details!.columns as string[]).sort()).toEqual(Object.values(DIARY_MAPPING).sort());
    expect(vault.checkIntegrity()).toMatchObject({ ok: true });
  }, 30_000);

  it('refuses round settings that lower the survivor minimum, and sends nothing', async () => {
    const { p, c, vault } = await setUp({ setupParams: (honest) => ({ ...honest, minimumSurvivors: 2 }) });
    const problem = when(p, 'problem', problemWith('SECAGG_UNSAFE_REQUEST'));
    p.start();
    const [found] = await problem;
    expect(found).toMatchObject({ round: 0, message: expect.stringMatching(/differ from the job you agreed to/) });
    await p.stop();
    expect(c.posts).toHaveLength(0);
    expect(kinds(vault)).toContain('job.round-failed');
    expect(vault.checkIntegrity()).toMatchObject({ ok: true });
  }, 30_000);

  it('refuses an invitation to a round under another round id before fetching anything', async () => {
    const { p, c } = await setUp({ invite: (honest) => ({ ...honest, roundId: 'ff'.repeat(16) }) });
    const problem = when(p, 'problem', problemWith('SECAGG_WRONG_ROUND'));
    p.start();
    await problem;
    await p.stop();
    expect(c.posts).toHaveLength(0);
    expect(c.requests.some((r) => r.includes('/models/'))).toBe(false);
  }, 30_000);

  it('refuses a model larger than the job’s, before any data is read', async () => {
    const { p, c, vault } = await setUp({ modelBytes: 4 * parameterCountOf(jobDocument().training.model) + 4 });
    const problem = when(p, 'problem', problemWith('COORDINATOR_PROTOCOL'));
    p.start();
    const [found] = await problem;
    expect(found.message).toMatch(/more than the .* bytes expected|model of/);
    await p.stop();
    expect(c.posts).toHaveLength(0);
    expect(kinds(vault)).not.toContain('job.data-granted');
  }, 30_000);

  it('refuses garbage in the inbox mid-round and sends nothing after it', async () => {
    const garbage = JSON.stringify({ messages: [{ seq: 2, data: Buffer.from('not a secure-aggregation message at all').toString('base64') }], stage: 'share-keys' });
    const { p, c, vault } = await setUp({ inbox: { afterPosts: 1, body: () => garbage } });
    const problem = when(p, 'problem', problemWith('SECAGG_MALFORMED'));
    p.start();
    await problem;
    await p.stop();
    expect(c.posts).toHaveLength(1); // its keys, sent before the garbage arrived
    expect(kinds(vault)).not.toContain('job.upload');
    expect(vault.checkIntegrity()).toMatchObject({ ok: true });
  }, 30_000);

  it('refuses an inbox answer that is not JSON', async () => {
    const { p, c } = await setUp({ inbox: { afterPosts: 0, body: () => '<html>oops</html>' } });
    const problem = when(p, 'problem', problemWith('COORDINATOR_PROTOCOL'));
    p.start();
    await problem;
    await p.stop();
    expect(c.posts).toHaveLength(0);
  }, 30_000);

  it('waits out a coordinator that vanishes mid-round, then finishes the round with nothing lost', async () => {
    const { p, c, vault } = await setUp();
    c.once('post', () => setImmediate(() => void c.goAway()));
    const unreachable = when(p, 'problem', (problem) => problem.code === 'COORDINATOR_UNREACHABLE' && problem.round === 0);
    const contributed = when(p, 'contributed');
    p.start();
    await unreachable;
    await c.comeBack();
    expect(await contributed).toEqual([0]);
    expect(c.result!.contributors).toEqual([0, 1, 2]);
    expect(kinds(vault)).toContain('job.round-done');
    expect(vault.checkIntegrity()).toMatchObject({ ok: true });
  }, 30_000);

  it('waits while the run policy says no, asking the coordinator nothing, and goes on when it says yes', async () => {
    let onBattery = true;
    const { p, c } = await setUp({}, () => (onBattery ? { ok: false, reason: 'Waiting for the device to be plugged in.' } : { ok: true }));
    const paused = when(p, 'status', (s) => s === 'paused');
    const detail = when(p, 'progress', (r) => r.detail === 'Waiting for the device to be plugged in.');
    p.start();
    await paused;
    await detail;
    expect(c.requests).toEqual([]);
    const asked = new Promise<string>((resolve) => c.once('request', resolve));
    onBattery = false;
    expect(await asked).toBe('GET /v1/jobs/1/round');
  }, 30_000);

  it('after a restart, takes no part again in a round it already had, and joins the coordinator’s current round', async () => {
    const done = await setUp({ round: 0 }, undefined, 0);
    const waiting = when(done.p, 'status', (s) => s === 'waiting');
    done.p.start();
    await waiting;
    await done.p.stop();
    expect(done.c.requests.filter((r) => !r.startsWith('GET /v1/jobs/1/round'))).toEqual([]);

    const later = await setUp({ round: 1 }, undefined, 0);
    const contributed = when(later.p, 'contributed');
    later.p.start();
    expect(await contributed).toEqual([1]);
    expect(later.c.result!.contributors).toEqual([0, 1, 2]);
  }, 30_000);
});
