// Known-answer vectors for the key derivations, mask expansion and wire format described in
// docs/secure-aggregation.md. The expected values were computed from that description by a
// separate implementation (Python: hashlib BLAKE2b, the cryptography package's X25519 and
// ChaCha20, and HChaCha20 written out and checked against the XChaCha20 draft's test vector),
// so a second implementation that follows the document interoperates with this one.
import { beforeAll, describe, expect, it } from 'vitest';
import { pairMaskKey, selfMaskKey } from '../../../common/secagg/keys.js';
import type { RoundParams } from '../../../common/secagg/params.js';
import { loadSodium, MaskStream } from '../../../common/secagg/sodium.js';
import { encodeSetup } from '../../../common/secagg/wire.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ROUND = Uint8Array.from({ length: 16 }, (_, i) => 0x10 + i);

beforeAll(async () => {
  await loadSodium();
});

function firstWords(key: Uint8Array): number[] {
  return new MaskStream().expand(key, 4, (m) => [...m]);
}

describe('known-answer vectors', () => {
  it('self-mask key and its first mask words', () => {
    const key = selfMaskKey(new Uint8Array(32).fill(0xa5), ROUND, 7);
    expect(hex(key)).toBe('cf5647e3a51bd72f29c1dae1bf6ce585fa70a6d7bd35d1dfed193f309853e32c');
    expect(firstWords(key)).toEqual([1872224055, 2577159093, 980539234, 205326888]);
  });

  it('pairwise mask key from X25519, the same from both ends', async () => {
    const sodium = await loadSodium();
    const sk3 = new Uint8Array(32).fill(3);
    const sk7 = new Uint8Array(32).fill(7);
    const pk3 = sodium.crypto_scalarmult_base(sk3);
    const pk7 = sodium.crypto_scalarmult_base(sk7);
    expect(hex(pk3)).toBe('5dfedd3b6bd47f6fa28ee15d969d5bb0ea53774d488bdaf9df1c6e0124b3ef22');
    expect(hex(pk7)).toBe('13be4feaeaf204c7fd3358fc9c00721881d174278128227ec674f37f7fe97b6d');
    const fromThree = pairMaskKey(sk3, pk7, ROUND, 3, 7);
    expect(hex(fromThree)).toBe('c39f44a75056adb005e738fcc9e636fb16da6d9f26f37d47fc7293f7a240ee50');
    expect(pairMaskKey(sk7, pk3, ROUND, 7, 3)).toEqual(fromThree);
    expect(firstWords(fromThree)).toEqual([3586247325, 2562609891, 3499396721, 2947829484]);
  });

  it('setup message bytes', () => {
    const params: RoundParams = {
      roundId: ROUND,
      clientCount: 300,
      neighbourCount: 26,
      threshold: 14,
      minimumSurvivors: 20,
      vectorLength: 1234,
      clipRange: 0.75,
      quantizationBits: 22,
      modulusBits: 32,
      deadlines: { advertiseKeysMs: 60000, shareKeysMs: 60000, collectMaskedInputsMs: 300000, unmaskMs: 1234 },
      modelHash: Uint8Array.from({ length: 32 }, (_, i) => 0xa0 + i),
    };
    expect(hex(encodeSetup(params, 17))).toBe(
      '02010000101112131415161718191a1b1c1d1e1f110000002c0100001a0000000e00000014000000d204000016200000000000000000e83f60ea000060ea0000e0930400d2040000' + 'a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf',
    );
  });
});
