// A whole vault file swapped for an older copy of itself: every part inside is authentic and the
// sealed record agrees with them, so only the last state seen on this device, kept outside the
// file, can name it. Positive control: the same swap opened without that record verifies OK.
// The desktop app keeps the record through the OS keychain (tested with the Electron double).
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TroveError } from '../../../common/errors.js';
import { Vault, backupVault, restoreVault } from '../../../main/services/vault/index.js';
import { fileLastSeen, lastSeenFileFor, type LastSeenStore } from '../../../main/services/vault/last-seen.js';
import { safeStorageLastSeen } from '../../../main/electron/last-seen.js';
import { keychain } from '../electron/electron-double.js';
import { AppSession } from '../../../main/services/session/session.js';
import { main as cli } from '../../../main/cli/vault.js';
import { FAST_KDF, PASSPHRASE, peopleCsv, useTempDir } from '../../helpers/vault.js';

vi.mock('electron', () => import('../electron/electron-double.js'));

const opts = (lastSeen?: LastSeenStore) => ({ kdf: FAST_KDF, autoLockMs: null, ...(lastSeen ? { lastSeen } : {}) });

describe('the last state seen on this device', () => {
  const t = useTempDir();

  async function open(path: string, lastSeen?: LastSeenStore): Promise<Vault> {
    const v = t.track(await Vault.open(path, opts(lastSeen)));
    await v.unlock(PASSPHRASE);
    return v;
  }

  /** A vault with a dataset, a copy of its file taken then, and two later changes (one a deletion). */
  async function olderCopy(store: LastSeenStore) {
    const path = t.file('vault.db');
    const v = await Vault.create(path, PASSPHRASE, opts(store));
    const id = (await v.importFile(t.file('p.csv', peopleCsv(5)), { name: 'p' })).datasetId!;
    v.close();
    const old = t.file('old.db');
    copyFileSync(path, old);
    const again = await open(path, store);
    await again.deleteRecords(id, [0]);
    await again.renameDataset(id, 'people');
    const seen = again.generation!;
    again.close();
    // Whoever can write the file puts the older copy back.
    for (const s of ['-wal', '-shm']) rmSync(path + s, { force: true });
    copyFileSync(old, path);
    return { path, id, seen };
  }

  function expectRollbackNamed(v: Vault, seen: number) {
    const report = v.checkIntegrity();
    expect(report.ok).toBe(false);
    expect(report.state[0]).toMatchObject({ problem: 'file-rolled-back', seenGeneration: seen });
    expect((report.state[0] as { foundGeneration: number }).foundGeneration).toBeLessThan(seen);
    expect(report.problems[0]).toMatch(/This vault file is older than the one Trove last saw on this device .*an older copy of the whole file was put in its place/);
  }

  it('names a vault file replaced by an older copy (CLI: a small file beside the vault)', async () => {
    const file = lastSeenFileFor(t.file('vault.db'));
    const { path, id, seen } = await olderCopy(fileLastSeen(file));
    const record = JSON.parse(readFileSync(file, 'utf8')) as { format: number; vaults: Record<string, number> };
    expect(record.format).toBe(1);
    expect(Object.values(record.vaults)).toEqual([seen]);

    // Positive control: without the record outside the file, the older copy verifies OK.
    const blind = await open(path);
    expect(blind.checkIntegrity()).toMatchObject({ ok: true, problems: [] });
    expect(blind.readRows(id).rows).toHaveLength(5); // the deleted record is back
    blind.close();

    const v = await open(path, fileLastSeen(file));
    expectRollbackNamed(v, seen);
    expect(v.readRows(id).rows).toHaveLength(5); // reads still work
    // Writes are refused in words, and the record outside the file is not lowered.
    const err = await v.setSetting('probe', 1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TroveError);
    expect(err).toMatchObject({ code: 'INTEGRITY_FAILURE', message: expect.stringMatching(/older than the one Trove last saw/) });
    expect(fileLastSeen(file).read(v.vaultId)).toBe(seen);
  });

  it('takes a restore as the new last state: a restored older backup is not named', async () => {
    const store = fileLastSeen(t.file('device.last-seen'));
    const v = await Vault.create(t.file('vault.db'), PASSPHRASE, opts(store));
    await v.importFile(t.file('p.csv', peopleCsv(5)), { name: 'p' });
    const backup = t.file('b.trovebackup');
    await backupVault(v, backup);
    await v.setSetting('later', 1, 'A later change.');
    const seen = v.generation!;
    v.close();
    const restored = t.track(await restoreVault(backup, t.file('restored.db'), PASSPHRASE, opts(store)));
    expect(restored.generation!).toBeLessThan(seen);
    expect(restored.checkIntegrity()).toMatchObject({ ok: true, problems: [] });
    await restored.setSetting('after', 2, 'A change after the restore.');
    expect(store.read(restored.vaultId)).toBe(restored.generation);
  });

  it('keeps the record through the OS keychain in the desktop app, unreadable and unforgeable without it', async () => {
    const file = t.file('last-seen-state.bin');
    const { path, seen } = await olderCopy(safeStorageLastSeen(file));
    expect(readFileSync(file).toString('latin1')).not.toContain('"vaults"');
    const v = await open(path, safeStorageLastSeen(file));
    expectRollbackNamed(v, seen);
    v.close();

    // An edited record does not open: it reads as no record, never as a lower one that blesses the copy.
    const blob = readFileSync(file);
    blob[blob.length - 1]! ^= 1;
    writeFileSync(file, blob);
    expect(safeStorageLastSeen(file).read('0'.repeat(32))).toBeNull();

    keychain.available = false;
    try {
      expect(safeStorageLastSeen(file).read('0'.repeat(32))).toBeNull();
    } finally {
      keychain.available = true;
    }
  });
});

// The rollback is said when the vault is unlocked, not only by verify: on every CLI command that
// unlocks, and in the app's unlock result (the renderer shows a banner from it).
describe('an older copy announced at unlock', () => {
  const t = useTempDir();
  const passphraseBefore = process.env.TROVE_PASSPHRASE;
  afterEach(() => {
    vi.restoreAllMocks();
    if (passphraseBefore === undefined) delete process.env.TROVE_PASSPHRASE;
    else process.env.TROVE_PASSPHRASE = passphraseBefore;
  });

  /** Copies the vault file aside, makes one more change through `change`, then puts the copy back. */
  async function swapForOlder(path: string, change: () => Promise<void>) {
    const old = `${path}.old`;
    copyFileSync(path, old);
    await change();
    for (const s of ['-wal', '-shm']) rmSync(path + s, { force: true });
    copyFileSync(old, path);
  }

  /** Runs a CLI command; what it wrote to stderr. */
  async function runCli(args: string[]): Promise<string> {
    const errors: string[] = [];
    const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void errors.push(a.join(' ')));
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await cli(args);
    } finally {
      err.mockRestore();
      log.mockRestore();
    }
    return errors.join('\n');
  }

  it('warns on every CLI command that unlocks (list, show, verify), and says nothing about an up-to-date file', async () => {
    const path = t.file('vault.db');
    const store = fileLastSeen(lastSeenFileFor(path));
    const v = await Vault.create(path, PASSPHRASE, opts(store));
    await v.importFile(t.file('p.csv', peopleCsv(5)), { name: 'people' });
    v.close();
    process.env.TROVE_PASSPHRASE = PASSPHRASE;
    process.exitCode = undefined;

    // Control: the file is the newest this device saw, so no command warns.
    for (const args of [['list', path], ['show', path, 'people'], ['verify', path]]) expect(await runCli(args)).toBe('');
    expect(process.exitCode).toBeUndefined();

    await swapForOlder(path, async () => {
      const again = t.track(await Vault.open(path, opts(store)));
      await again.unlock(PASSPHRASE);
      await again.renameDataset(again.resolveDataset('people'), 'friends');
      again.close();
    });
    for (const args of [['list', path], ['show', path, 'people'], ['verify', path]]) {
      expect(await runCli(args), args[0]).toMatch(/WARNING: This vault file is older than the one Trove last saw on this device \(it holds change #\d+; Trove saw change #\d+\)[\s\S]*restore <your latest backup>/);
    }
    process.exitCode = undefined; // verify's finding set it; the test runner's exit code is not ours
  });

  it("is in the app's unlock result while the older copy is open, and only then", async () => {
    const dataDir = t.dir();
    const store = fileLastSeen(join(dataDir, 'device.last-seen'));
    const start = () => AppSession.start({ dataDir, vault: { kdf: FAST_KDF, lastSeen: store } });
    const first = await start();
    await first.create(PASSPHRASE);
    await first.close();
    const path = join(dataDir, 'trove.vault');

    await swapForOlder(path, async () => {
      const s = await start();
      const status = await s.unlock(PASSPHRASE);
      // Control: an up-to-date file announces nothing.
      expect(status.olderCopy).toBeUndefined();
      await s.close();
    });

    const s = await start();
    expect(s.status().olderCopy).toBeUndefined(); // locked: nothing is known yet
    const status = await s.unlock(PASSPHRASE);
    expect(status.vault).toBe('unlocked');
    expect(status.olderCopy).toBeDefined();
    expect(status.olderCopy!.foundChange).toBeLessThan(status.olderCopy!.seenChange);
    expect(s.status().olderCopy).toEqual(status.olderCopy); // it stays while the copy is open
    s.lock();
    expect(s.status().olderCopy).toBeUndefined();
    await s.close();

    // Positive control: the same older copy, with no record of what this device saw, cannot be told apart.
    const blind = await AppSession.start({ dataDir, vault: { kdf: FAST_KDF } });
    expect((await blind.unlock(PASSPHRASE)).olderCopy).toBeUndefined();
    await blind.close();
  });
});
