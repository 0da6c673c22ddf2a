// Where a wallet links: the jobs' chain (its RPC and RoundRewards) and the WalletConnect relay.
// TROVE_WC_RELAY_URL and TROVE_WC_PROJECT_ID set the relay's defaults; the person can change both
// on the Wallet screen.
import type { JobsChainConfig } from '../jobs/discovery.js';
import type { WalletConfig } from './host.js';

export const PUBLIC_RELAY_URL = 'wss://relay.walletconnect.org';

export function walletConfigFromEnv(chain: JobsChainConfig | undefined, env: NodeJS.ProcessEnv = process.env): WalletConfig | undefined {
  if (!chain) return undefined;
  return {
    chain: { chainId: Number(chain.chainId), rpcUrl: chain.rpcUrl, ...(chain.roundRewards ? { roundRewards: chain.roundRewards } : {}) },
    defaults: { relayUrl: env.TROVE_WC_RELAY_URL ?? PUBLIC_RELAY_URL, projectId: env.TROVE_WC_PROJECT_ID ?? '' },
  };
}
