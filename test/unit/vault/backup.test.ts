import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
});
