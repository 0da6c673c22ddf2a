// Linking a wallet and withdrawing, in the real renderer: the test reads the pairing URI from the
// page as a person would copy it, a test wallet (the SDK's wallet side) pairs through the local
// relay, and the withdrawal lands on anvil: the wallet's token balance rises by exactly its share.
import { Wallet } from 'ethers';
import { startLocalRelay, type LocalRelay } from '../../relay/server.js';
import { startTestWallet, type TestWallet } from '../../relay/wallet.js';
import { WALLET_KEY, startCreditedChain, type CreditedChain } from '../fixtures/credited-wallet.js';
import { createVault, expect, test } from './fixtures.js';

const PROJECT = 'trove-e2e';

const walletTest = test.extend<object, { world: { chain: CreditedChain; relay: LocalRelay } }>({
  world: [
    // eslint-disable-next-line no-empty-pattern -- Playwright fixtures take their dependencies as a destructured object
    async ({}, use) => {
      const chain = await startCreditedChain();
      const relay = await startLocalRelay();
      await use({ chain, relay });
      await relay.close();
      await chain.t.close();
    },
    { scope: 'worker', timeout: 240_000 },
  ],
  wallet: async ({ world }, use) => {
    const { t, token } = world.chain;
    await use({
      chain: { chainId: Number(t.chainId), rpcUrl: t.chain.url, roundRewards: t.deployment.contracts.RoundRewards },
      defaults: { relayUrl: world.relay.url, projectId: PROJECT },
      tokens: [token],
    });
  },
});

walletTest('links a wallet by the pairing URI on the page and withdraws its credited share to it', async ({ app, world, shot }) => {
  walletTest.setTimeout(120_000);
  const { t, credit, balance, share, shareText } = world.chain;
  const address = new Wallet(WALLET_KEY).address;
  let testWallet: TestWallet | undefined;
  try {
    await createVault(app);
    await app.getByRole('button', { name: 'Wallet', exact: true }).click();
    await expect(app.getByRole('heading', { name: 'Wallet', level: 1 })).toBeVisible();
    await expect(app.getByText('fresh address')).toBeVisible();
    await app.getByRole('button', { name: 'Show a QR code to link' }).click();
    await expect(app.getByTestId('pairing-qr')).toBeVisible();

    for (const scheme of ['light', 'dark'] as const) {
      await app.emulateMedia({ colorScheme: scheme });
      await app.setViewportSize({ width: 800, height: 900 });
      await shot(`pairing-${scheme}-800`);
    }
    await app.getByText('Cannot scan? Copy the link instead').click();
    const uri = (await app.getByTestId('pairing-uri').textContent())?.trim() ?? '';
    expect(uri).toMatch(/^wc:[0-9a-f]{64}@2\?/);

    testWallet = await startTestWallet({ relayUrl: world.relay.url, projectId: PROJECT, rpcUrl: t.chain.url, chainId: Number(t.chainId), privateKey: WALLET_KEY });
    await testWallet.pair(uri);
    await expect(app.getByTestId('linked-address')).toHaveText(address);
    await expect(app.getByTestId('balance-TUSD')).toContainText(shareText);
    for (const scheme of ['light', 'dark'] as const) {
      await app.emulateMedia({ colorScheme: scheme });
      await shot(`linked-${scheme}-800`);
    }

    const before = await balance(address);
    await app.getByRole('button', { name: 'Withdraw TUSD' }).click();
    const dialog = app.getByRole('dialog', { name: 'Withdraw to your wallet?' });
    await expect(dialog).toContainText(shareText);
    await expect(dialog).toContainText(address);
    // Nothing reaches the wallet before the person confirms.
    expect(testWallet.requests).toEqual([]);
    await dialog.getByRole('button', { name: 'Ask my wallet to send' }).click();
    await expect(app.getByText(`Withdrew ${shareText} to ${address}.`)).toBeVisible({ timeout: 60_000 });
    expect(await balance(address)).toBe(before + share);
    expect(await credit(address)).toBe(0n);
    await expect(app.getByTestId('balance-TUSD')).toContainText('0.0 TUSD');
  } finally {
    await testWallet?.close();
  }
});

walletTest('a wallet that links on another chain is refused with what to do, and nothing is linked', async ({ app, world }) => {
  walletTest.setTimeout(90_000);
  const { t } = world.chain;
  let testWallet: TestWallet | undefined;
  try {
    await createVault(app);
    await app.getByRole('button', { name: 'Wallet', exact: true }).click();
    await app.getByRole('button', { name: 'Show a QR code to link' }).click();
    await app.getByText('Cannot scan? Copy the link instead').click();
    const uri = (await app.getByTestId('pairing-uri').textContent())?.trim() ?? '';
    // The wallet says it is on Ethereum mainnet (chain 1), not the app's chain.
    testWallet = await startTestWallet({ relayUrl: world.relay.url, projectId: PROJECT, rpcUrl: t.chain.url, chainId: Number(t.chainId), privateKey: WALLET_KEY, sessionChainId: 1 });
    await testWallet.pair(uri);
    await expect(app.getByRole('alert')).toContainText(`Your wallet linked on a different network. Switch it to the network with chain id ${Number(t.chainId)} and link again.`);
    await expect(app.getByTestId('linked-address')).toHaveCount(0);
    await expect(app.getByRole('button', { name: 'Show a QR code to link' })).toBeEnabled();
  } finally {
    await testWallet?.close();
  }
});
