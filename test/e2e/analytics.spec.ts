// Analytics jobs in the real renderer, against a whole network on this machine (local chain with
// the real contracts, the real coordinator over HTTP, simulated contributors running the same
// jobs service and worker as the app): the consent card of a job that runs a researcher's
// program, the "show me each result before it is sent" review, the result sent in a real round,
// and Activity saying what left; and an unknown program's warning and approval.
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import type { LocalNetwork } from '../../main/cli/local-network.js';
import { completeJobDocument, publishJobDocument } from '../../coordinator/jobs.js';
import { sleepDiaryCsv } from '../../common/samples/sleep-diary.js';
import { testWorkerLauncher } from '../helpers/worker.js';
import { assemble, sha256, sleepMeanWat } from '../fixtures/analytics-modules.js';
import { FAST_PARTICIPATION, testWithNetwork } from './network.js';
import { expect, createVault, importFile, nav } from './fixtures.js';

const TITLE = 'Average sleep (researcher\'s program)';

const test = testWithNetwork('analytics');

/** The repository's example module job (coordinator/jobs/sleep-mean-module.json) for `module`, published with it. */
async function publishModuleJob(net: LocalNetwork, module: Uint8Array, title = TITLE): Promise<string> {
  const example = JSON.parse(readFileSync('coordinator/jobs/sleep-mean-module.json', 'utf8')) as { analytics: { computation: Record<string, unknown> }; reward: Record<string, unknown> };
  const document = completeJobDocument(
    {
      ...example,
      title,
      rounds: 1,
      analytics: { ...example.analytics, computation: { ...example.analytics.computation, sha256: sha256(module) } },
      reward: { ...example.reward, token: await net.token.getAddress(), symbol: 'TUSD' },
      // The person reads the result before it goes: the masked-input stage waits long enough for that.
      aggregation: { deadlines: { advertiseKeysMs: 30_000, shareKeysMs: 30_000, collectMaskedInputsMs: 180_000, unmaskMs: 30_000 } },
    },
    {
      researcher: await net.researcher.getAddress(),
      coordinatorAddress: await net.coordinatorAccount.getAddress(),
      coordinatorUrl: net.server.url,
      deployment: net.deployment,
      nowMs: Date.now(),
    },
  );
  return (await publishJobDocument({ runner: net.runner, researcher: net.researcher, deployment: net.deployment, document, module })).jobId;
}

async function openJob(app: Page, title: string): Promise<void> {
  await nav(app, 'Jobs').click();
  await app.getByRole('button', { name: 'Check for new jobs' }).click();
  await expect(app.getByRole('button', { name: 'Check for new jobs' })).toBeEnabled();
  await app.getByRole('list', { name: 'Jobs open to join' }).getByRole('button', { name: title }).click();
  await expect(app.getByRole('heading', { name: title, level: 1 })).toBeVisible();
}

test('an analytics job: its consent card, each result shown before it is sent, the result sent, and Activity says what left', async ({ app, net, workFile, shot, looks }) => {
  test.setTimeout(240_000);
  const jobId = await publishModuleJob(net, await assemble(sleepMeanWat()));
  await createVault(app);
  await importFile(app, workFile('diary.csv', sleepDiaryCsv(21, 40)));

  await nav(app, 'Settings').click();
  // The box follows the vault's setting: it shows checked once the setting is saved.
  await app.getByLabel('Show me each result before it is sent').click();
  await expect(app.getByLabel('Show me each result before it is sent')).toBeChecked();
  await expect(app.getByRole('list', { name: 'Programs Trove may run' })).toContainText('checked by Trove maintainers');

  await openJob(app, TITLE);
  const question = app.getByTestId('analytics-question');
  await expect(question).toContainText('Adds up your hours of sleep (each night counted as 0 to 24 hours) and counts the nights with a value.');
  await expect(question).toContainText('a list of 2 numbers');
  await expect(question.getByRole('table')).toContainText('output 1');
  await expect(question.getByRole('table')).toContainText('0 to 8,784');
  await expect(app.getByTestId('program-trust')).toContainText("On Trove's list of checked programs, read and approved by Trove maintainers.");
  await expect(app.getByText(/By joining, you agree that Trove reads this column of "diary"/)).toBeVisible();
  await shot('1-consent');
  await app.getByRole('button', { name: 'Join this job' }).click();
  // Joining proves the enrollment in the worker: slow on a busy computer.
  await expect(app.getByRole('heading', { name: 'Your part in this job' })).toBeFocused({ timeout: 60_000 });

  // Three more people take part, with their own vaults and workers; they send without reviewing.
  const launcher = await testWorkerLauncher();
  for (let i = 0; i < 3; i++) {
    const person = await net.addContributor(`p${i}`, sleepDiaryCsv(30 + i, 40), { launcher, jobs: { participation: FAST_PARTICIPATION } });
    await person.join(jobId);
  }

  // The result waits for this person: the exact numbers, each with what it counts.
  const review = app.getByTestId('review-result');
  await expect(review).toBeVisible({ timeout: 90_000 });
  await expect(review.getByRole('heading', { name: 'Send this result?' })).toBeVisible();
  await expect(review.getByRole('row', { name: /^output 2 \d+$/ })).toBeVisible();
  await expect(review).toContainText('Before it leaves, random noise');
  await looks('2-review');
  await review.getByRole('button', { name: 'Send this result' }).click();
  await expect(review).toHaveCount(0);

  await expect(app.getByRole('img', { name: '1 of 1 rounds contributed' })).toBeVisible({ timeout: 90_000 });
  // The person's part ends with the unmasking; the close on-chain follows it.
  await expect.poll(async () => (await net.store.rounds(jobId)).map((r) => r.stage), { timeout: 30_000 }).toEqual(['closed']);

  await nav(app, 'Activity').click();
  const upload = app.locator('.activity-entry[data-kind="job.upload"]');
  await expect(upload).toHaveCount(1);
  await expect(upload).toContainText(/a masked list of 2 numbers .* to the job's coordinator .*; no rows/);
  await expect(app.locator('.activity-entry[data-kind="job.computed"]')).toContainText('Computed "Average sleep');
  await expect(app.locator('.activity-entry[data-kind="job.result-declined"]')).toHaveCount(0);
  await expect(app.locator('.activity-entry[data-kind="job.consent"]')).toContainText('It computes: A researcher\'s program');
  await shot('3-activity');
});

test('a program no one checked is shown with a warning and cannot be joined until the person approves it', async ({ app, net, workFile, shot, looks }) => {
  // Two looks, each scanned for accessibility problems, on a shared machine.
  test.setTimeout(300_000);
  const unknown = await assemble(sleepMeanWat().replace(/\)\s*$/, ' (func $unused))'));
  await publishModuleJob(net, unknown, 'Average sleep (new program)');
  await createVault(app);
  await importFile(app, workFile('diary.csv', sleepDiaryCsv(22, 30)));
  await openJob(app, 'Average sleep (new program)');

  const program = app.getByTestId('program-trust');
  await expect(program.getByRole('heading', { name: 'An unknown program' })).toBeVisible();
  await expect(program).toContainText('Run it only if you trust Sleep & Mood Lab.');
  await expect(app.getByRole('button', { name: 'Join this job' })).toBeDisabled();
  await expect(app.getByText('Approve the researcher’s program above to join')).toBeVisible();
  await looks('1-unknown');

  await program.getByRole('button', { name: 'Approve this program…' }).click();
  await app.getByRole('dialog', { name: 'Approve this program?' }).getByRole('button', { name: 'Approve program' }).click();
  await expect(program).toContainText('You approved this program yourself.');
  await expect(app.getByRole('button', { name: 'Join this job' })).toBeEnabled();
  await shot('2-approved');

  await nav(app, 'Settings').click();
  const list = app.getByRole('list', { name: 'Programs Trove may run' });
  await expect(list.getByRole('listitem').filter({ hasText: sha256(unknown) })).toContainText('approved by you');
  await looks('3-settings');
  await nav(app, 'Activity').click();
  await expect(app.locator('.activity-entry[data-kind="job.program-approved"]')).toContainText('You approved the researcher\'s program of "Average sleep (new program)"');
});
