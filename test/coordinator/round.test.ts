// A researcher's coordinator on a local chain with the real contracts: publishing escrows the
// reward under the document's hash, contributors enroll with their Semaphore identity, and a round
// with one dropout yields the exact weighted FedAvg model, its validation score, and an on-chain
// close whose group is the included contributors. The coordinator survives a restart mid-round,
// and its database never holds a contributor's unmasked vector.
import { databaseBytes, findUnmasked, quantizedBytes } from '../helpers/unmasked-scan.js';
import { Group } from '@semaphore-protocol/group';
import { Identity } from '@semaphore-protocol/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifySignedJob } from '../../common/jobs/signed-document.js';
import { isTroveError } from '../../common/errors.js';
import { roundVectorLength } from '../../common/jobs/document.js';
import { roundParamsFor, roundIdFor } from '../../common/jobs/rounds.js';
import { evaluateModel } from '../../common/model/evaluate.js';
import { quantizationErrorBound } from '../../common/secagg/quantize.js';
import { NO_MODEL } from '../../common/secagg/params.js';
import { initialWeights } from '../../common/model/weights.js';
import { validationMatrix } from '../../coordinator/job-book.js';
import { mined } from '../fixtures/trove-chain.js';
import type { Filter, JsonRpcProvider } from 'ethers';
import { closeRound } from '../../coordinator/closer.js';
import { roundClosedTx } from '../../coordinator/chain.js';
import { Contributor, SLEEP_MOOD_JOB, maskedInputsAccepted, startRig, until, validationCsv, type CoordinatorRig, type Storage, expectedModel, updateFor } from './fixtures.js';
import { enrollWithProof } from '../fixtures/enrollment-proof.js';

const ROUND = { rounds: 1 };

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isTroveError(err) ? err.code : err).toBe(code);
}

/** The provider, recording the filter of every event-log search made through it. */
function recordingLogSearches(provider: JsonRpcProvider, searched: Filter[]): JsonRpcProvider {
  const proxy: JsonRpcProvider = new Proxy(provider, {
    get(target, name) {
      if (name === 'provider') return proxy;
      if (name === 'getLogs') {
        return (filter: Filter) => {
          searched.push(filter);
          return target.getLogs(filter);
        };
      }
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return proxy;
}

describe.each<Storage>(['sqlite', 'postgres'])('coordinator on %s: publish, enroll, a round on-chain, restart', (storage) => {
  let rig: CoordinatorRig;
  const validation = validationCsv();

  beforeAll(async () => {
    rig = await startRig({}, {}, storage);
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('publishing registers the document hash and escrows the reward and stake', async () => {
    const researcher = await rig.chain.accounts.researcher.getAddress();
    const before = BigInt(await rig.token.getFunction('balanceOf')(researcher));
    const job = await rig.publish({ rounds: 3 });
    const onChain = await rig.chain.at('JobRegistry', rig.chain.deployment.contracts.JobRegistry).getFunction('getJob')(BigInt(job.jobId));
    expect(onChain.specHash).toBe(job.specHash);
    expect(BigInt(onChain.escrow)).toBe(3n * BigInt(job.document.reward.perRound));
    expect(onChain.coordinator).toBe(await rig.chain.accounts.coordinator.getAddress());
    const after = BigInt(await rig.token.getFunction('balanceOf')(researcher));
    expect(before - after).toBe(job.escrow + job.stake);
    expect(job.stake).toBe((job.escrow * 500n) / 10_000n);
    // The URI on-chain serves the signed document the app verifies before showing the job.
    expect(job.specURI).toBe(`${rig.server.url}/v1/specs/${job.specHash}`);
    const contributor = new Contributor(rig.server.url, rig.clock.now, rig.enrollmentRef, 'reader');
    const fetched = await contributor.client.document(job.specHash);
    expect(verifySignedJob(fetched, job.specHash, researcher).document).toEqual(job.document);
  });

  it('enrolls a contributor once, and refuses a bad Semaphore signature, a wrong commitment and a second enrollment', async () => {
    const { jobId } = await rig.publish(ROUND);
    const a = new Contributor(rig.server.url, rig.clock.now, rig.enrollmentRef, 'enroll-a');
    expect(await a.enroll(jobId)).toEqual({ jobId, nextRound: 0, enrolled: 1 });

    // Signed by another identity than the commitment's.
    const b = new Contributor(rig.server.url, rig.clock.now, rig.enrollmentRef, 'enroll-b');
    const forged = { ...(await b.enrollBody(jobId)), identitySignature: (await b.enrollBody(jobId, new Identity('someone-else'))).identitySignature };
    await expectCode(b.client.enroll(jobId, b.keys, forged), 'UNAUTHENTICATED');
    // A signature over another signing key cannot be reused for this one.
    await expectCode(b.client.enroll(jobId, b.keys, await b.enrollBody(jobId, b.identity, a.keyHex)), 'UNAUTHENTICATED');
    // A commitment that is not the public key's hash.
    await expectCode(b.client.enroll(jobId, b.keys, { ...(await b.enrollBody(jobId)), commitment: a.identity.commitment.toString() }), 'INVALID_INPUT');
    // The same Semaphore identity under a second signing key.
    const twin = new Contributor(rig.server.url, rig.clock.now, rig.enrollmentRef, 'enroll-a');
    await expectCode(twin.enroll(jobId), 'INVALID_INPUT');
    expect((await a.client.status(jobId)).enrolled).toBe(1);
    // The same pair again is the same enrollment (a retry), not a second one.
    expect((await a.enroll(jobId)).enrolled).toBe(1);
    expect(await b.enroll(jobId)).toMatchObject({ enrolled: 2 });
  });

  it('runs a round with one dropout to the exact weighted FedAvg model, scores it, and closes it on-chain with the included group', async () => {
    const { jobId, document: doc } = await rig.publish(ROUND, validation);
    const contributors = Array.from({ length: 5 }, (_, i) => new Contributor(rig.server.url, rig.clock.now, rig.enrollmentRef, `round-${i}`));
    for (const c of contributors) await c.enroll(jobId);
    await rig.runner.tick();
    const d = roundVectorLength(doc) - 1;
    const examples = [120, 200, 90, 366, 45];
    const running = contributors.map((c, i) => c.runRound(jobId, doc, updateFor(i + 1, d), examples[i]!, { dropAfterSharing: i === 2 }));
    const dropped = await running[2]!;
    expect(dropped.stage).toBe('dropped');
    // The four others have sent their masked inputs; the stage then closes on its deadline.
    await until(async () => (await maskedInputsAccepted(rig.store, jobId, 0)) === 4, 20_000, 'four masked inputs');
    rig.clock.advance(doc.aggregation.deadlines.collectMaskedInputsMs + 1);
    await rig.runner.tick();
    const outcomes = await Promise.all(running);
    await rig.runner.settled();

    const included = outcomes.filter((o) => o.stage === 'done');
    expect(included.map((o) => o.clientId)).toEqual([0, 1, 3, 4]);
    const status = await contributors[0]!.client.status(jobId);
    expect(status.state).toBe('finished');
    const summary = status.rounds[0]!;
    expect(summary).toMatchObject({ round: 0, stage: 'closed', invited: 5, included: 4, includedPositions: [0, 1, 3, 4] });

    // The new global model is the example-weighted mean update applied to the start model.
    const start = initialWeights(doc.training.model, doc.training.local.seed);
    const expected = expectedModel(doc, start, included.map((o) => o.input));
    const model = await contributors[0]!.client.model(jobId, 1, contributors[0]!.keys, d);
    const params = roundParamsFor(doc, roundIdFor(doc.chainId, jobId, 0), 5, NO_MODEL);
    const totalWeight = included.reduce((s, o) => s + o.input[d]!, 0) / doc.aggregation.clipRange;
    const bound = (quantizationErrorBound(params, 4) * (1 + 1 / doc.aggregation.clipRange)) / (totalWeight - quantizationErrorBound(params, 4) / doc.aggregation.clipRange);
    let worst = 0;
    for (let i = 0; i < d; i++) worst = Math.max(worst, Math.abs(model[i]! - expected[i]!));
    expect(worst).toBeLessThanOrEqual(bound + 1e-6);
    // The dropped contributor's update is not in it: with it, the model would be far off.
    const withDropped = expectedModel(doc, start, [...included, dropped].map((o) => o.input));
    expect(Math.max(...Array.from(model, (w, i) => Math.abs(w - withDropped[i]!)))).toBeGreaterThan(100 * bound);

    // Validation: the new model scored on the researcher's set.
    const scored = evaluateModel(doc.training.model, model, validationMatrix(doc, validation));
    expect(summary.validation).not.toBeNull();
    expect(summary.validation!.examples).toBe(240);
    expect(summary.validation!.loss).toBeCloseTo(scored.loss, 6);
    expect(summary.validation!.accuracy).toBeCloseTo(scored.accuracy!, 6);

    // On-chain: the round is closed with the group of exactly the four included commitments.
    const group = new Group(included.map((o) => contributors[o.clientId]!.identity.commitment));
    expect(summary.closed).toEqual({ groupRoot: group.root.toString(), groupSize: 4, tx: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
    const onChain = await rig.chain.at('RoundRewards', rig.chain.deployment.contracts.RoundRewards).getFunction('getRound')(BigInt(jobId), 0n);
    expect(BigInt(onChain.root)).toBe(group.root);
    expect(Number(onChain.size)).toBe(4);

    // The block that started the round is kept, and the check for an earlier close (a process
    // taking a close over) searches the chain from there, not from its first block.
    const rewards = rig.chain.at('RoundRewards', rig.chain.deployment.contracts.RoundRewards);
    const [started] = await rewards.queryFilter(rewards.filters.RoundStarted!(BigInt(jobId), 0n));
    const startBlock = (await rig.store.round(jobId, 0))!.startBlock;
    expect(startBlock).toBe(started!.blockNumber);
    expect(startBlock).toBeGreaterThan(0);
    const searched: Filter[] = [];
    const provider = recordingLogSearches(rig.chain.provider, searched);
    const access = { coordinator: rig.chain.accounts.coordinator, provider, deployment: rig.chain.deployment };
    expect(await closeRound(access, rig.store, jobId, 0)).toBe(summary.closed!.tx);
    expect(searched.map((f) => f.fromBlock)).toEqual([startBlock]);
    // Control: the same recorder sees a search from block 0 as one, and a search that starts after the close misses it.
    await roundClosedTx(provider, rig.chain.deployment, jobId, 0);
    expect(searched.map((f) => f.fromBlock)).toEqual([startBlock, 0]);
    const closedIn = (await rig.chain.provider.getTransactionReceipt(summary.closed!.tx))!.blockNumber;
    await rig.chain.provider.send('evm_mine', []);
    expect(await roundClosedTx(rig.chain.provider, rig.chain.deployment, jobId, 0, closedIn + 1)).toBeUndefined();

    // Nothing in the database file or its log is any contributor's unmasked vector.
    const files = databaseBytes(rig.databaseFiles());
    for (const o of outcomes) {
      for (const bytes of files) expect(findUnmasked(bytes, o.input, params)).toBeUndefined();
    }
    // The scan does find a vector when one is there.
    expect(findUnmasked(quantizedBytes(outcomes[0]!.input, params), outcomes[0]!.input, params)).toBe('quantized');
  });

  it('freezes the roster of bonded contributors enrolled on-chain and forfeits the dropout\'s bond to the others when it closes', async () => {
    const bond = 10n ** 18n;
    const { jobId, document: doc } = await rig.publish({ rounds: 1, reward: { ...(SLEEP_MOOD_JOB.reward as object), token: await rig.token.getAddress(), bond: bond.toString() } as never });
    const contributors = Array.from({ length: 5 }, (_, i) => new Contributor(rig.server.url, rig.clock.now, rig.enrollmentRef, `bond-${i}`));
    const owner = rig.chain.accounts.alice;
    const rewards = rig.chain.at('RoundRewards', rig.chain.deployment.contracts.RoundRewards, owner);
    await mined(rig.token.connect(owner).getFunction('mint')(await owner.getAddress(), 5n * bond));
    await mined(rig.token.connect(owner).getFunction('approve')(rig.chain.deployment.contracts.RoundRewards, 5n * bond));
    for (const c of contributors) {
      await c.enroll(jobId);
      // a bonded job's contributors enroll on-chain themselves (here through one paying relayer)
      await mined(enrollWithProof(rewards, rig.enrollmentRef, BigInt(jobId), c.identity, c.keyHex, await owner.getAddress()));
    }
    await rig.runner.tick();
    const d = roundVectorLength(doc) - 1;
    const running = contributors.map((c, i) => c.runRound(jobId, doc, updateFor(40 + i, d), 100, { dropAfterSharing: i === 1 }));
    await running[1];
    await until(async () => (await maskedInputsAccepted(rig.store, jobId, 0)) === 4, 20_000, 'four masked inputs');
    rig.clock.advance(doc.aggregation.deadlines.collectMaskedInputsMs + 1);
    await rig.runner.tick();
    await Promise.all(running);
    await rig.runner.settled();
    expect((await rig.runner.status(jobId)).rounds[0]).toMatchObject({ stage: 'closed', included: 4 });
    // BondStatus: 1 still posted (its payer takes it back now the job has ended), 2 forfeited.
    const statuses = await Promise.all(contributors.map(async (_, i) => Number((await rewards.getFunction('enrollmentOf')(BigInt(jobId), i)).bond)));
    expect(statuses).toEqual([1, 2, 1, 1, 1]);
    const round = (await rewards.getFunction('getRound')(BigInt(jobId), 0n)) as { perMember: bigint; size: bigint };
    expect(round.size).toBe(4n);
    const perRound = BigInt(doc.reward.perRound);
    const fee = (perRound * BigInt(rig.chain.deployment.parameters.feeBps)) / 10_000n; // the protocol fee, burned
    expect(round.perMember).toBe((perRound - fee) / 4n + bond / 4n);
  });

  it('records a round with too few survivors as aborted, runs the next from the same model, and finishes after the last round', async () => {
    // Two rounds: an aborted round uses up its index, since each contributor was charged for two releases.
    const { jobId, document: doc } = await rig.publish({ rounds: 2 });
    const contributors = Array.from({ length: 4 }, (_, i) => new Contributor(rig.server.url, rig.clock.now, rig.enrollmentRef, `abort-${i}`));
    for (const c of contributors) await c.enroll(jobId);
    await rig.runner.tick();
    const d = roundVectorLength(doc) - 1;
    // Round 0: two contributors never answer; the minimum of four cannot be met.
    const first = contributors.map((c, i) => c.runRound(jobId, doc, updateFor(20 + i, d), 100, { dropAtStart: i >= 2 }));
    await Promise.all(first.slice(2));
    await until(async () => (await rig.store.events(jobId, 0)).filter((e) => e.kind === 'message').length === 2, 20_000, 'two advertised keys');
    rig.clock.advance(doc.aggregation.deadlines.advertiseKeysMs + 1);
    await rig.runner.tick();
    expect((await Promise.all(first.slice(0, 2))).map((o) => o.stage)).toEqual(['aborted', 'aborted']);
    const aborted = await rig.runner.status(jobId);
    expect(aborted.state).toBe('running');
    expect(aborted.rounds[0]).toMatchObject({ round: 0, stage: 'aborted', included: null, closed: null });
    expect((await rig.store.round(jobId, 0))!.abortReason).toMatch(/fewer than 4/);
    // Round 1 starts from the same model, with everyone still enrolled, and closes.
    expect(await rig.store.model(jobId, 1)).toEqual(await rig.store.model(jobId, 0));
    await rig.runner.tick();
    const second = await Promise.all(contributors.map((c, i) => c.runRound(jobId, doc, updateFor(30 + i, d), 100, { round: 1 })));
    await rig.runner.settled();
    expect(second.map((o) => o.stage)).toEqual(['done', 'done', 'done', 'done']);
    const status = await rig.runner.status(jobId);
    expect(status.state).toBe('finished');
    expect(status.rounds.map((r) => r.stage)).toEqual(['aborted', 'closed']);
    expect(await contributors[0]!.client.round(jobId, contributors[0]!.keys)).toEqual({ state: 'finished', reason: 'completed' });
    // Only the paid round is on-chain: it is round 0 there.
    const onChain = await rig.chain.at('RoundRewards', rig.chain.deployment.contracts.RoundRewards).getFunction('getRound')(BigInt(jobId), 0n);
    expect(BigInt(onChain.root)).toBe(new Group(contributors.map((c) => c.identity.commitment)).root);
    await expectCode(contributors[0]!.enroll(jobId), 'JOB_NOT_ACTIVE');
  });

  it('continues a round after a restart between masked inputs and unmasking, to the same result', async () => {
    const { jobId, document: doc } = await rig.publish(ROUND);
    const contributors = Array.from({ length: 4 }, (_, i) => new Contributor(rig.server.url, rig.clock.now, rig.enrollmentRef, `restart-${i}`));
    for (const c of contributors) await c.enroll(jobId);
    await rig.runner.tick();
    const d = roundVectorLength(doc) - 1;
    // The last contributor holds its masked input until the coordinator has restarted.
    let release = () => undefined as void;
    const gate = new Promise<void>((r) => (release = r));
    const running = contributors.map((c, i) => c.runRound(jobId, doc, updateFor(10 + i, d), 100 + 50 * i, i === 3 ? { beforeMaskedInput: () => gate } : {}));
    await until(async () => (await maskedInputsAccepted(rig.store, jobId, 0)) === 3, 20_000, 'three masked inputs');
    expect((await rig.runner.status(jobId)).rounds[0]!.stage).toBe('collect-masked-inputs');
    const log = (await rig.store.events(jobId, 0)).length;
    // Stop the server and close the database, as a crash would, and open them again.
    await rig.stop();
    await rig.restart();
    expect((await rig.runner.status(jobId)).rounds[0]!.stage).toBe('collect-masked-inputs');
    expect((await rig.store.events(jobId, 0)).length).toBe(log);
    release();
    const outcomes = await Promise.all(running);
    await rig.runner.settled();
    expect(outcomes.map((o) => o.stage)).toEqual(['done', 'done', 'done', 'done']);
    const summary = (await rig.runner.status(jobId)).rounds[0]!;
    expect(summary).toMatchObject({ stage: 'closed', included: 4 });
    const group = new Group(contributors.map((c) => c.identity.commitment));
    expect(summary.closed?.groupRoot).toBe(group.root.toString());
    // The same model as a round without the restart: the weighted mean of all four inputs.
    const start = initialWeights(doc.training.model, doc.training.local.seed);
    const expected = expectedModel(doc, start, outcomes.map((o) => o.input));
    const model = await contributors[0]!.client.model(jobId, 1, contributors[0]!.keys, d);
    const params = roundParamsFor(doc, roundIdFor(doc.chainId, jobId, 0), 4, NO_MODEL);
    const totalWeight = outcomes.reduce((s, o) => s + o.input[d]!, 0) / doc.aggregation.clipRange;
    const eb = quantizationErrorBound(params, 4);
    const bound = (eb * (1 + 1 / doc.aggregation.clipRange)) / (totalWeight - eb / doc.aggregation.clipRange);
    for (let i = 0; i < d; i++) expect(Math.abs(model[i]! - expected[i]!)).toBeLessThanOrEqual(bound + 1e-6);
  });
});
