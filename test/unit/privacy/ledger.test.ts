import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Vault, backupVault, restoreVault } from '../../../main/services/vault/index.js';
import { DEFAULT_PRIVACY_BUDGET, openPrivacyLedger } from '../../../main/services/privacy/ledger.js';
import { PASSPHRASE, newVault, useTempDir } from '../../helpers/vault.js';

describe('privacy budget ledger in the vault', () => {
  const t = useTempDir();

  it('keeps what was spent across locks, restarts and a backup restore', async () => {
    const v = await newVault(t);
    const ledger = await openPrivacyLedger(v);
    expect(ledger.budget).toEqual(DEFAULT_PRIVACY_BUDGET);
    await ledger.charge('job-sleep-study', { epsilon: 3, delta: 1e-6 });
    await ledger.charge('job-steps', { epsilon: 4, delta: 1e-6 });
    expect(ledger.check({ epsilon: 4, delta: 1e-6 })).toMatchObject({ allowed: false });
    await expect(ledger.charge('job-greedy', { epsilon: 4, delta: 1e-6 })).rejects.toMatchObject({ code: 'PRIVACY_BUDGET_EXCEEDED' });

    await backupVault(v, t.file('b.trovebackup'));
    v.close();
    const again = t.track(await Vault.open(t.file('vault.db'), { autoLockMs: null }));
    await again.unlock(PASSPHRASE);
    const reopened = await openPrivacyLedger(again);
    expect(reopened.entries.map((e) => e.jobId)).toEqual(['job-sleep-study', 'job-steps']);
    expect(reopened.spent().epsilon).toBeCloseTo(7, 6);

    const restored = t.track(await restoreVault(t.file('b.trovebackup'), t.file('restored.db'), PASSPHRASE, { autoLockMs: null }));
    expect((await openPrivacyLedger(restored)).entries).toHaveLength(2);
    // Sealed like everything else: the job ids are not in the file.
    expect(readFileSync(t.file('vault.db')).includes('job-sleep-study')).toBe(false);
  });

  it('refuses a locked vault and a damaged ledger', async () => {
    const v = await newVault(t);
    await (await openPrivacyLedger(v)).charge('job-a', { epsilon: 1, delta: 1e-7 });
    await v.setSetting('privacyLedger', { version: 1, budget: { epsilon: -1 }, entries: 'no' });
    await expect(openPrivacyLedger(v)).rejects.toMatchObject({ code: 'CORRUPT_DATA' });
    v.lock();
    await expect(openPrivacyLedger(v)).rejects.toMatchObject({ code: 'VAULT_LOCKED' });
    const db = new Database(t.file('vault.db'), { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM settings').get()).toEqual({ n: 1 });
    db.close();
  });
});
