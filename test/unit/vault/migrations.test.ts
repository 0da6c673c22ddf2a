import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Vault } from '../../../main/services/vault/index.js';
import { MIGRATIONS, SCHEMA_VERSION, migrate, schemaVersion } from '../../../main/services/vault/migrations/index.js';
import { PASSPHRASE, newVault, peopleCsv, useTempDir } from '../../helpers/vault.js';

/** What each version's file lacks compared to the next: undoing it turns a file back into that version. */
const ADDED_BY: Record<number, string[]> = { 2: ['activity', 'activity_head'], 3: ['settings'] };

describe('schema migrations', () => {
  const t = useTempDir();

  it('are numbered 1..n without gaps, and n is the current version', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    expect(Object.keys(ADDED_BY).map(Number)).toEqual(MIGRATIONS.slice(1).map((m) => m.version));
  });

  it('build a fresh file step by step to the current version, each step atomic', () => {
    const db = new Database(t.file('fresh.db'));
    for (let v = 1; v <= SCHEMA_VERSION; v++) expect(migrate(db, v)).toBe(v);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(tables).toEqual(['activity', 'activity_head', 'datasets', 'header', 'segments', 'settings']);
    db.close();
  });

  for (const m of MIGRATIONS.slice(1)) {
    it(`${String(m.version).padStart(3, '0')} (${m.name}) upgrades a version-${m.version - 1} vault with its data intact`, async () => {
      // A real vault with data, turned back into a version m-1 file by removing what m and later added.
      const v = await newVault(t);
      const { datasetId } = await v.importFile(t.file('p.csv', peopleCsv(25)));
      const rows = v.readRows(datasetId!);
      const logBefore = v.activity().total;
      v.close();
      const db = new Database(t.file('vault.db'));
      for (let later = SCHEMA_VERSION; later >= m.version; later--) for (const table of ADDED_BY[later]!) db.exec(`DROP TABLE ${table}`);
      db.pragma(`user_version = ${m.version - 1}`);
      db.close();

      const upgraded = t.track(await Vault.open(t.file('vault.db')));
      const check = new Database(t.file('vault.db'), { readonly: true });
      expect(schemaVersion(check)).toBe(SCHEMA_VERSION);
      check.close();
      await upgraded.unlock(PASSPHRASE);
      expect(upgraded.readRows(datasetId!)).toEqual(rows);
      expect(upgraded.verifyActivity().ok).toBe(true);
      // The log survives an upgrade that does not touch it, and starts afresh when it is new.
      expect(upgraded.activity().total).toBe(m.version <= 2 ? 1 : logBefore + 1);
      await upgraded.setAutoLock(60_000);
      expect(upgraded.autoLock).toBe(60_000);
    });
  }

  it('stop at the last complete step when one fails', () => {
    const db = new Database(t.file('partial.db'));
    migrate(db, 1);
    db.exec('CREATE TABLE activity (x)'); // a step-2 table already there: step 2 fails
    expect(() => migrate(db)).toThrow(/already exists/);
    expect(schemaVersion(db)).toBe(1);
    db.close();
  });
});
