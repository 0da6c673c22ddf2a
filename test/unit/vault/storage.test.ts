import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { NumericSummary, CategoricalSummary } from '../../../common/dataset.js';
import { TroveError } from '../../../common/errors.js';
import { Vault } from '../../../main/services/vault/index.js';
import { PASSPHRASE, newVault, peopleCsv, useTempDir } from '../../helpers/vault.js';

const REGISTRY = '0x5fbdb2315678afecb367f032d93f642f64180aa3';

describe('reading, summarising and deleting', () => {
  const t = useTempDir();

  it('pages across block boundaries and decrypts only the columns asked for', async () => {
    const v = await newVault(t, { blockRows: 7 });
    const { datasetId } = await v.importFile(t.file('p.csv', peopleCsv(50)));
    const id = datasetId!;
    expect(v.count(id)).toBe(50);
    const page = v.readRows(id, { offset: 5, limit: 10, columns: ['age', 'name'] });
    expect(page.total).toBe(50);
    expect(page.columns).toEqual([{ name: 'age', type: 'integer' }, { name: 'name', type: 'string' }]);
    expect(page.rows.map((r) => r.id)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    expect(page.rows[0]!.values).toEqual([25, 'person 5']);
    expect(v.readRows(id, { offset: 48, limit: 10 }).rows.map((r) => r.id)).toEqual([48, 49]);
    expect(v.readRows(id, { offset: 60 }).rows).toEqual([]);
    expect(() => v.readRows(id, { columns: ['nope'] })).toThrow(expect.objectContaining({ code: 'COLUMN_NOT_FOUND' }));
    expect(() => v.readRows(id, { limit: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_INPUT' }));
    expect(() => v.readRows('0'.repeat(32))).toThrow(expect.objectContaining({ code: 'DATASET_NOT_FOUND' }));
    expect(() => v.readRows("x' OR 1=1 --")).toThrow(expect.objectContaining({ code: 'DATASET_NOT_FOUND' }));

    // Projection opens the record-id segment and the asked column's segment of each block, nothing else.
    const opened: number[] = [];
    const db = (v as unknown as { db: Database.Database }).db;
    (v as unknown as { segmentSelect: unknown }).segmentSelect = null; // prepared once per vault: prepared again below, watched
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => {
      const stmt = prepare(sql);
      if (!/^SELECT (version, )?sealed FROM segments/.test(sql)) return stmt;
      const get = stmt.get.bind(stmt);
      return Object.assign(stmt, { get: (...args: unknown[]) => (opened.push(args[2] as number), get(...args)) });
    }) as typeof db.prepare;
    try {
      const blocks = [...v.scan(id, ['height'])];
      expect(blocks).toHaveLength(8);
      expect(new Set(opened)).toEqual(new Set([0, 3]));
    } finally {
      db.prepare = prepare;
    }
  });

  it('summarises each column for the UI', async () => {
    const v = await newVault(t, { blockRows: 16 });
    const { datasetId } = await v.importFile(t.file('p.csv', peopleCsv(100)));
    const [age, member, city] = v.summarize(datasetId!, ['age', 'member', 'city']) as [NumericSummary, CategoricalSummary, CategoricalSummary];
    expect(age).toMatchObject({ kind: 'numeric', count: 100, nulls: 0, min: 20, max: 69, mean: 44.5 });
    expect(age.stddev).toBeCloseTo(14.5, 0);
    expect(age.histogram).toHaveLength(20);
    expect(age.histogram.reduce((s, b) => s + b.count, 0)).toBe(100);
    expect(member).toMatchObject({ kind: 'categorical', distinct: 2, top: [{ value: 'no', count: 66 }, { value: 'yes', count: 34 }] });
    expect(city.top.map((x) => x.count)).toEqual([25, 25, 25, 25]);
  });

  it('deletes one record and keeps the rest readable after reopening', async () => {
    const v = await newVault(t, { blockRows: 4 });
    const { datasetId } = await v.importFile(t.file('p.csv', peopleCsv(10)));
    const id = datasetId!;
    await v.deleteRecords(id, [5]);
    await v.deleteRecords(id, [4]);
    await v.deleteRecords(id, [6]);
    await v.deleteRecords(id, [7]); // empties its block
    await expect(v.deleteRecords(id, [5])).rejects.toMatchObject({ code: 'RECORD_NOT_FOUND' });
    await expect(v.deleteRecords(id, [99])).rejects.toMatchObject({ code: 'RECORD_NOT_FOUND' });
    v.close();
    const again = t.track(await Vault.open(t.file('vault.db')));
    await again.unlock(PASSPHRASE);
    expect(again.readRows(id, { columns: ['name'] }).rows.map((r) => r.id)).toEqual([0, 1, 2, 3, 8, 9]);
    expect(again.count(id)).toBe(6);
    expect(again.checkIntegrity()).toMatchObject({ ok: true, problems: [] });
  });

  it('crypto-shreds a deleted dataset: its wrapped key and rows are gone from the file', async () => {
    const v = await newVault(t);
    const keep = await v.importFile(t.file('keep.csv', peopleCsv(20)));
    const gone = await v.importFile(t.file('gone.csv', peopleCsv(2000)));
    const db = new Database(t.file('vault.db'), { readonly: true });
    const wrappedKey = (db.prepare('SELECT data_key_sealed FROM datasets WHERE id = ?').get(Buffer.from(gone.datasetId!, 'hex')) as { data_key_sealed: Buffer }).data_key_sealed;
    const aSegment = (db.prepare('SELECT sealed FROM segments WHERE dataset_id = ? LIMIT 1').get(Buffer.from(gone.datasetId!, 'hex')) as { sealed: Buffer }).sealed;
    db.close();
    await v.deleteDataset(gone.datasetId!);
    expect(() => v.dataset(gone.datasetId!)).toThrow(expect.objectContaining({ code: 'DATASET_NOT_FOUND' }));
    expect(v.listDatasets().map((d) => d.id)).toEqual([keep.datasetId]);
    const files = ['', '-wal', '-shm'].map((s) => { try { return readFileSync(t.file('vault.db') + s); } catch { return Buffer.alloc(0); } });
    for (const bytes of files) {
      expect(bytes.indexOf(wrappedKey)).toBe(-1);
      expect(bytes.indexOf(aSegment.subarray(0, 64))).toBe(-1);
    }
    expect(v.activity().entries[0]!.summary).toMatch(/Deleted dataset "gone" \(2000 records\); its key was destroyed/);
    await expect(v.deleteDataset(gone.datasetId!)).rejects.toMatchObject({ code: 'DATASET_NOT_FOUND' });
  });

  it('keeps values, names and column names out of the files in plaintext', async () => {
    const v = await newVault(t);
    const marker = 'ZEBRA-MARKER-7731';
    const csv = peopleCsv(3000, marker).replace('name,age,height,member,joined,city,note', 'secretcolumnname,age,height,member,joined,diagnosis_city,note');
    await v.importFile(t.file('in.csv', csv), { name: 'My Private Health Records' });
    await v.importFile(t.file('in.jsonl', `{"${marker}_key": "${marker}"}\n`), { name: `${marker} dataset` });
    // A setting's name says which chain and registry the person works with.
    await v.setSetting(`jobs.participation.31337.${REGISTRY}`, { job: 1 });
    const needles = [marker, 'My Private Health Records', 'secretcolumnname', 'diagnosis_city', 'Tromsø', 'person 1234', 'jobs.participation', '31337', REGISTRY, REGISTRY.slice(2)];
    const check = () => {
      for (const suffix of ['', '-wal', '-shm']) {
        let bytes: Buffer;
        try {
          bytes = readFileSync(t.file('vault.db') + suffix);
        } catch {
          continue;
        }
        for (const n of needles) {
          expect(bytes.includes(Buffer.from(n, 'utf8')), `${n} in vault.db${suffix}`).toBe(false);
          expect(bytes.includes(Buffer.from(n, 'utf16le')), `${n} (UTF-16) in vault.db${suffix}`).toBe(false);
        }
      }
    };
    check(); // with the write-ahead log still holding the import
    v.close();
    check();
  });

  it('refuses a segment whose clear version column disagrees with the manifest, and reports segments of no block', async () => {
    const v = await newVault(t, { blockRows: 4 });
    const { datasetId } = await v.importFile(t.file('p.csv', peopleCsv(12)));
    const id = Buffer.from(datasetId!, 'hex');
    const db = (v as unknown as { db: Database.Database }).db;
    expect(v.checkIntegrity()).toMatchObject({ ok: true, problems: [] });
    db.prepare('UPDATE segments SET version = 2 WHERE dataset_id = ? AND block = 1 AND col = 1').run(id);
    expect(() => v.readRows(datasetId!)).toThrow(expect.objectContaining({ code: 'INTEGRITY_FAILURE' }));
    expect(v.checkIntegrity().problems.join(' ')).toMatch(/not the version the dataset says/);
    db.prepare('UPDATE segments SET version = 1 WHERE dataset_id = ? AND block = 1 AND col = 1').run(id);
    expect(v.checkIntegrity().ok).toBe(true);
    // A copy of a real segment under a block number the manifest does not list.
    db.prepare('INSERT INTO segments (dataset_id, block, col, version, sealed) SELECT dataset_id, 9, col, version, sealed FROM segments WHERE dataset_id = ? AND block = 0 AND col = 1').run(id);
    const report = v.checkIntegrity();
    expect(report.ok).toBe(false);
    expect(report.problems.join(' ')).toMatch(/1 part that belongs? to no block \(block 9\)/);
    expect(v.readRows(datasetId!).rows).toHaveLength(12); // the records themselves still read
  });

  it('detects a flipped byte in any stored ciphertext, and never returns it as data', async () => {
    const v = await newVault(t, { blockRows: 8 });
    const { datasetId } = await v.importFile(t.file('p.csv', peopleCsv(20)));
    await v.setSetting('privacy', { epsilon: 1 });
    const internals = v as unknown as { db: Database.Database; keys: { forgetDataKey(id: string): void } };
    const targets: { table: string; column: string; key: string }[] = [
      { table: 'segments', column: 'sealed', key: 'rowid' },
      { table: 'datasets', column: 'manifest_sealed', key: 'rowid' },
      { table: 'datasets', column: 'data_key_sealed', key: 'rowid' },
      { table: 'activity', column: 'sealed', key: 'seq' },
      { table: 'activity_head', column: 'sealed', key: 'id' },
      { table: 'settings', column: 'sealed', key: 'id' },
    ];
    const readEverything = () => {
      internals.keys.forgetDataKey(datasetId!); // read the wrapped data key again, as after an unlock
      v.readRows(datasetId!, { limit: 100 });
      v.summarize(datasetId!);
      v.getSetting('privacy');
      v.activity();
      const log = v.verifyActivity();
      if (!log.ok) throw new TroveError('INTEGRITY_FAILURE', log.problem!.message);
    };
    let checked = 0;
    for (const target of targets) {
      const rows = internals.db.prepare(`SELECT ${target.key} AS k, ${target.column} AS c FROM ${target.table}`).all() as { k: unknown; c: Buffer }[];
      const update = internals.db.prepare(`UPDATE ${target.table} SET ${target.column} = ? WHERE ${target.key} = ?`);
      for (const row of rows) {
        // In the nonce, in the ciphertext and in the tag.
        for (const pos of [3, 24 + ((checked * 7) % (row.c.length - 40)), row.c.length - 1]) {
          const flipped = Buffer.from(row.c);
          flipped[pos]! ^= 1 << (checked % 8);
          update.run(flipped, row.k);
          let error: unknown = null;
          try {
            readEverything();
          } catch (err) {
            error = err;
          }
          expect(error, `${target.table}.${target.column} byte ${pos}`).toBeInstanceOf(TroveError);
          expect(['CORRUPT_DATA', 'INTEGRITY_FAILURE']).toContain((error as TroveError).code);
          update.run(row.c, row.k);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(80);
    readEverything();
    expect(v.checkIntegrity().ok).toBe(true);
  });

  it('notices a block swapped with another, or an old version replayed', async () => {
    const v = await newVault(t, { blockRows: 4 });
    const { datasetId } = await v.importFile(t.file('p.csv', peopleCsv(12)));
    const id = Buffer.from(datasetId!, 'hex');
    const db = (v as unknown as { db: Database.Database }).db;
    const seg = (block: number) => (db.prepare('SELECT sealed FROM segments WHERE dataset_id = ? AND block = ? AND col = 1').get(id, block) as { sealed: Buffer }).sealed;
    const a = seg(0);
    const b = seg(1);
    db.prepare('UPDATE segments SET sealed = ? WHERE dataset_id = ? AND block = 0 AND col = 1').run(b, id);
    db.prepare('UPDATE segments SET sealed = ? WHERE dataset_id = ? AND block = 1 AND col = 1').run(a, id);
    expect(() => v.readRows(datasetId!)).toThrow(expect.objectContaining({ code: 'CORRUPT_DATA' }));
    db.prepare('UPDATE segments SET sealed = ? WHERE dataset_id = ? AND block = 0 AND col = 1').run(a, id);
    db.prepare('UPDATE segments SET sealed = ? WHERE dataset_id = ? AND block = 1 AND col = 1').run(b, id);

    const oldBlock0 = db.prepare('SELECT col, version, sealed FROM segments WHERE dataset_id = ? AND block = 0').all(id) as { col: number; version: number; sealed: Buffer }[];
    await v.deleteRecords(datasetId!, [1]);
    // The old sealed bytes under the current version number do not open...
    for (const s of oldBlock0) db.prepare('UPDATE segments SET sealed = ? WHERE dataset_id = ? AND block = 0 AND col = ?').run(s.sealed, id, s.col);
    expect(() => v.readRows(datasetId!)).toThrow(expect.objectContaining({ code: 'CORRUPT_DATA' }));
    // ...and with their old version number too, the clear column disagrees with the manifest.
    for (const s of oldBlock0) db.prepare('UPDATE segments SET version = ? WHERE dataset_id = ? AND block = 0 AND col = ?').run(s.version, id, s.col);
    expect(() => v.readRows(datasetId!)).toThrow(expect.objectContaining({ code: 'INTEGRITY_FAILURE' }));
    db.prepare('DELETE FROM segments WHERE dataset_id = ? AND block = 2 AND col = 2').run(id);
    expect(v.checkIntegrity().ok).toBe(false);
  });

  it('finds a dataset by its name as well as its id, and refuses a name two datasets share', async () => {
    const v = await newVault(t);
    const a = (await v.importFile(t.file('a.csv', peopleCsv(3)), { name: 'Sleep diary' })).datasetId!;
    const b1 = (await v.importFile(t.file('b.csv', peopleCsv(3)), { name: 'Steps' })).datasetId!;
    expect(v.resolveDataset('Sleep diary')).toBe(a);
    expect(v.resolveDataset(a)).toBe(a);
    expect(() => v.resolveDataset('Mood')).toThrow(expect.objectContaining({ code: 'DATASET_NOT_FOUND', message: expect.stringMatching(/no dataset named "Mood".*"list" shows/) }));
    const b2 = (await v.importFile(t.file('c.csv', peopleCsv(3)), { name: 'Steps' })).datasetId!;
    expect(() => v.resolveDataset('Steps')).toThrow(expect.objectContaining({ code: 'INVALID_INPUT', details: { ids: [b1, b2] } }));
  });
});
