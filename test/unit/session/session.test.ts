// The app session's own behaviour: "remember on this device" through a keychain, idle lock events,
// and where things are kept.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppSession, type DeviceKeychain } from '../../../main/services/session/session.js';

const FAST_KDF = { opsLimit: 1, memLimit: 8 * 1024 * 1024 };
const PASSPHRASE = 'lantern orbit maple 9';

function memoryKeychain(available = true): DeviceKeychain & { secret: string | null } {
  const k = {
    secret: null as string | null,
    available: () => available,
    read: () => k.secret,
    write: (s: string) => void (k.secret = s),
    clear: () => void (k.secret = null),
  };
  return k;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'trove-session-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('remember on this device', () => {
  it('is off unless asked for; when asked, the next start unlocks by itself; forgetting undoes it', async () => {
    const keychain = memoryKeychain();
    const first = await AppSession.start({ dataDir: dir, vault: { kdf: FAST_KDF }, keychain });
    await first.create(PASSPHRASE);
    first.lock();
    await first.unlock(PASSPHRASE);
    expect(keychain.secret).toBeNull();
    expect(first.status()).toMatchObject({ canRemember: true, remembered: false });
    first.lock();
    await first.unlock(PASSPHRASE, true);
    expect(first.status().remembered).toBe(true);
    await first.close();

    const second = await AppSession.start({ dataDir: dir, vault: { kdf: FAST_KDF }, keychain });
    expect(second.status().vault).toBe('unlocked');
    // A changed passphrase is what is remembered from then on.
    await second.changePassphrase(PASSPHRASE, 'harbor violet quiet 3');
    expect(keychain.secret).toBe('harbor violet quiet 3');
    second.forgetDevice();
    expect(keychain.secret).toBeNull();
    await second.close();

    const third = await AppSession.start({ dataDir: dir, vault: { kdf: FAST_KDF }, keychain });
    expect(third.status().vault).toBe('locked');
    await third.close();
  });

  it('a remembered passphrase that no longer works is dropped, and the vault stays locked', async () => {
    const keychain = memoryKeychain();
    const s = await AppSession.start({ dataDir: dir, vault: { kdf: FAST_KDF }, keychain });
    await s.create(PASSPHRASE);
    await s.close();
    keychain.secret = 'stale passphrase';
    const again = await AppSession.start({ dataDir: dir, vault: { kdf: FAST_KDF }, keychain });
    expect(again.status().vault).toBe('locked');
    expect(keychain.secret).toBeNull();
    await again.close();
  });

  it('is not offered without a keychain', async () => {
    const s = await AppSession.start({ dataDir: dir, vault: { kdf: FAST_KDF }, keychain: memoryKeychain(false) });
    await s.create(PASSPHRASE);
    s.lock();
    await s.unlock(PASSPHRASE, true);
    expect(s.status()).toMatchObject({ canRemember: false, remembered: false });
    await s.close();
  });
});

describe('session', () => {
  it('says where the vault and backups live, inside its data folder', async () => {
    const s = await AppSession.start({ dataDir: dir });
    expect(s.status()).toEqual({ vault: 'none', storage: { vaultFile: join(dir, 'trove.vault'), backupsFolder: join(dir, 'backups') }, canRemember: false, remembered: false });
    await s.close();
  });

  it('refuses a second vault and names what to do instead', async () => {
    const s = await AppSession.start({ dataDir: dir, vault: { kdf: FAST_KDF } });
    await s.create(PASSPHRASE);
    await expect(s.create(PASSPHRASE)).rejects.toMatchObject({ code: 'VAULT_EXISTS', message: expect.stringMatching(/Unlock it, or restore/) });
    await s.close();
  });

  it('tells listeners when the vault locks itself after being idle', async () => {
    const s = await AppSession.start({ dataDir: dir, vault: { kdf: FAST_KDF, autoLockMs: 50 } });
    const reasons: unknown[] = [];
    s.onEvent((name, payload) => {
      if (name === 'vault.state') reasons.push((payload as { reason?: string }).reason);
    });
    await s.create(PASSPHRASE);
    await new Promise<void>((resolve) => {
      const stop = s.onEvent((name, payload) => {
        if (name === 'vault.state' && (payload as { reason?: string }).reason === 'idle') {
          stop();
          resolve();
        }
      });
    });
    expect(reasons).toEqual(['created', 'idle']);
    expect(s.status().vault).toBe('locked');
    await s.close();
  });
});
