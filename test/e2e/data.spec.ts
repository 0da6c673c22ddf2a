// The callbacks given to evaluate() run in the page.
/// <reference lib="dom" />
import { test, expect, createVault, importFile, nav, peopleCsv } from './fixtures.js';

test('import a CSV with bad rows: preview, change a type, see the report of what was skipped', async ({ app, workFile, shot }) => {
  await createVault(app);
  const file = workFile('people.csv', peopleCsv(60, [5, 17, 30]));
  await app.getByRole('button', { name: 'Import a file' }).click();
  await expect(app.getByRole('heading', { name: 'Import a file' })).toBeVisible();
  await shot('1-choose');
  await app.getByTestId('import-file').setInputFiles(file);

  await expect(app.getByRole('heading', { name: 'Columns' })).toBeVisible();
  await expect(app.getByLabel('Dataset name')).toHaveValue('people');
  await expect(app.getByLabel('Type of column age')).toHaveValue('integer');
  await expect(app.getByLabel('Type of column joined')).toHaveValue('date');
  await expect(app.getByLabel('Type of column member')).toHaveValue('boolean');
  // The user's choice wins over the guess: heights as whole numbers are not what this file holds.
  await app.getByLabel('Type of column height_cm').selectOption('number');
  await app.getByLabel('Dataset name').fill('People survey');
  await shot('2-preview');
  await app.getByRole('button', { name: 'Import 5 columns' }).click();

  await expect(app.getByRole('heading', { name: 'Imported "People survey"' })).toBeVisible();
  const stats = app.locator('.stats');
  await expect(stats.getByText('Records imported')).toBeVisible();
  await expect(stats).toContainText('57');
  await expect(stats).toContainText('3');
  const rejected = app.getByRole('table', { name: 'Rows not imported' });
  await expect(rejected.getByRole('row')).toHaveCount(4);
  await expect(rejected).toContainText('5');
  await expect(rejected).toContainText('17');
  await expect(rejected).toContainText('30');
  await expect(rejected).toContainText(/Expected 5 fields, found 2/);
  await shot('3-report');
});

test('a file with problems under "import nothing" is refused whole, then imported skipping them', async ({ app, workFile, shot }) => {
  await createVault(app);
  await app.getByRole('button', { name: 'Import a file' }).click();
  await app.getByTestId('import-file').setInputFiles(workFile('visits.csv', peopleCsv(20, [4])));
  await app.getByLabel('Import nothing, so I can fix the file first').check();
  await app.getByRole('button', { name: /^Import \d+ columns$/ }).click();
  await expect(app.getByRole('heading', { name: 'Nothing was imported' })).toBeVisible();
  await expect(app.getByText(/1 row has problems, so nothing was imported/)).toBeVisible();
  await shot('rejected');
  await app.getByRole('button', { name: 'Import again, skipping these rows' }).click();
  await expect(app.getByRole('heading', { name: 'Imported "visits"' })).toBeVisible();
  await expect(app.locator('.stats')).toContainText('19');
});

test('browse a dataset: summaries with charts, and the records page by page', async ({ app, workFile, shot }) => {
  await createVault(app);
  await importFile(app, workFile('people.csv', peopleCsv(60, [5])));
  await app.getByRole('button', { name: 'Open dataset' }).click();

  await expect(app.getByRole('heading', { name: 'people', level: 1 })).toBeVisible();
  await expect(app.getByText(/59 records · 5 columns · from people\.csv/)).toBeVisible();
  await expect(app.getByRole('img', { name: /Histogram of age/ })).toBeVisible();
  await expect(app.getByRole('img', { name: /Most common values of name/ })).toBeVisible();
  const table = app.locator('table.records');
  await expect(table.locator('tbody tr')).toHaveCount(25);
  await expect(app.getByText('Records 1–25 of 59')).toBeVisible();
  await expect(table.locator('tbody tr').first()).toContainText('Person 1');
  await shot('1-dataset');

  await app.getByRole('button', { name: 'Next →' }).click();
  await expect(app.getByText('Records 26–50 of 59')).toBeVisible();
  await app.getByRole('button', { name: 'Next →' }).click();
  await expect(app.getByText('Records 51–59 of 59')).toBeVisible();
  await expect(table.locator('tbody tr')).toHaveCount(9);
  await expect(app.getByRole('button', { name: 'Next →' })).toBeDisabled();
  await expect(table.locator('tbody tr').last()).toContainText('Person 60');

  await nav(app, 'Data').click();
  await expect(app.getByRole('list', { name: 'Datasets' }).getByRole('listitem')).toHaveCount(1);
  await expect(app.getByText('59 records · 5 columns')).toBeVisible();
  await shot('2-list');
});

test('delete a dataset after confirming; cancelling keeps it', async ({ app, workFile, shot }) => {
  await createVault(app);
  await importFile(app, workFile('keep.csv', peopleCsv(10)));
  await importFile(app, workFile('remove-me.csv', peopleCsv(12)));
  await nav(app, 'Data').click();
  await app.getByRole('button', { name: 'remove-me' }).click();

  await app.getByRole('button', { name: 'Delete dataset…' }).click();
  const dialog = app.getByRole('dialog', { name: 'Delete "remove-me"?' });
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('All 12 records and the key that encrypts them will be destroyed.');
  await shot('1-confirm');
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  await expect(app.getByRole('heading', { name: 'remove-me', level: 1 })).toBeVisible();

  await app.getByRole('button', { name: 'Delete dataset…' }).click();
  await app.getByRole('dialog').getByRole('button', { name: 'Delete dataset' }).click();
  await expect(app.getByRole('heading', { name: 'Your data' })).toBeVisible();
  await expect(app.getByText(/Deleted "remove-me"/)).toBeVisible();
  const list = app.getByRole('list', { name: 'Datasets' });
  await expect(list.getByRole('listitem')).toHaveCount(1);
  await expect(list).toContainText('keep');
  await shot('2-after-delete');
});

test('a large import shows its progress and can be cancelled, adding nothing', async ({ app, workFile }) => {
  await createVault(app);
  // Many short rows: quick to hand over, and the import runs for seconds after its first report.
  const lines = ['t,value,label'];
  for (let i = 0; i < 700_000; i++) lines.push(`${i},${i % 10},${i % 2}`);
  const file = workFile('sensor.csv', lines.join('\n') + '\n');
  await app.getByRole('button', { name: 'Import a file' }).click();
  await app.getByTestId('import-file').setInputFiles(file);
  await expect(app.getByRole('heading', { name: 'Columns' })).toBeVisible();
  // The import keeps the main side busy, so a click sent from the test would arrive late. The user
  // presses Cancel in the page, as soon as the progress bar first shows bytes read.
  await app.evaluate(() => {
    const seen: string[] = [];
    const observer = new MutationObserver(() => {
      const bar = document.querySelector('progress[aria-label*="read ·"]');
      const cancel = Array.from(document.querySelectorAll('button')).find((b) => b.textContent === 'Cancel import');
      if (bar && cancel) {
        seen.push(bar.getAttribute('aria-label') ?? '');
        observer.disconnect();
        cancel.click();
        document.body.dataset.progressSeen = seen[0];
      }
    });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  await app.getByRole('button', { name: 'Import 3 columns' }).click();

  await expect(app.getByText('Import cancelled. Nothing was added to the vault.')).toBeVisible({ timeout: 60_000 });
  await expect(app.locator('body')).toHaveAttribute('data-progress-seen', /MB of \d+(\.\d)? MB read · [\d,]+ rows/);
  await expect(app.getByRole('heading', { name: 'Columns' })).toBeVisible();
  await nav(app, 'Data').click();
  await expect(app.getByText('No datasets yet')).toBeVisible();
});
