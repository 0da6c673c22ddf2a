// The coordinator's state, behind one interface with two implementations: SQLite (store-sqlite.ts,
// the embedded default, one process) and PostgreSQL (store-postgres.ts, for deployments and for
// several coordinator processes sharing the work). What is kept: jobs, participants, rounds, each
// round's append-only event log, and the global model at the start of every round. The event log
// holds every secure-aggregation message the coordinator accepted and every stage advance with
// its time, so a restarted coordinator rebuilds a round's state machine by replaying it. Nothing
// unmasked about any one contributor is ever written: only masked inputs, shares sealed to peers,
// and sums. The schema is the history in migrations.ts, applied when a database is opened.
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
  /** An analytics round's noised sum with its error bars (null for a training round). */
  aggregate: RoundAggregate | null;
  closeTx: string | null;
  groupRoot: string | null;
  groupSize: number | null;
  abortReason: string | null;
  /** Failed attempts to close the round on-chain, the last one's error, and when to try again. */
  closeAttempts: number;
  closeError: string | null;
  closeRetryAt: number | null;
}

/** What an analytics round reveals: the noised sum over its contributors, coordinate by coordinate. */
export interface RoundAggregate {
  labels: string[];
  value: number[];
  /** Standard deviation of the DP noise in each coordinate, and the 95% half-width it gives. */
  noiseStdDev: number;
  errorBar: number;
  contributors: number;
}

export type RoundOutcome = { included: number[]; validation: RoundRow['validation']; aggregate?: RoundAggregate | null; groupRoot: string; groupSize: number };

export type RoundEvent =
  | { seq: number; kind: 'start'; at: number }
  | { seq: number; kind: 'message'; at: number; data: Uint8Array }
  | { seq: number; kind: 'advance'; at: number };


export interface RawJob {
  job_id: string;
  spec_hash: string;
  signed_json: string;
  state: JobState;
  validation_csv: string | null;
  published_at: number;
  publish_tx: string | null;
}
export interface RawParticipant {
  seq: number;
  job_id: string;
  signing_key: string;
  commitment: string;
  enrolled_at: number;
  left_at: number | null;
}
export interface RawRound {
  job_id: string;
  round: number;
  roster: string;
  commitments: string;
  stage: RoundStageName;
  started_at: number;
  closed_at: number | null;
  included: string | null;
  validation: string | null;
  aggregate: string | null;
  close_tx: string | null;
  group_root: string | null;
  group_size: number | null;
  abort_reason: string | null;
  close_attempts: number;
  close_error: string | null;
  close_retry_at: number | null;
}

export function job(r: RawJob): JobRow {
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
export function participant(r: RawParticipant): ParticipantRow {
  return { seq: r.seq, jobId: r.job_id, signingKey: r.signing_key, commitment: r.commitment, enrolledAt: r.enrolled_at, leftAt: r.left_at };
}
export function round(r: RawRound): RoundRow {
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
    aggregate: r.aggregate === null || r.aggregate === undefined ? null : (JSON.parse(r.aggregate) as RoundAggregate),
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


export interface CoordinatorStore {
  /** 'sqlite' or 'postgres', as status and the bench name it. */
  readonly kind: 'sqlite' | 'postgres';
  /** Where the data is, for people: a file, or a server and database (never a password). */
  readonly location: string;
  close(): Promise<void>;
  /** The last migration applied to this database (0: none). */
  schemaVersion(): Promise<number>;
  /** Runs `fn` in one transaction: all its writes land, or none. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;

  addJob(row: Omit<JobRow, 'state'> & { state?: JobState }): Promise<void>;
  job(jobId: string): Promise<JobRow | undefined>;
  jobBySpecHash(specHash: string): Promise<JobRow | undefined>;
  jobs(): Promise<JobRow[]>;
  setJobState(jobId: string, state: JobState): Promise<void>;

  addParticipant(jobId: string, signingKey: string, commitment: string, at: number): Promise<ParticipantRow>;
  participantByKey(jobId: string, signingKey: string): Promise<ParticipantRow | undefined>;
  participantByCommitment(jobId: string, commitment: string): Promise<ParticipantRow | undefined>;
  /** Everyone who ever enrolled in the job, in enrollment order. */
  participants(jobId: string): Promise<ParticipantRow[]>;
  /** Participants who have not left, in enrollment order. */
  activeParticipants(jobId: string): Promise<ParticipantRow[]>;
  markLeft(jobId: string, signingKey: string, at: number): Promise<void>;

  addRound(jobId: string, index: number, roster: string[], commitments: string[], at: number): Promise<void>;
  round(jobId: string, index: number): Promise<RoundRow | undefined>;
  rounds(jobId: string): Promise<RoundRow[]>;
  setRoundStage(jobId: string, index: number, stage: RoundStageName): Promise<void>;
  /** The aggregate outcome of a round, written before it is closed on-chain. */
  setRoundOutcome(jobId: string, index: number, outcome: RoundOutcome): Promise<void>;
  setRoundClosed(jobId: string, index: number, tx: string, at: number): Promise<void>;
  /** One more failed attempt to close the round on-chain; the next is due at `retryAt`. Returns the attempts so far. */
  setCloseFailure(jobId: string, index: number, error: string, retryAt: number): Promise<number>;
  setRoundAborted(jobId: string, index: number, reason: string, at: number): Promise<void>;

  /** Appends to the round's event log; returns the event's sequence number. */
  appendEvent(jobId: string, index: number, kind: RoundEvent['kind'], at: number, data?: Uint8Array | null): Promise<number>;
  events(jobId: string, index: number): Promise<RoundEvent[]>;

  putModel(jobId: string, index: number, weights: ArrayLike<number>): Promise<void>;
  /** The global model at the start of round `index`, float32 little-endian. */
  modelBytes(jobId: string, index: number): Promise<Uint8Array | undefined>;
  model(jobId: string, index: number): Promise<Float32Array | undefined>;

  /** The WebAssembly module an analytics job runs, as published. */
  putModule(jobId: string, bytes: Uint8Array): Promise<void>;
  module(jobId: string): Promise<Uint8Array | undefined>;
}
