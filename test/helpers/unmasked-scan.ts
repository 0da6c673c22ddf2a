// Looks for one contributor's unmasked vector in stored bytes (a database file, its log): as
// float32 or float64 values, or as the quantized words the coordinator would hold, so a test that
// says "nothing unmasked is stored" searches for what would really be stored.
import { readFileSync } from 'node:fs';

export interface QuantizationParams {
  clipRange: number;
  quantizationBits: number;
}

/**
 * Looks for a contributor's unmasked vector in `bytes`: its values as float32 or float64, or its
 * quantized words (either rounding of each coordinate) for 8 coordinates in a row.
 */
export function findUnmasked(bytes: Uint8Array, input: Float64Array, params: QuantizationParams): string | undefined {
  const run = 8;
  const d = input.length;
  const levels = 2 ** params.quantizationBits - 1;
  const scale = levels / (2 * params.clipRange);
  const q = Array.from(input, (x) => Math.floor((Math.max(-params.clipRange, Math.min(params.clipRange, x)) + params.clipRange) * scale));
  const f32 = new Uint8Array(Float32Array.from(input).buffer);
  const f64 = new Uint8Array(Float64Array.from(input).buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const haystack = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const contains = (needle: Uint8Array) => haystack.indexOf(needle) >= 0;
  for (let s = 0; s + run <= d; s++) {
    if (contains(f32.subarray(4 * s, 4 * (s + run)))) return 'float32';
    if (contains(f64.subarray(8 * s, 8 * (s + run)))) return 'float64';
  }
  // Where each word value may start a run: both roundings of every coordinate.
  const starts = new Map<number, number[]>();
  for (let s = 0; s + run <= d; s++) {
    for (const w of [q[s]!, q[s]! + 1]) {
      const list = starts.get(w);
      if (list) list.push(s);
      else starts.set(w, [s]);
    }
  }
  for (let o = 0; o + 4 * run <= bytes.length; o++) {
    const candidates = starts.get(view.getUint32(o, true));
    if (!candidates) continue;
    for (const s of candidates) {
      let k = 1;
      while (k < run) {
        const w = view.getUint32(o + 4 * k, true);
        if (w !== q[s + k] && w !== q[s + k]! + 1) break;
        k++;
      }
      if (k === run) return 'quantized';
    }
  }
  return undefined;
}

/** The quantized words of `input`, as a planted needle for the scan's positive control. */
export function quantizedBytes(input: Float64Array, params: QuantizationParams): Uint8Array {
  const bytes = new Uint8Array(4 * input.length);
  const view = new DataView(bytes.buffer);
  const levels = 2 ** params.quantizationBits - 1;
  for (let i = 0; i < input.length; i++) view.setUint32(4 * i, Math.floor((input[i]! + params.clipRange) * (levels / (2 * params.clipRange))), true);
  return bytes;
}

/** The files a database keeps its data in, as stored on disk (missing files read as empty). */
export function databaseBytes(files: string[]): Uint8Array[] {
  return files.map((f) => {
    try {
      return new Uint8Array(readFileSync(f));
    } catch {
      return new Uint8Array(0);
    }
  });
}
