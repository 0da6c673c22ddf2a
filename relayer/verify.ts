// Checks a claim off-chain before any gas is spent on it: its round is closed and pays, its
// nullifier is unused, it pays this relayer at least this relayer's fee, and its proof verifies
// for the round's root, the claim's scope and the message binding recipient, relayer and fee.
// A relayer cannot redirect a claim: changing any of them breaks the proof.
import { verifyProof } from '@semaphore-protocol/proof';
import { Contract, getAddress, type Provider } from 'ethers';
import { claimMessage, claimScope } from '../common/jobs/claims.js';
import type { RelayedClaim } from '../common/claims/relayer-protocol.js';

const ABI = [
  'function getRound(uint256 jobId, uint256 round) view returns (tuple(uint256 root, address token, uint32 size, uint32 claimed, bool paid, uint128 perMember, uint128 topUpPerMember))',
  'function isNullifierUsed(uint256 nullifier) view returns (bool)',
];

export type Verdict = { ok: true } | { ok: false; alreadyClaimed: boolean; reason: string };

export class ClaimVerifier {
  private readonly rewards: Contract;

  constructor(
    provider: Provider,
    private readonly chainId: bigint,
    private readonly roundRewards: string,
    private readonly relayer: string,
    private readonly fee: bigint,
  ) {
    this.rewards = new Contract(roundRewards, ABI, provider);
  }

  async check(claim: RelayedClaim): Promise<Verdict> {
    if (getAddress(claim.relayer) !== getAddress(this.relayer)) return { ok: false, alreadyClaimed: false, reason: 'The claim pays its fee to another relayer.' };
    if (BigInt(claim.fee) < this.fee) return { ok: false, alreadyClaimed: false, reason: `This relayer's fee is ${this.fee}; the claim offers ${claim.fee}.` };
    if (getAddress(claim.recipient) === getAddress('0x0000000000000000000000000000000000000000')) return { ok: false, alreadyClaimed: false, reason: 'The claim has no recipient.' };
    if ((await this.rewards.getFunction('isNullifierUsed')(BigInt(claim.nullifier))) as boolean) return { ok: false, alreadyClaimed: true, reason: 'This round was already claimed.' };
    const round = (await this.rewards.getFunction('getRound')(BigInt(claim.jobId), claim.round)) as { root: bigint; paid: boolean; perMember: bigint };
    if (round.root === 0n || !round.paid) return { ok: false, alreadyClaimed: false, reason: 'The round is not closed or pays nothing.' };
    if (BigInt(claim.fee) > round.perMember) return { ok: false, alreadyClaimed: false, reason: 'The fee is more than the share.' };
    const valid = await verifyProof({
      merkleTreeDepth: claim.merkleTreeDepth,
      merkleTreeRoot: round.root.toString(),
      nullifier: claim.nullifier,
      message: claimMessage(claim.recipient, claim.relayer, BigInt(claim.fee)).toString(),
      scope: claimScope(this.chainId, this.roundRewards, BigInt(claim.jobId), BigInt(claim.round)).toString(),
      points: claim.points as never,
    });
    return valid ? { ok: true } : { ok: false, alreadyClaimed: false, reason: 'The proof does not verify for this round, recipient and fee.' };
  }
}

/**
 * snarkjs keeps one bn128 engine with worker threads for the whole process once a proof was
 * verified; a process that is done verifying (the relayer CLI, the demo) lets it go so it can exit.
 */
export async function releaseVerifierThreads(): Promise<void> {
  const shared = (globalThis as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128;
  if (shared) await shared.terminate();
}
