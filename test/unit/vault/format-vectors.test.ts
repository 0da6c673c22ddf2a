// Known-answer vectors for docs/vault-format.md. A second implementation that reproduces these
// reads Trove vaults; a change here is a change of the vault format.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import sodium from 'libsodium-wrappers-sumo';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  SealKind,
  associatedData,
  bytesToHex,
  decodeColumn,
  decodeRecordIds,
  encodeColumn,
  encodeRecordIds,
  hexToBytes,
  open,
} from '../../../common/vault-format.js';
import { deriveKek, derivePurposeKey } from '../../../main/services/vault/keys.js';

const seq = (start: number, n: number) => Uint8Array.from({ length: n }, (_, i) => start + i);
const V = {
  passphrase: 'correct horse battery staple',
  salt: seq(0x00, 16),
  kek: '9aeef75313e585f492c33c5e12d82e9ad253b7dd78632d537e899cd4eddd789c',
  masterKey: seq(0x20, 32),
  vaultId: seq(0xa0, 16),
  datasetId: seq(0xb0, 16),
  dataKey: seq(0x60, 32),
  adMasterKey: '74726f76652f763101a0a1a2a3a4a5a6a7a8a9aaabacadaeaf0000000000000000000000000000000000000000000000000000',
  sealedMasterKey:
    '404142434445464748494a4b4c4d4e4f5051525354555657ca2b35f2e06bf5d4cfcb829b7695e56c2f00bea1ad3f3da9b77b171aafe81c60d8ce12e6cd902206bfa4a46bf23a7f6b',
  purposeKeys: [
    'ff171a4c5733a0aacb0dd5c2a534d271097a7bd3c621ddbe6add83c0a61ac145',
    '20b41c473c8d1f923bbe8223fb37b62cb276ce419d5a6df04979f1008f55fed5',
    '7f9c8207237f309b1274734ac601db5f6ec5c137df82b9621297ca531edabe41',
    '402cfc6c8691a6c763cee320345527ad0fd7c2fd1bcbf50bac36859ed0a9f8df',
    '01f10f7845bfe6143ea8d15f7e494d5e1f77d8bfb8e91e2371287e4cc7a26a7f',
  ],
  adSegment: '74726f76652f763104a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf00000002000300000004',
  segmentNumber: '010100000300000002000000000000f83f000000000000000000000000000000c0',
  segmentCategory: '01060000040000000202000000000000000100000003000000040000006162c3a900000000000000000100000000000000',
  segmentRecordIds: '01000000030000000000000000000000000000000000f03f0000000000001440',
  sealedSegment:
    '404142434445464748494a4b4c4d4e4f5051525354555657989c19e9c179d5e802b3fb4ae053d6fbb6650bd40bf491cd7f4e21ba9524748d4f9ec98fbc6e3183fb20ee234e39d7f907',
};

describe('vault format known-answer vectors', () => {
  beforeAll(() => sodium.ready);

  it('are the ones docs/vault-format.md publishes', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../../docs/vault-format.md', import.meta.url)), 'utf8');
    const published = [V.kek, V.adMasterKey, V.sealedMasterKey, ...V.purposeKeys, V.adSegment, V.segmentNumber, V.segmentCategory, V.segmentRecordIds, V.sealedSegment];
    for (const hex of published) expect(doc).toContain(`\`${hex}\``);
  });

  it('the AEAD is XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha, A.3.1)', () => {
    const pt = new TextEncoder().encode("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const ad = hexToBytes('50515253c0c1c2c3c4c5c6c7');
    const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(pt, ad, null, seq(0x40, 24), seq(0x80, 32));
    expect(bytesToHex(ct)).toBe(
      'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e' +
        'c0875924c1c7987947deafd8780acf49',
    );
  });

  it('derives the key-encryption key with Argon2id', () => {
    const kek = deriveKek(V.passphrase, { algorithm: 'argon2id13', opsLimit: 1, memLimit: 8 * 1024 * 1024, salt: V.salt });
    expect(bytesToHex(kek)).toBe(V.kek);
  });

  it('wraps the master key bound to the vault id', () => {
    const ad = associatedData({ kind: SealKind.masterKey, vaultId: V.vaultId });
    expect(bytesToHex(ad)).toBe(V.adMasterKey);
    const mk = open(hexToBytes(V.kek), hexToBytes(V.sealedMasterKey), { kind: SealKind.masterKey, vaultId: V.vaultId }, 'master key');
    expect(mk).toEqual(V.masterKey);
    // The same ciphertext under another vault id does not open.
    expect(() => open(hexToBytes(V.kek), hexToBytes(V.sealedMasterKey), { kind: SealKind.masterKey, vaultId: V.datasetId }, 'master key')).toThrow(
      expect.objectContaining({ code: 'CORRUPT_DATA' }),
    );
  });

  it('derives purpose keys 1-5 from the master key with crypto_kdf, context "trovevlt"', () => {
    expect(V.purposeKeys.map((_, i) => bytesToHex(derivePurposeKey(V.masterKey, i + 1)))).toEqual(V.purposeKeys);
  });

  it('encodes column segments', () => {
    const num = { type: 'number' as const, values: Float64Array.from([1.5, 0, -2]), nulls: Uint8Array.from([0, 1, 0]) };
    expect(bytesToHex(encodeColumn(num, 3))).toBe(V.segmentNumber);
    expect(decodeColumn(hexToBytes(V.segmentNumber), 'number')).toEqual(num);
    const cat = { type: 'category' as const, values: ['a', null, 'bé', 'a'] };
    expect(bytesToHex(encodeColumn(cat, 4))).toBe(V.segmentCategory);
    expect(decodeColumn(hexToBytes(V.segmentCategory), 'category')).toEqual(cat);
    expect(bytesToHex(encodeRecordIds(Float64Array.from([0, 1, 5])))).toBe(V.segmentRecordIds);
    expect(Array.from(decodeRecordIds(hexToBytes(V.segmentRecordIds)))).toEqual([0, 1, 5]);
  });

  it('seals a segment bound to (vault, dataset, block, column, version)', () => {
    const place = { kind: SealKind.segment, vaultId: V.vaultId, ownerId: V.datasetId, slot: 2, column: 3, version: 4 };
    expect(bytesToHex(associatedData(place))).toBe(V.adSegment);
    expect(bytesToHex(open(V.dataKey, hexToBytes(V.sealedSegment), place, 'segment'))).toBe(V.segmentNumber);
    for (const moved of [{ slot: 1 }, { column: 2 }, { version: 3 }, { ownerId: V.vaultId }, { kind: SealKind.manifest }]) {
      expect(() => open(V.dataKey, hexToBytes(V.sealedSegment), { ...place, ...moved }, 'segment')).toThrow(expect.objectContaining({ code: 'CORRUPT_DATA' }));
    }
  });

  it('refuses segments whose structure is damaged even if they were authentic', () => {
    const bytes = hexToBytes(V.segmentCategory);
    expect(() => decodeColumn(bytes.subarray(0, bytes.length - 1), 'category')).toThrow(expect.objectContaining({ code: 'CORRUPT_DATA' }));
    expect(() => decodeColumn(bytes, 'number')).toThrow(expect.objectContaining({ code: 'CORRUPT_DATA' }));
    const badCode = Uint8Array.from(bytes);
    badCode[badCode.length - 4] = 9;
    expect(() => decodeColumn(badCode, 'category')).toThrow(expect.objectContaining({ code: 'CORRUPT_DATA' }));
  });
});
