// The researcher's and the coordinator's transactions: publishing a job with its escrow, closing
// each round with its contributor group, and cancelling. A node that cannot be reached is
// CHAIN_UNREACHABLE; a contract that refuses is CHAIN_REJECTED naming the contract's own error.
import { Contract, Interface, isCallException, isError, type ContractRunner, type Provider, type Signer, type TransactionReceipt } from 'ethers';
import { TroveError } from '../common/errors.js';
import type { AnyJobDocument } from '../common/jobs/kinds.js';
import { loadArtifact, type ContractName } from '../contracts/artifacts.js';
import type { TroveDeployment } from '../contracts/deploy.js';
import type { EnrollmentProof } from '../common/jobs/enrollment-proof.js';

/** Every custom error the contracts a coordinator calls can revert with. */
let errorsInterface: Interface | undefined;
function contractErrors(): Interface {
  errorsInterface ??= new Interface(
    (['RoundRewards', 'JobRegistry', 'TroveToken'] as const).flatMap((n) => (loadArtifact(n).abi as { type: string }[]).filter((f) => f.type === 'error')) as never,
  );
  return errorsInterface;
}

function contract(name: ContractName, address: string, runner: ContractRunner): Contract {
  return new Contract(address, loadArtifact(name).abi as never, runner);
}

/** Turns an ethers failure into CHAIN_REJECTED (with the revert's name) or CHAIN_UNREACHABLE. */
export function chainError(err: unknown, action: string): TroveError {
  if (err instanceof TroveError) return err;
  if (isCallException(err)) {
    let name: string | undefined;
    let args: string[] = [];
    if (err.data) {
      try {
        const parsed = contractErrors().parseError(err.data);
        if (parsed) {
          name = parsed.name;
          args = parsed.args.map((a: unknown) => String(a));
        }
      } catch {
        name = undefined;
      }
    }
    const reason = name ? `${name}(${args.join(', ')})` : (err.reason ?? 'the transaction reverted');
    return new TroveError('CHAIN_REJECTED', `The chain refused to ${action}: ${reason}.`, { error: name ?? null, args }, { cause: err });
  }
  if (isError(err, 'INSUFFICIENT_FUNDS') || isError(err, 'NONCE_EXPIRED') || isError(err, 'REPLACEMENT_UNDERPRICED')) {
    return new TroveError('CHAIN_REJECTED', `The chain refused to ${action}: ${err.shortMessage}.`, { error: err.code }, { cause: err });
  }
  return new TroveError('CHAIN_UNREACHABLE', `The chain cannot be reached to ${action}. Check the RPC address and try again.`, undefined, { cause: err });
}

async function send(action: string, tx: () => Promise<{ wait(): Promise<TransactionReceipt | null> }>): Promise<TransactionReceipt> {
  let receipt: TransactionReceipt | null;
  try {
    receipt = await (await tx()).wait();
  } catch (err) {
    throw chainError(err, action);
  }
  if (!receipt || receipt.status !== 1) throw new TroveError('CHAIN_REJECTED', `The chain refused to ${action}: the transaction failed.`);
  return receipt;
}

export interface PublishedJob {
  jobId: string;
  tx: string;
  /** What left the researcher's account: the reward escrow plus the stake. */
  escrow: bigint;
  stake: bigint;
}

/**
 * Approves the reward token for the escrow and stake, publishes the job in JobRegistry and reads
 * its id from the JobPublished event.
 */
export async function publishJob(researcher: Signer, deployment: TroveDeployment, document: AnyJobDocument, specHash: string, specURI: string): Promise<PublishedJob> {
  const registry = contract('JobRegistry', deployment.contracts.JobRegistry, researcher);
  const token = contract('TroveToken', document.reward.token, researcher);
  let stakeBps: bigint;
  try {
    stakeBps = BigInt(await registry.getFunction('stakeBps')());
  } catch (err) {
    throw chainError(err, 'read the registry');
  }
  const escrow = BigInt(document.reward.perRound) * BigInt(document.rounds);
  const stake = (escrow * stakeBps) / 10_000n;
  await send('approve the reward escrow', () => token.getFunction('approve')(deployment.contracts.JobRegistry, escrow + stake));
  const receipt = await send('publish the job', () =>
    registry.getFunction('publish')({
      specHash,
      specURI,
      coordinator: document.coordinator.address,
      rewardToken: document.reward.token,
      rewardPerRound: BigInt(document.reward.perRound),
      rounds: document.rounds,
      minContributors: document.minContributors,
      deadline: document.deadline,
      bondAmount: BigInt(document.reward.bond),
    }),
  );
  for (const log of receipt.logs) {
    const parsed = registry.interface.parseLog(log);
    if (parsed?.name === 'JobPublished') return { jobId: (parsed.args[0] as bigint).toString(), tx: receipt.hash, escrow, stake };
  }
  throw new TroveError('CHAIN_REJECTED', 'The publish transaction was mined without a JobPublished event.');
}

/** One enrolled entry of a job on-chain: its place in the job's enrollment list. */
export interface OnChainEnrollment {
  index: number;
  commitment: string;
  /** 32-byte Ed25519 signing key, hex without 0x. */
  rosterKey: string;
}

/** Every entry enrolled in the job on-chain, in enrollment order. */
export async function enrollmentsOnChain(provider: Provider, deployment: TroveDeployment, jobId: string): Promise<OnChainEnrollment[]> {
  const rewards = contract('RoundRewards', deployment.contracts.RoundRewards, provider);
  try {
    const count = Number(await rewards.getFunction('enrollmentCount')(BigInt(jobId)));
    const out: OnChainEnrollment[] = [];
    for (let index = 0; index < count; index++) {
      const e = (await rewards.getFunction('enrollmentOf')(BigInt(jobId), index)) as { commitment: bigint; rosterKey: string };
      out.push({ index, commitment: e.commitment.toString(), rosterKey: e.rosterKey.slice(2).toLowerCase() });
    }
    return out;
  } catch (err) {
    throw chainError(err, 'read the enrolled contributors');
  }
}

/**
 * Enrolls a contributor on-chain on its behalf (the coordinator relays, so the contributor needs
 * no ETH), with the identity's own authorization; a job with a bond would take it from the relayer,
 * so bonded contributors enroll themselves.
 */
export async function enrollOnChain(relayer: Signer, deployment: TroveDeployment, jobId: string, commitment: string, rosterKey: string, proof: EnrollmentProof): Promise<string> {
  const rewards = contract('RoundRewards', deployment.contracts.RoundRewards, relayer);
  const receipt = await send(`enroll a contributor in job ${jobId}`, () => rewards.getFunction('enroll')(BigInt(jobId), BigInt(commitment), `0x${rosterKey}`, proof));
  return receipt.hash;
}

/** Freezes the roster of the job's next round (enrollment indices, increasing); returns the transaction, its block and the stored roster hash. */
export async function startRoundOnChain(coordinator: Signer, deployment: TroveDeployment, jobId: string, entries: readonly number[]): Promise<{ tx: string; block: number; rosterHash: string }> {
  const rewards = contract('RoundRewards', deployment.contracts.RoundRewards, coordinator);
  const receipt = await send(`start a round of job ${jobId}`, () => rewards.getFunction('startRound')(BigInt(jobId), [...entries]));
  for (const log of receipt.logs) {
    const parsed = rewards.interface.parseLog(log);
    if (parsed?.name === 'RoundStarted') return { tx: receipt.hash, block: receipt.blockNumber, rosterHash: parsed.args.getValue('rosterHash') as string };
  }
  throw new TroveError('CHAIN_REJECTED', 'The start transaction was mined without a RoundStarted event.');
}

/**
 * Closes the job's started round on-chain with the roster positions whose masked update was in the
 * sum; the contract builds the group from them. Returns the transaction hash.
 */
export async function closeRoundOnChain(coordinator: Signer, deployment: TroveDeployment, jobId: string, included: readonly number[]): Promise<string> {
  const rewards = contract('RoundRewards', deployment.contracts.RoundRewards, coordinator);
  const sorted = [...included].sort((a, b) => a - b);
  const close = rewards.getFunction('closeRound');
  // A close's gas depends on the block it lands in (a new emission epoch writes more), not only on
  // the state it was estimated against: a quarter more than the estimate keeps it from running out.
  const receipt = await send(`close a round of job ${jobId}`, async () => {
    const estimate = await close.estimateGas(BigInt(jobId), sorted);
    return close(BigInt(jobId), sorted, { gasLimit: (estimate * 5n) / 4n });
  });
  return receipt.hash;
}

/**
 * The transaction that closed round `round` of the job on-chain, if one did: a coordinator process
 * that took the close over from one that died after sending it must not send it again. The search
 * starts at `fromBlock`, the block that started the round (no close can come before it), not at
 * the chain's first block, which on a long-lived chain is a scan a node may refuse.
 */
export async function roundClosedTx(provider: Provider, deployment: TroveDeployment, jobId: string, round: number, fromBlock = 0): Promise<string | undefined> {
  const rewards = contract('RoundRewards', deployment.contracts.RoundRewards, provider);
  try {
    const logs = await rewards.queryFilter(rewards.filters.RoundClosed!(BigInt(jobId), BigInt(round)), fromBlock);
    return logs[0]?.transactionHash;
  } catch (err) {
    throw new TroveError('CHAIN_UNREACHABLE', `The chain cannot be reached to see whether round ${round} of job ${jobId} is closed.`, undefined, { cause: err });
  }
}

/** Cancels (settles) a job: unearned escrow and the stake go back to the researcher. */
export async function cancelJob(researcher: Signer, deployment: TroveDeployment, jobId: string): Promise<{ tx: string; refund: bigint; stake: bigint; cancelled: boolean }> {
  const registry = contract('JobRegistry', deployment.contracts.JobRegistry, researcher);
  const receipt = await send(`cancel job ${jobId}`, () => registry.getFunction('settle')(BigInt(jobId)));
  for (const log of receipt.logs) {
    const parsed = registry.interface.parseLog(log);
    if (parsed?.name === 'JobSettled') {
      return { tx: receipt.hash, refund: parsed.args[1] as bigint, stake: parsed.args[2] as bigint, cancelled: parsed.args[3] as boolean };
    }
  }
  throw new TroveError('CHAIN_REJECTED', 'The cancel transaction was mined without a JobSettled event.');
}
