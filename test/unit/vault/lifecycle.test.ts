import { existsSync, statSync } from 'node:fs';
import sodium from 'libsodium-wrappers-sumo';
import { describe, expect, it, vi } from 'vitest';
import { TroveError } from '../../../common/errors.js';
import { Vault } from '../../../main/services/vault/index.js';
import { KeyRing } from '../../../main/services/vault/keys.js';
import { FAST_KDF, PASSPHRASE, newVault, peopleCsv, useTempDir } from '../../helpers/vault.js';

describe('vault lifecycle', () => {
  const t = useTempDir();

  it('creates a vault that opens locked and unlocks with its passphrase', async () => {
    const v = await newVault(t);
    expect(v.isUnlocked).toBe(true);
    v.close();
    const again = t.track(await Vault.open(t.file('vault.db')));
    expect(again.isUnlocked).toBe(false);
    expect(() => again.listDatasets()).toThrow(expect.objectContaining({ code: 'VAULT_LOCKED' }));
    await again.unlock(PASSPHRASE);
    expect(again.listDatasets()).toEqual([]);
    expect(again.activity().entries.map((e) => e.kind)).toEqual(['vault.unlocked', 'vault.created']);
  });

  it('refuses a short passphrase and an existing file', async () => {
    await expect(Vault.create(t.file('a.db'), 'short', { kdf: FAST_KDF })).rejects.toMatchObject({ code: 'WEAK_PASSPHRASE' });
    // Long enough but easy to guess: a common password, a repeat, a sequence, a keyboard row.
    for (const weak of ['password1', 'aaaaaaaaaaaa', 'abcdefghij', 'qwertyuiop']) {
      await expect(Vault.create(t.file('a.db'), weak, { kdf: FAST_KDF })).rejects.toMatchObject({ code: 'WEAK_PASSPHRASE', message: expect.stringMatching(/too easy to guess.*Add a few unrelated words/) });
    }
    expect(existsSync(t.file('a.db'))).toBe(false);
    expect(existsSync(t.file('a.db'))).toBe(false);
    await newVault(t);
    await expect(Vault.create(t.file('vault.db'), PASSPHRASE, { kdf: FAST_KDF })).rejects.toMatchObject({ code: 'VAULT_EXISTS' });
  });

  it('says so for a wrong passphrase, only after running the full key derivation', async () => {
    const v = await newVault(t);
    v.lock();
    const spy = vi.spyOn(sodium, 'crypto_pwhash');
    try {
      const err = await v.unlock('correct horse battery stapler').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TroveError);
      expect(err).toMatchObject({ code: 'WRONG_PASSPHRASE', message: expect.stringMatching(/passphrase does not unlock/) });
      expect(spy).toHaveBeenCalledTimes(1);
      const [, , , ops, mem] = spy.mock.calls[0]!;
      expect([ops, mem]).toEqual([FAST_KDF.opsLimit, FAST_KDF.memLimit]);
    } finally {
      spy.mockRestore();
    }
    expect(v.isUnlocked).toBe(false);
  });

  it('changes the passphrase by rewrapping the master key only', async () => {
    const v = await newVault(t);
    const { datasetId } = await v.importFile(t.file('p.csv', peopleCsv(10)));
    const before = v.readRows(datasetId!);
    await expect(v.changePassphrase('not the passphrase', 'a brand new passphrase')).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    await expect(v.changePassphrase(PASSPHRASE, PASSPHRASE)).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/same as the current one/) });
    await expect(v.changePassphrase(PASSPHRASE, 'password1')).rejects.toMatchObject({ code: 'WEAK_PASSPHRASE' });
    await v.changePassphrase(PASSPHRASE, 'a brand new passphrase');
    v.close();
    const again = t.track(await Vault.open(t.file('vault.db')));
    await expect(again.unlock(PASSPHRASE)).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    await again.unlock('a brand new passphrase');
    expect(again.readRows(datasetId!)).toEqual(before);
    expect(again.activity().entries.some((e) => e.kind === 'passphrase.changed')).toBe(true);
  });

  it('wipes every key from memory on lock', async () => {
    const v = await newVault(t);
    const { datasetId } = await v.importFile(t.file('p.csv', peopleCsv(5)));
    v.readRows(datasetId!); // unwraps and caches the dataset key
    const ring = (v as unknown as { keys: KeyRing }).keys;
    const keys = ring.allKeys();
    expect(keys.length).toBe(7); // master, log seal, log chain, settings, setting ids, vault state, one data key
    expect(keys.every((k) => k.some((b) => b !== 0))).toBe(true);
    v.lock();
    expect(keys.every((k) => k.every((b) => b === 0))).toBe(true);
    expect(() => v.readRows(datasetId!)).toThrow(expect.objectContaining({ code: 'VAULT_LOCKED' }));
  });

  it('locks itself after the idle timeout, and not while in use', async () => {
    vi.useFakeTimers();
    try {
      const v = await newVault(t, { autoLockMs: 60_000 });
      const reasons: string[] = [];
      v.onLock((r) => reasons.push(r));
      await vi.advanceTimersByTimeAsync(45_000);
      v.listDatasets(); // use pushes the lock back
      await vi.advanceTimersByTimeAsync(45_000);
      expect(v.isUnlocked).toBe(true);
      await vi.advanceTimersByTimeAsync(20_000);
      expect(v.isUnlocked).toBe(false);
      expect(reasons).toEqual(['idle']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps the auto-lock setting sealed in the vault', async () => {
    const v = await newVault(t, { autoLockMs: undefined });
    expect(v.autoLock).toBe(5 * 60_000);
    await v.setAutoLock(15 * 60_000);
    await expect(v.setAutoLock(5)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    v.close();
    const again = t.track(await Vault.open(t.file('vault.db')));
    await again.unlock(PASSPHRASE);
    expect(again.autoLock).toBe(15 * 60_000);
  });

  it('refuses a file that is not a vault, and a vault from a newer version', async () => {
    await expect(Vault.open(t.file('nope.db', 'this is not sqlite at all, just text'))).rejects.toMatchObject({ code: 'CORRUPT_DATA' });
    await expect(Vault.open(t.file('missing.db'))).rejects.toMatchObject({ code: 'VAULT_NOT_FOUND' });
    const v = await newVault(t);
    v.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(t.file('vault.db'));
    db.pragma('user_version = 99');
    db.close();
    await expect(Vault.open(t.file('vault.db'))).rejects.toMatchObject({ code: 'VAULT_TOO_NEW' });
  });

  it('tells a damaged header from a wrong passphrase', async () => {
    const v = await newVault(t);
    v.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(t.file('vault.db'));
    const { master_key_sealed: sealed } = db.prepare('SELECT master_key_sealed FROM header').get() as { master_key_sealed: Buffer };
    sealed[30]! ^= 0x04;
    db.prepare('UPDATE header SET master_key_sealed = ?').run(sealed);
    db.close();
    await expect(Vault.open(t.file('vault.db'))).rejects.toMatchObject({ code: 'CORRUPT_DATA', message: expect.stringMatching(/header is damaged/) });
  });

  it('refuses a header whose key-derivation settings were tampered with', async () => {
    const v = await newVault(t);
    v.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(t.file('vault.db'));
    db.prepare('UPDATE header SET kdf_mem = ?').run(2 ** 40);
    db.close();
    await expect(Vault.open(t.file('vault.db'))).rejects.toMatchObject({ code: 'CORRUPT_DATA' });
  });

  it('logs a lock, and failed unlocks at the next unlock', async () => {
    const v = await newVault(t);
    v.lock();
    await expect(v.unlock('not the passphrase')).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    await expect(v.unlock('also not it')).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    await v.unlock(PASSPHRASE);
    const [unlocked, failed, locked] = v.activity().entries;
    expect(unlocked!.kind).toBe('vault.unlocked');
    expect(failed).toMatchObject({ kind: 'vault.unlock-failed', summary: expect.stringMatching(/^2 failed attempts to unlock with a wrong passphrase since the last unlock/) });
    expect(locked).toMatchObject({ kind: 'vault.locked', summary: 'Vault locked.' });
    // Reported once: the next unlock has nothing to report.
    v.lock();
    await v.unlock(PASSPHRASE);
    expect(v.activity().entries.slice(0, 2).map((e) => e.kind)).toEqual(['vault.unlocked', 'vault.locked']);
    expect(v.checkIntegrity().ok).toBe(true);
  });

  it('creates the vault file and its write-ahead files readable by the owner only', async () => {
    const v = await newVault(t);
    await v.importFile(t.file('p.csv', peopleCsv(5)));
    for (const suffix of ['', '-wal', '-shm']) {
      const path = t.file('vault.db') + suffix;
      if (suffix && !existsSync(path)) continue;
      expect((statSync(path).mode & 0o777).toString(8), `vault.db${suffix}`).toBe('600');
    }
    expect(existsSync(t.file('vault.db') + '-wal')).toBe(true); // the check above did look at the log
  });
});

describe('key ring', () => {
  it('zeroes the master key, purpose keys and data keys', async () => {
    await sodium.ready;
    const ring = new KeyRing(sodium.randombytes_buf(32));
    ring.dataKey('a', () => sodium.randombytes_buf(32));
    const keys = ring.allKeys();
    ring.wipe();
    expect(ring.isWiped).toBe(true);
    for (const k of keys) expect(Array.from(k)).toEqual(new Array(32).fill(0));
  });

});
