// t-of-n Shamir secret sharing of 32-byte secrets over the prime field Z_p, p = 2^256 + 297 (the
// smallest prime above 2^256, so every 32-byte secret is a field element). Share i is the
// polynomial's value at x = holder id + 1, written as 33 big-endian bytes.
import { TroveError } from '../errors.js';

export const FIELD_PRIME = (1n << 256n) + 297n;
export const SECRET_BYTES = 32;
export const SHARE_BYTES = 33;

export interface SharePoint {
  /** Evaluation point: the holder's client id + 1 (never 0, which is the secret). */
  x: number;
  y: Uint8Array;
}

function mod(a: bigint): bigint {
  const r = a % FIELD_PRIME;
  return r < 0n ? r + FIELD_PRIME : r;
}

export function bytesToBigint(bytes: Uint8Array): bigint {
  let hex = '0x';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return bytes.length === 0 ? 0n : BigInt(hex);
}

export function bigintToBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new Error('value does not fit');
  return out;
}

function invert(a: bigint): bigint {
  // Extended Euclid; a is non-zero modulo p here.
  let [oldR, r] = [mod(a), FIELD_PRIME];
  let [oldS, s] = [1n, 0n];
  while (r !== 0n) {
    const q = oldR / r;
    [oldR, r] = [r, oldR - q * r];
    [oldS, s] = [s, oldS - q * s];
  }
  return mod(oldS);
}

/**
 * Splits `secret` so that any `threshold` of the holders' shares recover it and fewer reveal
 * nothing. `randomness` supplies 32 bytes per non-constant coefficient (threshold - 1 of them).
 */
export function splitSecret(secret: Uint8Array, holders: readonly number[], threshold: number, randomness: Uint8Array): Map<number, Uint8Array> {
  if (secret.length !== SECRET_BYTES) throw new Error('secret must be 32 bytes');
  if (threshold < 1 || threshold > holders.length) throw new Error('threshold out of range');
  if (randomness.length < (threshold - 1) * 32) throw new Error('not enough randomness');
  const coefficients: bigint[] = [bytesToBigint(secret)];
  for (let i = 1; i < threshold; i++) coefficients.push(bytesToBigint(randomness.subarray((i - 1) * 32, i * 32)));
  const shares = new Map<number, Uint8Array>();
  for (const holder of holders) {
    const x = BigInt(holder + 1);
    let y = 0n;
    for (let i = coefficients.length - 1; i >= 0; i--) y = (y * x + (coefficients[i] ?? 0n)) % FIELD_PRIME;
    shares.set(holder, bigintToBytes(y, SHARE_BYTES));
  }
  return shares;
}

/** The polynomial through `points` (distinct x) evaluated at 0, with a single field inversion. */
function interpolateAtZero(points: readonly { x: bigint; y: bigint }[]): bigint {
  const t = points.length;
  const nums: bigint[] = new Array<bigint>(t);
  const dens: bigint[] = new Array<bigint>(t);
  for (let i = 0; i < t; i++) {
    const xi = points[i]?.x ?? 0n;
    let num = 1n;
    let den = 1n;
    for (let j = 0; j < t; j++) {
      if (j === i) continue;
      const xj = points[j]?.x ?? 0n;
      num = (num * xj) % FIELD_PRIME;
      den = (den * mod(xj - xi)) % FIELD_PRIME;
    }
    nums[i] = num;
    dens[i] = den;
  }
  // Montgomery's trick: invert the product once, then peel off each denominator's inverse.
  const prefix: bigint[] = new Array<bigint>(t);
  let acc = 1n;
  for (let i = 0; i < t; i++) {
    prefix[i] = acc;
    acc = (acc * (dens[i] ?? 1n)) % FIELD_PRIME;
  }
  let inv = invert(acc);
  let result = 0n;
  for (let i = t - 1; i >= 0; i--) {
    const invDen = (inv * (prefix[i] ?? 1n)) % FIELD_PRIME;
    inv = (inv * (dens[i] ?? 1n)) % FIELD_PRIME;
    result = (result + (((points[i]?.y ?? 0n) * (nums[i] ?? 0n)) % FIELD_PRIME) * invDen) % FIELD_PRIME;
  }
  return result;
}

function parsePoints(shares: readonly SharePoint[]): { x: bigint; y: bigint }[] {
  const seen = new Set<number>();
  return shares.map((s) => {
    if (!Number.isInteger(s.x) || s.x < 1 || seen.has(s.x)) throw new TroveError('SECAGG_MALFORMED', 'A share has a missing or repeated holder.');
    if (s.y.length !== SHARE_BYTES) throw new TroveError('SECAGG_MALFORMED', 'A share has the wrong length.');
    seen.add(s.x);
    const y = bytesToBigint(s.y);
    if (y >= FIELD_PRIME) throw new TroveError('SECAGG_MALFORMED', 'A share is not a field element.');
    return { x: BigInt(s.x), y };
  });
}

/**
 * Recovers a secret from at least `threshold` shares. With more shares than needed, the first and
 * the last `threshold` of them must give the same secret, so a tampered share is detected rather
 * than silently turned into a wrong sum (pass `check: false` when the caller verifies the secret
 * another way, e.g. against a public key).
 */
export function combineShares(shares: readonly SharePoint[], threshold: number, check = true): Uint8Array {
  if (shares.length < threshold) {
    throw new TroveError('ROUND_ABORTED', 'Too few shares to recover a secret.', { have: shares.length, need: threshold });
  }
  const points = parsePoints(shares);
  const secret = interpolateAtZero(points.slice(0, threshold));
  if (check && points.length > threshold && interpolateAtZero(points.slice(points.length - threshold)) !== secret) {
    throw new TroveError('SECAGG_INCONSISTENT_SHARES', 'The shares of one secret do not agree: a client sent a tampered share.');
  }
  if (secret >= 1n << 256n) throw new TroveError('SECAGG_INCONSISTENT_SHARES', 'The recovered secret is out of range: a share was tampered with.');
  return bigintToBytes(secret, SECRET_BYTES);
}
