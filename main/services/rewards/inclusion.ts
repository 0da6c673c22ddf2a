// Which closed rounds this person was included in. The coordinator says which roster positions
// were in each round's sum; it may lie (leave someone out, add someone, reorder). RoundRewards
// built the round's group on-chain from exactly the positions the coordinator sent it, so the
// list is trusted only when the group it gives (the LeanIMT of those positions' enrolled
// commitments, in roster order) has the root and size the chain holds.
import { Group } from '@semaphore-protocol/group';
import { TroveError } from '../../../common/errors.js';
import type { ClosedRound, RewardsChain } from './chain.js';

export interface VerifiedGroup {
  /** Members' commitments in the order the contract inserted them (the proof is made over these). */
  members: bigint[];
  root: bigint;
}

/** The round's group from the coordinator's included positions, checked against the chain. */
export async function verifiedGroup(chain: RewardsChain, jobId: string, round: number, closed: ClosedRound, includedPositions: readonly number[]): Promise<VerifiedGroup> {
  const roster = await chain.rosterCommitments(jobId, round);
  const sorted = [...includedPositions].sort((a, b) => a - b);
  const valid = sorted.every((p, i) => Number.isInteger(p) && p >= 0 && p < roster.length && (i === 0 || p > sorted[i - 1]!));
  const members = valid ? sorted.map((p) => roster[p]!) : [];
  const group = new Group(members);
  if (!valid || members.length !== closed.size || group.root !== closed.root) {
    throw new TroveError(
      'INCLUDED_LIST_MISMATCH',
      `The coordinator's list of who was included in round ${round + 1} does not match the group closed on-chain. Nothing was claimed; the list is not trusted.`,
      { jobId, round, listed: includedPositions.length, onChain: closed.size },
    );
  }
  return { members, root: group.root };
}
