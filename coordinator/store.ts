// The coordinator's state in SQLite (WAL): jobs, participants, rounds, each round's append-only
// event log, and the global model at the start of every round. The event log holds every
// secure-aggregation message the coordinator accepted and every stage advance with its time, so
// a restarted coordinator rebuilds a round's state machine by replaying it. Nothing unmasked about
// any one contributor is ever written here: only masked inputs, shares sealed to peers, and sums.
import Database from 'better-sqlite3';
import { TroveError } from '../common/errors.js';
import type { JOB_STATES, ROUND_STAGES } from '../common/jobs/protocol.js';

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
}

export type RoundEvent =
  | { seq: number; kind: 'start'; at: number }
  | { seq: number; kind: 'message'; at: number; data: Uint8Array }
  | { seq: number; kind: 'advance'; at: number };

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  job_id TEXT PRIMARY KEY,
  spec_hash TEXT NOT NULL UNIQUE,
  signed_json TEXT NOT NULL,
  state TEXT NOT NULL,
  validation_csv TEXT,
  published_at INTEGER NOT NULL,
  publish_tx TEXT
);
CREATE TABLE IF NOT EXISTS participants (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL REFERENCES jobs(job_id),
  signing_key TEXT NOT NULL,
  commitment TEXT NOT NULL,
  enrolled_at INTEGER NOT NULL,
  left_at INTEGER,
  UNIQUE (job_id, signing_key),
  UNIQUE (job_id, commitment)
);
CREATE TABLE IF NOT EXISTS rounds (
  job_id TEXT NOT NULL REFERENCES jobs(job_id),
  round INTEGER NOT NULL,
  roster TEXT NOT NULL,
  commitments TEXT NOT NULL,
  stage TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  closed_at INTEGER,
  included TEXT,
  validation TEXT,
  close_tx TEXT,
  group_root TEXT,
  group_size INTEGER,
  abort_reason TEXT,
  PRIMARY KEY (job_id, round)
);
CREATE TABLE IF NOT EXISTS round_events (
  job_id TEXT NOT NULL,
  round INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('start', 'message', 'advance')),
  at INTEGER NOT NULL,
  data BLOB,
  PRIMARY KEY (job_id, round, seq),
  FOREIGN KEY (job_id, round) REFERENCES rounds(job_id, round)
);
CREATE TRIGGER IF NOT EXISTS round_events_append_only_update BEFORE UPDATE ON round_events
BEGIN SELECT RAISE(ABORT, 'round events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS round_events_append_only_delete BEFORE DELETE ON round_events
BEGIN SELECT RAISE(ABORT, 'round events are append-only'); END;
CREATE TABLE IF NOT EXISTS models (
  job_id TEXT NOT NULL REFERENCES jobs(job_id),
  round INTEGER NOT NULL,
  weights BLOB NOT NULL,
  PRIMARY KEY (job_id, round)
);
`;

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
    this.db.exec(SCHEMA);
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
