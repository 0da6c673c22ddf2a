// The demo's wallet step: links a demo wallet through a local relay and withdraws what is credited.
import { Wallet } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkDemoWalletAndWithdraw } from '../../main/cli/demo-wallet.js';
import { WALLET_KEY, startCreditedChain, type CreditedChain } from '../fixtures/credited-wallet.js';
import { newVault, useTempDir } from '../helpers/vault.js';

describe('demo wallet', () => {
  const temp = useTempDir();
  let credited: CreditedChain;
  beforeAll(async () => {
    credited = await startCreditedChain();
  }, 240_000);
  afterAll(async () => {
    await credited?.t.close();
  });

  it('links through the local relay and withdraws the credited share, which the wallet then holds', async () => {
    const { t, token } = credited;
    const vault = await newVault(temp);
    const address = new Wallet(WALLET_KEY).address;
    const before = await credited.balance(address);
    const lines: string[] = [];
    const result = await linkDemoWalletAndWithdraw({
      vault,
      chain: { chainId: Number(t.chainId), rpcUrl: t.chain.url, roundRewards: t.deployment.contracts.RoundRewards },
      tokens: [token],
      funder: t.accounts.deployer,
      privateKey: WALLET_KEY,
      log: (l) => lines.push(l),
    });
    expect(result.received.map((r) => r.amount)).toEqual([credited.share]);
    expect(await credited.balance(address)).toBe(before + credited.share);
    expect(lines.at(-1)).toContain(`withdrew ${credited.shareText} to ${address}`);
    expect(vault.activity(0, 50).entries.map((e) => e.kind)).toEqual(expect.arrayContaining(['wallet.linked', 'wallet.withdrawn']));
  }, 120_000);
});
