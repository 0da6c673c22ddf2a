// The jobs a contributor can see and the ones they joined: discovery from the chain, consent
// cards, opt-in (column mapping, privacy budget, enrollment) and opt-out, the run policy, and the
// background participation in every joined job. Participation is kept sealed in the vault's
// settings, so it picks up again after a restart.
import type { ColumnSchema } from '../../../common/dataset.js';
import { CoordinatorClient } from '../../../common/jobs/client.js';
import { columnsOf, isAnalyticsJob, privacyCostOf, vectorLengthOf, worstCaseCostOf, type AnyJobDocument } from '../../../common/jobs/kinds.js';
import { TroveError, isTroveError } from '../../../common/errors.js';
import { DEFAULT_PERSONAL_LIMITS, MEMORY_LIMIT_CHOICES_MB, TIME_LIMIT_CHOICES_MINUTES, checkResources, describeResources, estimateResources, resourceProblem, type PersonalLimits } from '../../../common/jobs/resources.js';
import { verifyAttestations, type Attestations } from '../../../common/jobs/attestations.js';
import { mixedScripts, revealText, type RevealedText } from '../../../common/jobs/text.js';
import { expectationOf, fitProblem } from '../../../common/jobs/column-fit.js';
import { jobCardSchema, type JobCardValue, type JobsViewValue, type ResultReviewValue, type RunPolicyValue } from '../../../common/ipc/contract.js';
import { composeCosts, type PrivacyLedger } from '../../../common/dp/ledger.js';
import { openPrivacyLedger } from '../privacy/ledger.js';
import type { Vault } from '../vault/index.js';
import type { WorkerSupervisor } from '../worker/supervisor.js';
import { JobParticipation, type ColumnMapping, type ParticipationOptions } from '../rounds/participation.js';
import { onChainRosterCheck } from '../rounds/roster.js';
import { vaultReceiptKeeper } from '../rounds/receipts.js';
import { JobDiscovery, type DiscoveredJob, type DiscoveryOptions, type JobsChainConfig, type RewardToken } from './discovery.js';
import { JobIdentities, type JobRef } from './identity.js';
import { policyFetch, type AddressPolicy } from './address-policy.js';
import { JobConnections } from './connections.js';
import { AnalyticsTrust, ResultReviews, analyticsCardSection, analyticsReadColumns, analyticsResources } from './analytics.js';
import { ANALYTICS_LIMITS, describeAnalytics } from '../../../common/analytics/spec.js';

/** What the platform says about power and use; null where it cannot tell. */
export interface PlatformState {
  onBattery(): boolean | null;
  /** Seconds since the user last used the machine. */
  idleSeconds(): number | null;
}

/** A platform that reports nothing (the headless host): only the 'always' policy can be honoured. */
export const UNKNOWN_PLATFORM: PlatformState = { onBattery: () => null, idleSeconds: () => null };

export interface JobsServiceOptions {
  vault: Vault;
  chain: JobsChainConfig;
  supervisor: WorkerSupervisor;
  /** The depth-1 Semaphore circuit files: each enrollment is authorized on-chain by a proof over the identity's group of one. */
  enrollmentCircuit: { wasm: string; zkey: string };
  platform?: PlatformState;
  /** Used for job documents and coordinators, under the address policy. */
  fetch?: typeof fetch;
  /**
   * Developer setting: let jobs use loopback and local-network addresses (the demo and the tests
   * run on loopback). Off, a document or coordinator on such an address is refused unrequested.
   */
  allowLocalNetwork?: boolean;
  /** A signed list of known researchers (name -> address) and the Ed25519 key (hex) it must be signed with. */
  attestations?: { signed: unknown; publicKey: string };
  /** Resolves host names for the address policy (default: the system resolver). */
  lookup?: (host: string) => Promise<string[]>;
  discovery?: Omit<DiscoveryOptions, 'fetch'>;
  /** A job card changed (discovered, joined, a round step, a problem). */
  onChange?: (card: JobCardValue) => void;
  /** The analytics results waiting for the person's review changed. */
  onReviews?: (reviews: ResultReviewValue[]) => void;
  /** Tuning of background participation (tests shorten waits and backoff). */
  participation?: Partial<Pick<ParticipationOptions, 'backoffMs' | 'policyRecheckMs' | 'maxPollMs' | 'inboxWaitMs' | 'now' | 'training' | 'uploadSpreadMs' | 'random'>>;
  coordinatorTimeoutMs?: number;
  /** Idle this long counts as idle for the 'when-idle' policies. */
  idleAfterSeconds?: number;
}

type RecordState = 'joined' | 'left' | 'finished';

interface ParticipationRecord {
  state: RecordState;
  specHash: string;
  document: AnyJobDocument;
  mapping: ColumnMapping;
  roundsContributed: number;
  lastRound: number | null;
  joinedAt: number;
  /** The reward token as its contract described itself at join (older records lack it). */
  token?: RewardToken;
}

type Records = Record<string, ParticipationRecord>;

const POLICY_SETTING = 'jobs.runPolicy';
const GPU_SETTING = 'jobs.useGpu';
const LIMITS_SETTING = 'jobs.limits';
const NUMERIC_TYPES: readonly ColumnSchema['type'][] = ['number', 'integer', 'boolean', 'date'];

export class JobsService {
  private readonly o: JobsServiceOptions;
  private readonly discovery: JobDiscovery;
  private readonly identities: JobIdentities;
  private readonly coordinatorFetch: typeof fetch;
  private attestations: Attestations | null = null;
  /** Joins under way, by job id. */
  private readonly joining = new Map<string, Promise<JobCardValue>>();
  private ledger: PrivacyLedger | null = null;
  private discovered = new Map<string, DiscoveredJob>();
  private hidden: JobsViewValue['hidden'] = [];
  private chainProblem: string | null = null;
  private chainReachable = false;
  private readonly live = new Map<string, JobParticipation>();
  /** Why a joined job is not taking part although it should (its identity could not be made, a save failed). */
  private readonly startProblems = new Map<string, { code: string; message: string }>();
  /** Coordinator clients by job id: each job talks over its own connections. */
  private readonly clients = new Map<string, CoordinatorClient>();
  private readonly connections = new JobConnections();
  private readonly policy: AddressPolicy;
  private running = false;
  private closed = false;
  /** The person's trust in analytics programs, and the setting to review each result. */
  private readonly trust: AnalyticsTrust;
  private readonly reviews: ResultReviews;

  constructor(options: JobsServiceOptions) {
    this.o = options;
    const policy = { allowLocalNetwork: options.allowLocalNetwork ?? false, ...(options.lookup ? { lookup: options.lookup } : {}) };
    this.policy = policy;
    const base = options.fetch ?? fetch;
    this.coordinatorFetch = policyFetch(base, policy, 'the job’s coordinator');
    this.discovery = new JobDiscovery(options.chain, { ...options.discovery, fetch: policyFetch(base, policy, 'the job’s document'), followRedirects: true });
    this.identities = new JobIdentities(options.vault);
    this.trust = new AnalyticsTrust(options.vault);
    this.reviews = new ResultReviews((reviews) => {
      if (!this.closed) this.o.onReviews?.(reviews);
    });
  }

  private get settingName(): string {
    return `jobs.participation.${this.o.chain.chainId}.${this.o.chain.registry.toLowerCase()}`;
  }

  private records(): Records {
    return this.o.vault.getSetting<Records>(this.settingName) ?? {};
  }

  private async saveRecord(jobId: string, record: ParticipationRecord): Promise<void> {
    await this.o.vault.updateSetting<Records>(this.settingName, (all) => ({ ...all, [jobId]: record }));
  }

  /**
   * Changes one job's record from what the vault holds at the moment of writing (in its write
   * queue), so a round's outcome and the job's end, saved at once, both land. `change` returns
   * null to leave the record as it is.
   */
  private async updateRecord(jobId: string, change: (record: ParticipationRecord) => ParticipationRecord | null): Promise<boolean> {
    let updated = false;
    await this.o.vault.updateSetting<Records>(this.settingName, (all) => {
      const record = all?.[jobId];
      const next = record ? change(record) : null;
      if (!next) return all ?? {};
      updated = true;
      return { ...all, [jobId]: next };
    });
    return updated;
  }

  private ref(jobId: string): JobRef {
    return { chainId: this.o.chain.chainId, registry: this.o.chain.registry, jobId };
  }

  private ledgerKey(jobId: string): string {
    return `${this.o.chain.chainId}/${this.o.chain.registry.toLowerCase()}/${jobId}`;
  }

  private async privacyLedger(): Promise<PrivacyLedger> {
    this.ledger ??= await openPrivacyLedger(this.o.vault);
    return this.ledger;
  }

  /** The job's coordinator client, over the job's own connection pool (connections.ts). */
  private client(jobId: string, url: string): CoordinatorClient {
    let c = this.clients.get(jobId);
    if (!c) {
      const jobFetch = this.o.fetch ? this.coordinatorFetch : policyFetch(this.connections.fetchFor(jobId), this.policy, 'the job’s coordinator');
      c = new CoordinatorClient({ baseUrl: url, fetch: jobFetch, ...(this.o.coordinatorTimeoutMs ? { timeoutMs: this.o.coordinatorTimeoutMs } : {}) });
      this.clients.set(jobId, c);
    }
    return c;
  }

  /**
   * The jobs this person has contributed to, with each round as the job's coordinator reports it
   * (closed or not, which roster positions were included): what the claims service checks
   * against the chain before claiming.
   */
  async contributedRounds(): Promise<{ jobId: string; title: string; token: RewardToken | null; rounds: { round: number; closed: boolean; includedPositions: number[] | null }[] }[]> {
    const out = [];
    for (const [jobId, record] of Object.entries(this.records())) {
      if (record.roundsContributed === 0) continue;
      const status = await this.client(jobId, record.document.coordinator.url).status(jobId);
      out.push({
        jobId,
        title: record.document.title,
        token: record.token ?? null,
        rounds: status.rounds.map((r) => ({ round: r.round, closed: r.closed !== null, includedPositions: r.includedPositions })),
      });
    }
    return out;
  }

  // ------------------------------------------------------------------------------ view

  get runPolicy(): RunPolicyValue {
    return this.o.vault.getSetting<RunPolicyValue>(POLICY_SETTING) ?? 'always';
  }

  async setRunPolicy(policy: RunPolicyValue): Promise<JobsViewValue> {
    await this.o.vault.setSetting(POLICY_SETTING, policy, `Jobs run ${describePolicy(policy)}.`);
    return this.list();
  }

  get useGpu(): boolean {
    return this.o.vault.getSetting<boolean>(GPU_SETTING) ?? true;
  }

  /** The person's own limits on what one job may take (Settings), within Trove's hard limits. */
  get limits(): PersonalLimits {
    const saved = this.o.vault.getSetting<Partial<PersonalLimits>>(LIMITS_SETTING);
    const memory = MEMORY_LIMIT_CHOICES_MB.find((v) => v === saved?.maxMemoryMb) ?? DEFAULT_PERSONAL_LIMITS.maxMemoryMb;
    const minutes = TIME_LIMIT_CHOICES_MINUTES.find((v) => v === saved?.maxMinutesPerRound) ?? DEFAULT_PERSONAL_LIMITS.maxMinutesPerRound;
    return { maxMemoryMb: memory, maxMinutesPerRound: minutes };
  }

  async setLimits(limits: PersonalLimits): Promise<JobsViewValue> {
    await this.o.vault.setSetting(LIMITS_SETTING, limits, `A job may use up to ${limits.maxMemoryMb} MB of memory and ${limits.maxMinutesPerRound} ${limits.maxMinutesPerRound === 1 ? 'minute' : 'minutes'} of training a round on this computer.`);
    return this.list();
  }

  async setUseGpu(useGpu: boolean): Promise<JobsViewValue> {
    await this.o.vault.setSetting(GPU_SETTING, useGpu, useGpu ? 'Local training may use the GPU.' : 'Local training stays on the CPU (the GPU is turned off).');
    return this.list();
  }

  /** Whether the run policy lets job work start now, and why not. */
  mayRun(): { ok: true } | { ok: false; reason: string } {
    const policy = this.runPolicy;
    const platform = this.o.platform ?? UNKNOWN_PLATFORM;
    const wantsPower = policy === 'on-power' || policy === 'on-power-and-idle';
    const wantsIdle = policy === 'when-idle' || policy === 'on-power-and-idle';
    if (wantsPower) {
      const battery = platform.onBattery();
      if (battery === null) return { ok: false, reason: 'This device does not say whether it is on power, so jobs wait. Choose "always" to let them run.' };
      if (battery) return { ok: false, reason: 'Waiting for the device to be plugged in.' };
    }
    if (wantsIdle) {
      const idle = platform.idleSeconds();
      if (idle === null) return { ok: false, reason: 'This device does not say when it is idle, so jobs wait. Choose "always" to let them run.' };
      if (idle < (this.o.idleAfterSeconds ?? 300)) return { ok: false, reason: 'Waiting until the device is not in use.' };
    }
    return { ok: true };
  }

  list(): JobsViewValue {
    const records = this.records();
    const jobs: JobCardValue[] = [];
    const hidden = [...this.hidden];
    const seen = new Set<string>();
    const ledger = this.ledger;
    for (const [jobId, found] of this.discovered) {
      seen.add(jobId);
      const record = records[jobId];
      if (!found.open && !record) {
        hidden.push({ jobId, reason: found.closedReason ?? 'The job is not open.' });
        continue;
      }
      this.listCard(jobs, hidden, jobId, () => this.card(jobId, found.document, found.specHash, record, ledger, found.token));
    }
    // Joined jobs stay visible (and keep running) while the chain cannot be read.
    for (const [jobId, record] of Object.entries(records)) {
      if (!seen.has(jobId) && record.state === 'joined') this.listCard(jobs, hidden, jobId, () => this.card(jobId, record.document, record.specHash, record, ledger));
    }
    const platform = this.o.platform ?? UNKNOWN_PLATFORM;
    return {
      jobs,
      hidden,
      chain: { rpcUrl: this.o.chain.rpcUrl, reachable: this.chainReachable, problem: this.chainProblem },
      runPolicy: this.runPolicy,
      useGpu: this.useGpu,
      limits: this.limits,
      platformReports: { power: platform.onBattery() !== null, idle: platform.idleSeconds() !== null },
      analytics: { reviewResults: this.trust.reviewResults, trustedModules: this.trust.list() },
    };
  }

  /**
   * Adds one job's card to the list, or, when the card cannot be shown (it would break the IPC
   * contract), lists the job as refused with the reason: one bad job never blanks the others.
   */
  private listCard(jobs: JobCardValue[], hidden: JobsViewValue['hidden'], jobId: string, build: () => JobCardValue): void {
    try {
      jobs.push(checkedCard(build()));
    } catch (err) {
      hidden.push({ jobId, reason: isTroveError(err) ? err.message : 'Trove cannot show this job’s card.' });
    }
  }

  /** The card of one job (JOB_NOT_FOUND when it is neither discovered nor joined). */
  cardOf(jobId: string): JobCardValue {
    const record = this.records()[jobId];
    const found = this.discovered.get(jobId);
    if (found) return checkedCard(this.card(jobId, found.document, found.specHash, record, this.ledger, found.token));
    if (record) return checkedCard(this.card(jobId, record.document, record.specHash, record, this.ledger));
    throw new TroveError('JOB_NOT_FOUND', 'That job is not among the jobs Trove found on-chain.', { jobId });
  }

  private card(jobId: string, doc: AnyJobDocument, specHash: string, record: ParticipationRecord | undefined, ledger: PrivacyLedger | null, onChainToken?: RewardToken): JobCardValue {
    const cost = privacyCostOf(doc);
    const joined = record?.state === 'joined';
    let privacy: JobCardValue['privacy'];
    if (ledger) {
      const budget = ledger.budget;
      // A job charged at opt-in (joined, finished or left since) is already in what is spent:
      // "spent" is then what the other jobs spent, and "after" what is spent now.
      const key = this.ledgerKey(jobId);
      const entries = ledger.entries;
      if (entries.some((e) => e.jobId === key)) {
        const before = composeCosts(entries.filter((e) => e.jobId !== key).map((e) => e.cost), budget).epsilon;
        privacy = { epsilon: cost.epsilon, delta: cost.delta, noiseMultiplier: doc.privacy.noiseMultiplier, budget, spentEpsilon: before, afterEpsilon: ledger.spent().epsilon, fits: true, worstCaseEpsilon: 0, problem: null };
      } else {
        const check = ledger.check(cost);
        privacy = { epsilon: cost.epsilon, delta: cost.delta, noiseMultiplier: doc.privacy.noiseMultiplier, budget, spentEpsilon: check.spent.epsilon, afterEpsilon: check.after.epsilon, fits: check.allowed, worstCaseEpsilon: 0, problem: null };
      }
    } else {
      privacy = { epsilon: cost.epsilon, delta: cost.delta, noiseMultiplier: doc.privacy.noiseMultiplier, budget: { epsilon: 0, delta: 0 }, spentEpsilon: 0, afterEpsilon: cost.epsilon, fits: false, worstCaseEpsilon: 0, problem: null };
    }
    privacy.worstCaseEpsilon = worstCaseCostOf(doc).epsilon;
    privacy.problem = privacy.fits ? null : overBudgetReason(privacy);
    const live = this.live.get(jobId);
    let state: JobCardValue['participation']['state'] = 'available';
    if (record?.state === 'left') state = 'left';
    else if (record?.state === 'finished') state = 'finished';
    else if (joined) {
      const status = live?.status;
      state = status === 'working' ? 'working' : status === 'waiting' ? 'waiting' : status === 'paused' ? 'paused' : status === 'finished' ? 'finished' : 'joined';
      if (!live && this.startProblems.has(jobId)) state = 'failed';
    }
    const problem = live?.problem ?? this.startProblems.get(jobId) ?? null;
    const text = cardText(doc);
    // Money is shown as the token contract describes itself; the document's words only when the
    // chain was never read for this job (a record joined by an older version, chain unreachable).
    const token = onChainToken ?? record?.token ?? { symbol: doc.reward.symbol, decimals: doc.reward.decimals };
    const tokenWarnings =
      onChainToken && (onChainToken.symbol !== doc.reward.symbol || onChainToken.decimals !== doc.reward.decimals)
        ? [`The job’s document calls the reward ${revealText(doc.reward.symbol, { max: 16 }).text} with ${doc.reward.decimals} decimals; the token contract says ${onChainToken.symbol} with ${onChainToken.decimals}. Trove shows what the contract says.`]
        : [];
    return {
      jobId,
      specHash,
      title: text.title,
      purpose: text.purpose,
      researcher: { name: text.researcher, address: doc.researcher.address, attestedName: this.attestedName(doc), history: this.discovered.get(jobId)?.history ?? null },
      warnings: [...this.identityWarnings(doc), ...text.warnings, ...tokenWarnings, ...this.readsEveryColumn(doc), ...this.overLimits(doc)],
      coordinator: { ...doc.coordinator },
      columns: readColumns(doc).map((c) => ({ ...c, note: text.note(c.name) })),
      resources: (() => {
        if (isAnalyticsJob(doc)) return analyticsResources(doc, vectorLengthOf(doc));
        const e = estimateResources(doc, doc.aggregation.maxExamples, this.discovery.flopsPerSecond);
        return { ...e, summary: describeResources(e) };
      })(),
      vectorLength: vectorLengthOf(doc),
      analytics: isAnalyticsJob(doc) ? analyticsCardSection(doc, this.trust) : null,
      rounds: doc.rounds,
      minContributors: doc.minContributors,
      privacy,
      reward: { token: doc.reward.token, symbol: token.symbol, decimals: token.decimals, perRound: doc.reward.perRound, bond: doc.reward.bond },
      deadline: doc.deadline * 1000,
      participation: {
        state,
        mapping: record ? { datasetId: record.mapping.datasetId, columns: { ...record.mapping.columns } } : null,
        roundsContributed: record?.roundsContributed ?? 0,
        round: joined && live?.round ? { ...live.round } : null,
        waiting: joined && live?.waiting ? { ...live.waiting, needed: doc.minContributors } : null,
        problem: problem ? { code: problem.code, message: problem.message } : null,
      },
    };
  }

  /** A job beyond the person's own limits is shown with the reason and cannot be joined. */
  private overLimits(doc: AnyJobDocument): string[] {
    if (isAnalyticsJob(doc)) return [];
    const problem = resourceProblem(estimateResources(doc, doc.aggregation.maxExamples, this.discovery.flopsPerSecond), this.limits);
    return problem ? [`${problem}: Trove will not join it. Raise the limit in Settings to allow it.`] : [];
  }

  private attestedName(doc: AnyJobDocument): string | null {
    const name = this.attestations?.nameOf(doc.researcher.address) ?? null;
    return name === null ? null : revealText(name, { max: 300 }).text;
  }

  /** A warning when the job's display name is a known researcher's name at another address. */
  private identityWarnings(doc: AnyJobDocument): string[] {
    const known = this.attestations?.addressesNamed(doc.researcher.name) ?? [];
    if (known.length === 0 || known.includes(doc.researcher.address.toLowerCase())) return [];
    return [
      `The job calls its researcher "${revealText(doc.researcher.name, { max: 120 }).text}", the name of a known researcher, but it comes from another account (${doc.researcher.address}, not ${known[0]}). It may be someone else using their name.`,
    ];
  }

  /** A warning for each of the person's datasets whose every column the job would read. */
  private readsEveryColumn(doc: AnyJobDocument): string[] {
    if (!this.o.vault.isUnlocked) return [];
    const read = new Set(columnsOf(doc));
    return this.o.vault
      .listDatasets()
      .filter((d) => d.columns.length > 0 && d.columns.every((c) => read.has(c.name)))
      .map((d) => `This job reads every column of your dataset "${revealText(d.name, { max: 120 }).text}". Check that it needs all of them.`);
  }

  private changed(jobId: string): void {
    if (this.closed || !this.o.onChange || !this.o.vault.isUnlocked) return;
    try {
      this.o.onChange(this.cardOf(jobId));
    } catch {
      // a card that cannot be built now is re-read with the next list
    }
  }

  // ------------------------------------------------------------------------------ discovery

  /** Reads the chain again. A chain that cannot be read leaves the last view, with the problem. */
  async refresh(): Promise<JobsViewValue> {
    await this.privacyLedger();
    if (this.o.attestations && !this.attestations) {
      // A list that does not verify attests nothing: cards then show addresses only.
      this.attestations = await verifyAttestations(this.o.attestations.signed, this.o.attestations.publicKey).catch(() => null);
    }
    try {
      const found = await this.discovery.discover();
      this.discovered = new Map(found.jobs.map((j) => [j.event.jobId, j]));
      this.hidden = found.hidden;
      this.chainReachable = true;
      this.chainProblem = null;
    } catch (err) {
      this.chainReachable = false;
      this.chainProblem = isTroveError(err) ? err.message : 'The chain cannot be read.';
    }
    return this.list();
  }

  // ------------------------------------------------------------------------------ consent

  /**
   * Joins a job with the user's column mapping; see the file header for every check on the way.
   * A second join of the same job while one is under way gets the first one's answer: one
   * enrollment, one charge, one consent record.
   */
  optIn(jobId: string, datasetId: string, columns: Record<string, string>): Promise<JobCardValue> {
    let pending = this.joining.get(jobId);
    if (!pending) {
      pending = this.join(jobId, datasetId, columns).finally(() => this.joining.delete(jobId));
      this.joining.set(jobId, pending);
    }
    return pending;
  }

  private async join(jobId: string, datasetId: string, columns: Record<string, string>): Promise<JobCardValue> {
    const found = this.discovered.get(jobId);
    if (!found) throw new TroveError('JOB_NOT_FOUND', 'That job is not among the jobs Trove found on-chain. Refresh the list and try again.', { jobId });
    if (!found.open) throw new TroveError('JOB_NOT_ACTIVE', found.closedReason ?? 'The job is not open.', { jobId });
    const existing = this.records()[jobId];
    if (existing?.state === 'joined') throw new TroveError('INVALID_INPUT', 'You have already joined this job.', { jobId });
    const doc = found.document;
    if (!isAnalyticsJob(doc)) checkResources(estimateResources(doc, doc.aggregation.maxExamples, this.discovery.flopsPerSecond), this.limits);
    // A researcher's program runs only once the person trusts or approved it: refused before anything is sent.
    const program = isAnalyticsJob(doc) && doc.analytics.computation.kind === 'module' ? doc.analytics.computation.sha256 : null;
    if (program) this.trust.require(program);
    const mapping = this.checkMapping(doc, datasetId, columns);

    const ledger = await this.privacyLedger();
    const cost = privacyCostOf(doc);
    const verdict = ledger.check(cost);
    // Joining again after leaving spends nothing new: the job's cost was charged the first time.
    const charged = ledger.entries.some((e) => e.jobId === this.ledgerKey(jobId));
    if (!verdict.allowed && !charged) {
      throw new TroveError(
        'PRIVACY_BUDGET_EXCEEDED',
        `Joining would take your privacy spending to ${verdict.after.epsilon.toFixed(2)}, over your budget of ${verdict.budget.epsilon}. You were not enrolled.`,
        { jobId, spentEpsilon: verdict.spent.epsilon, afterEpsilon: verdict.after.epsilon, budget: verdict.budget },
      );
    }
    // The job may have been settled or closed on-chain since it was discovered.
    await this.discovery.recheck(jobId);
    const identity = await this.identities.get(this.ref(jobId));
    const client = this.client(jobId, doc.coordinator.url);
    // The identity authorizes its own on-chain enrollment (the coordinator relays it): no one else can enroll its commitment.
    const proved = await this.o.supervisor.run(identity.enrollmentProofTask(this.o.enrollmentCircuit));
    if (proved.kind !== 'prove-claim') throw new TroveError('PROOF_FAILED', 'The worker answered with something other than a proof.');
    const chainProof = { nullifier: proved.proof.nullifier, points: proved.proof.points };
    const enrolled = await client.enroll(jobId, identity.signing, identity.enrollment(chainProof));
    try {
      // The program the coordinator serves must be the one the signed document names, before anything runs.
      if (program) await client.module(jobId, identity.signing, program, ANALYTICS_LIMITS.maxModuleBytes);
      await ledger.charge(this.ledgerKey(jobId), cost, new Date(), doc.rounds);
    } catch (err) {
      await client.leave(jobId, identity.signing).catch(() => undefined);
      throw err;
    }
    const record: ParticipationRecord = {
      state: 'joined',
      specHash: found.specHash,
      document: doc,
      mapping,
      roundsContributed: existing?.roundsContributed ?? 0,
      lastRound: existing?.lastRound ?? (enrolled.nextRound > 0 ? enrolled.nextRound - 1 : null),
      joinedAt: Date.now(),
      token: found.token,
    };
    await this.saveRecord(jobId, record);
    const dataset = this.o.vault.dataset(mapping.datasetId);
    const computes = isAnalyticsJob(doc) ? ` It computes: ${revealText(describeAnalytics(doc.analytics), { max: 1200 }).text}` : '';
    await this.o.vault.recordActivity(
      'job.consent',
      `Joined "${revealText(doc.title).text}" by ${revealText(doc.researcher.name).text}: it reads ${Object.entries(mapping.columns)
        .map(([job, mine]) => (job === mine ? `"${mine}"` : `"${mine}" (as "${job}")`))
        .join(', ')} of "${dataset.name}" on this device, for up to ${doc.rounds} rounds until ${new Date(doc.deadline * 1000).toISOString().slice(0, 10)}; each round sends only a masked list of ${vectorLengthOf(doc)} numbers to the job's coordinator, never rows; it uses ${cost.epsilon.toFixed(2)} of the privacy budget.${computes}`,
      {
        job: jobId,
        specHash: found.specHash,
        dataset: mapping.datasetId,
        columns: mapping.columns,
        rounds: doc.rounds,
        vectorLength: vectorLengthOf(doc),
        ...(program ? { program: { sha256: program, trust: this.trust.of(program) } } : {}),
        coordinator: doc.coordinator.url,
        researcher: { address: doc.researcher.address, name: revealText(doc.researcher.name).text, attestedName: this.attestedName(doc) },
        epsilon: cost.epsilon,
        delta: cost.delta,
        reward: { token: doc.reward.token, perRound: doc.reward.perRound },
      },
    );
    if (this.running) this.startOne(jobId, record);
    this.changed(jobId);
    return this.cardOf(jobId);
  }

  /** Every column the job reads mapped to a distinct dataset column of a type the job can use. */
  private checkMapping(doc: AnyJobDocument, datasetId: string, columns: Record<string, string>): ColumnMapping {
    const dataset = this.o.vault.dataset(datasetId);
    const specs = new Map(readColumns(doc).map((c) => [c.name, c] as const));
    const read = [...specs.keys()];
    const extra = Object.keys(columns).filter((c) => !read.includes(c));
    if (extra.length > 0) throw new TroveError('INVALID_INPUT', `The job does not read ${extra.map((c) => `"${c}"`).join(', ')}; map only the columns it reads.`);
    const used = new Set<string>();
    const out: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const column of read) {
      // Column names are the researcher's words: `constructor` is a key like any other here.
      const mine = Object.hasOwn(columns, column) ? columns[column] : undefined;
      if (mine === undefined) throw new TroveError('INVALID_INPUT', `Choose which of your columns stands for "${column}".`, { column });
      const schema = dataset.columns.find((c) => c.name === mine);
      if (!schema) throw new TroveError('COLUMN_NOT_FOUND', `"${dataset.name}" has no column named "${mine}".`, { column: mine });
      if (used.has(mine)) throw new TroveError('INVALID_INPUT', `"${mine}" is mapped to two of the job's columns; map each to its own column.`, { column: mine });
      const kind = specs.get(column)?.kind;
      if ((kind === 'numeric' || kind === 'value') && !NUMERIC_TYPES.includes(schema.type)) {
        throw new TroveError('INVALID_INPUT', `The job reads "${column}" as a number, but "${mine}" holds ${schema.type === 'category' ? 'categories' : 'text'}.`, { column, mapped: mine });
      }
      // An analytics job groups by a column's categories: a number column has none to match.
      if (specs.get(column)?.role === 'read' && kind === 'categorical' && NUMERIC_TYPES.includes(schema.type) && schema.type !== 'boolean') {
        throw new TroveError('INVALID_INPUT', `The job groups by the categories of "${column}", but "${mine}" holds numbers.`, { column, mapped: mine });
      }
      used.add(mine);
      out[column] = mine;
    }
    // A column of the right type can still be something else: judge it from its values.
    const summaries = this.o.vault.summarize(datasetId, Object.values(out));
    for (const [column, mine] of Object.entries(out)) {
      const summary = summaries.find((s) => s.column === mine);
      const problem = summary ? fitProblem(column, specs.get(column)!.expects, summary) : null;
      if (problem) throw new TroveError('INVALID_INPUT', `${problem} Choose another column, or do not join this job.`, { column, mapped: mine });
    }
    return { datasetId, columns: { ...out } };
  }

  /** Leaves a job: nothing more runs for it, and the coordinator is told. */
  async optOut(jobId: string): Promise<JobCardValue> {
    const record = this.records()[jobId];
    if (!record || record.state !== 'joined') throw new TroveError('NOT_ENROLLED', 'You have not joined this job.', { jobId });
    await this.stopOne(jobId);
    const identity = await this.identities.get(this.ref(jobId));
    let told = true;
    try {
      await this.client(jobId, record.document.coordinator.url).leave(jobId, identity.signing);
    } catch (err) {
      // Leaving is the user's decision: it holds on this device whatever the coordinator says.
      told = isTroveError(err, 'NOT_ENROLLED');
    }
    this.clients.delete(jobId);
    await this.connections.close(jobId);
    await this.saveRecord(jobId, { ...record, state: 'left' });
    await this.o.vault.recordActivity(
      'job.leave',
      `Left "${revealText(record.document.title).text}". Nothing more runs for it on this device${told ? '' : '; the coordinator could not be told, and this device will not answer it'}.`,
      { job: jobId, roundsContributed: record.roundsContributed },
    );
    this.changed(jobId);
    return this.cardOf(jobId);
  }

  // ------------------------------------------------------------------------------ participation

  /** Starts background participation in every joined job (after reading the chain once). */
  async startParticipation(): Promise<void> {
    if (this.running || this.closed) return;
    this.running = true;
    await this.refresh();
    for (const [jobId, record] of Object.entries(this.records())) {
      if (record.state === 'joined' && this.running) this.startOne(jobId, record);
    }
  }

  /** The running participation in a job, for progress and tests. */
  participation(jobId: string): JobParticipation | undefined {
    return this.live.get(jobId);
  }

  private startOne(jobId: string, record: ParticipationRecord): void {
    if (this.live.has(jobId)) return;
    this.startProblems.delete(jobId);
    void this.identities.get(this.ref(jobId)).then((identity) => {
      if (!this.running || this.live.has(jobId)) return;
      const p = new JobParticipation({
        ...this.o.participation,
        jobId,
        chainId: this.o.chain.chainId,
        document: record.document,
        identity,
        client: this.client(jobId, record.document.coordinator.url),
        vault: this.o.vault,
        supervisor: this.o.supervisor,
        mapping: record.mapping,
        lastRound: record.lastRound,
        mayRun: () => this.mayRun(),
        useGpu: () => this.useGpu,
        recordRelease: async (round) => (await this.privacyLedger()).release(this.ledgerKey(jobId), round),
        // Read at each round: a program the person stops trusting no longer runs.
        approvedModules: () => this.trust.approved(),
        ...(isAnalyticsJob(record.document) ? { reviewResult: this.reviewFor(record.document) } : {}),
        ...(this.o.chain.roundRewards ? { roster: onChainRosterCheck({ ...this.o.chain, roundRewards: this.o.chain.roundRewards }) } : {}),
        ...(this.o.chain.receiptChallenges ? { receipts: vaultReceiptKeeper(this.o.vault, { chainId: this.o.chain.chainId, receiptChallenges: this.o.chain.receiptChallenges }) } : {}),
      });
      this.live.set(jobId, p);
      p.on('progress', () => this.changed(jobId));
      p.on('problem', () => this.changed(jobId));
      p.on('status', (status) => {
        if (status === 'finished') void this.finish(jobId);
        this.changed(jobId);
      });
      p.on('waiting', () => this.changed(jobId));
      p.on('ended', (round, contributed) => void this.roundEnded(jobId, round, contributed));
      p.start();
    }, (err: unknown) => {
      // Locked meanwhile: the next unlock starts it again. Anything else would leave the job
      // silently never running, so its card says what went wrong.
      if (isTroveError(err, 'VAULT_LOCKED') || !this.running) return;
      this.startProblems.set(jobId, {
        code: isTroveError(err) ? err.code : 'INTERNAL',
        message: `Trove could not prepare this job's private identity, so it cannot take part in its rounds${isTroveError(err) ? `: ${err.message}` : '.'} Lock and unlock the vault to try again; if it keeps happening, leave the job and join it again.`,
      });
      this.changed(jobId);
    });
  }

  /** Keeps the round's outcome in the vault (it may have locked meanwhile: then the next start asks again). */
  private async roundEnded(jobId: string, round: number, contributed: boolean): Promise<void> {
    try {
      await this.updateRecord(jobId, (record) => ({ ...record, lastRound: round, roundsContributed: record.roundsContributed + (contributed ? 1 : 0) }));
      this.changed(jobId);
    } catch (err) {
      // Locked: the coordinator is asked again at the next start. Anything else is shown.
      if (!isTroveError(err, 'VAULT_LOCKED')) this.keepProblem(jobId, err, 'Trove could not save how this round went');
    }
  }

  private async finish(jobId: string): Promise<void> {
    try {
      let finished: ParticipationRecord | null = null;
      await this.updateRecord(jobId, (record) => (record.state === 'joined' ? (finished = { ...record, state: 'finished' }) : null));
      if (!finished) return;
      const done: ParticipationRecord = finished;
      await this.o.vault.recordActivity('job.finished', `"${revealText(done.document.title).text}" has finished; this device took part in ${done.roundsContributed} rounds.`, { job: jobId });
      this.changed(jobId);
    } catch (err) {
      // Locked: the next start sees the job finished again. Anything else is shown.
      if (!isTroveError(err, 'VAULT_LOCKED')) this.keepProblem(jobId, err, 'Trove could not record that this job finished');
    }
  }

  /** A failure outside any round, kept on the job's card so it is not lost. */
  private keepProblem(jobId: string, err: unknown, what: string): void {
    this.startProblems.set(jobId, { code: isTroveError(err) ? err.code : 'INTERNAL', message: `${what}${isTroveError(err) ? `: ${err.message}` : '.'}` });
    this.changed(jobId);
  }

  private async stopOne(jobId: string): Promise<void> {
    const p = this.live.get(jobId);
    this.live.delete(jobId);
    this.reviews.withdraw(jobId);
    await p?.stop();
  }

  // ------------------------------------------------------------------------------ analytics

  /** "Show me each result before it is sent", read when each result is ready: off, it is sent as computed. */
  private reviewFor(doc: Extract<AnyJobDocument, { analytics: unknown }>): NonNullable<ParticipationOptions['reviewResult']> {
    return (review, cancelled) => (this.trust.reviewResults ? this.reviews.ask(doc, review, cancelled) : Promise.resolve(true));
  }

  /** Results waiting for the person to send or decline. */
  pendingReviews(): ResultReviewValue[] {
    return this.reviews.list();
  }

  /** The person sends (true) or declines (false) one waiting result; declining is logged by the round. */
  answerReview(id: string, send: boolean): ResultReviewValue[] {
    return this.reviews.answer(id, send);
  }

  async setReviewResults(on: boolean): Promise<JobsViewValue> {
    await this.trust.setReviewResults(on);
    return this.list();
  }

  async setModuleTrust(sha256: string, trusted: boolean): Promise<JobsViewValue> {
    await this.trust.set(sha256, trusted);
    for (const id of this.discovered.keys()) this.changed(id);
    return this.list();
  }

  /**
   * Approves the program of an analytics job by its hash, which must be the one its signed
   * document names: recorded in the vault's settings and in Activity.
   */
  async approveModule(jobId: string, sha256: string): Promise<JobCardValue> {
    const doc = this.discovered.get(jobId)?.document ?? this.records()[jobId]?.document;
    if (!doc) throw new TroveError('JOB_NOT_FOUND', 'That job is not among the jobs Trove found on-chain.', { jobId });
    const c = isAnalyticsJob(doc) ? doc.analytics.computation : null;
    if (c?.kind !== 'module' || c.sha256 !== sha256) {
      throw new TroveError('INVALID_INPUT', 'That is not the program this job runs, so nothing was approved.', { jobId, sha256 });
    }
    if (this.trust.of(sha256) === 'unknown') {
      await this.trust.set(sha256, true, `You approved the program of "${revealText(doc.title).text}" (sha256 ${sha256}): it may run on this computer.`);
      await this.o.vault.recordActivity('job.program-approved', `You approved the researcher's program of "${revealText(doc.title).text}" after reading what it does; Trove knows it by its fingerprint (sha256 ${sha256}).`, { job: jobId, sha256 });
    }
    this.changed(jobId);
    return this.cardOf(jobId);
  }

  /** Stops every participation (the vault is locking, or the app is closing) and wipes identities. */
  async stop(): Promise<void> {
    this.running = false;
    this.reviews.withdraw();
    await Promise.all([...this.live.keys()].map((id) => this.stopOne(id)));
    this.identities.wipe();
  }

  async close(): Promise<void> {
    await this.stop();
    this.closed = true;
    this.identities.close();
    this.discovery.close();
    this.clients.clear();
    await this.connections.closeAll();
  }
}

/** Why a job's privacy cost does not fit the person's budget, and what to do. */
function overBudgetReason(p: JobCardValue['privacy']): string {
  if (!(p.budget.epsilon > 0)) return 'Your privacy budget cannot be read while the vault is locked. Unlock it to see whether this job fits.';
  return `Joining would take your privacy spending from ${p.spentEpsilon.toFixed(2)} to ${p.afterEpsilon.toFixed(2)}, over your budget of ${p.budget.epsilon}, so Trove will not join it. Choose a job with a lower privacy cost.`;
}

/** Each column the job reads, its role, the kind of values it needs and what it should hold. */
function readColumns(doc: AnyJobDocument): Omit<JobCardValue['columns'][number], 'note'>[] {
  if (isAnalyticsJob(doc)) return analyticsReadColumns(doc.analytics).map((c) => ({ ...c, role: 'read' as const }));
  const f = doc.training.features.map((c) => ({ name: c.column, role: 'feature' as const, kind: c.kind, expects: expectationOf(c) }));
  const label = doc.training.label;
  return [...f, { name: label.column, role: 'label' as const, kind: label.kind, expects: expectationOf(label) }];
}

/** The researcher's words as the card shows them, and what the person should notice about them. */
function cardText(doc: AnyJobDocument): { title: string; purpose: string; researcher: string; note: (column: string) => string; warnings: string[] } {
  const title = revealText(doc.title, { max: 200 });
  const purpose = revealText(doc.purpose, { multiline: true, max: 4000 });
  const researcher = revealText(doc.researcher.name, { max: 300 });
  const notes = new Map<string, RevealedText>();
  for (const column of columnsOf(doc)) notes.set(column, revealText(columnNote(doc, column), { max: 600 }));
  const warnings: string[] = [];
  if ([title, purpose, researcher, ...notes.values()].some((t) => t.revealed)) {
    warnings.push('The researcher’s text holds invisible or direction-changing characters, which can make it read differently from what it says. Trove shows each one as [U+…].');
  }
  const lookAlike = (what: string, text: string) => {
    const scripts = mixedScripts(text);
    if (scripts.length > 0) warnings.push(`${what} mixes letters of different alphabets (${scripts.join(', ')}), which can imitate another name.`);
  };
  lookAlike('The researcher’s name', doc.researcher.name);
  lookAlike('The job’s title', doc.title);
  for (const column of columnsOf(doc)) lookAlike(`The column name "${column}"`, column);
  return { title: title.text, purpose: purpose.text, researcher: researcher.text, note: (column) => notes.get(column)?.text ?? '', warnings: warnings.slice(0, 10) };
}

/** What the researcher says a column is for; nothing for a column without a note of its own. */
function columnNote(doc: AnyJobDocument, column: string): string {
  const note: unknown = Object.hasOwn(doc.columnNotes, column) ? doc.columnNotes[column] : undefined;
  return typeof note === 'string' ? note : '';
}

/** The card as the IPC contract will check it; JOB_SPEC_MISMATCH naming the first fact that fails. */
function checkedCard(card: JobCardValue): JobCardValue {
  const parsed = jobCardSchema.safeParse(card);
  if (parsed.success) return card;
  const where = parsed.error.issues[0]?.path.map(String).join('.') ?? '';
  throw new TroveError('JOB_SPEC_MISMATCH', `Trove cannot show this job: its ${where || 'card'} is not something the app can display. It was refused.`, { jobId: card.jobId, path: where });
}

function describePolicy(policy: RunPolicyValue): string {
  switch (policy) {
    case 'always':
      return 'whenever Trove is open';
    case 'on-power':
      return 'only on power';
    case 'when-idle':
      return 'only when the device is idle';
    case 'on-power-and-idle':
      return 'only on power and when the device is idle';
  }
}
