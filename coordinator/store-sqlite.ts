// The coordinator's state in one SQLite file (WAL), the embedded default: one coordinator process.
// The calls are synchronous underneath (better-sqlite3); the interface is store.ts's.
import Database from 'better-sqlite3';
import { TroveError } from '../common/errors.js';
import { MIGRATIONS_TABLE, pendingMigrations, SCHEMA_VERSION } from './migrations.js';
import type { RoundGroup } from '../common/jobs/groups.js';
import {
  groupOutcome,
  job,
  modelBytes,
  modelFromBytes,
  participant,
  round,
  sumBytes,
  type CoordinatorStore,
  type GroupOutcome,
  type JobRow,
  type LeaseRow,
  type ProcessRow,
  type UsedNonce,
  type RawGroupOutcome,
  type JobState,
  type ParticipantRow,
  type RawJob,
  type RawParticipant,
  type RawRound,
  type RoundEvent,
  type RoundOutcome,
  type RoundRow,
  type RoundStageName,
} from './store.js';

export class SqliteStore implements CoordinatorStore {
  readonly kind = 'sqlite';
  readonly location: string;
  readonly db: Database.Database;

  constructor(file: string) {
    this.location = file;
    try {
      this.db = new Database(file);
    } catch (err) {
      throw new TroveError('INVALID_INPUT', `The coordinator database ${file} cannot be opened.`, undefined, { cause: err });
    }
    this.db.pragma('journal_mode = WAL');
    // Every accepted message is acknowledged only after it is on disk.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.migrate(file);
  }

  /** Brings the schema to SCHEMA_VERSION (migrations.ts); refuses a database a newer coordinator wrote. */
  private migrate(file: string): void {
    this.db.exec(MIGRATIONS_TABLE.sqlite);
    const current = this.version();
    if (current > SCHEMA_VERSION) {
      this.db.close();
      throw new TroveError('INVALID_INPUT', `The coordinator database ${file} has schema version ${current}, newer than this coordinator's ${SCHEMA_VERSION}; update the coordinator to open it.`);
    }
    for (const m of pendingMigrations(current)) {
      this.db.transaction(() => {
        this.db.exec(m.sqlite);
        this.sql('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      })();
    }
  }

  /** The last migration applied to this database (0: none). */
  async schemaVersion(): Promise<number> {
    return this.version();
  }

  private version(): number {
    return (this.sql('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** Statements are prepared once and kept: a round runs the same few thousands of times. */
  private readonly statements = new Map<string, Database.Statement>();

  private sql(text: string): Database.Statement {
    let statement = this.statements.get(text);
    if (!statement) this.statements.set(text, (statement = this.db.prepare(text)));
    return statement;
  }

  /**
   * One BEGIN ... COMMIT around `fn`. The calls inside are synchronous underneath, and the round
   * runner makes one change at a time, so nothing else writes in between.
   */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const out = await fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    }
  }

  // --- jobs -------------------------------------------------------------------------------------

  async addJob(row: Omit<JobRow, 'state'> & { state?: JobState }): Promise<void> {
    this.sql('INSERT INTO jobs (job_id, spec_hash, signed_json, state, validation_csv, published_at, publish_tx) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(row.jobId, row.specHash, row.signedJson, row.state ?? 'enrolling', row.validationCsv, row.publishedAt, row.publishTx);
  }

  async job(jobId: string): Promise<JobRow | undefined> {
    const r = this.sql('SELECT * FROM jobs WHERE job_id = ?').get(jobId) as RawJob | undefined;
    return r && job(r);
  }

  async jobBySpecHash(specHash: string): Promise<JobRow | undefined> {
    const r = this.sql('SELECT * FROM jobs WHERE spec_hash = ?').get(specHash.toLowerCase()) as RawJob | undefined;
    return r && job(r);
  }

  async jobs(): Promise<JobRow[]> {
    return (this.sql('SELECT * FROM jobs ORDER BY CAST(job_id AS INTEGER)').all() as RawJob[]).map(job);
  }

  async setJobState(jobId: string, state: JobState): Promise<void> {
    this.sql('UPDATE jobs SET state = ? WHERE job_id = ?').run(state, jobId);
  }

  // --- participants -----------------------------------------------------------------------------

  async addParticipant(jobId: string, signingKey: string, commitment: string, at: number): Promise<ParticipantRow> {
    const info = this.sql('INSERT INTO participants (job_id, signing_key, commitment, enrolled_at) VALUES (?, ?, ?, ?)').run(jobId, signingKey, commitment, at);
    return { seq: Number(info.lastInsertRowid), jobId, signingKey, commitment, enrolledAt: at, leftAt: null };
  }

  async participantByKey(jobId: string, signingKey: string): Promise<ParticipantRow | undefined> {
    const r = this.sql('SELECT * FROM participants WHERE job_id = ? AND signing_key = ?').get(jobId, signingKey) as RawParticipant | undefined;
    return r && participant(r);
  }

  async participantByCommitment(jobId: string, commitment: string): Promise<ParticipantRow | undefined> {
    const r = this.sql('SELECT * FROM participants WHERE job_id = ? AND commitment = ?').get(jobId, commitment) as RawParticipant | undefined;
    return r && participant(r);
  }

  /** Everyone who ever enrolled in the job, in enrollment order. */
  async participants(jobId: string): Promise<ParticipantRow[]> {
    return (this.sql('SELECT * FROM participants WHERE job_id = ? ORDER BY seq').all(jobId) as RawParticipant[]).map(participant);
  }

  /** Participants who have not left, in enrollment order. */
  async activeParticipants(jobId: string): Promise<ParticipantRow[]> {
    return (this.sql('SELECT * FROM participants WHERE job_id = ? AND left_at IS NULL ORDER BY seq').all(jobId) as RawParticipant[]).map(participant);
  }

  async activeParticipantCount(jobId: string): Promise<number> {
    return (this.sql('SELECT COUNT(*) AS n FROM participants WHERE job_id = ? AND left_at IS NULL').get(jobId) as { n: number }).n;
  }

  async markLeft(jobId: string, signingKey: string, at: number): Promise<void> {
    this.sql('UPDATE participants SET left_at = ? WHERE job_id = ? AND signing_key = ? AND left_at IS NULL').run(at, jobId, signingKey);
  }

  // --- rounds -----------------------------------------------------------------------------------

  async addRound(jobId: string, index: number, roster: string[], commitments: string[], at: number, groups: RoundGroup[] | null = null, startBlock: number | null = null): Promise<void> {
    this.sql('INSERT INTO rounds (job_id, round, roster, commitments, stage, started_at, secagg_groups, start_block) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(jobId, index, JSON.stringify(roster), JSON.stringify(commitments), 'advertise-keys', at, groups ? JSON.stringify(groups) : null, startBlock);
  }

  async latestRound(jobId: string): Promise<{ round: number; stage: RoundStageName } | undefined> {
    return this.sql('SELECT round, stage FROM rounds WHERE job_id = ? ORDER BY round DESC LIMIT 1').get(jobId) as { round: number; stage: RoundStageName } | undefined;
  }

  async round(jobId: string, index: number): Promise<RoundRow | undefined> {
    const r = this.sql('SELECT * FROM rounds WHERE job_id = ? AND round = ?').get(jobId, index) as RawRound | undefined;
    return r && round(r);
  }

  async rounds(jobId: string): Promise<RoundRow[]> {
    return (this.sql('SELECT * FROM rounds WHERE job_id = ? ORDER BY round').all(jobId) as RawRound[]).map(round);
  }

  async setRoundStage(jobId: string, index: number, stage: RoundStageName): Promise<void> {
    this.sql('UPDATE rounds SET stage = ? WHERE job_id = ? AND round = ?').run(stage, jobId, index);
  }

  /** The aggregate outcome of a round, written before it is closed on-chain. */
  async setRoundOutcome(jobId: string, index: number, outcome: RoundOutcome): Promise<void> {
    this.sql("UPDATE rounds SET stage = 'closing', included = ?, validation = ?, aggregate = ?, group_root = ?, group_size = ? WHERE job_id = ? AND round = ?")
      .run(
        JSON.stringify(outcome.included),
        outcome.validation ? JSON.stringify(outcome.validation) : null,
        outcome.aggregate ? JSON.stringify(outcome.aggregate) : null,
        outcome.groupRoot,
        outcome.groupSize,
        jobId,
        index,
      );
  }

  async setRoundClosed(jobId: string, index: number, tx: string, at: number): Promise<void> {
    this.sql("UPDATE rounds SET stage = 'closed', close_tx = ?, closed_at = ? WHERE job_id = ? AND round = ?").run(tx, at, jobId, index);
  }

  /** One more failed attempt to close the round on-chain; the next is due at `retryAt`. */
  async setCloseFailure(jobId: string, index: number, error: string, retryAt: number): Promise<number> {
    this.sql('UPDATE rounds SET close_attempts = close_attempts + 1, close_error = ?, close_retry_at = ? WHERE job_id = ? AND round = ?').run(error.slice(0, 2000), retryAt, jobId, index);
    return (await this.round(jobId, index))!.closeAttempts;
  }

  async setRoundAborted(jobId: string, index: number, reason: string, at: number): Promise<void> {
    this.sql("UPDATE rounds SET stage = 'aborted', abort_reason = ?, closed_at = ? WHERE job_id = ? AND round = ?").run(reason, at, jobId, index);
  }

  // --- event log --------------------------------------------------------------------------------

  async appendEvent(jobId: string, index: number, kind: RoundEvent['kind'], at: number, data: Uint8Array | null = null, grp: number | null = null): Promise<number> {
    const next = (this.sql('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM round_events WHERE job_id = ? AND round = ?').get(jobId, index) as { n: number }).n;
    this.sql('INSERT INTO round_events (job_id, round, seq, kind, at, data, grp) VALUES (?, ?, ?, ?, ?, ?, ?)').run(jobId, index, next, kind, at, data, grp);
    return next;
  }

  async events(jobId: string, index: number): Promise<RoundEvent[]> {
    return this.eventsAfter(jobId, index, 0);
  }

  async eventsAfter(jobId: string, index: number, after: number): Promise<RoundEvent[]> {
    const rows = this.sql('SELECT seq, kind, at, data, grp FROM round_events WHERE job_id = ? AND round = ? AND seq > ? ORDER BY seq').all(jobId, index, after) as {
      seq: number;
      kind: RoundEvent['kind'];
      at: number;
      data: Buffer | null;
      grp: number | null;
    }[];
    return rows.map((r) =>
      r.kind === 'message'
        ? { seq: r.seq, kind: 'message', at: r.at, data: new Uint8Array(r.data ?? new Uint8Array(0)), grp: r.grp }
        : { seq: r.seq, kind: r.kind, at: r.at, grp: r.grp },
    );
  }

  /** One process per SQLite file: its BEGIN IMMEDIATE already keeps every other writer out. */
  async lockRound(): Promise<void> {}

  async putGroupOutcome(jobId: string, index: number, o: GroupOutcome): Promise<void> {
    this.sql('INSERT OR REPLACE INTO round_groups (job_id, round, grp, stage, included, sum, error_bound, abort_reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(
        jobId,
        index,
        o.grp,
        o.stage,
        o.stage === 'done' ? JSON.stringify(o.included) : null,
        o.stage === 'done' ? sumBytes(o.sum) : null,
        o.stage === 'done' ? o.errorBound : null,
        o.stage === 'aborted' ? o.reason : null,
        o.at,
      );
  }

  async groupOutcomes(jobId: string, index: number): Promise<GroupOutcome[]> {
    return (this.sql('SELECT * FROM round_groups WHERE job_id = ? AND round = ? ORDER BY grp').all(jobId, index) as RawGroupOutcome[]).map(groupOutcome);
  }

  // --- leases and processes ---------------------------------------------------------------------

  /**
   * A SQLite file has one coordinator process at a time: a lease another holder left is from a
   * process that is gone, so it is taken over at once rather than at its expiry.
   */
  async claimLease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
    this.sql(
        `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
           taken_over = leases.taken_over + (CASE WHEN leases.holder = excluded.holder THEN 0 ELSE 1 END)`,
      )
      .run(name, holder, now + ttlMs);
    return true;
  }

  async leases(): Promise<LeaseRow[]> {
    return (this.sql('SELECT name, holder, expires_at, taken_over FROM leases ORDER BY name').all() as { name: string; holder: string; expires_at: number; taken_over: number }[]).map((r) => ({
      name: r.name,
      holder: r.holder,
      expiresAt: r.expires_at,
      takenOver: r.taken_over,
    }));
  }

  async releaseLeases(holder: string): Promise<void> {
    this.sql('UPDATE leases SET expires_at = 0 WHERE holder = ?').run(holder);
  }

  async heartbeat(p: Omit<ProcessRow, 'seenAt'>, now: number): Promise<void> {
    this.sql('INSERT INTO coordinator_processes (id, pid, url, started_at, seen_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at')
      .run(p.id, p.pid, p.url, p.startedAt, now);
  }

  async processes(): Promise<ProcessRow[]> {
    return (this.sql('SELECT * FROM coordinator_processes ORDER BY started_at').all() as { id: string; pid: number; url: string | null; started_at: number; seen_at: number }[]).map((r) => ({
      id: r.id,
      pid: r.pid,
      url: r.url,
      startedAt: r.started_at,
      seenAt: r.seen_at,
    }));
  }

  // --- used nonces ------------------------------------------------------------------------------

  async spendNonces(nonces: readonly UsedNonce[]): Promise<string[]> {
    const insert = this.sql('INSERT INTO used_nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING');
    const used: string[] = [];
    // Synchronous, so nothing interleaves; inside a round's open transaction it is a savepoint of it.
    this.db.transaction(() => {
      for (const n of nonces) if (insert.run(n.nonce, n.expiresAt).changes === 0) used.push(n.nonce);
    })();
    return used;
  }

  async forgetNonces(now: number): Promise<void> {
    this.sql('DELETE FROM used_nonces WHERE expires_at < ?').run(now);
  }

  // --- models -----------------------------------------------------------------------------------

  async putModel(jobId: string, index: number, weights: ArrayLike<number>): Promise<void> {
    this.sql('INSERT OR REPLACE INTO models (job_id, round, weights) VALUES (?, ?, ?)').run(jobId, index, modelBytes(weights));
  }

  /** The global model at the start of round `index`, float32 little-endian. */
  async modelBytes(jobId: string, index: number): Promise<Uint8Array | undefined> {
    const r = this.sql('SELECT weights FROM models WHERE job_id = ? AND round = ?').get(jobId, index) as { weights: Buffer } | undefined;
    return r && new Uint8Array(r.weights);
  }

  async model(jobId: string, index: number): Promise<Float32Array | undefined> {
    const bytes = await this.modelBytes(jobId, index);
    return bytes && modelFromBytes(bytes);
  }

  // --- modules ----------------------------------------------------------------------------------

  async putModule(jobId: string, bytes: Uint8Array): Promise<void> {
    this.sql('INSERT OR REPLACE INTO modules (job_id, bytes) VALUES (?, ?)').run(jobId, Buffer.from(bytes));
  }

  async module(jobId: string): Promise<Uint8Array | undefined> {
    const r = this.sql('SELECT bytes FROM modules WHERE job_id = ?').get(jobId) as { bytes: Buffer } | undefined;
    return r && new Uint8Array(r.bytes);
  }
}
