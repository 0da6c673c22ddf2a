import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Vault } from '../../../main/services/vault/index.js';
import { PASSPHRASE, newVault, peopleCsv, useTempDir } from '../../helpers/vault.js';

describe('activity log', () => {
  const t = useTempDir();

  /** A vault with 6 log entries: created, 3 imports, a delete, a backup-like custom entry. */
  async function withHistory() {
    const v = await newVault(t);
    const a = await v.importFile(t.file('a.csv', peopleCsv(3)));
    await v.importFile(t.file('b.csv', peopleCsv(3)));
    await v.importFile(t.file('c.csv', peopleCsv(3)));
    await v.deleteDataset(a.datasetId!);
    await v.recordActivity('job.opted-in', 'Joined job "Sleep study".', { job: 'sleep' });
    const db = (v as unknown as { db: Database.Database }).db;
    return { v, db };
  }

  it('records each step in order, newest first, sealed', async () => {
    const { v, db } = await withHistory();
    expect(v.activity().entries.map((e) => [e.seq, e.kind])).toEqual([
      [6, 'job.opted-in'],
      [5, 'dataset.deleted'],
      [4, 'dataset.imported'],
      [3, 'dataset.imported'],
      [2, 'dataset.imported'],
      [1, 'vault.created'],
    ]);
    expect(v.activity(1, 2).entries.map((e) => e.seq)).toEqual([5, 4]);
    expect(v.verifyActivity()).toEqual({ ok: true, entries: 6 });
    const raw = Buffer.concat((db.prepare('SELECT sealed FROM activity').all() as { sealed: Buffer }[]).map((r) => r.sealed));
    expect(raw.includes(Buffer.from('Sleep study'))).toBe(false);
  });

  it('says which entry was edited', async () => {
    const { v, db } = await withHistory();
    const row = db.prepare('SELECT sealed FROM activity WHERE seq = 3').get() as { sealed: Buffer };
    row.sealed[40]! ^= 0xff;
    db.prepare('UPDATE activity SET sealed = ? WHERE seq = 3').run(row.sealed);
    expect(v.verifyActivity()).toMatchObject({ ok: false, entries: 2, problem: { seq: 3, problem: 'edited', message: 'Entry #3 was changed outside Trove.' } });
  });

  it('says which entry was removed', async () => {
    const { v, db } = await withHistory();
    db.prepare('DELETE FROM activity WHERE seq = 4').run();
    expect(v.verifyActivity().problem).toMatchObject({ seq: 4, problem: 'missing', message: 'Entry #4 was removed from the log.' });
  });

  it('says where entries were reordered', async () => {
    const { v, db } = await withHistory();
    const two = db.prepare('SELECT sealed FROM activity WHERE seq = 2').get() as { sealed: Buffer };
    const three = db.prepare('SELECT sealed FROM activity WHERE seq = 3').get() as { sealed: Buffer };
    db.prepare('UPDATE activity SET seq = 100 WHERE seq = 2').run();
    db.prepare('UPDATE activity SET seq = 2 WHERE seq = 3').run();
    db.prepare('UPDATE activity SET seq = 3 WHERE seq = 100').run();
    expect(v.verifyActivity().problem).toMatchObject({ seq: 2 });
    expect(['edited', 'out-of-order']).toContain(v.verifyActivity().problem!.problem);
    // Swapping only the sealed contents is caught the same way: each entry is bound to its number.
    db.prepare('UPDATE activity SET sealed = ? WHERE seq = 2').run(two.sealed);
    db.prepare('UPDATE activity SET sealed = ? WHERE seq = 3').run(three.sealed);
    expect(v.verifyActivity().ok).toBe(true);
    db.prepare('UPDATE activity SET sealed = ? WHERE seq = 2').run(three.sealed);
    db.prepare('UPDATE activity SET sealed = ? WHERE seq = 3').run(two.sealed);
    expect(v.verifyActivity().problem).toMatchObject({ seq: 2, problem: 'edited' });
  });

  it('says the log was cut off, and after which entry', async () => {
    const { v, db } = await withHistory();
    db.prepare('DELETE FROM activity WHERE seq >= 5').run();
    expect(v.verifyActivity()).toMatchObject({
      ok: false,
      entries: 4,
      problem: { problem: 'truncated', lastSeen: 4, message: 'The log was cut off after entry #4: later entries are missing.' },
    });
  });

  it('refuses an entry replaced by an old head and a rolled-back tail', async () => {
    const { v, db } = await withHistory();
    const oldHead = db.prepare('SELECT sealed FROM activity_head').get() as { sealed: Buffer };
    await v.recordActivity('job.uploaded', 'Sent a masked update.');
    db.prepare('UPDATE activity_head SET sealed = ?').run(oldHead.sealed);
    expect(v.verifyActivity()).toMatchObject({ ok: false, problem: { problem: 'out-of-order' } });
  });

  it('keeps verifying across lock, reopen and unlock', async () => {
    const { v } = await withHistory();
    v.close();
    const again = t.track(await Vault.open(t.file('vault.db')));
    await again.unlock(PASSPHRASE);
    expect(again.verifyActivity()).toEqual({ ok: true, entries: 7 });
  });
});
