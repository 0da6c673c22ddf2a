// A person who forgot the passphrase finds, on the Unlock screen, what can and cannot be done, and
// can restore a backup from there without getting into the vault first. A vault file put back to
// an older copy of itself is announced as soon as it is unlocked.
import { copyFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { startHeadlessHost } from '../../main/host/headless.js';
import { AppSession } from '../../main/services/session/session.js';
import { fileLastSeen } from '../../main/services/vault/last-seen.js';
import { test, expect, createVault, importFile, nav, peopleCsv, FAST_KDF, PASSPHRASE } from './fixtures.js';

test('forgot the passphrase: the Unlock screen explains and restores a backup', async ({ app, host, workFile, shot }) => {
  await createVault(app);
  await importFile(app, workFile('diary.csv', peopleCsv(12)));
  await nav(app, 'Settings').click();
  await app.getByRole('button', { name: 'Back up now' }).click();
  await expect(app.getByRole('list', { name: 'Backups on this device' }).getByRole('listitem')).toHaveCount(1);
  const [backupName] = readdirSync(host.session.backupsFolder);
  await app.getByRole('button', { name: 'Lock vault' }).click();

  await expect(app.getByRole('heading', { name: 'Unlock your vault' })).toBeVisible();
  await app.getByText('Forgot your passphrase?').click();
  await expect(app.getByText(/Nobody can open the vault without its passphrase, not even Trove/)).toBeVisible();
  await shot('1-forgot');
  await app.getByRole('button', { name: 'Restore from a backup…' }).click();
  await app.getByTestId('restore-file').setInputFiles(join(host.session.backupsFolder, backupName!));
  await app.getByLabel('Passphrase of the backed-up vault').fill(PASSPHRASE);
  await shot('2-restore-from-unlock');
  await app.getByRole('button', { name: 'Restore vault' }).click();

  await expect(app.getByRole('heading', { name: 'Your data' })).toBeVisible();
  await expect(app.getByRole('list', { name: 'Datasets' })).toContainText('diary');
  // The locked vault is kept beside the restored one.
  expect(readdirSync(join(host.session.vaultFile, '..')).some((f) => f.startsWith('trove-replaced-'))).toBe(true);
});

test('Settings keeps replacing the vault apart, behind a deliberate step', async ({ app, shot }) => {
  await createVault(app);
  await nav(app, 'Settings').click();
  const headings = await app.getByRole('heading', { level: 2 }).allTextContents();
  expect(headings.at(0)).toMatch(/Backups/);
  expect(headings.at(-1)).toBe('Replace this vault with a backup');
  await expect(app.getByTestId('restore-file')).toHaveCount(0);
  await app.getByRole('button', { name: 'Restore from a backup…' }).click();
  await expect(app.getByTestId('restore-file')).toBeAttached();
  await shot('settings-danger-zone');
  await app.getByRole('button', { name: 'Cancel' }).click();
  await expect(app.getByTestId('restore-file')).toHaveCount(0);
});

test('an older copy of the vault file is announced at unlock, with what it means and what to do', async ({ page, dataDir }) => {
  // The vault is made and changed outside the page, with a record of what this device saw kept
  // beside it; then an older copy of the file is put back, as a sync tool or an intruder would.
  const appDir = join(dataDir, 'app');
  const opts = { dataDir: appDir, vault: { kdf: FAST_KDF, lastSeen: fileLastSeen(join(dataDir, 'device.last-seen')) } };
  const first = await AppSession.start(opts);
  await first.create(PASSPHRASE);
  await first.close();
  const vaultFile = join(appDir, 'trove.vault');
  copyFileSync(vaultFile, join(dataDir, 'older.vault'));
  const second = await AppSession.start(opts);
  await second.unlock(PASSPHRASE); // a change the older copy does not have
  await second.close();
  for (const s of ['-wal', '-shm']) rmSync(vaultFile + s, { force: true });
  copyFileSync(join(dataDir, 'older.vault'), vaultFile);

  const host = await startHeadlessHost(page, opts);
  try {
    await page.getByLabel('Passphrase', { exact: true }).fill(PASSPHRASE);
    await page.getByRole('button', { name: 'Unlock' }).click();
    const banner = page.getByRole('alert').filter({ has: page.getByRole('heading', { name: 'This vault is an older copy' }) });
    await expect(banner).toBeVisible();
    await expect(banner).toContainText('Recent changes, deletions included, are missing from it.');
    await expect(banner).toContainText('Trove will not save anything to this copy');
    await banner.getByText('Details').click();
    await expect(banner).toContainText(/The file holds change #\d+; Trove saw change #\d+ of this vault on this device/);
    const scan = await new AxeBuilder({ page }).analyze();
    expect(scan.violations.map((v) => v.id)).toEqual([]);
    await banner.getByRole('button', { name: 'Go to backups' }).click();
    await expect(page.getByRole('heading', { name: 'Settings' })).toBeVisible();
    await expect(banner).toBeVisible(); // it stays on every screen while the older copy is open
  } finally {
    await host.close();
  }
});
