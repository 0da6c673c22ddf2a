// The round workflow: for every job it invites the enrolled contributors to a secure-aggregation
// round once enough have joined, splits the roster into SecAgg+ groups of bounded size
// (common/jobs/groups.ts), moves each group through its stages (when all its members answered, or
// on the stage's deadline), queues what each contributor must receive, and turns the sum of the
// groups' unmasked sums into the next global model, which it scores on the validation set and
// closes on-chain with the Semaphore group of the contributors whose update is in it.
//
// The database is the truth; this process holds a replica. Every accepted message and every stage
// advance is appended to the round's event log, under the round's lock in the database, after
// this process has applied whatever other processes appended before it (sync); the
// secure-aggregation servers are deterministic given that log, so any process (a restarted one,
// or another over the same PostgreSQL) rebuilds a round by replaying it and answers any request.
// Messages that arrive together are committed together (group commit: one transaction, one sync
// to disk), and a stage advance, which may unmask a group's sum, runs after the message that made
// it due has been answered rather than inside that request.
//
// Work that must happen once is claimed with leases in the database: a job's lease covers
// starting its rounds and closing them on-chain, a group's lease its stage advances (the
// unmasking among them). A process renews what it holds on every tick; when it dies, its leases
// expire and another process takes them over and carries on from the log.
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
import { groupOf, groupRoundIdFor, groupsFor } from '../common/jobs/groups.js';
import { ROUND_STAGES } from '../common/jobs/protocol.js';
import { modelHashOf, questionHashOf, roundParamsFor } from '../common/jobs/rounds.js';
import { evaluateModel, type Evaluation } from '../common/model/evaluate.js';
import { fedAvgStep, weightedMeanFromSum } from '../common/secagg/fedavg.js';
import { SecAggServer, type Outgoing } from '../common/secagg/server.js';
import { loadSodium } from '../common/secagg/sodium.js';
import { HEADER_BYTES, maskedInputBytes, MessageType, readHeader, SIGNATURE_BYTES, SHARE_CIPHERTEXT_BYTES } from '../common/secagg/wire.js';
import type { SignedMaskedInputReceipt } from '../common/jobs/masked-input-receipt.js';
import { signReceipt } from './receipts.js';
import { SHARE_BYTES } from '../common/secagg/shamir.js';
import type { TroveDeployment } from '../contracts/deploy.js';
import { closeRetryDelayMs, closeRound, freezeRoster, relayEnrollment } from './closer.js';
import type { EnrollmentProof } from '../common/jobs/enrollment-proof.js';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { COLLECTING, JobBook, storedStatus, validationMatrix, type ActiveRound, type GroupRound, type JobRuntime, type SignedAnyJob } from './job-book.js';
import { errorText, jsonLogger, type Logger } from './log.js';
import type { CoordinatorStore, GroupOutcome, JobRow, LeaseRow, ProcessRow, RoundEvent, RoundRow, RoundStageName } from './store.js';

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
  /** The most contributors in one secure-aggregation group (default 1000; never below the job's minimum). */
  groupSize?: number;
  /** This process's name in the database's process list and leases (default: host, pid and a random tag). */
  processId?: string;
  /** Where this process serves contributors, for `status`. */
  url?: string;
  /**
   * Whether this process joins the database's process list and heartbeats there (default true).
   * False for a one-shot command (publish): it serves nothing, so `status` must not list it.
   */
  register?: boolean;
  /** How long a lease lasts unless renewed: the longest a dead process's work waits for another. */
  leaseMs?: number;
  /** How often this process looks at the database for other processes' work (default 200 ms on PostgreSQL, 1 s on SQLite). */
  pollMs?: number;
}

/** What `status` shows about the processes sharing the database. */
export interface Operations {
  processes: (ProcessRow & { leases: LeaseRow[] })[];
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
  private readonly groupSize: number;
  readonly processId: string;
  private readonly url: string | null;
  private readonly register: boolean;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly startedAt = Date.now();
  /** Leases this process holds, and until when (real time). */
  private readonly held = new Map<string, number>();
  private lastHeartbeat = 0;
  private renewer: NodeJS.Timeout | undefined;
  private readonly book: JobBook;
  private readonly jobs: Map<string, JobRuntime>;
  private readonly waiters = new Set<() => void>();
  /** The model each job served last, by round (modelBytes). */
  private readonly servedModels = new Map<string, { round: number; bytes: Uint8Array }>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Changes to jobs and rounds run one at a time, in order: the event log's order is the state machine's. */
  private changes: Promise<unknown> = Promise.resolve();
  /** Messages received but not yet committed, in order, with whoever waits for each to be durable. */
  private unlogged: { jobId: string; round: number; signingKey: string; at: number; data: Uint8Array; durable: () => void; failed: (err: unknown) => void }[] = [];
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
    this.groupSize = options.groupSize ?? 1_000;
    this.processId = options.processId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.url = options.url ?? null;
    this.register = options.register ?? true;
    this.leaseMs = options.leaseMs ?? 10_000;
    this.pollMs = options.pollMs ?? (this.store.kind === 'postgres' ? 200 : 1_000);
    this.book = new JobBook(this.store, this.now);
    this.jobs = this.book.jobs;
  }

  /** Loads every job and replays every unfinished round from its event log. */
  static async open(options: RoundRunnerOptions): Promise<RoundRunner> {
    await loadSodium();
    const runner = new RoundRunner(options);
    for (const row of await runner.store.jobs()) await runner.load(row);
    await runner.heartbeat(true);
    if (runner.timers) {
      // Leases are renewed on their own clock too: a round start that waits minutes on the chain must not lose its job's lease meanwhile.
      runner.renewer = setInterval(() => void runner.renewLeases().catch((err: unknown) => runner.onError(err)), runner.leaseMs / 3);
      runner.renewer.unref();
    }
    if (runner.register) runner.log('info', 'coordinator-started', { process: runner.processId, storage: runner.store.kind, database: runner.store.location, groupSize: runner.groupSize });
    runner.schedule();
    return runner;
  }

  /** Stops the timers and wakes every waiting inbox request; the store stays open. */
  close(): void {
    this.closed = true;
    if (this.renewer) clearInterval(this.renewer);
    this.renewer = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wake();
  }

  /** Gives this process's leases back so others take its work at once (a clean shutdown; call before closing the store). */
  async release(): Promise<void> {
    this.close();
    await this.settled().catch(() => undefined);
    this.held.clear();
    await this.store.releaseLeases(this.processId);
  }

  // --- processes and leases ---------------------------------------------------------------------

  /** Says this process is alive (at most every third of a lease, unless `now`). */
  private async heartbeat(force = false): Promise<void> {
    if (!this.register) return;
    const t = Date.now();
    if (!force && t - this.lastHeartbeat < this.leaseMs / 3) return;
    this.lastHeartbeat = t;
    await this.store.heartbeat({ id: this.processId, pid: process.pid, url: this.url, startedAt: this.startedAt }, t);
  }

  /** True when this process holds lease `name` (taking or renewing it in the database when due). */
  private async lease(name: string): Promise<boolean> {
    const t = Date.now();
    const until = this.held.get(name);
    if (until !== undefined && t < until - this.leaseMs / 2) return true;
    const ok = await this.store.claimLease(name, this.processId, t, this.leaseMs);
    if (ok) {
      if (until === undefined) this.log('info', 'lease-taken', { process: this.processId, lease: name });
      this.held.set(name, t + this.leaseMs);
    } else {
      this.held.delete(name);
    }
    return ok;
  }

  /** Renews every lease this process holds (and says it is alive), whatever else it is doing. */
  private async renewLeases(): Promise<void> {
    if (this.closed) return;
    await this.heartbeat();
    for (const name of [...this.held.keys()]) {
      const t = Date.now();
      if (await this.store.claimLease(name, this.processId, t, this.leaseMs)) this.held.set(name, t + this.leaseMs);
      else this.held.delete(name);
    }
  }

  /** Every coordinator process on this database, with the leases each holds. */
  async operations(): Promise<Operations> {
    return operationsOf(this.store);
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
    await this.loadRound(job);
  }

  /** Rebuilds the job's round in progress from the database: its row, then its event log replayed. */
  private async loadRound(job: JobRuntime): Promise<void> {
    const jobId = job.row.jobId;
    job.active = undefined;
    const last = (await this.store.rounds(jobId)).at(-1);
    if (!last || last.stage === 'closed' || last.stage === 'aborted') return;
    const active = await this.createRound(job, last);
    job.active = active;
    if (last.stage === 'closing') {
      active.stage = 'closing';
      job.closeRetryAt = last.closeRetryAt ?? 0;
      return;
    }
    await this.sync(job, active);
    if (active.groups.some((g) => g.server.stage === 'setup')) {
      // Stopped between recording the round and opening it (a database from before both were one transaction).
      await this.locked(job, active, async () => {
        if (!active.groups.some((g) => g.server.stage === 'setup')) return;
        const now = this.now();
        active.applied = await this.store.appendEvent(jobId, last.round, 'start', now);
        this.apply(active, { seq: active.applied, kind: 'start', at: now, grp: null });
      });
    }
    active.stage = this.stageOf(active);
  }

  private async job(jobId: string): Promise<JobRuntime> {
    const known = this.jobs.get(jobId);
    if (known) return known;
    // A job another process over the same database has run rounds of: loaded with its round in progress.
    const row = /^(0|[1-9][0-9]{0,77})$/.test(jobId) ? await this.store.job(jobId) : undefined;
    if (row && (await this.store.latestRound(jobId))) {
      await this.exclusive(async () => {
        if (!this.jobs.has(jobId)) await this.load(row);
      });
      return this.jobs.get(jobId)!;
    }
    return this.book.get(jobId);
  }

  /** Picks up jobs published, and cancellations made, by another process on the same database. */
  private async refreshFromStore(): Promise<void> {
    const { cancelled, withRounds } = await this.book.refresh();
    for (const jobId of cancelled) await this.cancelNow(jobId);
    for (const row of withRounds) if (!this.jobs.has(row.jobId)) await this.load(row);
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
      const clientId = a.clientIds.get(signingKey);
      if (clientId !== undefined) {
        const g = a.groups[groupOf(a.groups.map((x) => x.group), clientId).index]!;
        const stage = this.groupStage(a, g);
        return {
          state: 'invited',
          round: a.index,
          roundId: toHex(g.roundId),
          clientId,
          roster: a.roster,
          stage,
          stageDeadline: COLLECTING.has(stage) ? g.server.stageDeadline : this.now(),
          ...(a.groups.length > 1 ? { group: { index: g.group.index, count: a.groups.length, start: g.group.start, size: g.group.size } } : {}),
        };
      }
    }
    const startsInMs = job.readyAt !== undefined ? Math.max(0, job.readyAt - this.now()) : null;
    return {
      state: 'waiting',
      nextRound: await this.nextRoundIndex(job),
      retryAfterMs: Math.min(60_000, Math.max(250, startsInMs ?? 5_000)),
      enrolled: await this.store.activeParticipantCount(jobId),
      startsInMs,
    };
  }

  /** The global model at the start of a round, float32 little-endian. */
  async modelBytes(jobId: string, round: number): Promise<Uint8Array> {
    await this.job(jobId);
    // Every contributor of a round fetches the same model, written once before the round: kept
    // from the first read instead of read from the database (a few hundred kB) each time.
    const served = this.servedModels.get(jobId);
    if (served?.round === round) return served.bytes;
    const bytes = await this.store.modelBytes(jobId, round);
    if (!bytes) throw new TroveError('JOB_NOT_FOUND', `Job ${jobId} has no model for round ${round} yet.`);
    this.servedModels.set(jobId, { round, bytes });
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

  /** The job's round in progress as this process knows it, looked up again when a request names a newer one. */
  private async currentRound(job: JobRuntime, round: number): Promise<ActiveRound | undefined> {
    if (!job.active || job.active.index < round) await this.exclusive(() => this.refreshRound(job));
    const a = job.active;
    return a && a.index === round ? a : undefined;
  }

  /** The group a roster key is in, and its id within the group. */
  private memberOf(active: ActiveRound, signingKey: string): { g: GroupRound; localId: number } {
    const clientId = active.clientIds.get(signingKey);
    if (clientId === undefined) throw new TroveError('NOT_ENROLLED', `This key is not invited to round ${active.index}.`);
    const g = active.groups[groupOf(active.groups.map((x) => x.group), clientId).index]!;
    return { g, localId: clientId - g.group.start };
  }

  /**
   * Takes one secure-aggregation message; it is in the database before this returns. An accepted
   * masked input is answered with the coordinator's signed receipt when the round is on a chain.
   */
  async receive(jobId: string, round: number, signingKey: string, message: Uint8Array): Promise<SignedMaskedInputReceipt | null> {
    const job = await this.job(jobId);
    const active = await this.currentRound(job, round);
    if (!active) throw new TroveError('SECAGG_WRONG_ROUND', `Round ${round} of job ${jobId} is not the round in progress.`);
    const { localId } = this.memberOf(active, signingKey);
    const header = readHeader(message);
    if (header.party !== localId) throw new TroveError('SECAGG_MALFORMED', `The message claims to come from client ${header.party}; this key is client ${localId}.`);
    await new Promise<void>((durable, failed) => {
      this.unlogged.push({ jobId, round, signingKey, at: this.now(), data: message, durable, failed });
      if (this.commitQueued) return;
      this.commitQueued = true;
      setImmediate(() => {
        this.exclusive(() => this.commitMessages()).catch((err: unknown) => this.onError(err));
      });
    });
    if (header.type !== MessageType.MaskedInput || !this.chain?.deployment.contracts.ReceiptChallenges) return null;
    const position = active.roster.indexOf(signingKey);
    return signReceipt(this.chain, { jobId, round, roster: active.roster, commitment: active.commitments[position]! }, message);
  }

  /**
   * Commits every queued message in one transaction per round, under the round's lock: each is
   * checked against the log as it stands (other processes' appends applied first), and the ones
   * the state machine takes are appended; a refused one is answered with its error. Call while
   * holding the change lock.
   */
  private async commitMessages(): Promise<void> {
    this.commitQueued = false;
    const batch = this.unlogged.splice(0);
    const byRound = new Map<string, typeof batch>();
    for (const e of batch) {
      const key = `${e.jobId}/${e.round}`;
      const same = byRound.get(key);
      if (same) same.push(e);
      else byRound.set(key, [e]);
    }
    for (const entries of byRound.values()) {
      const { jobId, round } = entries[0]!;
      const job = this.jobs.get(jobId);
      const active = job?.active;
      if (!job || !active || active.index !== round) {
        for (const e of entries) e.failed(new TroveError('SECAGG_WRONG_ROUND', `Round ${round} of job ${jobId} is not the round in progress.`));
        continue;
      }
      const accepted: { e: (typeof entries)[number]; g: GroupRound }[] = [];
      try {
        await this.locked(job, active, async () => {
          for (const e of entries) {
            try {
              const { g } = this.memberOf(active, e.signingKey);
              const stage = this.groupStage(active, g);
              if (!COLLECTING.has(stage)) throw new TroveError('SECAGG_WRONG_STAGE', `Round ${round} is ${stage} and takes no more messages.`);
              g.server.receive(e.data);
              active.applied = await this.store.appendEvent(jobId, round, 'message', e.at, e.data, g.group.index);
              accepted.push({ e, g });
            } catch (err) {
              // A refused message changes nothing: its sender is told why, the others go on.
              if (!(err instanceof TroveError)) throw err;
              e.failed(err);
            }
          }
        });
      } catch (err) {
        for (const a of accepted) a.e.failed(err);
        this.onError(err);
        continue;
      }
      for (const a of accepted) a.e.durable();
      // The advance (unmasking, in the last stage) is queued behind these messages, not run inside their requests.
      const now = this.now();
      for (const g of new Set(accepted.map((a) => a.g))) {
        if (!g.server.canAdvance(now)) continue;
        // Only the group's lease holder moves it on; this process takes the lease when nobody holds it.
        void this.exclusive(async () => {
          if (await this.lease(groupLease(jobId, round, g.group.index))) await this.advanceGroup(job, g.group.index);
        }).catch((err: unknown) => this.onError(err));
      }
    }
  }

  /**
   * Runs `fn` in a transaction that holds the round's lock in the database, after applying what
   * other processes appended; if anything fails, the replica is rebuilt from the log, so it never
   * keeps what the database does not.
   */
  private async locked<T>(job: JobRuntime, active: ActiveRound, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.store.transaction(async () => {
        await this.store.lockRound(job.row.jobId, active.index);
        await this.sync(job, active);
        return fn();
      });
    } catch (err) {
      await this.loadRound(job).catch((e: unknown) => this.onError(e));
      throw err;
    }
  }

  /** Applies the round's events this process has not seen yet; true when a stage moved. */
  private async sync(job: JobRuntime, active: ActiveRound): Promise<boolean> {
    const events = await this.store.eventsAfter(job.row.jobId, active.index, active.applied);
    if (events.length === 0) return false;
    // A group another process unmasked is read back, not unmasked again here.
    const outcomes = events.some((e) => e.kind === 'advance') ? new Map((await this.store.groupOutcomes(job.row.jobId, active.index)).map((o) => [o.grp, o])) : undefined;
    let moved = false;
    for (const e of events) moved = this.apply(active, e, outcomes) || moved;
    if (COLLECTING.has(active.stage)) active.stage = this.stageOf(active);
    return moved;
  }

  /** Applies one event of the log to the replica; true when it was a start or an advance. */
  private apply(active: ActiveRound, e: RoundEvent, outcomes?: Map<number, GroupOutcome>): boolean {
    active.applied = e.seq;
    const g = active.groups[e.grp ?? 0];
    if (e.kind === 'start') {
      for (const x of active.groups) if ((e.grp === null || x.group.index === e.grp) && x.server.stage === 'setup') this.enqueue(x, x.server.start(e.at));
      return true;
    }
    if (!g || g.outcome) return false;
    if (e.kind === 'message') {
      try {
        g.server.receive(e.data);
      } catch {
        // Refused when it was appended too (only a log from before per-round locks can hold one).
      }
      return false;
    }
    const known = outcomes?.get(g.group.index);
    if (known && g.server.stage === 'unmask') {
      g.outcome = known;
      return true;
    }
    this.enqueue(g, g.server.advance(e.at));
    g.outcome = this.outcomeOf(g, e.at);
    return true;
  }

  /** How a group ended, once its state machine has: its sum and roster positions, or why it was abandoned. */
  private outcomeOf(g: GroupRound, at: number): GroupOutcome | undefined {
    if (g.server.stage === 'done') {
      const r = g.server.result!;
      return { grp: g.group.index, stage: 'done', included: r.contributors.map((id) => g.group.start + id), sum: r.sum, errorBound: r.errorBound, at };
    }
    if (g.server.stage === 'aborted') return { grp: g.group.index, stage: 'aborted', reason: g.server.abortError?.message ?? 'The group was abandoned.', at };
    return undefined;
  }

  /** The round's stage from its groups': the least advanced group that still runs, else closing or aborted. */
  private stageOf(active: ActiveRound): RoundStageName {
    const running = active.groups.filter((g) => !g.outcome);
    if (running.length === 0) return active.groups.some((g) => g.outcome?.stage === 'done') ? 'closing' : 'aborted';
    const order = (s: RoundStageName) => ROUND_STAGES.indexOf(s);
    return running.map((g) => (g.server.stage === 'setup' ? 'advertise-keys' : (g.server.stage as RoundStageName))).reduce((a, b) => (order(b) < order(a) ? b : a));
  }

  /** The stage a group's members see. */
  private groupStage(active: ActiveRound, g: GroupRound): RoundStageName {
    if (!COLLECTING.has(active.stage)) return active.stage;
    if (g.outcome) return g.outcome.stage === 'done' ? 'closing' : 'aborted';
    return g.server.stage === 'setup' ? 'advertise-keys' : (g.server.stage as RoundStageName);
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
    // The round in progress is checked from memory; only an earlier one is read from the database.
    const live = await this.currentRound(job, round);
    const invited = live ? live.clientIds.has(signingKey) : (await this.store.round(jobId, round))?.roster.includes(signingKey);
    if (invited === undefined) throw new TroveError('SECAGG_WRONG_ROUND', `Job ${jobId} has no round ${round}.`);
    if (!invited) throw new TroveError('NOT_ENROLLED', `This key is not invited to round ${round}.`);
    const read = async () => {
      const a = job.active && job.active.index === round ? job.active : undefined;
      if (!a) return { stage: (await this.store.round(jobId, round))!.stage, messages: [] };
      const { g, localId } = this.memberOf(a, signingKey);
      const queue = g.outbox[localId] ?? [];
      const messages = queue.slice(after, after + 64).map((data, i) => ({ seq: after + i + 1, data }));
      return { stage: this.groupStage(a, g), messages };
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
    const modelHash = await this.roundModelHash(job, row.round);
    const layout = row.secaggGroups ?? [{ index: 0, start: 0, size: row.roster.length }];
    const groups: GroupRound[] = [];
    let maxMessageBytes = 0;
    for (const group of layout) {
      const roundId = groupRoundIdFor(job.doc.chainId, job.row.jobId, row.round, group.index, layout.length);
      const params = roundParamsFor(job.doc, roundId, group.size, modelHash);
      const members = row.roster.slice(group.start, group.start + group.size);
      const server = await SecAggServer.create(
        params,
        members.map((k) => Uint8Array.from(Buffer.from(k, 'hex'))),
      );
      const k = params.neighbourCount;
      maxMessageBytes = Math.max(
        maxMessageBytes,
        maskedInputBytes(vectorLengthOf(job.doc)),
        HEADER_BYTES + 4 + k * (8 + SHARE_CIPHERTEXT_BYTES) + SIGNATURE_BYTES,
        HEADER_BYTES + 4 + k * (5 + SHARE_BYTES) + SIGNATURE_BYTES,
      );
      groups.push({ group, roundId, server, outbox: members.map(() => []), outcome: undefined });
    }
    const clientIds = new Map(row.roster.map((k, i) => [k, i]));
    return { index: row.round, roster: row.roster, clientIds, commitments: row.commitments, groups, stage: row.stage, maxMessageBytes, applied: 0 };
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
    const enrolled = await this.store.activeParticipantCount(job.row.jobId);
    if (enrolled < job.doc.minContributors) {
      job.readyAt = undefined;
      return;
    }
    job.readyAt ??= this.now() + this.startDelayMs;
  }

  /** Starts a round when enough contributors are enrolled and the start delay has passed (the job's lease holder only). */
  private async startRound(job: JobRuntime): Promise<void> {
    const jobId = job.row.jobId;
    let participants = await this.store.activeParticipants(jobId);
    let startBlock: number | null = null;
    job.readyAt = undefined;
    if (this.chain) {
      // The roster is frozen on-chain first, so every client can check it (coordinator/closer.ts).
      try {
        ({ roster: participants, startBlock } = await freezeRoster(this.chain, jobId, participants, { minimum: job.doc.minContributors }));
      } catch (err) {
        job.readyAt = this.now() + this.closeRetryMs;
        this.log('error', 'roster-freeze-failed', { jobId, retryInMs: this.closeRetryMs, error: errorText(err) });
        this.onError(err);
        return;
      }
    }
    const index = (await this.store.rounds(jobId)).length;
    const now = this.now();
    const groups = groupsFor(participants.length, Math.max(this.groupSize, job.doc.minContributors, 2), job.doc.minContributors);
    // The round, its groups and its start are one change: a process that reads the round can replay it.
    await this.store.transaction(async () => {
      await this.store.addRound(
        jobId,
        index,
        participants.map((p) => p.signingKey),
        participants.map((p) => p.commitment),
        now,
        groups,
        startBlock,
      );
      if (job.row.state === 'enrolling') await this.store.setJobState(jobId, 'running');
      await this.store.appendEvent(jobId, index, 'start', now);
    });
    job.row = (await this.store.job(jobId))!;
    await this.loadRound(job);
    this.log('info', 'round-started', { process: this.processId, jobId, round: index, invited: participants.length, groups: groups.length });
    for (const g of groups) await this.lease(groupLease(jobId, index, g.index));
    this.wake();
  }

  private enqueue(g: GroupRound, out: Outgoing[]): void {
    for (const o of out) g.outbox[o.to]?.push(o.message);
  }

  /** Closes the group's stages that are due (all answered, or the deadline passed), under the round's lock. */
  private async advanceGroup(job: JobRuntime, index: number): Promise<void> {
    const active = job.active;
    if (!active || !COLLECTING.has(active.stage)) return;
    const now = this.now();
    let advanced = false;
    const before = active.stage;
    await this.locked(job, active, async () => {
      const g = active.groups[index];
      while (g && !g.outcome && g.server.canAdvance(now)) {
        // Applied, appended and committed before anyone is told.
        const out = g.server.advance(now);
        active.applied = await this.store.appendEvent(job.row.jobId, active.index, 'advance', now, null, index);
        this.enqueue(g, out);
        advanced = true;
        g.outcome = this.outcomeOf(g, now);
        if (g.outcome) {
          await this.store.putGroupOutcome(job.row.jobId, active.index, g.outcome);
          this.log('info', 'group-finished', {
            process: this.processId,
            jobId: job.row.jobId,
            round: active.index,
            group: index,
            outcome: g.outcome.stage,
            included: g.outcome.stage === 'done' ? g.outcome.included.length : 0,
          });
        }
      }
      if (advanced && COLLECTING.has(active.stage)) await this.afterAdvance(job, active);
    });
    // Waiting inboxes change only when a stage closes: an accepted message alone wakes nobody.
    if (advanced) {
      this.wake();
      this.schedule();
    }
    if (before !== active.stage) await this.afterRoundEnded(job, active);
  }

  /** Brings the stored stage in line with the groups', and records the round's outcome once every group has ended (inside the round's lock). */
  private async afterAdvance(job: JobRuntime, active: ActiveRound): Promise<void> {
    const jobId = job.row.jobId;
    const s = this.stageOf(active);
    if (s === 'aborted') {
      const reasons = [...new Set(active.groups.flatMap((g) => (g.outcome?.stage === 'aborted' ? [g.outcome.reason] : [])))];
      const reason = reasons.join(' ') || 'The round was abandoned.';
      await this.store.setRoundAborted(jobId, active.index, reason, this.now());
      // The next round starts again from the same model.
      if (!isAnalyticsJob(job.doc)) await this.store.putModel(jobId, active.index + 1, (await this.store.model(jobId, active.index))!);
      active.stage = 'aborted';
    } else if (s === 'closing') {
      await this.recordOutcome(job, active);
      active.stage = 'closing';
    } else if (active.stage !== s) {
      active.stage = s;
      await this.store.setRoundStage(jobId, active.index, s);
    }
  }

  /** What follows a round's end in this process: the next round is considered, or the close on-chain begins. */
  private async afterRoundEnded(job: JobRuntime, active: ActiveRound): Promise<void> {
    if (active.stage === 'aborted') {
      this.log('warn', 'round-aborted', { process: this.processId, jobId: job.row.jobId, round: active.index });
      if (await this.lease(jobLease(job.row.jobId))) await this.considerStart(job);
    } else if (active.stage === 'closing') {
      if (await this.lease(jobLease(job.row.jobId))) this.closeOnChain(job, active);
    }
  }

  /** The round's sum is the sum of its groups' sums; the included are every done group's members who made it. */
  private async recordOutcome(job: JobRuntime, active: ActiveRound): Promise<void> {
    const jobId = job.row.jobId;
    const done = active.groups.flatMap((g) => (g.outcome?.stage === 'done' ? [{ g, o: g.outcome }] : []));
    const sum = new Float64Array(done[0]!.o.sum.length);
    for (const { o } of done) for (let i = 0; i < sum.length; i++) sum[i]! += o.sum[i]!;
    const included = done.flatMap(({ o }) => o.included).sort((a, b) => a - b);
    // In roster order, as RoundRewards builds it from the included positions.
    const group = new Group(included.map((id) => BigInt(active.commitments[id]!)));
    const doc = job.doc;
    if (isAnalyticsJob(doc)) {
      // The noised sum is the answer; its error bars come from the noise each group's contributors were charged for.
      const parts = done.map(({ g, o }) => analyticsAggregate(doc.analytics, o.sum, o.included.length, g.server.params, doc.privacy.noiseMultiplier, o.errorBound));
      const noiseStdDev = Math.sqrt(parts.reduce((v, a) => v + a.noiseStdDev ** 2, 0));
      const quantization = done.reduce((e, { o }) => e + o.errorBound, 0);
      await this.store.setRoundOutcome(jobId, active.index, {
        included,
        validation: null,
        aggregate: { labels: parts[0]!.labels, value: Array.from(sum), noiseStdDev, errorBar: 1.96 * noiseStdDev + quantization, contributors: included.length },
        groupRoot: group.root.toString(),
        groupSize: group.size,
      });
      return;
    }
    const agg = doc.aggregation;
    const { mean } = weightedMeanFromSum(sum, agg.maxExamples, agg.clipRange);
    const next = Float32Array.from(fedAvgStep((await this.store.model(jobId, active.index))!, mean, agg.serverLearningRate));
    let validation: Evaluation | null = null;
    if (job.validation) validation = evaluateModel(doc.training.model, next, job.validation);
    await this.store.setRoundOutcome(jobId, active.index, {
      included,
      validation,
      groupRoot: group.root.toString(),
      groupSize: group.size,
    });
    await this.store.putModel(jobId, active.index + 1, next);
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
          this.log('info', 'round-closed', { process: this.processId, jobId, round: active.index, tx });
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
      await this.heartbeat();
      await this.refreshFromStore();
      const now = this.now();
      for (const job of this.jobs.values()) {
        if (job.row.state !== 'enrolling' && job.row.state !== 'running') continue;
        await this.refreshRound(job);
        const a = job.active;
        if (a && COLLECTING.has(a.stage)) {
          // Each group's stages are moved by the process holding its lease; a dead holder's lease expires and is taken over here.
          for (const g of a.groups) {
            if (g.outcome || !g.server.canAdvance(now)) continue;
            if (await this.lease(groupLease(job.row.jobId, a.index, g.group.index))) await this.advanceGroup(job, g.group.index);
            if (job.active !== a || !COLLECTING.has(a.stage)) break;
          }
        } else if (a && a.stage === 'closing') {
          if (!job.closing && now >= job.closeRetryAt && (await this.lease(jobLease(job.row.jobId)))) this.closeOnChain(job, a);
        } else if (await this.lease(jobLease(job.row.jobId))) {
          if (now > job.doc.deadline * 1000) {
            await this.store.setJobState(job.row.jobId, 'finished');
            job.row = (await this.store.job(job.row.jobId))!;
            continue;
          }
          await this.considerStart(job);
          if (job.readyAt !== undefined && this.now() >= job.readyAt) await this.startRound(job);
        }
      }
      this.forgetFinishedWork();
      this.schedule();
    });
  }

  /** Stops renewing leases on work that is over (finished groups, finished jobs): they lapse. */
  private forgetFinishedWork(): void {
    const wanted = new Set<string>();
    for (const job of this.jobs.values()) {
      if (job.row.state !== 'enrolling' && job.row.state !== 'running') continue;
      wanted.add(jobLease(job.row.jobId));
      const a = job.active;
      if (a && COLLECTING.has(a.stage)) for (const g of a.groups) if (!g.outcome) wanted.add(groupLease(job.row.jobId, a.index, g.group.index));
    }
    for (const name of [...this.held.keys()]) if (!wanted.has(name)) this.held.delete(name);
  }

  /** Catches up with the job's rounds as the database has them: a round another process started, ended or moved on (call while holding the change lock). */
  private async refreshRound(job: JobRuntime): Promise<void> {
    const latest = await this.store.latestRound(job.row.jobId);
    if (!latest) return;
    const a = job.active;
    if (!a || a.index !== latest.round) {
      if (latest.stage === 'closed' || latest.stage === 'aborted') {
        if (a && a.index < latest.round) job.active = undefined;
        if (a && a.index === latest.round) a.stage = latest.stage;
        return;
      }
      await this.loadRound(job);
      this.wake();
      return;
    }
    if (COLLECTING.has(a.stage)) {
      if (await this.sync(job, a)) this.wake();
      if (!COLLECTING.has(latest.stage) && COLLECTING.has(a.stage)) a.stage = this.stageOf(a);
    }
    if (a.stage !== latest.stage && !COLLECTING.has(latest.stage)) {
      // Closed (or aborted) by the process holding the job's lease.
      a.stage = latest.stage;
      if (latest.stage === 'closing') job.closeRetryAt = (await this.store.round(job.row.jobId, a.index))?.closeRetryAt ?? 0;
      if (latest.stage === 'closed') job.row = (await this.store.job(job.row.jobId))!;
      this.wake();
    }
  }

  /** Throws JOB_NOT_FOUND unless the job exists: from memory for a job this process runs (every request asks). */
  async requireJob(jobId: string): Promise<void> {
    await this.job(jobId);
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
      if (job.row.state !== 'enrolling' && job.row.state !== 'running') continue;
      const a = job.active;
      if (a && COLLECTING.has(a.stage)) {
        for (const g of a.groups) if (!g.outcome) wake = Math.min(wake, g.server.stageDeadline);
      } else if (a && a.stage === 'closing' && !job.closing) {
        wake = Math.min(wake, job.closeRetryAt);
      }
      if (job.readyAt !== undefined) wake = Math.min(wake, job.readyAt);
      // Other processes may move a round, start one or die: look at the database again soon.
      wake = Math.min(wake, this.now() + this.pollMs);
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

function jobLease(jobId: string): string {
  return `job/${jobId}`;
}

function groupLease(jobId: string, round: number, group: number): string {
  return `group/${jobId}/${round}/${group}`;
}

/** Every coordinator process on the database, with the leases each holds (what `status` prints). */
export async function operationsOf(store: CoordinatorStore): Promise<Operations> {
  const leases = await store.leases();
  return { processes: (await store.processes()).map((p) => ({ ...p, leases: leases.filter((l) => l.holder === p.id) })) };
}
