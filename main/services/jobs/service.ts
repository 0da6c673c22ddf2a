// The jobs a contributor can see and the ones they joined: discovery from the chain, consent
// cards, opt-in (column mapping, privacy budget, enrollment) and opt-out, the run policy, and the
// background participation in every joined job. Participation is kept sealed in the vault's
// settings, so it picks up again after a restart.
import type { ColumnSchema } from '../../../common/dataset.js';
import { CoordinatorClient } from '../../../common/jobs/client.js';
import { columnsRead, jobDocumentPrivacyCost, roundVectorLength, type JobDocument } from '../../../common/jobs/document.js';
import { TroveError, isTroveError } from '../../../common/errors.js';
import type { JobCardValue, JobsViewValue, RunPolicyValue } from '../../../common/ipc/contract.js';
import { composeCosts, type PrivacyLedger } from '../../../common/dp/ledger.js';
import { openPrivacyLedger } from '../privacy/ledger.js';
import type { Vault } from '../vault/index.js';
import type { WorkerSupervisor } from '../worker/supervisor.js';
import { JobParticipation, type ColumnMapping, type ParticipationOptions } from '../rounds/participation.js';
import { onChainRosterCheck } from '../rounds/roster.js';
import { JobDiscovery, type DiscoveredJob, type DiscoveryOptions, type JobsChainConfig } from './discovery.js';
import { JobIdentities, type JobRef } from './identity.js';

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
  platform?: PlatformState;
  /** Used for job documents and coordinators. */
  fetch?: typeof fetch;
  discovery?: Omit<DiscoveryOptions, 'fetch'>;
  /** A job card changed (discovered, joined, a round step, a problem). */
  onChange?: (card: JobCardValue) => void;
  /** Tuning of background participation (tests shorten waits and backoff). */
  participation?: Partial<Pick<ParticipationOptions, 'backoffMs' | 'policyRecheckMs' | 'maxPollMs' | 'inboxWaitMs' | 'now' | 'training'>>;
  coordinatorTimeoutMs?: number;
  /** Idle this long counts as idle for the 'when-idle' policies. */
  idleAfterSeconds?: number;
}

type RecordState = 'joined' | 'left' | 'finished';

interface ParticipationRecord {
  state: RecordState;
  specHash: string;
  document: JobDocument;
  mapping: ColumnMapping;
  roundsContributed: number;
  lastRound: number | null;
  joinedAt: number;
}

type Records = Record<string, ParticipationRecord>;

const POLICY_SETTING = 'jobs.runPolicy';
const NUMERIC_TYPES: readonly ColumnSchema['type'][] = ['number', 'integer', 'boolean', 'date'];

export class JobsService {
  private readonly o: JobsServiceOptions;
  private readonly discovery: JobDiscovery;
  private readonly identities: JobIdentities;
  private ledger: PrivacyLedger | null = null;
  private discovered = new Map<string, DiscoveredJob>();
  private hidden: JobsViewValue['hidden'] = [];
  private chainProblem: string | null = null;
  private chainReachable = false;
  private readonly live = new Map<string, JobParticipation>();
  private readonly clients = new Map<string, CoordinatorClient>();
  private running = false;
  private closed = false;

  constructor(options: JobsServiceOptions) {
    this.o = options;
    this.discovery = new JobDiscovery(options.chain, { ...options.discovery, ...(options.fetch ? { fetch: options.fetch } : {}) });
    this.identities = new JobIdentities(options.vault);
  }

  private get settingName(): string {
    return `jobs.participation.${this.o.chain.chainId}.${this.o.chain.registry.toLowerCase()}`;
  }

  private records(): Records {
    return this.o.vault.getSetting<Records>(this.settingName) ?? {};
  }

  private async saveRecord(jobId: string, record: ParticipationRecord): Promise<void> {
    await this.o.vault.setSetting(this.settingName, { ...this.records(), [jobId]: record });
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

  private client(url: string): CoordinatorClient {
    let c = this.clients.get(url);
    if (!c) {
      c = new CoordinatorClient({ baseUrl: url, ...(this.o.fetch ? { fetch: this.o.fetch } : {}), ...(this.o.coordinatorTimeoutMs ? { timeoutMs: this.o.coordinatorTimeoutMs } : {}) });
      this.clients.set(url, c);
    }
    return c;
  }

  // ------------------------------------------------------------------------------ view

  get runPolicy(): RunPolicyValue {
    return this.o.vault.getSetting<RunPolicyValue>(POLICY_SETTING) ?? 'always';
  }

  async setRunPolicy(policy: RunPolicyValue): Promise<JobsViewValue> {
    await this.o.vault.setSetting(POLICY_SETTING, policy, `Jobs run ${describePolicy(policy)}.`);
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
      jobs.push(this.card(jobId, found.document, found.specHash, record, ledger));
    }
    // Joined jobs stay visible (and keep running) while the chain cannot be read.
    for (const [jobId, record] of Object.entries(records)) {
      if (!seen.has(jobId) && record.state === 'joined') jobs.push(this.card(jobId, record.document, record.specHash, record, ledger));
    }
    const platform = this.o.platform ?? UNKNOWN_PLATFORM;
    return {
      jobs,
      hidden,
      chain: { rpcUrl: this.o.chain.rpcUrl, reachable: this.chainReachable, problem: this.chainProblem },
      runPolicy: this.runPolicy,
      platformReports: { power: platform.onBattery() !== null, idle: platform.idleSeconds() !== null },
    };
  }

  /** The card of one job (JOB_NOT_FOUND when it is neither discovered nor joined). */
  cardOf(jobId: string): JobCardValue {
    const record = this.records()[jobId];
    const found = this.discovered.get(jobId);
    if (found) return this.card(jobId, found.document, found.specHash, record, this.ledger);
    if (record) return this.card(jobId, record.document, record.specHash, record, this.ledger);
    throw new TroveError('JOB_NOT_FOUND', 'That job is not among the jobs Trove found on-chain.', { jobId });
  }

  private card(jobId: string, doc: JobDocument, specHash: string, record: ParticipationRecord | undefined, ledger: PrivacyLedger | null): JobCardValue {
    const cost = jobDocumentPrivacyCost(doc);
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
        privacy = { epsilon: cost.epsilon, delta: cost.delta, noiseMultiplier: doc.privacy.noiseMultiplier, budget, spentEpsilon: before, afterEpsilon: ledger.spent().epsilon, fits: true };
      } else {
        const check = ledger.check(cost);
        privacy = { epsilon: cost.epsilon, delta: cost.delta, noiseMultiplier: doc.privacy.noiseMultiplier, budget, spentEpsilon: check.spent.epsilon, afterEpsilon: check.after.epsilon, fits: check.allowed };
      }
    } else {
      privacy = { epsilon: cost.epsilon, delta: cost.delta, noiseMultiplier: doc.privacy.noiseMultiplier, budget: { epsilon: 0, delta: 0 }, spentEpsilon: 0, afterEpsilon: cost.epsilon, fits: false };
    }
    const live = this.live.get(jobId);
    let state: JobCardValue['participation']['state'] = 'available';
    if (record?.state === 'left') state = 'left';
    else if (record?.state === 'finished') state = 'finished';
    else if (joined) {
      const status = live?.status;
      state = status === 'working' ? 'working' : status === 'waiting' ? 'waiting' : status === 'paused' ? 'paused' : status === 'finished' ? 'finished' : 'joined';
    }
    const problem = live?.problem ?? null;
    const features = doc.training.features.map((f) => ({ name: f.column, note: doc.columnNotes[f.column] ?? '', role: 'feature' as const, kind: f.kind }));
    const label = doc.training.label;
    return {
      jobId,
      specHash,
      title: doc.title,
      purpose: doc.purpose,
      researcher: { ...doc.researcher },
      coordinator: { ...doc.coordinator },
      columns: [...features, { name: label.column, note: doc.columnNotes[label.column] ?? '', role: 'label', kind: label.kind }],
      vectorLength: roundVectorLength(doc),
      rounds: doc.rounds,
      minContributors: doc.minContributors,
      privacy,
      reward: { token: doc.reward.token, symbol: doc.reward.symbol, decimals: doc.reward.decimals, perRound: doc.reward.perRound, bond: doc.reward.bond },
      deadline: doc.deadline * 1000,
      participation: {
        state,
        mapping: record ? { datasetId: record.mapping.datasetId, columns: { ...record.mapping.columns } } : null,
        roundsContributed: record?.roundsContributed ?? 0,
        round: joined && live?.round ? { ...live.round } : null,
        problem: problem ? { code: problem.code, message: problem.message } : null,
      },
    };
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

  /** Joins a job with the user's column mapping; see the file header for every check on the way. */
  async optIn(jobId: string, datasetId: string, columns: Record<string, string>): Promise<JobCardValue> {
    const found = this.discovered.get(jobId);
    if (!found) throw new TroveError('JOB_NOT_FOUND', 'That job is not among the jobs Trove found on-chain. Refresh the list and try again.', { jobId });
    if (!found.open) throw new TroveError('JOB_NOT_ACTIVE', found.closedReason ?? 'The job is not open.', { jobId });
    const existing = this.records()[jobId];
    if (existing?.state === 'joined') throw new TroveError('INVALID_INPUT', 'You have already joined this job.', { jobId });
    const doc = found.document;
    const mapping = this.checkMapping(doc, datasetId, columns);

    const ledger = await this.privacyLedger();
    const cost = jobDocumentPrivacyCost(doc);
    const verdict = ledger.check(cost);
    // Joining again after leaving spends nothing new: the job's cost was charged the first time.
    const charged = ledger.entries.some((e) => e.jobId === this.ledgerKey(jobId));
    if (!verdict.allowed && !charged) {
      throw new TroveError(
        'PRIVACY_BUDGET_EXCEEDED',
        `Joining would take your privacy spending to epsilon ${verdict.after.epsilon.toFixed(2)}, over your budget of ${verdict.budget.epsilon}. You were not enrolled.`,
        { jobId, spentEpsilon: verdict.spent.epsilon, afterEpsilon: verdict.after.epsilon, budget: verdict.budget },
      );
    }
    const identity = await this.identities.get(this.ref(jobId));
    const client = this.client(doc.coordinator.url);
    const enrolled = await client.enroll(jobId, identity.signing, identity.enrollment());
    try {
      await ledger.charge(this.ledgerKey(jobId), cost);
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
    };
    await this.saveRecord(jobId, record);
    const dataset = this.o.vault.dataset(mapping.datasetId);
    await this.o.vault.recordActivity(
      'job.consent',
      `Joined "${doc.title}" by ${doc.researcher.name}: it reads ${Object.entries(mapping.columns)
        .map(([job, mine]) => (job === mine ? `"${mine}"` : `"${mine}" (as "${job}")`))
        .join(', ')} of "${dataset.name}" on this device, for up to ${doc.rounds} rounds until ${new Date(doc.deadline * 1000).toISOString().slice(0, 10)}; each round sends a masked vector of ${roundVectorLength(doc)} numbers to ${new URL(doc.coordinator.url).origin}, never rows; privacy cost epsilon ${cost.epsilon.toFixed(3)}, delta ${cost.delta}.`,
      {
        job: jobId,
        specHash: found.specHash,
        dataset: mapping.datasetId,
        columns: mapping.columns,
        rounds: doc.rounds,
        vectorLength: roundVectorLength(doc),
        coordinator: doc.coordinator.url,
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
  private checkMapping(doc: JobDocument, datasetId: string, columns: Record<string, string>): ColumnMapping {
    const dataset = this.o.vault.dataset(datasetId);
    const read = columnsRead(doc.training);
    const extra = Object.keys(columns).filter((c) => !read.includes(c));
    if (extra.length > 0) throw new TroveError('INVALID_INPUT', `The job does not read ${extra.map((c) => `"${c}"`).join(', ')}; map only the columns it reads.`);
    const kinds = new Map<string, string>([...doc.training.features.map((f) => [f.column, f.kind] as const), [doc.training.label.column, doc.training.label.kind]]);
    const used = new Set<string>();
    const out: Record<string, string> = {};
    for (const column of read) {
      const mine = columns[column];
      if (mine === undefined) throw new TroveError('INVALID_INPUT', `Choose which of your columns stands for "${column}".`, { column });
      const schema = dataset.columns.find((c) => c.name === mine);
      if (!schema) throw new TroveError('COLUMN_NOT_FOUND', `"${dataset.name}" has no column named "${mine}".`, { column: mine });
      if (used.has(mine)) throw new TroveError('INVALID_INPUT', `"${mine}" is mapped to two of the job's columns; map each to its own column.`, { column: mine });
      const kind = kinds.get(column);
      if ((kind === 'numeric' || kind === 'value') && !NUMERIC_TYPES.includes(schema.type)) {
        throw new TroveError('INVALID_INPUT', `The job reads "${column}" as a number, but "${mine}" holds ${schema.type === 'category' ? 'categories' : 'text'}.`, { column, mapped: mine });
      }
      used.add(mine);
      out[column] = mine;
    }
    return { datasetId, columns: out };
  }

  /** Leaves a job: nothing more runs for it, and the coordinator is told. */
  async optOut(jobId: string): Promise<JobCardValue> {
    const record = this.records()[jobId];
    if (!record || record.state !== 'joined') throw new TroveError('NOT_ENROLLED', 'You have not joined this job.', { jobId });
    await this.stopOne(jobId);
    const identity = await this.identities.get(this.ref(jobId));
    let told = true;
    try {
      await this.client(record.document.coordinator.url).leave(jobId, identity.signing);
    } catch (err) {
      // Leaving is the user's decision: it holds on this device whatever the coordinator says.
      told = isTroveError(err, 'NOT_ENROLLED');
    }
    await this.saveRecord(jobId, { ...record, state: 'left' });
    await this.o.vault.recordActivity(
      'job.leave',
      `Left "${record.document.title}". Nothing more runs for it on this device${told ? '' : '; the coordinator could not be told, and this device will not answer it'}.`,
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
    void this.identities.get(this.ref(jobId)).then((identity) => {
      if (!this.running || this.live.has(jobId)) return;
      const p = new JobParticipation({
        ...this.o.participation,
        jobId,
        chainId: this.o.chain.chainId,
        document: record.document,
        identity,
        client: this.client(record.document.coordinator.url),
        vault: this.o.vault,
        supervisor: this.o.supervisor,
        mapping: record.mapping,
        lastRound: record.lastRound,
        mayRun: () => this.mayRun(),
        ...(this.o.chain.roundRewards ? { roster: onChainRosterCheck({ ...this.o.chain, roundRewards: this.o.chain.roundRewards }) } : {}),
      });
      this.live.set(jobId, p);
      p.on('progress', () => this.changed(jobId));
      p.on('problem', () => this.changed(jobId));
      p.on('status', (status) => {
        if (status === 'finished') void this.finish(jobId);
        this.changed(jobId);
      });
      p.on('ended', (round, contributed) => void this.roundEnded(jobId, round, contributed));
      p.start();
    }, () => undefined);
  }

  /** Keeps the round's outcome in the vault (it may have locked meanwhile: then the next start asks again). */
  private async roundEnded(jobId: string, round: number, contributed: boolean): Promise<void> {
    try {
      const record = this.records()[jobId];
      if (!record) return;
      await this.saveRecord(jobId, { ...record, lastRound: round, roundsContributed: record.roundsContributed + (contributed ? 1 : 0) });
      this.changed(jobId);
    } catch {
      // locked or closing: nothing to keep now
    }
  }

  private async finish(jobId: string): Promise<void> {
    try {
      const record = this.records()[jobId];
      if (!record || record.state !== 'joined') return;
      await this.saveRecord(jobId, { ...record, state: 'finished' });
      await this.o.vault.recordActivity('job.finished', `"${record.document.title}" has finished; this device took part in ${record.roundsContributed} rounds.`, { job: jobId });
      this.changed(jobId);
    } catch {
      // locked or closing: the next start sees the job finished again
    }
  }

  private async stopOne(jobId: string): Promise<void> {
    const p = this.live.get(jobId);
    this.live.delete(jobId);
    await p?.stop();
  }

  /** Stops every participation (the vault is locking, or the app is closing) and wipes identities. */
  async stop(): Promise<void> {
    this.running = false;
    await Promise.all([...this.live.keys()].map((id) => this.stopOne(id)));
    this.identities.wipe();
  }

  async close(): Promise<void> {
    await this.stop();
    this.closed = true;
    this.identities.close();
    this.discovery.close();
  }
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
