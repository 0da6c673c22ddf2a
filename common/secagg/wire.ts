// The versioned binary wire format of secure aggregation. Every message starts with the same
// 24-byte header; multi-byte integers are little-endian; messages a client sends end with a
// 64-byte Ed25519 signature by the client's roster key over BLAKE2b-512 of everything before it.
//
//   offset  size  field
//   0       1     version (2, since the consistency check)
//   1       1     type (MessageType)
//   2       2     reserved, zero
//   4       16    round id
//   20      4     party: the sender for client messages, the recipient for server messages
//
// Decoders check every length and count against the round's parameters before reading, and throw
// SECAGG_MALFORMED for anything they cannot parse exactly.
import { TroveError } from '../errors.js';
import { MODEL_HASH_BYTES, ROUND_ID_BYTES, type RoundParams } from './params.js';
import { SHARE_BYTES } from './shamir.js';
import { wordsFromBytes, writeWords } from './sodium.js';

export const WIRE_VERSION = 2;
export const HEADER_BYTES = 24;
export const SIGNATURE_BYTES = 64;
export const PUBLIC_KEY_BYTES = 32;
export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
/** owner u32 + holder u32 + self-mask seed share + mask-key share. */
export const SHARE_PLAINTEXT_BYTES = 8 + 2 * SHARE_BYTES;
export const SHARE_CIPHERTEXT_BYTES = NONCE_BYTES + SHARE_PLAINTEXT_BYTES + TAG_BYTES;

export enum MessageType {
  Setup = 1,
  AdvertiseKeys = 2,
  NeighbourKeys = 3,
  EncryptedShares = 4,
  ForwardedShares = 5,
  MaskedInput = 6,
  UnmaskRequest = 7,
  UnmaskResponse = 8,
  Abort = 9,
  ConsistencyRequest = 10,
  ConsistencySignature = 11,
}

const LAST_MESSAGE_TYPE = MessageType.ConsistencySignature;

export const ADVERTISE_KEYS_BYTES = HEADER_BYTES + 2 * PUBLIC_KEY_BYTES + MODEL_HASH_BYTES + SIGNATURE_BYTES;
const SETUP_BODY_BYTES = 4 * 4 + 4 + 2 + 2 + 8 + 4 * 4 + MODEL_HASH_BYTES;

export interface Header {
  version: number;
  type: MessageType;
  roundId: Uint8Array;
  party: number;
}

export function malformed(message: string, details?: Record<string, unknown>): TroveError {
  return new TroveError('SECAGG_MALFORMED', message, details);
}

function writeHeader(view: DataView, bytes: Uint8Array, type: MessageType, roundId: Uint8Array, party: number): void {
  view.setUint8(0, WIRE_VERSION);
  view.setUint8(1, type);
  view.setUint16(2, 0, true);
  bytes.set(roundId, 4);
  view.setUint32(20, party, true);
}

function allocate(length: number, type: MessageType, roundId: Uint8Array, party: number): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  writeHeader(view, bytes, type, roundId, party);
  return { bytes, view };
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Reads and checks the header; any later field is read only after its length was checked. */
export function readHeader(bytes: Uint8Array): Header {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES) throw malformed('The message is shorter than its header.');
  const view = viewOf(bytes);
  const version = view.getUint8(0);
  if (version !== WIRE_VERSION) throw malformed(`Unsupported message version ${version}.`, { version });
  const type = view.getUint8(1);
  if (type < MessageType.Setup || type > LAST_MESSAGE_TYPE) throw malformed(`Unknown message type ${type}.`, { type });
  if (view.getUint16(2, true) !== 0) throw malformed('Reserved header bits are set.');
  return { version, type, roundId: bytes.subarray(4, 4 + ROUND_ID_BYTES), party: view.getUint32(20, true) };
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

function expectLength(bytes: Uint8Array, expected: number, what: string): void {
  if (bytes.length !== expected) throw malformed(`${what} has ${bytes.length} bytes, expected ${expected}.`, { length: bytes.length, expected });
}

function readCount(view: DataView, offset: number, max: number, what: string): number {
  const count = view.getUint32(offset, true);
  if (count > max) throw malformed(`${what} lists ${count} entries, more than the round allows.`, { count, max });
  return count;
}

// --- Setup (server -> client) ----------------------------------------------------------------

export function encodeSetup(p: RoundParams, recipient: number): Uint8Array {
  const { bytes, view } = allocate(HEADER_BYTES + SETUP_BODY_BYTES, MessageType.Setup, p.roundId, recipient);
  let o = HEADER_BYTES;
  for (const v of [p.clientCount, p.neighbourCount, p.threshold, p.minimumSurvivors, p.vectorLength]) {
    view.setUint32(o, v, true);
    o += 4;
  }
  view.setUint8(o++, p.quantizationBits);
  view.setUint8(o++, p.modulusBits);
  o += 2;
  view.setFloat64(o, p.clipRange, true);
  o += 8;
  const d = p.deadlines;
  for (const v of [d.advertiseKeysMs, d.shareKeysMs, d.collectMaskedInputsMs, d.unmaskMs]) {
    view.setUint32(o, v, true);
    o += 4;
  }
  bytes.set(p.modelHash, o);
  return bytes;
}

/** Decodes a Setup message; the caller validates the parameters it carries. */
export function decodeSetup(bytes: Uint8Array): { header: Header; params: RoundParams } {
  const header = readHeader(bytes);
  expectLength(bytes, HEADER_BYTES + SETUP_BODY_BYTES, 'A setup message');
  const view = viewOf(bytes);
  let o = HEADER_BYTES;
  const u32 = (): number => {
    const v = view.getUint32(o, true);
    o += 4;
    return v;
  };
  const clientCount = u32();
  const neighbourCount = u32();
  const threshold = u32();
  const minimumSurvivors = u32();
  const vectorLength = u32();
  const quantizationBits = view.getUint8(o++);
  const modulusBits = view.getUint8(o++);
  if (view.getUint16(o, true) !== 0) throw malformed('Reserved setup bits are set.');
  o += 2;
  const clipRange = view.getFloat64(o, true);
  o += 8;
  const deadlines = { advertiseKeysMs: u32(), shareKeysMs: u32(), collectMaskedInputsMs: u32(), unmaskMs: u32() };
  const modelHash = bytes.slice(o, o + MODEL_HASH_BYTES);
  return {
    header,
    params: {
      roundId: bytes.slice(4, 4 + ROUND_ID_BYTES),
      clientCount,
      neighbourCount,
      threshold,
      minimumSurvivors,
      vectorLength,
      clipRange,
      quantizationBits,
      modulusBits,
      deadlines,
      modelHash,
    },
  };
}

// --- AdvertiseKeys (client -> server, forwarded verbatim to neighbours) ------------------------

export interface AdvertisedKeys {
  sender: number;
  /** X25519 key that encrypts the shares sent to this client. */
  cipherPublicKey: Uint8Array;
  /** X25519 key whose agreements seed the pairwise masks. */
  maskPublicKey: Uint8Array;
  /** The hash of the model the sender was served. */
  modelHash: Uint8Array;
  /** The whole signed message, as forwarded to neighbours. */
  raw: Uint8Array;
}

/** Builds the unsigned body; `sign` appends the signature. */
export function encodeAdvertiseKeys(roundId: Uint8Array, sender: number, cipherPublicKey: Uint8Array, maskPublicKey: Uint8Array, modelHash: Uint8Array): Uint8Array {
  const { bytes } = allocate(ADVERTISE_KEYS_BYTES, MessageType.AdvertiseKeys, roundId, sender);
  bytes.set(cipherPublicKey, HEADER_BYTES);
  bytes.set(maskPublicKey, HEADER_BYTES + PUBLIC_KEY_BYTES);
  bytes.set(modelHash, HEADER_BYTES + 2 * PUBLIC_KEY_BYTES);
  return bytes;
}

export function decodeAdvertiseKeys(bytes: Uint8Array): { header: Header; keys: AdvertisedKeys } {
  const header = readHeader(bytes);
  if (header.type !== MessageType.AdvertiseKeys) throw malformed('Expected an advertise-keys message.');
  expectLength(bytes, ADVERTISE_KEYS_BYTES, 'An advertise-keys message');
  return {
    header,
    keys: {
      sender: header.party,
      cipherPublicKey: bytes.slice(HEADER_BYTES, HEADER_BYTES + PUBLIC_KEY_BYTES),
      maskPublicKey: bytes.slice(HEADER_BYTES + PUBLIC_KEY_BYTES, HEADER_BYTES + 2 * PUBLIC_KEY_BYTES),
      modelHash: bytes.slice(HEADER_BYTES + 2 * PUBLIC_KEY_BYTES, HEADER_BYTES + 2 * PUBLIC_KEY_BYTES + MODEL_HASH_BYTES),
      raw: bytes,
    },
  };
}

// --- NeighbourKeys (server -> client) ------------------------------------------------------------

export function encodeNeighbourKeys(roundId: Uint8Array, recipient: number, adverts: readonly Uint8Array[]): Uint8Array {
  const { bytes, view } = allocate(HEADER_BYTES + 4 + adverts.length * ADVERTISE_KEYS_BYTES, MessageType.NeighbourKeys, roundId, recipient);
  view.setUint32(HEADER_BYTES, adverts.length, true);
  adverts.forEach((a, i) => bytes.set(a, HEADER_BYTES + 4 + i * ADVERTISE_KEYS_BYTES));
  return bytes;
}

export function decodeNeighbourKeys(bytes: Uint8Array, maxEntries: number): { header: Header; adverts: Uint8Array[] } {
  const header = readHeader(bytes);
  if (bytes.length < HEADER_BYTES + 4) throw malformed('A neighbour-keys message is truncated.');
  const count = readCount(viewOf(bytes), HEADER_BYTES, maxEntries, 'A neighbour-keys message');
  expectLength(bytes, HEADER_BYTES + 4 + count * ADVERTISE_KEYS_BYTES, 'A neighbour-keys message');
  const adverts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const start = HEADER_BYTES + 4 + i * ADVERTISE_KEYS_BYTES;
    adverts.push(bytes.subarray(start, start + ADVERTISE_KEYS_BYTES));
  }
  return { header, adverts };
}

// --- EncryptedShares (client -> server) and ForwardedShares (server -> client) -----------------

export interface ShareEnvelope {
  /** The recipient (in EncryptedShares) or the sender (in ForwardedShares). */
  peer: number;
  ciphertext: Uint8Array;
}

const ENVELOPE_BYTES = 4 + SHARE_CIPHERTEXT_BYTES;

function encodeEnvelopes(type: MessageType, roundId: Uint8Array, party: number, envelopes: readonly ShareEnvelope[], trailer: number): Uint8Array {
  const { bytes, view } = allocate(HEADER_BYTES + 4 + envelopes.length * ENVELOPE_BYTES + trailer, type, roundId, party);
  view.setUint32(HEADER_BYTES, envelopes.length, true);
  envelopes.forEach((e, i) => {
    const start = HEADER_BYTES + 4 + i * ENVELOPE_BYTES;
    view.setUint32(start, e.peer, true);
    bytes.set(e.ciphertext, start + 4);
  });
  return bytes;
}

function decodeEnvelopes(bytes: Uint8Array, maxEntries: number, trailer: number, what: string): { header: Header; envelopes: ShareEnvelope[] } {
  const header = readHeader(bytes);
  if (bytes.length < HEADER_BYTES + 4 + trailer) throw malformed(`${what} is truncated.`);
  const view = viewOf(bytes);
  const count = readCount(view, HEADER_BYTES, maxEntries, what);
  expectLength(bytes, HEADER_BYTES + 4 + count * ENVELOPE_BYTES + trailer, what);
  const envelopes: ShareEnvelope[] = [];
  for (let i = 0; i < count; i++) {
    const start = HEADER_BYTES + 4 + i * ENVELOPE_BYTES;
    envelopes.push({ peer: view.getUint32(start, true), ciphertext: bytes.subarray(start + 4, start + ENVELOPE_BYTES) });
  }
  return { header, envelopes };
}

export function encodeEncryptedShares(roundId: Uint8Array, sender: number, envelopes: readonly ShareEnvelope[]): Uint8Array {
  return encodeEnvelopes(MessageType.EncryptedShares, roundId, sender, envelopes, SIGNATURE_BYTES);
}

export function decodeEncryptedShares(bytes: Uint8Array, maxEntries: number): { header: Header; envelopes: ShareEnvelope[] } {
  return decodeEnvelopes(bytes, maxEntries, SIGNATURE_BYTES, 'An encrypted-shares message');
}

export function encodeForwardedShares(roundId: Uint8Array, recipient: number, envelopes: readonly ShareEnvelope[]): Uint8Array {
  return encodeEnvelopes(MessageType.ForwardedShares, roundId, recipient, envelopes, 0);
}

export function decodeForwardedShares(bytes: Uint8Array, maxEntries: number): { header: Header; envelopes: ShareEnvelope[] } {
  return decodeEnvelopes(bytes, maxEntries, 0, 'A forwarded-shares message');
}

// --- MaskedInput (client -> server) ------------------------------------------------------------

export function maskedInputBytes(vectorLength: number): number {
  return HEADER_BYTES + 4 + vectorLength * 4 + SIGNATURE_BYTES;
}

export function encodeMaskedInput(roundId: Uint8Array, sender: number, masked: Uint32Array): Uint8Array {
  const { bytes, view } = allocate(maskedInputBytes(masked.length), MessageType.MaskedInput, roundId, sender);
  view.setUint32(HEADER_BYTES, masked.length, true);
  writeWords(bytes, HEADER_BYTES + 4, masked);
  return bytes;
}

/** The masked vector is a view into `bytes` when alignment allows (no copy). */
export function decodeMaskedInput(bytes: Uint8Array, vectorLength: number): { header: Header; masked: Uint32Array } {
  const header = readHeader(bytes);
  if (bytes.length < HEADER_BYTES + 4) throw malformed('A masked-input message is truncated.');
  const length = viewOf(bytes).getUint32(HEADER_BYTES, true);
  if (length !== vectorLength) throw malformed(`A masked input has ${length} coordinates, expected ${vectorLength}.`);
  expectLength(bytes, maskedInputBytes(vectorLength), 'A masked-input message');
  return { header, masked: wordsFromBytes(bytes, vectorLength, HEADER_BYTES + 4) };
}

// --- ConsistencyRequest (server -> client) and ConsistencySignature (client -> server) -----------

/** Reads `count` client ids at `offset`; they must be strictly increasing and below `clientCount`. */
function readIds(view: DataView, offset: number, count: number, clientCount: number, what: string): number[] {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const id = view.getUint32(offset + 4 * i, true);
    if (id >= clientCount) throw malformed(`${what} names client ${id}, who is not invited.`, { id });
    if (i > 0 && id <= (ids[i - 1] as number)) throw malformed(`${what} must list clients once each, in increasing order.`);
    ids.push(id);
  }
  return ids;
}

/** The survivor set U3: every client whose masked input is in the sum, in increasing order. */
export function encodeConsistencyRequest(roundId: Uint8Array, recipient: number, survivors: readonly number[]): Uint8Array {
  const { bytes, view } = allocate(HEADER_BYTES + 4 + 4 * survivors.length, MessageType.ConsistencyRequest, roundId, recipient);
  view.setUint32(HEADER_BYTES, survivors.length, true);
  survivors.forEach((id, i) => view.setUint32(HEADER_BYTES + 4 + 4 * i, id, true));
  return bytes;
}

export function decodeConsistencyRequest(bytes: Uint8Array, clientCount: number): { header: Header; survivors: number[] } {
  const header = readHeader(bytes);
  if (bytes.length < HEADER_BYTES + 4) throw malformed('A consistency request is truncated.');
  const view = viewOf(bytes);
  const count = readCount(view, HEADER_BYTES, clientCount, 'A consistency request');
  expectLength(bytes, HEADER_BYTES + 4 + 4 * count, 'A consistency request');
  return { header, survivors: readIds(view, HEADER_BYTES + 4, count, clientCount, 'A consistency request') };
}

export const CONSISTENCY_SIGNATURE_BYTES = HEADER_BYTES + SIGNATURE_BYTES + SIGNATURE_BYTES;

/** The sender's signature over the survivor set, then (by signMessage) over the message. */
export function encodeConsistencySignature(roundId: Uint8Array, sender: number, setSignature: Uint8Array): Uint8Array {
  const { bytes } = allocate(CONSISTENCY_SIGNATURE_BYTES, MessageType.ConsistencySignature, roundId, sender);
  bytes.set(setSignature, HEADER_BYTES);
  return bytes;
}

export function decodeConsistencySignature(bytes: Uint8Array): { header: Header; setSignature: Uint8Array } {
  const header = readHeader(bytes);
  expectLength(bytes, CONSISTENCY_SIGNATURE_BYTES, 'A consistency signature');
  return { header, setSignature: bytes.slice(HEADER_BYTES, HEADER_BYTES + SIGNATURE_BYTES) };
}

// --- UnmaskRequest (server -> client) ------------------------------------------------------------

export interface SurvivorSignature {
  signer: number;
  signature: Uint8Array;
}

export interface UnmaskRequest {
  /**
   * The survivor set U3 the recipient signed. The recipient reveals the self-mask seed share of
   * each neighbour in it and the mask-key share of each neighbour not in it: it derives both
   * lists itself, so the server cannot ask different neighbours different things about one client
   * without also showing them different sets.
   */
  survivors: number[];
  /** Signatures over that same set by the recipient's neighbours in it. */
  signatures: SurvivorSignature[];
}

const SURVIVOR_SIGNATURE_BYTES = 4 + SIGNATURE_BYTES;

export function encodeUnmaskRequest(roundId: Uint8Array, recipient: number, r: UnmaskRequest): Uint8Array {
  const s = r.survivors.length;
  const length = HEADER_BYTES + 4 + 4 * s + 4 + r.signatures.length * SURVIVOR_SIGNATURE_BYTES;
  const { bytes, view } = allocate(length, MessageType.UnmaskRequest, roundId, recipient);
  view.setUint32(HEADER_BYTES, s, true);
  r.survivors.forEach((id, i) => view.setUint32(HEADER_BYTES + 4 + 4 * i, id, true));
  let o = HEADER_BYTES + 4 + 4 * s;
  view.setUint32(o, r.signatures.length, true);
  o += 4;
  for (const sig of r.signatures) {
    view.setUint32(o, sig.signer, true);
    bytes.set(sig.signature, o + 4);
    o += SURVIVOR_SIGNATURE_BYTES;
  }
  return bytes;
}

export function decodeUnmaskRequest(bytes: Uint8Array, clientCount: number, neighbourCount: number): { header: Header; request: UnmaskRequest } {
  const header = readHeader(bytes);
  if (bytes.length < HEADER_BYTES + 8) throw malformed('An unmask request is truncated.');
  const view = viewOf(bytes);
  const s = readCount(view, HEADER_BYTES, clientCount, 'An unmask request');
  if (bytes.length < HEADER_BYTES + 8 + 4 * s) throw malformed('An unmask request is truncated.');
  const survivors = readIds(view, HEADER_BYTES + 4, s, clientCount, 'An unmask request');
  const at = HEADER_BYTES + 4 + 4 * s;
  const c = readCount(view, at, neighbourCount, 'An unmask request');
  expectLength(bytes, at + 4 + c * SURVIVOR_SIGNATURE_BYTES, 'An unmask request');
  const signatures: SurvivorSignature[] = [];
  for (let i = 0; i < c; i++) {
    const o = at + 4 + i * SURVIVOR_SIGNATURE_BYTES;
    signatures.push({ signer: view.getUint32(o, true), signature: bytes.slice(o + 4, o + SURVIVOR_SIGNATURE_BYTES) });
  }
  return { header, request: { survivors, signatures } };
}

// --- UnmaskResponse (client -> server) -----------------------------------------------------------

export enum ShareKind {
  /** A share of a surviving client's self-mask seed. */
  SelfMaskSeed = 0,
  /** A share of a dropped client's mask secret key. */
  MaskKey = 1,
}

export interface RevealedShare {
  owner: number;
  kind: ShareKind;
  share: Uint8Array;
}

const REVEALED_BYTES = 4 + 1 + SHARE_BYTES;

export function encodeUnmaskResponse(roundId: Uint8Array, sender: number, shares: readonly RevealedShare[]): Uint8Array {
  const { bytes, view } = allocate(HEADER_BYTES + 4 + shares.length * REVEALED_BYTES + SIGNATURE_BYTES, MessageType.UnmaskResponse, roundId, sender);
  view.setUint32(HEADER_BYTES, shares.length, true);
  shares.forEach((s, i) => {
    const start = HEADER_BYTES + 4 + i * REVEALED_BYTES;
    view.setUint32(start, s.owner, true);
    view.setUint8(start + 4, s.kind);
    bytes.set(s.share, start + 5);
  });
  return bytes;
}

export function decodeUnmaskResponse(bytes: Uint8Array, maxEntries: number): { header: Header; shares: RevealedShare[] } {
  const header = readHeader(bytes);
  if (bytes.length < HEADER_BYTES + 4 + SIGNATURE_BYTES) throw malformed('An unmask response is truncated.');
  const view = viewOf(bytes);
  const count = readCount(view, HEADER_BYTES, maxEntries, 'An unmask response');
  expectLength(bytes, HEADER_BYTES + 4 + count * REVEALED_BYTES + SIGNATURE_BYTES, 'An unmask response');
  const shares: RevealedShare[] = [];
  for (let i = 0; i < count; i++) {
    const start = HEADER_BYTES + 4 + i * REVEALED_BYTES;
    const kind = view.getUint8(start + 4);
    if (kind !== ShareKind.SelfMaskSeed && kind !== ShareKind.MaskKey) throw malformed(`Unknown share kind ${kind}.`);
    shares.push({ owner: view.getUint32(start, true), kind, share: bytes.subarray(start + 5, start + REVEALED_BYTES) });
  }
  return { header, shares };
}

// --- Abort (server -> client) --------------------------------------------------------------------

export function encodeAbort(roundId: Uint8Array, recipient: number, reason: string): Uint8Array {
  const text = new TextEncoder().encode(reason.slice(0, 200));
  const { bytes, view } = allocate(HEADER_BYTES + 2 + text.length, MessageType.Abort, roundId, recipient);
  view.setUint16(HEADER_BYTES, text.length, true);
  bytes.set(text, HEADER_BYTES + 2);
  return bytes;
}

export function decodeAbort(bytes: Uint8Array): { header: Header; reason: string } {
  const header = readHeader(bytes);
  if (bytes.length < HEADER_BYTES + 2) throw malformed('An abort message is truncated.');
  const length = viewOf(bytes).getUint16(HEADER_BYTES, true);
  expectLength(bytes, HEADER_BYTES + 2 + length, 'An abort message');
  let reason: string;
  try {
    reason = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(HEADER_BYTES + 2));
  } catch {
    throw malformed('An abort message has an unreadable reason.');
  }
  return { header, reason };
}
