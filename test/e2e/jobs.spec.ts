// The Jobs screens against a whole network on this machine: a local chain with the real
// contracts, the researcher's real coordinator over HTTP, and simulated contributors running the
// same jobs service and worker as the app. The app in the page discovers jobs on that chain,
// checks their documents, joins and takes part in real rounds.
import { createServer } from 'node:net';
import type { Page } from '@playwright/test';
import { SMALL_ROUNDS } from '../fixtures/small-rounds.js';
import { roundVectorLength } from '../../common/jobs/document.js';
import { sleepDiaryCsv } from '../../common/samples/sleep-diary.js';
import { testWorkerLauncher } from '../helpers/worker.js';
import { FAST_PARTICIPATION, testWithNetwork } from './network.js';
import { expect, createVault, importFile, nav } from './fixtures.js';
import type { SqliteStore } from '../../coordinator/store-sqlite.js';

const DAYS = 120;
const TITLE = 'Sleep, steps and mood';

const test = testWithNetwork('net', SMALL_ROUNDS);

/** Imports a diary; the import's report says so on its page, with no notice over the screen. */
async function importDiary(app: Page, path: string): Promise<void> {
  await importFile(app, path);
  await expect(app.getByRole('status').getByRole('button', { name: 'Dismiss' })).toHaveCount(0);
}

/** Opens the Jobs screen and reads the chain again, so jobs published after start-up show. */
async function openJobs(app: Page): Promise<void> {
  await nav(app, 'Jobs').click();
  await expect(app.getByRole('heading', { name: 'Jobs', level: 1 })).toBeVisible();
  await app.getByRole('button', { name: 'Check for new jobs' }).click();
  await expect(app.getByRole('button', { name: 'Check for new jobs' })).toBeEnabled();
}

test('discover a published job, consent, join and take part in real rounds; the activity log says what left this computer', async ({ app, net, workFile, shot }) => {
  test.setTimeout(100_000);
  const { jobId, document } = await net.publish({ rounds: 2 });
  await createVault(app);
  await importDiary(app, workFile('diary.csv', sleepDiaryCsv(1, DAYS)));
  await openJobs(app);

  const open = app.getByRole('list', { name: 'Jobs open to join' });
  await expect(open).toContainText(TITLE);
  await expect(app.locator('details.hidden-jobs')).toHaveCount(0);
  await shot('1-list');

  await open.getByRole('button', { name: TITLE }).click();
  await expect(app.getByRole('heading', { name: TITLE, level: 1 })).toBeVisible();
  await expect(app.getByText('Sleep & Mood Lab').first()).toBeVisible();
  await expect(app.getByRole('table')).toContainText('Hours slept the night before');
  // The diary's columns carry the job's names, so each is filled in already.
  for (const column of ['sleep_hours', 'steps', 'resting_hr', 'caffeine_cups', 'exercised', 'mood']) await expect(app.getByLabel(column, { exact: true })).toHaveValue(column);
  await expect(app.getByText(/By joining, you agree that Trove reads these 6 columns of "diary"/)).toBeVisible();
  await shot('2-consent');
  await app.getByRole('button', { name: 'Join this job' }).click();
  await expect(app.getByRole('heading', { name: 'Your part in this job' })).toBeFocused();
  // Alone in the job, the wait says who has joined and how many more a round needs.
  await expect(app.getByTestId('waiting-for-round')).toHaveText('1 person has joined so far; a round needs 4. It starts once 3 more join.', { timeout: 30_000 });
  await shot('2b-waiting');

  // Three more people join with their own vaults and diaries: the job has its minimum of four.
  const launcher = await testWorkerLauncher();
  for (let i = 0; i < 3; i++) {
    const person = await net.addContributor(`p${i}`, sleepDiaryCsv(10 + i, DAYS), { launcher, jobs: { participation: FAST_PARTICIPATION } });
    await person.join(jobId);
  }

  // The round moves through its steps on screen.
  await expect(app.getByRole('heading', { name: /^Round [12] of 2$/ })).toBeVisible({ timeout: 30_000 });
  await expect(app.getByRole('list', { name: 'Steps of this round' }).locator('[aria-current="step"]')).toBeVisible();
  await shot('3-round');
  await expect(app.getByRole('img', { name: '2 of 2 rounds contributed' })).toBeVisible({ timeout: 60_000 });
  await expect(app.getByText('This job has finished.')).toBeVisible();
  // Finished, not waiting for a round that will not come, and nothing left to leave.
  await expect(app.getByTestId('waiting-for-round')).toHaveCount(0);
  await expect(app.getByRole('button', { name: 'Leave this job…' })).toHaveCount(0);
  await shot('4-finished');
  // Its privacy cost now counts as spent by this job, not as over the budget.
  await expect(app.getByRole('img', { name: /^Spent before: 0\. This job: [\d.]+\. Left after: [\d.]+ of 10$/ })).toBeVisible();
  await expect(app.getByText('Over your budget.')).toHaveCount(0);
  // The person's part ends with the unmasking; the last close on-chain follows it.
  await expect.poll(async () => (await net.store.rounds(jobId)).map((r) => r.stage), { timeout: 30_000 }).toEqual(['closed', 'closed']);

  await nav(app, 'Activity').click();
  const numbers = roundVectorLength(document);
  const uploads = app.locator('.activity-entry[data-kind="job.upload"]');
  await expect(uploads).toHaveCount(2);
  await expect(app.locator('.activity-entry[data-kind="job.round-done"]')).toHaveCount(2);
  await expect(uploads.first()).toContainText(new RegExp(`a masked list of ${numbers} numbers .* to the job's coordinator .*; no rows`));
  const detail = (entry: string, term: string) => app.locator(`.activity-entry[data-kind="${entry}"] dt:text-is("${term}") + dd`).first();
  await expect(detail('job.upload', 'Left this computer')).toContainText(`a masked list of ${numbers} numbers`);
  // Where it went is a technical fact: behind Details, in words first.
  await expect(detail('job.upload', 'Sent to')).toBeHidden();
  await uploads.first().getByText('Details', { exact: true }).click();
  await expect(detail('job.upload', 'Sent to')).toContainText(new URL(net.server.url).origin);
  await expect(detail('job.trained', 'Rows used on this computer')).toHaveText(/^\d+$/);
  const consent = app.locator('.activity-entry[data-kind="job.consent"]');
  await expect(consent).toHaveCount(1);
  await expect(consent).toContainText(`Joined "${TITLE}"`);
  await expect(detail('job.consent', 'Columns read')).toHaveText('sleep_hours, steps, resting_hr, caffeine_cups, exercised, mood');
  await shot('5-activity');
});

test('a job that would spend more privacy than the budget allows says so and cannot be joined', async ({ app, net, workFile, shot, looks, page }) => {
  // Four looks, each scanned for accessibility problems, on a shared machine.
  test.setTimeout(300_000);
  await net.publish({ privacy: { noiseMultiplier: 0.3, delta: 1e-5 } });
  await createVault(app);
  await importDiary(app, workFile('diary.csv', sleepDiaryCsv(4, 30)));
  await openJobs(app);
  // Its card says why it cannot be joined, under its own heading, not "Open to join".
  await expect(app.getByRole('list', { name: 'Jobs open to join' })).toHaveCount(0);
  const closed = app.getByRole('list', { name: 'Jobs you cannot join' });
  await expect(closed).toContainText('Not for you: over your privacy budget');
  await expect(closed).not.toContainText('Open to join');
  await looks('card');
  await closed.getByRole('button', { name: TITLE }).click();
  await expect(app.getByText('Over your budget.')).toBeVisible();
  // The join form is replaced by the reason and what to do.
  await expect(app.getByRole('heading', { name: 'You cannot join this job' })).toBeVisible();
  await expect(app.getByTestId('cannot-join')).toContainText('look for a job with a lower privacy cost');
  await expect(app.getByRole('button', { name: 'Join this job' })).toHaveCount(0);
  await expect(app.getByLabel('Dataset to use')).toHaveCount(0);
  // Technical facts are behind Details, and there when opened.
  const details = app.getByTestId('job-details');
  await expect(details.getByText('Job number')).toBeHidden();
  await details.locator('summary').click();
  await expect(details.getByText('Job number')).toBeVisible();
  await expect(details).toContainText(/epsilon [\d.]+, delta 0\.00001, noise multiplier 0\.3/);
  await looks('page');
  // 200% zoom of the default window: nothing spills sideways.
  await page.setViewportSize({ width: 640, height: 900 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
  await shot('narrow');
});

test('the join form suggests no dataset without the job\'s column names, shows the note and the values beside each column, and refuses a column that is something else', async ({ app, net, workFile, shot, page }) => {
  test.setTimeout(100_000);
  await net.publish();
  await createVault(app);
  const weather = ['date,temp_max,sun_hours,sky', ...Array.from({ length: 40 }, (_, d) => `2026-03-${String((d % 28) + 1).padStart(2, '0')},${(18 + (d % 9)).toFixed(1)},${5 + (d % 4)},${['sun', 'rain', 'cloud'][d % 3]}`)].join('\n');
  await importDiary(app, workFile('weather.csv', weather + '\n'));
  await openJobs(app);
  await app.getByRole('list', { name: 'Jobs open to join' }).getByRole('button', { name: TITLE }).click();
  const dataset = app.getByLabel('Dataset to use');
  await expect(dataset).toHaveValue('');
  await expect(dataset.locator('option:checked')).toHaveText(/none has the job’s column names/);
  await dataset.selectOption({ label: 'weather (40 records)' });
  const sleep = app.getByLabel('sleep_hours', { exact: true });
  await expect(app.locator('#map-sleep_hours-hint')).toHaveText('Hours slept the night before: needs a number column, around 7');
  await sleep.selectOption('temp_max');
  await expect(app.locator('#map-sleep_hours-values')).toHaveText('Your values: 18 to 26, average 21.75');
  await expect(app.locator('#map-sleep_hours-problem')).toHaveText(/^The job expects "sleep_hours" to be around 7; "temp_max" averages 21\.\d, so it does not look like the same thing\.$/);
  await expect(sleep).toHaveAttribute('aria-invalid', 'true');
  await expect(app.getByText('A column you chose does not look like what the job reads')).toBeVisible();
  await expect(app.getByRole('button', { name: 'Join this job' })).toBeDisabled();
  await shot('join-refused');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('join-refused-dark');
  // an 800 px window, and 200% zoom of the default one: nothing spills sideways
  for (const width of [800, 640]) {
    await page.setViewportSize({ width, height: 900 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
    await shot(`join-refused-${width}`);
  }
  // positive control: a column whose values fit (hours of sunshine, 5 to 8) clears the problem for that row
  await sleep.selectOption('sun_hours');
  await expect(app.locator('#map-sleep_hours-problem')).toHaveCount(0);
});

test('a job whose document does not match its on-chain fingerprint is only named in the notice, with the reason', async ({ app, net, shot }) => {
  await net.publish();
  const tampered = await net.publish({ title: 'Sleep, steps and mood (second study)' });
  // The coordinator now serves a different document at the address registered on the chain.
  const row = (await net.store.job(tampered.jobId))!;
  const signed = JSON.parse(row.signedJson) as { document: { purpose: string } };
  signed.document.purpose = 'We sell what we learn to advertisers.';
  (net.store as SqliteStore).db.prepare('UPDATE jobs SET signed_json = ? WHERE job_id = ?').run(JSON.stringify(signed), tampered.jobId);

  await createVault(app);
  await openJobs(app);
  const open = app.getByRole('list', { name: 'Jobs open to join' });
  await expect(open).toContainText(TITLE);
  await expect(open.getByRole('listitem')).toHaveCount(1);
  const hidden = app.locator('details.hidden-jobs');
  await expect(hidden).toContainText('1 job was not shown because its details did not match what was published');
  await hidden.locator('summary').click();
  await expect(hidden).toContainText(`The job document does not match the hash registered on-chain`);
  await expect(hidden).toContainText(`(job number ${tampered.jobId} on the blockchain)`);
  await expect(app.getByText('second study')).toHaveCount(0);
  await shot('notice');
});

test('the card reveals hidden characters, warns about a look-alike name, and says what the job takes on this computer', async ({ app, net, workFile, shot }) => {
  const title = 'Sleep study \u202Egnp.exe\u202C';
  await net.publish({ title, purpose: 'We study sleep.\u200B Only a masked update leaves.', researcher: { name: 'Sleep & Mood L\u0430b' } } as never);
  await createVault(app);
  await importDiary(app, workFile('diary.csv', sleepDiaryCsv(5, 30)));
  await openJobs(app);
  await app.getByRole('list', { name: 'Jobs open to join' }).getByRole('button', { name: 'Sleep study [U+202E]gnp.exe[U+202C]' }).click();
  const warnings = app.getByTestId('job-warnings');
  await expect(warnings).toContainText('Check before you join');
  await expect(warnings).toContainText('invisible or direction-changing characters');
  await expect(warnings).toContainText('The researcher’s name mixes letters of different alphabets (Latin, Cyrillic)');
  await expect(app.locator('.purpose')).toHaveText('We study sleep.[U+200B] Only a masked update leaves.');
  await expect(app.getByTestId('job-resources')).toContainText(/A model of 32 numbers\. Training uses up to [\d.]+ MB of memory and takes under a second a round on this computer; each round sends 132 B\./);
  await expect(app.getByTestId('worst-case-privacy')).toContainText('If everyone else in the smallest group of 4 were the researcher’s own accounts');
  // Nothing on the page carries the override itself.
  expect(await app.locator('body').innerText()).not.toContain('\u202E');
  await shot('hostile-card');
});

/** A local port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test.describe('without a reachable chain', () => {
  let rpcUrl = '';
  test.beforeAll(async () => {
    rpcUrl = `http://127.0.0.1:${await deadPort()}`;
  });
  // The headless host cannot read this computer's power state; it reports idle time only.
  test.use({
    // eslint-disable-next-line no-empty-pattern -- Playwright fixtures take their dependencies as a destructured object
    jobs: async ({}, use) => {
      await use({ chain: { rpcUrl, chainId: '31337', registry: '0x' + '11'.repeat(20) }, platform: { onBattery: () => null, idleSeconds: () => 0 } });
    },
  });

  test('the Jobs screen says the chain cannot be reached, with its address behind Details, and Retry reads it again', async ({ app, host, shot, looks, page }) => {
    // Four looks, each scanned for accessibility problems, on a shared machine.
    test.setTimeout(180_000);
    let refreshes = 0;
    const handle = host.router.handle.bind(host.router);
    host.router.handle = (channel, payload) => {
      if (channel === 'jobs.refresh') refreshes++;
      return handle(channel, payload);
    };
    await createVault(app);
    await nav(app, 'Jobs').click();
    const alert = app.getByRole('alert');
    await expect(alert).toContainText('Trove cannot reach the job network');
    // The address is a technical fact: behind Details.
    await expect(alert.locator('details code.path')).toBeHidden();
    await alert.getByText('Details', { exact: true }).click();
    await expect(alert.locator('details code.path')).toHaveText(rpcUrl);
    await looks('1-unreachable');
    await page.setViewportSize({ width: 640, height: 900 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await shot('2-unreachable-narrow-dark');
    await alert.getByRole('button', { name: 'Retry' }).click();
    await expect.poll(() => refreshes).toBe(1);
    await expect(alert.getByRole('button', { name: 'Retry' })).toBeEnabled();
    await expect(alert).toContainText(rpcUrl);
    await expect(app.getByRole('list', { name: 'Jobs open to join' })).toHaveCount(0);
  });

  test('when Trove may work on jobs: choices the computer cannot report are explained and unavailable', async ({ app }) => {
    await createVault(app);
    await nav(app, 'Jobs').click();
    const group = app.getByRole('group', { name: 'Work on jobs' });
    await expect(group.getByLabel(/Only when this computer is plugged in/)).toBeDisabled();
    await expect(app.getByText(/does not tell Trove whether it is plugged in/)).toBeVisible();
    await group.getByLabel('Only when I am not using this computer').check();
    await expect(group.getByLabel('Only when I am not using this computer')).toBeChecked();
    // The choice is kept in the vault: it is still there when the screen is read again.
    await nav(app, 'Data').click();
    await nav(app, 'Jobs').click();
    await expect(app.getByRole('group', { name: 'Work on jobs' }).getByLabel('Only when I am not using this computer')).toBeChecked();
  });
});
