// XChaCha20-Poly1305 (IETF), the AEAD every sealed value of the vault uses (docs/vault-format.md).
// Where the platform has a native ChaCha20-Poly1305 (Node's OpenSSL), it runs there: HChaCha20 of
// the key and the nonce's first 16 bytes gives a subkey, and the IETF cipher runs under it with the
// nonce 0x00000000 || the nonce's last 8 bytes. That is libsodium's own construction, so the bytes
// are the same (test/unit/vault/aead.test.ts checks both against each other and a published vector);
// natively, sealing a large import's segments costs a fraction of what it does in WebAssembly.
// Electron's BoringSSL and browsers have no such cipher: there libsodium does all of it.
import sodium from 'libsodium-wrappers-sumo';

export const AEAD_NONCE_BYTES = 24;
export const AEAD_TAG_BYTES = 16;

export interface Aead {
  readonly name: 'native' | 'libsodium';
  /** nonce || ciphertext || tag. */
  seal(key: Uint8Array, plaintext: Uint8Array, ad: Uint8Array, nonce: Uint8Array): Uint8Array;
  /** The plaintext of nonce || ciphertext || tag; throws when it fails authentication. */
  open(key: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array;
}

export const libsodiumAead: Aead = {
  name: 'libsodium',
  seal(key, plaintext, ad, nonce) {
    const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, ad, null, nonce, key);
    const out = new Uint8Array(AEAD_NONCE_BYTES + ct.length);
    out.set(nonce, 0);
    out.set(ct, AEAD_NONCE_BYTES);
    return out;
  },
  open(key, sealed, ad) {
    return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed.subarray(AEAD_NONCE_BYTES), ad, sealed.subarray(0, AEAD_NONCE_BYTES), key);
  },
};

function quarterRound(s: Uint32Array, a: number, b: number, c: number, d: number): void {
  let x: number;
  s[a] = s[a]! + s[b]!;
  x = s[d]! ^ s[a]!;
  s[d] = (x << 16) | (x >>> 16);
  s[c] = s[c]! + s[d]!;
  x = s[b]! ^ s[c]!;
  s[b] = (x << 12) | (x >>> 20);
  s[a] = s[a]! + s[b]!;
  x = s[d]! ^ s[a]!;
  s[d] = (x << 8) | (x >>> 24);
  s[c] = s[c]! + s[d]!;
  x = s[b]! ^ s[c]!;
  s[b] = (x << 7) | (x >>> 25);
}

/** HChaCha20 (draft-irtf-cfrg-xchacha, 2.2): the 32-byte subkey of a key and 16 bytes of nonce. */
export function hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
  if (key.length !== 32 || nonce16.length !== 16) throw new RangeError('HChaCha20 takes a 32-byte key and 16 bytes of nonce');
  const s = new Uint32Array(16);
  s[0] = 0x61707865;
  s[1] = 0x3320646e;
  s[2] = 0x79622d32;
  s[3] = 0x6b206574;
  const k = new DataView(key.buffer, key.byteOffset, 32);
  for (let i = 0; i < 8; i++) s[4 + i] = k.getUint32(i * 4, true);
  const n = new DataView(nonce16.buffer, nonce16.byteOffset, 16);
  for (let i = 0; i < 4; i++) s[12 + i] = n.getUint32(i * 4, true);
  for (let i = 0; i < 10; i++) {
    quarterRound(s, 0, 4, 8, 12);
    quarterRound(s, 1, 5, 9, 13);
    quarterRound(s, 2, 6, 10, 14);
    quarterRound(s, 3, 7, 11, 15);
    quarterRound(s, 0, 5, 10, 15);
    quarterRound(s, 1, 6, 11, 12);
    quarterRound(s, 2, 7, 8, 13);
    quarterRound(s, 3, 4, 9, 14);
  }
  const out = new Uint8Array(32);
  const o = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) {
    o.setUint32(i * 4, s[i]!, true);
    o.setUint32(16 + i * 4, s[12 + i]!, true);
  }
  s.fill(0);
  return out;
}

/** The part of node:crypto this file uses, looked up at run time so the file still runs anywhere. */
interface AuthCipher {
  setAAD(ad: Uint8Array, options: { plaintextLength: number }): unknown;
  update(data: Uint8Array): Uint8Array;
  final(): Uint8Array;
}
interface NativeCrypto {
  getCiphers(): string[];
  createCipheriv(alg: string, key: Uint8Array, iv: Uint8Array, options: { authTagLength: number }): AuthCipher & { getAuthTag(): Uint8Array };
  createDecipheriv(alg: string, key: Uint8Array, iv: Uint8Array, options: { authTagLength: number }): AuthCipher & { setAuthTag(tag: Uint8Array): unknown };
}

function nativeCrypto(): NativeCrypto | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const crypto = proc?.getBuiltinModule?.('node:crypto') as NativeCrypto | undefined;
  return crypto && crypto.getCiphers().includes('chacha20-poly1305') ? crypto : null;
}

/** The IETF cipher's key and 12-byte nonce for an XChaCha20 nonce. */
function ietfParams(key: Uint8Array, nonce: Uint8Array): { subkey: Uint8Array; iv: Uint8Array } {
  const iv = new Uint8Array(12);
  iv.set(nonce.subarray(16, 24), 4);
  return { subkey: hchacha20(key, nonce.subarray(0, 16)), iv };
}

function makeNativeAead(crypto: NativeCrypto): Aead {
  const options = { authTagLength: AEAD_TAG_BYTES };
  return {
    name: 'native',
    seal(key, plaintext, ad, nonce) {
      if (key.length !== 32 || nonce.length !== AEAD_NONCE_BYTES) throw new RangeError('XChaCha20-Poly1305 takes a 32-byte key and a 24-byte nonce');
      const { subkey, iv } = ietfParams(key, nonce);
      try {
        const cipher = crypto.createCipheriv('chacha20-poly1305', subkey, iv, options);
        cipher.setAAD(ad, { plaintextLength: plaintext.length });
        const out = new Uint8Array(AEAD_NONCE_BYTES + plaintext.length + AEAD_TAG_BYTES);
        out.set(nonce, 0);
        const ct = cipher.update(plaintext);
        out.set(ct, AEAD_NONCE_BYTES);
        const rest = cipher.final();
        out.set(rest, AEAD_NONCE_BYTES + ct.length);
        out.set(cipher.getAuthTag(), AEAD_NONCE_BYTES + plaintext.length);
        return out;
      } finally {
        subkey.fill(0);
      }
    },
    open(key, sealed, ad) {
      if (key.length !== 32 || sealed.length < AEAD_NONCE_BYTES + AEAD_TAG_BYTES) throw new RangeError('not a sealed value');
      const { subkey, iv } = ietfParams(key, sealed.subarray(0, AEAD_NONCE_BYTES));
      try {
        const decipher = crypto.createDecipheriv('chacha20-poly1305', subkey, iv, options);
        const ctEnd = sealed.length - AEAD_TAG_BYTES;
        decipher.setAAD(ad, { plaintextLength: ctEnd - AEAD_NONCE_BYTES });
        decipher.setAuthTag(sealed.subarray(ctEnd));
        const plain = decipher.update(sealed.subarray(AEAD_NONCE_BYTES, ctEnd));
        try {
          decipher.final(); // throws when the tag does not match: the plaintext is then never returned
        } catch (err) {
          plain.fill(0);
          throw err;
        }
        // A plain Uint8Array, as libsodium gives: callers compare and decode it as one.
        return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
      } finally {
        subkey.fill(0);
      }
    },
  };
}

/**
 * Setting up a native cipher costs tens of microseconds, about what libsodium takes for a few
 * kilobytes: smaller values (keys, manifests, log entries) stay with libsodium, segments go native.
 */
const NATIVE_FROM_BYTES = 4096;

function sizedAead(native: Aead): Aead {
  return {
    name: 'native',
    seal: (key, plaintext, ad, nonce) => (plaintext.length >= NATIVE_FROM_BYTES ? native : libsodiumAead).seal(key, plaintext, ad, nonce),
    open: (key, sealed, ad) => (sealed.length >= NATIVE_FROM_BYTES + AEAD_NONCE_BYTES + AEAD_TAG_BYTES ? native : libsodiumAead).open(key, sealed, ad),
  };
}

const platform = nativeCrypto();
/** The native construction where the platform has the cipher, else null. */
export const nativeAead: Aead | null = platform ? makeNativeAead(platform) : null;

let chosen: Aead | undefined;

/**
 * The AEAD to use: native for large values if it seals one fixed value to the very bytes libsodium
 * does (checked once, at first use, when libsodium is ready), libsodium otherwise.
 */
export function aead(): Aead {
  if (chosen) return chosen;
  // Before libsodium is ready there is nothing to compare with: decide at the next call.
  if (typeof sodium.crypto_aead_xchacha20poly1305_ietf_encrypt !== 'function') return libsodiumAead;
  chosen = libsodiumAead;
  if (nativeAead) {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    const nonce = Uint8Array.from({ length: AEAD_NONCE_BYTES }, (_, i) => 0x40 + i);
    const plain = Uint8Array.from({ length: 100 }, (_, i) => i * 7);
    const ad = Uint8Array.of(1, 2, 3);
    try {
      const a = nativeAead.seal(key, plain, ad, nonce);
      const b = libsodiumAead.seal(key, plain, ad, nonce);
      if (a.length === b.length && a.every((v, i) => v === b[i]) && nativeAead.open(key, a, ad).every((v, i) => v === plain[i])) chosen = sizedAead(nativeAead);
    } catch {
      // a platform whose cipher misbehaves keeps libsodium
    }
  }
  return chosen;
}
