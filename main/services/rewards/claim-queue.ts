// The claims waiting to land, sealed in the vault with everything else the person owns, so they
// survive restarts, backups and restores. A claim is keyed by its job and round: adding the same
// round twice keeps the first (a proof for a round has one nullifier, so one payment). States:
// queued -> submitted -> claimed, with a failed submission back to queued after a backoff.
import { z } from 'zod';
import { claimProofSchema } from '../../../common/worker-protocol.js';
import type { Vault } from '../vault/index.js';

const SETTING = 'rewards.claimQueue';

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const decimal = z.string().regex(/^[0-9]{1,80}$/);

export const CLAIM_STATES = ['queued', 'submitted', 'claimed'] as const;
export type ClaimState = (typeof CLAIM_STATES)[number];

export const queuedClaimSchema = z
  .object({
    jobId: decimal,
    round: z.number().int().min(0),
    /** The round's token and what this person's share is worth in it (and in TROVE on top). */
    token: address,
    amount: decimal,
    topUp: decimal,
    recipient: address,
    relayer: address,
    fee: decimal,
    proof: claimProofSchema,
    state: z.enum(CLAIM_STATES),
    attempts: z.number().int().min(0),
    /** Not sent before this time (ms): the random delay, then the backoff after a failure. */
    notBefore: z.number(),
    tx: z.string().regex(/^0x[0-9a-fA-F]{64}$/).nullable(),
    /** Why the last attempt did not land, in words. */
    lastError: z.string().max(2000).nullable(),
    updatedAt: z.number(),
  })
  .strict();
export type QueuedClaim = z.infer<typeof queuedClaimSchema>;

const storedSchema = z.array(queuedClaimSchema).max(100_000);

export function claimKey(jobId: string, round: number): string {
  return `${jobId}/${round}`;
}

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 5_000, maxMs: 15 * 60_000 };

export class ClaimQueue {
  private readonly claims = new Map<string, QueuedClaim>();

  private constructor(
    private readonly vault: Vault,
    private readonly backoff: BackoffOptions,
  ) {}

  /** Opens the queue sealed in the (unlocked) vault. */
  static open(vault: Vault, backoff: BackoffOptions = DEFAULT_BACKOFF): ClaimQueue {
    const queue = new ClaimQueue(vault, backoff);
    const stored = storedSchema.safeParse(vault.getSetting(SETTING) ?? []);
    // A vault setting is sealed and authenticated: a shape it does not have is a bug, not an attack.
    if (!stored.success) throw new Error(`The claim queue in the vault has an unknown shape: ${stored.error.message}`);
    for (const c of stored.data) queue.claims.set(claimKey(c.jobId, c.round), c);
    return queue;
  }

  all(): QueuedClaim[] {
    return [...this.claims.values()].sort((a, b) => (a.jobId === b.jobId ? a.round - b.round : a.jobId < b.jobId ? -1 : 1));
  }

  get(jobId: string, round: number): QueuedClaim | undefined {
    return this.claims.get(claimKey(jobId, round));
  }

  /** Queued claims whose time has come. */
  due(now: number): QueuedClaim[] {
    return this.all().filter((c) => c.state === 'queued' && c.notBefore <= now);
  }

  /** When the next queued claim may be sent (null when none waits). */
  nextAt(): number | null {
    const waiting = this.all().filter((c) => c.state === 'queued');
    return waiting.length === 0 ? null : Math.min(...waiting.map((c) => c.notBefore));
  }

  /** Adds claims not already queued (same job and round); returns those added. */
  async add(claims: readonly QueuedClaim[]): Promise<QueuedClaim[]> {
    const added = claims.filter((c) => !this.claims.has(claimKey(c.jobId, c.round)));
    for (const c of added) this.claims.set(claimKey(c.jobId, c.round), queuedClaimSchema.parse(c));
    if (added.length > 0) await this.save();
    return added;
  }

  async update(jobId: string, round: number, change: Partial<Pick<QueuedClaim, 'state' | 'tx' | 'lastError' | 'notBefore' | 'attempts'>>, now: number): Promise<QueuedClaim> {
    const key = claimKey(jobId, round);
    const current = this.claims.get(key);
    if (!current) throw new Error(`No claim is queued for ${key}.`);
    const next = queuedClaimSchema.parse({ ...current, ...change, updatedAt: now });
    this.claims.set(key, next);
    await this.save();
    return next;
  }

  /** Back to queued after a failed attempt, not before an exponential backoff. */
  retryLater(claim: QueuedClaim, error: string, now: number): Promise<QueuedClaim> {
    const attempts = claim.attempts + 1;
    const wait = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** Math.min(attempts - 1, 30));
    return this.update(claim.jobId, claim.round, { state: 'queued', attempts, notBefore: now + wait, lastError: error, tx: null }, now);
  }

  private save(): Promise<void> {
    return this.vault.setSetting(SETTING, this.all());
  }
}
