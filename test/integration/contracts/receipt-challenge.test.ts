// The optimistic close's challenge on a real local chain: the coordinator's key signs an EIP-712
// receipt for each masked input (common/jobs/masked-input-receipt.ts, as the coordinator does), the
// app's check accepts it, and a contributor whose input the posted list omits wins the challenge
// with its identity's real depth-1 Semaphore proof choosing the recipient, paid from the
// researcher's stake. Controls: an honest close (everyone included) cannot be challenged, the
// coordinator cannot collect for the identity, and the stake stays until the window has passed.
import { closeRoundOnChain } from '../../../coordinator/chain.js';
import { Group } from '@semaphore-protocol/group';
import { Identity } from '@semaphore-protocol/identity';
import { generateProof } from '@semaphore-protocol/proof';
import { hexlify, randomBytes, type Contract, type TypedDataDomain } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { circuitArtifacts } from '../../../contracts/artifacts.js';
import {
  challengeMessage,
  challengeScope,
  checkMaskedInputReceipt,
  maskedInputHash,
  receiptDomain,
  signMaskedInputReceipt,
  type SignedMaskedInputReceipt,
} from '../../../common/jobs/masked-input-receipt.js';
import { TroveError } from '../../../common/errors.js';
import { enrollWithProof, type EnrollmentRef } from '../../fixtures/enrollment-proof.js';
import { expectRevert, mined, startTroveChain, type TroveChain } from '../../fixtures/trove-chain.js';

const REWARD = 900n * 10n ** 6n;
const ROUNDS = 10;

describe('receipt challenges of a close that omits an acknowledged masked input', () => {
  let t: TroveChain;
  let usd: Contract;
  let rewards: Contract;
  let challenges: Contract;
  let registry: Contract;
  let domain: TypedDataDomain;
  let coordinatorAddress: string;
  const people = ['alice', 'bob', 'carol'].map((n) => new Identity(`receipt-challenge-${n}`));
  const recipient = '0x00000000000000000000000000000000000C0FFE';

  beforeAll(async () => {
    t = await startTroveChain();
    usd = await t.deploy('TestToken', ['Test Dollar', 'TUSD']);
    const researcher = t.accounts.researcher;
    await mined(usd.connect(researcher).getFunction('mint')(await researcher.getAddress(), 10n ** 15n));
    rewards = t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.accounts.coordinator);
    challenges = t.at('ReceiptChallenges', t.deployment.contracts.ReceiptChallenges, t.accounts.relayer);
    registry = t.at('JobRegistry', t.deployment.contracts.JobRegistry, researcher);
    domain = receiptDomain(t.chainId, t.deployment.contracts.ReceiptChallenges);
    coordinatorAddress = await t.accounts.coordinator.getAddress();
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  async function publishAndEnroll(): Promise<bigint> {
    await mined(usd.connect(t.accounts.researcher).getFunction('approve')(await registry.getAddress(), 10n ** 15n));
    const block = await t.provider.getBlock('latest');
    const receipt = await mined(
      registry.getFunction('publish')({
        specHash: hexlify(randomBytes(32)),
        specURI: 'ipfs://job-spec',
        coordinator: coordinatorAddress,
        rewardToken: await usd.getAddress(),
        rewardPerRound: REWARD,
        rounds: ROUNDS,
        minContributors: 1,
        deadline: BigInt(block!.timestamp) + 30n * 86_400n,
        bondAmount: 0n,
      }),
    );
    const jobId = receipt.logs.map((l) => registry.interface.parseLog(l)).find((e) => e?.name === 'JobPublished')!.args.getValue('jobId') as bigint;
    const ref: EnrollmentRef = { chainId: t.chainId, registry: t.deployment.contracts.JobRegistry };
    const relayed = t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.accounts.relayer);
    for (const id of people) await mined(enrollWithProof(relayed, ref, jobId, id, hexlify(randomBytes(32))));
    return jobId;
  }

  /** The coordinator's receipt for each member's masked input, checked by the app's check. */
  async function receipts(jobId: bigint, round: bigint): Promise<SignedMaskedInputReceipt[]> {
    const rosterHash = ((await rewards.getFunction('rosterOf')(jobId, round)) as { hash: string }).hash;
    const out: SignedMaskedInputReceipt[] = [];
    for (const id of people) {
      const fields = { jobId, round, rosterHash, commitment: id.commitment, maskedInputHash: maskedInputHash(randomBytes(64)) };
      const signed = await signMaskedInputReceipt(t.accounts.coordinator, domain, fields);
      expect(checkMaskedInputReceipt(signed, { domain, coordinator: coordinatorAddress, receipt: fields })).toEqual(signed);
      out.push(signed);
    }
    return out;
  }

  function challengeArgs(r: SignedMaskedInputReceipt, position: number, included: number[], proof: { nullifier: bigint; points: bigint[] }) {
    const { signature, ...receipt } = r;
    return { receipt: { ...receipt, jobId: BigInt(receipt.jobId), round: BigInt(receipt.round), commitment: BigInt(receipt.commitment) }, signature, position, included, recipient, proof };
  }

  /** Why the app's check refused a receipt (it must refuse, with COORDINATOR_PROTOCOL). */
  function refusal(check: () => unknown): string {
    try {
      check();
    } catch (err) {
      expect(err).toBeInstanceOf(TroveError);
      expect((err as TroveError).code).toBe('COORDINATOR_PROTOCOL');
      return String((err as TroveError).details?.reason);
    }
    throw new Error('the receipt was accepted');
  }

  /** The identity's real depth-1 proof that its compensation for (jobId, round) goes to `to`. */
  async function claimantProof(id: Identity, jobId: bigint, round: bigint, to: string) {
    const p = await generateProof(id, new Group([id.commitment]), challengeMessage(to), challengeScope(t.chainId, t.deployment.contracts.ReceiptChallenges, jobId, round), 1, circuitArtifacts(1));
    return { nullifier: BigInt(p.nullifier), points: p.points.map(BigInt) };
  }

  it('pays an omitted contributor from the stake; an included one, a forged receipt and the coordinator are refused', async () => {
    const jobId = await publishAndEnroll();
    await mined(rewards.getFunction('startRound')(jobId, [0, 1, 2]));
    const signed = await receipts(jobId, 0n);
    // The app's check refuses a receipt signed by anyone else, or for another input.
    const carols = { ...signed[2]!, jobId, round: 0n, commitment: people[2]!.commitment };
    const stranger = await signMaskedInputReceipt(t.accounts.bob, domain, carols);
    expect(refusal(() => checkMaskedInputReceipt(stranger, { domain, coordinator: coordinatorAddress, receipt: carols }))).toMatch(/not by the job's coordinator/);
    const otherInput = { ...carols, maskedInputHash: maskedInputHash(randomBytes(8)) };
    expect(refusal(() => checkMaskedInputReceipt(signed[2], { domain, coordinator: coordinatorAddress, receipt: otherInput }))).toMatch(/another masked input/);
    // a coordinator that answers without a receipt, or for another deployment's domain
    expect(refusal(() => checkMaskedInputReceipt(null, { domain, coordinator: coordinatorAddress, receipt: carols }))).toMatch(/missing/);
    const elsewhere = receiptDomain(t.chainId, t.deployment.contracts.RoundRewards);
    expect(refusal(() => checkMaskedInputReceipt(signed[2], { domain: elsewhere, coordinator: coordinatorAddress, receipt: carols }))).toMatch(/not by the job's coordinator/);

    // carol's masked input was acknowledged, and the close leaves her out
    await closeRoundOnChain(t.accounts.coordinator, t.deployment, jobId.toString(), [0, 1]);
    const stake = ((await registry.getFunction('getJob')(jobId)) as { stake: bigint }).stake;
    const proof = await claimantProof(people[2]!, jobId, 0n, recipient);

    // alice was included: her receipt wins nothing (control for the honest part of the close)
    const aliceProof = await claimantProof(people[0]!, jobId, 0n, recipient);
    await expectRevert(challenges, 'challenge', [jobId, 0n, challengeArgs(signed[0]!, 0, [0, 1], aliceProof)], 'ContributorIncluded');
    // a receipt signed by another key is refused
    await expectRevert(challenges, 'challenge', [jobId, 0n, challengeArgs(stranger, 2, [0, 1], proof)], 'InvalidReceipt');
    // the coordinator holds the receipt but not carol's identity: it cannot send the money to itself
    const toCoordinator = { ...challengeArgs(signed[2]!, 2, [0, 1], proof), recipient: coordinatorAddress };
    await expectRevert(challenges, 'challenge', [jobId, 0n, toCoordinator], 'ChallengeNotAuthorized');

    const receipt = await mined(challenges.getFunction('challenge')(jobId, 0n, challengeArgs(signed[2]!, 2, [0, 1], proof), { gasLimit: 1_000_000n }));
    const owed = REWARD / 3n;
    expect(await usd.getFunction('balanceOf')(recipient)).toBe(owed);
    expect(((await registry.getFunction('getJob')(jobId)) as { stake: bigint }).stake).toBe(stake - owed);
    const event = receipt.logs.map((l) => challenges.interface.parseLog(l)).find((e) => e?.name === 'ReceiptChallenged')!;
    expect(event.args.getValue('paid')).toBe(owed);
    console.log(`receipt challenge: ${receipt.gasUsed} gas (roster of 3, depth-1 proof)`);
    await expectRevert(challenges, 'challenge', [jobId, 0n, challengeArgs(signed[2]!, 2, [0, 1], proof)], 'AlreadyChallenged');

    // an honest close of round 1 (everyone included) cannot be challenged by anyone
    await mined(rewards.getFunction('startRound')(jobId, [0, 1, 2]));
    const next = await receipts(jobId, 1n);
    await closeRoundOnChain(t.accounts.coordinator, t.deployment, jobId.toString(), [0, 1, 2]);
    for (const [i, id] of people.entries()) {
      const p = await claimantProof(id, jobId, 1n, recipient);
      await expectRevert(challenges, 'challenge', [jobId, 1n, challengeArgs(next[i]!, i, [0, 1, 2], p)], 'ContributorIncluded');
    }
    // nor with round 0's receipt carried over
    await expectRevert(challenges, 'challenge', [jobId, 1n, challengeArgs(signed[2]!, 2, [0, 1, 2], proof)], 'ReceiptNotForRound');

    // the stake stays until the last close's window has passed, then settles
    await expectRevert(registry, 'settle', [jobId], 'StakeLocked');
    const window = (await challenges.getFunction('challengeWindowSeconds')()) as bigint;
    await t.provider.send('evm_increaseTime', [Number(window) + 1]);
    await t.provider.send('evm_mine', []);
    await expectRevert(challenges, 'challenge', [jobId, 0n, challengeArgs(signed[1]!, 1, [0, 1], aliceProof)], 'ChallengeWindowClosed');
    await mined(registry.getFunction('settle')(jobId));
  }, 240_000);
});
