// The key hierarchy: passphrase -Argon2id-> key-encryption key -wraps-> master key -wraps->
// per-dataset data keys; the master key also derives the vault's purpose keys (log, settings,
// backup). Every key lives in one KeyRing so that locking wipes all of them at once.
import sodium from 'libsodium-wrappers-sumo';
import { TroveError } from '../../../common/errors.js';
import { KEY_BYTES, SealKind, open, randomBytes, seal } from '../../../common/vault-format.js';

export interface KdfParams {
  algorithm: 'argon2id13';
  /** Argon2id passes. */
  opsLimit: number;
  /** Argon2id memory in bytes. */
  memLimit: number;
  salt: Uint8Array;
}

/** libsodium's MODERATE: ~1.7 s and 256 MiB on a 2-core machine. The default for new vaults. */
export const DEFAULT_KDF = { opsLimit: 3, memLimit: 256 * 1024 * 1024 } as const;
/** libsodium's INTERACTIVE: ~0.1 s and 64 MiB, for machines short of memory. */
export const INTERACTIVE_KDF = { opsLimit: 2, memLimit: 64 * 1024 * 1024 } as const;
const MIN_OPS = 1;
const MAX_OPS = 16;
const MIN_MEM = 8 * 1024 * 1024;
const MAX_MEM = 4 * 1024 * 1024 * 1024 - 1;
export const SALT_BYTES = 16;

/** Refuses parameters a damaged or hostile header could carry (too weak, or too costly to try). */
export function checkKdfParams(p: { opsLimit: number; memLimit: number; salt?: Uint8Array }): void {
  const ok =
    Number.isInteger(p.opsLimit) && p.opsLimit >= MIN_OPS && p.opsLimit <= MAX_OPS &&
    Number.isInteger(p.memLimit) && p.memLimit >= MIN_MEM && p.memLimit <= MAX_MEM &&
    (p.salt === undefined || p.salt.length === SALT_BYTES);
  if (!ok) {
    throw new TroveError('CORRUPT_DATA', 'The vault header asks for key-derivation settings Trove does not accept. The file is damaged or was not made by Trove.', {
      opsLimit: p.opsLimit,
      memLimit: p.memLimit,
    });
  }
}

export function passphraseBytes(passphrase: string): Uint8Array {
  return new TextEncoder().encode(passphrase.normalize('NFC'));
}

/**
 * Argon2id over the passphrase. Always runs at full cost: a wrong passphrase is only found out
 * afterwards, when the master key fails to unwrap, so timing says nothing about it.
 */
export function deriveKek(passphrase: string, params: KdfParams): Uint8Array {
  checkKdfParams(params);
  const pw = passphraseBytes(passphrase);
  try {
    return sodium.crypto_pwhash(KEY_BYTES, pw, params.salt, params.opsLimit, params.memLimit, sodium.crypto_pwhash_ALG_ARGON2ID13);
  } finally {
    sodium.memzero(pw);
  }
}

/** Seals the master key under a KEK from the passphrase and a fresh salt. */
export function wrapMasterKey(passphrase: string, masterKey: Uint8Array, vaultId: Uint8Array, cost: { opsLimit: number; memLimit: number }): { kdf: KdfParams; sealed: Uint8Array } {
  const kdf: KdfParams = { algorithm: 'argon2id13', ...cost, salt: randomBytes(SALT_BYTES) };
  const kek = deriveKek(passphrase, kdf);
  try {
    return { kdf, sealed: seal(kek, masterKey, { kind: SealKind.masterKey, vaultId }) };
  } finally {
    sodium.memzero(kek);
  }
}

/**
 * Derives the KEK (at full cost) and opens the sealed master key with it. A failure to open is a
 * wrong passphrase as far as anyone can tell; `wrong` says so in the words of the caller.
 */
export function unwrapMasterKey(passphrase: string, kdf: KdfParams, sealed: Uint8Array, vaultId: Uint8Array, wrong: string): Uint8Array {
  if (typeof passphrase !== 'string') throw new TroveError('INVALID_INPUT', 'The passphrase must be text.');
  const kek = deriveKek(passphrase, kdf);
  try {
    return open(kek, sealed, { kind: SealKind.masterKey, vaultId }, 'master key');
  } catch {
    throw new TroveError('WRONG_PASSPHRASE', wrong);
  } finally {
    sodium.memzero(kek);
  }
}

/** Purpose keys derived from the master key with crypto_kdf (BLAKE2b), context "trovevlt". */
export const Purpose = {
  activitySeal: 1,
  activityChain: 2,
  settings: 3,
  backup: 4,
  jobIdentity: 5,
  settingIds: 6,
  vaultState: 7,
} as const;
const KDF_CONTEXT = 'trovevlt';

export function derivePurposeKey(masterKey: Uint8Array, purpose: number): Uint8Array {
  return sodium.crypto_kdf_derive_from_key(KEY_BYTES, purpose, KDF_CONTEXT, masterKey);
}

/** Holds every unwrapped key of an unlocked vault. wipe() zeroes them all. */
export class KeyRing {
  readonly masterKey: Uint8Array;
  readonly activitySeal: Uint8Array;
  readonly activityChain: Uint8Array;
  readonly settings: Uint8Array;
  /** Keys the hash that turns a setting's name into its opaque id. */
  readonly settingIds: Uint8Array;
  readonly vaultState: Uint8Array;
  private readonly dataKeys = new Map<string, Uint8Array>();
  private wiped = false;

  constructor(masterKey: Uint8Array) {
    this.masterKey = masterKey;
    this.activitySeal = derivePurposeKey(masterKey, Purpose.activitySeal);
    this.activityChain = derivePurposeKey(masterKey, Purpose.activityChain);
    this.settings = derivePurposeKey(masterKey, Purpose.settings);
    this.settingIds = derivePurposeKey(masterKey, Purpose.settingIds);
    this.vaultState = derivePurposeKey(masterKey, Purpose.vaultState);
  }

  purposeKey(purpose: number): Uint8Array {
    return derivePurposeKey(this.masterKey, purpose);
  }

  dataKey(datasetId: string, unwrap: () => Uint8Array): Uint8Array {
    let key = this.dataKeys.get(datasetId);
    if (!key) {
      key = unwrap();
      this.dataKeys.set(datasetId, key);
    }
    return key;
  }

  /** Forgets and zeroes a dataset's key (the dataset is being deleted). */
  forgetDataKey(datasetId: string): void {
    const key = this.dataKeys.get(datasetId);
    if (key) sodium.memzero(key);
    this.dataKeys.delete(datasetId);
  }

  /** Every key buffer this ring holds, for wiping (and for tests that check the wipe). */
  allKeys(): Uint8Array[] {
    return [this.masterKey, this.activitySeal, this.activityChain, this.settings, this.settingIds, this.vaultState, ...this.dataKeys.values()];
  }

  get isWiped(): boolean {
    return this.wiped;
  }

  wipe(): void {
    for (const key of this.allKeys()) sodium.memzero(key);
    this.dataKeys.clear();
    this.wiped = true;
  }
}
