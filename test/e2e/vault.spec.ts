import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AppSession } from '../../main/services/session/session.js';
import { test, expect, createVault, importFile, nav, peopleCsv, FAST_KDF, PASSPHRASE } from './fixtures.js';

test('lock and unlock; a wrong passphrase says what to do', async ({ app, workFile, shot }) => {
  await createVault(app);
  await importFile(app, workFile('people.csv', peopleCsv(15)));
  await app.getByRole('button', { name: 'Lock vault' }).click();

  await expect(app.getByRole('heading', { name: 'Unlock your vault' })).toBeVisible();
  await expect(app.getByRole('navigation', { name: 'Main' })).toHaveCount(0);
  await expect(app.getByText('people')).toHaveCount(0);
  await shot('1-locked');

  const field = app.getByLabel('Passphrase', { exact: true });
  await expect(field).toBeFocused();
  await field.fill('orbit maple lantern 41');
  await app.getByRole('button', { name: 'Unlock' }).click();
  await expect(app.getByRole('alert')).toHaveText(/That passphrase does not unlock this vault\. Check for typing mistakes and caps lock, and try again\./);
  await expect(field).toHaveValue('');
  await expect(field).toBeFocused();
  await shot('2-wrong-passphrase');

  await field.fill(PASSPHRASE);
  await field.press('Enter');
  await expect(app.getByRole('heading', { name: 'Your data' })).toBeVisible();
  await expect(app.getByRole('list', { name: 'Datasets' })).toContainText('people');
});

test('the vault locks itself when the main side locks it, and the screen follows', async ({ app, host }) => {
  await createVault(app);
  // Same path as the idle timer: the vault locks, the session sends the state event.
  host.session.lock();
  await expect(app.getByRole('heading', { name: 'Unlock your vault' })).toBeVisible();
});

test('back up, lose a dataset, restore the backup: the dataset is back', async ({ app, host, workFile, shot }) => {
  await createVault(app);
  await importFile(app, workFile('diary.csv', peopleCsv(30)));

  await nav(app, 'Settings').click();
  await app.getByRole('button', { name: 'Back up now' }).click();
  const backups = app.getByRole('list', { name: 'Backups on this device' });
  await expect(backups.getByRole('listitem')).toHaveCount(1);
  await expect(app.getByText(/Backup written: trove-backup-.*\.trovebackup/)).toBeVisible();
  await shot('1-backed-up');
  const [backupName] = readdirSync(host.session.backupsFolder);
  expect(backupName).toMatch(/\.trovebackup$/);

  // Lose the data.
  await nav(app, 'Data').click();
  await app.getByRole('button', { name: 'diary' }).click();
  await app.getByRole('button', { name: 'Delete dataset…' }).click();
  await app.getByRole('dialog').getByRole('button', { name: 'Delete dataset' }).click();
  await expect(app.getByText('No datasets yet')).toBeVisible();

  // A wrong passphrase for the backup restores nothing.
  await nav(app, 'Settings').click();
  await app.getByRole('button', { name: 'Restore from a backup…' }).click();
  await app.getByTestId('restore-file').setInputFiles(join(host.session.backupsFolder, backupName!));
  await expect(app.getByText(`Backup file: ${backupName}`)).toBeVisible();
  await app.getByLabel('Passphrase of the backed-up vault').fill('not the passphrase');
  await app.getByRole('button', { name: 'Restore vault' }).click();
  await expect(app.getByRole('alert')).toHaveText(/That passphrase does not open this backup/);
  await shot('2-restore-wrong-passphrase');

  await app.getByLabel('Passphrase of the backed-up vault').fill(PASSPHRASE);
  await app.getByRole('button', { name: 'Restore vault' }).click();
  await expect(app.getByRole('heading', { name: 'Your data' })).toBeVisible();
  await expect(app.getByRole('list', { name: 'Datasets' })).toContainText('diary');
  await expect(app.getByText('30 records · 5 columns')).toBeVisible();
  await shot('3-restored');
  // The replaced vault is kept beside the restored one, not destroyed.
  expect(readdirSync(join(host.session.vaultFile, '..')).some((f) => f.startsWith('trove-replaced-'))).toBe(true);
});

test('restore from a backup on a new device, from the first screen', async ({ app, workFile, dataDir, shot }) => {
  // Another device, driven through its services alone, makes a backup with one dataset in it.
  const other = await AppSession.start({ dataDir: join(dataDir, 'other-device'), vault: { kdf: FAST_KDF }, stagePaths: true });
  await other.create(PASSPHRASE);
  const staged = other.files.stagePath(workFile('sleep.csv', peopleCsv(24)));
  await other.startImport({ importId: 'other-device-1', file: staged.token, policy: 'skip-rows' });
  const backup = await other.backup();
  await other.close();

  await app.getByRole('button', { name: 'I have a backup' }).click();
  await expect(app.getByRole('heading', { name: 'Restore from a backup' })).toBeVisible();
  await app.getByTestId('restore-file').setInputFiles(join(dataDir, 'other-device', 'backups', backup!.fileName));
  await app.getByLabel('Passphrase of the backed-up vault').fill(PASSPHRASE);
  await shot('restore-first-run');
  await app.getByRole('button', { name: 'Restore vault' }).click();
  await expect(app.getByRole('heading', { name: 'Your data' })).toBeVisible();
  await expect(app.getByRole('list', { name: 'Datasets' })).toContainText('sleep');
  await expect(app.getByText('24 records · 5 columns')).toBeVisible();
});

test('the activity log shows each step and verifies', async ({ app, workFile, shot }) => {
  await createVault(app);
  await importFile(app, workFile('steps.csv', peopleCsv(8)));
  await nav(app, 'Settings').click();
  await app.getByLabel('Lock the vault after it is unused for').selectOption({ label: '15 minutes' });
  await expect(app.getByLabel('Lock the vault after it is unused for')).toHaveValue(String(15 * 60_000));
  await app.getByRole('button', { name: 'Back up now' }).click();
  await expect(app.getByRole('list', { name: 'Backups on this device' }).getByRole('listitem')).toHaveCount(1);
  await app.getByLabel('Current passphrase').fill(PASSPHRASE);
  await app.getByLabel('New passphrase', { exact: true }).fill('quiet harbor violet 77');
  await app.getByLabel('New passphrase again').fill('quiet harbor violet 77');
  await app.getByRole('button', { name: 'Change passphrase' }).click();
  await expect(app.getByText('Passphrase changed. Use the new one next time you unlock.')).toBeVisible();
  await shot('1-settings');
  await nav(app, 'Data').click();
  await app.getByRole('button', { name: 'steps' }).click();
  await app.getByRole('button', { name: 'Delete dataset…' }).click();
  await app.getByRole('dialog').getByRole('button', { name: 'Delete dataset' }).click();
  await expect(app.getByText('No datasets yet')).toBeVisible();
  await app.getByRole('button', { name: 'Lock vault' }).click();
  await app.getByLabel('Passphrase', { exact: true }).fill('quiet harbor violet 77');
  await app.getByRole('button', { name: 'Unlock' }).click();

  await nav(app, 'Activity').click();
  await expect(app.getByText(/Log verified\. All 8 entries are intact and in order\./)).toBeVisible();
  const log = app.getByRole('list', { name: 'Activity log' });
  const items = log.getByRole('listitem');
  await expect(items).toHaveCount(8);
  // Newest first.
  await expect(items.nth(0)).toHaveAttribute('data-kind', 'vault.unlocked');
  await expect(items.nth(1)).toHaveAttribute('data-kind', 'vault.locked');
  await expect(items.nth(2)).toHaveAttribute('data-kind', 'dataset.deleted');
  await expect(items.nth(3)).toHaveAttribute('data-kind', 'passphrase.changed');
  await expect(items.nth(4)).toHaveAttribute('data-kind', 'backup.created');
  await expect(items.nth(5)).toHaveAttribute('data-kind', 'settings.changed');
  await expect(items.nth(6)).toHaveAttribute('data-kind', 'dataset.imported');
  await expect(items.nth(7)).toHaveAttribute('data-kind', 'vault.created');
  await expect(items.nth(6)).toContainText('Imported "steps": 8 records');
  await shot('2-activity');
});
