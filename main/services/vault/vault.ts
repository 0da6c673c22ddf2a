// The vault: one SQLite file holding a person's datasets, sealed under keys their passphrase
// unlocks. The format is in docs/vault-format.md. Plain Node: no electron, so the app, the
// headless host, the demo and the tests all run this same code.
import { chmodSync, closeSync, existsSync, openSync, rmSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import Database from 'better-sqlite3';
import sodium from 'libsodium-wrappers-sumo';
import type { ActivityEntry, ActivityKind, ActivityVerification } from '../../../common/activity.js';
import type {
  CellValue,
  ColumnData,
  ColumnSchema,
  ColumnSummary,
  ColumnarRows,
  DatasetInfo,
  ImportFormat,
  ImportPreview,
  ImportProgress,
  ImportReport,
  RejectPolicy,
  RejectedRow,
} from '../../../common/dataset.js';
import { COLUMN_TYPES, isTextColumn } from '../../../common/dataset.js';
import { TroveError } from '../../../common/errors.js';
import { passphraseStrength } from '../../../common/passphrase-strength.js';
import {
  FORMAT_VERSION,
  ID_BYTES,
  KEY_BYTES,
  SealKind,
  bytesToHex,
  decodeColumn,
  decodeRecordIds,
  encodeColumn,
  encodeRecordIds,
  hexToBytes,
  open,
  openJson,
  randomBytes,
  seal,
  sealJson,
  sodiumReady,
} from '../../../common/vault-format.js';
import type { TaskDataSource } from '../../../common/worker-protocol.js';
import { ActivityLog, GENESIS } from './activity.js';
import { type BlockEntry, BlockBuilder, withoutRows } from './blocks.js';
import type { SourceRecord } from './import/sources.js';
import { PREVIEW_TYPE_BYTES, fileRecords, formatOf, inferColumnTypes, isData, sampleFile, skipHeader, unreadable, valueOf } from './import/file.js';
import { type ImportColumn, RowReader } from './import/rows.js';
import { INVALID, convert, toCell, toValue, whyInvalid } from './import/types.js';
import { DEFAULT_KDF, KeyRing, Purpose, checkKdfParams, unwrapMasterKey, wrapMasterKey, type KdfParams } from './keys.js';
import { damageError, guarded, isDamage } from './damage.js';
import { type Header, readHeader, writeHeader } from './header.js';
import { migrate } from './migrations/index.js';
import {
  type StateContents,
  type StateFinding,
  type VaultState,
  compareState,
  datasetVersions,
  describeState,
  openState,
  readSealedState,
  stateDigestOfSettings,
  writeState,
} from './state.js';
import { summarizeColumn } from './summary.js';
import type { LastSeenStore } from './last-seen.js';
import { toCsv } from '../../../common/csv-writer.js';
import { SerialQueue } from '../../../common/serial-queue.js';

export interface VaultOptions {
  /** Argon2id cost for a new vault (stored in its header). Defaults to libsodium's MODERATE. */
  kdf?: { opsLimit: number; memLimit: number };
  /** Lock after this long without use. null: never. Default: the vault's setting, else 5 minutes. */
  autoLockMs?: number | null;
  /** Records per block (tests use small blocks to exercise block boundaries). */
  blockRows?: number;
  /** The last state seen on this device, kept outside the file, to name a whole-file rollback. */
  lastSeen?: LastSeenStore | undefined;
}

export type { ImportColumn } from './import/rows.js';

export interface ImportOptions {
  /** Dataset name; defaults to the file name without its extension. */
  name?: string;
  format?: ImportFormat;
  delimiter?: string;
  /** Per source column: a new name or type, or skip it. Same order as the preview's columns. */
  columns?: { name?: string; type?: ColumnSchema['type']; skip?: boolean }[];
  policy?: RejectPolicy;
  onProgress?: (p: ImportProgress) => void;
  signal?: AbortSignal;
  maxRecordBytes?: number;
  /** Called for every rejected row, in order; the report lists only the first ones. */
  onRejected?: (row: RejectedRow) => void;
}

export interface RowsPage {
  total: number;
  columns: ColumnSchema[];
  rows: { id: number; values: CellValue[] }[];
}

export interface IntegrityReport {
  ok: boolean;
  datasets: number;
  segments: number;
  problems: string[];
  activity: ActivityVerification;
  /** What differs between the file and the sealed record of its contents; empty when they agree. */
  state: StateFinding[];
  /** Datasets that cannot be read, each with what is wrong. */
  damagedDatasets: { id: string; problem: string }[];
}

/** What a worker needs to read granted columns itself: see worker/vault-grant-reader.ts. */
export type VaultGrant = Extract<TaskDataSource, { kind: 'vault-grant' }>;


interface Manifest {
  name: string;
  columns: ColumnSchema[];
  createdAt: number;
  updatedAt: number;
  rowCount: number;
  nextRecordId: number;
  blocks: BlockEntry[];
  source?: { fileName: string; format: ImportFormat };
}

interface DatasetRow {
  id: Buffer;
  created_at: number;
  updated_at: number;
  data_key_sealed: Buffer;
  manifest_version: number;
  manifest_sealed: Buffer;
}

const DEFAULT_AUTO_LOCK_MS = 5 * 60_000;
const MAX_LISTED_REJECTIONS = 1000;
const AUTO_LOCK_SETTING = 'autoLockMs';

function openDatabase(path: string): Database.Database {
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true });
    db.pragma('journal_mode = WAL');
  } catch (err) {
    throw new TroveError('CORRUPT_DATA', 'This file is not a Trove vault, or it is damaged beyond opening. Restore from a backup.', undefined, { cause: err });
  }
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  // Freed pages are zeroed, so deleted ciphertext does not linger in the file.
  db.pragma('secure_delete = ON');
  db.pragma('temp_store = MEMORY');
  return db;
}

function checkPassphrase(passphrase: string): void {
  const strength = typeof passphrase === 'string' ? passphraseStrength(passphrase) : null;
  if (!strength?.acceptable) {
    throw new TroveError('WEAK_PASSPHRASE', `That passphrase is too easy to guess (${strength?.label.toLowerCase() ?? 'missing'}). ${strength?.hint ?? 'Type a passphrase.'}`);
  }
}

export class Vault {
  readonly path: string;
  private readonly db: Database.Database;
  private header: Header;
  private keys: KeyRing | null = null;
  private readonly opts: VaultOptions;
  private readonly log: ActivityLog;
  private readonly queue = new SerialQueue();
  private readonly importing = new Set<string>();
  private readonly aborters = new Set<AbortController>();
  private lockTimer: NodeJS.Timeout | null = null;
  private lastUse = 0;
  /** The file has no sealed record yet (it comes from before schema 5): the next unlock starts one. */
  private awaitingState = false;
  private autoLockMs: number | null = DEFAULT_AUTO_LOCK_MS;
  /** The change count of the sealed record as last written or read. */
  private stateGeneration: number | null = null;
  /** Set when the file is older than the last state seen on this device: reads go on, writes are refused. */
  private rolledBack: { found: number; seen: number } | null = null;
  /** Prepared once: an import inserts one segment per column per block. */
  private segmentInsert: Database.Statement | null = null;
  /** Prepared once: a scan reads one segment per column per block. */
  private segmentSelect: Database.Statement | null = null;
  private readonly lockListeners = new Set<(reason: 'manual' | 'idle') => void>();

  private constructor(path: string, db: Database.Database, header: Header, opts: VaultOptions) {
    this.path = path;
    this.db = db;
    this.header = header;
    this.opts = opts;
    this.log = new ActivityLog(db, header.vaultId, () => this.requireKeys());
  }

  /** Creates a new vault file and returns it unlocked. */
  static async create(path: string, passphrase: string, opts: VaultOptions = {}): Promise<Vault> {
    await sodiumReady();
    checkPassphrase(passphrase);
    if (existsSync(path)) throw new TroveError('VAULT_EXISTS', 'A file already exists there. Choose another place for the new vault.', { path: basename(path) });
    const cost = opts.kdf ?? DEFAULT_KDF;
    checkKdfParams(cost);
    // Only the person's account may read the file: created 600, and SQLite gives its -wal and -shm
    // the same mode as the database.
    closeSync(openSync(path, 'wx', 0o600));
    chmodSync(path, 0o600);
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      migrate(db);
      const vaultId = randomBytes(ID_BYTES);
      const masterKey = randomBytes(KEY_BYTES);
      const { kdf, sealed } = wrapMasterKey(passphrase, masterKey, vaultId, cost);
      const header: Header = { formatVersion: FORMAT_VERSION, vaultId, kdf, masterKeySealed: sealed, createdAt: Date.now() };
      writeHeader(db, header);
      db.close();
      const vault = new Vault(path, openDatabase(path), header, opts);
      vault.becomeUnlocked(masterKey, true);
      vault.db.transaction(() => {
        // `sealedRecord` tells verify that this vault had its record from the start, so any later start is a removal.
        vault.log.append('vault.created', 'Vault created on this device.', { sealedRecord: true });
        vault.saveState(0);
      })();
      vault.noteSeen();
      return vault;
    } catch (err) {
      if (db.open) db.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true });
      throw err;
    }
  }

  /** Opens an existing vault, locked. Brings its schema up to date. */
  static async open(path: string, opts: VaultOptions = {}): Promise<Vault> {
    await sodiumReady();
    if (!existsSync(path)) throw new TroveError('VAULT_NOT_FOUND', 'There is no vault at that location.', { path: basename(path) });
    const db = openDatabase(path);
    try {
      migrate(db);
      return new Vault(path, db, readHeader(db), opts);
    } catch (err) {
      db.close();
      if (err instanceof TroveError) throw err;
      throw new TroveError('CORRUPT_DATA', 'This file is not a Trove vault, or it is damaged. Restore from a backup.', undefined, { cause: err });
    }
  }

  get vaultId(): string {
    return bytesToHex(this.header.vaultId);
  }

  get isUnlocked(): boolean {
    return this.keys !== null;
  }

  /**
   * Runs Argon2id at the vault's full cost, then unwraps the master key; a wrong passphrase fails
   * only then. `logUnlock: false` is for one-shot commands, whose own action is what the log should
   * show (a session's unlock is logged once, not every command's); failed attempts are still reported.
   */
  async unlock(passphrase: string, { logUnlock = true }: { logUnlock?: boolean } = {}): Promise<void> {
    let masterKey: Uint8Array;
    try {
      masterKey = this.unwrap(passphrase, 'That passphrase does not unlock this vault. Check for typing mistakes and caps lock, and try again.');
    } catch (err) {
      if (err instanceof TroveError && err.code === 'WRONG_PASSPHRASE') {
        try {
          this.db.prepare('INSERT INTO unlock_failures (at) VALUES (?)').run(Date.now());
        } catch (noted) {
          if (!isDamage(noted)) throw noted;
        }
      }
      throw err;
    }
    if (this.keys) sodium.memzero(masterKey);
    else {
      this.becomeUnlocked(masterKey);
      try {
        this.commit(() => {
          const failed = (this.db.prepare('SELECT at FROM unlock_failures ORDER BY at').all() as { at: number }[]).map((r) => r.at);
          if (failed.length) {
            const n = failed.length;
            this.log.append('vault.unlock-failed', `${n} failed ${n === 1 ? 'attempt' : 'attempts'} to unlock with a wrong passphrase since the last unlock, the latest at ${new Date(failed[n - 1]!).toISOString()}.`, { attempts: failed });
            this.db.prepare('DELETE FROM unlock_failures').run();
          }
          if (logUnlock) this.log.append('vault.unlocked', 'Vault unlocked.');
        })();
      } catch (err) {
        // A file changed outside Trove still opens for reading; verify names what changed.
        if (!isDamage(err)) throw err;
      }
    }
  }

  private unwrap(passphrase: string, wrong: string): Uint8Array {
    return unwrapMasterKey(passphrase, this.header.kdf, this.header.masterKeySealed, this.header.vaultId, wrong);
  }

  /** Unlocks with an already unwrapped master key (restore, tests of the format). */
  private becomeUnlocked(masterKey: Uint8Array, fresh = false): void {
    this.keys = new KeyRing(masterKey);
    let setting: number | null | undefined;
    // Damage found here is named by verify; unlocking still gives access to what is intact.
    try {
      this.awaitingState = readSealedState(this.db) === null;
      if (!fresh) {
        this.moveNamedSettings();
        this.startState();
        this.checkLastSeen();
      }
    } catch (err) {
      if (!isDamage(err)) throw err;
    }
    try {
      setting = this.getSetting<number | null>(AUTO_LOCK_SETTING);
    } catch (err) {
      if (!isDamage(err)) throw err;
    }
    this.autoLockMs = this.opts.autoLockMs !== undefined ? this.opts.autoLockMs : setting !== undefined ? setting : DEFAULT_AUTO_LOCK_MS;
    this.touch();
  }

  /** Wipes every key from memory and cancels work in progress. */
  lock(reason: 'manual' | 'idle' = 'manual'): void {
    this.wipeKeys(reason, true);
  }

  private wipeKeys(reason: 'manual' | 'idle', logged: boolean): void {
    for (const a of this.aborters) a.abort();
    if (this.lockTimer) clearTimeout(this.lockTimer);
    this.lockTimer = null;
    if (!this.keys) return;
    // Not inside another write's transaction: an import being cancelled rolls back on its own.
    if (logged && !this.db.inTransaction) {
      try {
        this.commit(() => this.log.append('vault.locked', reason === 'idle' ? 'Vault locked after a while without use.' : 'Vault locked.'))();
      } catch (err) {
        if (!isDamage(err)) throw err;
      }
    }
    this.keys.wipe();
    this.keys = null;
    for (const l of this.lockListeners) l(reason);
  }

  onLock(listener: (reason: 'manual' | 'idle') => void): () => void {
    this.lockListeners.add(listener);
    return () => this.lockListeners.delete(listener);
  }

  close(): void {
    this.wipeKeys('manual', false);
    if (this.db.open) {
      try {
        this.db.pragma('wal_checkpoint(TRUNCATE)');
      } catch (err) {
        // A damaged file still closes; the log keeps what the checkpoint did not move.
        if (!isDamage(err)) throw err;
      }
      this.db.close();
    }
  }

  get autoLock(): number | null {
    return this.autoLockMs;
  }

  setAutoLock(ms: number | null): Promise<void> {
    if (ms !== null && (!Number.isInteger(ms) || ms < 10_000 || ms > 24 * 3600_000)) {
      return Promise.reject(new TroveError('INVALID_INPUT', 'Auto-lock must be between 10 seconds and 24 hours, or off.'));
    }
    return this.exclusive(() => {
      this.commit(() => {
        this.putSetting(AUTO_LOCK_SETTING, ms);
        this.log.append('settings.changed', ms === null ? 'Auto-lock turned off.' : `Auto-lock set to ${Math.round(ms / 60_000)} min.`);
      })();
      this.autoLockMs = ms;
      if (this.lockTimer) clearTimeout(this.lockTimer);
      this.lockTimer = null;
      this.touch();
    });
  }

  /** Marks the vault as in use (the person is reading it on screen), pushing the auto-lock back. */
  touch(): void {
    this.lastUse = Date.now();
    if (this.autoLockMs === null || !this.keys) return;
    if (this.lockTimer) return;
    const arm = (delay: number) => {
      this.lockTimer = setTimeout(() => {
        this.lockTimer = null;
        const idle = Date.now() - this.lastUse;
        if (this.autoLockMs === null) return;
        if (idle >= this.autoLockMs && this.aborters.size === 0) this.lock('idle');
        else arm(Math.max(this.autoLockMs - idle, 1000));
      }, delay);
      this.lockTimer.unref();
    };
    arm(this.autoLockMs);
  }

  /**
   * Runs a write in one transaction that first checks the file still matches the sealed record of
   * its contents (so a change made outside Trove is never blessed by the next write) and then
   * rewrites the record to match.
   */
  private commit<T>(fn: () => T): () => T {
    const change = this.db.transaction(() => {
      this.checkState();
      const result = fn();
      this.saveState();
      return result;
    });
    return () => {
      const result = change();
      if (!this.db.inTransaction) this.noteSeen();
      return result;
    };
  }

  /** The sealed record's change count, as last written or read; null before there is one. */
  get generation(): number | null {
    return this.stateGeneration;
  }

  /**
   * Set at unlock when this file counts fewer changes than this device last saw: an older copy of
   * the whole file was put in its place. Reads go on; every write is refused until it is restored.
   * Callers announce it at unlock (the CLI on every command, the app in a banner).
   */
  get fileRollback(): (StateFinding & { problem: 'file-rolled-back' }) | null {
    if (!this.rolledBack || !this.keys) return null;
    const problem = { problem: 'file-rolled-back' as const, foundGeneration: this.rolledBack.found, seenGeneration: this.rolledBack.seen };
    return { ...problem, message: describeState(problem).message };
  }

  /** After a change is committed: the device's record outside the file moves up to it. */
  private noteSeen(): void {
    const store = this.opts.lastSeen;
    if (!store || this.rolledBack || this.stateGeneration === null) return;
    try {
      const seen = store.read(this.vaultId);
      if (seen === null || this.stateGeneration > seen) store.write(this.vaultId, this.stateGeneration);
    } catch {
      // The record outside the file only adds a check: failing to keep it must not undo a saved change.
    }
  }

  /** At unlock: a file whose sealed record counts fewer changes than this device saw is an older copy. */
  private checkLastSeen(): void {
    const stored = this.storedState();
    if (!stored) return;
    this.stateGeneration = stored.generation;
    const seen = this.opts.lastSeen?.read(this.vaultId) ?? null;
    if (seen !== null && stored.generation < seen) this.rolledBack = { found: stored.generation, seen };
    else this.noteSeen();
  }

  /** The file as it is now, in the terms of the sealed record. */
  private stateHere(): StateContents & { headMissing: boolean; entries: number } {
    let log: { seq: number; hash: string };
    let headMissing = false;
    try {
      const head = this.log.peekHead();
      headMissing = head === null;
      log = head ?? { seq: 0, hash: GENESIS };
    } catch {
      log = { seq: -1, hash: '' }; // a damaged head: verify's log section names it
    }
    return { log, headMissing, entries: this.log.entryCount(), datasets: datasetVersions(this.db), settings: stateDigestOfSettings(this.db) };
  }

  private storedState(): VaultState | null {
    const sealed = readSealedState(this.db);
    return sealed ? openState(this.requireKeys().vaultState, this.header.vaultId, sealed) : null;
  }

  private checkState(): void {
    if (this.rolledBack) {
      const finding = describeState({ problem: 'file-rolled-back', foundGeneration: this.rolledBack.found, seenGeneration: this.rolledBack.seen });
      throw new TroveError('INTEGRITY_FAILURE', finding.message, { problems: [finding] });
    }
    const stored = this.storedState();
    if (!stored) {
      if (this.awaitingState) return;
      throw new TroveError('INTEGRITY_FAILURE', describeState({ problem: 'state-missing' }).message, { problem: 'state-missing' });
    }
    const findings = compareState(stored, this.stateHere());
    if (findings.length) {
      throw new TroveError('INTEGRITY_FAILURE', `Nothing was changed: ${findings[0]!.message} Your data can still be read.`, { problems: findings });
    }
  }

  private saveState(startedAt?: number): void {
    if (this.awaitingState && startedAt === undefined) return;
    const previous = this.storedState();
    const here = this.stateHere();
    const state: VaultState = {
      generation: (previous?.generation ?? 0) + 1,
      startedAt: startedAt ?? previous?.startedAt ?? 0,
      log: here.log,
      datasets: here.datasets,
      settings: here.settings,
    };
    writeState(this.db, this.requireKeys().vaultState, this.header.vaultId, state);
    this.stateGeneration = state.generation;
    this.awaitingState = false;
  }

  /** A file from before schema 5 gets its sealed record at its first unlock, and the log says so. */
  private startState(): void {
    if (!this.awaitingState) return;
    this.db.transaction(() => {
      const entry = this.log.append('vault.state-started', 'Trove started keeping a sealed record of what this vault holds, so changes made outside Trove can be found.');
      this.saveState(entry.seq);
    })();
    this.noteSeen();
  }

  private requireKeys(): KeyRing {
    if (!this.keys) throw new TroveError('VAULT_LOCKED', 'The vault is locked. Unlock it with your passphrase to continue.');
    this.lastUse = Date.now();
    return this.keys;
  }

  /** Writes run one at a time: an import holds the write transaction across its awaits. */
  private exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.queue.run(async () => {
      this.requireKeys();
      try {
        return await fn();
      } catch (err) {
        throw damageError(err, 'what this change touches');
      }
    });
  }

  async changePassphrase(current: string, next: string): Promise<void> {
    checkPassphrase(next);
    if (typeof current === 'string' && current.normalize('NFC') === next.normalize('NFC')) {
      throw new TroveError('INVALID_INPUT', 'The new passphrase is the same as the current one, so nothing was changed. Choose a different one.');
    }
    const masterKey = this.unwrap(current, 'The current passphrase is not right, so the passphrase was not changed.');
    try {
      const cost = { opsLimit: this.header.kdf.opsLimit, memLimit: this.header.kdf.memLimit };
      const { kdf, sealed } = wrapMasterKey(next, masterKey, this.header.vaultId, cost);
      await this.exclusive(() => {
        const header = { ...this.header, kdf, masterKeySealed: sealed };
        this.commit(() => {
          writeHeader(this.db, header);
          this.log.append('passphrase.changed', 'Passphrase changed. Your data was not re-encrypted; only the key that unlocks it was.');
        })();
        this.header = header;
      });
    } finally {
      sodium.memzero(masterKey);
    }
  }

  /**
   * A 32-byte seed for one job's identities: BLAKE2b keyed with the master key's job-identity
   * purpose key over `context` (which names the chain, registry and job). The purpose key never
   * leaves this method; the same vault (or its restore) always gives the same seed.
   */
  jobSeed(context: string): Uint8Array {
    const key = this.requireKeys().purposeKey(Purpose.jobIdentity);
    try {
      return sodium.crypto_generichash(32, new TextEncoder().encode(context), key);
    } finally {
      sodium.memzero(key);
    }
  }

  // -------------------------------------------------------------------------------- settings

  /** A setting's opaque id: keyed, so that nobody without the key can test a guessed name against the file. */
  private settingId(name: string): Buffer {
    return Buffer.from(sodium.crypto_generichash(ID_BYTES, new TextEncoder().encode(name), this.requireKeys().settingIds));
  }

  getSetting<T>(name: string): T | undefined {
    const id = this.settingId(name);
    const row = guarded('its settings', () => this.db.prepare('SELECT sealed FROM settings WHERE id = ?').get(id)) as { sealed: Buffer } | undefined;
    if (!row) return undefined;
    const stored = openJson<{ name: unknown; value?: T }>(this.requireKeys().settings, row.sealed, { kind: SealKind.setting, vaultId: this.header.vaultId, ownerId: id }, 'settings');
    if (stored === null || typeof stored !== 'object' || stored.name !== name) {
      throw new TroveError('CORRUPT_DATA', "The vault's settings failed their integrity check: one was changed outside Trove. Restore from a backup.", { what: 'settings' });
    }
    return stored.value;
  }

  private putSetting(name: string, value: unknown): void {
    const id = this.settingId(name);
    const sealed = sealJson(this.requireKeys().settings, { name, value }, { kind: SealKind.setting, vaultId: this.header.vaultId, ownerId: id });
    this.db.prepare('INSERT INTO settings (id, sealed) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET sealed = excluded.sealed').run(id, sealed);
  }

  /**
   * Schema 4 moved settings from under their names to opaque ids; the values can only be re-sealed
   * with the key, so the first unlock after the upgrade moves them and erases the named table.
   */
  private moveNamedSettings(): void {
    const legacy = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'settings_named'").get();
    if (!legacy) return;
    const keys = this.requireKeys();
    const lost: string[] = [];
    this.commit(() => {
      for (const row of this.db.prepare('SELECT name, sealed FROM settings_named').all() as { name: string; sealed: Buffer }[]) {
        const ownerId = sodium.crypto_generichash(ID_BYTES, new TextEncoder().encode(row.name), null);
        try {
          this.putSetting(row.name, openJson(keys.settings, row.sealed, { kind: SealKind.setting, vaultId: this.header.vaultId, ownerId }, 'settings'));
        } catch (err) {
          if (!(err instanceof TroveError)) throw err;
          lost.push(row.name);
        }
      }
      this.db.exec('DELETE FROM settings_named; DROP TABLE settings_named');
      if (lost.length) this.log.append('settings.changed', `${lost.length} ${lost.length === 1 ? 'setting was' : 'settings were'} damaged and could not be kept; ${lost.length === 1 ? 'it is' : 'they are'} back to the default.`);
    })();
    this.purgeWal();
  }

  /** Stores a sealed setting (any JSON value), recording the change in the activity log. */
  setSetting(name: string, value: unknown, summary?: string): Promise<void> {
    return this.exclusive(() =>
      this.commit(() => {
        this.putSetting(name, value);
        if (summary) this.log.append('settings.changed', summary);
      })(),
    );
  }

  /**
   * Reads a setting, changes it and stores the result in one turn of the write queue, so two
   * changes made at once both land (a read outside the queue could miss the other's write).
   * `change` returns the new value; it must not wait on the vault itself.
   */
  updateSetting<T>(name: string, change: (current: T | undefined) => T, summary?: string): Promise<T> {
    return this.exclusive(() => {
      const next = change(this.getSetting<T>(name));
      this.commit(() => {
        this.putSetting(name, next);
        if (summary) this.log.append('settings.changed', summary);
      })();
      return next;
    });
  }

  // -------------------------------------------------------------------------------- datasets

  private datasetRow(id: string): DatasetRow {
    if (typeof id !== 'string' || !/^[0-9a-f]{32}$/.test(id) || this.importing.has(id)) {
      throw new TroveError('DATASET_NOT_FOUND', 'That dataset is not in the vault. It may have been deleted.', { id: String(id) });
    }
    const row = this.db.prepare('SELECT * FROM datasets WHERE id = ?').get(Buffer.from(hexToBytes(id))) as DatasetRow | undefined;
    if (!row) throw new TroveError('DATASET_NOT_FOUND', 'That dataset is not in the vault. It may have been deleted.', { id });
    return checkedRow(row);
  }

  private dataKey(id: string, row: DatasetRow): Uint8Array {
    return this.requireKeys().dataKey(id, () =>
      open(this.requireKeys().masterKey, row.data_key_sealed, { kind: SealKind.dataKey, vaultId: this.header.vaultId, ownerId: row.id }, 'dataset key'),
    );
  }

  private manifest(id: string, row: DatasetRow = this.datasetRow(id)): Manifest {
    this.touch();
    return openJson<Manifest>(this.dataKey(id, row), row.manifest_sealed, { kind: SealKind.manifest, vaultId: this.header.vaultId, ownerId: row.id, version: row.manifest_version }, 'dataset description');
  }

  private info(id: string, m: Manifest): DatasetInfo {
    return { id, name: m.name, columns: m.columns, rowCount: m.rowCount, createdAt: m.createdAt, updatedAt: m.updatedAt, ...(m.source ? { source: m.source } : {}) };
  }

  /** Every dataset; one that cannot be read is listed with `damaged` saying why, and the others still are. */
  listDatasets(): DatasetInfo[] {
    this.requireKeys();
    const rows = guarded('its list of datasets', () => this.db.prepare('SELECT * FROM datasets ORDER BY created_at').all() as DatasetRow[]);
    return rows
      .map((row) => ({ id: Buffer.isBuffer(row.id) ? bytesToHex(row.id) : `unreadable-${String(row.id)}`, row }))
      .filter(({ id }) => !this.importing.has(id))
      .map(({ id, row }) => {
        try {
          return this.info(id, guarded('a dataset description', () => this.manifest(id, checkedRow(row))));
        } catch (err) {
          if (!isDamage(err)) throw err;
          const message = err instanceof TroveError ? err.message : 'It cannot be read.';
          return { id, name: `Damaged dataset ${id.slice(0, 8)}`, columns: [], rowCount: 0, createdAt: Number(row.created_at) || 0, updatedAt: Number(row.updated_at) || 0, damaged: message };
        }
      });
  }

  /** A dataset's id from its id or its exact name, as a person types it; a name two datasets share is refused. */
  resolveDataset(idOrName: string): string {
    if (typeof idOrName !== 'string' || idOrName.trim() === '') throw new TroveError('INVALID_INPUT', 'Name a dataset by its name or its id.');
    const all = this.listDatasets();
    if (all.some((d) => d.id === idOrName)) return idOrName;
    const named = all.filter((d) => !d.damaged && d.name === idOrName.trim());
    if (named.length === 1) return named[0]!.id;
    if (named.length > 1) {
      throw new TroveError('INVALID_INPUT', `${named.length} datasets are named "${idOrName.trim()}": use one of their ids (${named.map((d) => d.id).join(', ')}).`, { ids: named.map((d) => d.id) });
    }
    throw new TroveError('DATASET_NOT_FOUND', `There is no dataset named "${idOrName.trim()}" in this vault. "list" shows the datasets it holds.`, { name: idOrName });
  }

  dataset(id: string): DatasetInfo {
    this.requireKeys();
    return this.info(id, guarded('this dataset', () => this.manifest(id)));
  }

  count(id: string): number {
    return this.dataset(id).rowCount;
  }

  private writeManifest(idBytes: Buffer, dataKey: Uint8Array, m: Manifest, version: number): void {
    const sealed = sealJson(dataKey, m, { kind: SealKind.manifest, vaultId: this.header.vaultId, ownerId: idBytes, version });
    this.db.prepare('UPDATE datasets SET manifest_sealed = ?, manifest_version = ?, updated_at = ? WHERE id = ?').run(sealed, version, m.updatedAt, idBytes);
  }

  private insertSegments(idBytes: Buffer, dataKey: Uint8Array, block: number, version: number, recordIds: Float64Array, columns: ColumnData[], rows: number): void {
    const insert = (this.segmentInsert ??= this.db.prepare('INSERT INTO segments (dataset_id, block, col, version, sealed) VALUES (?, ?, ?, ?, ?)'));
    const place = { kind: SealKind.segment, vaultId: this.header.vaultId, ownerId: idBytes, slot: block, version };
    insert.run(idBytes, block, 0, version, seal(dataKey, encodeRecordIds(recordIds.subarray(0, rows)), { ...place, column: 0 }));
    columns.forEach((col, c) => {
      const plain = encodeColumn(col, rows);
      insert.run(idBytes, block, c + 1, version, seal(dataKey, plain, { ...place, column: c + 1 }));
      plain.fill(0); // the same wipe as sodium.memzero, done natively: it ran byte by byte in JavaScript
    });
  }

  /** Opens one segment of a block, checking it is the version and size the manifest says. */
  private readSegment(id: string, row: DatasetRow, entry: BlockEntry, col: number): Uint8Array {
    const [block, version] = entry;
    const select = (this.segmentSelect ??= this.db.prepare('SELECT version, sealed FROM segments WHERE dataset_id = ? AND block = ? AND col = ?'));
    const seg = select.get(row.id, block, col) as { version: number; sealed: Buffer } | undefined;
    if (!seg) {
      throw new TroveError('INTEGRITY_FAILURE', 'Part of this dataset is missing from the vault file: it was changed outside Trove. Restore from a backup.', { block, column: col });
    }
    // The sealed bytes are bound to the manifest's version already; the clear column must agree too,
    // so a file whose bookkeeping was edited is named as such rather than read as if nothing happened.
    if (seg.version !== version) {
      throw new TroveError('INTEGRITY_FAILURE', 'Part of this dataset is not the version the dataset says it should be: it was changed outside Trove. Restore from a backup.', { block, column: col, version: seg.version, expected: version });
    }
    return open(this.dataKey(id, row), seg.sealed, { kind: SealKind.segment, vaultId: this.header.vaultId, ownerId: row.id, slot: block, column: col, version }, 'dataset contents');
  }

  /** Segment rows the manifest does not name: a block it no longer lists, or a column it does not have. */
  private orphanSegments(idBytes: Buffer, m: Manifest): { block: number; col: number }[] {
    const blocks = new Set(m.blocks.map((b) => b[0]));
    return (this.db.prepare('SELECT block, col FROM segments WHERE dataset_id = ?').all(idBytes) as { block: number; col: number }[])
      .filter((s) => !blocks.has(s.block) || !Number.isInteger(s.col) || s.col < 0 || s.col > m.columns.length);
  }

  private readBlock(id: string, row: DatasetRow, m: Manifest, entry: BlockEntry, columnIndexes: readonly number[]): ColumnarRows {
    const recordIds = decodeRecordIds(this.readSegment(id, row, entry, 0));
    const columns = columnIndexes.map((c) => {
      const plain = this.readSegment(id, row, entry, c + 1);
      const col = decodeColumn(plain, m.columns[c]!.type);
      plain.fill(0); // the same wipe as sodium.memzero, done natively: it runs byte by byte in JavaScript
      return col;
    });
    const rows = entry[2];
    const lengthOk = (c: ColumnData) => (isTextColumn(c) ? c.values.length : c.values.length) === rows;
    if (recordIds.length !== rows || !columns.every(lengthOk)) {
      throw new TroveError('INTEGRITY_FAILURE', 'A block of this dataset does not hold the records the dataset says it does. Restore from a backup.', { block: entry[0] });
    }
    return { recordIds, columns };
  }

  private columnIndexes(m: Manifest, names?: readonly string[]): number[] {
    if (names === undefined) return m.columns.map((_, i) => i);
    if (!Array.isArray(names)) throw new TroveError('INVALID_INPUT', 'Columns must be a list of column names.');
    return names.map((name) => {
      const i = m.columns.findIndex((c) => c.name === name);
      if (i < 0) throw new TroveError('COLUMN_NOT_FOUND', `The dataset has no column named "${String(name)}".`, { column: String(name) });
      return i;
    });
  }

  /** Every block of a projection, in record order: only the asked columns are decrypted. */
  *scan(id: string, columns?: readonly string[]): Generator<ColumnarRows> {
    this.requireKeys();
    const { row, m } = guarded('this dataset', () => {
      const row = this.datasetRow(id);
      return { row, m: this.manifest(id, row) };
    });
    const indexes = this.columnIndexes(m, columns);
    for (const entry of m.blocks) {
      this.touch();
      yield guarded('this dataset', () => this.readBlock(id, row, m, entry, indexes));
    }
  }

  /** A page of records, newest import last; dates as ISO strings. */
  readRows(id: string, opts: { offset?: number; limit?: number; columns?: readonly string[] } = {}): RowsPage {
    return guarded('this dataset', () => this.readPage(id, opts));
  }

  private readPage(id: string, opts: { offset?: number; limit?: number; columns?: readonly string[] }): RowsPage {
    this.requireKeys();
    const offset = opts.offset ?? 0;
    const limit = opts.limit ?? 100;
    if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new TroveError('INVALID_INPUT', 'Pages start at 0 and hold 1 to 10,000 records.');
    }
    const row = this.datasetRow(id);
    const m = this.manifest(id, row);
    const indexes = this.columnIndexes(m, opts.columns);
    const schema = indexes.map((i) => m.columns[i]!);
    const out: RowsPage['rows'] = [];
    let start = 0;
    for (const entry of m.blocks) {
      const rows = entry[2];
      if (start + rows > offset && out.length < limit) {
        const block = this.readBlock(id, row, m, entry, indexes);
        for (let r = Math.max(0, offset - start); r < rows && out.length < limit; r++) {
          out.push({ id: block.recordIds[r]!, values: block.columns.map((c, k) => cellAt(c, r, schema[k]!.type)) });
        }
      }
      start += rows;
      if (out.length >= limit) break;
    }
    return { total: m.rowCount, columns: schema, rows: out };
  }

  summarize(id: string, columns?: readonly string[]): ColumnSummary[] {
    this.requireKeys();
    const m = guarded('this dataset', () => this.manifest(id));
    return this.columnIndexes(m, columns).map((i) => summarizeColumn(m.columns[i]!, () => this.scanColumn(id, m.columns[i]!.name)));
  }

  private *scanColumn(id: string, name: string): Generator<ColumnData> {
    for (const block of this.scan(id, [name])) yield block.columns[0]!;
  }

  /**
   * Deletes records by id in one transaction: every block that held one is sealed again, at its
   * next version, without them. An id that is not in the dataset refuses the whole request.
   */
  deleteRecords(id: string, recordIds: readonly number[]): Promise<number> {
    return this.exclusive(() => {
      const wanted = new Set(recordIds);
      if (wanted.size === 0 || ![...wanted].every((r) => Number.isSafeInteger(r) && r >= 0)) {
        throw new TroveError('INVALID_INPUT', 'Choose at least one record to delete.');
      }
      const row = this.datasetRow(id);
      const m = this.manifest(id, row);
      const all = m.columns.map((_, i) => i);
      const changes: { at: number; entry: BlockEntry; block: ColumnarRows; drop: Set<number> }[] = [];
      let found = 0;
      m.blocks.forEach((entry, at) => {
        const [, , , first, last] = entry;
        if (![...wanted].some((r) => r >= first && r <= last)) return;
        const block = this.readBlock(id, row, m, entry, all);
        const drop = new Set<number>();
        block.recordIds.forEach((r, i) => {
          if (wanted.has(r)) drop.add(i);
        });
        if (drop.size) changes.push({ at, entry, block, drop });
        found += drop.size;
      });
      if (found !== wanted.size) {
        throw new TroveError('RECORD_NOT_FOUND', `${wanted.size - found === 1 ? 'A record' : `${wanted.size - found} records`} to delete ${wanted.size - found === 1 ? 'is' : 'are'} not in the dataset (deleted already?), so nothing was deleted.`, { missing: wanted.size - found });
      }
      const dataKey = this.dataKey(id, row);
      const blocks: (BlockEntry | null)[] = [...m.blocks];
      this.commit(() => {
        for (const { at, entry, block, drop } of changes) {
          const keep = (i: number) => !drop.has(i);
          const [blockNo, version, rows] = entry;
          this.db.prepare('DELETE FROM segments WHERE dataset_id = ? AND block = ?').run(row.id, blockNo);
          const left = rows - drop.size;
          if (left === 0) blocks[at] = null;
          else {
            const ids = block.recordIds.filter((_, i) => keep(i));
            this.insertSegments(row.id, dataKey, blockNo, version + 1, ids, block.columns.map((c) => withoutRows(c, keep, rows)), left);
            blocks[at] = [blockNo, version + 1, left, ids[0]!, ids[left - 1]!];
          }
        }
        const next: Manifest = { ...m, rowCount: m.rowCount - found, updatedAt: Date.now(), blocks: blocks.filter((b): b is BlockEntry => b !== null) };
        this.writeManifest(row.id, dataKey, next, row.manifest_version + 1);
        this.log.append('record.deleted', `Deleted ${found === 1 ? 'one record' : `${found} records`} from "${m.name}".`, { dataset: id, records: found });
      })();
      this.purgeWal();
      return found;
    });
  }

  /**
   * Changes one value of one record. The value is read as the column's type, as an import would
   * read it (text typed by a person); one that does not fit is refused in words, and nothing changes.
   */
  editValue(id: string, recordId: number, column: string, text: string | null): Promise<CellValue> {
    return this.exclusive(() => {
      const row = this.datasetRow(id);
      const m = this.manifest(id, row);
      const [c] = this.columnIndexes(m, [column]);
      const type = m.columns[c!]!.type;
      const value = toValue(text, type);
      if (value === INVALID) throw new TroveError('INVALID_INPUT', `${whyInvalid(text, type)} The column "${column}" holds ${TYPE_WORDS[type]}, so the value was not changed.`, { column });
      const at = m.blocks.findIndex(([, , , first, last]) => recordId >= first && recordId <= last);
      const entry = m.blocks[at];
      const all = m.columns.map((_, i) => i);
      const block = entry ? this.readBlock(id, row, m, entry, all) : null;
      const index = block ? block.recordIds.indexOf(recordId) : -1;
      if (!entry || !block || index < 0) throw new TroveError('RECORD_NOT_FOUND', 'That record is not in the dataset. It may have been deleted.', { recordId });
      const col = block.columns[c!]!;
      if (isTextColumn(col)) col.values[index] = value as string | null;
      else {
        col.nulls[index] = value === null ? 1 : 0;
        col.values[index] = value === null ? 0 : (value as number);
      }
      const [blockNo, version, rows, first, last] = entry;
      const dataKey = this.dataKey(id, row);
      const next: Manifest = { ...m, updatedAt: Date.now(), blocks: [...m.blocks] };
      next.blocks[at] = [blockNo, version + 1, rows, first, last];
      this.commit(() => {
        this.db.prepare('DELETE FROM segments WHERE dataset_id = ? AND block = ?').run(row.id, blockNo);
        this.insertSegments(row.id, dataKey, blockNo, version + 1, block.recordIds, block.columns, rows);
        this.writeManifest(row.id, dataKey, next, row.manifest_version + 1);
        this.log.append('record.edited', `Changed the value of "${column}" in one record of "${m.name}".`, { dataset: id, column });
      })();
      this.purgeWal();
      return cellAt(col, index, type);
    });
  }

  renameDataset(id: string, name: string): Promise<DatasetInfo> {
    return this.exclusive(() => {
      const next = typeof name === 'string' ? name.trim() : '';
      if (next === '' || next.length > 200) throw new TroveError('INVALID_INPUT', 'A dataset name has 1 to 200 characters.');
      const row = this.datasetRow(id);
      const m = this.manifest(id, row);
      if (m.name === next) return this.info(id, m);
      const renamed: Manifest = { ...m, name: next, updatedAt: Date.now() };
      this.commit(() => {
        this.writeManifest(row.id, this.dataKey(id, row), renamed, row.manifest_version + 1);
        this.log.append('dataset.renamed', `Renamed dataset "${m.name}" to "${next}".`, { dataset: id });
      })();
      this.purgeWal();
      return this.info(id, renamed);
    });
  }

  /**
   * The whole dataset as a file a person keeps: CSV (a header row, then one line per record) or
   * JSON (an array of objects). Dates as ISO 8601. Logged, since the data leaves the vault's seal.
   */
  exportDataset(id: string, format: 'csv' | 'json'): Promise<{ fileName: string; text: string; records: number }> {
    if (format !== 'csv' && format !== 'json') return Promise.reject(new TroveError('INVALID_INPUT', 'Export as "csv" or "json".'));
    return this.exclusive(() => {
      const row = this.datasetRow(id);
      const m = this.manifest(id, row);
      const all = m.columns.map((_, i) => i);
      const names = m.columns.map((c) => c.name);
      const records: CellValue[][] = [];
      for (const entry of m.blocks) {
        const block = this.readBlock(id, row, m, entry, all);
        for (let r = 0; r < entry[2]; r++) records.push(block.columns.map((col, k) => cellAt(col, r, m.columns[k]!.type)));
      }
      const text =
        format === 'csv'
          ? toCsv([names, ...records])
          : JSON.stringify(records.map((values) => Object.fromEntries(names.map((n, k) => [n, values[k]]))), null, 2) + '\n';
      const fileName = `${m.name.replace(/[^\p{L}\p{N} ._-]+/gu, '_').trim() || 'dataset'}.${format}`;
      this.commit(() =>
        this.log.append('dataset.exported', `Exported "${m.name}" (${records.length} records) as ${format.toUpperCase()} to a file on this computer, unencrypted.`, { dataset: id, format, records: records.length, to: 'a file on this computer' }),
      )();
      return { fileName, text, records: records.length };
    });
  }

  /** Crypto-shredding: the dataset's key and every row go, and freed pages are zeroed. */
  deleteDataset(id: string): Promise<void> {
    return this.exclusive(() => {
      const row = this.datasetRow(id);
      const m = this.manifest(id, row);
      this.commit(() => {
        this.db.prepare('DELETE FROM segments WHERE dataset_id = ?').run(row.id);
        this.db.prepare('DELETE FROM datasets WHERE id = ?').run(row.id);
        this.log.append('dataset.deleted', `Deleted dataset "${m.name}" (${m.rowCount} records); its key was destroyed.`, { dataset: id });
      })();
      this.requireKeys().forgetDataKey(id);
      this.purgeWal();
    });
  }

  /** Old page images stay in the write-ahead log until a checkpoint; deletions do not wait for one. */
  private purgeWal(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  // -------------------------------------------------------------------------------- import

  /** Reads the start of a file and proposes columns and types, with sample values and problems. */
  async previewImport(file: string, opts: Pick<ImportOptions, 'format' | 'delimiter' | 'maxRecordBytes'> = {}): Promise<ImportPreview> {
    this.requireKeys();
    const format = formatOf(file, opts.format);
    const { names, delimiter, records } = await sampleFile(file, format, opts);
    const guesses = await inferColumnTypes(file, format, names, { delimiter, maxRecordBytes: opts.maxRecordBytes, maxBytes: PREVIEW_TYPE_BYTES });
    const columns = names.map((name, c) => {
      const { type, invalid } = guesses[c]!;
      const converted = records.filter(isData).map((r) => convert(valueOf(r, c, names), type));
      return {
        name,
        type,
        samples: converted.slice(0, 5).map((v) => (v.ok ? toCell(v.value, type) : null)),
        nullCount: converted.filter((v) => v.ok && v.value === null).length,
        invalidCount: invalid,
      };
    });
    const rows = records.filter(isData).slice(0, 20).map((r) => names.map((_, c) => {
      const v = valueOf(r, c, names);
      return v === undefined || v === null ? null : typeof v === 'object' ? JSON.stringify(v) : (v as CellValue);
    }));
    const problems: RejectedRow[] = records.filter((r): r is Extract<SourceRecord, { error: string }> => 'error' in r).map((r) => ({ line: r.line, reason: r.error }));
    return { format, ...(delimiter ? { delimiter } : {}), columns, rows, problems };
  }

  /**
   * Imports a file as a new dataset in one transaction: all of it lands, or none of it does
   * (cancel, a crash, a lock, or a rejected row under the reject-import policy).
   */
  async importFile(file: string, opts: ImportOptions = {}): Promise<ImportReport> {
    this.requireKeys();
    let size: number;
    try {
      size = statSync(file).size;
    } catch (err) {
      throw unreadable(file, err);
    }
    const format = formatOf(file, opts.format);
    const { names, delimiter } = await sampleFile(file, format, opts);
    const overrides = opts.columns ?? [];
    if (!Array.isArray(overrides) || overrides.length > names.length) throw new TroveError('INVALID_INPUT', 'There are more column settings than columns in the file.');
    for (const o of overrides) {
      if (o?.type !== undefined && !COLUMN_TYPES.includes(o.type)) throw new TroveError('INVALID_INPUT', `"${String(o.type)}" is not a column type.`);
    }
    const guessed = names.every((_, c) => overrides[c]?.skip || overrides[c]?.type !== undefined)
      ? []
      : await inferColumnTypes(file, format, names, { delimiter, maxRecordBytes: opts.maxRecordBytes, signal: opts.signal });
    const columns: ImportColumn[] = [];
    names.forEach((name, c) => {
      const o = overrides[c] ?? {};
      if (o.skip) return;
      const type = o.type ?? guessed[c]!.type;
      columns.push({ source: format === 'csv' ? c : name, name: (o.name ?? name).trim() || name, type });
    });
    if (columns.length === 0) throw new TroveError('INVALID_INPUT', 'Choose at least one column to import.');
    const datasetName = (opts.name ?? basename(file, extname(file))).trim() || 'Untitled dataset';
    let bytesRead = 0;
    const controller = new AbortController();
    const forward = () => controller.abort();
    opts.signal?.addEventListener('abort', forward);
    try {
      const records = fileRecords(file, format, delimiter, opts.maxRecordBytes, (n) => (bytesRead += n), controller.signal);
      return await this.importRecords({
        name: datasetName,
        columns,
        records: skipHeader(records, format === 'csv'),
        expectedFields: format === 'csv' ? names.length : undefined,
        policy: opts.policy,
        source: { fileName: basename(file), format },
        onProgress: opts.onProgress,
        onRejected: opts.onRejected,
        progressBytes: () => ({ bytesRead, totalBytes: size }),
        controller,
      });
    } finally {
      opts.signal?.removeEventListener('abort', forward);
    }
  }

  /** The import pipeline behind importFile, for any stream of source records. */
  async importRecords(input: {
    name: string;
    columns: ImportColumn[];
    records: AsyncIterable<SourceRecord[]> | Iterable<SourceRecord[]>;
    expectedFields?: number | undefined;
    policy?: RejectPolicy | undefined;
    source?: { fileName: string; format: ImportFormat };
    onProgress?: ((p: ImportProgress) => void) | undefined;
    onRejected?: ((row: RejectedRow) => void) | undefined;
    progressBytes?: () => { bytesRead: number; totalBytes: number | null };
    controller?: AbortController;
  }): Promise<ImportReport> {
    const policy = input.policy ?? 'reject-import';
    if (policy !== 'reject-import' && policy !== 'skip-rows') throw new TroveError('INVALID_INPUT', 'The policy must be "reject-import" or "skip-rows".');
    const controller = input.controller ?? new AbortController();
    // V8 gives every AbortSignal a hidden class of its own: reading signal.aborted in the row loop
    // threw the loop's optimised code away at the first block of every import (each has a fresh
    // controller), so most rows ran unoptimised. The loop reads a plain flag; only this outer
    // function, which runs once per import, touches the signal.
    let cancelled = controller.signal.aborted;
    const onAbort = () => {
      cancelled = true;
    };
    controller.signal.addEventListener('abort', onAbort, { once: true });
    const imported = this.exclusive(async () => {
      const started = Date.now();
      const keys = this.requireKeys();
      const idBytes = Buffer.from(randomBytes(ID_BYTES));
      const id = bytesToHex(idBytes);
      const schema: ColumnSchema[] = input.columns.map((c) => ({ name: c.name, type: c.type }));
      const rejected: RejectedRow[] = [];
      let rowsRejected = 0;
      let doomed = false;
      const builder = new BlockBuilder(schema, this.opts.blockRows);
      const blocks: BlockEntry[] = [];
      const dataKey = randomBytes(KEY_BYTES);
      const reject = (line: number, reason: string, column?: string) => {
        rowsRejected++;
        const row = column ? { line, column, reason } : { line, reason };
        if (rejected.length < MAX_LISTED_REJECTIONS) rejected.push(row);
        input.onRejected?.(row);
        if (policy === 'reject-import') doomed = true;
      };
      const reader = new RowReader(builder, input.columns, input.expectedFields, reject);
      const progress = () => input.onProgress?.({ ...(input.progressBytes?.() ?? { bytesRead: 0, totalBytes: null }), rowsRead: reader.rowsRead, rowsRejected });
      const flush = () => {
        if (builder.rows === 0 || doomed) return builder.reset();
        this.requireKeys(); // a lock during the import wipes dataKey's parent: stop before sealing anything
        const block = blocks.length;
        this.insertSegments(idBytes, dataKey, block, 1, builder.recordIds, builder.columns, builder.rows);
        blocks.push([block, 1, builder.rows, builder.recordIds[0]!, builder.recordIds[builder.rows - 1]!]);
        builder.reset();
      };

      this.aborters.add(controller);
      this.importing.add(id);
      this.db.exec('BEGIN IMMEDIATE');
      try {
        this.checkState();
        const now = Date.now();
        const wrapped = seal(keys.masterKey, dataKey, { kind: SealKind.dataKey, vaultId: this.header.vaultId, ownerId: idBytes });
        this.db.prepare('INSERT INTO datasets (id, created_at, updated_at, data_key_sealed, manifest_version, manifest_sealed) VALUES (?, ?, ?, ?, 0, x\'\')').run(idBytes, now, now, wrapped);
        for await (const batch of input.records) {
          if (cancelled) break;
          for (let at = 0; at < batch.length; ) {
            at = reader.read(batch, at);
            if (builder.full) {
              flush();
              // Let the host answer other requests (progress, cancel) between blocks.
              progress();
              await new Promise<void>((resolve) => setImmediate(resolve));
              if (cancelled) break;
            }
          }
          progress();
          this.touch();
        }
        if (cancelled) throw new TroveError('CANCELLED', 'The import was cancelled. Nothing was added to the vault.');
        flush();
        const report: ImportReport = {
          datasetId: null,
          rowsImported: doomed ? 0 : reader.nextRecordId,
          rowsRejected,
          rejected,
          warnings: [...reader.unknownFields].map(([key, n]) => `The field "${key}" in ${n} ${n === 1 ? 'record' : 'records'} is not one of the columns, so it was not imported.`),
          bytesRead: input.progressBytes?.().bytesRead ?? 0,
          durationMs: Date.now() - started,
        };
        if (doomed) {
          throw new TroveError('IMPORT_REJECTED', `${rowsRejected} ${rowsRejected === 1 ? 'row has' : 'rows have'} problems, so nothing was imported. Fix them, or choose to skip bad rows.`, { report });
        }
        const nextRecordId = reader.nextRecordId;
        if (nextRecordId === 0) {
          throw new TroveError('IMPORT_REJECTED', 'The file has no rows that could be imported.', { report });
        }
        const manifest: Manifest = {
          name: input.name,
          columns: schema,
          createdAt: now,
          updatedAt: Date.now(),
          rowCount: nextRecordId,
          nextRecordId,
          blocks,
          ...(input.source ? { source: input.source } : {}),
        };
        this.writeManifest(idBytes, dataKey, manifest, 1);
        this.log.append(
          'dataset.imported',
          `Imported "${input.name}": ${nextRecordId} records${rowsRejected ? `, ${rowsRejected} rows skipped` : ''}.`,
          { dataset: id, rows: nextRecordId, skipped: rowsRejected, columns: schema.length },
        );
        this.saveState();
        this.db.exec('COMMIT');
        this.noteSeen();
        return { ...report, datasetId: id, durationMs: Date.now() - started };
      } catch (err) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        sodium.memzero(dataKey);
        if (!this.keys) throw new TroveError('VAULT_LOCKED', 'The vault was locked during the import. Nothing was added.');
        if (err instanceof TroveError) throw err;
        if (isDamage(err)) throw damageError(err, 'the new dataset');
        throw new TroveError('UNREADABLE_FILE', `The file could not be read to the end (${(err as Error).message}). Nothing was imported.`, undefined, { cause: err });
      } finally {
        this.importing.delete(id);
        this.aborters.delete(controller);
      }
    });
    return imported.finally(() => controller.signal.removeEventListener('abort', onAbort));
  }

  /**
   * Hands a task the key to one dataset and the names of the columns it may read, so the worker
   * unseals just those, in its own memory. The master key never leaves this process; the grant is
   * in the activity log.
   */
  grant(id: string, columns: readonly string[], purpose: string): Promise<VaultGrant> {
    return this.exclusive(() => {
      const row = this.datasetRow(id);
      const m = this.manifest(id, row);
      const names = this.columnIndexes(m, columns).map((i) => m.columns[i]!.name);
      if (names.length === 0) throw new TroveError('INVALID_INPUT', 'A grant names at least one column.');
      const dataKey = new Uint8Array(this.dataKey(id, row));
      this.commit(() =>
        this.log.append('job.data-granted', `Let ${purpose} read ${names.map((n) => `"${n}"`).join(', ')} of "${m.name}" on this device.`, { dataset: id, columns: names }),
      )();
      return { kind: 'vault-grant', vaultPath: this.path, vaultId: this.vaultId, datasetId: id, dataKey, columns: names };
    });
  }

  // -------------------------------------------------------------------------------- activity

  /** A page of the activity log, newest first: offset 0 is the latest entry. */
  activity(offset = 0, limit = 100): { total: number; entries: ActivityEntry[] } {
    this.requireKeys();
    return guarded('its activity log', () => this.log.list(offset, limit));
  }

  verifyActivity(): ActivityVerification {
    this.requireKeys();
    return this.verifyLog();
  }

  /** The log's verification; a log SQLite cannot read is reported like an edited one, never thrown. */
  private verifyLog(visit?: (e: ActivityEntry) => void): ActivityVerification {
    try {
      return this.log.verify(visit);
    } catch (err) {
      if (!isDamage(err)) throw err;
      return { ok: false, entries: 0, problem: { seq: 0, problem: 'edited', message: (damageError(err, 'its activity log') as Error).message } };
    }
  }

  /** Records something that happened outside the vault's own operations (jobs, uploads, claims). */
  recordActivity(kind: ActivityKind, summary: string, details?: Record<string, unknown>): Promise<ActivityEntry> {
    return this.exclusive(() => this.commit(() => this.log.append(kind, summary, details))());
  }

  /** Opens every sealed value in the vault and checks the log: the check after a restore or a crash. */
  checkIntegrity(): IntegrityReport {
    this.requireKeys();
    const problems: string[] = [];
    const damagedDatasets: { id: string; problem: string }[] = [];
    let segments = 0;
    const section = <T>(what: string, fn: () => T, fallback: T): T => {
      try {
        return fn();
      } catch (err) {
        if (!isDamage(err)) throw err;
        problems.push((damageError(err, what) as Error).message);
        return fallback;
      }
    };
    section('its pages', () => {
      const sqlite = this.db.pragma('integrity_check', { simple: true });
      if (sqlite !== 'ok') problems.push(`The vault file's structure is damaged (SQLite says: ${String(sqlite)}). Restore from a backup.`);
    }, undefined);
    const rows = section('its list of datasets', () => this.db.prepare('SELECT * FROM datasets').all() as DatasetRow[], []);
    for (const raw of rows) {
      const id = Buffer.isBuffer(raw.id) ? bytesToHex(raw.id) : 'unreadable';
      try {
        const row = checkedRow(raw);
        const m = this.manifest(id, row);
        const all = m.columns.map((_, i) => i);
        let total = 0;
        for (const entry of m.blocks) {
          this.readBlock(id, row, m, entry, all);
          segments += all.length + 1;
          total += entry[2];
        }
        if (total !== m.rowCount) problems.push(`Dataset "${m.name}" holds ${total} records but says ${m.rowCount}.`);
        const orphans = this.orphanSegments(row.id, m);
        if (orphans.length) {
          const blocks = [...new Set(orphans.map((o) => o.block))];
          problems.push(`Dataset "${m.name}" has ${orphans.length} ${orphans.length === 1 ? 'part that belongs' : 'parts that belong'} to no block (block ${blocks.slice(0, 5).join(', ')}${blocks.length > 5 ? ', …' : ''}): the file was changed outside Trove.`);
        }
      } catch (err) {
        if (!isDamage(err)) throw err;
        const problem = (damageError(err, `the dataset ${id.slice(0, 8)}…`) as Error).message;
        problems.push(problem);
        damagedDatasets.push({ id, problem });
      }
    }
    let createdWithRecord = false;
    const starts: number[] = [];
    const activity = this.verifyLog((e) => {
      if (e.kind === 'vault.created' && e.details?.sealedRecord === true) createdWithRecord = true;
      if (e.kind === 'vault.state-started') starts.push(e.seq);
    });
    if (!activity.ok) problems.push(activity.problem?.message ?? 'The activity log failed verification.');
    const state = section('its record of its contents', () => this.verifyState(createdWithRecord, starts), [describeState({ problem: 'state-damaged' })]);
    problems.push(...state.map((f) => f.message));
    return { ok: problems.length === 0, datasets: rows.length, segments, problems, activity, state, damagedDatasets };
  }

  /** Compares the file with its sealed record; a record started again after the first is a removal. */
  private verifyState(createdWithRecord: boolean, starts: number[]): StateFinding[] {
    let stored: VaultState | null;
    try {
      stored = this.storedState();
    } catch (err) {
      if (!isDamage(err)) throw err;
      return [describeState({ problem: 'state-damaged' })];
    }
    if (!stored) return [describeState({ problem: 'state-missing' })];
    const findings = compareState(stored, this.stateHere());
    if (this.rolledBack) findings.unshift(describeState({ problem: 'file-rolled-back', foundGeneration: this.rolledBack.found, seenGeneration: this.rolledBack.seen }));
    const allowed = createdWithRecord ? 0 : 1;
    const restart = starts.find((_, i) => i >= allowed) ?? starts.find((seq) => seq !== stored.startedAt);
    if (restart !== undefined) findings.unshift(describeState({ problem: 'state-restarted', seq: restart }));
    return findings;
  }

  /**
   * Removes datasets that cannot be read from this file, without reading them: used on a backup's
   * snapshot and on a restored copy, so that the intact datasets are kept. Logged with `why`.
   */
  leaveOut(ids: readonly string[], why: string): Promise<void> {
    return this.exclusive(() => {
      this.commit(() => {
        for (const id of ids) {
          const idBytes = Buffer.from(hexToBytes(id));
          this.db.prepare('DELETE FROM segments WHERE dataset_id = ?').run(idBytes);
          this.db.prepare('DELETE FROM datasets WHERE id = ?').run(idBytes);
        }
        const n = ids.length;
        this.log.append('dataset.left-out', `Left out ${n} damaged ${n === 1 ? 'dataset' : 'datasets'} (${ids.map((i) => i.slice(0, 8)).join(', ')}) ${why}.`, { datasets: [...ids] });
      })();
      for (const id of ids) this.requireKeys().forgetDataKey(id);
      this.purgeWal();
    });
  }

  /** For backups: a consistent copy of the database file, taken inside the write queue. */
  snapshotTo(file: string): Promise<void> {
    return this.exclusive(() => {
      this.db.prepare('VACUUM INTO ?').run(file);
    });
  }

  /** Low-level parts the backup needs (header as stored, master key) — not for other callers. */
  backupMaterial(): { vaultId: Uint8Array; kdf: KdfParams; masterKeySealed: Uint8Array; masterKey: Uint8Array; createdAt: number } {
    const keys = this.requireKeys();
    return { vaultId: this.header.vaultId, kdf: this.header.kdf, masterKeySealed: this.header.masterKeySealed, masterKey: keys.masterKey, createdAt: this.header.createdAt };
  }

  /** Opens a vault with a master key already unwrapped (restore checks the file it wrote). */
  static async openWithMasterKey(path: string, masterKey: Uint8Array, opts: VaultOptions = {}): Promise<Vault> {
    const vault = await Vault.open(path, opts);
    vault.becomeUnlocked(new Uint8Array(masterKey));
    return vault;
  }
}

/** A column type in the words a refusal uses. */
const TYPE_WORDS: Record<ColumnSchema['type'], string> = {
  number: 'numbers',
  integer: 'whole numbers',
  string: 'text',
  boolean: 'yes/no values',
  date: 'dates',
  category: 'categories',
};

function cellAt(col: ColumnData, r: number, type: ColumnSchema['type']): CellValue {
  if (isTextColumn(col)) return col.values[r] ?? null;
  return col.nulls[r] ? null : toCell(col.values[r]!, type);
}

/** A dataset row as stored; damage can turn a BLOB into another type or an id into the wrong length. */
function checkedRow(row: DatasetRow): DatasetRow {
  const ok =
    Buffer.isBuffer(row.id) && row.id.length === ID_BYTES &&
    Buffer.isBuffer(row.data_key_sealed) && Buffer.isBuffer(row.manifest_sealed) &&
    Number.isSafeInteger(row.manifest_version) && row.manifest_version >= 0;
  if (!ok) throw new TroveError('CORRUPT_DATA', "The vault's record of a dataset is damaged, so that dataset cannot be read. Restore it from a backup.", { what: 'dataset record' });
  return row;
}
