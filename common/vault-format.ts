// The environment-free half of the vault format (docs/vault-format.md): how a sealed value is
// laid out, what its associated data binds it to, and how a column segment is encoded. The main
// process uses it to write and read the vault; the worker uses it to decrypt only the columns a
// task was granted.
import sodium from 'libsodium-wrappers-sumo';
import { aead } from './aead.js';
import type { ColumnData, ColumnType } from './dataset.js';
import { concatBytes } from './bytes.js';
import { TroveError } from './errors.js';

export const FORMAT_VERSION = 1;
export const KEY_BYTES = 32;
export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
export const ID_BYTES = 16;

/** What a sealed value is; the first byte after the prefix in its associated data. */
export const SealKind = {
  masterKey: 1,
  dataKey: 2,
  manifest: 3,
  segment: 4,
  activityEntry: 5,
  activityHead: 6,
  setting: 7,
  vaultState: 8,
} as const;
export type SealKind = (typeof SealKind)[keyof typeof SealKind];

const AD_PREFIX = new TextEncoder().encode('trove/v1');
export const AD_BYTES = AD_PREFIX.length + 1 + ID_BYTES + ID_BYTES + 4 + 2 + 4;

/** The place a ciphertext belongs to. Opening it anywhere else fails authentication. */
export interface SealPlace {
  kind: SealKind;
  vaultId: Uint8Array;
  /** Dataset id, or another 16-byte owner id; zeros when the value belongs to the vault. */
  ownerId?: Uint8Array;
  /** Block number of a segment, sequence number of a log entry; 0 otherwise. */
  slot?: number;
  /** Column number of a segment (0 = record ids); 0 otherwise. */
  column?: number;
  version?: number;
}

/** prefix(8) | kind(1) | vault id(16) | owner id(16) | slot u32be | column u16be | version u32be */
export function associatedData(place: SealPlace): Uint8Array {
  const ad = new Uint8Array(AD_BYTES);
  const view = new DataView(ad.buffer);
  let o = 0;
  ad.set(AD_PREFIX, o);
  o += AD_PREFIX.length;
  ad[o++] = place.kind;
  if (place.vaultId.length !== ID_BYTES) throw new RangeError('vault id must be 16 bytes');
  ad.set(place.vaultId, o);
  o += ID_BYTES;
  if (place.ownerId) {
    if (place.ownerId.length !== ID_BYTES) throw new RangeError('owner id must be 16 bytes');
    ad.set(place.ownerId, o);
  }
  o += ID_BYTES;
  view.setUint32(o, place.slot ?? 0);
  o += 4;
  view.setUint16(o, place.column ?? 0);
  o += 2;
  view.setUint32(o, place.version ?? 0);
  return ad;
}

export async function sodiumReady(): Promise<typeof sodium> {
  await sodium.ready;
  return sodium;
}

// The platform's CSPRNG, drawn in 4 KiB at a time: libsodium's build asks it for 4 bytes per
// call, which made random nonces the slowest part of sealing small values.
const pool = new Uint8Array(4096);
let poolUsed = pool.length;

export function randomBytes(n: number): Uint8Array {
  if (n > pool.length) return globalThis.crypto.getRandomValues(new Uint8Array(n));
  if (poolUsed + n > pool.length) {
    globalThis.crypto.getRandomValues(pool);
    poolUsed = 0;
  }
  const out = pool.slice(poolUsed, poolUsed + n);
  pool.fill(0, poolUsed, poolUsed + n); // handed out once, never again
  poolUsed += n;
  return out;
}

/** nonce(24) | XChaCha20-Poly1305 ciphertext with its tag. A fresh random nonce every time. */
export function seal(key: Uint8Array, plaintext: Uint8Array, place: SealPlace): Uint8Array {
  return aead().seal(key, plaintext, associatedData(place), randomBytes(NONCE_BYTES));
}

/** Opens a sealed value or throws CORRUPT_DATA: never returns bytes that failed authentication. */
export function open(key: Uint8Array, sealed: Uint8Array, place: SealPlace, what: string): Uint8Array {
  // A damaged file can hand back another type than the BLOB that was stored.
  if (!(sealed instanceof Uint8Array) || sealed.length < NONCE_BYTES + TAG_BYTES) {
    throw corrupt(what);
  }
  try {
    return aead().open(key, sealed, associatedData(place));
  } catch {
    throw corrupt(what);
  }
}

function corrupt(what: string): TroveError {
  return new TroveError(
    'CORRUPT_DATA',
    `The vault's ${what} failed its integrity check: it was damaged or changed outside Trove. Restore from a backup.`,
    { what },
  );
}

export function sealJson(key: Uint8Array, value: unknown, place: SealPlace): Uint8Array {
  return seal(key, new TextEncoder().encode(JSON.stringify(value)), place);
}

export function openJson<T>(key: Uint8Array, sealed: Uint8Array, place: SealPlace, what: string): T {
  const bytes = open(key, sealed, place, what);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch {
    throw corrupt(what);
  } finally {
    sodium.memzero(bytes);
  }
}

// ---------------------------------------------------------------------------------------------
// Column segments. One segment holds one column of one block of records. Little-endian.
//   u8 encoding version | u8 type code | u16 zero | u32 rows | null bitmap (not for record ids) | payload

const SEGMENT_VERSION = 1;
const HEADER_BYTES = 8;
export const RECORD_IDS = 'record-ids' as const;
type SegmentType = ColumnType | typeof RECORD_IDS;

const TYPE_CODES: Record<SegmentType, number> = {
  [RECORD_IDS]: 0,
  number: 1,
  integer: 2,
  string: 3,
  boolean: 4,
  date: 5,
  category: 6,
};
const TYPES_BY_CODE = Object.fromEntries(Object.entries(TYPE_CODES).map(([t, c]) => [c, t])) as Record<number, SegmentType>;

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('the vault format is little-endian and this machine is not');
}

/** Strings: (rows+1) u32 offsets in UTF-16 units into one UTF-8 text, its byte length, its bytes. */
function encodeStrings(values: readonly (string | null)[]): Uint8Array[] {
  const offsets = new Uint32Array(values.length + 1);
  let units = 0;
  for (let i = 0; i < values.length; i++) {
    units += values[i]?.length ?? 0;
    offsets[i + 1] = units;
  }
  const text = new TextEncoder().encode(values.map((v) => v ?? '').join(''));
  const len = new Uint32Array([text.length]);
  return [new Uint8Array(offsets.buffer), new Uint8Array(len.buffer), text];
}


function nullBitmap(rows: number, isNull: (i: number) => boolean): Uint8Array {
  const bits = new Uint8Array((rows + 7) >> 3);
  for (let i = 0; i < rows; i++) if (isNull(i)) bits[i >> 3]! |= 1 << (i & 7);
  return bits;
}

function header(type: SegmentType, rows: number): Uint8Array {
  const h = new Uint8Array(HEADER_BYTES);
  h[0] = SEGMENT_VERSION;
  h[1] = TYPE_CODES[type];
  new DataView(h.buffer).setUint32(4, rows, true);
  return h;
}

const textEncoder = new TextEncoder();

function writeHeader(out: Uint8Array, type: SegmentType, rows: number): void {
  out[0] = SEGMENT_VERSION;
  out[1] = TYPE_CODES[type];
  out[4] = rows & 0xff;
  out[5] = (rows >>> 8) & 0xff;
  out[6] = (rows >>> 16) & 0xff;
  out[7] = (rows >>> 24) & 0xff;
}

/** Header and null bitmap of a number, integer, date or boolean segment, with room for its payload. */
function fixedWidthSegment(type: SegmentType, rows: number, nulls: Uint8Array, bodyBytes: number): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + bodyBytes);
  writeHeader(out, type, rows);
  for (let i = 0; i < rows; i++) if (nulls[i] === 1) out[HEADER_BYTES + (i >> 3)]! |= 1 << (i & 7);
  return out;
}

export function encodeRecordIds(ids: Float64Array): Uint8Array {
  return concatBytes(header(RECORD_IDS, ids.length), new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength));
}

export function encodeColumn(column: ColumnData, rows: number): Uint8Array {
  switch (column.type) {
    case 'number':
    case 'integer':
    case 'date': {
      // Written straight into the one array that gets sealed: no parts to join.
      const bitmapBytes = (rows + 7) >> 3;
      const out = fixedWidthSegment(column.type, rows, column.nulls, bitmapBytes + rows * 8);
      const values = column.values.subarray(0, rows);
      out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), HEADER_BYTES + bitmapBytes);
      return out;
    }
    case 'boolean': {
      const start = HEADER_BYTES + ((rows + 7) >> 3);
      const out = fixedWidthSegment('boolean', rows, column.nulls, start - HEADER_BYTES + rows);
      for (let i = 0; i < rows; i++) out[start + i] = column.values[i] ? 1 : 0;
      return out;
    }
    case 'string': {
      const values = column.values.length === rows ? column.values : column.values.slice(0, rows);
      // One array sized for the worst case (3 UTF-8 bytes per UTF-16 unit), the text encoded into it.
      const textAt = HEADER_BYTES + ((rows + 7) >> 3) + (rows + 1) * 4 + 4;
      let units = 0;
      for (let i = 0; i < rows; i++) units += values[i]?.length ?? 0;
      const out = new Uint8Array(textAt + units * 3);
      writeHeader(out, 'string', rows);
      const view = new DataView(out.buffer);
      let offset = HEADER_BYTES + ((rows + 7) >> 3);
      units = 0;
      view.setUint32(offset, 0, true);
      for (let i = 0; i < rows; i++) {
        const v = values[i];
        if (v === null || v === undefined) out[HEADER_BYTES + (i >> 3)]! |= 1 << (i & 7);
        else units += v.length;
        view.setUint32((offset += 4), units, true);
      }
      const { written } = textEncoder.encodeInto(values.map((v) => v ?? '').join(''), out.subarray(textAt));
      view.setUint32(textAt - 4, written, true);
      return out.subarray(0, textAt + written);
    }
    case 'category': {
      const values = column.values.length === rows ? column.values : column.values.slice(0, rows);
      const dictionary = new Map<string, number>();
      const codes = new Uint32Array(rows);
      for (let i = 0; i < rows; i++) {
        const v = values[i];
        if (v === null || v === undefined) continue;
        let code = dictionary.get(v);
        if (code === undefined) {
          code = dictionary.size;
          dictionary.set(v, code);
        }
        codes[i] = code;
      }
      const count = new Uint32Array([dictionary.size]);
      return concatBytes(
        header('category', rows),
        nullBitmap(rows, (i) => values[i] === null),
        new Uint8Array(count.buffer),
        ...encodeStrings([...dictionary.keys()]),
        new Uint8Array(codes.buffer),
      );
    }
  }
}

class SegmentReader {
  offset = HEADER_BYTES;
  constructor(private readonly bytes: Uint8Array) {}

  take(n: number): Uint8Array {
    if (n < 0 || this.offset + n > this.bytes.length) throw new TroveError('CORRUPT_DATA', 'A column segment is shorter than its header says.');
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  u32(): number {
    const b = this.take(4);
    return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  }
  float64s(n: number): Float64Array {
    return new Float64Array(this.take(n * 8).slice().buffer);
  }
  strings(n: number): string[] {
    const offsets = new Uint32Array(this.take((n + 1) * 4).slice().buffer);
    const text = new TextDecoder().decode(this.take(this.u32()));
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = text.slice(offsets[i], offsets[i + 1]);
    return out;
  }
  end(): void {
    if (this.offset !== this.bytes.length) throw new TroveError('CORRUPT_DATA', 'A column segment has trailing bytes.');
  }
}

function segmentHeader(bytes: Uint8Array): { type: SegmentType; rows: number } {
  if (bytes.length < HEADER_BYTES || bytes[0] !== SEGMENT_VERSION) {
    throw new TroveError('CORRUPT_DATA', 'A column segment has an unknown encoding version.');
  }
  const type = TYPES_BY_CODE[bytes[1]!];
  if (!type) throw new TroveError('CORRUPT_DATA', 'A column segment has an unknown type.');
  return { type, rows: new DataView(bytes.buffer, bytes.byteOffset).getUint32(4, true) };
}

export function decodeRecordIds(bytes: Uint8Array): Float64Array {
  const { type, rows } = segmentHeader(bytes);
  if (type !== RECORD_IDS) throw new TroveError('CORRUPT_DATA', 'Expected a record-id segment.');
  const r = new SegmentReader(bytes);
  const ids = r.float64s(rows);
  r.end();
  return ids;
}

export function decodeColumn(bytes: Uint8Array, expected: ColumnType): ColumnData {
  const { rows } = segmentHeader(bytes);
  // every record takes at least a bit of the null bitmap: a damaged count allocates nothing
  if (rows > (bytes.length - HEADER_BYTES) * 8) throw new TroveError('CORRUPT_DATA', 'A column segment is shorter than its header says.');
  const column: ColumnData =
    expected === 'string' || expected === 'category'
      ? { type: expected, values: new Array<string | null>(rows) }
      : { type: expected, values: new Float64Array(rows), nulls: new Uint8Array(rows) };
  decodeColumnInto(bytes, column, 0);
  return column;
}

/**
 * Decodes a column segment into rows [at, at + rows) of a column allocated for more (a whole
 * projection read block by block), with no arrays of its own in between: numbers are copied once,
 * nulls unpacked in place (`into.nulls` must be zeroed there, as a new array is). Returns the
 * segment's row count.
 */
export function decodeColumnInto(bytes: Uint8Array, into: ColumnData, at: number): number {
  const { type, rows } = segmentHeader(bytes);
  if (type !== into.type) throw new TroveError('CORRUPT_DATA', `Expected a ${into.type} segment, found ${type}.`);
  if (at + rows > into.values.length) throw new TroveError('CORRUPT_DATA', 'A column segment holds more records than its dataset.');
  const r = new SegmentReader(bytes);
  const bits = r.take((rows + 7) >> 3);
  if ('nulls' in into) {
    const nulls = into.nulls;
    // most bitmaps are all zeros: only the set bits are written
    for (let b = 0; b < bits.length; b++) {
      const byte = bits[b]!;
      if (byte === 0) continue;
      for (let i = b << 3, end = Math.min(rows, i + 8); i < end; i++) nulls[at + i] = (byte >> (i & 7)) & 1;
    }
    if (type === 'boolean') {
      const flags = r.take(rows);
      for (let i = 0; i < rows; i++) into.values[at + i] = flags[i]!;
    } else {
      // the payload is not 8-byte aligned in the segment: copied as bytes into the aligned column
      const target = new Uint8Array(into.values.buffer, into.values.byteOffset + at * 8, rows * 8);
      target.set(r.take(rows * 8));
    }
  } else if (type === 'string') {
    const values = r.strings(rows);
    for (let i = 0; i < rows; i++) into.values[at + i] = (bits[i >> 3]! >> (i & 7)) & 1 ? null : values[i]!;
  } else {
    const dictionary = r.strings(r.u32());
    const codes = new Uint32Array(r.take(rows * 4).slice().buffer);
    for (let i = 0; i < rows; i++) {
      if ((bits[i >> 3]! >> (i & 7)) & 1) {
        into.values[at + i] = null;
        continue;
      }
      const v = dictionary[codes[i]!];
      if (v === undefined) throw new TroveError('CORRUPT_DATA', 'A category segment refers to a value it does not hold.');
      into.values[at + i] = v;
    }
  }
  r.end();
  return rows;
}

export function hexToBytes(hex: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/.test(hex)) throw new TroveError('INVALID_INPUT', 'Not a hexadecimal id.');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
