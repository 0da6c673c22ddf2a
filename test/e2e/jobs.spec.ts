// The Jobs screens in the real renderer and headless host. The jobs service is not wired to the
// router yet, so these tests answer the jobs.* channels from a stand-in that goes through the
// same contract checks (a card that does not fit the contract fails the test). The end-to-end
// run against a local chain and a real coordinator replaces the stand-in once the service lands.
import type { Page } from '@playwright/test';
import { createRouter, type Handlers } from '../../main/ipc/router.js';
import { sessionHandlers } from '../../main/ipc/handlers.js';
import type { HeadlessHost } from '../../main/host/headless.js';
import type { Vault } from '../../main/services/vault/vault.js';
import type { EventOf, JobCardValue, JobsViewValue, RequestOf } from '../../common/ipc/contract.js';
import { sleepDiaryCsv } from '../../common/samples/sleep-diary.js';
import { test, expect, createVault, importFile, nav } from './fixtures.js';

const DAY = 86_400_000;

function card(over: Partial<JobCardValue> = {}): JobCardValue {
  return {
    jobId: '7',
    specHash: '0x' + 'ab'.repeat(32),
    title: 'How sleep and activity shape mood',
    purpose: 'We want to learn how sleep, steps, caffeine and exercise relate to how people feel the next day, to improve advice for people with poor sleep.',
    researcher: { name: 'Sleep Lab, University of Example', address: '0x' + '1a'.repeat(20) },
    coordinator: { url: 'https://coordinator.sleeplab.example', address: '0x' + '2b'.repeat(20) },
    columns: [
      { name: 'sleep_hours', note: 'How long you slept', role: 'feature', kind: 'numeric' },
      { name: 'Steps', note: 'How active the day was', role: 'feature', kind: 'numeric' },
      { name: 'caffeine', note: 'Cups of coffee or tea', role: 'feature', kind: 'numeric' },
      { name: 'exercised', note: 'Whether you exercised', role: 'feature', kind: 'categorical' },
      { name: 'mood', note: 'How you felt: what the model learns to predict', role: 'label', kind: 'class' },
    ],
    vectorLength: 1234,
    rounds: 10,
    minContributors: 5,
    privacy: { epsilon: 1.5, delta: 1e-5, noiseMultiplier: 1.1, budget: { epsilon: 10, delta: 1e-5 }, spentEpsilon: 2, afterEpsilon: 3.5, fits: true },
    reward: { token: '0x' + '3c'.repeat(20), symbol: 'TROVE', decimals: 18, perRound: '2500000000000000000', bond: '0' },
    deadline: Date.now() + 30 * DAY,
    participation: { state: 'available', mapping: null, roundsContributed: 0, round: null, problem: null },
    ...over,
  };
}

function jobsView(over: Partial<JobsViewValue> = {}): JobsViewValue {
  return {
    jobs: [card()],
    hidden: [],
    chain: { rpcUrl: 'http://127.0.0.1:8545', reachable: true, problem: null },
    runPolicy: 'always',
    platformReports: { power: true, idle: true },
    ...over,
  };
}

/** Answers jobs.* from `jobs`, checked against the contract like every other channel. */
function standIn(host: HeadlessHost, jobs: Partial<Handlers>): void {
  const real = host.router.handle.bind(host.router);
  const stand = createRouter({ ...sessionHandlers(host.session), ...jobs });
  host.router.handle = (channel, payload) => (typeof channel === 'string' && channel.startsWith('jobs.') ? stand.handle(channel, payload) : real(channel, payload));
}

async function emit(page: Page, payload: EventOf<'jobs.changed'>): Promise<void> {
  await page.evaluate((p) => (globalThis as unknown as { __troveHostEvent: (e: string, p: unknown) => void }).__troveHostEvent('jobs.changed', p), payload);
}

test('the chain cannot be reached: the Jobs screen says so with its address, and Retry reads it again', async ({ app, host, shot, page }) => {
  let refreshed = 0;
  standIn(host, {
    'jobs.list': () => jobsView({ jobs: [], chain: { rpcUrl: 'http://127.0.0.1:8545', reachable: false, problem: 'connection refused' } }),
    'jobs.refresh': () => {
      refreshed++;
      return jobsView();
    },
  });
  await createVault(app);
  await nav(app, 'Jobs').click();
  await expect(app.getByRole('heading', { name: 'Jobs', level: 1 })).toBeVisible();
  const alert = app.getByRole('alert');
  await expect(alert).toContainText('Trove cannot reach the job network');
  await expect(alert).toContainText('http://127.0.0.1:8545');
  await expect(alert).toContainText('connection refused');
  await shot('1-unreachable');
  await page.setViewportSize({ width: 640, height: 900 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('2-unreachable-narrow-dark');

  await alert.getByRole('button', { name: 'Retry' }).click();
  await expect(app.getByRole('alert')).toHaveCount(0);
  expect(refreshed).toBe(1);
  await expect(app.getByRole('list', { name: 'Jobs open to join' })).toContainText('How sleep and activity shape mood');
});

test('consent card, join with a pre-filled mapping, then follow the rounds live and leave', async ({ app, host, workFile, shot, page }) => {
  let joined: RequestOf<'jobs.optIn'> | null = null;
  let current = card();
  standIn(host, {
    'jobs.list': () => jobsView({ jobs: [current], hidden: [{ jobId: '9', reason: 'The document does not match the fingerprint registered on the chain.' }] }),
    'jobs.optIn': (r) => {
      joined = r;
      current = card({ participation: { state: 'joined', mapping: { datasetId: r.datasetId, columns: r.columns }, roundsContributed: 0, round: null, problem: null } });
      return current;
    },
    'jobs.optOut': () => (current = card({ participation: { ...current.participation, state: 'left', round: null } })),
  });
  await createVault(app);
  await importFile(app, workFile('diary.csv', sleepDiaryCsv(3, 40)));
  await nav(app, 'Jobs').click();

  const hidden = app.locator('details.hidden-jobs');
  await expect(hidden).toContainText('1 job was not shown because its details did not match what was published');
  await hidden.locator('summary').click();
  await expect(hidden).toContainText('does not match the fingerprint');
  await shot('1-list');

  await app.getByRole('button', { name: 'How sleep and activity shape mood' }).click();
  await expect(app.getByRole('heading', { name: 'How sleep and activity shape mood', level: 1 })).toBeVisible();
  await expect(app.getByText('Sleep Lab, University of Example').first()).toBeVisible();
  const reads = app.getByRole('table');
  await expect(reads).toContainText('How long you slept');
  await expect(app.getByText(/Your records never leave this computer\..*1,234 numbers.*at least 4 other people/)).toBeVisible();
  await expect(app.getByRole('img', { name: /Spent before: 2\. This job: 1\.5\. Left after: 6\.5 of 10/ })).toBeVisible();
  await expect(app.getByText('2.5 TROVE', { exact: false }).first()).toBeVisible();
  await expect(app.getByText(/up to 0\.5 TROVE each/)).toBeVisible();

  // Names that match (in any letter case) are filled in; the rest wait for the person.
  await expect(app.getByLabel('sleep_hours')).toHaveValue('sleep_hours');
  await expect(app.getByLabel('Steps')).toHaveValue('steps');
  await expect(app.getByLabel('caffeine', { exact: true })).toHaveValue('');
  await expect(app.getByLabel('exercised')).toHaveValue('exercised');
  await expect(app.getByLabel('mood')).toHaveValue('mood');
  // Only number columns are offered for a numeric column.
  await expect(app.getByLabel('caffeine', { exact: true }).locator('option')).not.toContainText(['notes (text)']);
  const joinButton = app.getByRole('button', { name: 'Join this job' });
  await expect(joinButton).toBeDisabled();
  await app.getByLabel('caffeine', { exact: true }).selectOption('caffeine_cups');
  await expect(app.getByText(/By joining, you agree that Trove reads these 5 columns of "diary"/)).toBeVisible();
  await shot('2-consent');
  await joinButton.click();

  await expect(app.getByRole('heading', { name: 'Your part in this job' })).toBeFocused();
  expect(joined).toMatchObject({ jobId: '7', columns: { sleep_hours: 'sleep_hours', Steps: 'steps', caffeine: 'caffeine_cups', exercised: 'exercised', mood: 'mood' } });

  // A round moves on: the screen follows the main side's events.
  current = card({ participation: { ...current.participation, state: 'working', roundsContributed: 2, round: { round: 2, step: 'training', progress: 0.4, detail: '31 of 40 days used' }, problem: null } });
  await emit(page, { job: current });
  await expect(app.getByRole('heading', { name: 'Round 3 of 10' })).toBeVisible();
  await expect(app.getByRole('list', { name: 'Steps of this round' }).locator('[aria-current="step"]')).toHaveText('Learning from your data');
  await expect(app.getByRole('progressbar')).toHaveAttribute('value', '0.4');
  await expect(app.getByRole('img', { name: '2 of 10 rounds contributed' })).toBeVisible();
  await shot('3-working');
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('4-working-dark');
  await page.emulateMedia({ colorScheme: 'light' });
  await nav(app, 'Jobs').click();
  await expect(app.getByRole('list', { name: 'Jobs you joined' })).toContainText('Round 3 of 10: learning from your data');
  await shot('5-list-joined');
  await app.getByRole('button', { name: 'How sleep and activity shape mood' }).click();

  current = card({ participation: { ...current.participation, state: 'paused', round: null, problem: { code: 'COORDINATOR_UNREACHABLE', message: 'The coordinator did not answer. Trove will try again in a few minutes; keep Trove open.' } } });
  await emit(page, { job: current });
  await expect(app.getByRole('alert')).toContainText('The coordinator did not answer.');

  await app.getByRole('button', { name: 'Leave this job…' }).click();
  const dialog = app.getByRole('dialog', { name: 'Leave "How sleep and activity shape mood"?' });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Leave job' }).click();
  await expect(app.getByRole('heading', { name: 'Your part in this job' })).toHaveCount(0);
  await expect(app.getByRole('heading', { name: 'Join this job' })).toBeFocused();
  await expect(app.getByRole('button', { name: 'Join this job' })).toBeVisible();
});

test('a job over the privacy budget cannot be joined and says why', async ({ app, host, workFile, shot, page }) => {
  standIn(host, {
    'jobs.list': () =>
      jobsView({ jobs: [card({ privacy: { epsilon: 4, delta: 1e-5, noiseMultiplier: 0.8, budget: { epsilon: 10, delta: 1e-5 }, spentEpsilon: 8, afterEpsilon: 12, fits: false } })] }),
  });
  await createVault(app);
  await importFile(app, workFile('diary.csv', sleepDiaryCsv(4, 20)));
  await nav(app, 'Jobs').click();
  await app.getByRole('button', { name: 'How sleep and activity shape mood' }).click();
  await expect(app.getByText('Over your budget.')).toBeVisible();
  await expect(app.getByRole('button', { name: 'Join this job' })).toBeDisabled();
  // 200% zoom of the default window: nothing spills sideways.
  await page.setViewportSize({ width: 640, height: 900 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBeLessThanOrEqual(0);
  await shot('narrow');
});

test('when Trove may work on jobs: choices the computer cannot report are explained and unavailable', async ({ app, host }) => {
  let policy: JobsViewValue['runPolicy'] = 'always';
  standIn(host, {
    'jobs.list': () => jobsView({ runPolicy: policy, platformReports: { power: false, idle: true } }),
    'jobs.setRunPolicy': (r) => {
      policy = r.policy;
      return jobsView({ runPolicy: policy, platformReports: { power: false, idle: true } });
    },
  });
  await createVault(app);
  await nav(app, 'Jobs').click();
  const group = app.getByRole('group', { name: 'Work on jobs' });
  await expect(group.getByLabel(/Only when this computer is plugged in/)).toBeDisabled();
  await expect(app.getByText(/does not tell Trove whether it is plugged in/)).toBeVisible();
  await group.getByLabel('Only when I am not using this computer').check();
  await expect(group.getByLabel('Only when I am not using this computer')).toBeChecked();
  expect(policy).toBe('when-idle');
});

test('job entries in the activity log say what was agreed and what left this computer', async ({ app, host, shot, page }) => {
  await createVault(app);
  // Written the way the jobs service records them: a consent, a round step, an upload.
  const vault = (host.session as unknown as { requireVault(): Vault }).requireVault();
  await vault.recordActivity('job.joined', 'Joined "How sleep and activity shape mood"', {
    jobId: '7',
    columns: { sleep_hours: 'sleep_hours', caffeine: 'caffeine_cups' },
    epsilon: 1.5,
    datasetId: 'ab'.repeat(16),
  });
  await vault.recordActivity('job.round', 'Round 1 of "How sleep and activity shape mood": learned from 38 records', { jobId: '7', round: 0, step: 'training' });
  await vault.recordActivity('job.uploaded', 'Sent a masked result for round 1 of "How sleep and activity shape mood"', {
    jobId: '7',
    round: 0,
    vectorLength: 1234,
    bytes: 4936,
    coordinator: { url: 'https://coordinator.sleeplab.example', address: '0x' + '2b'.repeat(20) },
  });
  await nav(app, 'Activity').click();
  // Each detail is a term and its description.
  const detail = (entry: string, term: string) => app.locator(`.activity-entry[data-kind="${entry}"] dt:text-is("${term}") + dd`);
  await expect(detail('job.uploaded', 'Left this computer')).toHaveText('a masked list of 1,234 numbers (4.8 KB), sent to https://coordinator.sleeplab.example');
  await expect(detail('job.uploaded', 'Round')).toHaveText('1');
  await expect(detail('job.joined', 'Columns read')).toHaveText('sleep_hours, caffeine (your caffeine_cups)');
  await expect(detail('job.round', 'Step')).toHaveText('Learning from your data');
  await shot('1-activity');
  await page.setViewportSize({ width: 640, height: 900 });
  await page.emulateMedia({ colorScheme: 'dark' });
  await shot('2-activity-narrow-dark');
});
