// Getting paid, in the real renderer, against a whole network on this machine: a local chain with
// the real contracts, the researcher's real coordinator, three simulated contributors, the local
// WalletConnect relay, a test wallet and a relayer anyone could run. After a job's rounds the
// person links the wallet from the pairing URI on the page, claims every round they were included
// in while the relayer is down (the claims queue), the app is restarted mid-queue (it resumes),
// the relayer comes back (the claims land), the wallet first refuses the withdrawal (clear
// message, nothing lost), then accepts it: its token balance rises by exactly the shares due.
// Last, a backup made before the claims is restored: its rounds look unclaimed, and claiming them
// again shows them claimed with no gas spent and nothing sent to the relayer.
import { join } from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import { NonceManager, Wallet, parseEther } from 'ethers';
import { ANVIL_KEYS } from '../../contracts/anvil.js';
import { circuitArtifacts } from '../../contracts/artifacts.js';
import { formatTokenAmount } from '../../common/tokens.js';
import { sleepDiaryCsv } from '../../common/samples/sleep-diary.js';
import { startLocalNetwork, type LocalNetwork } from '../../main/cli/local-network.js';
import { SMALL_ROUNDS } from '../fixtures/small-rounds.js';
import { startHeadlessHost, type HeadlessHost } from '../../main/host/headless.js';
import type { AppSessionOptions, JobsConfig } from '../../main/services/session/session.js';
import { RewardsChain } from '../../main/services/rewards/chain.js';
import { RelayerService } from '../../relayer/server.js';
import { startLocalRelay } from '../../relay/server.js';
import { startTestWallet, type TestWallet } from '../../relay/wallet.js';
import { until } from '../helpers/until.js';
import { testWorkerLauncher } from '../helpers/worker.js';
import { FAST_KDF, PASSPHRASE, SCREENSHOTS, createVault, expect, importFile, looksAt, nav, test } from './fixtures.js';
import { freeLoopbackPort } from '../helpers/loopback.js';

const PROJECT = 'trove-e2e';
const TITLE = 'Sleep, steps and mood';
const ROUNDS = 2;
/** The relayer's fee per claim: 0.05 of the 18-decimal test dollar. */
const FEE = 5n * 10n ** 16n;
const FAST_PARTICIPATION: JobsConfig['participation'] = { backoffMs: () => 200, maxPollMs: 250, inboxWaitMs: 2_000 };

/** The app in a page of its own; page errors and CSP violations are collected as failures. */
async function openApp(context: BrowserContext, options: AppSessionOptions, errors: string[]): Promise<{ page: Page; host: HeadlessHost }> {
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  const host = await startHeadlessHost(page, options);
  await expect(page.locator('h1')).toBeVisible();
  return { page, host };
}

test('after a job’s rounds: link the wallet, claim through a relayer that is down, restart, land, withdraw exactly the shares due', async ({ context, dataDir, workFile }) => {
  test.setTimeout(420_000);
  const errors: string[] = [];
  const net: LocalNetwork = await startLocalNetwork({ dir: join(dataDir, 'net'), roundStartDelayMs: 500, jobDefaults: SMALL_ROUNDS });
  const relay = await startLocalRelay();
  const relayerPort = await freeLoopbackPort();
  const roundRewards = net.deployment.contracts.RoundRewards;
  const chainId = Number(net.deployment.chainId);
  const token = await net.token.getAddress();
  const startRelayer = async () => {
    const relayer = new RelayerService({
      signer: new NonceManager(new Wallet(ANVIL_KEYS[3], net.provider)),
      provider: net.provider,
      chainId: BigInt(chainId),
      roundRewards,
      fee: FEE,
      storeFile: join(dataDir, 'relayer.db'),
      port: relayerPort,
      batchMs: 500,
    });
    await relayer.start();
    return relayer;
  };
  let relayer: RelayerService | undefined = await startRelayer();
  const launcher = await testWorkerLauncher();
  const options: AppSessionOptions = {
    dataDir: join(dataDir, 'app'),
    vault: { kdf: FAST_KDF },
    jobs: {
      chain: net.jobsChain,
      launcher,
      participation: FAST_PARTICIPATION,
      allowLocalNetwork: true,
      rewards: {
        relayerUrl: `http://127.0.0.1:${relayerPort}/`,
        artifacts: circuitArtifacts(),
        // Short here; the app waits 30 s to 10 min so a claim's timing says nothing about who sent it.
        sendDelayMs: { min: 500, max: 1_500 },
        backoff: { baseMs: 500, maxMs: 2_000 },
        checkEveryMs: 250,
      },
    },
    wallet: { chain: { chainId, rpcUrl: net.chain.url, roundRewards }, defaults: { relayUrl: relay.url, projectId: PROJECT }, tokens: [token] },
  };
  const rewardsChain = new RewardsChain({ rpcUrl: net.chain.url, chainId: String(chainId), roundRewards });
  const walletKey = Wallet.createRandom().privateKey;
  const address = new Wallet(walletKey).address;
  await (await net.researcher.sendTransaction({ to: address, value: parseEther('1') })).wait();
  const balanceOf = async () => (await net.token.getFunction('balanceOf')(address)) as bigint;
  let wallet: TestWallet | undefined;
  let host: HeadlessHost | undefined;
  const shot = async (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `earnings--${name}.png`), fullPage: true });

  try {
    // Generous stage deadlines: on a busy computer a round must not end before this device's part is done.
    const { jobId } = await net.publish({
      rounds: ROUNDS,
      aggregation: { clipRange: 4, maxExamples: 366, serverLearningRate: 1, deadlines: { advertiseKeysMs: 60_000, shareKeysMs: 60_000, collectMaskedInputsMs: 120_000, unmaskMs: 60_000 } },
    });
    let app: Page;
    ({ page: app, host } = await openApp(context, options, errors));
    await createVault(app);
    await importFile(app, workFile('diary.csv', sleepDiaryCsv(1, 120)));

    // Join, and three more people join: the job has its minimum of four and runs its rounds.
    await nav(app, 'Jobs').click();
    await app.getByRole('button', { name: 'Check for new jobs' }).click();
    await app.getByRole('list', { name: 'Jobs open to join' }).getByRole('button', { name: TITLE }).click();
    await app.getByRole('button', { name: 'Join this job' }).click();
    // joining makes an enrollment proof in a worker that starts cold: slow on a busy computer
    await expect(app.getByRole('heading', { name: 'Your part in this job' })).toBeFocused({ timeout: 90_000 });
    const othersLauncher = await testWorkerLauncher();
    for (let i = 0; i < 3; i++) {
      const person = await net.addContributor(`p${i}`, sleepDiaryCsv(10 + i, 120), { launcher: othersLauncher, jobs: { participation: FAST_PARTICIPATION } });
      await person.join(jobId);
    }
    await expect(app.getByRole('img', { name: `${ROUNDS} of ${ROUNDS} rounds contributed` })).toBeVisible({ timeout: 180_000 });
    await expect(app.getByText('This job has finished.')).toBeVisible();

    // What each round owes the person, as the contract computed it when the coordinator closed it on-chain.
    const perMember: bigint[] = [];
    await until(
      async () => {
        const closed = await Promise.all(Array.from({ length: ROUNDS }, (_, r) => rewardsChain.round(jobId, r)));
        if (closed.some((c) => c === null)) return false;
        perMember.push(...closed.map((c) => c!.perMember));
        return true;
      },
      120_000,
      'the rounds closed on-chain',
      250,
    );
    const earned = perMember.reduce((a, b) => a + b, 0n);
    const due = earned - FEE * BigInt(ROUNDS);
    const { decimals, symbol } = await rewardsChain.token(token);
    const text = (units: bigint) => formatTokenAmount(units.toString(), decimals, symbol);
    // The finished card, in the list and on the job's page, says what the person earned: their share, not the rounds' whole rewards.
    await nav(app, 'Jobs').click();
    await expect(app.getByRole('list', { name: 'Jobs you joined' }).getByTestId('card-earned')).toHaveText(`You earned ${text(earned)} over ${ROUNDS} rounds, ready to claim`);
    await looksAt(app, 'jobs-earned', (name) => shot(app, name));
    await app.getByRole('list', { name: 'Jobs you joined' }).getByRole('button', { name: TITLE }).click();
    await expect(app.getByTestId('job-earned')).toContainText(`You earned ${text(earned)} over ${ROUNDS} rounds, ready to claim`);

    // Link the wallet by the pairing URI on the page.
    await nav(app, 'Wallet').click();
    await app.getByRole('button', { name: 'Show a QR code to link' }).click();
    await app.getByText('Cannot scan? Copy the link instead').click();
    const uri = (await app.getByTestId('pairing-uri').textContent())?.trim() ?? '';
    wallet = await startTestWallet({ relayUrl: relay.url, projectId: PROJECT, rpcUrl: net.chain.url, chainId, privateKey: walletKey });
    await wallet.pair(uri);
    await expect(app.getByTestId('linked-address')).toHaveText(address);

    // A backup made now, before any claim: restored at the end, it knows of no claim.
    const backup = await host.session.backup();
    expect(backup).not.toBeNull();

    // Earnings: each included round ready to claim, the relayer's fee shown before the person agrees.
    await nav(app, 'Earnings').click();
    const rows = app.locator('table.earnings tbody tr');
    await expect(rows).toHaveCount(ROUNDS);
    await expect(app.locator('tr[data-state="earned"]')).toHaveCount(ROUNDS);
    await expect(app.getByText(`it keeps ${text(FEE)} of each round’s share as its fee`)).toBeVisible();
    await expect(app.getByLabel(/Pay to this address/)).toHaveValue(address);

    // The relayer goes down: the claims are proved and queued all the same.
    await relayer.close();
    relayer = undefined;
    await app.getByRole('button', { name: 'Claim them' }).click();
    await expect(app.locator('tr[data-state="queued"]')).toHaveCount(ROUNDS, { timeout: 60_000 });
    await expect(app.getByText('The relayer cannot be reached').first()).toBeVisible({ timeout: 30_000 });

    // The app is restarted mid-queue: the queue comes back from the vault, and so does the wallet.
    await host.close();
    host = undefined;
    await app.close();
    ({ page: app, host } = await openApp(context, options, errors));
    await expect(app.getByRole('heading', { name: 'Unlock your vault' })).toBeVisible();
    await app.getByLabel('Passphrase').fill(PASSPHRASE);
    await app.getByRole('button', { name: 'Unlock' }).click();
    await nav(app, 'Earnings').click();
    await expect(app.locator('tr[data-state="queued"]')).toHaveCount(ROUNDS);

    // The relayer comes back: the claims land, each paid once, to the linked wallet.
    relayer = await startRelayer();
    await expect(app.locator('tr[data-state="claimed"]')).toHaveCount(ROUNDS, { timeout: 120_000 });
    expect(await rewardsChain.creditOf(address, token)).toBe(due);
    await expect(app.getByText(`${text(due)} ready to withdraw`)).toBeVisible();
    // ...and per round: each round's share after the fee, still credited.
    for (let r = 0; r < ROUNDS; r++) await expect(app.locator('table.earnings tbody tr').nth(r).locator('td').nth(4)).toHaveText(text(perMember[r]! - FEE));
    for (const scheme of ['light', 'dark'] as const) {
      await app.emulateMedia({ colorScheme: scheme });
      await app.setViewportSize({ width: 800, height: 900 });
      await shot(app, `claimed-${scheme}-800`);
    }

    // The wallet refuses the withdrawal: a clear message, and the credit is still there.
    const before = await balanceOf();
    wallet.answers.requests = 'reject';
    await app.getByRole('button', { name: 'Withdraw TUSD' }).click();
    const dialog = app.getByRole('dialog', { name: 'Withdraw to your wallet?' });
    await expect(dialog).toContainText(text(due));
    await expect(dialog).toContainText(address);
    expect(wallet.requests).toEqual([]);
    await dialog.getByRole('button', { name: 'Ask my wallet to send' }).click();
    await expect(app.getByText('Your wallet declined the transaction. Nothing was sent and your balance is unchanged.')).toBeVisible({ timeout: 60_000 });
    expect(await balanceOf()).toBe(before);
    expect(await rewardsChain.creditOf(address, token)).toBe(due);

    // Asked again, the wallet sends: its balance rises by exactly the shares due.
    wallet.answers.requests = 'approve';
    await app.getByRole('button', { name: 'Withdraw TUSD' }).click();
    await dialog.getByRole('button', { name: 'Ask my wallet to send' }).click();
    await expect(app.getByText(`Withdrew ${text(due)} to ${address}.`)).toBeVisible({ timeout: 60_000 });
    expect(await balanceOf()).toBe(before + due);
    expect(await rewardsChain.creditOf(address, token)).toBe(0n);
    for (let r = 0; r < ROUNDS; r++) await expect(app.locator('table.earnings tbody tr').nth(r).locator('td').nth(4)).toHaveText('Withdrawn');
    await looksAt(app, 'withdrawn', (name) => shot(app, name));

    // Activity names what went on-chain and to which address.
    await app.setViewportSize({ width: 1280, height: 860 });
    await nav(app, 'Activity').click();
    await expect(app.locator('.activity-entry[data-kind="claim.landed"]')).toHaveCount(ROUNDS);
    await expect(app.locator('.activity-entry[data-kind="claim.landed"]').first()).toContainText(address);
    await expect(app.locator('.activity-entry[data-kind="wallet.withdrawn"]')).toHaveCount(1);
    await expect(app.locator('.activity-entry[data-kind="wallet.withdrawn"]')).toContainText(address);

    // The backup from before the claims is restored: it knows of no claim, so both rounds look
    // ready to claim. Claimed again, each proof's nullifier is found used on-chain: the rounds show
    // as claimed, nothing goes to the relayer, no gas is spent and nothing more is credited.
    const relayerAddress = new Wallet(ANVIL_KEYS[3]).address;
    const gasBefore = [await net.provider.getTransactionCount(relayerAddress), await net.provider.getBalance(relayerAddress), await net.provider.getBalance(address)];
    const tokensBefore = await balanceOf();
    await nav(app, 'Settings').click();
    await app.getByRole('button', { name: 'Restore from a backup…' }).click();
    await app.getByTestId('restore-file').setInputFiles(join(host.session.backupsFolder, backup!.fileName));
    await app.getByLabel('Passphrase of the backed-up vault').fill(PASSPHRASE);
    await app.getByRole('button', { name: 'Restore vault' }).click();
    await expect(app.getByRole('heading', { name: 'Your data' })).toBeVisible();
    await nav(app, 'Earnings').click();
    await expect(app.locator('tr[data-state="earned"]')).toHaveCount(ROUNDS);
    await app.getByLabel(/Pay to this address/).fill(address);
    await app.getByRole('button', { name: 'Claim them' }).click();
    await expect(app.locator('tr[data-state="claimed"]')).toHaveCount(ROUNDS, { timeout: 60_000 });
    for (let r = 0; r < ROUNDS; r++) await expect(app.locator('table.earnings tbody tr').nth(r).locator('td').nth(4)).toHaveText('Withdrawn');
    expect([await net.provider.getTransactionCount(relayerAddress), await net.provider.getBalance(relayerAddress), await net.provider.getBalance(address)]).toEqual(gasBefore);
    expect(await balanceOf()).toBe(tokensBefore);
    expect(await rewardsChain.creditOf(address, token)).toBe(0n);
    await nav(app, 'Activity').click();
    await expect(app.locator('.activity-entry[data-kind="claim.already-claimed"]')).toHaveCount(ROUNDS);
    await expect(app.locator('.activity-entry[data-kind="claim.landed"]')).toHaveCount(0);
  } finally {
    await wallet?.close();
    await host?.close();
    await relayer?.close();
    rewardsChain.close();
    await relay.close();
    await net.close();
  }
  expect(errors, 'errors in the page').toEqual([]);
});
