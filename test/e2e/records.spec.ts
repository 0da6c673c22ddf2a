// The person's control over their records in the app: tick records and delete them, change one
// value (refused in words when it does not fit the column), rename the dataset, export it as CSV
// and JSON. Each change is in the Activity log, and the vault still verifies after it.
import { readFile } from 'node:fs/promises';
import type { Page } from '@playwright/test';
import { test, expect, createVault, importFile, nav, peopleCsv } from './fixtures.js';

// Each test creates a vault, imports, changes and reads the log again: several round trips of
// full-page work, which on a busy machine outlast the default minute.
test.describe.configure({ timeout: 150_000 });

async function openPeople(app: Page, workFile: (name: string, text: string) => string, rows = 30): Promise<void> {
  await createVault(app);
  await importFile(app, workFile('people.csv', peopleCsv(rows)));
  await app.getByRole('button', { name: 'Open dataset' }).click();
  await expect(app.getByRole('heading', { name: 'people', level: 1 })).toBeVisible();
}

async function activitySummaries(app: Page): Promise<string[]> {
  await nav(app, 'Activity').click();
  const items = app.getByRole('list', { name: 'Activity log' }).getByRole('listitem');
  await expect(items.first()).toBeVisible();
  return items.allInnerTexts();
}

test('tick records and delete them', async ({ app, host, workFile, shot }) => {
  await openPeople(app, workFile);
  const table = app.locator('table.records');
  const deleteButton = app.getByRole('button', { name: /^Delete .*selected record/ });
  await expect(deleteButton).toBeDisabled();
  await app.getByLabel('Select record 2', { exact: true }).check();
  await app.getByLabel('Select record 5', { exact: true }).check();
  await expect(deleteButton).toHaveText('Delete 2 selected records…');
  await shot('1-selected');
  await deleteButton.click();
  const dialog = app.getByRole('dialog', { name: 'Delete 2 records?' });
  await expect(dialog).toBeVisible();
  await shot('2-confirm');
  await dialog.getByRole('button', { name: 'Delete records' }).click();

  await expect(app.getByText('Records 1–25 of 28')).toBeVisible();
  await expect(app.getByText(/28 records · 5 columns/)).toBeVisible();
  const names = await table.locator('tbody tr td:nth-child(3)').allInnerTexts();
  expect(names.slice(0, 4)).toEqual(['Person 1', 'Person 3', 'Person 4', 'Person 6']);
  await expect(deleteButton).toBeDisabled();

  // Every record on a page at once.
  await app.getByLabel('Select every record on this page').check();
  await expect(deleteButton).toHaveText('Delete 25 selected records…');
  await app.getByLabel('Select every record on this page').uncheck();

  expect(host.session.checkIntegrity()).toMatchObject({ ok: true, problems: [] });
  expect((await activitySummaries(app))[0]).toContain('Deleted 2 records from "people".');
});

test('change a value: typed by its column, refused in words when it does not fit', async ({ app, host, workFile, shot }) => {
  await openPeople(app, workFile);
  const table = app.locator('table.records');
  await app.getByRole('button', { name: 'Change age of record 3', exact: true }).click();
  const dialog = app.getByRole('dialog', { name: 'Change age of record 3' });
  await expect(dialog.getByLabel('New value')).toHaveValue('23');
  await expect(dialog).toContainText('age holds integer values. A whole number');
  await dialog.getByLabel('New value').fill('41.5');
  await dialog.getByRole('button', { name: 'Save value' }).click();
  await expect(dialog.getByRole('alert')).toHaveText(/"41.5" is not a whole number\. The column "age" holds whole numbers, so the value was not changed\./);
  await expect(dialog.getByLabel('New value')).toHaveAttribute('aria-invalid', 'true');
  await shot('1-refused');
  await dialog.getByLabel('New value').fill('41');
  await dialog.getByLabel('New value').press('Enter');
  await expect(dialog).toBeHidden();
  await expect(table.locator('tbody tr').nth(2).locator('td').nth(3)).toHaveText('41');

  // A date in a form people write, shown back as a date.
  await app.getByRole('button', { name: 'Change joined of record 3', exact: true }).click();
  await app.getByRole('dialog').getByLabel('New value').fill('Jun 12 1998');
  await app.getByRole('dialog').getByRole('button', { name: 'Save value' }).click();
  await expect(table.locator('tbody tr').nth(2).locator('td').nth(5)).toHaveText('1998-06-12');
  // The summaries are read again: the age column's maximum counts the new value.
  await expect(app.getByRole('heading', { name: 'age', level: 3 })).toBeVisible();
  await shot('2-changed');

  expect(host.session.checkIntegrity()).toMatchObject({ ok: true, problems: [] });
  const log = await activitySummaries(app);
  expect(log[0]).toContain('Changed the value of "joined" in one record of "people".');
  expect(log[1]).toContain('Changed the value of "age" in one record of "people".');
});

test('rename a dataset', async ({ app, host, workFile, shot }) => {
  await openPeople(app, workFile, 5);
  await app.getByRole('button', { name: 'Rename…' }).click();
  const dialog = app.getByRole('dialog', { name: 'Rename "people"' });
  await expect(dialog.getByLabel('Dataset name')).toHaveValue('people');
  await dialog.getByLabel('Dataset name').fill('   ');
  await expect(dialog.getByRole('button', { name: 'Rename' })).toBeDisabled();
  await dialog.getByLabel('Dataset name').fill('Sleep diary 2024');
  await shot('1-rename');
  await dialog.getByRole('button', { name: 'Rename' }).click();
  await expect(app.getByRole('heading', { name: 'Sleep diary 2024', level: 1 })).toBeVisible();
  await nav(app, 'Data').click();
  await expect(app.getByRole('list', { name: 'Datasets' })).toContainText('Sleep diary 2024');
  expect(host.session.checkIntegrity()).toMatchObject({ ok: true, problems: [] });
  expect((await activitySummaries(app))[0]).toContain('Renamed dataset "people" to "Sleep diary 2024".');
});

test('export a dataset as CSV and JSON, with what it holds now', async ({ app, workFile, shot }) => {
  await openPeople(app, workFile, 4);
  await app.getByLabel('Select record 2', { exact: true }).check();
  await app.getByRole('button', { name: 'Delete 1 selected record…' }).click();
  await app.getByRole('dialog').getByRole('button', { name: 'Delete records' }).click();
  await expect(app.getByText('Records 1–3 of 3')).toBeVisible();

  const csvDownload = app.waitForEvent('download');
  await app.getByRole('button', { name: 'Export as CSV' }).click();
  const csvFile = await csvDownload;
  expect(csvFile.suggestedFilename()).toBe('people.csv');
  const lines = (await readFile((await csvFile.path())!, 'utf8')).split('\r\n');
  expect(lines).toEqual([
    'name,age,height_cm,joined,member',
    'Person 1,21,157.5,2020-02-02T00:00:00.000Z,false',
    'Person 3,23,171.5,2020-04-04T00:00:00.000Z,true',
    'Person 4,24,178.5,2020-05-05T00:00:00.000Z,false',
    '',
  ]);
  await expect(app.getByText(/Saved 3 records as people\.csv\. That file is not encrypted/)).toBeVisible();
  await shot('1-exported');

  const jsonDownload = app.waitForEvent('download');
  await app.getByRole('button', { name: 'Export as JSON' }).click();
  const json = JSON.parse(await readFile((await (await jsonDownload).path())!, 'utf8')) as unknown[];
  expect(json).toEqual([
    { name: 'Person 1', age: 21, height_cm: 157.5, joined: '2020-02-02T00:00:00.000Z', member: false },
    { name: 'Person 3', age: 23, height_cm: 171.5, joined: '2020-04-04T00:00:00.000Z', member: true },
    { name: 'Person 4', age: 24, height_cm: 178.5, joined: '2020-05-05T00:00:00.000Z', member: false },
  ]);
  const log = await activitySummaries(app);
  expect(log[0]).toContain('Exported "people" (3 records) as JSON to a file on this computer, unencrypted.');
  expect(log[1]).toContain('Exported "people" (3 records) as CSV');
  await app.getByLabel('Show').selectOption({ label: 'What left this computer' });
  await expect(app.getByRole('list', { name: 'Activity log' }).getByRole('listitem')).toHaveCount(2);
});

test('the dataset screen in light, dark and at 800 px', async ({ app, workFile, shot }) => {
  await openPeople(app, workFile, 8);
  await app.getByLabel('Select record 2', { exact: true }).check();
  for (const scheme of ['light', 'dark'] as const) {
    await app.emulateMedia({ colorScheme: scheme });
    for (const width of [1280, 800]) {
      await app.setViewportSize({ width, height: 900 });
      await shot(`${scheme}-${width}`);
    }
  }
  await app.getByRole('button', { name: 'Change height_cm of record 1', exact: true }).click();
  await shot('dark-800-edit');
  const overflow = await app.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});

test('every rejected row can be read page by page and saved as CSV', async ({ app, workFile, shot }) => {
  await createVault(app);
  // 260 bad rows: more than one page, more than the report's first rows.
  const bad = Array.from({ length: 260 }, (_, i) => 3 + i * 2);
  await importFile(app, workFile('visits.csv', peopleCsv(600, bad)));
  await expect(app.locator('.stats')).toContainText('260');
  const rejected = app.getByRole('table', { name: 'Rows not imported' });
  await expect(rejected.locator('tbody tr')).toHaveCount(100);
  await expect(app.getByText('Problems 1–100 of 260')).toBeVisible();
  await app.getByRole('button', { name: 'Next →' }).click();
  await app.getByRole('button', { name: 'Next →' }).click();
  await expect(app.getByText('Problems 201–260 of 260')).toBeVisible();
  await expect(rejected.locator('tbody tr')).toHaveCount(60);
  await expect(rejected.locator('tbody tr').last().locator('td').first()).toHaveText(String(bad.at(-1)));
  await shot('rejected-page-3');

  const download = app.waitForEvent('download');
  await app.getByRole('button', { name: 'Save this list as CSV' }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe('visits-rows-not-imported.csv');
  const lines = (await readFile((await file.path())!, 'utf8')).trimEnd().split('\r\n');
  expect(lines[0]).toBe('line,column,problem');
  expect(lines).toHaveLength(261);
  expect(lines.map((l) => Number(l.split(',')[0])).slice(1)).toEqual(bad);
  expect(lines.filter((l) => /Expected 5 fields, found 2/.test(l)).length + lines.filter((l) => /not a whole number|not a number/.test(l)).length).toBe(260);
});
