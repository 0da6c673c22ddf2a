// One place that waits for libsodium and exposes the few primitives secure aggregation and the
// privacy code need, including a copy-free keystream for mask expansion.
import sodium from 'libsodium-wrappers-sumo';

export type Sodium = typeof sodium;

let readyPromise: Promise<Sodium> | undefined;

/** Resolves once libsodium's WebAssembly module is initialised (cheap after the first call). */
export function loadSodium(): Promise<Sodium> {
  readyPromise ??= sodium.ready.then(() => sodium);
  return readyPromise;
}

/** libsodium after loadSodium() resolved; throws if called too early (a programming error). */
export function sodiumNow(): Sodium {
  if (!readyPromise) throw new Error('libsodium used before loadSodium() resolved');
  return sodium;
}

// The raw Emscripten module behind the wrappers. Using it directly lets a mask be generated
// straight into WebAssembly memory and read in place: the wrapper's crypto_stream_xchacha20_xor
// copies the input in and the output out, which more than halves throughput on 400 KB masks.
interface RawSodium {
  _malloc(size: number): number;
  _free(ptr: number): void;
  _crypto_stream_xchacha20(out: number, lenLow: number, lenHigh: number, nonce: number, key: number): number;
  HEAPU8: Uint8Array;
}

function rawModule(): RawSodium | undefined {
  const raw = (sodium as unknown as { libsodium?: Partial<RawSodium> }).libsodium;
  if (
    raw &&
    typeof raw._malloc === 'function' &&
    typeof raw._free === 'function' &&
    typeof raw._crypto_stream_xchacha20 === 'function' &&
    raw.HEAPU8 instanceof Uint8Array
  ) {
    return raw as RawSodium;
  }
  return undefined;
}

/**
 * Cryptographically secure random bytes from the platform's Web Crypto getRandomValues (present
 * in Node 19+, Electron and browsers; libsodium's own ESM build requires it too). libsodium's
 * randombytes_buf asks that source for 4 bytes per call from WebAssembly, which takes seconds for
 * the 400 KB of rounding noise a 100k-coordinate update needs.
 */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  const source = globalThis.crypto;
  for (let offset = 0; offset < length; offset += 65536) {
    source.getRandomValues(out.subarray(offset, Math.min(length, offset + 65536)));
  }
  return out;
}

const KEY_BYTES = 32;
const NONCE_BYTES = 24;
const ZERO_NONCE = new Uint8Array(NONCE_BYTES);

/**
 * Expands a 32-byte key into `words` uniformly random 32-bit words (XChaCha20 keystream, zero
 * nonce: every key is used for exactly one stream) and hands them to `use` as a Uint32Array
 * view that is only valid during the call. One keystream call per mask, no per-element work.
 */
export class MaskStream {
  private raw: RawSodium | undefined;
  private keyPtr = 0;
  private noncePtr = 0;
  private outPtr = 0;
  private outBytes = 0;

  constructor() {
    this.raw = rawModule();
  }

  expand<T>(key: Uint8Array, words: number, use: (mask: Uint32Array) => T): T {
    if (key.length !== KEY_BYTES) throw new Error('mask key must be 32 bytes');
    const bytes = words * 4;
    const raw = this.raw;
    if (!raw || !LITTLE_ENDIAN) {
      const stream = sodiumNow().crypto_stream_xchacha20_xor(new Uint8Array(bytes), ZERO_NONCE, key);
      return use(wordsFromBytes(stream, words));
    }
    if (this.keyPtr === 0) {
      this.keyPtr = raw._malloc(KEY_BYTES + NONCE_BYTES);
      this.noncePtr = this.keyPtr + KEY_BYTES;
      raw.HEAPU8.fill(0, this.noncePtr, this.noncePtr + NONCE_BYTES);
    }
    if (this.outBytes < bytes) {
      if (this.outPtr !== 0) raw._free(this.outPtr);
      this.outPtr = raw._malloc(bytes);
      this.outBytes = bytes;
      if (this.outPtr === 0) throw new Error('out of memory expanding a mask');
    }
    raw.HEAPU8.set(key, this.keyPtr);
    raw._crypto_stream_xchacha20(this.outPtr, bytes, 0, this.noncePtr, this.keyPtr);
    // HEAPU8 may have been replaced by memory growth during _malloc: read it after the calls.
    const view = new Uint32Array(raw.HEAPU8.buffer, this.outPtr, words);
    try {
      return use(view);
    } finally {
      raw.HEAPU8.fill(0, this.keyPtr, this.keyPtr + KEY_BYTES);
    }
  }

  /** Returns the WebAssembly buffers; the stream stays usable (it allocates again on demand). */
  dispose(): void {
    const raw = this.raw;
    if (!raw) return;
    if (this.outPtr !== 0) raw._free(this.outPtr);
    if (this.keyPtr !== 0) raw._free(this.keyPtr);
    this.outPtr = this.keyPtr = this.noncePtr = this.outBytes = 0;
  }
}

export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Reads `words` little-endian 32-bit words from `bytes` (a copy on unaligned or big-endian input). */
export function wordsFromBytes(bytes: Uint8Array, words: number, offset = 0): Uint32Array {
  const start = bytes.byteOffset + offset;
  if (LITTLE_ENDIAN && start % 4 === 0) return new Uint32Array(bytes.buffer, start, words);
  const out = new Uint32Array(words);
  const view = new DataView(bytes.buffer, start, words * 4);
  for (let i = 0; i < words; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

/** Writes `values` as little-endian 32-bit words into `bytes` at `offset`. */
export function writeWords(bytes: Uint8Array, offset: number, values: Uint32Array): void {
  if (LITTLE_ENDIAN) {
    bytes.set(new Uint8Array(values.buffer, values.byteOffset, values.length * 4), offset);
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, values.length * 4);
  for (let i = 0; i < values.length; i++) view.setUint32(i * 4, values[i] ?? 0, true);
}
