// The relayer's accepted claims, in a SQLite file: a claim answered "accepted" is on disk before
// the answer leaves, so a restart loses none of them, and one nullifier is held once.
import Database from 'better-sqlite3';
import { relayedClaimSchema, type ClaimStatus, type RelayedClaim } from '../common/claims/relayer-protocol.js';

export type StoredStatus = ClaimStatus['status'];

export interface StoredClaim {
  claim: RelayedClaim;
  status: StoredStatus;
  tx: string | null;
  reason: string | null;
  acceptedAt: number;
}

interface Row {
  body: string;
  status: StoredStatus;
  tx: string | null;
  reason: string | null;
  accepted_at: number;
}

export class RelayerStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS claims (
      nullifier TEXT PRIMARY KEY,
      job_id TEXT NOT NULL,
      round INTEGER NOT NULL,
      body TEXT NOT NULL,
      status TEXT NOT NULL,
      tx TEXT,
      reason TEXT,
      accepted_at INTEGER NOT NULL
    )`);
  }

  private toStored(row: Row): StoredClaim {
    return { claim: relayedClaimSchema.parse(JSON.parse(row.body)), status: row.status, tx: row.tx, reason: row.reason, acceptedAt: row.accepted_at };
  }

  get(nullifier: string): StoredClaim | undefined {
    const row = this.db.prepare('SELECT body, status, tx, reason, accepted_at FROM claims WHERE nullifier = ?').get(nullifier) as Row | undefined;
    return row ? this.toStored(row) : undefined;
  }

  /** Stores the claim as pending unless its nullifier is already held; returns whether it was new. */
  accept(claim: RelayedClaim, now: number): boolean {
    const info = this.db
      .prepare("INSERT OR IGNORE INTO claims (nullifier, job_id, round, body, status, accepted_at) VALUES (?, ?, ?, ?, 'pending', ?)")
      .run(claim.nullifier, claim.jobId, claim.round, JSON.stringify(claim), now);
    return info.changes === 1;
  }

  /** A claim rejected before it was sent may be offered again (a new proof, or the chain caught up). */
  forgetRejected(nullifier: string): void {
    this.db.prepare("DELETE FROM claims WHERE nullifier = ? AND status = 'rejected'").run(nullifier);
  }

  withStatus(status: StoredStatus): StoredClaim[] {
    return (this.db.prepare('SELECT body, status, tx, reason, accepted_at FROM claims WHERE status = ? ORDER BY accepted_at').all(status) as Row[]).map((r) => this.toStored(r));
  }

  set(nullifier: string, status: StoredStatus, tx: string | null, reason: string | null): void {
    this.db.prepare('UPDATE claims SET status = ?, tx = ?, reason = ? WHERE nullifier = ?').run(status, tx, reason, nullifier);
  }

  close(): void {
    this.db.close();
  }
}
