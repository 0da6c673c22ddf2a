// The demo's wallet: a local WalletConnect relay and a demo wallet (the SDK's wallet side with a
// fresh key) that you link to your vault as you would scan the QR code, then withdraw to it
// whatever your claims credited, through the wallet, as the app does.
import { Wallet, parseEther, type Signer } from 'ethers';
import { startLocalRelay } from '../../relay/server.js';
import { startTestWallet } from '../../relay/wallet.js';
import { WalletService, type WalletChain } from '../services/wallet/service.js';
import type { Vault } from '../services/vault/vault.js';

export interface DemoWalletOptions {
  vault: Vault;
  chain: Required<WalletChain>;
  /** Reward tokens to withdraw. */
  tokens: string[];
  /** Pays the demo wallet's gas. */
  funder: Signer;
  /** The wallet's key (default: a fresh one). */
  privateKey?: string;
  log?: (line: string) => void;
}

export interface DemoWalletResult {
  address: string;
  received: { token: string; amount: bigint; amountText: string; txHash: string }[];
}

export async function linkDemoWalletAndWithdraw(o: DemoWalletOptions): Promise<DemoWalletResult> {
  const log = o.log ?? (() => undefined);
  const key = o.privateKey ?? Wallet.createRandom().privateKey;
  const address = new Wallet(key).address;
  await (await o.funder.sendTransaction({ to: address, value: parseEther('0.1') })).wait();
  const relay = await startLocalRelay();
  const projectId = 'trove-demo';
  const wallet = await startTestWallet({ relayUrl: relay.url, projectId, rpcUrl: o.chain.rpcUrl, chainId: o.chain.chainId, privateKey: key });
  const service = new WalletService({ vault: o.vault, chain: o.chain, defaultSettings: { relayUrl: relay.url, projectId } });
  try {
    const uri = await service.link();
    log(`pairing link shown as a QR code: ${uri.slice(0, 24)}… (relay ${relay.url})`);
    await wallet.pair(uri);
    const linked = await service.waitForLink();
    log(`demo wallet linked: ${linked.address} (given 0.1 ETH for gas)`);
    const received: DemoWalletResult['received'] = [];
    for (const balance of await service.balances(o.tokens)) {
      if (balance.amount === '0') {
        log(`nothing in ${balance.symbol} to withdraw yet`);
        continue;
      }
      // The demo confirms on your behalf; the app asks you in a dialog first.
      const plan = await service.prepareWithdraw(balance.token);
      const { txHash } = await service.confirmWithdraw(plan.id);
      received.push({ token: plan.token, amount: BigInt(plan.amount), amountText: plan.amountText, txHash });
      log(`withdrew ${plan.amountText} to ${plan.to} (tx ${txHash.slice(0, 12)}…)`);
    }
    return { address, received };
  } finally {
    await service.close();
    await wallet.close();
    await relay.close();
  }
}
