import { existsSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import sodium from 'libsodium-wrappers-sumo';
import { describe, expect, it } from 'vitest';
import { SealKind, sealJson } from '../../../common/vault-format.js';
import { Vault } from '../../../main/services/vault/index.js';
import { MIGRATIONS, SCHEMA_VERSION, migrate, schemaVersion } from '../../../main/services/vault/migrations/index.js';
import { PASSPHRASE, newVault, peopleCsv, useTempDir } from '../../helpers/vault.js';

/** How to turn a version-n file back into version n-1: undoing each later step in turn. */
const UNDO: Record<number, string> = {
  2: 'DROP TABLE activity; DROP TABLE activity_head',
  3: 'DROP TABLE settings',
  4: 'DROP TABLE settings; CREATE TABLE settings (name TEXT PRIMARY KEY, sealed BLOB NOT NULL)',
  5: 'ALTER TABLE header DROP COLUMN state_sealed',
  6: 'DROP TABLE unlock_failures',
};
const REGISTRY = '0x5fbdb2315678afecb367f032d93f642f64180aa3';

describe('schema migrations', () => {
  const t = useTempDir();

  it('are numbered 1..n without gaps, and n is the current version', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
    expect(Object.keys(UNDO).map(Number)).toEqual(MIGRATIONS.slice(1).map((m) => m.version));
  });

  it('build a fresh file step by step to the current version, each step atomic', () => {
    const db = new Database(t.file('fresh.db'));
    for (let v = 1; v <= SCHEMA_VERSION; v++) expect(migrate(db, v)).toBe(v);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    expect(tables).toEqual(['activity', 'activity_head', 'datasets', 'header', 'segments', 'settings', 'unlock_failures']);
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
      for (let later = SCHEMA_VERSION; later >= m.version; later--) db.exec(UNDO[later]!);
      db.pragma(`user_version = ${m.version - 1}`);
      db.close();

      const upgraded = t.track(await Vault.open(t.file('vault.db')));
      const check = new Database(t.file('vault.db'), { readonly: true });
      expect(schemaVersion(check)).toBe(SCHEMA_VERSION);
      check.close();
      await upgraded.unlock(PASSPHRASE);
      expect(upgraded.readRows(datasetId!)).toEqual(rows);
      expect(upgraded.verifyActivity().ok).toBe(true);
      // The log survives an upgrade that does not touch it, and starts afresh when it is new; the
      // first unlock after the upgrade starts the sealed record of the vault's state and says so.
      expect(upgraded.activity().total).toBe(m.version <= 2 ? 2 : m.version <= 5 ? logBefore + 2 : logBefore + 1);
      expect(upgraded.activity().entries.map((e) => e.kind)).toEqual(expect.arrayContaining(m.version <= 5 ? ['vault.state-started', 'vault.unlocked'] : ['vault.unlocked']));
      // This file was made by today's Trove, whose log says it had a sealed record from the start:
      // turned back into an old file, it looks exactly like a file whose record was stripped, and
      // verify says so. A log that restarted with the upgrade (002) has no such history.
      const report = upgraded.checkIntegrity();
      if (m.version <= 2 || m.version > 5) expect(report).toMatchObject({ ok: true, state: [] });
      else expect(report.state.map((f) => f.problem)).toEqual(['state-restarted']);
      await upgraded.setAutoLock(60_000);
      expect(upgraded.autoLock).toBe(60_000);
    });
  }

  it('004 moves settings from under their names to opaque ids at the next unlock, and the names leave the file', async () => {
    const v = await newVault(t);
    const internals = v as unknown as { db: Database.Database; keys: { settings: Uint8Array }; header: { vaultId: Uint8Array } };
    const named = {
      autoLockMs: 120_000,
      [`jobs.participation.31337.${REGISTRY}`]: { job7: { state: 'joined' } },
      'privacy.ledger': { spent: 0.5 },
    };
    // A schema-3 settings table, sealed the old way: the bare value, owner id = unkeyed hash of the name.
    internals.db.exec(UNDO[6]!);
    internals.db.exec(UNDO[5]!);
    internals.db.exec(UNDO[4]!);
    internals.db.pragma('user_version = 3');
    const insert = internals.db.prepare('INSERT INTO settings (name, sealed) VALUES (?, ?)');
    for (const [name, value] of Object.entries(named)) {
      const ownerId = sodium.crypto_generichash(16, new TextEncoder().encode(name), null);
      insert.run(name, sealJson(internals.keys.settings, value, { kind: SealKind.setting, vaultId: internals.header.vaultId, ownerId }));
    }
    insert.run('damaged', Buffer.alloc(60, 7));
    v.close();
    const inFiles = (needle: string) => ['', '-wal', '-shm'].some((sfx) => existsSync(t.file('vault.db') + sfx) && readFileSync(t.file('vault.db') + sfx).includes(needle));
    // Positive control: the check below would see the names if they were still there.
    expect(inFiles(REGISTRY)).toBe(true);

    const upgraded = t.track(await Vault.open(t.file('vault.db')));
    expect(inFiles(REGISTRY)).toBe(true); // locked: nothing to re-seal with yet
    await upgraded.unlock(PASSPHRASE);
    expect(upgraded.autoLock).toBe(120_000);
    for (const [name, value] of Object.entries(named)) expect(upgraded.getSetting(name)).toEqual(value);
    expect(upgraded.activity().entries.map((e) => e.summary)).toContain('1 setting was damaged and could not be kept; it is back to the default.');
    const check = new Database(t.file('vault.db'), { readonly: true });
    expect(check.prepare("SELECT name FROM sqlite_master WHERE name = 'settings_named'").get()).toBeUndefined();
    expect((check.prepare('SELECT count(*) AS n FROM settings').get() as { n: number }).n).toBe(3);
    check.close();
    upgraded.close();
    for (const needle of [REGISTRY, 'jobs.participation', 'privacy.ledger', 'autoLockMs']) expect(inFiles(needle), needle).toBe(false);
  });

  it('stop at the last complete step when one fails', () => {
    const db = new Database(t.file('partial.db'));
    migrate(db, 1);
    db.exec('CREATE TABLE activity (x)'); // a step-2 table already there: step 2 fails
    expect(() => migrate(db)).toThrow(/already exists/);
    expect(schemaVersion(db)).toBe(1);
    db.close();
  });
});
