import { spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ImportProgress, ImportReport } from '../../../common/dataset.js';
import { TroveError } from '../../../common/errors.js';
import { PASSPHRASE, newVault, peopleCsv, useTempDir } from '../../helpers/vault.js';

function rejection(err: unknown): ImportReport {
  expect(err).toBeInstanceOf(TroveError);
  expect(err).toMatchObject({ code: 'IMPORT_REJECTED' });
  return (err as TroveError).details!.report as ImportReport;
}

describe('import', () => {
  const t = useTempDir();

  it('previews a CSV with inferred types and sample values', async () => {
    const v = await newVault(t);
    const preview = await v.previewImport(t.file('people.csv', peopleCsv(40)));
    expect(preview.format).toBe('csv');
    expect(preview.delimiter).toBe(',');
    expect(preview.columns.map((c) => [c.name, c.type])).toEqual([
      ['name', 'string'],
      ['age', 'integer'],
      ['height', 'number'],
      ['member', 'boolean'],
      ['joined', 'date'],
      ['city', 'category'],
      ['note', 'string'],
    ]);
    expect(preview.columns[4]!.samples[0]).toBe('2024-03-01T00:00:00.000Z');
    expect(preview.rows[1]![6]).toBe('nobody #1, says "hi"');
  });

  it('imports CSV with typed values and lets the person override types, names and columns', async () => {
    const v = await newVault(t);
    const file = t.file('people.csv', peopleCsv(30));
    const report = await v.importFile(file, {
      name: 'People',
      columns: [{}, { type: 'number', name: 'years' }, { skip: true }, {}, {}, { type: 'string' }, { skip: true }],
    });
    expect(report).toMatchObject({ rowsImported: 30, rowsRejected: 0, rejected: [] });
    const info = v.dataset(report.datasetId!);
    expect(info.name).toBe('People');
    expect(info.columns).toEqual([
      { name: 'name', type: 'string' },
      { name: 'years', type: 'number' },
      { name: 'member', type: 'boolean' },
      { name: 'joined', type: 'date' },
      { name: 'city', type: 'string' },
    ]);
    expect(v.readRows(report.datasetId!, { limit: 2 }).rows).toEqual([
      { id: 0, values: ['person 0', 20, true, '2024-03-01T00:00:00.000Z', 'Oslo'] },
      { id: 1, values: ['person 1', 21, false, '2024-03-02T00:00:00.000Z', 'Bergen'] },
    ]);
  });

  it('reads semicolon and tab separated files, quoted newlines, CRLF and a byte-order mark', async () => {
    const v = await newVault(t);
    const text = '\uFEFFid;comment\r\n1;"line one\r\nline two"\r\n2;plain\r\n';
    const r = await v.importFile(t.file('semi.csv', text));
    expect(v.readRows(r.datasetId!).rows.map((x) => x.values)).toEqual([
      [1, 'line one\r\nline two'],
      [2, 'plain'],
    ]);
    const tsv = await v.importFile(t.file('t.tsv', 'a\tb\n1\tx\n2\ty\n'), { format: 'csv' });
    expect(v.readRows(tsv.datasetId!).columns.map((c) => c.name)).toEqual(['a', 'b']);
  });

  it('imports JSON arrays and JSON Lines, with missing fields as empty values', async () => {
    const v = await newVault(t);
    const rows = [{ a: 1, b: 'x', c: true }, { a: 2.5, b: 'y' }, { a: null, b: 'z', c: false, nested: { k: 1 } }];
    const json = await v.importFile(t.file('rows.json', JSON.stringify(rows, null, 2)));
    expect(v.dataset(json.datasetId!).columns).toEqual([
      { name: 'a', type: 'number' },
      { name: 'b', type: 'string' },
      { name: 'c', type: 'boolean' },
      { name: 'nested', type: 'string' },
    ]);
    expect(v.readRows(json.datasetId!).rows.map((r) => r.values)).toEqual([
      [1, 'x', true, null],
      [2.5, 'y', null, null],
      [null, 'z', false, '{"k":1}'],
    ]);
    const jsonl = await v.importFile(t.file('rows.jsonl', rows.map((r) => JSON.stringify(r)).join('\n') + '\n\n'));
    expect(v.count(jsonl.datasetId!)).toBe(3);
    // A field the preview did not see, or that the person skipped, is reported, not silently dropped.
    const skipped = await v.importFile(t.file('rows2.jsonl', rows.map((r) => JSON.stringify(r)).join('\n')), { columns: [{}, {}, { skip: true }, { skip: true }] });
    expect(skipped.warnings).toEqual([
      'The field "c" in 2 records is not one of the columns, so it was not imported.',
      'The field "nested" in 1 record is not one of the columns, so it was not imported.',
    ]);
  });

  it('reports every bad row by line, column and reason, and imports nothing by default; a new answer is not a bad row', async () => {
    const v = await newVault(t);
    const good = peopleCsv(40).trimEnd().split('\n');
    good.splice(5, 0, 'bad one,not-a-number,1.7,yes,2024-03-01,Oslo,"x"');
    good.splice(9, 0, 'bad two,30,1.7,maybe,2024-03-01,Oslo,"x"');
    good.splice(12, 0, 'too,few,fields');
    good.splice(20, 0, 'bad date,30,1.7,no,2024-02-30,Oslo,"x"');
    const file = t.file('bad.csv', good.join('\n'));
    const report = rejection(await v.importFile(file).catch((e: unknown) => e));
    expect(report.rowsRejected).toBe(3);
    expect(report.rejected).toEqual([
      { line: 6, column: 'age', reason: '"not-a-number" is not a number.' },
      { line: 13, reason: 'Expected 7 fields, found 3.' },
      { line: 21, column: 'joined', reason: '"2024-02-30" is not a date (use YYYY-MM-DD or ISO 8601).' },
    ]);
    expect(v.listDatasets()).toEqual([]);

    const skipped = await v.importFile(file, { policy: 'skip-rows' });
    expect(skipped).toMatchObject({ rowsImported: 41, rowsRejected: 3 });
    expect(v.count(skipped.datasetId!)).toBe(41);
    // "maybe" among yes/no answers makes the column a category instead of refusing the row.
    expect(v.dataset(skipped.datasetId!).columns.find((c) => c.name === 'member')!.type).toBe('category');
    expect(v.activity().entries[0]!.summary).toBe('Imported "bad": 41 records, 3 rows skipped.');
  });

  it('hands every rejected row to the caller, beyond the ones the report lists', async () => {
    const v = await newVault(t);
    const lines = ['a,b', ...Array.from({ length: 1500 }, (_, i) => `${i},1,extra`), '1,2'];
    const seen: number[] = [];
    const report = await v.importFile(t.file('many.csv', lines.join('\n')), { policy: 'skip-rows', onRejected: (r) => seen.push(r.line) });
    expect(report).toMatchObject({ rowsImported: 1, rowsRejected: 1500 });
    expect(report.rejected).toHaveLength(1000);
    expect(seen).toEqual(Array.from({ length: 1500 }, (_, i) => i + 2));
  });

  it('gives malformed files a row-level report: encodings, huge lines, broken quotes and JSON', async () => {
    const v = await newVault(t);
    const latin1 = Buffer.concat([Buffer.from('name,city\nAnn,Oslo\nB'), Buffer.from([0xf8]), Buffer.from('rn,Troms\xf8\nCid,Bergen\n', 'latin1')]);
    const enc = rejection(await v.importFile(t.file('latin1.csv', latin1)).catch((e: unknown) => e));
    expect(enc.rejected).toEqual([{ line: 3, reason: 'The text is not valid UTF-8. Save the file as UTF-8 and import it again.' }]);

    const huge = `a,b\n1,2\n3,${'x'.repeat(5000)}\n5,6\n`;
    const big = await v.importFile(t.file('huge.csv', huge), { policy: 'skip-rows', maxRecordBytes: 1024 });
    expect(big).toMatchObject({ rowsImported: 2, rowsRejected: 1, rejected: [{ line: 3, reason: 'The record is longer than 1.0 KB.' }] });

    const unclosed = rejection(await v.importFile(t.file('q.csv', 'a,b\n1,"open\n2,3\n')).catch((e: unknown) => e));
    expect(unclosed.rejected).toEqual([{ line: 2, reason: 'A quoted field is not closed before the end of the file.' }]);

    const afterQuote = rejection(await v.importFile(t.file('q2.csv', 'a,b\n1,"x"y\n')).catch((e: unknown) => e));
    expect(afterQuote.rejected[0]).toMatchObject({ line: 2, reason: 'Unexpected text after a closing quote in field 2.' });

    const jsonl = rejection(await v.importFile(t.file('bad.jsonl', '{"a":1}\n{"a":\n[1,2]\n{"a":3}\n')).catch((e: unknown) => e));
    expect(jsonl.rejected.map((r) => [r.line, r.reason.split(':')[0]])).toEqual([
      [2, 'Not valid JSON'],
      [3, 'Expected an object with one field per column.'],
    ]);

    const arr = rejection(await v.importFile(t.file('bad.json', '[\n{"a":1},\n{"a": 2,},\n{"a":3},\n{"a": 4')).catch((e: unknown) => e));
    expect(arr.rejected.map((r) => r.line)).toEqual([3, 5]);
    expect(arr.rejected[1]!.reason).toBe('The file ends in the middle of this record.');
  });

  it('refuses empty, header-only, UTF-16 and structurally broken files with a clear word', async () => {
    const v = await newVault(t);
    await expect(v.importFile(t.file('empty.csv', ''))).rejects.toMatchObject({ code: 'IMPORT_REJECTED', message: expect.stringMatching(/empty/) });
    await expect(v.importFile(t.file('header.csv', 'a,b\n'))).rejects.toMatchObject({ code: 'IMPORT_REJECTED', message: 'The file has no rows that could be imported.' });
    await expect(v.importFile(t.file('u16.csv', Buffer.from('\uFEFFa,b\n1,2\n', 'utf16le')))).rejects.toMatchObject({ code: 'UNREADABLE_FILE', message: expect.stringMatching(/UTF-16/) });
    await expect(v.importFile(t.file('obj.json', '{"a": 1}'))).rejects.toMatchObject({ code: 'UNREADABLE_FILE', message: expect.stringMatching(/JSON array/) });
    await expect(v.importFile(t.file('trail.json', '[{"a":1}] extra'))).rejects.toMatchObject({ code: 'UNREADABLE_FILE', message: expect.stringMatching(/line 1/) });
    await expect(v.importFile(t.file('empty.json', ''))).rejects.toMatchObject({ code: 'UNREADABLE_FILE' });
    await expect(v.importFile(t.file('nothing-here.csv'))).rejects.toMatchObject({ code: 'UNREADABLE_FILE' });
    expect(v.listDatasets()).toEqual([]);
  });

  it('reports progress as it reads, ending at the file size', async () => {
    const v = await newVault(t);
    const file = t.file('p.csv', peopleCsv(60_000));
    const seen: ImportProgress[] = [];
    const r = await v.importFile(file, { onProgress: (p) => seen.push({ ...p }) });
    expect(seen.length).toBeGreaterThan(3);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.bytesRead).toBeGreaterThanOrEqual(seen[i - 1]!.bytesRead);
    const last = seen.at(-1)!;
    expect(last.bytesRead).toBe(last.totalBytes);
    expect(last.rowsRead).toBe(60_000);
    expect(r.rowsImported).toBe(60_000);
  });

  it('gives the event loop a turn between blocks, so a host stays responsive', async () => {
    const v = await newVault(t, { blockRows: 1000 });
    // One batch of records already in memory: no file reads to wait on, only the import itself.
    const batch = Array.from({ length: 30_000 }, (_, i) => ({ line: i + 2, values: [i, `row ${i}`] }));
    const columns = [{ source: 0, name: 'n', type: 'integer' as const }, { source: 1, name: 'label', type: 'string' as const }];
    let turns = 0;
    let running = true;
    const spin = () => {
      turns++;
      if (running) setImmediate(spin);
    };
    setImmediate(spin);
    await v.importRecords({ name: 'in memory', columns, records: [batch] });
    running = false;
    // 30 blocks of 1000 records: at least one turn per block.
    expect(turns).toBeGreaterThanOrEqual(30);
  });

  it('leaves the vault as it was when an import is cancelled or the vault locks mid-way', async () => {
    const v = await newVault(t);
    const file = t.file('p.csv', peopleCsv(60_000));
    const controller = new AbortController();
    const cancelled = v.importFile(file, { signal: controller.signal, onProgress: (p) => p.rowsRead > 10_000 && controller.abort() });
    await expect(cancelled).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(v.listDatasets()).toEqual([]);

    const locked = v.importFile(file, { onProgress: (p) => p.rowsRead > 10_000 && v.lock() });
    await expect(locked).rejects.toMatchObject({ code: 'VAULT_LOCKED' });
    v.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(t.file('vault.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM segments').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT count(*) AS n FROM datasets').get()).toEqual({ n: 0 });
    db.close();
  });

  it('stops at the next block when its own controller is aborted, and does not start when it already was', async () => {
    const v = await newVault(t, { blockRows: 1000 });
    const columns = [{ source: 0, name: 'n', type: 'integer' as const }];
    const batch = Array.from({ length: 10_000 }, (_, i) => ({ line: i + 2, values: [i] }));
    const before = new AbortController();
    before.abort();
    await expect(v.importRecords({ name: 'never', columns, records: [batch], controller: before })).rejects.toMatchObject({ code: 'CANCELLED' });
    const during = new AbortController();
    let lastRead = 0;
    const onProgress = (p: ImportProgress) => {
      lastRead = p.rowsRead;
      if (p.rowsRead >= 3000) during.abort();
    };
    await expect(v.importRecords({ name: 'stopped', columns, records: [batch], controller: during, onProgress })).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(lastRead).toBe(3000); // no record after the block at which it was aborted was read
    expect(v.listDatasets()).toEqual([]);
  });

  it('keeps memory bounded by the block, not the file', async () => {
    const v = await newVault(t);
    v.close();
    const file = t.file('big.csv');
    const out = createWriteStream(file);
    out.write('name,age,height,member,joined,city,note\n');
    const line = (i: number) => `person ${i},${20 + (i % 50)},1.7,yes,2024-03-01,Oslo,"${'lorem ipsum '.repeat(8)}${i}"\n`;
    let written = 0;
    for (let i = 0; written < 80 * 1024 * 1024; i++) {
      const l = line(i);
      written += l.length;
      if (!out.write(l)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r) => out.end(() => r()));
    // The import runs in a process whose JavaScript heap may not exceed 48 MB: were rows held
    // in memory, an 80 MB file would not fit.
    const child = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/import-child.ts');
    const result = spawnSync(process.execPath, ['--max-old-space-size=48', '--import', 'tsx', child, t.file('vault.db'), file, PASSPHRASE], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const rows = Number(/done (\d+)/.exec(result.stdout)?.[1]);
    expect(rows).toBeGreaterThan(500_000);
    // With no types given, the file is read twice (once to propose types from every value).
  }, 180_000);

  it('refuses a binary file by its content, whatever its name, before reading it as text', async () => {
    const v = await newVault(t);
    // The first bytes of a PNG image, then pixel data.
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'), Buffer.from('name,age\nx,1\n'.repeat(10))]);
    for (const name of ['photo.csv', 'photo.dat']) {
      const file = t.file(name, png);
      await expect(v.previewImport(file)).rejects.toMatchObject({ code: 'UNREADABLE_FILE', message: expect.stringMatching(/is not a text file.*export it as CSV/) });
      await expect(v.importFile(file)).rejects.toMatchObject({ code: 'UNREADABLE_FILE' });
    }
    expect(v.listDatasets()).toEqual([]);
  });

  it('keeps digit codes with leading zeros as text, exactly as written', async () => {
    const v = await newVault(t);
    const csv = ['zip,county,city,population', '00501,36103,Holtsville,0', '00544,36103,Holtsville,0', '10001,36061,New York,21102', '06390,09011,Fishers Island,236', '99950,02130,Ketchikan,40'].join('\n');
    const preview = await v.previewImport(t.file('zips.csv', csv));
    expect(preview.columns.map((c) => [c.name, c.type])).toEqual([['zip', 'string'], ['county', 'string'], ['city', 'string'], ['population', 'integer']]);
    const { datasetId } = await v.importFile(t.file('zips.csv'));
    const rows = v.readRows(datasetId!).rows.map((r) => r.values);
    expect(rows.map((r) => r[0])).toEqual(['00501', '00544', '10001', '06390', '99950']);
    expect(rows.map((r) => r[1])).toEqual(['36103', '36103', '36061', '09011', '02130']);
    expect(rows.map((r) => r[3])).toEqual([0, 0, 21102, 236, 40]); // a lone 0 is still a number
  });
});

describe('reading dates', () => {
  it('reads ISO 8601 dates and times in UTC, with offsets, and refuses days that do not exist', async () => {
    const { parseDate } = await import('../../../main/services/vault/import/types.js');
    const cases: [string, string | null][] = [
      ['2024-02-29', '2024-02-29T00:00:00.000Z'],
      ['2023-02-29', null],
      ['2024-04-31', null],
      ['2024-13-01', null],
      ['2024-03-05T10:20:30Z', '2024-03-05T10:20:30.000Z'],
      ['2024-03-05T10:20:30.123Z', '2024-03-05T10:20:30.123Z'],
      ['2024-03-05T24:00:00Z', null],
      ['2024-03-05 10:20', '2024-03-05T10:20:00.000Z'],
      ['2024-03-05T10:20:30+02:00', '2024-03-05T08:20:30.000Z'],
      ['2024-03-05T10:20:30.5-0130', '2024-03-05T11:50:30.500Z'],
      [' 2024-03-05 ', '2024-03-05T00:00:00.000Z'],
      ['2024-3-5', null],
      ['05/03/2024', null],
      ['2024-03-05T10:20:3xZ', null],
      // Unambiguous shapes exports use besides ISO.
      ['2015/01/01 01:00:00', '2015-01-01T01:00:00.000Z'],
      ['2015/02/30', null],
      ['Jun 12 1998', '1998-06-12T00:00:00.000Z'],
      ['Jan 1 2000', '2000-01-01T00:00:00.000Z'],
      ['June 12, 1998', '1998-06-12T00:00:00.000Z'],
      ['12 Sept 2001', '2001-09-12T00:00:00.000Z'],
      ['Feb 30 2001', null],
      ['Juny 12 1998', null],
    ];
    for (const [text, iso] of cases) {
      const t = parseDate(text);
      expect(t === null ? null : new Date(t).toISOString(), text).toBe(iso);
    }
  });

  it('gives ISO dates and timestamps the instant Date.UTC gives, on calendar edges and random days', async () => {
    const { parseDate } = await import('../../../main/services/vault/import/types.js');
    // Seeded, printed: a failure names the seed that reproduces it.
    const seed = Number(process.env.DATE_SEED ?? 0xda7e);
    console.log(`date seed ${seed} (DATE_SEED=${seed} replays it)`);
    let s = seed >>> 0;
    const rand = (n: number) => Math.floor(((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * n);
    const pad = (v: number, n: number) => String(v).padStart(n, '0');
    const days = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
    const edges: number[][] = [[1970, 1, 1], [1969, 12, 31], [2000, 2, 29], [1900, 2, 28], [1900, 3, 1], [2100, 2, 28], [1600, 2, 29], [100, 1, 1], [99, 12, 31], [0, 1, 1], [9999, 12, 31], [2024, 12, 31]];
    const dates = [...edges, ...Array.from({ length: 2000 }, () => {
      const y = rand(10_000);
      const m = 1 + rand(12);
      return [y, m, 1 + rand(days(y < 100 ? y + 1900 : y, m))];
    })];
    for (const [y, m, d] of dates) {
      const [h, mi, sec, ms] = [rand(24), rand(60), rand(60), rand(1000)];
      const day = `${pad(y!, 4)}-${pad(m!, 2)}-${pad(d!, 2)}`;
      expect(parseDate(day), day).toBe(Date.UTC(y!, m! - 1, d!));
      const stamp = `${day}T${pad(h, 2)}:${pad(mi, 2)}:${pad(sec, 2)}.${pad(ms, 3)}Z`;
      expect(parseDate(stamp), stamp).toBe(Date.UTC(y!, m! - 1, d!, h, mi, sec, ms));
      expect(parseDate(stamp.slice(0, 19) + 'Z'), stamp).toBe(Date.UTC(y!, m! - 1, d!, h, mi, sec));
    }
  });
});
