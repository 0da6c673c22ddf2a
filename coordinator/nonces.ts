// Request nonces: what a contributor signs instead of its clock. A nonce is (expiry, random) and
// their HMAC under a key every coordinator process of the deployment derives from the same
// secret, so any process checks a nonce another issued without asking the database. Expiry is by
// the coordinator's own clock; a nonce is accepted once, and the record of used nonces is kept
// only until they expire.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { TroveError } from '../common/errors.js';
import { NONCE_LIFETIME_MS, NONCE_PATTERN } from '../common/jobs/protocol.js';

export class NonceBook {
  private readonly used = new Map<string, number>();

  /** `key`: at least 32 bytes, the same in every process that should accept the others' nonces. */
  constructor(
    private readonly key: Uint8Array,
    private readonly now: () => number,
  ) {
    if (key.length < 32) throw new TroveError('INVALID_INPUT', 'The nonce key must be at least 32 bytes.');
  }

  issue(): string {
    const head = Buffer.alloc(24);
    head.writeBigUInt64BE(BigInt(Math.floor(this.now() + NONCE_LIFETIME_MS)), 0);
    randomBytes(16).copy(head, 8);
    return head.toString('hex') + this.mac(head).toString('hex');
  }

  /** Accepts `nonce` once, while fresh; throws NONCE_REFUSED otherwise. */
  redeem(nonce: string): void {
    if (!NONCE_PATTERN.test(nonce)) throw new TroveError('UNAUTHENTICATED', 'The request is not signed.');
    const bytes = Buffer.from(nonce, 'hex');
    const head = bytes.subarray(0, 24);
    if (!timingSafeEqual(bytes.subarray(24), this.mac(head))) {
      throw new TroveError('NONCE_REFUSED', 'The request signs a nonce this coordinator never issued; ask for a new one.');
    }
    const expiry = Number(head.readBigUInt64BE(0));
    const now = this.now();
    if (expiry < now) throw new TroveError('NONCE_REFUSED', 'The request signs a nonce that has expired; ask for a new one.');
    if (this.used.size > 1_000) for (const [n, until] of this.used) if (until < now) this.used.delete(n);
    if (this.used.has(nonce)) throw new TroveError('NONCE_REFUSED', 'This signed request was already received.');
    this.used.set(nonce, expiry);
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
