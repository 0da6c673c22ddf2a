// Reading a file to import: its format, its column names, its first records for the preview,
// and the stream of records the import consumes. The vault turns those records into a dataset.
import { createReadStream } from 'node:fs';
import { basename, extname } from 'node:path';
import type { ColumnType, ImportFormat, ImportReport, RejectedRow } from '../../../../common/dataset.js';
import { TroveError } from '../../../../common/errors.js';
import { DEFAULT_MAX_RECORD_BYTES, type SourceRecord, detectDelimiter, readCsv, readJsonArray, readJsonLines } from './sources.js';
import { TypeTally } from './types.js';

export const PREVIEW_RECORDS = 200;

export function formatOf(file: string, explicit?: ImportFormat): ImportFormat {
  if (explicit) return explicit;
  const ext = extname(file).toLowerCase();
  if (ext === '.json') return 'json';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  return 'csv';
}

function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((raw, i) => {
    const base = raw.trim() || `column ${i + 1}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base} (${n})`;
  });
}

/** Reads a file in 1 MiB chunks, counting bytes for progress and stopping when asked to. */
async function* fileChunks(file: string, onBytes: (n: number) => void, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
  const stream = createReadStream(file, { highWaterMark: 1024 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (signal?.aborted) throw new TroveError('CANCELLED', 'The import was cancelled. Nothing was added to the vault.');
      onBytes(chunk.length);
      yield chunk;
    }
  } finally {
    stream.destroy();
  }
}

export function unreadable(file: string, err: unknown): TroveError {
  const code = (err as NodeJS.ErrnoException).code;
  return new TroveError('UNREADABLE_FILE', code === 'ENOENT' ? `There is no file at ${basename(file)}.` : `${basename(file)} could not be read (${code ?? 'error'}).`, { code });
}

/** The column names and the first records of a file. */
export async function sampleFile(file: string, format: ImportFormat, opts: { delimiter?: string | undefined; maxRecordBytes?: number | undefined }) {
  await refuseBinary(file);
  const controller = new AbortController();
  const records: SourceRecord[] = [];
  let delimiter = opts.delimiter;
  try {
    if (format === 'csv' && !delimiter) delimiter = await sniffDelimiter(file);
    for await (const batch of fileRecords(file, format, delimiter, opts.maxRecordBytes, () => undefined, controller.signal)) {
      records.push(...batch);
      if (records.length >= PREVIEW_RECORDS + 1) break;
    }
  } catch (err) {
    if (err instanceof TroveError) throw err;
    throw unreadable(file, err);
  } finally {
    controller.abort();
  }
  let names: string[];
  if (format === 'csv') {
    const head = records.shift();
    if (!head) throw new TroveError('IMPORT_REJECTED', 'The file is empty: there is no header line with column names.', { report: emptyReport([{ line: 1, reason: 'The file is empty.' }]) });
    if ('error' in head || !('fields' in head)) throw new TroveError('IMPORT_REJECTED', `The header line cannot be read: ${'error' in head ? head.error : ''}`, { report: emptyReport([{ line: head.line, reason: 'error' in head ? head.error : 'unreadable header' }]) });
    names = uniqueNames(head.fields);
  } else {
    const keys = new Set<string>();
    for (const r of records) if ('object' in r) for (const k of Object.keys(r.object)) keys.add(k);
    names = [...keys];
  }
  return { names, delimiter, records: records.slice(0, PREVIEW_RECORDS) };
}

export function fileRecords(file: string, format: ImportFormat, delimiter: string | undefined, maxRecordBytes: number | undefined, onBytes: (n: number) => void, signal?: AbortSignal): AsyncGenerator<SourceRecord[]> {
  const chunks = fileChunks(file, onBytes, signal);
  const o = { maxRecordBytes: maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES };
  if (format === 'csv') return readCsv(chunks, delimiter ?? ',', o);
  if (format === 'jsonl') return readJsonLines(chunks, o);
  return readJsonArray(chunks, o);
}

/**
 * Reads the whole file once and proposes each column's type from all of its values, so no row is
 * refused for a type guessed from the first ones; `invalid` counts the values that type refuses.
 */
export async function inferColumnTypes(
  file: string,
  format: ImportFormat,
  names: string[],
  opts: { delimiter?: string | undefined; maxRecordBytes?: number | undefined; signal?: AbortSignal | undefined },
): Promise<{ type: ColumnType; invalid: number }[]> {
  const tallies = names.map(() => new TypeTally());
  try {
    for await (const batch of skipHeader(fileRecords(file, format, opts.delimiter, opts.maxRecordBytes, () => undefined, opts.signal), format === 'csv')) {
      for (const r of batch) {
        if ('error' in r) continue;
        for (let c = 0; c < names.length; c++) tallies[c]!.add(valueOf(r, c, names));
      }
    }
  } catch (err) {
    if (err instanceof TroveError) throw err;
    throw unreadable(file, err);
  }
  return tallies.map((t) => t.guess());
}

export function isData(r: SourceRecord): r is Exclude<SourceRecord, { error: string }> {
  return !('error' in r);
}

export function valueOf(r: SourceRecord, c: number, names: string[]): unknown {
  if ('fields' in r) return r.fields[c];
  if ('values' in r) return r.values[c];
  if ('object' in r) return r.object[names[c]!];
  return undefined;
}

export async function* skipHeader(records: AsyncIterable<SourceRecord[]>, skip: boolean): AsyncGenerator<SourceRecord[]> {
  let first = skip;
  for await (const batch of records) {
    if (first) {
      first = false;
      const rest = batch.slice(1);
      if (rest.length) yield rest;
      continue;
    }
    yield batch;
  }
}

/**
 * Text never holds a zero byte; images, archives and spreadsheets do within their first bytes. Judged
 * by content, whatever the file is called, so they are refused as what they are rather than parsed.
 */
async function refuseBinary(file: string): Promise<void> {
  let head: Buffer;
  try {
    const stream = createReadStream(file, { start: 0, end: 8 * 1024 - 1 });
    const parts: Buffer[] = [];
    for await (const chunk of stream as AsyncIterable<Buffer>) parts.push(chunk);
    head = Buffer.concat(parts);
  } catch (err) {
    throw unreadable(file, err);
  }
  const utf16 = (head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff); // said in its own words later
  if (!utf16 && head.includes(0)) {
    throw new TroveError('UNREADABLE_FILE', `${basename(file)} is not a text file (it looks like an image, an archive or a spreadsheet). Save or export it as CSV, JSON or JSON Lines in UTF-8, then import that.`, { binary: true });
  }
}

async function sniffDelimiter(file: string): Promise<string> {
  const stream = createReadStream(file, { start: 0, end: 64 * 1024 - 1 });
  const parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) parts.push(chunk);
  const head = Buffer.concat(parts);
  const nl = head.indexOf(0x0a);
  return detectDelimiter(nl >= 0 ? head.subarray(0, nl) : head);
}

function emptyReport(rejected: RejectedRow[]): ImportReport {
  return { datasetId: null, rowsImported: 0, rowsRejected: rejected.length, rejected, warnings: [], bytesRead: 0, durationMs: 0 };
}
