// The rounds engine with a real vault, real per-job identities and training in a real worker
// process. Honest rounds run against the real coordinator (chain, runner and HTTP server) with two
// other contributors speaking the same protocol: a round goes from invitation to unmasking with
// only a masked vector leaving, survives the coordinator stopping mid-round and starting again on
// the same port and database, and resumes at the coordinator's current round after an app
// restart. A hostile coordinator that lies about the round, sends garbage or an oversize model is
// refused with a typed error and gets nothing more.
import { until } from '../helpers/until.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorClient } from '../../common/jobs/client.js';
import { roundVectorLength, type JobDocument } from '../../common/jobs/document.js';
import { parameterCountOf } from '../../common/jobspec.js';
import { MessageType, readHeader } from '../../common/secagg/wire.js';
import { deriveJobIdentity } from '../../main/services/jobs/identity.js';
import { JobParticipation, type ParticipationEvents, type ParticipationOptions, type ParticipationProblem, type RoundStep } from '../../main/services/rounds/participation.js';
import { WorkerSupervisor } from '../../main/services/worker/supervisor.js';
import type { Vault } from '../../main/services/vault/index.js';
import { startRig, type CoordinatorRig } from '../coordinator/fixtures.js';
import { newVault, useTempDir } from '../helpers/vault.js';
import { testWorkerLauncher } from '../helpers/worker.js';
import { DIARY_MAPPING, importDiary, otherContributors, recordingFetch } from './fixtures.js';
import { HOSTILE_CHAIN, HOSTILE_JOB, HostileCoordinator, hostileJobDocument, type Hostility } from './hostile-coordinator.js';
import { proveEnrollment } from '../fixtures/enrollment-proof.js';
import { RECEIPTS_SETTING, receiptKey, vaultReceiptKeeper } from '../../main/services/rounds/receipts.js';
import { maskedInputHash, receiptDomain, receiptDigest } from '../../common/jobs/masked-input-receipt.js';
import type { SignedMaskedInputReceipt } from '../../common/jobs/masked-input-receipt.js';
import { recoverAddress } from 'ethers';

const t = useTempDir();
let supervisor: WorkerSupervisor;
let rig: CoordinatorRig;
const running: JobParticipation[] = [];
const hostile: HostileCoordinator[] = [];
let vaults = 0;

beforeAll(async () => {
  supervisor = new WorkerSupervisor({ launcher: await testWorkerLauncher(), defaultMemoryLimitMb: 512 });
  // The coordinator's own timers start rounds and close stages, as in production.
  rig = await startRig({}, { timers: true, startDelayMs: 0 });
});
afterAll(async () => {
  await supervisor.stop();
  await rig?.close();
});
afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
  for (const c of hostile.splice(0)) await c.close();
});

const FAST: Partial<ParticipationOptions> = { backoffMs: () => 50, inboxWaitMs: 1_000, maxPollMs: 200, policyRecheckMs: 50, uploadSpreadMs: 200 };

async function diaryVault(): Promise<{ vault: Vault; datasetId: string }> {
  const n = ++vaults;
  const vault = await newVault(t, {}, `vault-${n}.db`);
  return { vault, datasetId: await importDiary(vault, t.file(`diary-${n}.csv`)) };
}

/** A job on the real coordinator: three contributors a round, `rounds` rounds. */
async function publish(rounds = 1): Promise<{ jobId: string; doc: JobDocument }> {
  const { jobId, document } = await rig.publish({ rounds, minContributors: 3 });
  return { jobId, doc: document };
}

/** The app enrolled in `jobId` (as opt-in does) and its participation, not yet started. */
async function appIn(
  jobId: string,
  doc: JobDocument,
  options: { vault?: { vault: Vault; datasetId: string }; lastRound?: number | null; mayRun?: ParticipationOptions['mayRun']; onResponse?: (request: string) => void } = {},
) {
  const { vault, datasetId } = options.vault ?? (await diaryVault());
  const identity = await deriveJobIdentity(vault, { chainId: doc.chainId, registry: rig.chain.deployment.contracts.JobRegistry, jobId });
  const requests: string[] = [];
  const client = new CoordinatorClient({ baseUrl: rig.server.url, timeoutMs: 5_000, fetch: recordingFetch(requests, options.onResponse) });
  if (options.vault === undefined) await client.enroll(jobId, identity.signing, identity.enrollment(await proveEnrollment(identity.semaphore, rig.enrollmentRef, jobId, identity.signingKeyHex)));
  requests.length = 0;
  const p = new JobParticipation({
    ...FAST,
    jobId,
    chainId: doc.chainId,
    document: doc,
    identity,
    client,
    vault,
    supervisor,
    mapping: { datasetId, columns: DIARY_MAPPING },
    lastRound: options.lastRound ?? null,
    ...(options.mayRun ? { mayRun: options.mayRun } : {}),
    receipts: vaultReceiptKeeper(vault, receiptChain()),
  });
  running.push(p);
  return { p, vault, datasetId, requests, identity };
}

async function hostileApp(hostility: Hostility) {
  const { vault, datasetId } = await diaryVault();
  const doc = hostileJobDocument();
  const c = await new HostileCoordinator(doc, hostility).start();
  hostile.push(c);
  const identity = await deriveJobIdentity(vault, { chainId: HOSTILE_CHAIN, registry: '0x5FbDB2315678afecb367f032d93F642f64180aa3', jobId: HOSTILE_JOB });
  const p = new JobParticipation({
    ...FAST,
    jobId: HOSTILE_JOB,
    chainId: HOSTILE_CHAIN,
    document: doc,
    identity,
    client: new CoordinatorClient({ baseUrl: c.url, timeoutMs: 5_000 }),
    vault,
    supervisor,
    mapping: { datasetId, columns: DIARY_MAPPING },
    lastRound: null,
  });
  running.push(p);
  return { p, c, vault };
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

/** Where the rig's coordinator signs its masked-input receipts. */
function receiptChain(): { chainId: string; receiptChallenges: string } {
  return { chainId: rig.chain.deployment.chainId, receiptChallenges: rig.chain.deployment.contracts.ReceiptChallenges };
}

/** The masked inputs the coordinator accepted in a round. */
async function maskedInputs(jobId: string, round: number): Promise<Uint8Array[]> {
  return (await rig.store.events(jobId, round)).flatMap((e) => (e.kind === 'message' && readHeader(e.data).type === MessageType.MaskedInput ? [e.data] : []));
}

describe('taking part in rounds with the real coordinator', () => {
  it('trains, masks and uploads in an honest round, and logs what left the machine', async () => {
    const { jobId, doc } = await publish();
    const others = await otherContributors(rig, jobId, doc, 'rounds');
    const { p, vault, requests, identity } = await appIn(jobId, doc);
    const problems: ParticipationProblem[] = [];
    p.on('problem', (problem) => problems.push(problem));
    const steps = new Set<RoundStep>();
    p.on('progress', (r) => steps.add(r.step));
    const contributed = when(p, 'contributed');
    const finished = when(p, 'status', (s) => s === 'finished');
    p.start();
    const peerOutcomes = await others.round(0);
    expect(await contributed).toEqual([0]);
    await finished;
    await rig.runner.settled();

    expect(peerOutcomes.map((o) => o.stage)).toEqual(['done', 'done']);
    expect(requests.filter((r) => r.startsWith('POST'))).toHaveLength(5); // keys, shares, masked vector, signed survivor set, unmasking shares
    expect((await rig.runner.status(jobId)).rounds[0]).toMatchObject({ stage: 'closed', invited: 3, included: 3 });
    const d = roundVectorLength(doc);
    expect(['training', 'masking', 'uploading', 'unmasking', 'done'].every((s) => steps.has(s as RoundStep))).toBe(true);
    expect(kinds(vault)).toEqual(expect.arrayContaining(['job.round-started', 'job.data-granted', 'job.trained', 'job.upload', 'job.round-done']));
    const upload = vault.activity(0, 100).entries.find((e) => e.kind === 'job.upload')!;
    expect(upload.summary).toMatch(new RegExp(`^Sent a masked list of ${d} numbers \\([0-9.]+ (B|KB)\\) to the job's coordinator for round .*; no rows\\.$`));
    // What the log says left is what the coordinator holds: a masked vector of the same size.
    const [masked] = await maskedInputs(jobId, 0);
    expect(upload.details).toEqual({ job: jobId, round: 0, numbers: d, bytes: masked!.length, to: rig.server.url });
    // The coordinator's signed receipt for exactly that masked input is kept in the vault, for a
    // challenge should the close on-chain leave it out.
    const receipt = vault.getSetting<Record<string, SignedMaskedInputReceipt>>(RECEIPTS_SETTING)?.[receiptKey(receiptChain(), jobId, 0)];
    expect(problems).toEqual([]);
    expect(receipt).toMatchObject({ jobId, round: 0, commitment: identity.semaphore.commitment.toString() });
    const mine = (await maskedInputs(jobId, 0)).map((m) => maskedInputHash(m));
    expect(mine).toContain(receipt!.maskedInputHash);
    const domain = receiptDomain(receiptChain().chainId, receiptChain().receiptChallenges);
    const signer = recoverAddress(receiptDigest(domain, { ...receipt!, jobId: BigInt(jobId), round: 0n, commitment: BigInt(receipt!.commitment) }), receipt!.signature);
    expect(signer).toBe(await rig.chain.accounts.coordinator.getAddress());
    // Control: the same keeper refuses that receipt for another masked input.
    const keeper = vaultReceiptKeeper(vault, receiptChain());
    const other = { jobId, round: 0, roster: (await rig.store.round(jobId, 0))!.roster, commitment: identity.semaphore.commitment, coordinator: signer, message: new Uint8Array(8) };
    await expect(keeper(other, receipt)).rejects.toMatchObject({ code: 'COORDINATOR_PROTOCOL' });
    const granted = vault.activity(0, 100).entries.find((e) => e.kind === 'job.data-granted')!;
    expect((granted.details!.columns as string[]).sort()).toEqual(Object.values(DIARY_MAPPING).sort());
    // Every request that left is in the activity log, in the order it left: the log's lists
    // together are exactly what the network saw (the recording fetch is the independent witness).
    const logged = vault
      .activity(0, 100)
      .entries.filter((e) => e.kind === 'job.requests')
      .reverse()
      .flatMap((e) => (e.details!.requests as { method: string; path: string }[]).map((r) => `${r.method} ${r.path.split('?')[0]}`));
    expect(logged).toEqual(requests);
    expect(logged.filter((r) => r.startsWith('POST'))).toHaveLength(5);
    const roundEntry = vault.activity(0, 100).entries.find((e) => e.kind === 'job.requests' && e.details!.round === 0)!;
    expect(roundEntry.summary).toMatch(/^Round 1 of .*: \d+ requests to .*: 5 messages sent \(\d+ bytes in all\), the model fetched once, \d+ checks? for messages/);
    expect(vault.checkIntegrity()).toMatchObject({ ok: true });
  }, 60_000);

  it('waits out a coordinator that stops mid-round, then finishes the round with nothing lost once it is back', async () => {
    const { jobId, doc } = await publish();
    const others = await otherContributors(rig, jobId, doc, 'rounds');
    let posts = 0;
    let stopped: Promise<void> | null = null;
    // Stopped once the app's key shares are in: everyone is then past the invitation.
    const onResponse = (request: string): void => {
      if (request.startsWith('POST') && ++posts === 2) stopped ??= rig.stop();
    };
    const { p, vault } = await appIn(jobId, doc, { onResponse });
    const unreachable = when(p, 'problem', (problem) => problem.code === 'COORDINATOR_UNREACHABLE' && problem.round === 0);
    const contributed = when(p, 'contributed');
    p.start();
    const peerOutcomes = others.round(0);
    await unreachable;
    await stopped;
    await rig.restart();
    expect(await contributed).toEqual([0]);
    expect((await peerOutcomes).map((o) => o.stage)).toEqual(['done', 'done']);
    await rig.runner.settled();
    expect((await rig.runner.status(jobId)).rounds[0]).toMatchObject({ stage: 'closed', invited: 3, included: 3 });
    expect(kinds(vault)).toContain('job.round-done');
    expect(vault.checkIntegrity()).toMatchObject({ ok: true });
  }, 60_000);

  it('waits while the run policy says no, asking the coordinator nothing, and goes on when it says yes', async () => {
    const { jobId, doc } = await publish();
    let onBattery = true;
    let enrolled = false;
    let firstAsked: (request: string) => void = () => undefined;
    const asked = new Promise<string>((resolve) => (firstAsked = resolve));
    const { p, requests } = await appIn(jobId, doc, {
      mayRun: () => (onBattery ? { ok: false, reason: 'Waiting for the device to be plugged in.' } : { ok: true }),
      onResponse: (request) => enrolled && firstAsked(request),
    });
    enrolled = true;
    const paused = when(p, 'status', (s) => s === 'paused');
    const detail = when(p, 'progress', (r) => r.detail === 'Waiting for the device to be plugged in.');
    p.start();
    await paused;
    await detail;
    expect(requests).toEqual([]);
    onBattery = false;
    expect(await asked).toBe(`GET /v1/jobs/${jobId}/round`);
  }, 30_000);

  it('after a restart, takes no part again in a round it already had, and joins the coordinator’s current round', async () => {
    const { jobId, doc } = await publish(2);
    const others = await otherContributors(rig, jobId, doc, 'rounds');
    const first = await appIn(jobId, doc);
    const contributed = when(first.p, 'contributed');
    first.p.start();
    const round0 = others.round(0);
    expect(await contributed).toEqual([0]);
    await round0;
    await first.p.stop();

    // The app starts again knowing it had round 0; the coordinator has moved on to round 1.
    const later = await appIn(jobId, doc, { vault: { vault: first.vault, datasetId: first.datasetId }, lastRound: 0 });
    const again = when(later.p, 'contributed');
    later.p.start();
    const round1 = others.round(1);
    expect(await again).toEqual([1]);
    await round1;
    await rig.runner.settled();
    expect(later.requests.some((r) => r.includes('/rounds/0/') || r.endsWith('/models/0'))).toBe(false);
    // A close the chain refuses is sent again a few seconds later; both rounds end closed.
    await until(async () => (await rig.runner.status(jobId)).rounds.every((r) => r.stage !== 'closing'), 20_000, 'both closes on-chain');
    expect((await rig.runner.status(jobId)).rounds.map((r) => [r.stage, r.included])).toEqual([
      ['closed', 3],
      ['closed', 3],
    ]);
  }, 60_000);
});

describe('a hostile coordinator', () => {
  it('refuses round settings that lower the survivor minimum, and sends nothing', async () => {
    const { p, c, vault } = await hostileApp({ setupParams: (honest) => ({ ...honest, minimumSurvivors: 2 }) });
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
    const { p, c } = await hostileApp({ invite: (honest) => ({ ...honest, roundId: 'ff'.repeat(16) }) });
    const problem = when(p, 'problem', problemWith('SECAGG_WRONG_ROUND'));
    p.start();
    await problem;
    await p.stop();
    expect(c.posts).toHaveLength(0);
    expect(c.requests.some((r) => r.includes('/models/'))).toBe(false);
  }, 30_000);

  it('refuses a round index at or past the job\'s number of rounds before fetching anything', async () => {
    const rounds = hostileJobDocument().rounds;
    const { p, c } = await hostileApp({ invite: (honest) => ({ ...honest, round: rounds }) });
    const problem = when(p, 'problem', problemWith('ROUND_LIMIT_REACHED'));
    p.start();
    const [found] = await problem;
    expect(found.message).toContain(`has ${rounds} rounds`);
    await p.stop();
    expect(c.posts).toHaveLength(0);
    expect(c.requests.some((r) => r.includes('/models/'))).toBe(false);
  }, 30_000);

  it('positive control: the last charged round passes the cap and meets the next check', async () => {
    const rounds = hostileJobDocument().rounds;
    // The invitation names round `rounds - 1` with round 0's id: past the cap check, the id check refuses it.
    const { p } = await hostileApp({ invite: (honest) => ({ ...honest, round: rounds - 1 }) });
    const problem = when(p, 'problem', (x) => x.code === 'SECAGG_WRONG_ROUND' || x.code === 'ROUND_LIMIT_REACHED');
    p.start();
    const [found] = await problem;
    await p.stop();
    expect(found.code).toBe(rounds > 1 ? 'SECAGG_WRONG_ROUND' : 'ROUND_LIMIT_REACHED');
  }, 30_000);

  it('refuses a model larger than the job’s, before any data is read', async () => {
    const { p, c, vault } = await hostileApp({ modelBytes: 4 * parameterCountOf(hostileJobDocument().training.model) + 4 });
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
    const { p, c, vault } = await hostileApp({ inbox: { afterPosts: 1, body: garbage } });
    const problem = when(p, 'problem', problemWith('SECAGG_MALFORMED'));
    p.start();
    await problem;
    await p.stop();
    expect(c.posts).toHaveLength(1); // its keys, sent before the garbage arrived
    expect(kinds(vault)).not.toContain('job.upload');
    expect(vault.checkIntegrity()).toMatchObject({ ok: true });
  }, 30_000);

  it('refuses an inbox answer that is not JSON', async () => {
    const { p, c } = await hostileApp({ inbox: { afterPosts: 0, body: '<html>oops</html>' } });
    const problem = when(p, 'problem', problemWith('COORDINATOR_PROTOCOL'));
    p.start();
    await problem;
    await p.stop();
    expect(c.posts).toHaveLength(0);
  }, 30_000);
});
