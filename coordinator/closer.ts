// The on-chain side of a round for the coordinator: every participant must be enrolled on-chain
// (relayed here at enrollment when the job takes no bond, with the identity's own proof) and, before
// a round starts, the roster frozen with
// startRound, in enrollment order, so each client can check it against the chain. Participants the
// chain does not list (a bonded job's contributor who has not enrolled there) are left out. Once
// the round has its outcome, it is closed on-chain with the roster positions it included.
import { TroveError, isTroveError } from '../common/errors.js';
import type { TroveDeployment } from '../contracts/deploy.js';
import { rosterHash } from '../common/jobs/roster-hash.js';
import { closeRoundOnChain, enrollOnChain, enrollmentsOnChain, roundClosedTx, startRoundOnChain } from './chain.js';
import type { CoordinatorStore } from './store.js';
import type { EnrollmentProof } from '../common/jobs/enrollment-proof.js';
import type { Provider, Signer } from 'ethers';

export interface RosterParticipant {
  signingKey: string;
  commitment: string;
}

export interface ChainAccess {
  coordinator: Signer;
  provider: Provider;
  deployment: TroveDeployment;
}

/**
 * Relays a contributor's on-chain enrollment, authorized by its identity's proof; nothing to do
 * when that commitment is already enrolled with that roster key (a retried enrollment).
 */
export async function relayEnrollment(chain: ChainAccess, jobId: string, p: RosterParticipant, proof: EnrollmentProof): Promise<void> {
  const enrolled = await enrollmentsOnChain(chain.provider, chain.deployment, jobId);
  const same = enrolled.find((e) => e.commitment === p.commitment);
  if (same && same.rosterKey === p.signingKey.toLowerCase()) return;
  if (same) throw new TroveError('INVALID_INPUT', 'This Semaphore commitment has already enrolled in the job with another signing key.');
  try {
    await enrollOnChain(chain.coordinator, chain.deployment, jobId, p.commitment, p.signingKey, proof);
  } catch (err) {
    // The contributor's own proof was refused: its request is at fault, not the chain.
    if (isTroveError(err, 'CHAIN_REJECTED') && err.details?.error === 'EnrollmentNotAuthorized') {
      throw new TroveError('INVALID_INPUT', "The enrollment's proof does not authorize this commitment and signing key for this job.");
    }
    throw err;
  }
}

/**
 * Freezes the roster on-chain from the participants enrolled there and returns them in roster
 * order, with the block that froze it. Throws when fewer than `minimum` can be on the roster.
 */
export async function freezeRoster<P extends RosterParticipant>(chain: ChainAccess, jobId: string, participants: readonly P[], options: { minimum: number }): Promise<{ roster: P[]; startBlock: number }> {
  const enrolled = await enrollmentsOnChain(chain.provider, chain.deployment, jobId);
  const index = new Map(enrolled.map((e) => [`${e.commitment}/${e.rosterKey}`, e.index]));
  const listed = participants
    .map((p) => ({ p, at: index.get(`${p.commitment}/${p.signingKey.toLowerCase()}`) }))
    .filter((x): x is { p: P; at: number } => x.at !== undefined)
    .sort((a, b) => a.at - b.at);
  if (listed.length < options.minimum) {
    throw new TroveError('CHAIN_REJECTED', `Only ${listed.length} of job ${jobId}'s contributors are enrolled on-chain; the round needs ${options.minimum}.`);
  }
  const roster = listed.map((x) => x.p);
  const started = await startRoundOnChain(chain.coordinator, chain.deployment, jobId, listed.map((x) => x.at));
  // What every client will compare its invitation with: it must be this roster, in this order.
  if (started.rosterHash !== rosterHash(roster.map((p) => p.signingKey))) {
    throw new TroveError('CHAIN_REJECTED', `The roster frozen on-chain for job ${jobId} is not the one this coordinator is about to invite.`);
  }
  return { roster, startBlock: started.block };
}

/**
 * Closes a round whose outcome is recorded (stage 'closing') on-chain with the roster positions it
 * included; returns the transaction hash for the caller to record.
 */
export async function closeRound(chain: ChainAccess | undefined, store: CoordinatorStore, jobId: string, round: number): Promise<string> {
  if (!chain) throw new TroveError('CHAIN_UNREACHABLE', `Round ${round} of job ${jobId} is ready to close, but this coordinator has no chain configured.`);
  const row = (await store.round(jobId, round))!;
  // Closed already by a coordinator process that died before it could record it: record that close.
  const closed = await roundClosedTx(chain.provider, chain.deployment, jobId, round, row.startBlock ?? 0);
  if (closed) return closed;
  // Roster positions: the contract builds the group of their commitments itself.
  return closeRoundOnChain(chain.coordinator, chain.deployment, jobId, row.included ?? []);
}

/** How long to wait after the `attempts`-th failed close: doubling from `baseMs`, never over `maxMs`. */
export function closeRetryDelayMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
}
