// The coordinator's state, behind one interface with two implementations: SQLite (store-sqlite.ts,
// the embedded default, one process) and PostgreSQL (store-postgres.ts, for deployments and for
// several coordinator processes sharing the work). What is kept: jobs, participants, rounds, each
// round's append-only event log, and the global model at the start of every round. The event log
// holds every secure-aggregation message the coordinator accepted and every stage advance with
// its time, so a restarted coordinator rebuilds a round's state machine by replaying it. Nothing
// unmasked about any one contributor is ever written: only masked inputs, shares sealed to peers,
// and sums. The schema is the history in migrations.ts, applied when a database is opened.
import type { RoundGroup } from '../common/jobs/groups.js';
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
  /** The round's secure-aggregation groups (null: one group of the whole roster, as before groups). */
  secaggGroups: RoundGroup[] | null;
  /** The block whose transaction started the round on-chain (null: no chain, or a round from before it was kept). */
  startBlock: number | null;
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

/** A round's events; `grp` names the secure-aggregation group a message or advance belongs to (null: every group). */
export type RoundEvent =
  | { seq: number; kind: 'start'; at: number; grp: number | null }
  | { seq: number; kind: 'message'; at: number; data: Uint8Array; grp: number | null }
  | { seq: number; kind: 'advance'; at: number; grp: number | null };

/** How one group of a round ended: its decoded sum and roster positions, or why it was abandoned. */
export type GroupOutcome =
  | { grp: number; stage: 'done'; included: number[]; sum: Float64Array; /** Largest quantization error in any coordinate of the sum. */ errorBound: number; at: number }
  | { grp: number; stage: 'aborted'; reason: string; at: number };

/** Work one coordinator process holds until `expiresAt`: a job's round starts and closes, or a group's stages. */
export interface LeaseRow {
  name: string;
  holder: string;
  expiresAt: number;
  /** How many times another process took the lease over after it expired. */
  takenOver: number;
}

/** A request nonce spent: its head (hex), kept until it expires. */
export interface UsedNonce {
  nonce: string;
  expiresAt: number;
}

export interface ProcessRow {
  id: string;
  pid: number;
  url: string | null;
  startedAt: number;
  seenAt: number;
}


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
  secagg_groups: string | null;
  start_block: number | null;
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
    secaggGroups: r.secagg_groups === null ? null : (JSON.parse(r.secagg_groups) as RoundGroup[]),
    startBlock: r.start_block ?? null,
  };
}

/** float64 little-endian bytes of a group's decoded sum, and back. */
export function sumBytes(sum: Float64Array): Uint8Array {
  const out = new Uint8Array(8 * sum.length);
  const view = new DataView(out.buffer);
  for (let i = 0; i < sum.length; i++) view.setFloat64(8 * i, sum[i]!, true);
  return out;
}
export function sumFromBytes(bytes: Uint8Array): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float64Array(bytes.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(8 * i, true);
  return out;
}

export interface RawGroupOutcome {
  grp: number;
  stage: 'done' | 'aborted';
  included: string | null;
  sum: Uint8Array | null;
  error_bound: number | null;
  abort_reason: string | null;
  at: number;
}
export function groupOutcome(r: RawGroupOutcome): GroupOutcome {
  return r.stage === 'done'
    ? { grp: r.grp, stage: 'done', included: JSON.parse(r.included ?? '[]') as number[], sum: sumFromBytes(new Uint8Array(r.sum ?? new Uint8Array(0))), errorBound: r.error_bound ?? 0, at: r.at }
    : { grp: r.grp, stage: 'aborted', reason: r.abort_reason ?? '', at: r.at };
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
  /** How many participants have not left (asked on every poll of a waiting contributor: no rows read). */
  activeParticipantCount(jobId: string): Promise<number>;
  markLeft(jobId: string, signingKey: string, at: number): Promise<void>;

  /** `startBlock`: the block of the transaction that started the round on-chain, when there is a chain. */
  addRound(jobId: string, index: number, roster: string[], commitments: string[], at: number, groups?: RoundGroup[] | null, startBlock?: number | null): Promise<void>;
  /** The newest round's index and stage, without its roster (cheap enough to ask often). */
  latestRound(jobId: string): Promise<{ round: number; stage: RoundStageName } | undefined>;
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
  appendEvent(jobId: string, index: number, kind: RoundEvent['kind'], at: number, data?: Uint8Array | null, grp?: number | null): Promise<number>;
  events(jobId: string, index: number): Promise<RoundEvent[]>;
  /** The round's events after sequence number `after`, in order. */
  eventsAfter(jobId: string, index: number, after: number): Promise<RoundEvent[]>;
  /**
   * Inside a transaction: waits until no other process is changing the round's event log, and
   * keeps it so until the transaction ends (one writer per round; appends stay in one order).
   */
  lockRound(jobId: string, index: number): Promise<void>;
  putGroupOutcome(jobId: string, index: number, outcome: GroupOutcome): Promise<void>;
  groupOutcomes(jobId: string, index: number): Promise<GroupOutcome[]>;

  /**
   * Takes or renews lease `name` for `holder` until now + ttlMs: true when `holder` has it now
   * (it was free, expired, or already its own). An expired lease of another holder is taken over.
   */
  claimLease(name: string, holder: string, now: number, ttlMs: number): Promise<boolean>;
  leases(): Promise<LeaseRow[]>;
  /** Gives up every lease `holder` has (a clean shutdown: others need not wait for expiry). */
  releaseLeases(holder: string): Promise<void>;
  /** Records that coordinator process `id` is alive at `now`. */
  heartbeat(process: Omit<ProcessRow, 'seenAt'>, now: number): Promise<void>;
  processes(): Promise<ProcessRow[]>;

  /**
   * Records request nonces as used until their expiry, in one commit; returns the ones that were
   * used already, at this process or any other on the database (nonces.ts).
   */
  spendNonces(nonces: readonly UsedNonce[]): Promise<string[]>;
  /** Forgets used nonces that expired before `now` (they are refused as expired anyway). */
  forgetNonces(now: number): Promise<void>;

  putModel(jobId: string, index: number, weights: ArrayLike<number>): Promise<void>;
  /** The global model at the start of round `index`, float32 little-endian. */
  modelBytes(jobId: string, index: number): Promise<Uint8Array | undefined>;
  model(jobId: string, index: number): Promise<Float32Array | undefined>;

  /** The WebAssembly module an analytics job runs, as published. */
  putModule(jobId: string, bytes: Uint8Array): Promise<void>;
  module(jobId: string): Promise<Uint8Array | undefined>;
}
