// Streaming readers for the files a person imports: CSV (RFC 4180, with quoted newlines), JSON
// (an array of objects) and JSON Lines. They read bytes chunk by chunk, so memory stays bounded
// by the longest record, not the file; every record carries the line it starts on, and a record
// that cannot be read becomes a row-level problem instead of stopping the import.
import { isUtf8 } from 'node:buffer';
import { TroveError } from '../../../../common/errors.js';
import { formatBytes } from '../../../../common/units.js';

export type SourceRecord =
  | { line: number; fields: string[] }
  | { line: number; object: Record<string, unknown> }
  /** Values already typed by whoever produced them (an API, a job), by column position. */
  | { line: number; values: readonly unknown[] }
  | { line: number; error: string };

export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

const NOT_UTF8 = 'The text is not valid UTF-8. Save the file as UTF-8 and import it again.';

/** Checks the file's first bytes: skips a UTF-8 byte-order mark, refuses UTF-16 with a clear word. */
function startOffset(first: Uint8Array): number {
  if ((first[0] === 0xff && first[1] === 0xfe) || (first[0] === 0xfe && first[1] === 0xff)) {
    throw new TroveError('UNREADABLE_FILE', 'The file is UTF-16 text. Save it as UTF-8 (most spreadsheet programs offer "CSV UTF-8") and import it again.');
  }
  return first[0] === 0xef && first[1] === 0xbb && first[2] === 0xbf ? 3 : 0;
}

/**
 * Splits a byte stream into records at line feeds, keeping an unfinished record across chunks.
 * `quoted` tells whether a double quote toggles "inside a field" (CSV) or not (JSON Lines).
 */
async function* splitRecords(
  chunks: AsyncIterable<Uint8Array>,
  quoted: boolean,
  maxRecordBytes: number,
): AsyncGenerator<{ line: number; bytes: Buffer; oversize: boolean; unclosedQuote: boolean }[]> {
  let buf: Buffer = Buffer.alloc(0);
  let scanFrom = 0;
  let line = 1;
  let recLine = 1;
  let inQuotes = false;
  let skipping = false;
  let first = true;

  for await (const chunk of chunks) {
    const out: { line: number; bytes: Buffer; oversize: boolean; unclosedQuote: boolean }[] = [];
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (first && data.length > 0) {
      data = data.subarray(startOffset(data));
      first = false;
    }
    buf = buf.length === 0 ? data : Buffer.concat([buf, data]);
    let recStart = 0;
    let i = scanFrom;
    const n = buf.length;
    while (i < n) {
      const c = buf[i]!;
      if (c === LF) {
        line++;
        if (skipping || !inQuotes) {
          let end = i;
          if (end > recStart && buf[end - 1] === CR) end--;
          out.push({ line: recLine, bytes: buf.subarray(recStart, end), oversize: skipping, unclosedQuote: false });
          skipping = false;
          inQuotes = false;
          recStart = i + 1;
          recLine = line;
        }
      } else if (c === QUOTE && quoted && !skipping) {
        inQuotes = !inQuotes;
      }
      i++;
      if (!skipping && i - recStart > maxRecordBytes) {
        // Too long to be a record: drop what we hold and skip to the next line feed.
        skipping = true;
        recStart = i;
      }
    }
    if (skipping) recStart = n;
    buf = buf.subarray(recStart);
    scanFrom = buf.length;
    if (out.length > 0) yield out;
  }
  if (buf.length > 0 || skipping) {
    let end = buf.length;
    if (end > 0 && buf[end - 1] === CR) end--;
    yield [{ line: recLine, bytes: buf.subarray(0, end), oversize: skipping, unclosedQuote: inQuotes }];
  }
}

/** Splits one CSV record into fields, or says why it cannot. */
export function parseCsvRecord(bytes: Buffer, delimiter: number): string[] | string {
  const fields: string[] = [];
  const end = bytes.length;
  let i = 0;
  for (;;) {
    if (i < end && bytes[i] === QUOTE) {
      let value = '';
      let from = i + 1;
      let j = from;
      for (;;) {
        j = bytes.indexOf(QUOTE, j);
        if (j < 0) return 'A quoted field is not closed.';
        if (bytes[j + 1] === QUOTE) {
          value += bytes.toString('utf8', from, j + 1);
          j += 2;
          from = j;
          continue;
        }
        break;
      }
      value += bytes.toString('utf8', from, j);
      fields.push(value);
      i = j + 1;
      if (i === end) return fields;
      if (bytes[i] !== delimiter) return `Unexpected text after a closing quote in field ${fields.length}.`;
      i++;
      if (i === end) {
        fields.push('');
        return fields;
      }
    } else {
      let j = bytes.indexOf(delimiter, i);
      if (j < 0) j = end;
      fields.push(bytes.toString('utf8', i, j));
      if (j === end) return fields;
      i = j + 1;
      if (i === end) {
        fields.push('');
        return fields;
      }
    }
  }
}

export interface ReadOptions {
  maxRecordBytes?: number;
}

export async function* readCsv(
  chunks: AsyncIterable<Uint8Array>,
  delimiter: string,
  opts: ReadOptions = {},
): AsyncGenerator<SourceRecord[]> {
  const max = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const delim = delimiter.charCodeAt(0);
  for await (const batch of splitRecords(chunks, true, max)) {
    const out: SourceRecord[] = [];
    for (const r of batch) {
      if (r.oversize) out.push({ line: r.line, error: `The record is longer than ${formatBytes(max)}.` });
      else if (r.unclosedQuote) out.push({ line: r.line, error: 'A quoted field is not closed before the end of the file.' });
      else if (r.bytes.length === 0) continue; // blank line
      else if (!isUtf8(r.bytes)) out.push({ line: r.line, error: NOT_UTF8 });
      else {
        const fields = parseCsvRecord(r.bytes, delim);
        out.push(typeof fields === 'string' ? { line: r.line, error: fields } : { line: r.line, fields });
      }
    }
    if (out.length > 0) yield out;
  }
}

function objectRecord(line: number, text: string): SourceRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { line, error: `Not valid JSON: ${(err as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { line, error: 'Expected an object with one field per column.' };
  }
  return { line, object: value as Record<string, unknown> };
}

export async function* readJsonLines(chunks: AsyncIterable<Uint8Array>, opts: ReadOptions = {}): AsyncGenerator<SourceRecord[]> {
  const max = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  for await (const batch of splitRecords(chunks, false, max)) {
    const out: SourceRecord[] = [];
    for (const r of batch) {
      if (r.oversize) out.push({ line: r.line, error: `The record is longer than ${formatBytes(max)}.` });
      else if (r.bytes.every((b) => b === 0x20 || b === 0x09)) continue;
      else if (!isUtf8(r.bytes)) out.push({ line: r.line, error: NOT_UTF8 });
      else out.push(objectRecord(r.line, r.bytes.toString('utf8')));
    }
    if (out.length > 0) yield out;
  }
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * A JSON array of objects, read element by element: the scanner follows brackets and strings to
 * find where each element ends, and JSON.parse reads just that element.
 */
export async function* readJsonArray(chunks: AsyncIterable<Uint8Array>, opts: ReadOptions = {}): AsyncGenerator<SourceRecord[]> {
  const max = opts.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  let state: 'before-array' | 'before-element' | 'in-element' | 'after-element' | 'done' = 'before-array';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let line = 1;
  let elemLine = 1;
  let held: Buffer[] = [];
  let heldBytes = 0;
  let oversize = false;
  let first = true;

  const finishElement = (out: SourceRecord[], bytes: Buffer): void => {
    if (oversize || heldBytes + bytes.length > max) out.push({ line: elemLine, error: `The record is longer than ${formatBytes(max)}.` });
    else {
      const all = held.length ? Buffer.concat([...held, bytes]) : bytes;
      out.push(isUtf8(all) ? objectRecord(elemLine, all.toString('utf8')) : { line: elemLine, error: NOT_UTF8 });
    }
    held = [];
    heldBytes = 0;
    oversize = false;
  };
  const malformed = (what: string) =>
    new TroveError('UNREADABLE_FILE', `The JSON file is malformed at line ${line}: ${what}. Check the file, or export it again as JSON Lines.`, { line });

  for await (const chunk of chunks) {
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (first && data.length > 0) {
      data = data.subarray(startOffset(data));
      first = false;
    }
    const out: SourceRecord[] = [];
    let elemStart = state === 'in-element' ? 0 : -1;
    for (let i = 0; i < data.length; i++) {
      const c = data[i]!;
      if (c === LF) line++;
      switch (state) {
        case 'before-array':
          if (WS.has(c)) continue;
          if (c !== 0x5b) throw new TroveError('UNREADABLE_FILE', 'Expected a JSON array of objects ([{...}, {...}]) or JSON Lines (one object per line).');
          state = 'before-element';
          continue;
        case 'before-element':
        case 'after-element':
          if (WS.has(c)) continue;
          if (c === 0x5d) {
            state = 'done';
            continue;
          }
          if (state === 'after-element') {
            if (c !== 0x2c) throw malformed(`expected "," or "]" but found "${String.fromCharCode(c)}"`);
            state = 'before-element';
            continue;
          }
          state = 'in-element';
          elemStart = i;
          elemLine = line;
          depth = 0;
          inString = false;
          escaped = false;
          i--; // scan the element's first byte again, now inside the element
          continue;
        case 'in-element':
          if (inString) {
            if (escaped) escaped = false;
            else if (c === 0x5c) escaped = true;
            else if (c === QUOTE) inString = false;
          } else if (c === QUOTE) inString = true;
          else if (c === 0x7b || c === 0x5b) depth++;
          else if (c === 0x7d || c === 0x5d) {
            if (depth === 0) {
              // The array closed right after a scalar element.
              finishElement(out, data.subarray(elemStart, i));
              state = 'done';
              continue;
            }
            depth--;
          } else if (c === 0x2c && depth === 0) {
            finishElement(out, data.subarray(elemStart, i));
            state = 'before-element';
            continue;
          }
          if (depth === 0 && !inString && (c === 0x7d || c === 0x5d)) {
            finishElement(out, data.subarray(elemStart, i + 1));
            state = 'after-element';
          }
          continue;
        case 'done':
          if (!WS.has(c)) throw malformed('text after the end of the array');
          continue;
      }
    }
    if (state === 'in-element') {
      const rest = data.subarray(Math.max(elemStart, 0));
      heldBytes += rest.length;
      if (heldBytes > max) {
        oversize = true;
        held = [];
      } else held.push(Buffer.from(rest));
    }
    if (out.length > 0) yield out;
  }
  if (state === 'in-element') yield [{ line: elemLine, error: 'The file ends in the middle of this record.' }];
  else if (first) throw new TroveError('UNREADABLE_FILE', 'The file is empty.');
  else if ((state as string) !== 'done') throw malformed('the array is not closed');
}

/** Picks the delimiter that splits the header line most often (outside quotes). */
export function detectDelimiter(headerLine: Buffer): string {
  const candidates = [',', ';', '\t', '|'];
  let best = ',';
  let bestCount = 0;
  for (const d of candidates) {
    const code = d.charCodeAt(0);
    let count = 0;
    let inQuotes = false;
    for (const b of headerLine) {
      if (b === QUOTE) inQuotes = !inQuotes;
      else if (b === code && !inQuotes) count++;
    }
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}
