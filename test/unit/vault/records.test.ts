// The person's control over their own records: delete some, change one value, rename a dataset,
// export it. Each change goes through the write queue, lands in one transaction with its activity
// entry and the sealed record of the vault's state, so verify stays OK after it; and each old
// version put back from a copy of the file is named (the positive control for that record).
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Vault } from '../../../main/services/vault/index.js';
import { newVault, peopleCsv, useTempDir } from '../../helpers/vault.js';

const dbOf = (v: Vault) => (v as unknown as { db: Database.Database }).db;

/** The dataset's row and segments as stored now, to put back later as a file copy would. */
function snapshot(db: Database.Database, id: string) {
  const key = Buffer.from(id, 'hex');
  return {
    dataset: db.prepare('SELECT manifest_version, manifest_sealed FROM datasets WHERE id = ?').get(key) as { manifest_version: number; manifest_sealed: Buffer },
    segments: db.prepare('SELECT block, col, version, sealed FROM segments WHERE dataset_id = ?').all(key) as { block: number; col: number; version: number; sealed: Buffer }[],
  };
}

function putBack(db: Database.Database, id: string, s: ReturnType<typeof snapshot>): void {
  const key = Buffer.from(id, 'hex');
  db.prepare('UPDATE datasets SET manifest_version = ?, manifest_sealed = ? WHERE id = ?').run(s.dataset.manifest_version, s.dataset.manifest_sealed, key);
  db.prepare('DELETE FROM segments WHERE dataset_id = ?').run(key);
  const insert = db.prepare('INSERT INTO segments (dataset_id, block, col, version, sealed) VALUES (?, ?, ?, ?, ?)');
  for (const seg of s.segments) insert.run(key, seg.block, seg.col, seg.version, seg.sealed);
}

describe('deleting, editing, renaming and exporting records', () => {
  const t = useTempDir();

  async function vaultWith(rows: number) {
    const v = await newVault(t, { blockRows: 4 });
    const id = (await v.importFile(t.file('people.csv', peopleCsv(rows)), { name: 'people' })).datasetId!;
    return { v, id, db: dbOf(v) };
  }

  it('deletes several records across blocks in one change, and an old copy of the blocks is named', async () => {
    const { v, id, db } = await vaultWith(10);
    const before = snapshot(db, id);
    // Records 1 and 2 are in block 0, 5 in block 1, 8 and 9 are the whole of block 2.
    expect(await v.deleteRecords(id, [1, 2, 5, 8, 9])).toBe(5);
    expect(v.readRows(id).rows.map((r) => r.id)).toEqual([0, 3, 4, 6, 7]);
    expect(v.count(id)).toBe(5);
    expect(v.checkIntegrity()).toMatchObject({ ok: true, problems: [] });
    expect(v.activity().entries[0]).toMatchObject({ kind: 'record.deleted', summary: 'Deleted 5 records from "people".' });

    // One id not in the dataset refuses the whole request: nothing is deleted.
    await expect(v.deleteRecords(id, [0, 1])).rejects.toMatchObject({ code: 'RECORD_NOT_FOUND' });
    await expect(v.deleteRecords(id, [])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(v.count(id)).toBe(5);

    putBack(db, id, before);
    expect(v.readRows(id).rows).toHaveLength(10); // every part is authentic on its own
    expect(v.checkIntegrity().state).toEqual([expect.objectContaining({ problem: 'dataset-rolled-back', dataset: id })]);
  });

  it('changes one value, read as the column type, and refuses in words a value that does not fit', async () => {
    const { v, id, db } = await vaultWith(6);
    const before = snapshot(db, id);
    expect(await v.editValue(id, 4, 'age', ' 41 ')).toBe(41);
    expect(await v.editValue(id, 4, 'joined', 'Jun 12 1998')).toBe('1998-06-12T00:00:00.000Z');
    expect(await v.editValue(id, 4, 'member', 'yes')).toBe(true);
    expect(await v.editValue(id, 4, 'note', '')).toBe(null);
    const row = v.readRows(id, { offset: 4, limit: 1 }).rows[0]!;
    expect(row.values).toEqual(['person 4', 41, 1.54, true, '1998-06-12T00:00:00.000Z', 'Oslo', null]);
    // The neighbours in the same block are untouched.
    expect(v.readRows(id, { offset: 5, limit: 1 }).rows[0]!.values[1]).toBe(25);

    await expect(v.editValue(id, 4, 'age', '41.5')).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/"41.5" is not a whole number\. The column "age" holds whole numbers/) });
    await expect(v.editValue(id, 4, 'joined', 'soon')).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/not a date/) });
    await expect(v.editValue(id, 4, 'nope', '1')).rejects.toMatchObject({ code: 'COLUMN_NOT_FOUND' });
    await expect(v.editValue(id, 99, 'age', '1')).rejects.toMatchObject({ code: 'RECORD_NOT_FOUND' });
    expect(v.readRows(id, { offset: 4, limit: 1 }).rows[0]!.values[1]).toBe(41);

    expect(v.checkIntegrity()).toMatchObject({ ok: true, problems: [] });
    const edits = v.activity().entries.filter((e) => e.kind === 'record.edited');
    expect(edits).toHaveLength(4);
    expect(edits[0]!.summary).toBe('Changed the value of "note" in one record of "people".');

    putBack(db, id, before);
    expect(v.readRows(id, { offset: 4, limit: 1 }).rows[0]!.values[1]).toBe(24);
    expect(v.checkIntegrity().state).toEqual([expect.objectContaining({ problem: 'dataset-rolled-back', dataset: id })]);
  });

  it('renames a dataset; the old name put back from a copy is named', async () => {
    const { v, id, db } = await vaultWith(3);
    const before = snapshot(db, id);
    expect(await v.renameDataset(id, '  Sleep diary 2024 ')).toMatchObject({ id, name: 'Sleep diary 2024', rowCount: 3 });
    expect(v.listDatasets().map((d) => d.name)).toEqual(['Sleep diary 2024']);
    expect(v.resolveDataset('Sleep diary 2024')).toBe(id);
    await expect(v.renameDataset(id, '   ')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(v.activity().entries[0]).toMatchObject({ kind: 'dataset.renamed', summary: 'Renamed dataset "people" to "Sleep diary 2024".' });
    expect(v.checkIntegrity()).toMatchObject({ ok: true, problems: [] });

    putBack(db, id, before);
    expect(v.dataset(id).name).toBe('people');
    expect(v.checkIntegrity().state).toEqual([expect.objectContaining({ problem: 'dataset-rolled-back' })]);
  });

  it('exports every record as CSV and as JSON, and logs where it went', async () => {
    const { v, id } = await vaultWith(9);
    await v.deleteRecords(id, [2]);
    const csv = await v.exportDataset(id, 'csv');
    expect(csv.fileName).toBe('people.csv');
    expect(csv.records).toBe(8);
    const lines = csv.text.split('\r\n');
    expect(lines[0]).toBe('name,age,height,member,joined,city,note');
    expect(lines[1]).toBe('person 0,20,1.5,true,2024-03-01T00:00:00.000Z,Oslo,"nobody #0, says ""hi"""');
    expect(lines.filter((l) => l.startsWith('person 2,'))).toEqual([]);
    expect(lines).toHaveLength(10); // header, 8 records, and the final line break

    const json = await v.exportDataset(id, 'json');
    expect(json.fileName).toBe('people.json');
    const records = JSON.parse(json.text) as Record<string, unknown>[];
    expect(records).toHaveLength(8);
    expect(records[7]).toEqual({ name: 'person 8', age: 28, height: 1.58, member: false, joined: '2024-03-09T00:00:00.000Z', city: 'Oslo', note: 'nobody #8, says "hi"' });

    const [last, first] = v.activity().entries;
    expect(last).toMatchObject({ kind: 'dataset.exported', summary: 'Exported "people" (8 records) as JSON to a file on this computer, unencrypted.' });
    expect(first).toMatchObject({ kind: 'dataset.exported', details: expect.objectContaining({ format: 'csv', to: 'a file on this computer' }) });
    await expect(v.exportDataset(id, 'xml' as 'csv')).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(v.checkIntegrity()).toMatchObject({ ok: true, problems: [] });
  });
});
