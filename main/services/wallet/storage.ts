// The sign-client's storage (its keys, pairings and sessions) kept sealed in the vault as one
// setting, so a linked wallet survives a restart and is restored on unlock. Reads come from
// memory; every change is written through, one write at a time.
import { SerialQueue } from '../../../common/serial-queue.js';
import type { Vault } from '../vault/vault.js';

const SETTING = 'wallet.walletconnect';

export class VaultWalletStorage {
  private readonly entries: Map<string, unknown>;
  private readonly writes = new SerialQueue();

  constructor(private readonly vault: Vault) {
    const stored = vault.getSetting<Record<string, unknown>>(SETTING);
    this.entries = new Map(Object.entries(stored ?? {}));
  }

  /** Whether anything was stored (a pairing or session to restore). */
  get isEmpty(): boolean {
    return this.entries.size === 0;
  }

  getKeys(): Promise<string[]> {
    return Promise.resolve([...this.entries.keys()]);
  }

  getEntries<T = unknown>(): Promise<[string, T][]> {
    return Promise.resolve([...this.entries.entries()] as [string, T][]);
  }

  getItem<T = unknown>(key: string): Promise<T | undefined> {
    return Promise.resolve(this.entries.get(key) as T | undefined);
  }

  setItem<T = unknown>(key: string, value: T): Promise<void> {
    // A JSON round trip: what is kept in memory is exactly what the vault will give back.
    this.entries.set(key, JSON.parse(JSON.stringify(value)) as unknown);
    return this.save();
  }

  removeItem(key: string): Promise<void> {
    this.entries.delete(key);
    return this.save();
  }

  /** Forgets everything (after a disconnect): no keys of an ended session stay in the vault. */
  clear(): Promise<void> {
    this.entries.clear();
    return this.save();
  }

  /** Waits for the writes asked so far. */
  flush(): Promise<void> {
    return this.writes.run(() => undefined);
  }

  private save(): Promise<void> {
    return this.writes.run(async () => {
      if (!this.vault.isUnlocked) return; // locked: the client is being stopped; what was sealed stays
      await this.vault.setSetting(SETTING, Object.fromEntries(this.entries));
    });
  }
}
