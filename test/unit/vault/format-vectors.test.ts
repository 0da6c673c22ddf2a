// Known-answer vectors for docs/vault-format.md. A second implementation that reproduces these
// reads Trove vaults; a change here is a change of the vault format.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { chainHash } from '../../../main/services/vault/activity.js';
import { headerChecksum, headerChecksumInput } from '../../../main/services/vault/header.js';
import { openState } from '../../../main/services/vault/state.js';
import { decodeLastSeen, encodeLastSeen, fileLastSeen } from '../../../main/services/vault/last-seen.js';
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
    'd5f520c8272d7d216ec42048416567d3d9f3541798b4cc7f05cf8ceb589446b1',
    '979a40e24560921387b4d8b74337532fabe1e069b2aa06b05c3329d8383bdf6c',
  ],
  createdAt: 1764000000000,
  headerChecksum: '62da1b2f58b92ac41d54fb4415b04dd655e77557210775661cf8202635d3c67f',
  settingName: 'jobs.participation.31337.0x5fbdb2315678afecb367f032d93f642f64180aa3',
  settingId: 'dffad4d3cd9415432e97dbdf974c1aaf',
  firstEntry: '{"seq":1,"at":1764000000000,"kind":"vault.created","summary":"Vault created on this device.","prev":"0000000000000000000000000000000000000000000000000000000000000000"}',
  firstEntryHash: 'd44cd04a6d8ee20dfc2bcec4d1a77d30c585cdd745dcf11d4b63dc426e95e6c2',
  emptySettingsDigest: '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8',
  stateJson: '{"generation":3,"startedAt":0,"log":{"seq":1,"hash":"d44cd04a6d8ee20dfc2bcec4d1a77d30c585cdd745dcf11d4b63dc426e95e6c2"},"datasets":[["b0b1b2b3b4b5b6b7b8b9babbbcbdbebf",2]],"settings":"0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"}',
  sealedState:
    '404142434445464748494a4b4c4d4e4f50515253545556572c8bce87bd7e139433961150e2bf30f83266bdae7a69a11586bfe3b2b5fe7bb8bab9ea1739ccfde1b3f085eb68e238934ecc21ca8f447ec886839303866a2a129385e5ef4d43bc6a1fe6cc1a16fe3828e902453779701c3dfa1b0292cf4906d6e132ecd12ae7509264aa4872e6b6b40b1a9757567d02ea9c570d0e8195d9e0b562a5ed5c215c029af6531a1791c2c87d5f6c660d93430758bf68548f13b6d799e3bd51055d2031701b32312cec2a749ea775e01055bb640e0168c9c1daf688401f373a94a97f85e940b962da44b75057ab430ebe5d38049acb5b5fa8c077decc34e042ab16a6111d2cd1ff3c8b2002a6acab0b9a1d799c7e660ee3d0209350eb24a514a5bc3c4df1dc6e',
  tinyBackup:
    '54524f5645424b01000001967b22666f726d6174223a312c227661756c744964223a226130613161326133613461356136613761386139616161626163616461656166222c227661756c74437265617465644174223a313736343030303030303030302c226261636b656455704174223a313736343030303030303030302c226b6466223a7b22616c676f726974686d223a226172676f6e3269643133222c226f70734c696d6974223a312c226d656d4c696d6974223a383338383630382c2273616c74223a223030303130323033303430353036303730383039306130623063306430653066227d2c226d61737465724b65795365616c6564223a22343034313432343334343435343634373438343934613462346334643465346635303531353235333534353535363537636132623335663265303662663564346366636238323962373639356535366332663030626561316164336633646139623737623137316161666538316336306438636531326536636439303232303662666134613436626632336137663662222c22736e617073686f744279746573223a31367df383bf2cc44d5df35bf07e1780a4a45ae0103aeb960b8a750000002110b89716e929f1033f3cdc084c18e3f774d70d16f09ebc2b634db3b22529e7e6cb',
  adSegment: '74726f76652f763104a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf00000002000300000004',
  segmentNumber: '010100000300000002000000000000f83f000000000000000000000000000000c0',
  segmentCategory: '01060000040000000202000000000000000100000003000000040000006162c3a900000000000000000100000000000000',
  segmentString: '0103000004000000020000000001000000010000000300000005000000080000006162c3a9f09f9880',
  segmentBoolean: '010400000300000002010000',
  segmentRecordIds: '01000000030000000000000000000000000000000000f03f0000000000001440',
  lastSeenRecord: '7b22666f726d6174223a312c227661756c7473223a7b226130613161326133613461356136613761386139616161626163616461656166223a337d7d',
  sealedSegment:
    '404142434445464748494a4b4c4d4e4f5051525354555657989c19e9c179d5e802b3fb4ae053d6fbb6650bd40bf491cd7f4e21ba9524748d4f9ec98fbc6e3183fb20ee234e39d7f907',
};

describe('vault format known-answer vectors', () => {
  beforeAll(() => sodium.ready);

  it('are the ones docs/vault-format.md publishes', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../../docs/vault-format.md', import.meta.url)), 'utf8');
    const published = [
      V.kek, V.adMasterKey, V.sealedMasterKey, ...V.purposeKeys, V.adSegment, V.segmentNumber, V.segmentCategory, V.segmentString, V.segmentBoolean, V.segmentRecordIds, V.sealedSegment,
      V.headerChecksum, V.settingId, V.firstEntryHash, V.tinyBackup, V.emptySettingsDigest, V.sealedState, V.lastSeenRecord,
    ];
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

  it('derives purpose keys 1-7 from the master key with crypto_kdf, context "trovevlt"', () => {
    expect(V.purposeKeys.map((_, i) => bytesToHex(derivePurposeKey(V.masterKey, i + 1)))).toEqual(V.purposeKeys);
  });

  it('encodes column segments', () => {
    const num = { type: 'number' as const, values: Float64Array.from([1.5, 0, -2]), nulls: Uint8Array.from([0, 1, 0]) };
    expect(bytesToHex(encodeColumn(num, 3))).toBe(V.segmentNumber);
    expect(decodeColumn(hexToBytes(V.segmentNumber), 'number')).toEqual(num);
    const cat = { type: 'category' as const, values: ['a', null, 'bé', 'a'] };
    expect(bytesToHex(encodeColumn(cat, 4))).toBe(V.segmentCategory);
    expect(decodeColumn(hexToBytes(V.segmentCategory), 'category')).toEqual(cat);
    const text = { type: 'string' as const, values: ['a', null, 'bé', '\u{1F600}'] };
    expect(bytesToHex(encodeColumn(text, 4))).toBe(V.segmentString);
    expect(decodeColumn(hexToBytes(V.segmentString), 'string')).toEqual(text);
    const flags = { type: 'boolean' as const, values: Float64Array.from([1, 0, 0]), nulls: Uint8Array.from([0, 1, 0]) };
    expect(bytesToHex(encodeColumn(flags, 3))).toBe(V.segmentBoolean);
    expect(decodeColumn(hexToBytes(V.segmentBoolean), 'boolean')).toEqual(flags);
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

  it('checksums the header over its compact JSON, and a spaced serialisation does not match', () => {
    const header = {
      formatVersion: 1,
      vaultId: V.vaultId,
      kdf: { algorithm: 'argon2id13' as const, opsLimit: 1, memLimit: 8 * 1024 * 1024, salt: V.salt },
      masterKeySealed: hexToBytes(V.sealedMasterKey),
      createdAt: V.createdAt,
    };
    const input = headerChecksumInput(header);
    expect(input).toBe(`[1,"${bytesToHex(V.vaultId)}","argon2id13",1,8388608,"${bytesToHex(V.salt)}","${V.sealedMasterKey}",${V.createdAt}]`);
    expect(bytesToHex(headerChecksum(header))).toBe(V.headerChecksum);
    // Positive control: the same fields written with a default pretty serialiser give another checksum.
    const spaced = JSON.stringify(JSON.parse(input), null, 1);
    expect(bytesToHex(sodium.crypto_generichash(32, new TextEncoder().encode(spaced), null))).not.toBe(V.headerChecksum);
  });

  it("names a setting by keyed BLAKE2b-128 of its name under purpose key 6", () => {
    const id = sodium.crypto_generichash(16, new TextEncoder().encode(V.settingName), derivePurposeKey(V.masterKey, 6));
    expect(bytesToHex(id)).toBe(V.settingId);
    // Without the key the id cannot be recomputed from a guessed name.
    expect(bytesToHex(sodium.crypto_generichash(16, new TextEncoder().encode(V.settingName), null))).not.toBe(V.settingId);
  });

  it("chains the log with keyed BLAKE2b-256 of each entry's exact JSON bytes", () => {
    const chainKey = derivePurposeKey(V.masterKey, 2);
    const entry = { seq: 1, at: V.createdAt, kind: 'vault.created', summary: 'Vault created on this device.', prev: '00'.repeat(32) };
    expect(JSON.stringify(entry)).toBe(V.firstEntry);
    expect(chainHash(chainKey, new TextEncoder().encode(V.firstEntry))).toBe(V.firstEntryHash);
    expect(chainHash(chainKey, new TextEncoder().encode(JSON.stringify(entry, null, 1)))).not.toBe(V.firstEntryHash);
  });

  it('opens a tiny backup file by the document alone', () => {
    const file = Buffer.from(V.tinyBackup, 'hex');
    expect(file.subarray(0, 8).toString('latin1')).toBe('TROVEBK\x01');
    const headerLength = file.readUInt32BE(8);
    const headerBytes = file.subarray(12, 12 + headerLength);
    const header = JSON.parse(headerBytes.toString('utf8')) as { vaultId: string; masterKeySealed: string; snapshotBytes: number; kdf: { salt: string; opsLimit: number; memLimit: number } };
    expect(header).toMatchObject({ vaultId: bytesToHex(V.vaultId), masterKeySealed: V.sealedMasterKey, snapshotBytes: 16, kdf: { salt: bytesToHex(V.salt), opsLimit: 1, memLimit: 8388608 } });
    // The passphrase opens the header's master key, which derives the stream key (purpose 4).
    const kek = deriveKek(V.passphrase, { algorithm: 'argon2id13', opsLimit: 1, memLimit: 8388608, salt: hexToBytes(header.kdf.salt) });
    const mk = open(kek, hexToBytes(header.masterKeySealed), { kind: SealKind.masterKey, vaultId: hexToBytes(header.vaultId) }, 'master key');
    let o = 12 + headerLength;
    const streamHeader = file.subarray(o, (o += 24));
    const frameLength = file.readUInt32BE(o);
    const frame = file.subarray(o + 4, o + 4 + frameLength);
    expect(o + 4 + frameLength).toBe(file.length);
    const pull = () => sodium.crypto_secretstream_xchacha20poly1305_init_pull(streamHeader, derivePurposeKey(mk, 4));
    const got = sodium.crypto_secretstream_xchacha20poly1305_pull(pull(), frame, headerBytes) as { message: Uint8Array; tag: number };
    expect(Buffer.from(got.message).toString('latin1')).toBe('SQLite format 3\0');
    expect(got.tag).toBe(sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL);
    // The header is the first frame's associated data: without it, or with it edited, the frame fails.
    expect(sodium.crypto_secretstream_xchacha20poly1305_pull(pull(), frame, null)).toBe(false);
    const edited = Buffer.from(headerBytes);
    edited[edited.length - 2]! ^= 1;
    expect(sodium.crypto_secretstream_xchacha20poly1305_pull(pull(), frame, edited)).toBe(false);
  });

  it('seals the vault-wide state under purpose key 7, kind 8, bound to the vault id only', () => {
    const key = derivePurposeKey(V.masterKey, 7);
    expect(bytesToHex(sodium.crypto_generichash(32, new Uint8Array(0), null))).toBe(V.emptySettingsDigest);
    const state = openState(key, V.vaultId, hexToBytes(V.sealedState));
    expect(JSON.stringify(state)).toBe(V.stateJson);
    expect(state).toMatchObject({ generation: 3, log: { seq: 1, hash: V.firstEntryHash }, datasets: [[bytesToHex(V.datasetId), 2]], settings: V.emptySettingsDigest });
    expect(() => openState(key, V.datasetId, hexToBytes(V.sealedState))).toThrow(expect.objectContaining({ code: 'CORRUPT_DATA' }));
  });

  it('keeps the last state seen on this device as the document says, beside the vault in the CLI', () => {
    // After the state above (generation 3) is written, the device's record holds that count for the vault id.
    const state = openState(derivePurposeKey(V.masterKey, 7), V.vaultId, hexToBytes(V.sealedState));
    const text = encodeLastSeen({ [bytesToHex(V.vaultId)]: state.generation });
    expect(bytesToHex(new TextEncoder().encode(text))).toBe(V.lastSeenRecord);
    const dir = mkdtempSync(join(tmpdir(), 'trove-last-seen-'));
    try {
      const file = join(dir, 'vault.db.last-seen');
      fileLastSeen(file).write(bytesToHex(V.vaultId), state.generation);
      expect(bytesToHex(readFileSync(file))).toBe(V.lastSeenRecord);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // A reader keeps only well-formed entries, and reads anything else as no record at all.
    const id = bytesToHex(V.vaultId);
    expect(decodeLastSeen(`{"format":1,"vaults":{"${id.toUpperCase()}":9,"${id}":7,"${'b'.repeat(32)}":-1,"${'c'.repeat(32)}":2.5,"${'d'.repeat(32)}":"4","${'e'.repeat(30)}":1}}`)).toEqual({ [id]: 7 });
    for (const other of [`{"format":2,"vaults":{"${id}":7}}`, `{"vaults":{"${id}":7}}`, `{"format":1,"vaults":[7]}`, 'not json', '']) expect(decodeLastSeen(other), other).toEqual({});
  });
});
