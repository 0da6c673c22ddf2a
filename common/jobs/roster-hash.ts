// A round's roster as committed on-chain: RoundRewards.startRound stores keccak256 of the
// roster's 32-byte Ed25519 signing keys concatenated in roster order. The coordinator computes it
// to check what it froze; a contributor computes it from the roster it was sent and compares.
import { concat, keccak256 } from 'ethers';
import { TroveError } from '../errors.js';

const KEY = /^(0x)?[0-9a-fA-F]{64}$/;

/** keccak256 of the roster keys (hex, 32 bytes each) in roster order, 0x-prefixed. */
export function rosterHash(keys: readonly string[]): string {
  if (keys.length === 0) throw new TroveError('INVALID_INPUT', 'A roster needs at least one key.');
  return keccak256(
    concat(
      keys.map((k) => {
        if (!KEY.test(k)) throw new TroveError('INVALID_INPUT', 'A roster key must be 32 bytes of hex.');
        return k.startsWith('0x') ? k : `0x${k}`;
      }),
    ),
  );
}
