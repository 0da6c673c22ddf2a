// Taking part in one joined job while the app is open: ask the coordinator for the current round,
// and when invited, make this contributor's vector (a training job fetches the global model and
// trains on the mapped columns in the worker; an analytics job runs its question on them, in the
// worker too, and may show the person the result first), add this contributor's share of the DP
// noise, and drive a secure-aggregation client through the round.
// Only masked vectors ever leave the machine. Any answer the protocol does not allow ends the
// round at once and nothing more is sent in it; a coordinator that cannot be reached is retried
// with backoff; the next round is always tried afresh.
import { EventEmitter } from 'node:events';
import { columnsRead } from '../../../common/jobs/document.js';
import { isAnalyticsJob, vectorLengthOf, type AnyJobDocument } from '../../../common/jobs/kinds.js';
import { ANALYTICS_LIMITS, analyticsColumns, renameAnalyticsColumns } from '../../../common/analytics/spec.js';
import { describeOutputForReview } from '../../../common/analytics/release.js';
import type { AnalyticsJobDocument } from '../../../common/analytics/document.js';
import { runAnalyticsStep } from '../analytics/local-step.js';
import { InboxQueue, type CoordinatorClient, type Inbox, type SentRequest } from '../../../common/jobs/client.js';
import { MAX_INBOX_WAIT_MS, type RoundInfo } from '../../../common/jobs/protocol.js';
import { checkRoundIndex, checkRoundParams, modelHashOf, questionHashOf, jobNoise } from '../../../common/jobs/rounds.js';
import { invitedGroup } from '../../../common/jobs/groups.js';
import { roundShareVariance } from '../../../common/dp/integer-noise.js';
import { TroveError, isTroveError, type TroveErrorCode } from '../../../common/errors.js';
import { clipL2 } from '../../../common/dp/noise.js';
import { addDiscreteGaussian } from '../../../common/dp/discrete.js';
import { weightedInput } from '../../../common/secagg/fedavg.js';
import { SecAggClient } from '../../../common/secagg/client.js';
import { loadSodium, randomBytes } from '../../../common/secagg/sodium.js';
import { UPLOAD_SPREAD_SHARE, uploadDelayMs } from './upload-time.js';
import { describeRequests, RequestLog } from './request-log.js';
import type { RoundStage } from '../../../common/secagg/stages.js';
import { parameterCountOf, type TrainingJobSpec } from '../../../common/jobspec.js';
import type { JobDocument } from '../../../common/jobs/document.js';
import type { LocalStepResult } from '../../../common/worker-protocol.js';
import type { Vault } from '../vault/index.js';
import type { WorkerSupervisor } from '../worker/supervisor.js';
import type { JobIdentity } from '../jobs/identity.js';
import type { RosterCheck } from './roster.js';
import type { ReceiptKeeper } from './receipts.js';
import { formatBytes } from '../../../common/units.js';

export type RoundStep = 'waiting' | 'training' | 'computing' | 'reviewing' | 'masking' | 'uploading' | 'unmasking' | 'done';

export interface RoundProgress {
  round: number;
  step: RoundStep;
  /** 0..1 within the step, when known. */
  progress: number | null;
  detail: string;
}

export interface ParticipationProblem {
  code: TroveErrorCode;
  message: string;
  /** The round it happened in, when it happened in one. */
  round: number | null;
}

/** Which of the user's dataset columns stands for each column the job reads. */
export interface ColumnMapping {
  datasetId: string;
  columns: Record<string, string>;
}

export type ParticipationStatus = 'idle' | 'waiting' | 'working' | 'paused' | 'finished' | 'stopped';

/** What the coordinator last said while this device waits for a round. */
export interface WaitingForRound {
  /** The round next to run, counted from 0. */
  round: number;
  /** How many take part in the job now. */
  joined: number;
  /** When the round should open (ms since the epoch); null while it waits for people or for a round in progress. */
  startsAt: number | null;
}

export interface ParticipationEvents {
  progress: [RoundProgress];
  problem: [ParticipationProblem];
  /** A round this contributor's masked update went into finished on this side. */
  contributed: [number];
  /** A round this participation took up ended, with its update in it or not. */
  ended: [number, boolean];
  status: [ParticipationStatus];
  /** What the wait for the next round looks like changed (people joined, a start time was set). */
  waiting: [WaitingForRound];
}

/** One round's analytics result as the person reviews it before it is noised, masked and sent. */
export interface ResultReview {
  jobId: string;
  round: number;
  title: string;
  /** The exact numbers, one line each, in plain words, and a line on the noise added before it leaves. */
  lines: string[];
  output: number[];
}

export interface ParticipationOptions {
  jobId: string;
  chainId: string;
  document: AnyJobDocument;
  identity: JobIdentity;
  client: CoordinatorClient;
  vault: Vault;
  supervisor: WorkerSupervisor;
  mapping: ColumnMapping;
  /** Checks each invitation's roster against the one frozen on-chain (main/services/rounds/roster.ts). */
  roster?: RosterCheck;
  /** Checks and keeps the coordinator's receipt for each masked input sent (main/services/rounds/receipts.ts). */
  receipts?: ReceiptKeeper;
  /** The last round already taken part in (or refused): rounds up to it are not run again. */
  lastRound?: number | null;
  /** Whether the run policy lets work start now; asked before each round. */
  mayRun?: () => { ok: true } | { ok: false; reason: string };
  /** Wait before retry `attempt` (1, 2, ...) after a failure. */
  backoffMs?: (attempt: number) => number;
  /** How often a paused participation checks the run policy again. */
  policyRecheckMs?: number;
  /** Longest wait for a round when the coordinator says nothing sooner. */
  maxPollMs?: number;
  inboxWaitMs?: number;
  now?: () => number;
  /** Limits of the worker task. */
  training?: { timeLimitMs?: number; memoryLimitMb?: number };
  /** The person's setting: may training use the GPU (read at each round). */
  useGpu?: () => boolean;
  /**
   * Counts round `round` against what the privacy budget was charged, just before its masked
   * update leaves; throws to refuse (the round then ends and nothing is sent).
   */
  recordRelease?: (round: number) => Promise<void>;
  /** Module hashes the person trusts or approved for this job (an analytics module job runs only one of these). */
  approvedModules?: () => readonly string[];
  /**
   * The setting "show me each result before it is sent": when given, an analytics round's exact
   * result is shown and sent only if this resolves true; declining ends the round, nothing sent.
   * `cancelled` fires when the round ends or the job stops before the person answers.
   */
  reviewResult?: (review: ResultReview, cancelled: AbortSignal) => Promise<boolean>;
  /**
   * The masked update leaves at a random moment within this many ms of the stage opening
   * (default: UPLOAD_SPREAD_SHARE of the job's masked-input deadline; tests and the demo shorten it).
   */
  uploadSpreadMs?: number;
  /** The random source for the upload time (tests seed it). */
  random?: (bytes: number) => Uint8Array;
}

const DEFAULT_BACKOFF = (attempt: number): number => Math.min(60_000, 1000 * 2 ** Math.min(attempt - 1, 6)) * (0.75 + 0.5 * Math.random());

/** The job's training spec with its columns renamed to the user's: the worker reads only those. */
/**
 * A poll delay spread uniformly over [ms/2, 3ms/2) from the cryptographic random source, so the
 * times a device asks the coordinator form no fingerprint of it and do not line up with others'.
 */
export function jitteredPollMs(ms: number, random: (bytes: number) => Uint8Array = randomBytes): number {
  const b = random(4);
  const u = (((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) >>> 0;
  return Math.round(ms * (0.5 + u / 2 ** 32));
}

export function mappedSpec(spec: TrainingJobSpec, mapping: ColumnMapping): TrainingJobSpec {
  const to = (column: string): string => {
    const mapped = mapping.columns[column];
    if (!mapped) throw new TroveError('INVALID_INPUT', `The job reads "${column}", which is not mapped to a column of your dataset.`);
    return mapped;
  };
  return {
    ...spec,
    features: spec.features.map((f) => ({ ...f, column: to(f.column) })),
    label: { ...spec.label, column: to(spec.label.column) },
  };
}

/** The client's stage read afresh (handle() moves it, which narrowing cannot see). */
function stageOf(client: SecAggClient): RoundStage {
  return client.stage;
}

export class JobParticipation extends EventEmitter<ParticipationEvents> {
  private readonly o: ParticipationOptions;
  /** What this participation sent to the coordinator since the last round ended. */
  private readonly requests: RequestLog;
  private readonly abort = new AbortController();
  private loop: Promise<void> | null = null;
  private lastRound: number | null;
  private statusNow: ParticipationStatus = 'idle';
  private current: RoundProgress | null = null;
  private problemNow: ParticipationProblem | null = null;
  private waitingNow: WaitingForRound | null = null;

  constructor(options: ParticipationOptions) {
    super();
    this.o = options;
    this.lastRound = options.lastRound ?? null;
    this.requests = new RequestLog(options.client);
  }

  get status(): ParticipationStatus {
    return this.statusNow;
  }

  get round(): RoundProgress | null {
    return this.current;
  }

  get problem(): ParticipationProblem | null {
    return this.problemNow;
  }

  /** Who has joined and when the next round opens, while this device waits for it. */
  get waiting(): WaitingForRound | null {
    return this.statusNow === 'waiting' ? this.waitingNow : null;
  }

  get lastRoundSeen(): number | null {
    return this.lastRound;
  }

  start(): void {
    this.loop ??= this.run().catch((err: unknown) => {
      if (!this.abort.signal.aborted) this.report(err, null);
    });
  }

  /** Stops at once: a round in progress is abandoned (nothing more is sent) and the worker task cancelled. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    this.requests.close();
    this.setStatus('stopped');
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private setStatus(status: ParticipationStatus): void {
    if (this.statusNow === status) return;
    this.statusNow = status;
    this.emit('status', status);
  }

  private step(round: number, step: RoundStep, progress: number | null, detail: string): void {
    this.current = { round, step, progress, detail };
    this.emit('progress', this.current);
  }

  private report(err: unknown, round: number | null): void {
    const problem: ParticipationProblem = isTroveError(err)
      ? { code: err.code, message: err.message, round }
      : { code: 'INVALID_INPUT', message: 'The round failed unexpectedly.', round };
    this.problemNow = problem;
    this.emit('problem', problem);
  }

  /** Waits `ms`, or less when stopped. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const timer = setTimeout(done, ms);
      const signal = this.abort.signal;
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Writes the round's requests to the activity log (not while locked: the entry is then lost, never the round). */
  private async logRequests(round: number | null, requests: SentRequest[]): Promise<void> {
    if (requests.length === 0) return;
    const { summary, details } = describeRequests(requests, { origin: new URL(this.o.document.coordinator.url).origin, round, title: this.o.document.title, analytics: isAnalyticsJob(this.o.document) });
    await this.o.vault.recordActivity('job.requests', summary, { job: this.o.jobId, ...details }).catch(() => undefined);
  }

  private backoff(attempt: number): number {
    return (this.o.backoffMs ?? DEFAULT_BACKOFF)(attempt);
  }

  private async run(): Promise<void> {
    await loadSodium();
    let failures = 0;
    while (!this.stopped) {
      const allowed = this.o.mayRun?.() ?? { ok: true };
      if (!allowed.ok) {
        // The reason shows on the job's card until the policy lets work start.
        this.current = { round: this.lastRound === null ? 0 : this.lastRound + 1, step: 'waiting', progress: null, detail: allowed.reason };
        this.setStatus('paused');
        this.emit('progress', this.current);
        await this.sleep(this.o.policyRecheckMs ?? 60_000);
        continue;
      }
      if (this.statusNow === 'paused') {
        this.current = null;
        this.setStatus('waiting');
      }
      let info: RoundInfo;
      try {
        info = await this.o.client.round(this.o.jobId, this.o.identity.signing);
        failures = 0;
      } catch (err) {
        if (this.stopped) return;
        this.report(err, null);
        this.setStatus('waiting');
        await this.sleep(this.backoff(++failures));
        continue;
      }
      if (info.state === 'finished') {
        await this.logRequests(null, this.requests.take());
        this.current = null;
        this.setStatus('finished');
        return;
      }
      // Every round of the job has run (the coordinator just has not closed the job yet).
      if (info.state === 'waiting' && info.nextRound >= this.o.document.rounds) {
        this.current = null;
        this.setStatus('finished');
        return;
      }
      if (info.state === 'waiting' || (this.lastRound !== null && info.round <= this.lastRound)) {
        if (info.state === 'waiting') this.noteWaiting(info);
        this.setStatus('waiting');
        const retry = info.state === 'waiting' ? info.retryAfterMs : 1000;
        await this.sleep(jitteredPollMs(Math.max(100, Math.min(retry, this.o.maxPollMs ?? 30_000))));
        continue;
      }
      this.current = null;
      this.setStatus('working');
      this.lastRound = info.round;
      try {
        await this.takePart(info);
        this.problemNow = null;
        this.emit('contributed', info.round);
        this.emit('ended', info.round, true);
      } catch (err) {
        if (this.stopped) return;
        this.emit('ended', info.round, false);
        this.report(err, info.round);
        await this.o.vault
          .recordActivity('job.round-failed', `Round ${info.round + 1} of "${this.o.document.title}" ended without this device's update: ${isTroveError(err) ? err.message : 'an unexpected failure'}`, {
            job: this.o.jobId,
            round: info.round,
            code: isTroveError(err) ? err.code : 'UNKNOWN',
          })
          .catch(() => undefined);
      }
      // Everything sent since the last round ended: the questions about the next round, then this one's.
      await this.logRequests(info.round, this.requests.take());
      this.current = null;
      // The job's last round was this device's last: there is nothing left to wait for.
      if (info.round >= this.o.document.rounds - 1) {
        this.setStatus('finished');
        return;
      }
      this.setStatus('waiting');
    }
  }

  /** Keeps the coordinator's word on the wait; tells listeners only when it changed in a way a person would notice. */
  private noteWaiting(info: Extract<RoundInfo, { state: 'waiting' }>): void {
    const next: WaitingForRound = {
      round: info.nextRound,
      joined: info.enrolled,
      startsAt: info.startsInMs === null ? null : this.now() + info.startsInMs,
    };
    const before = this.waitingNow;
    this.waitingNow = next;
    const moved = (a: number | null, b: number | null) => (a === null) !== (b === null) || (a !== null && b !== null && Math.abs(a - b) > 2_000);
    if (!before || before.round !== next.round || before.joined !== next.joined || moved(before.startsAt, next.startsAt)) this.emit('waiting', next);
  }

  /** One round, from invitation to unmasking. Throws a TroveError saying why it ended early. */
  private async takePart(invite: Extract<RoundInfo, { state: 'invited' }>): Promise<void> {
    const { document: doc, jobId, identity } = this.o;
    const round = invite.round;
    checkRoundIndex(doc, round);
    // The secure-aggregation group this device is in: a slice of the roster, at least the job's minimum.
    const group = invitedGroup(invite, { chainId: this.o.chainId, jobId, minContributors: doc.minContributors });
    const roundId = group.roundId;
    if (Buffer.from(roundId).toString('hex') !== invite.roundId) {
      throw new TroveError('SECAGG_WRONG_ROUND', `The coordinator named round ${round + 1} with an id that is not that round's. Nothing was sent.`);
    }
    if (invite.roster[invite.clientId] !== identity.signingKeyHex) {
      throw new TroveError('COORDINATOR_PROTOCOL', 'The coordinator’s roster does not list this device where it says it does. Nothing was sent.');
    }
    if (new Set(invite.roster).size !== invite.roster.length) {
      throw new TroveError('COORDINATOR_PROTOCOL', 'The coordinator’s roster lists the same contributor twice. Nothing was sent.');
    }
    if (invite.roster.length < doc.minContributors) {
      throw new TroveError('SECAGG_UNSAFE_REQUEST', `The round invites ${invite.roster.length} contributors, fewer than the job's minimum of ${doc.minContributors}. Nothing was sent.`);
    }
    if (this.o.roster) await this.o.roster(jobId, invite.roster);
    await this.o.vault.recordActivity('job.round-started', `Invited to round ${round + 1} of "${doc.title}" with ${invite.roster.length} contributors.`, { job: jobId, round });

    // The round's Setup and every neighbour's signed advert must name this same model (or question).
    // The local work (training, or the job's question) runs while the keys are agreed: only the
    // masked input needs it, in the round's longest stage. So a slow start (a cold worker on a busy
    // computer) does not miss the key deadline, and when the keys go says nothing of the data.
    const ended = new AbortController();
    const { input, modelHash } = isAnalyticsJob(doc)
      ? { input: this.analyticsInput(doc, round, ended.signal), modelHash: questionHashOf(doc) }
      : await this.trainingInput(doc, round, ended.signal);
    // Awaited before the masked input is made; this only keeps an early failure from going unheard meanwhile.
    input.catch(() => undefined);
    const secagg = await SecAggClient.create({
      id: group.localId,
      signingKeys: identity.signing,
      roster: group.members.map((hex) => Buffer.from(hex, 'hex')),
      roundId,
      acceptParams: (params) => checkRoundParams(doc, params, roundId, modelHash),
      modelHash,
      // This contributor's share of the noise, in the integers after quantization (integer-noise.ts).
      addNoise: (quantized, params) => addDiscreteGaussian(quantized, roundShareVariance(params, jobNoise(doc))),
    });
    try {
      await this.runSecAgg(invite, secagg, input);
    } catch (err) {
      // Whatever ended the round early, the round's keys and shares are wiped now, and local work still running is cancelled.
      ended.abort();
      secagg.abandon(isTroveError(err) ? err.message : 'the round failed');
      throw err;
    }
    this.step(round, 'done', 1, 'Your masked update is in this round');
    await this.o.vault.recordActivity('job.round-done', `Took part in round ${round + 1} of "${doc.title}".`, { job: jobId, round });
  }

  /** A training round: the global model fetched now (its hash binds the round), and its vector, trained on this device, clipped and weighted, to come. */
  private async trainingInput(doc: JobDocument, round: number, ended: AbortSignal): Promise<{ input: Promise<Float64Array>; modelHash: Uint8Array }> {
    const { jobId, identity, client } = this.o;
    this.step(round, 'waiting', null, 'Fetching the current model');
    const parameters = parameterCountOf(doc.training.model);
    const model = await this.withRetry(round, () => client.model(jobId, round, identity.signing, parameters));
    if (this.stopped || !model) throw new TroveError('CANCELLED', 'Stopped.');
    return { input: this.trainedInput(doc, round, model, ended), modelHash: modelHashOf(model) };
  }

  private async trainedInput(doc: JobDocument, round: number, model: Float32Array, ended: AbortSignal): Promise<Float64Array> {
    const { jobId } = this.o;
    const step = await this.train(round, model, ended);
    await this.o.vault.recordActivity('job.trained', `Trained "${doc.title}" for round ${round + 1} on ${step.exampleCount} rows on this device.`, {
      job: jobId,
      round,
      examples: step.exampleCount,
    });
    const examples = Math.min(step.exampleCount, doc.aggregation.maxExamples);
    // Weighted before it is noised (McMahan et al. 2018), the count coordinate included: the
    // noise share added after quantization then protects every coordinate alike.
    return weightedInput(clipL2(step.update, doc.training.local.clipNorm).clipped, examples, doc.aggregation.maxExamples, doc.aggregation.clipRange);
  }

  /**
   * An analytics round's vector: the job's question run in the worker on the granted columns
   * (a module job's module fetched and checked against the signed document's hash first), the
   * output checked against its declared bounds, and shown to the person first when they asked.
   */
  private async analyticsInput(doc: AnalyticsJobDocument, round: number, ended: AbortSignal): Promise<Float64Array> {
    const { jobId, identity, client, mapping } = this.o;
    const c = doc.analytics.computation;
    let module: Uint8Array | undefined;
    if (c.kind === 'module') {
      this.step(round, 'waiting', null, 'Fetching the researcher’s program');
      module = await this.withRetry(round, () => client.module(jobId, identity.signing, c.sha256, ANALYTICS_LIMITS.maxModuleBytes));
      if (this.stopped || !module) throw new TroveError('CANCELLED', 'Stopped.');
    }
    this.step(round, 'computing', null, 'Computing the job’s question on your data, on this device');
    // The worker reads the job's columns by the job's names: the grant renames the person's columns to them.
    const read = [...new Set(analyticsColumns(doc.analytics))];
    const datasetColumns = read.map((column) => {
      const mapped = mapping.columns[column];
      if (!mapped) throw new TroveError('INVALID_INPUT', `The job reads "${column}", which is not mapped to a column of your dataset.`);
      return mapped;
    });
    const grant = await this.o.vault.grant(mapping.datasetId, [...new Set(datasetColumns)], `the job "${doc.title}"`);
    // Cancelled when the participation stops or the round ends early.
    const cancel = AbortSignal.any([this.abort.signal, ended]);
    let result: Awaited<ReturnType<typeof runAnalyticsStep>>;
    try {
      result = await runAnalyticsStep(
        this.o.supervisor,
        { spec: renameAnalyticsColumns(doc.analytics, (column) => mapping.columns[column]!), ...(module ? { module } : {}), approvedModules: this.o.approvedModules?.() ?? [], data: grant },
        cancel,
      );
    } finally {
      grant.dataKey.fill(0);
    }
    await this.o.vault.recordActivity('job.computed', `Computed "${doc.title}" for round ${round + 1} on ${result.rows} rows on this device.`, { job: jobId, round, rows: result.rows });
    if (this.o.reviewResult) {
      this.step(round, 'reviewing', null, 'Your result is ready: send it or decline it in the window that opened');
      const lines = describeOutputForReview(doc.analytics, result.output, { noiseMultiplier: doc.privacy.noiseMultiplier, minContributors: doc.minContributors });
      const send = await this.o.reviewResult({ jobId, round, title: doc.title, lines, output: Array.from(result.output) }, cancel);
      if (this.stopped) throw new TroveError('CANCELLED', 'Stopped.');
      if (!send) {
        await this.o.vault.recordActivity('job.result-declined', `You declined to send round ${round + 1} of "${doc.title}"; nothing left this device.`, { job: jobId, round });
        throw new TroveError('CANCELLED', `You declined to send this round’s result. Nothing was sent.`, { declined: true });
      }
    }
    return result.output;
  }

  /** Drives the secure-aggregation client through the round's inbox until its part is done. */
  private async runSecAgg(invite: Extract<RoundInfo, { state: 'invited' }>, secagg: SecAggClient, input: Promise<Float64Array>): Promise<void> {
    const { document: doc, jobId, identity, client } = this.o;
    const round = invite.round;
    const vectorLength = vectorLengthOf(doc);
    const deadlines = doc.aggregation.deadlines;
    // The consistency check runs under the unmask deadline too, hence unmaskMs twice.
    const roundEnds = this.now() + deadlines.advertiseKeysMs + deadlines.shareKeysMs + deadlines.collectMaskedInputsMs + 2 * deadlines.unmaskMs + 60_000;
    let inputSet = false;
    // Until the local work is done its progress is what the person sees, not the key exchange's.
    let localDone = false;
    void input.then(
      () => {
        localDone = true;
        if (!this.stopped) this.step(round, 'masking', null, 'Agreeing on masks with the other contributors');
      },
      () => undefined,
    );
    const queue = new InboxQueue();
    let attempts = 0;
    while (secagg.stage !== 'done') {
      if (this.stopped) throw new TroveError('CANCELLED', 'Stopped.');
      if (this.now() > roundEnds) throw new TroveError('ROUND_ABORTED', `Round ${round + 1} ran past its deadlines without finishing.`);
      const m = queue.next();
      if (!m) {
        let inbox: Inbox;
        try {
          inbox = await client.inbox(jobId, round, identity.signing, queue.after, this.o.inboxWaitMs ?? MAX_INBOX_WAIT_MS);
          attempts = 0;
        } catch (err) {
          if (!isTroveError(err, 'COORDINATOR_UNREACHABLE') || this.stopped) throw err;
          this.report(err, round);
          await this.sleep(this.backoff(++attempts));
          continue;
        }
        queue.take(inbox.messages);
        if (inbox.messages.length === 0 && (inbox.stage === 'aborted' || inbox.stage === 'closed' || inbox.stage === 'closing')) {
          throw new TroveError('ROUND_ABORTED', `Round ${round + 1} ended at the coordinator before this device's part was done.`);
        }
        continue;
      }
      const before = secagg.stage;
      if (!inputSet && before === 'share-keys') {
        // The others' shares make this device compute its masked input: the local work must be done first.
        secagg.setInput(await input);
        inputSet = true;
        if (this.stopped) throw new TroveError('CANCELLED', 'Stopped.');
      }
      // A message the client refuses throws here: the round ends and nothing more is sent.
      const reply = secagg.handle(m.data);
      if (secagg.stage === 'aborted') {
        throw new TroveError('ROUND_ABORTED', `The coordinator abandoned round ${round + 1}: ${secagg.abortedBecause ?? 'no reason given'}.`);
      }
      if (!reply) continue;
      const uploading = before === 'share-keys' && secagg.stage === 'collect-masked-inputs';
      if (uploading) {
        this.step(round, 'uploading', null, 'Waiting a random moment before sending, so the timing says nothing about your data');
        await this.sleep(uploadDelayMs(this.o.uploadSpreadMs ?? UPLOAD_SPREAD_SHARE * deadlines.collectMaskedInputsMs, this.o.random ?? randomBytes));
        if (this.stopped) throw new TroveError('CANCELLED', 'Stopped.');
        await this.o.recordRelease?.(round);
        this.step(round, 'uploading', null, `Sending a masked list of ${vectorLength} numbers`);
      }
      // The answer brings the next stage's messages, waited for unless some are still to handle,
      // or the receipt is (its answer is not held open, where a broken connection would lose it).
      // Nothing is asked for after the last message.
      const next = stageOf(secagg) === 'done' ? undefined : { after: queue.after, waitMs: queue.length > 0 || uploading ? 0 : (this.o.inboxWaitMs ?? MAX_INBOX_WAIT_MS) };
      // A resend after a lost answer may meet the coordinator's replay check: it already has it.
      const answer = await this.withRetry(round, () => client.send(jobId, round, identity.signing, reply, next), (err, attempt) => attempt > 1 && isTroveError(err, 'SECAGG_REPLAY'));
      if (answer) queue.take(answer.messages);
      if (uploading && this.o.receipts) {
        // The input has left either way: a bad receipt is shown, and the round goes on.
        const sent = { jobId, round, roster: invite.roster, commitment: identity.semaphore.commitment, coordinator: doc.coordinator.address, message: reply };
        await this.o.receipts(sent, answer?.receipt ?? null).catch((err: unknown) => this.report(err, round));
      }
      if (uploading) {
        await this.o.vault.recordActivity(
          'job.upload',
          `Sent a masked list of ${vectorLength} numbers (${formatBytes(reply.length)}) to the job's coordinator for round ${round + 1} of "${doc.title}"; no rows.`,
          { job: jobId, round, numbers: vectorLength, bytes: reply.length, to: new URL(doc.coordinator.url).origin },
        );
        this.step(round, 'unmasking', null, 'Waiting for the others so the sum can be revealed');
      } else if (stageOf(secagg) !== 'done' && localDone) {
        const unmasking = secagg.stage === 'collect-masked-inputs' || secagg.stage === 'consistency-check';
        this.step(round, unmasking ? 'unmasking' : 'masking', null, unmasking ? 'Confirming with the others who is in the sum' : 'Agreeing on masks with the other contributors');
      }
    }
  }

  private async train(round: number, model: Float32Array, ended: AbortSignal): Promise<LocalStepResult> {
    const { mapping } = this.o;
    const doc = this.o.document as JobDocument;
    this.step(round, 'training', 0, 'Training on your data, on this device');
    const spec = mappedSpec(doc.training, mapping);
    const datasetColumns = [...new Set(columnsRead(doc.training).map((c) => mapping.columns[c]!))];
    const grant = await this.o.vault.grant(mapping.datasetId, datasetColumns, `the job "${doc.title}"`);
    // Cancelled when the participation stops or the round ends early.
    const cancel = AbortSignal.any([this.abort.signal, ended]);
    try {
      const result = await this.o.supervisor.run(
        { kind: 'train-local', spec, globalWeights: model, data: grant, useGpu: this.o.useGpu?.() ?? true },
        {
          signal: cancel,
          ...(this.o.training?.timeLimitMs ? { timeLimitMs: this.o.training.timeLimitMs } : {}),
          ...(this.o.training?.memoryLimitMb ? { memoryLimitMb: this.o.training.memoryLimitMb } : {}),
          onProgress: (p) => {
            if (p.kind === 'backend') {
              const where = p.backend.engine === 'webgpu' ? 'on the GPU' : p.backend.backend === 'tensorflow-gpu' ? 'on the GPU (CUDA)' : 'on the CPU';
              this.step(round, 'training', 0, `Training on your data, on this device, ${where} (${p.backend.reason})`);
              return;
            }
            if (p.kind === 'proof') return;
            const done = (p.epoch + (p.kind === 'epoch' ? 1 : p.batches > 0 ? p.batch / p.batches : 0)) / Math.max(1, p.epochs);
            this.step(round, 'training', Math.max(0, Math.min(1, done)), `Epoch ${Math.min(p.epoch + 1, p.epochs)} of ${p.epochs}`);
          },
        },
      );
      if (result.kind !== 'train-local') throw new TroveError('TRAINING_FAILED', 'The worker answered with something other than a training step.');
      if (result.step.update.length !== parameterCountOf(doc.training.model)) {
        throw new TroveError('TRAINING_FAILED', 'The training step produced an update of the wrong size.');
      }
      return result.step;
    } finally {
      grant.dataKey.fill(0);
    }
  }

  /** Runs a coordinator call, retrying while the coordinator cannot be reached (with backoff). */
  private async withRetry<T>(round: number, call: () => Promise<T>, delivered?: (err: unknown, attempt: number) => boolean): Promise<T | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (delivered?.(err, attempt)) return undefined;
        if (!isTroveError(err, 'COORDINATOR_UNREACHABLE') || this.stopped || attempt >= 8) throw err;
        this.report(err, round);
        await this.sleep(this.backoff(attempt));
        if (this.stopped) throw err;
      }
    }
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }
}
