// The wallet service with the real sign-client over the local relay, a test wallet on the SDK's
// wallet side, real contracts on anvil and a real vault: link, restore on unlock, withdraw
// (declined, then approved), a wallet on the wrong chain, a dead relay, a malformed URI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TroveError } from '../../common/errors.js';
import { parsePairingUri } from '../../main/services/wallet/pairing-uri.js';
import { WalletService } from '../../main/services/wallet/service.js';
import type { Vault } from '../../main/services/vault/vault.js';
import { startLocalRelay, type LocalRelay } from '../../relay/server.js';
import { startTestWallet, type TestWallet } from '../../relay/wallet.js';
import { WALLET_KEY, startCreditedChain, type CreditedChain } from '../fixtures/credited-wallet.js';
import type { TroveChain } from '../fixtures/trove-chain.js';
import { PASSPHRASE, newVault, useTempDir } from '../helpers/vault.js';
import { until } from '../helpers/until.js';
import { freeLoopbackPort } from '../helpers/loopback.js';

const PROJECT = 'trove-tests';

describe('linked wallet over a local WalletConnect relay', () => {
  const temp = useTempDir();
  let t: TroveChain;
  let credited: CreditedChain;
  let relay: LocalRelay;
  let token: string;
  const wallets: TestWallet[] = [];
  const services: WalletService[] = [];

  const wallet = async (over: { sessionChainId?: number } = {}) => {
    const w = await startTestWallet({ relayUrl: relay.url, projectId: PROJECT, rpcUrl: t.chain.url, chainId: Number(t.chainId), privateKey: WALLET_KEY, ...over });
    wallets.push(w);
    return w;
  };
  const service = (vault: Vault, relayUrl = relay.url, connectTimeoutMs = 10_000) => {
    const s = new WalletService({
      vault,
      chain: { chainId: Number(t.chainId), rpcUrl: t.chain.url, roundRewards: t.deployment.contracts.RoundRewards },
      defaultSettings: { relayUrl, projectId: PROJECT },
      connectTimeoutMs,
      requestTimeoutMs: 30_000,
    });
    services.push(s);
    return s;
  };
  const credit = (address: string) => credited.credit(address);
  const balance = (address: string) => credited.balance(address);

  beforeAll(async () => {
    credited = await startCreditedChain();
    ({ t, token } = credited);
    relay = await startLocalRelay();
  }, 240_000);

  afterAll(async () => {
    for (const s of services) await s.close();
    for (const w of wallets) await w.close();
    await relay?.close();
    await t?.close();
  });

  it('links by the pairing URI, survives lock and unlock from the vault, and withdraws only what the wallet approves', async () => {
    const vault = await newVault(temp);
    const app = service(vault);
    const w = await wallet();
    const uri = await app.link();
    expect(app.status()).toEqual({ state: 'pairing', uri });
    await w.pair(uri);
    expect(await app.waitForLink()).toEqual({ address: w.address, chainId: Number(t.chainId) });
    expect(app.status()).toMatchObject({ state: 'linked', address: w.address, walletName: 'Test wallet' });

    // Lock: the client stops. Unlock: the session comes back from the vault, no new pairing.
    await app.stop();
    vault.lock();
    expect(app.linked()).toBeUndefined();
    await vault.unlock(PASSPHRASE);
    await app.start();
    expect(app.linked()).toEqual({ address: w.address, chainId: Number(t.chainId) });

    const before = await balance(w.address);
    const plan = await app.prepareWithdraw(token);
    expect(plan).toMatchObject({ amount: credited.share.toString(), amountText: credited.shareText, to: w.address, symbol: 'TUSD', decimals: 18 });

    // The wallet declines: a typed error, nothing sent, the credit still there.
    w.answers.requests = 'reject';
    const declined = await app.confirmWithdraw(plan.id).catch((e: unknown) => e);
    expect(declined).toBeInstanceOf(TroveError);
    expect((declined as TroveError).code).toBe('WALLET_REJECTED');
    expect(await credit(w.address)).toBe(credited.share);
    expect(await balance(w.address)).toBe(before);
    // A plan is used once: a declined one must be prepared again.
    await expect(app.confirmWithdraw(plan.id)).rejects.toMatchObject({ code: 'INVALID_INPUT' });

    w.answers.requests = 'approve';
    const again = await app.prepareWithdraw(token);
    const sent = await app.confirmWithdraw(again.id);
    expect(sent.amount).toBe(credited.share.toString());
    expect(await balance(w.address)).toBe(before + credited.share);
    expect(await credit(w.address)).toBe(0n);
    expect(w.requests.map((r) => r.answer)).toEqual(['reject', 'approve']);
    expect(w.requests[1]!.result).toBe(sent.txHash);

    // Disconnect forgets the session: the next unlock has nothing to restore.
    await app.disconnect();
    expect(app.status()).toEqual({ state: 'unlinked' });
    await app.stop();
    vault.lock();
    await vault.unlock(PASSPHRASE);
    await app.start();
    expect(app.linked()).toBeUndefined();
    await expect(app.prepareWithdraw(token)).rejects.toMatchObject({ code: 'WALLET_NOT_LINKED' });
  }, 120_000);

  it('refuses a wallet that links on another chain, and a wallet that declines the link', async () => {
    const vault = await newVault(temp, {}, 'wrong-chain.db');
    const app = service(vault);
    const elsewhere = await wallet({ sessionChainId: 1 });
    await elsewhere.pair(await app.link());
    await expect(app.waitForLink()).rejects.toMatchObject({ code: 'WALLET_WRONG_CHAIN' });
    expect(app.status()).toMatchObject({ state: 'unlinked', problem: { code: 'WALLET_WRONG_CHAIN' } });
    expect(app.linked()).toBeUndefined();

    const declining = await wallet();
    declining.answers.sessions = 'reject';
    await declining.pair(await app.link());
    await expect(app.waitForLink()).rejects.toMatchObject({ code: 'WALLET_REJECTED' });
    expect(app.linked()).toBeUndefined();

    // Positive control: the same service links a wallet on the right chain.
    const right = await wallet();
    await right.pair(await app.link());
    await expect(app.waitForLink()).resolves.toMatchObject({ address: right.address });
  }, 60_000);

  it('says the relay cannot be reached, quickly, and keeps the vault as it was', async () => {
    const vault = await newVault(temp, {}, 'dead-relay.db');
    const app = service(vault, `ws://127.0.0.1:${await freeLoopbackPort()}`, 2_000);
    const started = Date.now();
    await expect(app.link()).rejects.toMatchObject({ code: 'WALLET_RELAY_UNREACHABLE' });
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(app.status()).toEqual({ state: 'unlinked' });
    expect(vault.verifyActivity().ok).toBe(true);
    expect(Object.keys(vault.getSetting<object>('wallet.walletconnect') ?? {})).toEqual([]);
    // Positive control: with the live relay the same vault links.
    await app.setSettings({ relayUrl: relay.url, projectId: PROJECT });
    const w = await wallet();
    await w.pair(await app.link());
    await until(() => app.linked() !== undefined, 20_000);
  }, 60_000);

  it('rejects a malformed pairing URI with a typed error', async () => {
    const vault = await newVault(temp, {}, 'uri.db');
    const app = service(vault);
    const good = await app.link();
    expect(parsePairingUri(good).topic).toMatch(/^[0-9a-f]{64}$/);
    const bad = [
      '',
      'https://example.org',
      good.replace('@2', '@1'),
      good.replace(/symKey=[0-9a-f]{64}/, 'symKey=zz'),
      good.replace(/^wc:[0-9a-f]{4}/, 'wc:xyzw'),
      good.replace('relay-protocol=irn', 'relay-protocol=other'),
    ];
    for (const uri of bad) expect(() => parsePairingUri(uri), uri).toThrow(expect.objectContaining({ code: 'WALLET_URI_MALFORMED' }) as Error);
  }, 30_000);
});
