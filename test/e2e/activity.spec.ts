// The Activity screen narrows the log: by words in an entry, and by what kind of thing happened.
import { test, expect, createVault, importFile, nav, peopleCsv } from './fixtures.js';
import { readFile } from 'node:fs/promises';

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

test('export the activity log as CSV and JSON, filter included', async ({ app, workFile, shot }) => {
  await createVault(app);
  await importFile(app, workFile('steps.csv', peopleCsv(3)));
  await importFile(app, workFile('sleep.csv', peopleCsv(5)));
  await nav(app, 'Activity').click();
  await expect(app.getByRole('list', { name: 'Activity log' }).getByRole('listitem')).toHaveCount(3);

  const csvDownload = app.waitForEvent('download');
  await app.getByRole('button', { name: 'Export as CSV' }).click();
  const csv = await readFile((await (await csvDownload).path())!, 'utf8');
  const lines = csv.trimEnd().split('\r\n');
  expect(lines[0]).toBe('time,number,kind,summary,details');
  expect(lines).toHaveLength(4);
  expect(lines.filter((l) => l.includes(',dataset.imported,"Imported ""sleep"": 5 records."'))).toHaveLength(1);
  await expect(app.getByText(/Exported 3 entries\./)).toBeVisible();
  await shot('export');

  await app.getByLabel('Search').fill('sleep');
  await expect(app.getByRole('list', { name: 'Activity log' }).getByRole('listitem')).toHaveCount(1);
  const jsonDownload = app.waitForEvent('download');
  await app.getByRole('button', { name: 'Export as JSON' }).click();
  const json = JSON.parse(await readFile((await (await jsonDownload).path())!, 'utf8')) as { kind: string; summary: string; time: string }[];
  expect(json).toHaveLength(1);
  expect(json[0]?.summary).toBe('Imported "sleep": 5 records.');
  expect(new Date(json[0]!.time).getTime()).toBeGreaterThan(0);
});
