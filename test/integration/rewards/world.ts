// A paid job on a real local chain with real contracts: a researcher publishes it, contributors
// enroll, and the coordinator's account starts and closes rounds with the included positions.
// One contributor is "me": a vault whose per-job identity the claims service derives.
import { Identity } from '@semaphore-protocol/identity';
import { hexlify, randomBytes, type Contract } from 'ethers';
import { deriveJobIdentity, type JobRef } from '../../../main/services/jobs/identity.js';
import type { Vault } from '../../../main/services/vault/index.js';
import { closeRoundOnChain } from '../../../coordinator/chain.js';
import { mined, type TroveChain } from '../../fixtures/trove-chain.js';
import { enrollWithProof } from '../../fixtures/enrollment-proof.js';

export const SHARE_TOTAL = 900n * 10n ** 6n;

export interface PaidJob {
  jobId: bigint;
  ref: JobRef;
  token: Contract;
  /** My commitment, and the others', in enrollment order (me first). */
  commitments: bigint[];
}

/** Publishes a job of `rounds` rounds (minimum 2) paying SHARE_TOTAL per round in a test token. */
export async function publishPaidJob(t: TroveChain, me: Vault, others: number, rounds: number): Promise<PaidJob> {
  const token = await t.deploy('TestToken', ['Test Dollar', 'TUSD']);
  const registry = t.at('JobRegistry', t.deployment.contracts.JobRegistry, t.accounts.researcher);
  const escrow = SHARE_TOTAL * BigInt(rounds);
  const total = escrow + escrow / 10n;
  await mined(token.connect(t.accounts.deployer).getFunction('mint')(await t.accounts.researcher.getAddress(), total) as never);
  await mined(token.connect(t.accounts.researcher).getFunction('approve')(await registry.getAddress(), total) as never);
  const block = await t.provider.getBlock('latest');
  const receipt = await mined(
    registry.getFunction('publish')({
      specHash: hexlify(randomBytes(32)),
      specURI: 'ipfs://job-spec',
      coordinator: await t.accounts.coordinator.getAddress(),
      rewardToken: await token.getAddress(),
      rewardPerRound: SHARE_TOTAL,
      rounds,
      minContributors: 2,
      deadline: BigInt(block!.timestamp) + 30n * 86_400n,
      bondAmount: 0n,
    }),
  );
  const event = receipt.logs.map((l) => registry.interface.parseLog(l)).find((e) => e?.name === 'JobPublished');
  const jobId = event!.args.getValue('jobId') as bigint;
  const ref: JobRef = { chainId: t.chainId.toString(), registry: t.deployment.contracts.JobRegistry, jobId: jobId.toString() };
  const mine = await deriveJobIdentity(me, ref);
  const identities = [mine.semaphore, ...Array.from({ length: others }, (_, i) => new Identity(`claims-world-${jobId}-${i}`))];
  const commitments = identities.map((id) => id.commitment);
  const rewards = t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.accounts.relayer);
  for (const id of identities) await mined(enrollWithProof(rewards, { chainId: t.chainId, registry: t.deployment.contracts.JobRegistry }, jobId, id, hexlify(randomBytes(32))));
  mine.wipe();
  return { jobId, ref, token, commitments };
}

/** Starts the job's next round with every enrolled entry and closes it with `included` roster positions. */
export async function runRound(t: TroveChain, job: PaidJob, included: number[]): Promise<void> {
  const coordinator = t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.accounts.coordinator);
  await mined(coordinator.getFunction('startRound')(job.jobId, job.commitments.map((_, i) => i)));
  // Closed as the coordinator closes one (its gas headroom included).
  await closeRoundOnChain(t.accounts.coordinator, t.deployment, job.jobId.toString(), included);
}

/** What each included member of the round is paid, as the contract computed it at close. */
export async function shareOf(t: TroveChain, job: PaidJob, round: number): Promise<bigint> {
  const rewards = t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.provider);
  return ((await rewards.getFunction('getRound')(job.jobId, round)) as { perMember: bigint }).perMember;
}
