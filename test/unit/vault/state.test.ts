// Someone with write access to the vault file changes whole parts of it, each part still
// authentic on its own: the sealed record of the vault's state is what names the change. Each
// case first shows that the per-part checks alone pass (the positive control), then that verify
// names it with a typed result, reads still work, and writes are refused rather than blessing it.
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { TroveError } from '../../../common/errors.js';
import { Vault } from '../../../main/services/vault/index.js';
import { PASSPHRASE, newVault, peopleCsv, useTempDir } from '../../helpers/vault.js';

type Internals = { db: Database.Database };
const dbOf = (v: Vault) => (v as unknown as Internals).db;

async function refusedWrite(v: Vault): Promise<TroveError> {
  const err = await v.setSetting('probe', 1, 'A change.').then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TroveError);
  expect((err as TroveError).code).toBe('INTEGRITY_FAILURE');
  return err as TroveError;
}

describe('the sealed record of the vault state', () => {
  const t = useTempDir();

  async function vaultWithData() {
    const v = await newVault(t, { blockRows: 4 });
    const a = (await v.importFile(t.file('a.csv', peopleCsv(10)), { name: 'a' })).datasetId!;
    const b = (await v.importFile(t.file('b.csv', peopleCsv(6)), { name: 'b' })).datasetId!;
    expect(v.checkIntegrity()).toMatchObject({ ok: true, state: [], problems: [] });
    return { v, a, b, db: dbOf(v) };
  }

  it('names a wiped log (every entry and the head deleted)', async () => {
    const { v, a, db } = await vaultWithData();
    const entries = v.activity().total;
    db.exec('DELETE FROM activity; DELETE FROM activity_head');
    expect(v.verifyActivity()).toMatchObject({ ok: true, entries: 0 }); // the log alone cannot tell
    const report = v.checkIntegrity();
    expect(report.ok).toBe(false);
    expect(report.state).toEqual([expect.objectContaining({ problem: 'log-wiped', expectedSeq: entries })]);
    expect(report.problems.join(' ')).toMatch(/activity log was erased outside Trove: it should hold \d+ entries and holds none/);
    expect(v.readRows(a).rows).toHaveLength(10);
    await refusedWrite(v);
    expect(v.activity().total).toBe(0); // the refused write left nothing behind
  });

  it('names a log cut back to an older head', async () => {
    const { v, db } = await vaultWithData();
    const head = db.prepare('SELECT sealed FROM activity_head').get() as { sealed: Buffer };
    const seq = v.activity().total;
    await v.recordActivity('settings.changed', 'One more.');
    await v.recordActivity('settings.changed', 'And another.');
    db.prepare('DELETE FROM activity WHERE seq > ?').run(seq);
    db.prepare('UPDATE activity_head SET sealed = ?').run(head.sealed);
    expect(v.verifyActivity()).toMatchObject({ ok: true, entries: seq });
    const report = v.checkIntegrity();
    expect(report.state).toEqual([expect.objectContaining({ problem: 'log-rolled-back', expectedSeq: seq + 2, foundSeq: seq })]);
    await refusedWrite(v);
  });

  it('names a block rolled back together with its manifest, which brings a deleted record back', async () => {
    const { v, a, db } = await vaultWithData();
    const id = Buffer.from(a, 'hex');
    const manifest = db.prepare('SELECT manifest_version, manifest_sealed FROM datasets WHERE id = ?').get(id) as { manifest_version: number; manifest_sealed: Buffer };
    const block = db.prepare('SELECT col, version, sealed FROM segments WHERE dataset_id = ? AND block = 0').all(id) as { col: number; version: number; sealed: Buffer }[];
    await v.deleteRecords(a, [1]);
    expect(v.readRows(a).rows.map((r) => r.id)).not.toContain(1);
    db.prepare('UPDATE datasets SET manifest_version = ?, manifest_sealed = ? WHERE id = ?').run(manifest.manifest_version, manifest.manifest_sealed, id);
    for (const s of block) db.prepare('UPDATE segments SET version = ?, sealed = ? WHERE dataset_id = ? AND block = 0 AND col = ?').run(s.version, s.sealed, id, s.col);
    expect(v.readRows(a).rows.map((r) => r.id)).toContain(1); // each part is authentic: the record is back
    const report = v.checkIntegrity();
    expect(report.state).toEqual([expect.objectContaining({ problem: 'dataset-rolled-back', dataset: a, expectedVersion: manifest.manifest_version + 1, foundVersion: manifest.manifest_version })]);
    expect(report.problems.join(' ')).toMatch(/put back to an older version outside Trove .*records deleted since may be back/);
    await refusedWrite(v);
  });

  it('names a deleted dataset put back from an old copy, and a dataset removed with SQL', async () => {
    const { v, a, b, db } = await vaultWithData();
    const id = Buffer.from(a, 'hex');
    const row = db.prepare('SELECT * FROM datasets WHERE id = ?').get(id) as Record<string, unknown>;
    const segments = db.prepare('SELECT * FROM segments WHERE dataset_id = ?').all(id) as Record<string, unknown>[];
    await v.deleteDataset(a);
    db.prepare('INSERT INTO datasets VALUES (@id, @created_at, @updated_at, @data_key_sealed, @manifest_version, @manifest_sealed)').run(row);
    for (const s of segments) db.prepare('INSERT INTO segments VALUES (@dataset_id, @block, @col, @version, @sealed)').run(s);
    expect(v.readRows(a).rows).toHaveLength(10); // authentic on its own
    expect(v.checkIntegrity().state).toEqual([expect.objectContaining({ problem: 'dataset-resurrected', dataset: a })]);

    db.prepare('DELETE FROM segments WHERE dataset_id = ?').run(id);
    db.prepare('DELETE FROM datasets WHERE id = ?').run(id);
    expect(v.checkIntegrity()).toMatchObject({ ok: true, state: [] }); // back as Trove left it
    db.prepare('DELETE FROM segments WHERE dataset_id = ?').run(Buffer.from(b, 'hex'));
    db.prepare('DELETE FROM datasets WHERE id = ?').run(Buffer.from(b, 'hex'));
    expect(v.listDatasets()).toEqual([]);
    expect(v.checkIntegrity().state).toEqual([expect.objectContaining({ problem: 'dataset-removed', dataset: b })]);
    await refusedWrite(v);
  });

  it('names a missing log head; every command still runs, reads work and writes are refused in words', async () => {
    const { v, a, db } = await vaultWithData();
    db.exec('DELETE FROM activity_head');
    v.close();
    const again = t.track(await Vault.open(t.file('vault.db')));
    await again.unlock(PASSPHRASE); // no UNIQUE constraint failure, no stack trace
    expect(again.readRows(a).rows).toHaveLength(10);
    expect(again.listDatasets()).toHaveLength(2);
    expect(again.verifyActivity()).toMatchObject({ ok: false, problem: { problem: 'head-missing' } });
    const report = again.checkIntegrity();
    expect(report.state).toEqual([expect.objectContaining({ problem: 'log-head-missing' })]);
    const err = await refusedWrite(again);
    expect(err.message).not.toMatch(/UNIQUE|constraint/);
    await expect(again.deleteDataset(a)).rejects.toMatchObject({ code: 'INTEGRITY_FAILURE' });
    expect(again.readRows(a).rows).toHaveLength(10);
  });

  it('names settings put back to older values', async () => {
    const { v, db } = await vaultWithData();
    await v.setSetting('privacy.ledger', { spent: 0.1 });
    const old = db.prepare('SELECT id, sealed FROM settings').all() as { id: Buffer; sealed: Buffer }[];
    await v.setSetting('privacy.ledger', { spent: 0.9 });
    for (const s of old) db.prepare('UPDATE settings SET sealed = ? WHERE id = ?').run(s.sealed, s.id);
    expect(v.getSetting('privacy.ledger')).toEqual({ spent: 0.1 }); // authentic on its own
    expect(v.checkIntegrity().state).toEqual([expect.objectContaining({ problem: 'settings-changed' })]);
    await refusedWrite(v);
  });

  it('names a damaged record, a removed record, and a record started again after removal', async () => {
    const { v, db } = await vaultWithData();
    const sealed = (db.prepare('SELECT state_sealed AS s FROM header').get() as { s: Buffer }).s;
    const flipped = Buffer.from(sealed);
    flipped[30]! ^= 4;
    db.prepare('UPDATE header SET state_sealed = ?').run(flipped);
    expect(v.checkIntegrity().state).toEqual([expect.objectContaining({ problem: 'state-damaged' })]);
    await expect(v.recordActivity('settings.changed', 'x')).rejects.toMatchObject({ code: 'CORRUPT_DATA' });
    db.prepare('UPDATE header SET state_sealed = NULL').run();
    expect(v.checkIntegrity().state).toEqual([expect.objectContaining({ problem: 'state-missing' })]);
    await refusedWrite(v);
    // At the next unlock a missing record is started again, and the log keeps that for good.
    v.close();
    const again = t.track(await Vault.open(t.file('vault.db')));
    await again.unlock(PASSPHRASE);
    const started = again.activity().entries.find((e) => e.kind === 'vault.state-started')!;
    expect(started.summary).toMatch(/started keeping a sealed record/);
    expect(again.checkIntegrity().state).toEqual([expect.objectContaining({ problem: 'state-restarted', seq: started.seq })]);
  });

  it('moves with every change in the same transaction: a change that fails leaves the record as it was', async () => {
    const { v, a, db } = await vaultWithData();
    const before = (db.prepare('SELECT state_sealed AS s FROM header').get() as { s: Buffer }).s;
    await expect(v.importFile(t.file('bad.csv', 'x,y\n1,2\n1\n'), { name: 'bad' })).rejects.toMatchObject({ code: 'IMPORT_REJECTED' });
    expect((db.prepare('SELECT state_sealed AS s FROM header').get() as { s: Buffer }).s).toEqual(before);
    await v.deleteRecords(a, [2]);
    expect((db.prepare('SELECT state_sealed AS s FROM header').get() as { s: Buffer }).s).not.toEqual(before);
    expect(v.checkIntegrity()).toMatchObject({ ok: true, state: [] });
  });
});
