// The vault header: format version, vault id, key-derivation parameters and the wrapped master
// key, with a checksum that tells accidental damage from a wrong passphrase.
import type Database from 'better-sqlite3';
import sodium from 'libsodium-wrappers-sumo';
import { TroveError } from '../../../common/errors.js';
import { FORMAT_VERSION, ID_BYTES, bytesToHex } from '../../../common/vault-format.js';
import { checkKdfParams, type KdfParams } from './keys.js';

export interface Header {
  formatVersion: number;
  vaultId: Uint8Array;
  kdf: KdfParams;
  masterKeySealed: Uint8Array;
  createdAt: number;
}

/**
 * BLAKE2b-256 over the compact JSON array of the header's fields (no spaces, lowercase hex,
 * integers): the exact bytes matter, so docs/vault-format.md spells them out.
 */
export function headerChecksumInput(h: Header): string {
  return JSON.stringify([
    h.formatVersion,
    bytesToHex(h.vaultId),
    h.kdf.algorithm,
    h.kdf.opsLimit,
    h.kdf.memLimit,
    bytesToHex(h.kdf.salt),
    bytesToHex(h.masterKeySealed),
    h.createdAt,
  ]);
}

export function headerChecksum(h: Header): Buffer {
  return Buffer.from(sodium.crypto_generichash(32, new TextEncoder().encode(headerChecksumInput(h)), null));
}

export function readHeader(db: Database.Database): Header {
  const row = db.prepare('SELECT * FROM header WHERE id = 1').get() as
    | { format_version: number; vault_id: Buffer; kdf_algorithm: string; kdf_ops: number; kdf_mem: number; kdf_salt: Buffer; master_key_sealed: Buffer; created_at: number; checksum: Buffer }
    | undefined;
  if (!row) throw new TroveError('CORRUPT_DATA', 'This file is not a Trove vault (it has no vault header).');
  if (row.format_version !== FORMAT_VERSION) {
    throw new TroveError('VAULT_TOO_NEW', 'This vault uses a format this version of Trove cannot read. Update Trove to open it.', { formatVersion: row.format_version });
  }
  if (row.kdf_algorithm !== 'argon2id13') throw new TroveError('CORRUPT_DATA', 'The vault header names an unknown key-derivation algorithm.');
  const header: Header = {
    formatVersion: row.format_version,
    vaultId: new Uint8Array(row.vault_id),
    kdf: { algorithm: 'argon2id13', opsLimit: row.kdf_ops, memLimit: row.kdf_mem, salt: new Uint8Array(row.kdf_salt) },
    masterKeySealed: new Uint8Array(row.master_key_sealed),
    createdAt: row.created_at,
  };
  if (!headerChecksum(header).equals(row.checksum) || header.vaultId.length !== ID_BYTES) {
    throw new TroveError('CORRUPT_DATA', "The vault's header is damaged, so it cannot be unlocked. Restore from a backup.");
  }
  checkKdfParams(header.kdf);
  return header;
}

export function writeHeader(db: Database.Database, h: Header): void {
  db.prepare(
    `INSERT INTO header (id, format_version, vault_id, kdf_algorithm, kdf_ops, kdf_mem, kdf_salt, master_key_sealed, created_at, checksum)
     VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT(id) DO UPDATE SET kdf_ops = excluded.kdf_ops, kdf_mem = excluded.kdf_mem, kdf_salt = excluded.kdf_salt,
       master_key_sealed = excluded.master_key_sealed, checksum = excluded.checksum`,
  ).run(h.formatVersion, Buffer.from(h.vaultId), h.kdf.algorithm, h.kdf.opsLimit, h.kdf.memLimit, Buffer.from(h.kdf.salt), Buffer.from(h.masterKeySealed), h.createdAt, headerChecksum(h));
}
