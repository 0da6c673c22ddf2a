// Encrypted backup to one file, and restore into a new place. The file carries the vault header's
// key-derivation parameters and wrapped master key in the clear (as the vault itself does), then
// a consistent snapshot of the database sealed with libsodium's secretstream, whose final tag
// makes a cut-off file detectable. Restore writes nothing at the target until every byte has
// been authenticated and the restored vault has passed its integrity check.
import { closeSync, createReadStream, existsSync, fstatSync, openSync, readSync, readdirSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
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

// Temporaries carry the writing process's id, so a later run can tell one left by a killed
// process (removed) from one still being written by a running one (kept).
function tempPath(beside: string, tag: string): string {
  return join(dirname(beside), `.${tag}-${process.pid}-${bytesToHex(randomBytes(8))}.tmp`);
}

const TEMP = /^\.(restore|snapshot|backup)-(?:(\d+)-)?[0-9a-f]{16}\.tmp(-wal|-shm|-journal)?$/;
/** Files without a process id come from before ids were written: any older than this are stale. */
const LEGACY_STALE_MS = 10 * 60_000;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes what a killed backup or restore left beside `beside` (a full copy of a vault, possibly). */
export function removeStaleTemporaries(beside: string): string[] {
  const dir = dirname(beside);
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = TEMP.exec(name);
    if (!m) continue;
    const path = join(dir, name);
    const pid = m[2] ? Number(m[2]) : null;
    try {
      const stale = pid !== null ? pid !== process.pid && !alive(pid) : Date.now() - statSync(path).mtimeMs > LEGACY_STALE_MS;
      if (!stale) continue;
      rmSync(path, { force: true });
      removed.push(name);
    } catch {
      // Gone already, or not ours to remove: leave it.
    }
  }
  return removed;
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

export interface LeftOut {
  id: string;
  problem: string;
}

/**
 * Writes an encrypted backup of an unlocked vault. The file appears only when complete. Datasets
 * that cannot be read are left out of it (a backup that holds them could never be restored) and
 * named in the result and in the log.
 */
export async function backupVault(vault: Vault, file: string, onProgress?: (p: BackupProgress) => void): Promise<{ bytes: number; leftOut: LeftOut[] }> {
  await sodiumReady();
  if (existsSync(file)) throw new TroveError('TARGET_EXISTS', 'A file with that name already exists. Choose another name for the backup.');
  removeStaleTemporaries(file);
  const snapshot = tempPath(file, 'snapshot');
  const partial = tempPath(file, 'backup');
  let fd: number | null = null;
  try {
    const leftOut = vault.checkIntegrity().damagedDatasets;
    await vault.snapshotTo(snapshot);
    const material = vault.backupMaterial();
    if (leftOut.length) {
      const copy = await Vault.openWithMasterKey(snapshot, material.masterKey, { autoLockMs: null });
      try {
        await copy.leaveOut(leftOut.map((d) => d.id), 'from this backup: they could not be read');
      } finally {
        copy.close();
      }
    }
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
    const bytes = statSync(file).size;
    const skipped = leftOut.length ? ` ${leftOut.length} damaged ${leftOut.length === 1 ? 'dataset was' : 'datasets were'} left out (${leftOut.map((d) => d.id.slice(0, 8)).join(', ')}).` : '';
    await vault.recordActivity('backup.created', `Encrypted backup saved to ${basename(file)} on this computer.${skipped}`, { bytes, ...(leftOut.length ? { leftOut: leftOut.map((d) => d.id) } : {}) });
    return { bytes, leftOut };
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
export async function restoreVault(
  backupFile: string,
  target: string,
  passphrase: string,
  opts: VaultOptions & { onProgress?: (p: BackupProgress) => void; onLeftOut?: (datasets: LeftOut[]) => void } = {},
): Promise<Vault> {
  await sodiumReady();
  removeStaleTemporaries(target);
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

    // The copy being checked is not yet the person's vault: it says nothing to the device's record of the last state seen.
    const { lastSeen, ...checkOpts } = opts;
    let vault: Vault;
    let generation: number | null = null;
    try {
      vault = await Vault.openWithMasterKey(partial, masterKey, checkOpts);
    } catch (err) {
      throw err instanceof TroveError && err.code === 'VAULT_TOO_NEW' ? err : damaged('the vault inside it cannot be opened');
    }
    try {
      if (vault.vaultId !== header.vaultId) throw damaged('it holds a different vault than its header says');
      let check = vault.checkIntegrity();
      // A damaged dataset does not cost the others: restore what is intact and say what is not.
      const leftOut = check.damagedDatasets;
      if (!check.ok && leftOut.length) {
        await vault.leaveOut(leftOut.map((d) => d.id), 'while restoring: they could not be read from the backup');
        check = vault.checkIntegrity();
      }
      if (!check.ok) throw damaged(`the vault inside it fails its checks: ${check.problems[0] ?? ''}`);
      if (leftOut.length) opts.onLeftOut?.(leftOut);
      await vault.recordActivity('vault.restored', `Vault restored from a backup made ${new Date(header.backedUpAt).toISOString()}.`);
      generation = vault.generation;
    } finally {
      vault.close();
    }
    renameSync(partial, target);
    // A restore is the person choosing an older state: from now on it is the last one seen.
    if (generation !== null) lastSeen?.write(header.vaultId, generation);
    const restored = await Vault.openWithMasterKey(target, masterKey, opts);
    return restored;
  } finally {
    if (out !== null) closeSync(out);
    closeSync(fd);
    if (masterKey) sodium.memzero(masterKey);
    removeQuietly(partial);
  }
}
