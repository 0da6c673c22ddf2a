// The round runner: for every job it invites the enrolled contributors to a secure-aggregation
// round once enough have joined, moves the round through its stages (when everyone answered, or
// on the stage's deadline), queues what each contributor must receive, and turns the unmasked
// sum into the next global model, which it scores on the validation set and closes on-chain
// with the Semaphore group of the contributors whose update is in it.
//
// Every accepted message and every stage advance is written to the round's event log before it
// is acknowledged or acted on; the secure-aggregation server is deterministic given that log, so
// open() after a crash or restart replays it and carries on where the round was.
import { Group } from '@semaphore-protocol/group';
import type { Provider, Signer } from 'ethers';
import { TroveError } from '../common/errors.js';
import { parseJobDocument, roundVectorLength, signedJobSchema, type JobDocument, type SignedJob } from '../common/jobs/document.js';
import { toHex } from '../common/jobs/client.js';
import type { EnrollResponse, JobStatus, RoundInfo, RoundSummary } from '../common/jobs/protocol.js';
import { modelHashOf, roundIdFor, roundParamsFor } from '../common/jobs/rounds.js';
import { readValidationCsv } from '../common/model/csv.js';
import { evaluateModel, type Evaluation } from '../common/model/evaluate.js';
import { buildTrainingMatrix, type TrainingMatrix } from '../common/model/features.js';
import { initialWeights } from '../common/model/weights.js';
import { fedAvgStep, weightedMeanFromSum } from '../common/secagg/fedavg.js';
import { SecAggServer, type Outgoing } from '../common/secagg/server.js';
import { loadSodium } from '../common/secagg/sodium.js';
import { HEADER_BYTES, maskedInputBytes, readHeader, SIGNATURE_BYTES, SHARE_CIPHERTEXT_BYTES } from '../common/secagg/wire.js';
import { SHARE_BYTES } from '../common/secagg/shamir.js';
import type { TroveDeployment } from '../contracts/deploy.js';
import { closeRoundOnChain } from './chain.js';
import { freezeRoster } from './closer.js';
import { CoordinatorStore, type JobRow, type RoundRow, type RoundStageName } from './store.js';

/** How the coordinator reaches the chain to close rounds. */
export interface RoundCloser {
  coordinator: Signer;
  provider: Provider;
  deployment: TroveDeployment;
}

export interface RoundRunnerOptions {
  store: CoordinatorStore;
  /** Without a chain, finished rounds wait in 'closing' until a coordinator with one opens the store. */
  chain?: RoundCloser;
  /** The coordinator's clock (tests move it). */
  now?: () => number;
  /** Wait this long after the minimum enrolled before inviting, so more can join the round. */
  startDelayMs?: number;
  /** Run stage deadlines and round starts on timers; off when a test drives tick() itself. */
  timers?: boolean;
  /** After a failed on-chain close, try again this much later. */
  closeRetryMs?: number;
  /** Told about rounds that could not be closed on-chain yet, and other background failures. */
  onError?: (err: unknown) => void;
}

interface ActiveRound {
  index: number;
  roundId: Uint8Array;
  roster: string[];
  commitments: string[];
  server: SecAggServer;
  /** Messages queued for each client, in order; a message's sequence number is its index + 1. */
  outbox: Uint8Array[][];
  stage: RoundStageName;
  /** The largest message a client of this round can send. */
  maxMessageBytes: number;
}

interface JobRuntime {
  row: JobRow;
  doc: JobDocument;
  validation: TrainingMatrix | null;
  active: ActiveRound | undefined;
  /** When the next round may start (set once enough contributors are enrolled). */
  readyAt: number | undefined;
  /** A close on-chain in flight, or when to try it again. */
  closing: Promise<void> | undefined;
  closeRetryAt: number;
}

const COLLECTING = new Set<RoundStageName>(['advertise-keys', 'share-keys', 'collect-masked-inputs', 'consistency-check', 'unmask']);

/** The validation set as the job's training matrix; INVALID_INPUT when it does not fit the job. */
export function validationMatrix(doc: JobDocument, csv: string): TrainingMatrix {
  const matrix = buildTrainingMatrix(doc.training, readValidationCsv(csv, doc.training));
  if (matrix.rows === 0) throw new TroveError('INVALID_INPUT', 'The validation file has no row the job can use.');
  return matrix;
}

/** A job's status as the database has it (what the CLI reports without running rounds). */
export function storedStatus(store: CoordinatorStore, jobId: string): JobStatus {
  const row = store.job(jobId);
  if (!row) throw new TroveError('JOB_NOT_FOUND', `This coordinator has no job ${jobId.slice(0, 80)}.`);
  const doc = parseJobDocument((JSON.parse(row.signedJson) as SignedJob).document);
  const stored = store.rounds(jobId);
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
    enrolled: store.activeParticipants(jobId).length,
    currentRound: last && last.stage !== 'closed' && last.stage !== 'aborted' ? last.round : stored.length,
    rounds,
  };
}

export class RoundRunner {
  readonly store: CoordinatorStore;
  private readonly chain: RoundCloser | undefined;
  private readonly now: () => number;
  private readonly startDelayMs: number;
  private readonly timers: boolean;
  private readonly closeRetryMs: number;
  private readonly onError: (err: unknown) => void;
  private readonly jobs = new Map<string, JobRuntime>();
  private readonly waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(options: RoundRunnerOptions) {
    this.store = options.store;
    this.chain = options.chain;
    this.now = options.now ?? Date.now;
    this.startDelayMs = options.startDelayMs ?? 2_000;
    this.timers = options.timers ?? true;
    this.closeRetryMs = options.closeRetryMs ?? 5_000;
    this.onError = options.onError ?? (() => undefined);
  }

  /** Loads every job and replays every unfinished round from its event log. */
  static async open(options: RoundRunnerOptions): Promise<RoundRunner> {
    await loadSodium();
    const runner = new RoundRunner(options);
    for (const row of runner.store.jobs()) await runner.load(row);
    runner.schedule();
    return runner;
  }

  /** Stops the timers and wakes every waiting inbox request; the store stays open. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wake();
  }

  /** Waits for on-chain closes in flight (tests and shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.jobs.values()].map((j) => j.closing));
  }

  // --- jobs -------------------------------------------------------------------------------------

  /** Registers a published job: its signed document, optional validation set, and round 0's model. */
  addJob(input: { jobId: string; specHash: string; signed: SignedJob; validationCsv?: string | null; publishTx?: string | null }): JobRow {
    const envelope = signedJobSchema.parse(input.signed);
    const doc = parseJobDocument(envelope.document);
    if (input.validationCsv) validationMatrix(doc, input.validationCsv);
    if (this.store.job(input.jobId)) throw new TroveError('INVALID_INPUT', `Job ${input.jobId} is already registered with this coordinator.`);
    this.store.transaction(() => {
      this.store.addJob({
        jobId: input.jobId,
        specHash: input.specHash.toLowerCase(),
        signedJson: JSON.stringify({ document: doc, signature: envelope.signature }),
        validationCsv: input.validationCsv ?? null,
        publishedAt: this.now(),
        publishTx: input.publishTx ?? null,
      });
      this.store.putModel(input.jobId, 0, initialWeights(doc.training.model, doc.training.local.seed));
    });
    const row = this.store.job(input.jobId)!;
    this.jobs.set(row.jobId, this.runtime(row));
    return row;
  }

  /** Throws INVALID_INPUT unless the CSV is a usable validation set for the job. */
  checkValidation(doc: JobDocument, csv: string): void {
    validationMatrix(doc, csv);
  }

  /** Marks a job cancelled: no round starts again, and a round in progress ends. */
  cancelJob(jobId: string): void {
    const job = this.job(jobId);
    this.store.setJobState(jobId, 'cancelled');
    job.row = this.store.job(jobId)!;
    if (job.active && COLLECTING.has(job.active.stage)) {
      this.store.setRoundAborted(jobId, job.active.index, 'The job was cancelled.', this.now());
      job.active.stage = 'aborted';
    }
    this.wake();
  }

  private runtime(row: JobRow): JobRuntime {
    const envelope = JSON.parse(row.signedJson) as SignedJob;
    const doc = parseJobDocument(envelope.document);
    return {
      row,
      doc,
      validation: row.validationCsv ? validationMatrix(doc, row.validationCsv) : null,
      active: undefined,
      readyAt: undefined,
      closing: undefined,
      closeRetryAt: 0,
    };
  }

  private async load(row: JobRow): Promise<void> {
    const job = this.runtime(row);
    this.jobs.set(row.jobId, job);
    if (row.state !== 'enrolling' && row.state !== 'running') return;
    const last = this.store.rounds(row.jobId).at(-1);
    if (!last || last.stage === 'closed' || last.stage === 'aborted') return;
    const active = await this.createRound(job, last);
    job.active = active;
    if (last.stage === 'closing') return;
    for (const event of this.store.events(row.jobId, last.round)) {
      if (event.kind === 'start') this.enqueue(active, active.server.start(event.at));
      else if (event.kind === 'message') active.server.receive(event.data);
      else this.enqueue(active, active.server.advance(event.at));
    }
    if (active.server.stage === 'setup') {
      // Stopped between recording the round and opening it.
      const now = this.now();
      this.store.appendEvent(row.jobId, last.round, 'start', now);
      this.enqueue(active, active.server.start(now));
    }
    this.afterAdvance(job, active);
  }

  private job(jobId: string): JobRuntime {
    if (!/^(0|[1-9][0-9]{0,77})$/.test(jobId)) throw new TroveError('JOB_NOT_FOUND', `This coordinator runs no job ${jobId.slice(0, 80)}.`);
    let job = this.jobs.get(jobId);
    if (!job) {
      // Published by another process (the CLI) into the same database since this one opened it.
      const row = this.store.job(jobId);
      if (row && this.store.rounds(jobId).length === 0) this.jobs.set(jobId, (job = this.runtime(row)));
    }
    if (!job) throw new TroveError('JOB_NOT_FOUND', `This coordinator runs no job ${jobId.slice(0, 80)}.`);
    return job;
  }

  /** Picks up jobs published, and cancellations made, by another process on the same database. */
  private refreshFromStore(): void {
    for (const row of this.store.jobs()) {
      const job = this.jobs.get(row.jobId);
      if (!job) {
        if (this.store.rounds(row.jobId).length === 0) this.jobs.set(row.jobId, this.runtime(row));
      } else if (row.state === 'cancelled' && job.row.state !== 'cancelled') {
        this.cancelJob(row.jobId);
      }
    }
  }

  document(jobId: string): JobDocument {
    return this.job(jobId).doc;
  }

  /** The signed document behind a spec hash, as published. */
  signedDocument(specHash: string): string {
    const row = /^0x[0-9a-fA-F]{64}$/.test(specHash) ? this.store.jobBySpecHash(specHash) : undefined;
    if (!row) throw new TroveError('JOB_NOT_FOUND', 'This coordinator has no job document with that hash.');
    return row.signedJson;
  }

  // --- contributors -----------------------------------------------------------------------------

  enroll(jobId: string, signingKey: string, commitment: string): EnrollResponse {
    const job = this.job(jobId);
    if (job.row.state !== 'enrolling' && job.row.state !== 'running') throw new TroveError('JOB_NOT_ACTIVE', `Job ${jobId} takes no more contributors.`);
    if (this.now() > job.doc.deadline * 1000) throw new TroveError('JOB_NOT_ACTIVE', `Job ${jobId} has passed its deadline.`);
    const byKey = this.store.participantByKey(jobId, signingKey);
    const byCommitment = this.store.participantByCommitment(jobId, commitment);
    if (byKey || byCommitment) {
      // A retried enrollment of the same pair is answered again; anything else is a second identity.
      if (!(byKey && byCommitment && byKey.seq === byCommitment.seq && byKey.leftAt === null)) {
        throw new TroveError('INVALID_INPUT', 'This signing key or Semaphore commitment has already enrolled in the job.');
      }
    } else {
      this.store.addParticipant(jobId, signingKey, commitment, this.now());
    }
    const enrolled = this.store.activeParticipants(jobId).length;
    this.considerStart(job);
    this.schedule();
    return { jobId, nextRound: this.nextRoundIndex(job), enrolled };
  }

  leave(jobId: string, signingKey: string): void {
    this.job(jobId);
    this.store.markLeft(jobId, signingKey, this.now());
  }

  /** Throws NOT_ENROLLED unless the key enrolled in the job (and, when `active`, has not left). */
  requireParticipant(jobId: string, signingKey: string, active = true): void {
    this.job(jobId);
    const p = this.store.participantByKey(jobId, signingKey);
    if (!p || (active && p.leftAt !== null)) throw new TroveError('NOT_ENROLLED', 'This key is not enrolled in the job.');
  }

  private nextRoundIndex(job: JobRuntime): number {
    if (job.active && job.active.stage !== 'closed' && job.active.stage !== 'aborted') return job.active.index;
    return this.store.rounds(job.row.jobId).length;
  }

  roundInfo(jobId: string, signingKey: string): RoundInfo {
    const job = this.job(jobId);
    this.requireParticipant(jobId, signingKey, false);
    if (job.row.state === 'cancelled') return { state: 'finished', reason: 'cancelled' };
    if (job.row.state === 'finished') return { state: 'finished', reason: this.store.rounds(jobId).length >= job.doc.rounds ? 'completed' : 'expired' };
    const a = job.active;
    if (a && a.stage !== 'closed' && a.stage !== 'aborted') {
      const clientId = a.roster.indexOf(signingKey);
      if (clientId >= 0) {
        return {
          state: 'invited',
          round: a.index,
          roundId: toHex(a.roundId),
          clientId,
          roster: a.roster,
          stage: a.stage,
          stageDeadline: COLLECTING.has(a.stage) ? a.server.stageDeadline : this.now(),
        };
      }
    }
    const wait = job.readyAt !== undefined ? Math.max(0, job.readyAt - this.now()) : 5_000;
    return { state: 'waiting', nextRound: this.nextRoundIndex(job), retryAfterMs: Math.min(60_000, Math.max(250, wait)) };
  }

  /** The global model at the start of a round, float32 little-endian. */
  modelBytes(jobId: string, round: number): Uint8Array {
    this.job(jobId);
    const bytes = this.store.modelBytes(jobId, round);
    if (!bytes) throw new TroveError('JOB_NOT_FOUND', `Job ${jobId} has no model for round ${round} yet.`);
    return bytes;
  }

  /** The largest message a contributor may send in a round (bounds request bodies). */
  maxMessageBytes(jobId: string): number {
    // Any round but the one in progress refuses the message after reading it: bound it the same.
    const a = this.job(jobId).active;
    return a ? a.maxMessageBytes : HEADER_BYTES + SIGNATURE_BYTES;
  }

  private activeRoundFor(jobId: string, round: number, signingKey: string): { job: JobRuntime; active: ActiveRound; clientId: number } {
    const job = this.job(jobId);
    const active = job.active;
    if (!active || active.index !== round) {
      throw new TroveError('SECAGG_WRONG_ROUND', `Round ${round} of job ${jobId} is not the round in progress.`);
    }
    const clientId = active.roster.indexOf(signingKey);
    if (clientId < 0) throw new TroveError('NOT_ENROLLED', `This key is not invited to round ${round}.`);
    return { job, active, clientId };
  }

  /** Takes one secure-aggregation message; it is on disk before this returns. */
  receive(jobId: string, round: number, signingKey: string, message: Uint8Array): void {
    const { job, active, clientId } = this.activeRoundFor(jobId, round, signingKey);
    const header = readHeader(message);
    if (header.party !== clientId) throw new TroveError('SECAGG_MALFORMED', `The message claims to come from client ${header.party}; this key is client ${clientId}.`);
    if (!COLLECTING.has(active.stage)) throw new TroveError('SECAGG_WRONG_STAGE', `Round ${round} is ${active.stage} and takes no more messages.`);
    active.server.receive(message);
    this.store.appendEvent(jobId, round, 'message', this.now(), message);
    this.advanceIfReady(job, active);
  }

  /** Messages for a contributor after sequence `after`, waiting up to `waitMs` for one to arrive. */
  async inbox(
    jobId: string,
    round: number,
    signingKey: string,
    after: number,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<{ stage: RoundStageName; messages: { seq: number; data: Uint8Array }[] }> {
    const job = this.job(jobId);
    const row = this.store.round(jobId, round);
    if (!row) throw new TroveError('SECAGG_WRONG_ROUND', `Job ${jobId} has no round ${round}.`);
    const clientId = row.roster.indexOf(signingKey);
    if (clientId < 0) throw new TroveError('NOT_ENROLLED', `This key is not invited to round ${round}.`);
    const read = () => {
      const a = job.active && job.active.index === round ? job.active : undefined;
      const queue = a?.outbox[clientId] ?? [];
      const messages = queue.slice(after, after + 64).map((data, i) => ({ seq: after + i + 1, data }));
      return { stage: a?.stage ?? this.store.round(jobId, round)!.stage, messages };
    };
    const deadline = Date.now() + waitMs;
    let out = read();
    while (out.messages.length === 0 && !this.closed && !signal?.aborted && Date.now() < deadline && (COLLECTING.has(out.stage) || out.stage === 'closing')) {
      await this.waitForChange(deadline - Date.now(), signal);
      out = read();
    }
    return out;
  }

  private waitForChange(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.add(done);
      signal?.addEventListener('abort', done);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  // --- rounds -----------------------------------------------------------------------------------

  private closedCount(jobId: string): number {
    return this.store.rounds(jobId).filter((r) => r.stage === 'closed').length;
  }

  /** The hash of the model round `round` trains from: every contributor of the round is served this one. */
  private roundModelHash(job: JobRuntime, round: number): Uint8Array {
    const model = this.store.model(job.row.jobId, round);
    if (!model) throw new TroveError('INVALID_INPUT', `Round ${round + 1} of job ${job.row.jobId} has no model to start from.`);
    return modelHashOf(model);
  }

  private async createRound(job: JobRuntime, row: RoundRow): Promise<ActiveRound> {
    const roundId = roundIdFor(job.doc.chainId, job.row.jobId, row.round);
    const params = roundParamsFor(job.doc, roundId, row.roster.length, this.roundModelHash(job, row.round));
    const server = await SecAggServer.create(
      params,
      row.roster.map((k) => Uint8Array.from(Buffer.from(k, 'hex'))),
    );
    const k = params.neighbourCount;
    const maxMessageBytes = Math.max(
      maskedInputBytes(roundVectorLength(job.doc)),
      HEADER_BYTES + 4 + k * (8 + SHARE_CIPHERTEXT_BYTES) + SIGNATURE_BYTES,
      HEADER_BYTES + 4 + k * (5 + SHARE_BYTES) + SIGNATURE_BYTES,
    );
    return {
      index: row.round,
      roundId,
      roster: row.roster,
      commitments: row.commitments,
      server,
      outbox: row.roster.map(() => []),
      stage: row.stage,
      maxMessageBytes,
    };
  }

  /**
   * The round cap: a job runs round indexes 0..rounds-1 and no more, aborted ones included, because
   * each contributor's privacy budget was charged for `rounds` releases (and the app refuses more).
   */
  private finishIfNoRoundLeft(job: JobRuntime): boolean {
    if (this.store.rounds(job.row.jobId).length < job.doc.rounds) return false;
    this.store.setJobState(job.row.jobId, 'finished');
    job.row = this.store.job(job.row.jobId)!;
    job.readyAt = undefined;
    return true;
  }

  private considerStart(job: JobRuntime): void {
    if (job.row.state !== 'enrolling' && job.row.state !== 'running') return;
    if (job.active && job.active.stage !== 'closed' && job.active.stage !== 'aborted') return;
    if (this.finishIfNoRoundLeft(job)) return;
    const enrolled = this.store.activeParticipants(job.row.jobId).length;
    if (enrolled < job.doc.minContributors) {
      job.readyAt = undefined;
      return;
    }
    job.readyAt ??= this.now() + this.startDelayMs;
  }

  /** Starts a round when enough contributors are enrolled and the start delay has passed. */
  private async startRound(job: JobRuntime): Promise<void> {
    const jobId = job.row.jobId;
    let participants = this.store.activeParticipants(jobId);
    job.readyAt = undefined;
    if (this.chain) {
      // The roster is frozen on-chain first, so every client can check it (coordinator/closer.ts).
      try {
        participants = await freezeRoster(this.chain, jobId, participants, { relay: BigInt(job.doc.reward.bond) === 0n, minimum: job.doc.minContributors });
      } catch (err) {
        job.readyAt = this.now() + this.closeRetryMs;
        this.onError(err);
        return;
      }
    }
    const index = this.store.rounds(jobId).length;
    const now = this.now();
    this.store.transaction(() => {
      this.store.addRound(
        jobId,
        index,
        participants.map((p) => p.signingKey),
        participants.map((p) => p.commitment),
        now,
      );
      if (job.row.state === 'enrolling') this.store.setJobState(jobId, 'running');
    });
    job.row = this.store.job(jobId)!;
    const active = await this.createRound(job, this.store.round(jobId, index)!);
    job.active = active;
    this.store.appendEvent(jobId, index, 'start', now);
    this.enqueue(active, active.server.start(now));
    active.stage = 'advertise-keys';
    this.wake();
  }

  private enqueue(active: ActiveRound, out: Outgoing[]): void {
    for (const o of out) active.outbox[o.to]?.push(o.message);
  }

  private advanceIfReady(job: JobRuntime, active: ActiveRound): void {
    const now = this.now();
    let advanced = false;
    while (COLLECTING.has(active.stage) && active.server.canAdvance(now)) {
      this.store.appendEvent(job.row.jobId, active.index, 'advance', now);
      this.enqueue(active, active.server.advance(now));
      this.afterAdvance(job, active);
      advanced = true;
    }
    // Waiting inboxes change only when a stage closes: an accepted message alone wakes nobody.
    if (advanced) {
      this.wake();
      this.schedule();
    }
  }

  /** Brings the stored stage in line with the state machine and acts on a finished round. */
  private afterAdvance(job: JobRuntime, active: ActiveRound): void {
    const jobId = job.row.jobId;
    const s = active.server.stage;
    if (s === 'aborted') {
      const reason = active.server.abortError?.message ?? 'The round was abandoned.';
      this.store.transaction(() => {
        this.store.setRoundAborted(jobId, active.index, reason, this.now());
        // The next round starts again from the same model.
        this.store.putModel(jobId, active.index + 1, this.store.model(jobId, active.index)!);
      });
      active.stage = 'aborted';
      this.considerStart(job);
    } else if (s === 'done') {
      this.recordOutcome(job, active);
      active.stage = 'closing';
      this.closeOnChain(job, active);
    } else if (s !== 'setup' && active.stage !== s) {
      active.stage = s;
      this.store.setRoundStage(jobId, active.index, s);
    }
  }

  private recordOutcome(job: JobRuntime, active: ActiveRound): void {
    const result = active.server.result!;
    const jobId = job.row.jobId;
    const agg = job.doc.aggregation;
    const { mean } = weightedMeanFromSum(result.sum, agg.maxExamples, agg.clipRange);
    const next = Float32Array.from(fedAvgStep(this.store.model(jobId, active.index)!, mean, agg.serverLearningRate));
    let validation: Evaluation | null = null;
    if (job.validation) validation = evaluateModel(job.doc.training.model, next, job.validation);
    // In roster order, as RoundRewards builds it from the included positions.
    const group = new Group([...result.contributors].sort((a, b) => a - b).map((id) => BigInt(active.commitments[id]!)));
    this.store.transaction(() => {
      this.store.setRoundOutcome(jobId, active.index, {
        included: result.contributors,
        validation,
        groupRoot: group.root.toString(),
        groupSize: group.size,
      });
      this.store.putModel(jobId, active.index + 1, next);
    });
  }

  private closeOnChain(job: JobRuntime, active: ActiveRound): void {
    if (job.closing) return;
    const jobId = job.row.jobId;
    job.closing = (async () => {
      try {
        const chain = this.chain;
        if (!chain) throw new TroveError('CHAIN_UNREACHABLE', `Round ${active.index} of job ${jobId} is ready to close, but this coordinator has no chain configured.`);
        const row = this.store.round(jobId, active.index)!;
        // Roster positions: the contract builds the group of their commitments itself.
        const tx = await closeRoundOnChain(chain.coordinator, chain.deployment, jobId, row.included ?? []);
        const finished = this.closedCount(jobId) + 1 >= job.doc.rounds || active.index + 1 >= job.doc.rounds;
        this.store.transaction(() => {
          this.store.setRoundClosed(jobId, active.index, tx, this.now());
          if (finished) this.store.setJobState(jobId, 'finished');
        });
        job.row = this.store.job(jobId)!;
        active.stage = 'closed';
        if (!finished) this.considerStart(job);
      } catch (err) {
        job.closeRetryAt = this.now() + this.closeRetryMs;
        this.onError(err);
      } finally {
        job.closing = undefined;
        this.wake();
        this.schedule();
      }
    })();
  }

  /** Does whatever is due now: stage deadlines, round starts, on-chain closes to retry. */
  async tick(): Promise<void> {
    if (this.closed) return;
    this.refreshFromStore();
    const now = this.now();
    for (const job of this.jobs.values()) {
      if (job.row.state !== 'enrolling' && job.row.state !== 'running') continue;
      const a = job.active;
      if (a && COLLECTING.has(a.stage)) {
        this.advanceIfReady(job, a);
      } else if (a && a.stage === 'closing') {
        if (!job.closing && now >= job.closeRetryAt) this.closeOnChain(job, a);
      } else {
        if (now > job.doc.deadline * 1000) {
          this.store.setJobState(job.row.jobId, 'finished');
          job.row = this.store.job(job.row.jobId)!;
          continue;
        }
        this.considerStart(job);
        if (job.readyAt !== undefined && this.now() >= job.readyAt) await this.startRound(job);
      }
    }
    this.schedule();
  }

  /** Public status of a job, with the live stage of the round in progress. */
  status(jobId: string): JobStatus {
    const job = this.job(jobId);
    const status = storedStatus(this.store, jobId);
    for (const r of status.rounds) if (job.active?.index === r.round) r.stage = job.active.stage;
    status.currentRound = this.nextRoundIndex(job);
    return status;
  }

  private schedule(): void {
    if (!this.timers || this.closed) return;
    let wake = Infinity;
    for (const job of this.jobs.values()) {
      const a = job.active;
      if (a && COLLECTING.has(a.stage)) wake = Math.min(wake, a.server.stageDeadline);
      else if (a && a.stage === 'closing' && !job.closing) wake = Math.min(wake, job.closeRetryAt);
      if (job.readyAt !== undefined) wake = Math.min(wake, job.readyAt);
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (wake === Infinity) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.tick().catch((err: unknown) => this.onError(err));
      },
      Math.min(2 ** 31 - 1, Math.max(0, wake - this.now())),
    );
    this.timer.unref();
  }
}
