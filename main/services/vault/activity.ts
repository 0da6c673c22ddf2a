// The activity log: append-only, hash-chained, sealed. Each entry carries the chain hash of the
// one before it, and the sealed head records the last sequence number and hash, so verify() can
// tell an edited entry, a removed one, a reordered pair and a cut-off tail apart.
import type Database from 'better-sqlite3';
import sodium from 'libsodium-wrappers-sumo';
import type { ActivityEntry, ActivityKind, ActivityProblem, ActivityVerification } from '../../../common/activity.js';
import { TroveError } from '../../../common/errors.js';
import { bytesToHex, open, seal, SealKind } from '../../../common/vault-format.js';
import type { KeyRing } from './keys.js';

interface SealedEntry extends ActivityEntry {
  prev: string;
}
interface Head {
  seq: number;
  hash: string;
}
export const GENESIS = '00'.repeat(32);

/** Keyed BLAKE2b-256 over an entry's exact JSON bytes, as sealed (docs/vault-format.md). */
export function chainHash(chainKey: Uint8Array, plaintext: Uint8Array): string {
  return bytesToHex(sodium.crypto_generichash(32, plaintext, chainKey));
}

export class ActivityLog {
  constructor(
    private readonly db: Database.Database,
    private readonly vaultId: Uint8Array,
    private readonly keys: () => KeyRing,
  ) {}

  /** The sealed head, or null when there is no head row. Throws CORRUPT_DATA if it fails to open. */
  peekHead(): Head | null {
    const row = this.db.prepare('SELECT sealed FROM activity_head WHERE id = 1').get() as { sealed: Buffer } | undefined;
    if (!row) return null;
    const bytes = open(this.keys().activitySeal, row.sealed, { kind: SealKind.activityHead, vaultId: this.vaultId }, 'activity log head');
    try {
      const head = JSON.parse(new TextDecoder().decode(bytes)) as Head;
      if (!Number.isSafeInteger(head?.seq) || typeof head.hash !== 'string') throw new Error('shape');
      return head;
    } catch {
      throw new TroveError('CORRUPT_DATA', "The vault's activity log head failed its integrity check. Restore from a backup.", { what: 'activity log head' });
    }
  }

  entryCount(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM activity').get() as { n: number }).n;
  }

  private head(): Head {
    const head = this.peekHead();
    if (head) return head;
    // No head but entries: appending would restart the log at #1 over them.
    if (this.entryCount() > 0) {
      throw new TroveError('INTEGRITY_FAILURE', "The activity log's head record was removed outside Trove, so nothing can be added to the log. Your data can still be read; restore from a backup to make changes.", { what: 'activity log head' });
    }
    return { seq: 0, hash: GENESIS };
  }

  /** Appends an entry. Call inside the transaction of the change it records, so both land or neither. */
  append(kind: ActivityKind, summary: string, details?: Record<string, unknown>, at = Date.now()): ActivityEntry {
    const keys = this.keys();
    const head = this.head();
    const seq = head.seq + 1;
    const entry: SealedEntry = { seq, at, kind, summary, ...(details ? { details } : {}), prev: head.hash };
    const plaintext = new TextEncoder().encode(JSON.stringify(entry));
    const sealed = seal(keys.activitySeal, plaintext, { kind: SealKind.activityEntry, vaultId: this.vaultId, slot: seq });
    const newHead: Head = { seq, hash: chainHash(keys.activityChain, plaintext) };
    const sealedHead = seal(keys.activitySeal, new TextEncoder().encode(JSON.stringify(newHead)), { kind: SealKind.activityHead, vaultId: this.vaultId });
    this.db.prepare('INSERT INTO activity (seq, at, sealed) VALUES (?, ?, ?)').run(seq, at, sealed);
    this.db.prepare('INSERT INTO activity_head (id, sealed) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET sealed = excluded.sealed').run(sealedHead);
    const { prev: _prev, ...visible } = entry;
    return visible;
  }

  /** Newest first. Throws CORRUPT_DATA if an entry on the page fails to open. */
  list(offset = 0, limit = 100): { total: number; entries: ActivityEntry[] } {
    const total = (this.db.prepare('SELECT count(*) AS n FROM activity').get() as { n: number }).n;
    const rows = this.db.prepare('SELECT seq, sealed FROM activity ORDER BY seq DESC LIMIT ? OFFSET ?').all(limit, offset) as { seq: number; sealed: Buffer }[];
    const entries = rows.map((r) => {
      const bytes = open(this.keys().activitySeal, r.sealed, { kind: SealKind.activityEntry, vaultId: this.vaultId, slot: r.seq }, `activity entry #${r.seq}`);
      const { prev: _prev, ...entry } = JSON.parse(new TextDecoder().decode(bytes)) as SealedEntry;
      return entry;
    });
    return { total, entries };
  }

  /** Walks the whole log; `visit` sees each entry that opened, in order. */
  verify(visit?: (entry: ActivityEntry) => void): ActivityVerification {
    const keys = this.keys();
    let expected = 1;
    let prevHash = GENESIS;
    let count = 0;
    const fail = (p: ActivityProblem): ActivityVerification => ({ ok: false, entries: count, problem: { ...p, message: describe(p) } });

    let head: Head;
    try {
      const found = this.peekHead();
      if (!found && this.entryCount() > 0) return fail({ seq: 0, problem: 'head-missing' });
      head = found ?? { seq: 0, hash: GENESIS };
    } catch {
      return fail({ seq: 0, problem: 'edited' });
    }
    for (const row of this.db.prepare('SELECT seq, sealed FROM activity ORDER BY seq').iterate() as Iterable<{ seq: number; sealed: Buffer }>) {
      if (row.seq !== expected) return fail({ seq: expected, problem: 'missing' });
      let plaintext: Uint8Array;
      try {
        plaintext = open(keys.activitySeal, row.sealed, { kind: SealKind.activityEntry, vaultId: this.vaultId, slot: row.seq }, `activity entry #${row.seq}`);
      } catch {
        return fail({ seq: row.seq, problem: 'edited' });
      }
      const entry = JSON.parse(new TextDecoder().decode(plaintext)) as SealedEntry;
      if (entry.seq !== row.seq || entry.prev !== prevHash) return fail({ seq: row.seq, problem: 'out-of-order' });
      visit?.(entry);
      prevHash = chainHash(keys.activityChain, plaintext);
      count++;
      expected++;
    }
    if (head.seq > count) return fail({ seq: count + 1, problem: 'truncated', lastSeen: count });
    if (head.seq < count || head.hash !== prevHash) return fail({ seq: head.seq, problem: 'out-of-order' });
    return { ok: true, entries: count };
  }
}

function describe(p: ActivityProblem): string {
  switch (p.problem) {
    case 'edited':
      return p.seq === 0 ? "The log's head record was changed outside Trove." : `Entry #${p.seq} was changed outside Trove.`;
    case 'missing':
      return `Entry #${p.seq} was removed from the log.`;
    case 'out-of-order':
      return `Entry #${p.seq} is not the entry that followed #${p.seq - 1}: entries were reordered or replaced.`;
    case 'head-missing':
      return "The log's head record was removed outside Trove, so where the log should end is unknown.";
    case 'truncated':
      return `The log was cut off after entry #${p.lastSeen}: later entries are missing.`;
  }
}

export function assertLogIntact(v: ActivityVerification): void {
  if (!v.ok) throw new TroveError('INTEGRITY_FAILURE', v.problem?.message ?? 'The activity log failed verification.', { problem: v.problem });
}
