import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Vault, backupVault, restoreVault } from '../../../main/services/vault/index.js';
import { FAST_KDF, PASSPHRASE, newVault, peopleCsv, useTempDir } from '../../helpers/vault.js';

describe('backup and restore', () => {
  const t = useTempDir();

  async function backedUp() {
    const v = await newVault(t, { blockRows: 500 });
    const { datasetId } = await v.importFile(t.file('p.csv', peopleCsv(3000, 'BACKUP-MARKER')));
    const progress: number[] = [];
    await backupVault(v, t.file('vault.trovebackup'), (p) => progress.push(p.bytesDone / p.totalBytes));
    return { v, id: datasetId!, progress, backup: readFileSync(t.file('vault.trovebackup')) };
  }

  it('restores into a new place an identical, verified vault', async () => {
    const { v, id, progress, backup } = await backedUp();
    expect(progress.at(-1)).toBe(1);
    expect(v.activity().entries[0]!.kind).toBe('backup.created');
    expect(backup.includes(Buffer.from('BACKUP-MARKER'))).toBe(false);
    const restored = t.track(await restoreVault(t.file('vault.trovebackup'), t.file('restored.db'), PASSPHRASE, { autoLockMs: null }));
    expect(restored.vaultId).toBe(v.vaultId);
    expect(restored.readRows(id, { limit: 3000 })).toEqual(v.readRows(id, { limit: 3000 }));
    expect(restored.checkIntegrity()).toMatchObject({ ok: true });
    expect(restored.activity().entries.slice(0, 2).map((e) => e.kind)).toEqual(['vault.restored', 'dataset.imported']);
    restored.close();
    // The restored vault opens with the same passphrase.
    const reopened = t.track(await Vault.open(t.file('restored.db')));
    await reopened.unlock(PASSPHRASE);
    expect(reopened.count(id)).toBe(3000);
  });

  it('writes nothing for a wrong passphrase', async () => {
    await backedUp();
    await expect(restoreVault(t.file('vault.trovebackup'), t.file('r.db'), 'not the passphrase')).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    expect(existsSync(t.file('r.db'))).toBe(false);
    expect(readdirSync(t.dir()).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes nothing for a damaged or cut-off file', async () => {
    const { backup } = await backedUp();
    const headerEnd = 12 + backup.readUInt32BE(8);
    const cases: [string, Buffer][] = [
      ['magic', Buffer.concat([Buffer.from('NOTTROVE'), backup.subarray(8)])],
      ['header', (() => { const b = Buffer.from(backup); b[20]! ^= 1; return b; })()],
      ['stream header', (() => { const b = Buffer.from(backup); b[headerEnd + 3]! ^= 1; return b; })()],
      ['first block', (() => { const b = Buffer.from(backup); b[headerEnd + 24 + 4 + 100]! ^= 1; return b; })()],
      ['last byte', (() => { const b = Buffer.from(backup); b[b.length - 1]! ^= 1; return b; })()],
      ['cut off', backup.subarray(0, backup.length - 1000)],
      ['cut at a block boundary', backup.subarray(0, headerEnd + 24)],
      ['extra data', Buffer.concat([backup, Buffer.from('trailing')])],
      ['empty', Buffer.alloc(0)],
    ];
    for (const [name, bytes] of cases) {
      writeFileSync(t.file('bad.trovebackup'), bytes);
      const err = await restoreVault(t.file('bad.trovebackup'), t.file('r.db'), PASSPHRASE).catch((e: unknown) => e);
      expect(err, name).toMatchObject({ code: name === 'header' ? expect.stringMatching(/BACKUP_DAMAGED|WRONG_PASSPHRASE/) : 'BACKUP_DAMAGED' });
      expect(existsSync(t.file('r.db')), name).toBe(false);
    }
    expect(readdirSync(t.dir()).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('never overwrites: not a backup file, nor an existing vault', async () => {
    const { v } = await backedUp();
    await expect(backupVault(v, t.file('vault.trovebackup'))).rejects.toMatchObject({ code: 'TARGET_EXISTS' });
    await expect(restoreVault(t.file('vault.trovebackup'), t.file('vault.db'), PASSPHRASE)).rejects.toMatchObject({ code: 'TARGET_EXISTS' });
    await expect(restoreVault(t.file('missing.trovebackup'), t.file('x.db'), PASSPHRASE)).rejects.toMatchObject({ code: 'UNREADABLE_FILE' });
    v.lock();
    await expect(backupVault(v, t.file('other.trovebackup'))).rejects.toMatchObject({ code: 'VAULT_LOCKED' });
    expect(existsSync(t.file('other.trovebackup'))).toBe(false);
  });

  it('restores a backup after the passphrase changed with the passphrase it was made under', async () => {
    const { v } = await backedUp();
    await v.changePassphrase(PASSPHRASE, 'the second passphrase');
    const restored = t.track(await restoreVault(t.file('vault.trovebackup'), t.file('old.db'), PASSPHRASE, { kdf: FAST_KDF, autoLockMs: null }));
    expect(restored.listDatasets()).toHaveLength(1);
  });

  function damageSegment(v: Vault, id: string) {
    const db = (v as unknown as { db: Database.Database }).db;
    const seg = db.prepare('SELECT rowid AS r, sealed FROM segments WHERE dataset_id = ? LIMIT 1').get(Buffer.from(id, 'hex')) as { r: number; sealed: Buffer };
    seg.sealed[30]! ^= 1;
    db.prepare('UPDATE segments SET sealed = ? WHERE rowid = ?').run(seg.sealed, seg.r);
  }

  it('leaves a damaged dataset out of a backup, says which, and the backup restores the rest', async () => {
    const v = await newVault(t, { blockRows: 100 });
    const bad = (await v.importFile(t.file('bad.csv', peopleCsv(300)), { name: 'bad' })).datasetId!;
    const good = (await v.importFile(t.file('good.csv', peopleCsv(200)), { name: 'good' })).datasetId!;
    damageSegment(v, bad);
    const result = await backupVault(v, t.file('b.trovebackup'));
    expect(result.leftOut.map((d) => d.id)).toEqual([bad]);
    expect(v.activity().entries[0]!.summary).toBe(`Encrypted backup saved to b.trovebackup on this computer. 1 damaged dataset was left out (${bad.slice(0, 8)}).`);
    const restored = t.track(await restoreVault(t.file('b.trovebackup'), t.file('r.db'), PASSPHRASE, { autoLockMs: null }));
    expect(restored.listDatasets().map((d) => d.id)).toEqual([good]);
    expect(restored.readRows(good, { limit: 1000 })).toEqual(v.readRows(good, { limit: 1000 }));
    expect(restored.checkIntegrity()).toMatchObject({ ok: true });
    expect(restored.activity(0, 10).entries.map((e) => e.kind)).toContain('dataset.left-out');
  });

  it('restores the intact datasets of a backup that holds a damaged one', async () => {
    const v = await newVault(t, { blockRows: 100 });
    const bad = (await v.importFile(t.file('bad.csv', peopleCsv(300)), { name: 'bad' })).datasetId!;
    const good = (await v.importFile(t.file('good.csv', peopleCsv(200)), { name: 'good' })).datasetId!;
    damageSegment(v, bad);
    // A backup made without looking first (as earlier versions did) carries the damage inside.
    const check = v.checkIntegrity.bind(v);
    (v as unknown as { checkIntegrity: () => unknown }).checkIntegrity = () => ({ ...check(), damagedDatasets: [] });
    expect((await backupVault(v, t.file('old.trovebackup'))).leftOut).toEqual([]);
    const leftOut: string[] = [];
    const restored = t.track(await restoreVault(t.file('old.trovebackup'), t.file('r.db'), PASSPHRASE, { autoLockMs: null, onLeftOut: (d) => leftOut.push(...d.map((x) => x.id)) }));
    expect(leftOut).toEqual([bad]);
    expect(restored.listDatasets().map((d) => d.id)).toEqual([good]);
    expect(restored.readRows(good, { limit: 1000 })).toEqual(v.readRows(good, { limit: 1000 }));
    expect(restored.checkIntegrity()).toMatchObject({ ok: true });
  });

  it('a killed restore leaves a temporary copy behind, and the next restore removes it', async () => {
    await backedUp();
    const child = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/restore-child.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', child, t.file('vault.trovebackup'), t.file('killed.db'), PASSPHRASE], { encoding: 'utf8' });
    expect(r.signal).toBe('SIGKILL');
    const left = readdirSync(t.dir()).filter((f) => f.startsWith('.restore-'));
    expect(left.length).toBeGreaterThan(0); // the positive control: the kill did leave a copy
    expect(existsSync(t.file('killed.db'))).toBe(false);
    const restored = t.track(await restoreVault(t.file('vault.trovebackup'), t.file('again.db'), PASSPHRASE, { autoLockMs: null }));
    expect(restored.checkIntegrity().ok).toBe(true);
    expect(readdirSync(t.dir()).filter((f) => f.endsWith('.tmp') || f.includes('.tmp-'))).toEqual([]);
  });
});
