// Request nonces: what a contributor signs instead of its clock. A nonce is (expiry, random) and
// their HMAC under a key every coordinator process of the deployment derives from the same
// secret, so any process checks a nonce another issued without asking the database. Expiry is by
// the coordinator's own clock; a nonce is accepted once in the whole deployment: a used one is
// recorded in the shared database (the nonces redeemed together in one commit), so a request
// captured at one process is refused at every other, and kept only until it expires.
import { createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import { TroveError } from '../common/errors.js';
import { NONCE_LIFETIME_MS, NONCE_PATTERN } from '../common/jobs/protocol.js';
import type { CoordinatorStore } from './store.js';

/** Where used nonces are shared between processes (the coordinator's store). */
export type SharedNonces = Pick<CoordinatorStore, 'spendNonces' | 'forgetNonces'>;

export class NonceBook {
  /** Nonces this process has seen used, until their expiry: a replay here is refused without a query. */
  private readonly used = new Map<string, number>();
  private lastSweep = 0;
  private readonly random = Buffer.alloc(16 * 256);
  private randomAt = Infinity;
  private lastForget = 0;
  /** Nonces waiting for the next batched commit, with whoever waits for the answer. */
  private pending: { nonce: string; expiresAt: number; done: () => void; failed: (err: unknown) => void }[] = [];

  /**
   * `key`: at least 32 bytes, the same in every process that should accept the others' nonces.
   * `shared`: where used nonces are recorded for every process; without it, only this process's
   * memory remembers them, and a captured request is good once more at each other process.
   */
  constructor(
    private readonly key: Uint8Array,
    private readonly now: () => number,
    private readonly shared?: SharedNonces,
  ) {
    if (key.length < 32) throw new TroveError('INVALID_INPUT', 'The nonce key must be at least 32 bytes.');
  }

  issue(): string {
    const head = Buffer.alloc(24);
    head.writeBigUInt64BE(BigInt(Math.floor(this.now() + NONCE_LIFETIME_MS)), 0);
    // Every answer carries a fresh nonce: the randomness is drawn for many at once.
    if (this.randomAt + 16 > this.random.length) {
      randomFillSync(this.random);
      this.randomAt = 0;
    }
    this.random.copy(head, 8, this.randomAt, (this.randomAt += 16));
    return head.toString('hex') + this.mac(head).toString('hex');
  }

  /** Accepts `nonce` once in the deployment, while fresh; throws NONCE_REFUSED otherwise. */
  async redeem(nonce: string): Promise<void> {
    if (!NONCE_PATTERN.test(nonce)) throw new TroveError('UNAUTHENTICATED', 'The request is not signed.');
    const bytes = Buffer.from(nonce, 'hex');
    const head = bytes.subarray(0, 24);
    if (!timingSafeEqual(bytes.subarray(24), this.mac(head))) {
      throw new TroveError('NONCE_REFUSED', 'The request signs a nonce this coordinator never issued; ask for a new one.');
    }
    const expiry = Number(head.readBigUInt64BE(0));
    const now = this.now();
    if (expiry < now) throw new TroveError('NONCE_REFUSED', 'The request signs a nonce that has expired; ask for a new one.');
    this.sweep(now);
    // The MAC makes the head unique to this nonce: the head is what is recorded.
    const id = head.toString('hex');
    if (this.used.has(id)) throw new TroveError('NONCE_REFUSED', 'This signed request was already received.');
    this.used.set(id, expiry);
    if (!this.shared) return;
    await new Promise<void>((done, failed) => {
      this.pending.push({ nonce: id, expiresAt: expiry, done, failed });
      if (this.pending.length === 1) setImmediate(() => void this.commit());
    });
  }

  /** Records every pending nonce in one commit, and answers each: accepted, or used already elsewhere. */
  private async commit(): Promise<void> {
    const batch = this.pending.splice(0);
    try {
      const usedElsewhere = new Set(await this.shared!.spendNonces(batch.map((p) => ({ nonce: p.nonce, expiresAt: p.expiresAt }))));
      for (const p of batch) {
        if (usedElsewhere.has(p.nonce)) p.failed(new TroveError('NONCE_REFUSED', 'This signed request was already received.'));
        else p.done();
      }
    } catch (err) {
      for (const p of batch) p.failed(err);
    }
  }

  /** Forgets expired nonces here (at most once a second) and in the database (at most once a lifetime). */
  private sweep(now: number): void {
    if (now - this.lastSweep >= 1_000) {
      this.lastSweep = now;
      for (const [n, until] of this.used) if (until < now) this.used.delete(n);
    }
    if (this.shared && now - this.lastForget >= NONCE_LIFETIME_MS) {
      this.lastForget = now;
      this.shared.forgetNonces(now).catch(() => undefined);
    }
  }

  private mac(head: Uint8Array): Buffer {
    return createHmac('sha256', this.key).update('trove-nonce/v1').update(head).digest();
  }
}

/**
 * The nonce key of a deployment, derived from a secret all its processes already share (the
 * coordinator's chain key), so they accept each other's nonces with nothing more to configure.
 */
export function nonceKeyFrom(secret: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', secret).update('trove-request-nonces/v1').digest());
}
