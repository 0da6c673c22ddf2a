// The WalletConnect relay settings a person may type: the relay's address and the project id it
// asks for. Checked the same way on the settings form and in the wallet service, so the form can
// say what is wrong before anything is saved.

export interface RelaySettings {
  relayUrl: string;
  projectId: string;
}

/** What is wrong with the settings, in words; null when they can be saved. */
export function relaySettingsProblem(s: RelaySettings): string | null {
  let url: URL;
  try {
    url = new URL(s.relayUrl.trim());
  } catch {
    return 'The relay address is not a web address. It looks like wss://relay.walletconnect.org.';
  }
  if (url.protocol !== 'wss:' && url.protocol !== 'ws:') return 'The relay address must start with wss:// (or ws:// for a relay on this computer).';
  if (url.username || url.password) return 'The relay address must not hold a user name or password.';
  if (!s.projectId.trim()) return 'The WalletConnect project id is empty. Copy it from your WalletConnect (Reown) dashboard.';
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(s.projectId.trim())) return 'The project id holds only letters, digits, "-" and "_".';
  return null;
}

/** The settings as they are kept: the address without a trailing slash, the id trimmed. */
export function normalRelaySettings(s: RelaySettings): RelaySettings {
  return { relayUrl: new URL(s.relayUrl.trim()).toString().replace(/\/$/, ''), projectId: s.projectId.trim() };
}
