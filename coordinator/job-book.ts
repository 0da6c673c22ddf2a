// The job book: the jobs this coordinator runs and who is enrolled in each. It registers a
// published job (its signed document, validation set and round 0's model), answers enrollments
// and departures, and tells which key may speak for which job. What a round does with the
// enrolled contributors is the round workflow's (rounds.ts).
import { TroveError } from '../common/errors.js';
import { signedJobSchema, type JobDocument } from '../common/jobs/document.js';
import { isAnalyticsJob, parseAnyJobDocument, type AnyJobDocument } from '../common/jobs/kinds.js';
import { sha256Hex } from '../common/jobs/client.js';
import { ANALYTICS_LIMITS } from '../common/analytics/spec.js';
import type { JobStatus, RoundSummary } from '../common/jobs/protocol.js';
import { readValidationCsv } from '../common/model/csv.js';
import { buildTrainingMatrix, type TrainingMatrix } from '../common/model/features.js';
import { initialWeights } from '../common/model/weights.js';
import type { SecAggServer } from '../common/secagg/server.js';
import type { RoundGroup } from '../common/jobs/groups.js';
import type { CoordinatorStore, GroupOutcome, JobRow, RoundStageName } from './store.js';

/** One secure-aggregation group of the round in progress, as this process has replayed it. */
export interface GroupRound {
  group: RoundGroup;
  roundId: Uint8Array;
  server: SecAggServer;
  /** Messages queued for each member (by id within the group), in order; a message's sequence number is its index + 1. */
  outbox: Uint8Array[][];
  /** How the group ended, once it has (read from the database when another process finished it). */
  outcome: GroupOutcome | undefined;
}

export interface ActiveRound {
  index: number;
  roster: string[];
  /** Each roster key's client id: a request's sender is found without scanning the roster. */
  clientIds: Map<string, number>;
  commitments: string[];
  groups: GroupRound[];
  /** The round's stage: the least advanced group's, then closing, closed or aborted. */
  stage: RoundStageName;
  /** The largest message a client of this round can send. */
  maxMessageBytes: number;
  /** The last event of the round's log this process has applied. */
  applied: number;
}

/** A job document as published, with the researcher's signature over its hash. */
export interface SignedAnyJob {
  document: AnyJobDocument;
  signature: string;
}

export interface JobRuntime {
  row: JobRow;
  doc: AnyJobDocument;
  validation: TrainingMatrix | null;
  active: ActiveRound | undefined;
  /** When the next round may start (set once enough contributors are enrolled). */
  readyAt: number | undefined;
  /** A close on-chain in flight, or when to try it again. */
  closing: Promise<void> | undefined;
  closeRetryAt: number;
}

/**
 * A module job is published with its module, whose sha256 is the one the signed document names
 * (contributors check the bytes they are served against the document too); a built-in or training
 * job has none.
 */
export function checkModule(doc: AnyJobDocument, module: Uint8Array | null): void {
  const c = isAnalyticsJob(doc) ? doc.analytics.computation : null;
  if (c?.kind !== 'module') {
    if (module) throw new TroveError('INVALID_INPUT', 'Only a job whose analytics computation is a module takes a module file.');
    return;
  }
  if (!module) throw new TroveError('INVALID_INPUT', 'This job runs a WebAssembly module: publish it with the module file (--module).');
  if (module.length > ANALYTICS_LIMITS.maxModuleBytes) throw new TroveError('INVALID_INPUT', `The module is ${module.length} bytes, more than ${ANALYTICS_LIMITS.maxModuleBytes}.`);
  const actual = sha256Hex(module);
  if (actual !== c.sha256) {
    throw new TroveError('INVALID_INPUT', `The module file's sha256 is ${actual}, but the job document names ${c.sha256}: rebuild the module or fix the document.`);
  }
}

export const COLLECTING = new Set<RoundStageName>(['advertise-keys', 'share-keys', 'collect-masked-inputs', 'consistency-check', 'unmask']);

/** The validation set as the job's training matrix; INVALID_INPUT when it does not fit the job. */
export function validationMatrix(doc: JobDocument, csv: string): TrainingMatrix {
  const matrix = buildTrainingMatrix(doc.training, readValidationCsv(csv, doc.training));
  if (matrix.rows === 0) throw new TroveError('INVALID_INPUT', 'The validation file has no row the job can use.');
  return matrix;
}

/** A job's status as the database has it (what the CLI reports without running rounds). */
export async function storedStatus(store: CoordinatorStore, jobId: string): Promise<JobStatus> {
  const row = await store.job(jobId);
  if (!row) throw new TroveError('JOB_NOT_FOUND', `This coordinator has no job ${jobId.slice(0, 80)}.`);
  const doc = parseAnyJobDocument((JSON.parse(row.signedJson) as SignedAnyJob).document);
  const stored = await store.rounds(jobId);
  const rounds: RoundSummary[] = stored.map((r) => ({
    round: r.round,
    stage: r.stage,
    invited: r.roster.length,
    included: r.included ? r.included.length : null,
    includedPositions: r.included ? [...r.included].sort((a, b) => a - b) : null,
    validation: r.validation,
    closed: r.closeTx && r.groupRoot && r.groupSize !== null ? { groupRoot: r.groupRoot, groupSize: r.groupSize, tx: r.closeTx } : null,
  }));
  const last = stored.at(-1);
  return {
    jobId,
    specHash: row.specHash,
    state: row.state,
    roundsTotal: doc.rounds,
    enrolled: await store.activeParticipantCount(jobId),
    currentRound: last && last.stage !== 'closed' && last.stage !== 'aborted' ? last.round : stored.length,
    rounds,
  };
}

export class JobBook {
  readonly jobs = new Map<string, JobRuntime>();

  constructor(
    readonly store: CoordinatorStore,
    private readonly now: () => number,
  ) {}

  /** Registers a published job: its signed document, optional validation set, and round 0's model. */
  async add(input: { jobId: string; specHash: string; signed: SignedAnyJob; validationCsv?: string | null; publishTx?: string | null; module?: Uint8Array | null }): Promise<JobRow> {
    const envelope = signedJobSchema.parse(input.signed);
    const doc = parseAnyJobDocument(envelope.document);
    checkModule(doc, input.module ?? null);
    if (input.validationCsv) {
      if (isAnalyticsJob(doc)) throw new TroveError('INVALID_INPUT', 'An analytics job has no model to validate: leave out the validation file.');
      validationMatrix(doc, input.validationCsv);
    }
    if (await this.store.job(input.jobId)) throw new TroveError('INVALID_INPUT', `Job ${input.jobId} is already registered with this coordinator.`);
    await this.store.transaction(async () => {
      await this.store.addJob({
        jobId: input.jobId,
        specHash: input.specHash.toLowerCase(),
        signedJson: JSON.stringify({ document: doc, signature: envelope.signature }),
        validationCsv: input.validationCsv ?? null,
        publishedAt: this.now(),
        publishTx: input.publishTx ?? null,
      });
      if (isAnalyticsJob(doc)) {
        if (input.module) await this.store.putModule(input.jobId, input.module);
      } else {
        await this.store.putModel(input.jobId, 0, initialWeights(doc.training.model, doc.training.local.seed));
      }
    });
    const row = (await this.store.job(input.jobId))!;
    this.jobs.set(row.jobId, this.runtime(row));
    return row;
  }

  runtime(row: JobRow): JobRuntime {
    const envelope = JSON.parse(row.signedJson) as SignedAnyJob;
    const doc = parseAnyJobDocument(envelope.document);
    return {
      row,
      doc,
      validation: row.validationCsv && !isAnalyticsJob(doc) ? validationMatrix(doc, row.validationCsv) : null,
      active: undefined,
      readyAt: undefined,
      closing: undefined,
      closeRetryAt: 0,
    };
  }

  async get(jobId: string): Promise<JobRuntime> {
    if (!/^(0|[1-9][0-9]{0,77})$/.test(jobId)) throw new TroveError('JOB_NOT_FOUND', `This coordinator runs no job ${jobId.slice(0, 80)}.`);
    let job = this.jobs.get(jobId);
    if (!job) {
      // Published by another process (the CLI) into the same database since this one opened it.
      const row = await this.store.job(jobId);
      if (row && (await this.store.rounds(jobId)).length === 0) this.jobs.set(jobId, (job = this.runtime(row)));
    }
    if (!job) throw new TroveError('JOB_NOT_FOUND', `This coordinator runs no job ${jobId.slice(0, 80)}.`);
    return job;
  }

  /**
   * Picks up jobs published by another process on the same database; returns the jobs another
   * process cancelled since this one last looked, and the ones it ran rounds of, which the round
   * workflow loads (replaying their round in progress).
   */
  async refresh(): Promise<{ cancelled: string[]; withRounds: JobRow[] }> {
    const cancelled: string[] = [];
    const withRounds: JobRow[] = [];
    for (const row of await this.store.jobs()) {
      const job = this.jobs.get(row.jobId);
      if (!job) {
        if (!(await this.store.latestRound(row.jobId))) this.jobs.set(row.jobId, this.runtime(row));
        else withRounds.push(row);
      } else if (row.state === 'cancelled' && job.row.state !== 'cancelled') {
        cancelled.push(row.jobId);
      } else if (row.state !== job.row.state) {
        // Moved on by another process (running, finished).
        job.row = row;
      }
    }
    return { cancelled, withRounds };
  }

  /** The signed document behind a spec hash, as published. */
  async signedDocument(specHash: string): Promise<string> {
    const row = /^0x[0-9a-fA-F]{64}$/.test(specHash) ? await this.store.jobBySpecHash(specHash) : undefined;
    if (!row) throw new TroveError('JOB_NOT_FOUND', 'This coordinator has no job document with that hash.');
    return row.signedJson;
  }

  /** Records an enrollment (a retried one of the same pair is accepted again); returns how many are enrolled. */
  async enroll(jobId: string, signingKey: string, commitment: string): Promise<{ job: JobRuntime; enrolled: number }> {
    const job = await this.get(jobId);
    if (job.row.state !== 'enrolling' && job.row.state !== 'running') throw new TroveError('JOB_NOT_ACTIVE', `Job ${jobId} takes no more contributors.`);
    if (this.now() > job.doc.deadline * 1000) throw new TroveError('JOB_NOT_ACTIVE', `Job ${jobId} has passed its deadline.`);
    const byKey = await this.store.participantByKey(jobId, signingKey);
    const byCommitment = await this.store.participantByCommitment(jobId, commitment);
    if (byKey || byCommitment) {
      // A retried enrollment of the same pair is answered again; anything else is a second identity.
      if (!(byKey && byCommitment && byKey.seq === byCommitment.seq && byKey.leftAt === null)) {
        throw new TroveError('INVALID_INPUT', 'This signing key or Semaphore commitment has already enrolled in the job.');
      }
    } else {
      await this.store.addParticipant(jobId, signingKey, commitment, this.now());
    }
    return { job, enrolled: await this.store.activeParticipantCount(jobId) };
  }

  async leave(jobId: string, signingKey: string): Promise<void> {
    await this.get(jobId);
    await this.store.markLeft(jobId, signingKey, this.now());
  }

  /** Throws NOT_ENROLLED unless the key enrolled in the job (and, when `active`, has not left). */
  async requireParticipant(jobId: string, signingKey: string, active = true): Promise<void> {
    await this.get(jobId);
    const p = await this.store.participantByKey(jobId, signingKey);
    if (!p || (active && p.leftAt !== null)) throw new TroveError('NOT_ENROLLED', 'This key is not enrolled in the job.');
  }
}
