// The linked wallet: WalletConnect's sign-client in the main process, on the app's side of the
// link. Linking shows a `wc:` URI (as a QR code) that the person's wallet scans; the wallet's
// approval gives the address rewards are withdrawn to. The session lives sealed in the vault
// (VaultWalletStorage) and comes back on unlock. The wallet is asked to send a transaction only
// after the person confirmed it in the app (prepareWithdraw, then confirmWithdraw).
import { randomUUID } from 'node:crypto';
import { SignClient } from '@walletconnect/sign-client';
import type { SessionTypes } from '@walletconnect/types';
import { Contract, Interface, JsonRpcProvider, formatUnits, getAddress } from 'ethers';
import { TroveError, isTroveError } from '../../../common/errors.js';
import { normalRelaySettings, relaySettingsProblem } from '../../../common/wallet/relay-settings.js';
import type { Vault } from '../vault/vault.js';
import { parsePairingUri } from './pairing-uri.js';
import { VaultWalletStorage } from './storage.js';

export interface WalletSettings {
  /** The WalletConnect relay, e.g. wss://relay.walletconnect.org, or a local one. */
  relayUrl: string;
  /** The project id WalletConnect's relay asks for (any text for a local relay). */
  projectId: string;
}

export interface WalletChain {
  chainId: number;
  rpcUrl: string;
  /** RoundRewards, where claimed rewards are credited and withdrawn from. */
  roundRewards?: string;
}

export type WalletStatus =
  | { state: 'unlinked'; problem?: { code: string; message: string } }
  | { state: 'pairing'; uri: string }
  | { state: 'linked'; address: string; chainId: number; walletName: string };

export interface LinkedWallet {
  address: string;
  chainId: number;
}

export interface WithdrawPlan {
  id: string;
  token: string;
  symbol: string;
  decimals: number;
  /** Credited and not yet withdrawn, in the token's smallest unit. */
  amount: string;
  /** The amount in plain words, e.g. "12.5 TROVE". */
  amountText: string;
  to: string;
  contract: string;
}

export interface WalletServiceOptions {
  vault: Vault;
  chain: WalletChain;
  /** Used until the person changes them (they are kept in the vault). */
  defaultSettings: WalletSettings;
  /** How long to wait for the relay before saying it cannot be reached. */
  connectTimeoutMs?: number;
  /** How long the wallet has to answer a request (the person may need to find their phone). */
  requestTimeoutMs?: number;
  onChange?: (status: WalletStatus) => void;
}

const SETTINGS = 'wallet.settings';
const ROUND_REWARDS = new Interface(['function withdraw(address token) returns (uint256 amount, uint256 topUp)', 'function creditOf(address account, address token) view returns (uint256)']);
const ERC20 = ['function symbol() view returns (string)', 'function decimals() view returns (uint8)', 'function balanceOf(address) view returns (uint256)'];

function withTimeout<T>(work: Promise<T>, ms: number, error: () => TroveError): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const relayUnreachable = (relayUrl: string) =>
  new TroveError('WALLET_RELAY_UNREACHABLE', 'Trove cannot reach the WalletConnect relay. Check your internet connection, or the relay address in the wallet settings, and try again.', { relayUrl });

/** A wallet's refusal (WalletConnect's USER_REJECTED family, codes 4001 and 5000-5002). */
function isRejection(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 4001 || (typeof code === 'number' && code >= 5000 && code <= 5002) || /reject/i.test((e as { message?: string } | null)?.message ?? '');
}

export class WalletService {
  private client: Awaited<ReturnType<typeof SignClient.init>> | undefined;
  private storage: VaultWalletStorage | undefined;
  private current: WalletStatus = { state: 'unlinked' };
  private session: SessionTypes.Struct | undefined;
  private linking: Promise<LinkedWallet> | undefined;
  private readonly plans = new Map<string, WithdrawPlan>();
  private readonly provider: JsonRpcProvider;

  constructor(private readonly o: WalletServiceOptions) {
    this.provider = new JsonRpcProvider(o.chain.rpcUrl, o.chain.chainId, { staticNetwork: true });
  }

  status(): WalletStatus {
    return this.current;
  }

  /** The wallet rewards go to, when one is linked. */
  linked(): LinkedWallet | undefined {
    return this.current.state === 'linked' ? { address: this.current.address, chainId: this.current.chainId } : undefined;
  }

  settings(): WalletSettings {
    return this.o.vault.getSetting<WalletSettings>(SETTINGS) ?? this.o.defaultSettings;
  }

  async setSettings(next: WalletSettings): Promise<void> {
    const problem = relaySettingsProblem(next);
    if (problem) throw new TroveError('INVALID_INPUT', problem);
    await this.o.vault.setSetting(SETTINGS, normalRelaySettings(next), 'WalletConnect relay settings changed.');
    // The next link uses the new relay; a linked wallet stays on the one it was linked through.
    if (!this.session) await this.dropClient();
  }

  /** After unlock: brings back a session kept in the vault. Nothing stored means nothing to do. */
  async start(): Promise<void> {
    this.storage = new VaultWalletStorage(this.o.vault);
    if (this.storage.isEmpty) return;
    const client = await this.ensureClient();
    const sessions = client.session.getAll();
    const restored = sessions.at(-1);
    if (restored) this.adopt(restored);
  }

  /** Before lock: stops the client; the session stays sealed in the vault for the next unlock. */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.session = undefined;
    this.linking = undefined;
    this.plans.clear();
    if (client) await this.closeClient(client);
    await this.storage?.flush();
    this.storage = undefined;
    this.set({ state: 'unlinked' });
  }

  /** Starts linking: returns the pairing URI to show (QR code, copyable). waitForLink() follows the answer. */
  async link(): Promise<string> {
    const client = await this.ensureClient();
    if (this.session) await this.disconnect();
    const chain = `eip155:${this.o.chain.chainId}`;
    const { relayUrl } = this.settings();
    const { uri, approval } = await withTimeout(
      client.connect({ optionalNamespaces: { eip155: { chains: [chain], methods: ['eth_sendTransaction'], events: ['accountsChanged', 'chainChanged'] } } }),
      this.o.connectTimeoutMs ?? 10_000,
      () => relayUnreachable(relayUrl),
    ).catch(async (e: unknown) => {
      await this.dropClient();
      // The pairing that was being made is of no use: keep nothing of it in the vault.
      await this.storage?.clear();
      throw isTroveError(e) ? e : relayUnreachable(relayUrl);
    });
    if (!uri) throw relayUnreachable(relayUrl);
    parsePairingUri(uri);
    this.set({ state: 'pairing', uri });
    this.linking = approval().then(
      async (session) => {
        const linked = this.adopt(session);
        if (!linked) {
          await client.disconnect({ topic: session.topic, reason: { code: 5100, message: 'Unsupported chain' } }).catch(() => undefined);
          throw this.fail(new TroveError('WALLET_WRONG_CHAIN', `Your wallet linked on a different network. Switch it to the network with chain id ${this.o.chain.chainId} and link again.`, { chainId: this.o.chain.chainId, offered: session.namespaces.eip155?.chains ?? [] }));
        }
        await this.o.vault.recordActivity('wallet.linked', `Wallet linked: ${linked.address} (${session.peer.metadata.name}). Withdrawals go to this address.`, { address: linked.address });
        return linked;
      },
      (e: unknown) => {
        throw this.fail(isRejection(e) ? new TroveError('WALLET_REJECTED', 'Your wallet declined the link. Nothing changed; start linking again when you are ready.') : relayUnreachable(relayUrl));
      },
    );
    this.linking.catch(() => undefined);
    return uri;
  }

  /** Resolves when the wallet approved the link; a typed error when it declined or linked on the wrong chain. */
  waitForLink(): Promise<LinkedWallet> {
    if (!this.linking) throw new TroveError('WALLET_NOT_LINKED', 'No wallet link was started.');
    return this.linking;
  }

  async disconnect(): Promise<void> {
    const { client, session } = this;
    this.session = undefined;
    if (client && session) {
      await withTimeout(client.disconnect({ topic: session.topic, reason: { code: 6000, message: 'User disconnected.' } }), this.o.connectTimeoutMs ?? 10_000, () => relayUnreachable(this.settings().relayUrl)).catch(() => undefined);
      await this.o.vault.recordActivity('wallet.disconnected', 'Wallet disconnected.');
    }
    // An ended session's keys are forgotten: nothing of it stays in the vault.
    if (client) await this.dropClient();
    await this.storage?.clear();
    this.set({ state: 'unlinked' });
  }

  /** What is credited to the linked address in each token and not yet withdrawn, read on-chain. */
  async balances(tokens: readonly string[]): Promise<Omit<WithdrawPlan, 'id' | 'to' | 'contract'>[]> {
    const linked = this.linked();
    const contract = this.o.chain.roundRewards;
    if (!linked || !contract) return [];
    const rewards = new Contract(contract, ROUND_REWARDS, this.provider);
    const unique = [...new Set(tokens.map((t) => getAddress(t)))];
    try {
      return await Promise.all(
        unique.map(async (token) => {
          const erc20 = new Contract(token, ERC20, this.provider);
          const [amount, symbol, decimals] = await Promise.all([
            rewards.getFunction('creditOf')(linked.address, token) as Promise<bigint>,
            erc20.getFunction('symbol')() as Promise<string>,
            erc20.getFunction('decimals')() as Promise<bigint>,
          ]);
          return { token, symbol, decimals: Number(decimals), amount: amount.toString(), amountText: `${formatUnits(amount, decimals)} ${symbol}` };
        }),
      );
    } catch (e) {
      throw new TroveError('CHAIN_UNREACHABLE', 'Trove cannot read your balance from the chain right now. Try again in a moment.', undefined, { cause: e });
    }
  }

  /** What a withdrawal of `token` would pay, for the person to confirm. Nothing is sent yet. */
  async prepareWithdraw(token: string): Promise<WithdrawPlan> {
    const linked = this.requireLinked();
    const contract = this.o.chain.roundRewards;
    if (!contract) throw new TroveError('INVALID_INPUT', 'This build knows no rewards contract to withdraw from.');
    const [balance] = await this.balances([token]);
    if (!balance || balance.amount === '0') throw new TroveError('INVALID_INPUT', `Nothing in ${balance?.symbol ?? 'this token'} is waiting to be withdrawn to ${linked.address}.`);
    const plan: WithdrawPlan = { id: randomUUID(), ...balance, to: linked.address, contract };
    this.plans.set(plan.id, plan);
    return plan;
  }

  /** Sends a confirmed withdrawal through the wallet and waits for it on-chain. */
  async confirmWithdraw(planId: string): Promise<{ txHash: string; amount: string; plan: WithdrawPlan }> {
    const plan = this.plans.get(planId);
    if (!plan) throw new TroveError('INVALID_INPUT', 'This withdrawal was not prepared or was already sent. Start it again from the Wallet screen.');
    this.plans.delete(planId);
    const txHash = await this.sendTransaction({ to: plan.contract, data: ROUND_REWARDS.encodeFunctionData('withdraw', [plan.token]) });
    const receipt = await this.provider.waitForTransaction(txHash, 1, this.o.requestTimeoutMs ?? 300_000);
    if (!receipt || receipt.status !== 1) throw new TroveError('CHAIN_REJECTED', 'The withdrawal did not go through on-chain. Your balance is still there; try again.', { txHash });
    await this.o.vault.recordActivity('wallet.withdrawn', `Withdrew ${plan.amountText} to ${plan.to} (transaction ${txHash}).`, { token: plan.token, amount: plan.amount, to: plan.to, txHash });
    return { txHash, amount: plan.amount, plan };
  }

  /**
   * Asks the linked wallet to send a transaction from its address. Callers ask the person first:
   * the wallet shows it too, but the app's confirmation is where it is explained.
   */
  async sendTransaction(tx: { to: string; data: string; value?: bigint }): Promise<string> {
    const linked = this.requireLinked();
    const client = this.client;
    const session = this.session;
    if (!client || !session) throw new TroveError('WALLET_NOT_LINKED', 'No wallet is linked. Link one on the Wallet screen first.');
    const request = { method: 'eth_sendTransaction', params: [{ from: linked.address, to: tx.to, data: tx.data, value: `0x${(tx.value ?? 0n).toString(16)}` }] };
    const result = await withTimeout(
      client.request<string>({ topic: session.topic, chainId: `eip155:${linked.chainId}`, request }),
      this.o.requestTimeoutMs ?? 300_000,
      () => new TroveError('WALLET_REJECTED', 'Your wallet did not answer. Nothing was sent; try again with your wallet open.'),
    ).catch((e: unknown) => {
      if (isTroveError(e)) throw e;
      if (isRejection(e)) throw new TroveError('WALLET_REJECTED', 'Your wallet declined the transaction. Nothing was sent and your balance is unchanged.');
      throw relayUnreachable(this.settings().relayUrl);
    });
    if (typeof result !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(result)) throw new TroveError('WALLET_REJECTED', 'Your wallet answered with something that is not a transaction. Nothing is known to be sent; check your wallet.');
    return result;
  }

  private requireLinked(): LinkedWallet {
    const linked = this.linked();
    if (!linked) throw new TroveError('WALLET_NOT_LINKED', 'No wallet is linked. Link one on the Wallet screen first.');
    return linked;
  }

  /** Takes a session as the linked wallet when it has an account on the app's chain. */
  private adopt(session: SessionTypes.Struct): LinkedWallet | undefined {
    const prefix = `eip155:${this.o.chain.chainId}:`;
    const account = session.namespaces.eip155?.accounts.find((a) => a.startsWith(prefix));
    if (!account) return undefined;
    this.session = session;
    const linked = { address: getAddress(account.slice(prefix.length)), chainId: this.o.chain.chainId };
    this.set({ state: 'linked', ...linked, walletName: session.peer.metadata.name });
    return linked;
  }

  private fail(error: TroveError): TroveError {
    this.set({ state: 'unlinked', problem: { code: error.code, message: error.message } });
    return error;
  }

  private set(status: WalletStatus): void {
    this.current = status;
    this.o.onChange?.(status);
  }

  /** The sign-client shares one Core per prefix in a process: one per vault keeps two vaults apart. */
  private get storagePrefix(): string {
    return `trove-${this.o.vault.vaultId}`;
  }

  private async ensureClient(): Promise<NonNullable<WalletService['client']>> {
    if (this.client) return this.client;
    if (!this.o.vault.isUnlocked) throw new TroveError('VAULT_LOCKED', 'Unlock your vault to use your wallet.');
    this.storage ??= new VaultWalletStorage(this.o.vault);
    const { relayUrl, projectId } = this.settings();
    const client = await withTimeout(
      SignClient.init({
        projectId,
        relayUrl,
        storage: this.storage,
        customStoragePrefix: this.storagePrefix,
        telemetryEnabled: false,
        logger: 'silent',
        metadata: { name: 'Trove', description: 'Your data vault: rewards go to your linked wallet.', url: 'https://trove.invalid', icons: [] },
      }),
      this.o.connectTimeoutMs ?? 10_000,
      () => relayUnreachable(relayUrl),
    );
    // Attestation asks an online Verify server from a browser page; the main process has none.
    Object.assign(client.core.verify, { register: () => Promise.resolve('') });
    client.on('session_delete', ({ topic }) => {
      if (this.session?.topic !== topic) return;
      this.session = undefined;
      this.set({ state: 'unlinked', problem: { code: 'WALLET_NOT_LINKED', message: 'Your wallet ended the link. Link it again to withdraw.' } });
    });
    client.on('session_expire', ({ topic }) => {
      if (this.session?.topic !== topic) return;
      this.session = undefined;
      this.set({ state: 'unlinked', problem: { code: 'WALLET_NOT_LINKED', message: 'The link with your wallet expired. Link it again to withdraw.' } });
    });
    this.client = client;
    return client;
  }

  private async dropClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await this.closeClient(client);
  }

  /** The sign-client has no close(): stop its heartbeat and transport, and forget the process-wide Core it registered. */
  private async closeClient(client: NonNullable<WalletService['client']>): Promise<void> {
    client.core.heartbeat.stop();
    await withTimeout(client.core.relayer.transportClose(), 2_000, () => relayUnreachable('')).catch(() => undefined);
    const globals = globalThis as Record<string, unknown>;
    delete globals[`_walletConnectCore_${this.storagePrefix}`];
    delete globals[`_walletConnectCore_${this.storagePrefix}_count`];
  }

  /** Ends everything when the app quits. */
  async close(): Promise<void> {
    await this.stop();
    this.provider.destroy();
  }
}
