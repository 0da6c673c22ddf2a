// A person who forgot the passphrase finds, on the Unlock screen, what can and cannot be done, and
// can restore a backup from there without getting into the vault first.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test, expect, createVault, importFile, nav, peopleCsv, PASSPHRASE } from './fixtures.js';

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
