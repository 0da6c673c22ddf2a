// The on-chain path with real Semaphore v4 proofs on a real local chain: a researcher publishes a
// job, the coordinator closes rounds with the group of included contributors, and contributors
// claim anonymously through a relayer. Every way a claim or a round can be abused is rejected with
// its custom error.
import { closeRoundOnChain } from '../../../coordinator/chain.js';
import { Group } from '@semaphore-protocol/group';
import { Identity } from '@semaphore-protocol/identity';
import { generateProof } from '@semaphore-protocol/proof';
import { hexlify, randomBytes, type Contract, type Signer } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TREE_DEPTH, circuitArtifacts } from '../../../contracts/artifacts.js';
import { claimMessage, claimScope, toRoundClaim, type RoundClaim } from '../../../common/jobs/claims.js';
import { expectRevert, mined, startTroveChain, type TroveChain } from '../../fixtures/trove-chain.js';
import { enrollWithProof } from '../../fixtures/enrollment-proof.js';

type SemaphoreProof = Awaited<ReturnType<typeof generateProof>>;

const REWARD = 900n * 10n ** 6n;
const CLAIM_GAS = 1_000_000n;
// A contributor's payout address that has never held anything, not even gas.
const EMPTY_WALLET = '0x00000000000000000000000000000000000E3517';
const RELAYER_FEE = 2n * 10n ** 6n;

describe('contracts on a local chain with real Semaphore proofs', () => {
  let t: TroveChain;
  let usd: Contract;
  let registry: Contract;
  let rewards: Contract;
  let recipientA: string;
  let recipientB: string;

  // Per-job identities of four contributors, and one outsider.
  const [alice, bob, carol, dave, eve] = ['alice', 'bob', 'carol', 'dave', 'eve'].map((n) => new Identity(`trove-test-${n}`)) as [Identity, Identity, Identity, Identity, Identity];
  const round0 = new Group([alice, bob, carol, dave].map((i) => i.commitment));
  const round1 = new Group([alice, bob, carol].map((i) => i.commitment));
  // round 0's group as it stood before its last member was added: a stale root
  const staleRound0 = new Group([alice, bob, carol].map((i) => i.commitment));
  const withOutsider = new Group([alice, bob, carol, dave, eve].map((i) => i.commitment));
  const smallRound = new Group([alice, bob].map((i) => i.commitment));

  /** A round's reward less the protocol fee (burned): what its members share. */
  let net: bigint;
  let job: bigint; // 2 rounds, minimum 3
  let belowMinimumJob: bigint; // round 0 closed with 2 of minimum 3
  const proofs: Record<string, SemaphoreProof> = {};

  async function publish(params: { token: string; perRound: bigint; rounds: number; minimum: number; bond?: bigint }): Promise<bigint> {
    const escrow = params.perRound * BigInt(params.rounds);
    const total = escrow + (escrow * 500n) / 10_000n;
    const researcher = t.accounts.researcher;
    const token = t.at('TestToken', params.token, researcher);
    await mined(token.getFunction('mint')(await researcher.getAddress(), total));
    await mined(token.getFunction('approve')(await registry.getAddress(), total));
    const block = await t.provider.getBlock('latest');
    const receipt = await mined(
      registry.connect(researcher).getFunction('publish')({
        specHash: `0x${'ab'.repeat(32)}`,
        specURI: 'ipfs://job-spec',
        coordinator: await t.accounts.coordinator.getAddress(),
        rewardToken: params.token,
        rewardPerRound: params.perRound,
        rounds: params.rounds,
        minContributors: params.minimum,
        deadline: BigInt(block!.timestamp) + 30n * 86_400n,
        bondAmount: params.bond ?? 0n,
      }),
    );
    const event = receipt.logs.map((l) => registry.interface.parseLog(l)).find((e) => e?.name === 'JobPublished');
    return event!.args.getValue('jobId') as bigint;
  }

  // Each job's enrollment index per identity; roster keys are fresh random bytes (only their hash matters here).
  const enrolled = new Map<string, number>();

  async function enroll(jobId: bigint, id: Identity, payer = rewards): Promise<number> {
    const key = `${jobId}/${id.commitment}`;
    const known = enrolled.get(key);
    if (known !== undefined) return known;
    const index = Number(await rewards.getFunction('enrollmentCount')(jobId));
    const bonded = ((await registry.getFunction('getJob')(jobId)) as { bondAmount: bigint }).bondAmount !== 0n;
    const owner = bonded ? await (payer.runner as Signer).getAddress() : undefined;
    await mined(enrollWithProof(payer, { chainId: t.chainId, registry: t.deployment.contracts.JobRegistry }, jobId, id, hexlify(randomBytes(32)), owner));
    enrolled.set(key, index);
    return index;
  }

  /** Enrolls the roster (through the relayer), freezes it and closes with the `included` members. */
  async function runRound(jobId: bigint, roster: Identity[], included: Identity[] = roster) {
    const entries: number[] = [];
    for (const id of roster) entries.push(await enroll(jobId, id));
    const order = [...entries].sort((a, b) => a - b);
    const coordinator = rewards.connect(t.accounts.coordinator) as Contract;
    await mined(coordinator.getFunction('startRound')(jobId, order));
    const positions = included.map((id) => order.indexOf(enrolled.get(`${jobId}/${id.commitment}`)!)).sort((a, b) => a - b);
    // As the coordinator closes one: with its gas headroom (coordinator/chain.ts).
    await closeRoundOnChain(t.accounts.coordinator, t.deployment, jobId.toString(), positions);
  }

  function prove(id: Identity, group: Group, recipient: string, jobId: bigint, round: bigint, relayer?: string, fee?: bigint): Promise<SemaphoreProof> {
    const scope = claimScope(t.chainId, t.deployment.contracts.RoundRewards, jobId, round);
    return generateProof(id, group, claimMessage(recipient, relayer, fee), scope, TREE_DEPTH, circuitArtifacts());
  }

  const claimOf = (name: string, recipient: string): RoundClaim => toRoundClaim(recipient, proofs[name]!);

  beforeAll(async () => {
    t = await startTroveChain();
    recipientA = await t.accounts.alice.getAddress();
    recipientB = await t.accounts.bob.getAddress();
    registry = t.at('JobRegistry', t.deployment.contracts.JobRegistry, t.accounts.researcher);
    rewards = t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.accounts.relayer);
    usd = await t.deploy('TestToken', ['Test Dollar', 'TUSD']);
    net = REWARD - (REWARD * BigInt(t.deployment.parameters.feeBps)) / 10_000n;

    job = await publish({ token: await usd.getAddress(), perRound: REWARD, rounds: 2, minimum: 3 });
    await runRound(job, [alice, bob, carol, dave]);
    await runRound(job, [alice, bob, carol]);
    belowMinimumJob = await publish({ token: await usd.getAddress(), perRound: REWARD, rounds: 1, minimum: 3 });
    // a roster of three, two of them included: below the minimum
    await runRound(belowMinimumJob, [alice, bob, carol], [alice, bob]);

    // A handful of real proofs (~1.6 s each), each reused wherever that is honest.
    proofs.aliceRound0 = await prove(alice, round0, recipientA, job, 0n);
    proofs.bobRound0 = await prove(bob, round0, recipientB, job, 0n);
    proofs.bobRound1 = await prove(bob, round1, recipientB, job, 1n);
    proofs.carolStaleRoot = await prove(carol, staleRound0, recipientA, job, 0n);
    proofs.daveRound0 = await prove(dave, round0, recipientB, job, 0n);
    proofs.aliceRound0GroupForRound1 = await prove(alice, round0, recipientA, job, 1n);
    proofs.eveOutsider = await prove(eve, withOutsider, recipientA, job, 0n);
    proofs.aliceBelowMinimum = await prove(alice, smallRound, recipientA, belowMinimumJob, 0n);
    proofs.carolRound1ForEmptyWallet = await prove(carol, round1, EMPTY_WALLET, job, 1n, await t.accounts.relayer.getAddress(), RELAYER_FEE);
  }, 240_000);

  afterAll(async () => {
    await t?.close();
  });

  it('the group root the contract builds from the roster is the Semaphore group of the included members', async () => {
    const r0 = (await rewards.getFunction('getRound')(job, 0n)) as { root: bigint; size: bigint };
    expect(r0.root).toBe(round0.root);
    expect(r0.size).toBe(4n);
    const small = (await rewards.getFunction('getRound')(belowMinimumJob, 0n)) as { root: bigint };
    expect(small.root).toBe(smallRound.root);
  });

  it('scopes computed off-chain match the contract', async () => {
    expect(await rewards.getFunction('scopeOf')(job, 1n)).toBe(claimScope(t.chainId, t.deployment.contracts.RoundRewards, job, 1n));
  });

  it('publishing escrows the whole reward and announces the job', async () => {
    const j = (await registry.getFunction('getJob')(job)) as { escrow: bigint; roundsClosed: bigint };
    // both rounds closed with >= 3 members: both rewards left the escrow
    expect(j.roundsClosed).toBe(2n);
    expect(j.escrow).toBe(0n);
    expect(await usd.getFunction('balanceOf')(t.deployment.contracts.RoundRewards)).toBe(2n * REWARD);
  });

  it('a proof copied from the mempool cannot be redirected to another recipient', async () => {
    const stolen = claimOf('aliceRound0', recipientB);
    const err = await expectRevert(rewards, 'claim', [job, 0n, [stolen]], 'InvalidProof');
    expect(err.args).toEqual([job, 0n, stolen.nullifier]);
  });

  it('a relayer claims for members in one transaction; each recipient withdraws once for many rounds', async () => {
    const batch = [claimOf('aliceRound0', recipientA), claimOf('bobRound0', recipientB)];
    const receipt = await mined(rewards.getFunction('claim')(job, 0n, batch, { gasLimit: CLAIM_GAS * 2n }));
    const claimed = receipt.logs.map((l) => rewards.interface.parseLog(l)).find((e) => e?.name === 'Claimed');
    expect([...(claimed!.args.getValue('nullifiers') as bigint[])]).toEqual(batch.map((c) => c.nullifier));
    // bob's next round goes to the same wallet
    await mined(rewards.getFunction('claim')(job, 1n, [claimOf('bobRound1', recipientB)], { gasLimit: CLAIM_GAS }));

    const share0 = net / 4n;
    const share1 = net / 3n;
    expect(await rewards.getFunction('creditOf')(recipientA, await usd.getAddress())).toBe(share0);
    expect(await rewards.getFunction('creditOf')(recipientB, await usd.getAddress())).toBe(share0 + share1);

    await mined(rewards.connect(t.accounts.bob).getFunction('withdraw')(await usd.getAddress()));
    expect(await usd.getFunction('balanceOf')(recipientB)).toBe(share0 + share1);
    // The relayer paid the gas and received nothing.
    expect(await usd.getFunction('balanceOf')(await t.accounts.relayer.getAddress())).toBe(0n);
    // The protocol fee was burned; a token off the emission allowlist (anyone can mint this one)
    // earns no TROVE for it, so minting a reward token cannot farm emissions.
    expect(await rewards.getFunction('creditOf')('0x000000000000000000000000000000000000dEaD', await usd.getAddress())).toBeGreaterThanOrEqual(2n * (REWARD - net));
    const topUps = [0n, 1n].map(async (r) => ((await rewards.getFunction('getRound')(job, r)) as { topUpPerMember: bigint }).topUpPerMember);
    expect(await Promise.all(topUps)).toEqual([0n, 0n]);
  });

  it('a contributor with an empty wallet is paid its share less the relayer fee its proof names; the relayer can change none of it', async () => {
    const relayer = await t.accounts.relayer.getAddress();
    const token = await usd.getAddress();
    expect(await t.provider.getBalance(EMPTY_WALLET)).toBe(0n);
    const signed = toRoundClaim(EMPTY_WALLET, proofs.carolRound1ForEmptyWallet!, relayer, RELAYER_FEE);
    const outsider = await t.accounts.bob.getAddress();
    for (const tampered of [
      { ...signed, fee: RELAYER_FEE + 1n },
      { ...signed, relayer: outsider },
      { ...signed, recipient: outsider },
    ]) {
      await expectRevert(rewards, 'claim', [job, 1n, [tampered]], 'InvalidProof');
    }
    const relayerCredit = (await rewards.getFunction('creditOf')(relayer, token)) as bigint;
    await mined(rewards.getFunction('claim')(job, 1n, [signed], { gasLimit: CLAIM_GAS }));
    expect(await rewards.getFunction('creditOf')(EMPTY_WALLET, token)).toBe(net / 3n - RELAYER_FEE);
    expect(await rewards.getFunction('creditOf')(relayer, token)).toBe(relayerCredit + RELAYER_FEE);
  });

  it('a replayed nullifier is rejected', async () => {
    const replay = claimOf('aliceRound0', recipientA);
    expect(await rewards.getFunction('isNullifierUsed')(replay.nullifier)).toBe(true);
    await expectRevert(rewards, 'claim', [job, 0n, [replay]], 'NullifierAlreadyUsed');
  });

  it("a relayer's batch skips a used and an invalid claim and pays the valid one", async () => {
    const batch = [claimOf('aliceRound0', recipientA), claimOf('carolStaleRoot', recipientA), claimOf('daveRound0', recipientB)];
    const receipt = await mined(rewards.getFunction('claim')(job, 0n, batch, { gasLimit: CLAIM_GAS * 3n }));
    const events = receipt.logs.map((l) => rewards.interface.parseLog(l));
    const skipped = events.filter((e) => e?.name === 'ClaimSkipped').map((e) => [e!.args.getValue('nullifier') as bigint, e!.args.getValue('reason') as string]);
    expect(skipped).toEqual([
      [batch[0]!.nullifier, rewards.interface.getError('NullifierAlreadyUsed')!.selector],
      [batch[1]!.nullifier, rewards.interface.getError('InvalidProof')!.selector],
    ]);
    const claimed = events.find((e) => e?.name === 'Claimed');
    expect([...(claimed!.args.getValue('nullifiers') as bigint[])]).toEqual([batch[2]!.nullifier]);
    expect(await rewards.getFunction('isNullifierUsed')(batch[1]!.nullifier)).toBe(false);
  });

  it("a proof against a stale root of the round's group is rejected", async () => {
    await expectRevert(rewards, 'claim', [job, 0n, [claimOf('carolStaleRoot', recipientA)]], 'InvalidProof');
  });

  it("a proof against another round's root is rejected", async () => {
    // scope of round 1, but membership proven in round 0's group
    await expectRevert(rewards, 'claim', [job, 1n, [claimOf('aliceRound0GroupForRound1', recipientA)]], 'InvalidProof');
  });

  it("a non-member's proof is rejected", async () => {
    await expectRevert(rewards, 'claim', [job, 0n, [claimOf('eveOutsider', recipientA)]], 'InvalidProof');
  });

  it('a claim on a round below the minimum is rejected, and its reward stays refundable', async () => {
    await expectRevert(rewards, 'claim', [belowMinimumJob, 0n, [claimOf('aliceBelowMinimum', recipientA)]], 'RoundBelowMinimum');
    const j = (await registry.getFunction('getJob')(belowMinimumJob)) as { escrow: bigint };
    expect(j.escrow).toBe(REWARD);
  });

  it('only the coordinator can start or close a round', async () => {
    const other = await publish({ token: await usd.getAddress(), perRound: REWARD, rounds: 1, minimum: 1 });
    await enroll(other, alice);
    const asResearcher = rewards.connect(t.accounts.researcher) as Contract;
    const err = await expectRevert(asResearcher, 'startRound', [other, [0]], 'NotCoordinator');
    expect(err.args).toEqual([other, await t.accounts.researcher.getAddress()]);
    await expectRevert(asResearcher, 'closeRound', [other, [0]], 'NotCoordinator');
  });

  it('a coordinator cannot pay its own identities: only roster members can be in the group', async () => {
    const own = [0, 1, 2].map((i) => new Identity(`trove-test-coordinator-${i}`));
    const target = await publish({ token: await usd.getAddress(), perRound: REWARD, rounds: 1, minimum: 2 });
    for (const id of [alice, bob, carol]) await enroll(target, id);
    const coordinator = rewards.connect(t.accounts.coordinator) as Contract;
    await mined(coordinator.getFunction('startRound')(target, [0, 1, 2]));
    // its own identities enrolled after the roster froze cannot be included...
    for (const id of own) await enroll(target, id);
    await expectRevert(coordinator, 'closeRound', [target, [0, 3]], 'InvalidInclusion');
    // ...nor can the size be inflated by naming a member twice
    await expectRevert(coordinator, 'closeRound', [target, [0, 1, 1]], 'InvalidInclusion');
    await closeRoundOnChain(t.accounts.coordinator, t.deployment, target.toString(), [0, 1, 2]);
    const r = (await rewards.getFunction('getRound')(target, 0n)) as { size: bigint; perMember: bigint };
    expect(r.size).toBe(3n);
    expect(r.perMember).toBe(net / 3n);
    // A proof from the coordinator's own group is refused; an honest member's proof pays.
    const ownGroup = new Group(own.map((i) => i.commitment));
    const forged = await prove(own[0]!, ownGroup, recipientA, target, 0n);
    await expectRevert(rewards, 'claim', [target, 0n, [toRoundClaim(recipientA, forged)]], 'InvalidProof');
    const honest = await prove(carol, new Group([alice, bob, carol].map((i) => i.commitment)), recipientA, target, 0n);
    await mined(rewards.getFunction('claim')(target, 0n, [toRoundClaim(recipientA, honest)], { gasLimit: CLAIM_GAS }));
  });

  it('a cancel cannot take back the reward of a started round; a bonded dropout pays the members, not the researcher', async () => {
    const bond = 50n * 10n ** 6n;
    const bonded = await publish({ token: await usd.getAddress(), perRound: REWARD, rounds: 2, minimum: 1, bond });
    // the contributors' relayer pays the bonds: no contributor wallet is linked to a commitment
    const relayer = await t.accounts.relayer.getAddress();
    await mined(usd.connect(t.accounts.relayer).getFunction('mint')(relayer, 3n * bond));
    await mined(usd.connect(t.accounts.relayer).getFunction('approve')(t.deployment.contracts.RoundRewards, 3n * bond));
    for (const id of [alice, bob, carol]) await enroll(bonded, id);
    const coordinator = rewards.connect(t.accounts.coordinator) as Contract;
    await mined(coordinator.getFunction('startRound')(bonded, [0, 1, 2]));

    const err = await expectRevert(registry, 'settle', [bonded], 'RoundInProgress');
    expect(err.args).toEqual([bonded, 0n]);

    const researcher = await t.accounts.researcher.getAddress();
    const researcherCredit = (await rewards.getFunction('creditOf')(researcher, await usd.getAddress())) as bigint;
    await closeRoundOnChain(t.accounts.coordinator, t.deployment, bonded.toString(), [0, 2]);
    const r = (await rewards.getFunction('getRound')(bonded, 0n)) as { perMember: bigint };
    expect(r.perMember).toBe(net / 2n + bond / 2n);
    expect(await rewards.getFunction('creditOf')(researcher, await usd.getAddress())).toBe(researcherCredit);

    // With the round closed, cancelling refunds only the round not yet earned, once the close
    // can no longer be challenged (the stake stays for that).
    await expectRevert(registry, 'settle', [bonded], 'StakeLocked');
    const window = (await registry.getFunction('challengeWindowSeconds')()) as bigint;
    await t.provider.send('evm_increaseTime', [Number(window) + 1]);
    await t.provider.send('evm_mine', []);
    const balance = (await usd.getFunction('balanceOf')(researcher)) as bigint;
    await mined(registry.getFunction('settle')(bonded));
    const stake = (2n * REWARD * 500n) / 10_000n;
    expect(await usd.getFunction('balanceOf')(researcher)).toBe(balance + REWARD + stake);
    // the kept bonds go back to whoever paid them
    const before = (await rewards.getFunction('creditOf')(relayer, await usd.getAddress())) as bigint;
    await mined(rewards.getFunction('reclaimBond')(bonded, 0));
    await mined(rewards.getFunction('reclaimBond')(bonded, 2));
    expect(await rewards.getFunction('creditOf')(relayer, await usd.getAddress())).toBe(before + 2n * bond);
    await expectRevert(rewards, 'reclaimBond', [bonded, 1], 'BondNotReclaimable');
  });

  it('a round its coordinator leaves open is expired by anyone after the timeout; the stake pays the bonded contributors', async () => {
    const bond = 40n * 10n ** 6n;
    const abandoned = await publish({ token: await usd.getAddress(), perRound: REWARD, rounds: 1, minimum: 1, bond });
    const relayer = await t.accounts.relayer.getAddress();
    await mined(usd.connect(t.accounts.relayer).getFunction('mint')(relayer, 2n * bond));
    await mined(usd.connect(t.accounts.relayer).getFunction('approve')(t.deployment.contracts.RoundRewards, 2n * bond));
    for (const id of [alice, bob]) await enroll(abandoned, id);
    const coordinator = rewards.connect(t.accounts.coordinator) as Contract;
    await mined(coordinator.getFunction('startRound')(abandoned, [0, 1]));
    await expectRevert(registry, 'settle', [abandoned], 'RoundInProgress');
    // Positive control: before the timeout nobody can expire it.
    await expectRevert(rewards, 'expireRound', [abandoned], 'RoundNotExpirable');
    const timeout = (await rewards.getFunction('roundTimeoutSeconds')()) as bigint;
    await t.provider.send('evm_increaseTime', [Number(timeout) + 1]);
    await t.provider.send('evm_mine', []);
    await expectRevert(coordinator, 'closeRound', [abandoned, [0, 1]], 'RoundTimedOut');
    const before = (await rewards.getFunction('creditOf')(relayer, await usd.getAddress())) as bigint;
    await mined(rewards.getFunction('expireRound')(abandoned));
    await mined(rewards.getFunction('reclaimBond')(abandoned, 0));
    await mined(rewards.getFunction('reclaimBond')(abandoned, 1));
    const stake = (REWARD * 500n) / 10_000n;
    expect(await rewards.getFunction('creditOf')(relayer, await usd.getAddress())).toBe(before + 2n * bond + stake);
  });

  it('a hostile reward token cannot re-enter a withdrawal', async () => {
    const host = await t.deploy('HostileToken');
    const hostile = await publish({ token: await host.getAddress(), perRound: REWARD, rounds: 1, minimum: 1 });
    await runRound(hostile, [alice, bob]);
    const proof = await prove(bob, smallRound, recipientB, hostile, 0n);
    await mined(rewards.getFunction('claim')(hostile, 0n, [toRoundClaim(recipientB, proof)], { gasLimit: CLAIM_GAS }));

    const withdrawAgain = rewards.interface.encodeFunctionData('withdraw', [await host.getAddress()]);
    await mined(host.getFunction('arm')(t.deployment.contracts.RoundRewards, withdrawAgain));
    const asRecipient = rewards.connect(t.accounts.bob) as Contract;
    await expectRevert(asRecipient, 'withdraw', [await host.getAddress()], 'ReentrancyGuardReentrantCall');
    expect(await rewards.getFunction('creditOf')(recipientB, await host.getAddress())).toBe(net / 2n);
    expect(await host.getFunction('balanceOf')(t.deployment.contracts.RoundRewards)).toBe(REWARD);
  });
});
