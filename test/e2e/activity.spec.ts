// The Activity screen narrows the log: by words in an entry, and by what kind of thing happened.
import { test, expect, createVault, importFile, nav, peopleCsv } from './fixtures.js';

test('search the activity log and show one kind of entry', async ({ app, workFile, shot }) => {
  await createVault(app);
  await importFile(app, workFile('steps.csv', peopleCsv(12)));
  await importFile(app, workFile('sleep.csv', peopleCsv(5)));
  await nav(app, 'Activity').click();
  const items = app.getByRole('list', { name: 'Activity log' }).getByRole('listitem');
  await expect(items).toHaveCount(3);

  await app.getByLabel('Search').fill('SLEEP');
  await expect(items).toHaveCount(1);
  await expect(items.first()).toContainText('Imported "sleep": 5 records');
  await expect(app.getByRole('status').filter({ hasText: 'match' })).toHaveText('1 entry matches.');
  await shot('1-search');

  await app.getByLabel('Search').fill('');
  await app.getByLabel('Show').selectOption({ label: 'Your vault and backups' });
  await expect(items).toHaveCount(1);
  await expect(items.first()).toHaveAttribute('data-kind', 'vault.created');

  await app.getByLabel('Show').selectOption({ label: 'What left this computer' });
  await expect(items).toHaveCount(0);
  await expect(app.getByText('No entries match.')).toBeVisible();

  await app.getByLabel('Show').selectOption({ label: 'Everything' });
  await expect(items).toHaveCount(3);
});
