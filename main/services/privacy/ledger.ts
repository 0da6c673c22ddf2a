// The personal privacy budget, kept sealed in the vault: every job's (epsilon, delta) is charged
// here before any of its output leaves the machine, and survives restarts, backups and restores
// with the rest of the vault.
import { PrivacyLedger, type PrivacyBudget, type PrivacyLedgerStore } from '../../../common/dp/ledger.js';
import type { Vault } from '../vault/index.js';

const SETTING = 'privacyLedger';

/**
 * A lifetime budget a careful contributor can live with: epsilon 10 is spent only by several
 * jobs of strong privacy (epsilon 1-3 each); delta stays far below one over the data's size.
 */
export const DEFAULT_PRIVACY_BUDGET: PrivacyBudget = { epsilon: 10, delta: 1e-5 };

export function vaultLedgerStore(vault: Vault): PrivacyLedgerStore {
  return {
    load: () => Promise.resolve(vault.getSetting(SETTING)),
    save: (state) => vault.setSetting(SETTING, state),
  };
}

export function openPrivacyLedger(vault: Vault, initialBudget: PrivacyBudget = DEFAULT_PRIVACY_BUDGET): Promise<PrivacyLedger> {
  return PrivacyLedger.open(vaultLedgerStore(vault), initialBudget);
}
