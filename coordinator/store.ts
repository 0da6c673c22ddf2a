// The coordinator's state in SQLite (WAL): jobs, participants, rounds, each round's append-only
// event log, and the global model at the start of every round. The event log holds every
// secure-aggregation message the coordinator accepted and every stage advance with its time, so
// a restarted coordinator rebuilds a round's state machine by replaying it. Nothing unmasked about
// any one contributor is ever written here: only masked inputs, shares sealed to peers, and sums.
// The schema is the history in migrations.ts, applied when the database is opened.
import Database from 'better-sqlite3';
import { TroveError } from '../common/errors.js';
import type { JOB_STATES, ROUND_STAGES } from '../common/jobs/protocol.js';
import { MIGRATIONS_TABLE, pendingMigrations, SCHEMA_VERSION } from './migrations.js';

export type JobState = (typeof JOB_STATES)[number];
export type RoundStageName = (typeof ROUND_STAGES)[number];

export interface JobRow {
  jobId: string;
  specHash: string;
  /** The signed job document, as served at /v1/specs/:hash. */
  signedJson: string;
  state: JobState;
  /** The researcher's validation set (CSV text), when one was given. */
  validationCsv: string | null;
  publishedAt: number;
  publishTx: string | null;
}

export interface ParticipantRow {
  /** Enrollment order within the job: roster order. */
  seq: number;
  jobId: string;
  signingKey: string;
  commitment: string;
  enrolledAt: number;
  leftAt: number | null;
}

export interface RoundRow {
  jobId: string;
  round: number;
  /** Signing keys of everyone invited, by client id. */
  roster: string[];
  commitments: string[];
  stage: RoundStageName;
  startedAt: number;
  closedAt: number | null;
  included: number[] | null;
  validation: { loss: number; accuracy: number | null; examples: number } | null;
  closeTx: string | null;
  groupRoot: string | null;
  groupSize: number | null;
  abortReason: string | null;
  /** Failed attempts to close the round on-chain, the last one's error, and when to try again. */
  closeAttempts: number;
  closeError: string | null;
  closeRetryAt: number | null;
}

export type RoundEvent =
  | { seq: number; kind: 'start'; at: number }
  | { seq: number; kind: 'message'; at: number; data: Uint8Array }
  | { seq: number; kind: 'advance'; at: number };


interface RawJob {
  job_id: string;
  spec_hash: string;
  signed_json: string;
  state: JobState;
  validation_csv: string | null;
  published_at: number;
  publish_tx: string | null;
}
interface RawParticipant {
  seq: number;
  job_id: string;
  signing_key: string;
  commitment: string;
  enrolled_at: number;
  left_at: number | null;
}
interface RawRound {
  job_id: string;
  round: number;
  roster: string;
  commitments: string;
  stage: RoundStageName;
  started_at: number;
  closed_at: number | null;
  included: string | null;
  validation: string | null;
  close_tx: string | null;
  group_root: string | null;
  group_size: number | null;
  abort_reason: string | null;
  close_attempts: number;
  close_error: string | null;
  close_retry_at: number | null;
}

function job(r: RawJob): JobRow {
  return {
    jobId: r.job_id,
    specHash: r.spec_hash,
    signedJson: r.signed_json,
    state: r.state,
    validationCsv: r.validation_csv,
    publishedAt: r.published_at,
    publishTx: r.publish_tx,
  };
}
function participant(r: RawParticipant): ParticipantRow {
  return { seq: r.seq, jobId: r.job_id, signingKey: r.signing_key, commitment: r.commitment, enrolledAt: r.enrolled_at, leftAt: r.left_at };
}
function round(r: RawRound): RoundRow {
  return {
    jobId: r.job_id,
    round: r.round,
    roster: JSON.parse(r.roster) as string[],
    commitments: JSON.parse(r.commitments) as string[],
    stage: r.stage,
    startedAt: r.started_at,
    closedAt: r.closed_at,
    included: r.included === null ? null : (JSON.parse(r.included) as number[]),
    validation: r.validation === null ? null : (JSON.parse(r.validation) as RoundRow['validation']),
    closeTx: r.close_tx,
    groupRoot: r.group_root,
    groupSize: r.group_size,
    abortReason: r.abort_reason,
    closeAttempts: r.close_attempts,
    closeError: r.close_error,
    closeRetryAt: r.close_retry_at,
  };
}

/** float32 little-endian bytes of a model. */
export function modelBytes(weights: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 * weights.length);
  const view = new DataView(out.buffer);
  for (let i = 0; i < weights.length; i++) view.setFloat32(4 * i, weights[i]!, true);
  return out;
}

export function modelFromBytes(bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

export class CoordinatorStore {
  readonly db: Database.Database;

  constructor(file: string) {
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
    const current = this.schemaVersion();
    if (current > SCHEMA_VERSION) {
      this.db.close();
      throw new TroveError('INVALID_INPUT', `The coordinator database ${file} has schema version ${current}, newer than this coordinator's ${SCHEMA_VERSION}; update the coordinator to open it.`);
    }
    for (const m of pendingMigrations(current)) {
      this.transaction(() => {
        this.db.exec(m.sqlite);
        this.db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      });
    }
  }

  /** The last migration applied to this database (0: none). */
  schemaVersion(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // --- jobs -------------------------------------------------------------------------------------

  addJob(row: Omit<JobRow, 'state'> & { state?: JobState }): void {
    this.db
      .prepare('INSERT INTO jobs (job_id, spec_hash, signed_json, state, validation_csv, published_at, publish_tx) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(row.jobId, row.specHash, row.signedJson, row.state ?? 'enrolling', row.validationCsv, row.publishedAt, row.publishTx);
  }

  job(jobId: string): JobRow | undefined {
    const r = this.db.prepare('SELECT * FROM jobs WHERE job_id = ?').get(jobId) as RawJob | undefined;
    return r && job(r);
  }

  jobBySpecHash(specHash: string): JobRow | undefined {
    const r = this.db.prepare('SELECT * FROM jobs WHERE spec_hash = ?').get(specHash.toLowerCase()) as RawJob | undefined;
    return r && job(r);
  }

  jobs(): JobRow[] {
    return (this.db.prepare('SELECT * FROM jobs ORDER BY CAST(job_id AS INTEGER)').all() as RawJob[]).map(job);
  }

  setJobState(jobId: string, state: JobState): void {
    this.db.prepare('UPDATE jobs SET state = ? WHERE job_id = ?').run(state, jobId);
  }

  // --- participants -----------------------------------------------------------------------------

  addParticipant(jobId: string, signingKey: string, commitment: string, at: number): ParticipantRow {
    const info = this.db.prepare('INSERT INTO participants (job_id, signing_key, commitment, enrolled_at) VALUES (?, ?, ?, ?)').run(jobId, signingKey, commitment, at);
    return { seq: Number(info.lastInsertRowid), jobId, signingKey, commitment, enrolledAt: at, leftAt: null };
  }

  participantByKey(jobId: string, signingKey: string): ParticipantRow | undefined {
    const r = this.db.prepare('SELECT * FROM participants WHERE job_id = ? AND signing_key = ?').get(jobId, signingKey) as RawParticipant | undefined;
    return r && participant(r);
  }

  participantByCommitment(jobId: string, commitment: string): ParticipantRow | undefined {
    const r = this.db.prepare('SELECT * FROM participants WHERE job_id = ? AND commitment = ?').get(jobId, commitment) as RawParticipant | undefined;
    return r && participant(r);
  }

  /** Everyone who ever enrolled in the job, in enrollment order. */
  participants(jobId: string): ParticipantRow[] {
    return (this.db.prepare('SELECT * FROM participants WHERE job_id = ? ORDER BY seq').all(jobId) as RawParticipant[]).map(participant);
  }

  /** Participants who have not left, in enrollment order. */
  activeParticipants(jobId: string): ParticipantRow[] {
    return (this.db.prepare('SELECT * FROM participants WHERE job_id = ? AND left_at IS NULL ORDER BY seq').all(jobId) as RawParticipant[]).map(participant);
  }

  markLeft(jobId: string, signingKey: string, at: number): void {
    this.db.prepare('UPDATE participants SET left_at = ? WHERE job_id = ? AND signing_key = ? AND left_at IS NULL').run(at, jobId, signingKey);
  }

  // --- rounds -----------------------------------------------------------------------------------

  addRound(jobId: string, index: number, roster: string[], commitments: string[], at: number): void {
    this.db
      .prepare('INSERT INTO rounds (job_id, round, roster, commitments, stage, started_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(jobId, index, JSON.stringify(roster), JSON.stringify(commitments), 'advertise-keys', at);
  }

  round(jobId: string, index: number): RoundRow | undefined {
    const r = this.db.prepare('SELECT * FROM rounds WHERE job_id = ? AND round = ?').get(jobId, index) as RawRound | undefined;
    return r && round(r);
  }

  rounds(jobId: string): RoundRow[] {
    return (this.db.prepare('SELECT * FROM rounds WHERE job_id = ? ORDER BY round').all(jobId) as RawRound[]).map(round);
  }

  setRoundStage(jobId: string, index: number, stage: RoundStageName): void {
    this.db.prepare('UPDATE rounds SET stage = ? WHERE job_id = ? AND round = ?').run(stage, jobId, index);
  }

  /** The aggregate outcome of a round, written before it is closed on-chain. */
  setRoundOutcome(jobId: string, index: number, outcome: { included: number[]; validation: RoundRow['validation']; groupRoot: string; groupSize: number }): void {
    this.db
      .prepare("UPDATE rounds SET stage = 'closing', included = ?, validation = ?, group_root = ?, group_size = ? WHERE job_id = ? AND round = ?")
      .run(JSON.stringify(outcome.included), outcome.validation ? JSON.stringify(outcome.validation) : null, outcome.groupRoot, outcome.groupSize, jobId, index);
  }

  setRoundClosed(jobId: string, index: number, tx: string, at: number): void {
    this.db.prepare("UPDATE rounds SET stage = 'closed', close_tx = ?, closed_at = ? WHERE job_id = ? AND round = ?").run(tx, at, jobId, index);
  }

  /** One more failed attempt to close the round on-chain; the next is due at `retryAt`. */
  setCloseFailure(jobId: string, index: number, error: string, retryAt: number): number {
    this.db.prepare('UPDATE rounds SET close_attempts = close_attempts + 1, close_error = ?, close_retry_at = ? WHERE job_id = ? AND round = ?').run(error.slice(0, 2000), retryAt, jobId, index);
    return this.round(jobId, index)!.closeAttempts;
  }

  setRoundAborted(jobId: string, index: number, reason: string, at: number): void {
    this.db.prepare("UPDATE rounds SET stage = 'aborted', abort_reason = ?, closed_at = ? WHERE job_id = ? AND round = ?").run(reason, at, jobId, index);
  }

  // --- event log --------------------------------------------------------------------------------

  appendEvent(jobId: string, index: number, kind: RoundEvent['kind'], at: number, data: Uint8Array | null = null): number {
    const next = (this.db.prepare('SELECT COALESCE(MAX(seq), 0) + 1 AS n FROM round_events WHERE job_id = ? AND round = ?').get(jobId, index) as { n: number }).n;
    this.db.prepare('INSERT INTO round_events (job_id, round, seq, kind, at, data) VALUES (?, ?, ?, ?, ?, ?)').run(jobId, index, next, kind, at, data);
    return next;
  }

  events(jobId: string, index: number): RoundEvent[] {
    const rows = this.db.prepare('SELECT seq, kind, at, data FROM round_events WHERE job_id = ? AND round = ? ORDER BY seq').all(jobId, index) as {
      seq: number;
      kind: RoundEvent['kind'];
      at: number;
      data: Buffer | null;
    }[];
    return rows.map((r) =>
      r.kind === 'message' ? { seq: r.seq, kind: 'message', at: r.at, data: new Uint8Array(r.data ?? new Uint8Array(0)) } : { seq: r.seq, kind: r.kind, at: r.at },
    );
  }

  // --- models -----------------------------------------------------------------------------------

  putModel(jobId: string, index: number, weights: ArrayLike<number>): void {
    this.db.prepare('INSERT OR REPLACE INTO models (job_id, round, weights) VALUES (?, ?, ?)').run(jobId, index, modelBytes(weights));
  }

  /** The global model at the start of round `index`, float32 little-endian. */
  modelBytes(jobId: string, index: number): Uint8Array | undefined {
    const r = this.db.prepare('SELECT weights FROM models WHERE job_id = ? AND round = ?').get(jobId, index) as { weights: Buffer } | undefined;
    return r && new Uint8Array(r.weights);
  }

  model(jobId: string, index: number): Float32Array | undefined {
    const bytes = this.modelBytes(jobId, index);
    return bytes && modelFromBytes(bytes);
  }
}
