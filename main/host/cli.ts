// `npm run host`: opens the real UI in Chromium, backed by the app's services, for a machine with
// no Electron binary. Usage: npm run host -- [--data <folder>] [--headless] [--fast-kdf]
// Jobs are read from the chain at TROVE_RPC_URL with the contracts of the deployment file named by
// TROVE_DEPLOYMENT (as contracts/deploy.ts writes it); without both, the app shows no jobs. A
// wallet links through the relay at TROVE_WC_RELAY_URL with project id TROVE_WC_PROJECT_ID.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { startHeadlessHost } from './headless.js';
import { allowLocalNetworkFromEnv, attestationsFromEnv, jobsChainConfigFromEnv } from '../services/jobs/config.js';
import { walletConfigFromEnv } from '../services/wallet/config.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: '.trove-dev' },
    headless: { type: 'boolean', default: false },
    'fast-kdf': { type: 'boolean', default: false },
  },
});

const executablePath = process.env.TROVE_CHROMIUM ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);
const browser = await chromium.launch({
  headless: values.headless,
  ...(executablePath ? { executablePath } : {}),
  args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
const chain = jobsChainConfigFromEnv();
const host = await startHeadlessHost(page, {
  dataDir: resolve(values.data),
  ...(chain ? { jobs: { chain, allowLocalNetwork: allowLocalNetworkFromEnv(), attestations: attestationsFromEnv() } } : {}),
  ...(chain ? { wallet: walletConfigFromEnv(chain) } : {}),
  // Fast key derivation only when asked: a throwaway vault for clicking through the UI.
  ...(values['fast-kdf'] ? { vault: { kdf: { opsLimit: 1, memLimit: 8 * 1024 * 1024 } } } : {}),
});
console.log(`Trove is running at ${host.url} with its data in ${resolve(values.data)}. Close the browser window (or press Ctrl+C) to stop.`);

const stop = async () => {
  await host.close();
  await browser.close().catch(() => undefined);
  process.exit(0);
};
page.on('close', () => void stop());
process.on('SIGINT', () => void stop());
