// The round workflow: for every job it invites the enrolled contributors to a secure-aggregation
// round once enough have joined, moves the round through its stages (when everyone answered, or
// on the stage's deadline), queues what each contributor must receive, and turns the unmasked
// sum into the next global model, which it scores on the validation set and closes on-chain
// with the Semaphore group of the contributors whose update is in it.
//
// Every accepted message and every stage advance is written to the round's event log before it
// is acknowledged or acted on; the secure-aggregation server is deterministic given that log, so
// open() after a crash or restart replays it and carries on where the round was. Messages that
// arrive together are committed together (group commit: one transaction, one sync to disk, for
// all of them), and a stage advance, which may unmask the sum, runs after the message that made
// it due has been answered rather than inside that request.
//
// Which jobs exist and who is enrolled is the job book's (job-book.ts); the on-chain side of a
// round, freezing its roster and closing it, is the closer's (closer.ts).
import { Group } from '@semaphore-protocol/group';
import type { Provider, Signer } from 'ethers';
import { TroveError } from '../common/errors.js';
import type { JobDocument } from '../common/jobs/document.js';
import { isAnalyticsJob, vectorLengthOf, type AnyJobDocument } from '../common/jobs/kinds.js';
import { analyticsAggregate } from '../common/analytics/release.js';
import { toHex } from '../common/jobs/client.js';
import type { EnrollResponse, JobStatus, RoundInfo } from '../common/jobs/protocol.js';
import { modelHashOf, questionHashOf, roundIdFor, roundParamsFor } from '../common/jobs/rounds.js';
import { evaluateModel, type Evaluation } from '../common/model/evaluate.js';
import { fedAvgStep, weightedMeanFromSum } from '../common/secagg/fedavg.js';
import { SecAggServer, type Outgoing } from '../common/secagg/server.js';
import { loadSodium } from '../common/secagg/sodium.js';
import { HEADER_BYTES, maskedInputBytes, readHeader, SIGNATURE_BYTES, SHARE_CIPHERTEXT_BYTES } from '../common/secagg/wire.js';
import { SHARE_BYTES } from '../common/secagg/shamir.js';
import type { TroveDeployment } from '../contracts/deploy.js';
import { closeRetryDelayMs, closeRound, freezeRoster, relayEnrollment } from './closer.js';
import type { EnrollmentProof } from '../common/jobs/enrollment-proof.js';
import { COLLECTING, JobBook, storedStatus, validationMatrix, type ActiveRound, type JobRuntime, type SignedAnyJob } from './job-book.js';
import { errorText, jsonLogger, type Logger } from './log.js';
import type { CoordinatorStore, JobRow, RoundRow, RoundStageName } from './store.js';

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
  /** After a failed on-chain close, try again this much later, doubling with each failure up to closeRetryMaxMs. */
  closeRetryMs?: number;
  closeRetryMaxMs?: number;
  /** Told about rounds that could not be closed on-chain yet, and other background failures. */
  onError?: (err: unknown) => void;
  /** Where events worth an operator's attention go (default: JSON lines on stderr). */
  log?: Logger;
}

export class RoundRunner {
  readonly store: CoordinatorStore;
  private readonly chain: RoundCloser | undefined;
  private readonly now: () => number;
  private readonly startDelayMs: number;
  private readonly timers: boolean;
  private readonly closeRetryMs: number;
  private readonly closeRetryMaxMs: number;
  private readonly log: Logger;
  private readonly onError: (err: unknown) => void;
  private readonly book: JobBook;
  private readonly jobs: Map<string, JobRuntime>;
  private readonly waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Changes to jobs and rounds run one at a time, in order: the event log's order is the state machine's. */
  private changes: Promise<unknown> = Promise.resolve();
  /** Events accepted but not yet committed, in order, with whoever waits for each to be durable. */
  private unlogged: { jobId: string; round: number; kind: 'message' | 'advance'; at: number; data: Uint8Array | null; durable: () => void; failed: (err: unknown) => void }[] = [];
  private commitQueued = false;

  private constructor(options: RoundRunnerOptions) {
    this.store = options.store;
    this.chain = options.chain;
    this.now = options.now ?? Date.now;
    this.startDelayMs = options.startDelayMs ?? 2_000;
    this.timers = options.timers ?? true;
    this.closeRetryMs = options.closeRetryMs ?? 5_000;
    this.closeRetryMaxMs = options.closeRetryMaxMs ?? 300_000;
    this.log = options.log ?? jsonLogger();
    this.onError = options.onError ?? (() => undefined);
    this.book = new JobBook(this.store, this.now);
    this.jobs = this.book.jobs;
  }

  /** Loads every job and replays every unfinished round from its event log. */
  static async open(options: RoundRunnerOptions): Promise<RoundRunner> {
    await loadSodium();
    const runner = new RoundRunner(options);
    for (const row of await runner.store.jobs()) await runner.load(row);
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

  /** Waits for changes and on-chain closes in flight, and for what they set off (tests and shutdown). */
  async settled(): Promise<void> {
    for (;;) {
      // A group commit is queued for the next turn of the event loop: let it be queued.
      await new Promise((queued) => setImmediate(queued));
      const changes = this.changes;
      await changes;
      const closing = [...this.jobs.values()].flatMap((j) => (j.closing ? [j.closing] : []));
      await Promise.all(closing);
      if (closing.length === 0 && this.changes === changes && this.unlogged.length === 0) return;
    }
  }

  /** Runs `fn` after every change queued before it, and before any queued after it. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.changes.then(fn, fn);
    this.changes = run.catch(() => undefined);
    return run;
  }

  // --- jobs -------------------------------------------------------------------------------------

  /** Registers a published job: its signed document, optional validation set, and round 0's model. */
  addJob(input: { jobId: string; specHash: string; signed: SignedAnyJob; validationCsv?: string | null; publishTx?: string | null; module?: Uint8Array | null }): Promise<JobRow> {
    return this.exclusive(() => this.book.add(input));
  }

  /** Throws INVALID_INPUT unless the CSV is a usable validation set for the job. */
  checkValidation(doc: JobDocument, csv: string): void {
    validationMatrix(doc, csv);
  }

  /** Marks a job cancelled: no round starts again, and a round in progress ends. */
  cancelJob(jobId: string): Promise<void> {
    return this.exclusive(() => this.cancelNow(jobId));
  }

  private async cancelNow(jobId: string): Promise<void> {
    const job = await this.job(jobId);
    await this.store.setJobState(jobId, 'cancelled');
    job.row = (await this.store.job(jobId))!;
    if (job.active && COLLECTING.has(job.active.stage)) {
      await this.store.setRoundAborted(jobId, job.active.index, 'The job was cancelled.', this.now());
      job.active.stage = 'aborted';
    }
    this.wake();
  }

  private async load(row: JobRow): Promise<void> {
    const job = this.book.runtime(row);
    this.jobs.set(row.jobId, job);
    if (row.state !== 'enrolling' && row.state !== 'running') return;
    const last = (await this.store.rounds(row.jobId)).at(-1);
    if (!last || last.stage === 'closed' || last.stage === 'aborted') return;
    const active = await this.createRound(job, last);
    job.active = active;
    if (last.stage === 'closing') {
      job.closeRetryAt = last.closeRetryAt ?? 0;
      return;
    }
    for (const event of await this.store.events(row.jobId, last.round)) {
      if (event.kind === 'start') this.enqueue(active, active.server.start(event.at));
      else if (event.kind === 'message') active.server.receive(event.data);
      else this.enqueue(active, active.server.advance(event.at));
    }
    if (active.server.stage === 'setup') {
      // Stopped between recording the round and opening it.
      const now = this.now();
      await this.store.appendEvent(row.jobId, last.round, 'start', now);
      this.enqueue(active, active.server.start(now));
    }
    await this.afterAdvance(job, active);
  }

  private job(jobId: string): Promise<JobRuntime> {
    return this.book.get(jobId);
  }

  /** Picks up jobs published, and cancellations made, by another process on the same database. */
  private async refreshFromStore(): Promise<void> {
    for (const jobId of await this.book.refresh()) await this.cancelNow(jobId);
  }

  async document(jobId: string): Promise<AnyJobDocument> {
    return (await this.job(jobId)).doc;
  }

  /** The signed document behind a spec hash, as published. */
  signedDocument(specHash: string): Promise<string> {
    return this.book.signedDocument(specHash);
  }

  // --- contributors -----------------------------------------------------------------------------

  /**
   * Records an enrollment. With a chain and a job without a bond, the identity's on-chain enrollment
   * is relayed first (the contributor needs no ETH): a proof the contract refuses enrolls nothing.
   */
  enroll(jobId: string, signingKey: string, commitment: string, proof: EnrollmentProof): Promise<EnrollResponse> {
    return this.exclusive(async () => {
      const runtime = await this.book.get(jobId);
      if (this.chain && BigInt(runtime.doc.reward.bond) === 0n) await relayEnrollment(this.chain, jobId, { signingKey, commitment }, proof);
      const { job, enrolled } = await this.book.enroll(jobId, signingKey, commitment);
      await this.considerStart(job);
      this.schedule();
      return { jobId, nextRound: await this.nextRoundIndex(job), enrolled };
    });
  }

  leave(jobId: string, signingKey: string): Promise<void> {
    return this.exclusive(() => this.book.leave(jobId, signingKey));
  }

  /** Throws NOT_ENROLLED unless the key enrolled in the job (and, when `active`, has not left). */
  requireParticipant(jobId: string, signingKey: string, active = true): Promise<void> {
    return this.book.requireParticipant(jobId, signingKey, active);
  }

  private async nextRoundIndex(job: JobRuntime): Promise<number> {
    if (job.active && job.active.stage !== 'closed' && job.active.stage !== 'aborted') return job.active.index;
    return (await this.store.rounds(job.row.jobId)).length;
  }

  async roundInfo(jobId: string, signingKey: string): Promise<RoundInfo> {
    const job = await this.job(jobId);
    await this.requireParticipant(jobId, signingKey, false);
    if (job.row.state === 'cancelled') return { state: 'finished', reason: 'cancelled' };
    if (job.row.state === 'finished') return { state: 'finished', reason: (await this.store.rounds(jobId)).length >= job.doc.rounds ? 'completed' : 'expired' };
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
    const startsInMs = job.readyAt !== undefined ? Math.max(0, job.readyAt - this.now()) : null;
    return {
      state: 'waiting',
      nextRound: await this.nextRoundIndex(job),
      retryAfterMs: Math.min(60_000, Math.max(250, startsInMs ?? 5_000)),
      enrolled: (await this.store.activeParticipants(jobId)).length,
      startsInMs,
    };
  }

  /** The global model at the start of a round, float32 little-endian. */
  async modelBytes(jobId: string, round: number): Promise<Uint8Array> {
    await this.job(jobId);
    const bytes = await this.store.modelBytes(jobId, round);
    if (!bytes) throw new TroveError('JOB_NOT_FOUND', `Job ${jobId} has no model for round ${round} yet.`);
    return bytes;
  }

  /** The WebAssembly module an analytics job runs, as the researcher published it. */
  async moduleBytes(jobId: string): Promise<Uint8Array> {
    await this.job(jobId);
    const bytes = await this.store.module(jobId);
    if (!bytes) throw new TroveError('JOB_NOT_FOUND', `Job ${jobId} runs no module.`);
    return bytes;
  }

  /** The largest message a contributor may send in a round (bounds request bodies). */
  maxMessageBytes(jobId: string): number {
    // Any round but the one in progress refuses the message after reading it: bound it the same.
    const a = this.jobs.get(jobId)?.active;
    return a ? a.maxMessageBytes : HEADER_BYTES + SIGNATURE_BYTES;
  }

  private async activeRoundFor(jobId: string, round: number, signingKey: string): Promise<{ job: JobRuntime; active: ActiveRound; clientId: number }> {
    const job = await this.job(jobId);
    const active = job.active;
    if (!active || active.index !== round) {
      throw new TroveError('SECAGG_WRONG_ROUND', `Round ${round} of job ${jobId} is not the round in progress.`);
    }
    const clientId = active.roster.indexOf(signingKey);
    if (clientId < 0) throw new TroveError('NOT_ENROLLED', `This key is not invited to round ${round}.`);
    return { job, active, clientId };
  }

  /** Takes one secure-aggregation message; it is on disk before this returns. */
  async receive(jobId: string, round: number, signingKey: string, message: Uint8Array): Promise<void> {
    const { durable } = await this.exclusive(async () => {
      const { job, active, clientId } = await this.activeRoundFor(jobId, round, signingKey);
      const header = readHeader(message);
      if (header.party !== clientId) throw new TroveError('SECAGG_MALFORMED', `The message claims to come from client ${header.party}; this key is client ${clientId}.`);
      if (!COLLECTING.has(active.stage)) throw new TroveError('SECAGG_WRONG_STAGE', `Round ${round} is ${active.stage} and takes no more messages.`);
      active.server.receive(message);
      const logged = this.logEvent(jobId, round, 'message', this.now(), message);
      // The advance (unmasking, in the last stage) is queued behind this message, not run inside its request.
      if (active.server.canAdvance(this.now())) void this.exclusive(() => this.advanceIfReady(job, active)).catch((err: unknown) => this.onError(err));
      return { durable: logged };
    });
    await durable;
  }

  /** Queues an event for the log; the promise settles once it is committed, with whatever else is queued by then. */
  private logEvent(jobId: string, round: number, kind: 'message' | 'advance', at: number, data: Uint8Array | null = null): Promise<void> {
    return new Promise((durable, failed) => {
      this.unlogged.push({ jobId, round, kind, at, data, durable, failed });
      if (this.commitQueued) return;
      this.commitQueued = true;
      setImmediate(() => {
        this.exclusive(() => this.commitEvents()).catch((err: unknown) => this.onError(err));
      });
    });
  }

  /** Commits every queued event in one transaction (call while holding the change lock). */
  private async commitEvents(): Promise<void> {
    this.commitQueued = false;
    const batch = this.unlogged.splice(0);
    if (batch.length === 0) return;
    try {
      await this.store.transaction(async () => {
        for (const e of batch) await this.store.appendEvent(e.jobId, e.round, e.kind, e.at, e.data);
      });
    } catch (err) {
      for (const e of batch) e.failed(err);
      throw err;
    }
    for (const e of batch) e.durable();
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
    const job = await this.job(jobId);
    const row = await this.store.round(jobId, round);
    if (!row) throw new TroveError('SECAGG_WRONG_ROUND', `Job ${jobId} has no round ${round}.`);
    const clientId = row.roster.indexOf(signingKey);
    if (clientId < 0) throw new TroveError('NOT_ENROLLED', `This key is not invited to round ${round}.`);
    const read = async () => {
      const a = job.active && job.active.index === round ? job.active : undefined;
      const queue = a?.outbox[clientId] ?? [];
      const messages = queue.slice(after, after + 64).map((data, i) => ({ seq: after + i + 1, data }));
      return { stage: a?.stage ?? (await this.store.round(jobId, round))!.stage, messages };
    };
    const deadline = Date.now() + waitMs;
    let out = await read();
    while (out.messages.length === 0 && !this.closed && !signal?.aborted && Date.now() < deadline && (COLLECTING.has(out.stage) || out.stage === 'closing')) {
      await this.waitForChange(deadline - Date.now(), signal);
      out = await read();
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

  /** The hash of the model round `round` trains from: every contributor of the round is served this one. */
  private async roundModelHash(job: JobRuntime, round: number): Promise<Uint8Array> {
    // An analytics round has no model: its aggregation is bound to the signed question instead.
    if (isAnalyticsJob(job.doc)) return questionHashOf(job.doc);
    const model = await this.store.model(job.row.jobId, round);
    if (!model) throw new TroveError('INVALID_INPUT', `Round ${round + 1} of job ${job.row.jobId} has no model to start from.`);
    return modelHashOf(model);
  }

  private async createRound(job: JobRuntime, row: RoundRow): Promise<ActiveRound> {
    const roundId = roundIdFor(job.doc.chainId, job.row.jobId, row.round);
    const params = roundParamsFor(job.doc, roundId, row.roster.length, await this.roundModelHash(job, row.round));
    const server = await SecAggServer.create(
      params,
      row.roster.map((k) => Uint8Array.from(Buffer.from(k, 'hex'))),
    );
    const k = params.neighbourCount;
    const maxMessageBytes = Math.max(
      maskedInputBytes(vectorLengthOf(job.doc)),
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
  private async finishIfNoRoundLeft(job: JobRuntime): Promise<boolean> {
    if ((await this.store.rounds(job.row.jobId)).length < job.doc.rounds) return false;
    await this.store.setJobState(job.row.jobId, 'finished');
    job.row = (await this.store.job(job.row.jobId))!;
    job.readyAt = undefined;
    return true;
  }

  private async considerStart(job: JobRuntime): Promise<void> {
    if (job.row.state !== 'enrolling' && job.row.state !== 'running') return;
    if (job.active && job.active.stage !== 'closed' && job.active.stage !== 'aborted') return;
    if (await this.finishIfNoRoundLeft(job)) return;
    const enrolled = (await this.store.activeParticipants(job.row.jobId)).length;
    if (enrolled < job.doc.minContributors) {
      job.readyAt = undefined;
      return;
    }
    job.readyAt ??= this.now() + this.startDelayMs;
  }

  /** Starts a round when enough contributors are enrolled and the start delay has passed. */
  private async startRound(job: JobRuntime): Promise<void> {
    const jobId = job.row.jobId;
    let participants = await this.store.activeParticipants(jobId);
    job.readyAt = undefined;
    if (this.chain) {
      // The roster is frozen on-chain first, so every client can check it (coordinator/closer.ts).
      try {
        participants = await freezeRoster(this.chain, jobId, participants, { minimum: job.doc.minContributors });
      } catch (err) {
        job.readyAt = this.now() + this.closeRetryMs;
        this.log('error', 'roster-freeze-failed', { jobId, retryInMs: this.closeRetryMs, error: errorText(err) });
        this.onError(err);
        return;
      }
    }
    const index = (await this.store.rounds(jobId)).length;
    const now = this.now();
    await this.store.transaction(async () => {
      await this.store.addRound(
        jobId,
        index,
        participants.map((p) => p.signingKey),
        participants.map((p) => p.commitment),
        now,
      );
      if (job.row.state === 'enrolling') await this.store.setJobState(jobId, 'running');
    });
    job.row = (await this.store.job(jobId))!;
    const active = await this.createRound(job, (await this.store.round(jobId, index))!);
    job.active = active;
    await this.store.appendEvent(jobId, index, 'start', now);
    this.enqueue(active, active.server.start(now));
    active.stage = 'advertise-keys';
    this.wake();
  }

  private enqueue(active: ActiveRound, out: Outgoing[]): void {
    for (const o of out) active.outbox[o.to]?.push(o.message);
  }

  private async advanceIfReady(job: JobRuntime, active: ActiveRound): Promise<void> {
    const now = this.now();
    let advanced = false;
    while (COLLECTING.has(active.stage) && active.server.canAdvance(now)) {
      // Durable before anyone is told: the advance, and every message accepted before it.
      const logged = this.logEvent(job.row.jobId, active.index, 'advance', now);
      await this.commitEvents();
      await logged;
      this.enqueue(active, active.server.advance(now));
      await this.afterAdvance(job, active);
      advanced = true;
    }
    // Waiting inboxes change only when a stage closes: an accepted message alone wakes nobody.
    if (advanced) {
      this.wake();
      this.schedule();
    }
  }

  /** Brings the stored stage in line with the state machine and acts on a finished round. */
  private async afterAdvance(job: JobRuntime, active: ActiveRound): Promise<void> {
    const jobId = job.row.jobId;
    const s = active.server.stage;
    if (s === 'aborted') {
      const reason = active.server.abortError?.message ?? 'The round was abandoned.';
      await this.store.transaction(async () => {
        await this.store.setRoundAborted(jobId, active.index, reason, this.now());
        // The next round starts again from the same model.
        if (!isAnalyticsJob(job.doc)) await this.store.putModel(jobId, active.index + 1, (await this.store.model(jobId, active.index))!);
      });
      active.stage = 'aborted';
      await this.considerStart(job);
    } else if (s === 'done') {
      await this.recordOutcome(job, active);
      active.stage = 'closing';
      this.closeOnChain(job, active);
    } else if (s !== 'setup' && active.stage !== s) {
      active.stage = s;
      await this.store.setRoundStage(jobId, active.index, s);
    }
  }

  private async recordOutcome(job: JobRuntime, active: ActiveRound): Promise<void> {
    const result = active.server.result!;
    const jobId = job.row.jobId;
    // In roster order, as RoundRewards builds it from the included positions.
    const group = new Group([...result.contributors].sort((a, b) => a - b).map((id) => BigInt(active.commitments[id]!)));
    const doc = job.doc;
    if (isAnalyticsJob(doc)) {
      // The noised sum is the answer; its error bars come from the noise the contributors were charged for.
      const a = analyticsAggregate(doc.analytics, result.sum, result.contributors.length, active.server.params, doc.privacy.noiseMultiplier, result.errorBound);
      await this.store.setRoundOutcome(jobId, active.index, {
        included: result.contributors,
        validation: null,
        aggregate: { labels: a.labels, value: Array.from(a.value), noiseStdDev: a.noiseStdDev, errorBar: a.errorBar, contributors: a.contributors },
        groupRoot: group.root.toString(),
        groupSize: group.size,
      });
      return;
    }
    const agg = doc.aggregation;
    const { mean } = weightedMeanFromSum(result.sum, agg.maxExamples, agg.clipRange);
    const next = Float32Array.from(fedAvgStep((await this.store.model(jobId, active.index))!, mean, agg.serverLearningRate));
    let validation: Evaluation | null = null;
    if (job.validation) validation = evaluateModel(doc.training.model, next, job.validation);
    await this.store.transaction(async () => {
      await this.store.setRoundOutcome(jobId, active.index, {
        included: result.contributors,
        validation,
        groupRoot: group.root.toString(),
        groupSize: group.size,
      });
      await this.store.putModel(jobId, active.index + 1, next);
    });
  }

  /** Closes a finished round on-chain in the background; what follows is recorded as one change. */
  private closeOnChain(job: JobRuntime, active: ActiveRound): void {
    if (job.closing) return;
    const jobId = job.row.jobId;
    job.closing = (async () => {
      try {
        const tx = await closeRound(this.chain, this.store, jobId, active.index);
        await this.exclusive(async () => {
          const closedBefore = (await this.store.rounds(jobId)).filter((r) => r.stage === 'closed').length;
          const finished = closedBefore + 1 >= job.doc.rounds || active.index + 1 >= job.doc.rounds;
          await this.store.transaction(async () => {
            await this.store.setRoundClosed(jobId, active.index, tx, this.now());
            if (finished) await this.store.setJobState(jobId, 'finished');
          });
          job.row = (await this.store.job(jobId))!;
          active.stage = 'closed';
          if (!finished) await this.considerStart(job);
        });
      } catch (err) {
        // Backs off (a chain that is down stays down for a while) and says why, in the log and in `status`.
        await this.exclusive(async () => {
          const attempts = (await this.store.round(jobId, active.index))!.closeAttempts + 1;
          const delay = closeRetryDelayMs(attempts, this.closeRetryMs, this.closeRetryMaxMs);
          job.closeRetryAt = this.now() + delay;
          await this.store.setCloseFailure(jobId, active.index, errorText(err), job.closeRetryAt);
          this.log('error', 'round-close-failed', { jobId, round: active.index, attempt: attempts, retryInMs: delay, error: errorText(err) });
        }).catch((e: unknown) => this.onError(e));
        this.onError(err);
      } finally {
        job.closing = undefined;
        this.wake();
        this.schedule();
      }
    })();
  }

  /** Does whatever is due now: stage deadlines, round starts, on-chain closes to retry. */
  tick(): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) return;
      await this.refreshFromStore();
      const now = this.now();
      for (const job of this.jobs.values()) {
        if (job.row.state !== 'enrolling' && job.row.state !== 'running') continue;
        const a = job.active;
        if (a && COLLECTING.has(a.stage)) {
          await this.advanceIfReady(job, a);
        } else if (a && a.stage === 'closing') {
          if (!job.closing && now >= job.closeRetryAt) this.closeOnChain(job, a);
        } else {
          if (now > job.doc.deadline * 1000) {
            await this.store.setJobState(job.row.jobId, 'finished');
            job.row = (await this.store.job(job.row.jobId))!;
            continue;
          }
          await this.considerStart(job);
          if (job.readyAt !== undefined && this.now() >= job.readyAt) await this.startRound(job);
        }
      }
      this.schedule();
    });
  }

  /** Public status of a job, with the live stage of the round in progress. */
  async status(jobId: string): Promise<JobStatus> {
    const job = await this.job(jobId);
    const status = await storedStatus(this.store, jobId);
    for (const r of status.rounds) if (job.active?.index === r.round) r.stage = job.active.stage;
    status.currentRound = await this.nextRoundIndex(job);
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
