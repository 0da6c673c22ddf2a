// The wallet as the app session sees it: one WalletService per unlocked vault, started on unlock
// and stopped on lock, and the view the Wallet screen shows (status, balances, settings).
import { TroveError } from '../../../common/errors.js';
import type { WalletStatusValue, WalletViewValue } from '../../../common/ipc/contract.js';
import type { Vault } from '../vault/vault.js';
import { WalletService, type LinkedWallet, type WalletChain, type WalletSettings } from './service.js';

export interface WalletConfig {
  chain: WalletChain;
  /** Relay and project id until the person changes them. */
  defaults: WalletSettings;
  /** Reward tokens to show even before a job names them (e.g. the project's own token). */
  tokens?: string[];
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export class WalletHost {
  private service: WalletService | null = null;

  constructor(
    private readonly config: WalletConfig | undefined,
    private readonly onChange: (status: WalletStatusValue) => void,
    /** Reward tokens of the jobs the person knows. */
    private readonly jobTokens: () => string[],
  ) {}

  /** After unlock: brings back a linked wallet from the vault. A relay that is down leaves it for later. */
  async start(vault: Vault): Promise<void> {
    if (!this.config || this.service) return;
    const service = new WalletService({
      vault,
      chain: this.config.chain,
      defaultSettings: this.config.defaults,
      ...(this.config.connectTimeoutMs ? { connectTimeoutMs: this.config.connectTimeoutMs } : {}),
      ...(this.config.requestTimeoutMs ? { requestTimeoutMs: this.config.requestTimeoutMs } : {}),
      onChange: (status) => this.onChange(status),
    });
    this.service = service;
    await service.start().catch(() => undefined);
  }

  async stop(): Promise<void> {
    const service = this.service;
    this.service = null;
    await service?.close();
  }

  /** The wallet rewards are withdrawn to, when one is linked. */
  linked(): LinkedWallet | undefined {
    return this.service?.linked();
  }

  /** The running service (for claims that go from the linked wallet). */
  require(): WalletService {
    if (!this.config) throw new TroveError('INVALID_INPUT', 'Wallets are not set up in this build: no chain is configured.');
    if (!this.service) throw new TroveError('VAULT_LOCKED', 'The vault is locked. Unlock it with your passphrase to continue.');
    return this.service;
  }

  async view(): Promise<WalletViewValue> {
    const service = this.service;
    if (!this.config || !service) return { available: false, status: { state: 'unlinked' }, balances: [], balancesProblem: null, settings: this.config?.defaults ?? { relayUrl: '', projectId: '' } };
    const tokens = [...(this.config.tokens ?? []), ...this.jobTokens()];
    let balances: WalletViewValue['balances'] = [];
    let balancesProblem: string | null = null;
    try {
      balances = await service.balances(tokens);
    } catch (e) {
      balancesProblem = e instanceof TroveError ? e.message : 'Trove cannot read your balance right now.';
    }
    return { available: true, status: service.status(), balances, balancesProblem, settings: service.settings() };
  }

  async link(): Promise<WalletViewValue> {
    const service = this.require();
    await service.link();
    // The approval arrives later, as a wallet.changed event; a refusal there is already in the status.
    service.waitForLink().catch(() => undefined);
    return this.view();
  }

  async disconnect(): Promise<WalletViewValue> {
    await this.require().disconnect();
    return this.view();
  }

  async setSettings(settings: WalletSettings): Promise<WalletViewValue> {
    await this.require().setSettings(settings);
    return this.view();
  }
}
