// Encrypted backup to one file, and restore into a new place. The file carries the vault header's
// key-derivation parameters and wrapped master key in the clear (as the vault itself does), then
// a consistent snapshot of the database sealed with libsodium's secretstream, whose final tag
// makes a cut-off file detectable. Restore writes nothing at the target until every byte has
// been authenticated and the restored vault has passed its integrity check.
import { closeSync, createReadStream, existsSync, fstatSync, openSync, readSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sodium from 'libsodium-wrappers-sumo';
import { TroveError } from '../../../common/errors.js';
import { bytesToHex, hexToBytes, randomBytes, sodiumReady } from '../../../common/vault-format.js';
import { Purpose, checkKdfParams, derivePurposeKey, unwrapMasterKey, type KdfParams } from './keys.js';
import { Vault, type VaultOptions } from './vault.js';

const MAGIC = Buffer.from('TROVEBK\x01', 'latin1');
const CHUNK = 1024 * 1024;
const MAX_HEADER = 64 * 1024;
const FRAME_OVERHEAD = 17; // secretstream ABYTES

interface BackupHeader {
  format: 1;
  vaultId: string;
  vaultCreatedAt: number;
  backedUpAt: number;
  kdf: { algorithm: 'argon2id13'; opsLimit: number; memLimit: number; salt: string };
  masterKeySealed: string;
  snapshotBytes: number;
}

export interface BackupProgress {
  bytesDone: number;
  totalBytes: number;
}

function tempPath(beside: string, tag: string): string {
  return join(dirname(beside), `.${tag}-${bytesToHex(randomBytes(8))}.tmp`);
}

function removeQuietly(...paths: string[]): void {
  for (const p of paths) for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(p + suffix, { force: true });
}

function writeFrame(fd: number, bytes: Uint8Array): void {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  writeSync(fd, len);
  writeSync(fd, bytes);
}

/** Writes an encrypted backup of an unlocked vault. The file appears only when complete. */
export async function backupVault(vault: Vault, file: string, onProgress?: (p: BackupProgress) => void): Promise<{ bytes: number }> {
  await sodiumReady();
  if (existsSync(file)) throw new TroveError('TARGET_EXISTS', 'A file with that name already exists. Choose another name for the backup.');
  const snapshot = tempPath(file, 'snapshot');
  const partial = tempPath(file, 'backup');
  let fd: number | null = null;
  try {
    await vault.snapshotTo(snapshot);
    const material = vault.backupMaterial();
    const total = statSync(snapshot).size;
    const header: BackupHeader = {
      format: 1,
      vaultId: bytesToHex(material.vaultId),
      vaultCreatedAt: material.createdAt,
      backedUpAt: Date.now(),
      kdf: { algorithm: 'argon2id13', opsLimit: material.kdf.opsLimit, memLimit: material.kdf.memLimit, salt: bytesToHex(material.kdf.salt) },
      masterKeySealed: bytesToHex(material.masterKeySealed),
      snapshotBytes: total,
    };
    const headerBytes = Buffer.from(JSON.stringify(header));
    const key = derivePurposeKey(material.masterKey, Purpose.backup);
    const { state, header: streamHeader } = sodium.crypto_secretstream_xchacha20poly1305_init_push(key);
    sodium.memzero(key);

    fd = openSync(partial, 'wx', 0o600);
    writeSync(fd, MAGIC);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(headerBytes.length);
    writeSync(fd, len);
    writeSync(fd, headerBytes);
    writeSync(fd, streamHeader);

    let done = 0;
    let first = true;
    const { TAG_MESSAGE, TAG_FINAL } = { TAG_MESSAGE: sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE, TAG_FINAL: sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL };
    for await (const chunk of createReadStream(snapshot, { highWaterMark: CHUNK }) as AsyncIterable<Buffer>) {
      done += chunk.length;
      // The header is bound to the stream as the first frame's associated data.
      writeFrame(fd, sodium.crypto_secretstream_xchacha20poly1305_push(state, chunk, first ? headerBytes : null, done === total ? TAG_FINAL : TAG_MESSAGE));
      first = false;
      onProgress?.({ bytesDone: done, totalBytes: total });
    }
    if (first || done !== total) throw new TroveError('CORRUPT_DATA', 'The vault snapshot changed while it was being backed up. Try again.');
    closeSync(fd);
    fd = null;
    renameSync(partial, file);
    await vault.recordActivity('backup.created', 'Encrypted backup written.', { bytes: statSync(file).size });
    return { bytes: statSync(file).size };
  } finally {
    if (fd !== null) closeSync(fd);
    removeQuietly(snapshot, partial);
  }
}

function damaged(why: string): TroveError {
  return new TroveError('BACKUP_DAMAGED', `The backup file is damaged (${why}), so nothing was restored. Try another copy of the backup.`);
}

class BackupReader {
  private offset = 0;
  readonly size: number;
  constructor(private readonly fd: number) {
    this.size = fstatSync(fd).size;
  }
  read(n: number, what: string): Buffer {
    if (n < 0 || this.offset + n > this.size) throw damaged(`it ends early, in the ${what}`);
    const buf = Buffer.alloc(n);
    let got = 0;
    while (got < n) got += readSync(this.fd, buf, got, n - got, this.offset + got);
    this.offset += n;
    return buf;
  }
  get atEnd(): boolean {
    return this.offset === this.size;
  }
}

function parseHeader(bytes: Buffer): BackupHeader & { kdfParams: KdfParams } {
  let h: BackupHeader;
  try {
    h = JSON.parse(bytes.toString('utf8')) as BackupHeader;
  } catch {
    throw damaged('its header is unreadable');
  }
  if (h?.format !== 1 || typeof h.vaultId !== 'string' || typeof h.masterKeySealed !== 'string' || typeof h.kdf !== 'object' || !Number.isSafeInteger(h.snapshotBytes)) {
    throw damaged('its header is incomplete');
  }
  try {
    const kdfParams: KdfParams = { algorithm: 'argon2id13', opsLimit: h.kdf.opsLimit, memLimit: h.kdf.memLimit, salt: hexToBytes(h.kdf.salt) };
    checkKdfParams(kdfParams);
    hexToBytes(h.vaultId);
    hexToBytes(h.masterKeySealed);
    return { ...h, kdfParams };
  } catch {
    throw damaged('its header has impossible settings');
  }
}

/**
 * Restores a backup into a new vault file at `target`. A wrong passphrase, a damaged or cut-off
 * file, or a vault that fails its checks leaves nothing at `target`.
 */
export async function restoreVault(backupFile: string, target: string, passphrase: string, opts: VaultOptions & { onProgress?: (p: BackupProgress) => void } = {}): Promise<Vault> {
  await sodiumReady();
  if (['', '-wal', '-shm'].some((s) => existsSync(target + s))) {
    throw new TroveError('TARGET_EXISTS', 'There is already a vault at that place. Restore into an empty location.');
  }
  let fd: number;
  try {
    fd = openSync(backupFile, 'r');
  } catch {
    throw new TroveError('UNREADABLE_FILE', 'The backup file could not be opened.');
  }
  const partial = tempPath(target, 'restore');
  let masterKey: Uint8Array | null = null;
  let out: number | null = null;
  try {
    const r = new BackupReader(fd);
    if (!r.read(MAGIC.length, 'file type').equals(MAGIC)) throw damaged('it is not a Trove backup');
    const headerLength = r.read(4, 'header').readUInt32BE();
    if (headerLength > MAX_HEADER) throw damaged('its header is too large');
    const headerBytes = r.read(headerLength, 'header');
    const header = parseHeader(headerBytes);
    const vaultId = hexToBytes(header.vaultId);

    masterKey = unwrapMasterKey(passphrase, header.kdfParams, hexToBytes(header.masterKeySealed), vaultId, 'That passphrase does not open this backup. Use the passphrase the vault had when the backup was made.');

    const key = derivePurposeKey(masterKey, Purpose.backup);
    let state: ReturnType<typeof sodium.crypto_secretstream_xchacha20poly1305_init_pull>;
    try {
      state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(r.read(sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES, 'stream header'), key);
    } catch {
      throw damaged('its stream header is wrong');
    } finally {
      sodium.memzero(key);
    }
    out = openSync(partial, 'wx', 0o600);
    let done = 0;
    let first = true;
    let final = false;
    while (!final) {
      const frameLength = r.read(4, 'data').readUInt32BE();
      if (frameLength > CHUNK + FRAME_OVERHEAD || frameLength < FRAME_OVERHEAD) throw damaged('a block has an impossible size');
      const frame = r.read(frameLength, 'data');
      const result = sodium.crypto_secretstream_xchacha20poly1305_pull(state, frame, first ? headerBytes : null) as { message: Uint8Array; tag: number } | false;
      if (!result) throw damaged('a block failed its integrity check');
      first = false;
      writeSync(out, result.message);
      done += result.message.length;
      final = result.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL;
      opts.onProgress?.({ bytesDone: done, totalBytes: header.snapshotBytes });
    }
    if (!r.atEnd || done !== header.snapshotBytes) throw damaged('it has data after its end');
    closeSync(out);
    out = null;

    let vault: Vault;
    try {
      vault = await Vault.openWithMasterKey(partial, masterKey, opts);
    } catch (err) {
      throw err instanceof TroveError && err.code === 'VAULT_TOO_NEW' ? err : damaged('the vault inside it cannot be opened');
    }
    try {
      if (vault.vaultId !== header.vaultId) throw damaged('it holds a different vault than its header says');
      const check = vault.checkIntegrity();
      if (!check.ok) throw damaged(`the vault inside it fails its checks: ${check.problems[0] ?? ''}`);
      await vault.recordActivity('vault.restored', `Vault restored from a backup made ${new Date(header.backedUpAt).toISOString()}.`);
    } finally {
      vault.close();
    }
    renameSync(partial, target);
    const restored = await Vault.openWithMasterKey(target, masterKey, opts);
    return restored;
  } finally {
    if (out !== null) closeSync(out);
    closeSync(fd);
    if (masterKey) sodium.memzero(masterKey);
    removeQuietly(partial);
  }
}
