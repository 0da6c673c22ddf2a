// A WalletConnect v2 pairing URI: wc:TOPIC@2?relay-protocol=irn&symKey=KEY[&expiryTimestamp=S].
// Checked before it is shown or used, so a damaged one is a clear error, not a QR code that fails.
import { TroveError } from '../../../common/errors.js';

export interface PairingUri {
  topic: string;
  symKey: string;
  relayProtocol: string;
  expiresAt?: number;
}

const HEX64 = /^[0-9a-f]{64}$/;

export function parsePairingUri(uri: string): PairingUri {
  const malformed = (why: string) =>
    new TroveError('WALLET_URI_MALFORMED', `This is not a WalletConnect link Trove can use (${why}). Start linking again to get a fresh one.`, { why });
  if (typeof uri !== 'string' || uri.length > 1024) throw malformed('not a short text');
  const match = /^wc:([^@?]+)@(\d+)\?(.*)$/.exec(uri);
  if (!match) throw malformed('it does not start with wc:TOPIC@2?');
  const [, topic = '', version, query = ''] = match;
  if (version !== '2') throw malformed(`version ${version} instead of 2`);
  if (!HEX64.test(topic)) throw malformed('its topic is not 64 hex digits');
  const params = new URLSearchParams(query);
  const symKey = params.get('symKey') ?? '';
  if (!HEX64.test(symKey)) throw malformed('its key is not 64 hex digits');
  const relayProtocol = params.get('relay-protocol') ?? '';
  if (relayProtocol !== 'irn') throw malformed('it names no relay protocol Trove knows');
  const expiry = params.get('expiryTimestamp');
  if (expiry !== null && !/^\d{1,12}$/.test(expiry)) throw malformed('its expiry is not a time');
  return { topic, symKey, relayProtocol, ...(expiry !== null ? { expiresAt: Number(expiry) * 1000 } : {}) };
}
