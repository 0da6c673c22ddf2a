// Key derivations and signatures shared by client and server. Every derived key is bound to the
// round id and to the ordered pair of client ids, so no key is reused across rounds or pairs.
import { TroveError } from '../errors.js';
import { concatBytes } from '../bytes.js';
import { u32le, utf8 } from './graph.js';
import { randomBytes, sodiumNow } from './sodium.js';
import { NONCE_BYTES, SHARE_PLAINTEXT_BYTES, SIGNATURE_BYTES } from './wire.js';

const SIGN_CONTEXT = utf8('trove/secagg/v1/message');
const PAIR_MASK_CONTEXT = utf8('trove/secagg/v1/pair-mask');
const SELF_MASK_CONTEXT = utf8('trove/secagg/v1/self-mask');
const SHARE_KEY_CONTEXT = utf8('trove/secagg/v1/share-key');

/** An Ed25519 key pair that identifies a client in the round's roster. */
export interface SigningKeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export function generateSigningKeyPair(): SigningKeyPair {
  const kp = sodiumNow().crypto_sign_keypair();
  return { publicKey: kp.publicKey, secretKey: kp.privateKey };
}

function digest(body: Uint8Array): Uint8Array {
  // Signing a 64-byte BLAKE2b digest instead of the message keeps a 400 KB masked input cheap
  // to sign and verify (BLAKE2b runs several times faster than Ed25519's SHA-512 here).
  const s = sodiumNow();
  const state = s.crypto_generichash_init(null, 64);
  s.crypto_generichash_update(state, SIGN_CONTEXT);
  s.crypto_generichash_update(state, body);
  return s.crypto_generichash_final(state, 64);
}

/** Signs `unsigned` in place: its last 64 bytes receive the signature over everything before. */
export function signMessage(unsigned: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const bodyLength = unsigned.length - SIGNATURE_BYTES;
  const signature = sodiumNow().crypto_sign_detached(digest(unsigned.subarray(0, bodyLength)), secretKey);
  unsigned.set(signature, bodyLength);
  return unsigned;
}

/** Throws SECAGG_BAD_SIGNATURE unless the message's trailing signature is valid for `publicKey`. */
export function verifyMessage(message: Uint8Array, publicKey: Uint8Array | undefined, sender: number): void {
  const bodyLength = message.length - SIGNATURE_BYTES;
  let ok = false;
  if (publicKey && bodyLength > 0) {
    try {
      ok = sodiumNow().crypto_sign_verify_detached(message.subarray(bodyLength), digest(message.subarray(0, bodyLength)), publicKey);
    } catch {
      ok = false;
    }
  }
  if (!ok) throw new TroveError('SECAGG_BAD_SIGNATURE', `A message from client ${sender} is not signed by that client.`, { sender });
}

function agree(secretKey: Uint8Array, publicKey: Uint8Array, peer: number): Uint8Array {
  try {
    return sodiumNow().crypto_scalarmult(secretKey, publicKey);
  } catch {
    // libsodium refuses low-order points (an all-zero shared secret).
    throw new TroveError('SECAGG_MALFORMED', `Client ${peer} advertised an unusable public key.`, { peer });
  }
}

function pairContext(context: Uint8Array, shared: Uint8Array, roundId: Uint8Array, a: number, b: number): Uint8Array {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  return sodiumNow().crypto_generichash(32, concatBytes(context, roundId, u32le(lo), u32le(hi), shared), null);
}

/** The key that expands into the pairwise mask between clients `self` and `peer`. */
export function pairMaskKey(maskSecretKey: Uint8Array, peerMaskPublicKey: Uint8Array, roundId: Uint8Array, self: number, peer: number): Uint8Array {
  return pairContext(PAIR_MASK_CONTEXT, agree(maskSecretKey, peerMaskPublicKey, peer), roundId, self, peer);
}

/** The key that expands into a client's self-mask, from its self-mask seed. */
export function selfMaskKey(seed: Uint8Array, roundId: Uint8Array, owner: number): Uint8Array {
  return sodiumNow().crypto_generichash(32, concatBytes(SELF_MASK_CONTEXT, roundId, u32le(owner), seed), null);
}

function shareKey(cipherSecretKey: Uint8Array, peerCipherPublicKey: Uint8Array, roundId: Uint8Array, self: number, peer: number): Uint8Array {
  return pairContext(SHARE_KEY_CONTEXT, agree(cipherSecretKey, peerCipherPublicKey, peer), roundId, self, peer);
}

function shareAssociatedData(roundId: Uint8Array, owner: number, holder: number): Uint8Array {
  return concatBytes(roundId, u32le(owner), u32le(holder));
}

/** Encrypts one holder's two shares so that only that holder can read them (nonce || ciphertext). */
export function sealShares(
  cipherSecretKey: Uint8Array,
  holderCipherPublicKey: Uint8Array,
  roundId: Uint8Array,
  owner: number,
  holder: number,
  seedShare: Uint8Array,
  keyShare: Uint8Array,
): Uint8Array {
  const s = sodiumNow();
  const plaintext = concatBytes(u32le(owner), u32le(holder), seedShare, keyShare);
  const nonce = randomBytes(NONCE_BYTES);
  const key = shareKey(cipherSecretKey, holderCipherPublicKey, roundId, owner, holder);
  const sealed = s.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, shareAssociatedData(roundId, owner, holder), null, nonce, key);
  s.memzero(key);
  return concatBytes(nonce, sealed);
}

/** Opens shares sent by `owner` to `holder`; throws SECAGG_BAD_SIGNATURE if they do not authenticate. */
export function openShares(
  cipherSecretKey: Uint8Array,
  ownerCipherPublicKey: Uint8Array,
  roundId: Uint8Array,
  owner: number,
  holder: number,
  envelope: Uint8Array,
): { seedShare: Uint8Array; keyShare: Uint8Array } {
  const s = sodiumNow();
  const key = shareKey(cipherSecretKey, ownerCipherPublicKey, roundId, holder, owner);
  let plaintext: Uint8Array;
  try {
    plaintext = s.crypto_aead_xchacha20poly1305_ietf_decrypt(
      null,
      envelope.subarray(NONCE_BYTES),
      shareAssociatedData(roundId, owner, holder),
      envelope.subarray(0, NONCE_BYTES),
      key,
    );
  } catch {
    throw new TroveError('SECAGG_BAD_SIGNATURE', `Shares from client ${owner} do not authenticate for this round and recipient.`, { owner });
  } finally {
    s.memzero(key);
  }
  if (plaintext.length !== SHARE_PLAINTEXT_BYTES) throw new TroveError('SECAGG_MALFORMED', 'Decrypted shares have the wrong length.');
  const view = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
  if (view.getUint32(0, true) !== owner || view.getUint32(4, true) !== holder) {
    throw new TroveError('SECAGG_MALFORMED', 'Decrypted shares name the wrong clients.', { owner, holder });
  }
  const half = (SHARE_PLAINTEXT_BYTES - 8) / 2;
  return { seedShare: plaintext.slice(8, 8 + half), keyShare: plaintext.slice(8 + half) };
}
