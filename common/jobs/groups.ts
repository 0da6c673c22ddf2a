// Bounded secure-aggregation groups (SecAgg+ at scale): a round's roster, in roster order, is cut
// into contiguous groups of at most the coordinator's group size, as even as possible, and each
// group runs its own secure-aggregation stages and unmasks its own sum; the round's sum is the
// sum of the groups' sums. No group may be smaller than the job's minimum of contributors, so
// fewer, larger groups are used when the roster cannot fill them (docs/secure-aggregation.md says
// what this does to the privacy guarantee). Both sides derive a group's round id the same way.
import { TroveError } from '../errors.js';
import { ROUND_ID_BYTES } from '../secagg/params.js';
import { sodiumNow } from '../secagg/sodium.js';
import { roundIdFor } from './rounds.js';

/** One group: roster positions [start, start + size). */
export interface RoundGroup {
  index: number;
  start: number;
  size: number;
}

/** The groups of a roster of `rosterSize`: each at most `maxGroupSize` where possible, none under `minimum`. */
export function groupsFor(rosterSize: number, maxGroupSize: number, minimum: number): RoundGroup[] {
  if (!Number.isInteger(maxGroupSize) || maxGroupSize < Math.max(2, minimum)) {
    throw new TroveError('INVALID_INPUT', `A secure-aggregation group must hold at least the job's minimum of ${minimum} contributors (and 2); ${maxGroupSize} was asked for.`);
  }
  let count = Math.max(1, Math.ceil(rosterSize / maxGroupSize));
  // Every group must reach the job's minimum: with too few contributors, fewer (larger) groups.
  while (count > 1 && Math.floor(rosterSize / count) < minimum) count--;
  const base = Math.floor(rosterSize / count);
  const larger = rosterSize % count;
  const groups: RoundGroup[] = [];
  let start = 0;
  for (let index = 0; index < count; index++) {
    const size = base + (index < larger ? 1 : 0);
    groups.push({ index, start, size });
    start += size;
  }
  return groups;
}

/** The group holding roster position `position`. */
export function groupOf(groups: readonly RoundGroup[], position: number): RoundGroup {
  const group = groups.find((g) => position >= g.start && position < g.start + g.size);
  if (!group) throw new TroveError('INVALID_INPUT', `Roster position ${position} is in no group of the round.`);
  return group;
}

/**
 * The secure-aggregation round id of group `group` of a round split into `groupCount`: the round's
 * own id when the round is one group, otherwise bound to the group, so a message signed for one
 * group is refused by every other (call after loadSodium).
 */
export function groupRoundIdFor(chainId: string, jobId: string, round: number, group: number, groupCount: number): Uint8Array {
  if (groupCount <= 1) return roundIdFor(chainId, jobId, round);
  const sodium = sodiumNow();
  return sodium.crypto_generichash(ROUND_ID_BYTES, sodium.from_string(`trove-round-group/v1:${chainId}:${jobId}:${round}:${group}:${groupCount}`), null);
}

/** What a contributor takes part with: its group's members, its id among them, and the group's round id. */
export interface InvitedGroup {
  members: string[];
  localId: number;
  roundId: Uint8Array;
}

/**
 * The group an invitation puts this contributor in, checked: the group lies inside the roster,
 * holds this contributor, and is at least the job's minimum (COORDINATOR_PROTOCOL or
 * SECAGG_UNSAFE_REQUEST otherwise; nothing is sent). Call after loadSodium.
 */
export function invitedGroup(
  invite: { round: number; clientId: number; roster: readonly string[]; group?: { index: number; count: number; start: number; size: number } | undefined },
  job: { chainId: string; jobId: string; minContributors: number },
): InvitedGroup {
  const g = invite.group ?? { index: 0, count: 1, start: 0, size: invite.roster.length };
  if (g.index >= g.count || g.start + g.size > invite.roster.length || invite.clientId < g.start || invite.clientId >= g.start + g.size) {
    throw new TroveError('COORDINATOR_PROTOCOL', 'The coordinator placed this device in a secure-aggregation group that does not fit its roster. Nothing was sent.');
  }
  if (g.size < job.minContributors) {
    throw new TroveError('SECAGG_UNSAFE_REQUEST', `The round puts you in a group of ${g.size} contributors, fewer than the job's minimum of ${job.minContributors}. Nothing was sent.`);
  }
  return {
    members: invite.roster.slice(g.start, g.start + g.size),
    localId: invite.clientId - g.start,
    roundId: groupRoundIdFor(job.chainId, job.jobId, invite.round, g.index, g.count),
  };
}
