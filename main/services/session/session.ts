// The app's session: the one vault on this device, whether it is open and unlocked, the files the
// user has handed over, imports in progress, and where backups go. Plain Node, no electron: the
// desktop app and the headless host both run it, and tell it how to reach the OS (keychain,
// notifications, save dialogs) through the small interfaces below.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { matchesActivityFilter, type ActivityEntry, type ActivityFilter, type ActivityVerification } from '../../../common/activity.js';
import type { CellValue, ColumnSummary, DatasetInfo, ImportPreview, ImportReport, RejectedRow } from '../../../common/dataset.js';
import { TroveError } from '../../../common/errors.js';
import type { AppStatusValue, EventName, EventOf, JobCardValue, JobsViewValue, RequestOf, ResultReviewValue, RunPolicyValue } from '../../../common/ipc/contract.js';
import { Vault, backupVault, restoreVault, type RowsPage, type VaultOptions } from '../vault/index.js';
import { FileStaging } from '../files/staging.js';
import type { JobsChainConfig } from '../jobs/discovery.js';
import { JobsService, UNKNOWN_PLATFORM, type JobsServiceOptions, type PlatformState } from '../jobs/service.js';
import { enrollmentCircuitFiles } from '../jobs/circuits.js';
import { NodeWorkerLauncher, type WorkerLauncher } from '../worker/launcher.js';
import { WorkerSupervisor } from '../worker/supervisor.js';
import { JobNotifier } from './job-notifications.js';
import { WalletHost, type WalletConfig } from '../wallet/host.js';
import { DEFAULT_PERSONAL_LIMITS, type PersonalLimits } from '../../../common/jobs/resources.js';
import type { EarningsViewValue } from '../../../common/ipc/contract.js';
import { JobIdentities } from '../jobs/identity.js';
import { earningsView } from '../rewards/earnings.js';
import { RelayerClient } from '../rewards/relayer-client.js';
import { RewardsService, type RewardsServiceOptions } from '../rewards/service.js';

/** Where jobs come from and how they run; without it the app shows no jobs. */
export interface JobsConfig {
  chain: JobsChainConfig;
  /** The depth-1 Semaphore circuit files enrollments are authorized with (default: assets/circuits). */
  enrollmentCircuit?: { wasm: string; zkey: string };
  /** Starts worker processes for training (default: plain Node children). */
  launcher?: WorkerLauncher;
  /** Power and idle state for the run policy (default: unknown, so only 'always' runs). */
  platform?: PlatformState;
  fetch?: typeof fetch;
  /** Developer setting: jobs may use loopback and local-network addresses (demo and tests). */
  allowLocalNetwork?: boolean;
  /** A signed list of known researchers and the key it must be signed with. */
  attestations?: JobsServiceOptions['attestations'];
  participation?: JobsServiceOptions['participation'];
  discovery?: JobsServiceOptions['discovery'];
  /** How often to look for new jobs in the background, when notifications are on. */
  discoverEveryMs?: number;
  /** Anonymous claims: the relayer they go through and the circuit files; without it, no claims. */
  rewards?: RewardsConfig;
}

export interface RewardsConfig {
  relayerUrl: string;
  artifacts: { wasm: string; zkey: string };
  sendDelayMs?: RewardsServiceOptions['sendDelayMs'];
  /** How long a claim that failed waits before the next try (default 5 s, doubling up to 15 min). */
  backoff?: RewardsServiceOptions['backoff'];
  /** How often queued claims are looked at in the background (default 5 s). */
  checkEveryMs?: number;
}

/** The OS keychain, for "remember on this device" (Electron safeStorage in the desktop app). */
export interface DeviceKeychain {
  available(): boolean;
  read(): string | null;
  write(secret: string): void;
  clear(): void;
}

export interface AppSessionOptions {
  /** The app's folder on this device: the vault file, backups and staged uploads live here. */
  dataDir: string;
  /** Vault settings; tests pass a cheap key derivation here. */
  vault?: VaultOptions;
  keychain?: DeviceKeychain;
  /** Tells the user that long work finished, or job news (an OS notification in the desktop app). */
  notify?: (title: string, body: string) => void;
  /** Asks where to write a backup; null means the user cancelled. Default: the backups folder. */
  chooseBackupTarget?: (suggestedName: string) => Promise<string | null>;
  /** Whether files may be staged by path (the desktop app) or only uploaded (a browser host). */
  stagePaths?: boolean;
  jobs?: JobsConfig;
  /** The chain and WalletConnect relay a wallet links on; without it the Wallet screen says so. */
  wallet?: WalletConfig;
}

export interface BackupFile {
  fileName: string;
  bytes: number;
  at: number;
}

type Listener = <E extends EventName>(event: E, payload: EventOf<E>) => void;

const VAULT_FILE = 'trove.vault';
const BACKUP_EXTENSION = '.trovebackup';
const LONG_WORK_MS = 3000;
const PROGRESS_INTERVAL_MS = 100;
const DISCOVER_EVERY_MS = 15 * 60_000;

function stamp(at = new Date()): string {
  return at.toISOString().replace(/[:]/g, '').replace('T', '-').slice(0, 17);
}

/** Rejected rows kept for the person to read (about 100 MB at most): a file worse than that needs fixing at its source. */
const MAX_KEPT_REJECTIONS = 1_000_000;

export class AppSession {
  readonly vaultFile: string;
  readonly backupsFolder: string;
  readonly files: FileStaging;
  private vault: Vault | null = null;
  private stopListening: (() => void) | null = null;
  private readonly listeners = new Set<Listener>();
  private readonly imports = new Map<string, AbortController>();
  /** Every row the latest import did not keep, with why, for the person to read and save; gone on lock. */
  private rejected: { importId: string; rows: RejectedRow[] } | null = null;
  private jobsService: JobsService | null = null;
  private jobNotifier: JobNotifier | null = null;
  private discoveryTimer: NodeJS.Timeout | null = null;
  private jobsStarting: Promise<JobsService> | null = null;
  private supervisor: WorkerSupervisor | null = null;
  /** The linked wallet, started with the unlocked vault. */
  readonly wallet: WalletHost;
  private rewardsService: { service: RewardsService; identities: JobIdentities; timer: NodeJS.Timeout } | null = null;
  /** Rounds already announced as ready to claim, so each is announced once. */
  private readonly announced = new Set<string>();

  private constructor(private readonly opts: AppSessionOptions) {
    this.vaultFile = join(opts.dataDir, VAULT_FILE);
    this.backupsFolder = join(opts.dataDir, 'backups');
    const staging = join(opts.dataDir, 'staging');
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true, mode: 0o700 });
    this.files = new FileStaging(staging, opts.stagePaths ?? false);
    this.wallet = new WalletHost(
      opts.wallet,
      (status) => this.emit('wallet.changed', { status }),
      () => this.jobsService?.list().jobs.map((j) => j.reward.token) ?? [],
    );
  }

  static async start(opts: AppSessionOptions): Promise<AppSession> {
    mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
    const session = new AppSession(opts);
    if (existsSync(session.vaultFile)) {
      session.attach(await Vault.open(session.vaultFile, opts.vault));
      const remembered = session.keychain()?.read() ?? null;
      if (remembered !== null) {
        try {
          await session.vault!.unlock(remembered);
          session.startJobs();
        } catch {
          session.keychain()?.clear();
        }
      }
    }
    return session;
  }

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit<E extends EventName>(event: E, payload: EventOf<E>): void {
    for (const l of this.listeners) l(event, payload);
  }

  private keychain(): DeviceKeychain | null {
    const k = this.opts.keychain;
    return k && k.available() ? k : null;
  }

  private attach(vault: Vault): void {
    this.stopListening?.();
    this.vault = vault;
    this.stopListening = vault.onLock((reason) => {
      this.rejected = null;
      void this.stopJobs();
      this.emit('vault.state', { status: this.status(), reason });
    });
  }

  /** Lets go of the vault: nothing new reaches it at once, and it closes once the jobs have stopped writing to it. */
  private async detach(): Promise<void> {
    const vault = this.vault;
    this.stopListening?.();
    this.stopListening = null;
    this.vault = null;
    try {
      await this.stopJobs();
    } finally {
      vault?.close();
    }
  }

  private requireVault(): Vault {
    if (!this.vault) throw new TroveError('VAULT_NOT_FOUND', 'There is no vault on this device yet. Create one, or restore one from a backup.');
    return this.vault;
  }

  status(): AppStatusValue {
    const v = this.vault;
    const rollback = v?.fileRollback;
    return {
      vault: v === null ? 'none' : v.isUnlocked ? 'unlocked' : 'locked',
      ...(v?.isUnlocked ? { autoLockMs: v.autoLock } : {}),
      storage: { vaultFile: this.vaultFile, backupsFolder: this.backupsFolder },
      canRemember: this.keychain() !== null,
      remembered: this.keychain()?.read() != null,
      ...(rollback ? { olderCopy: { foundChange: rollback.foundGeneration, seenChange: rollback.seenGeneration } } : {}),
    };
  }

  // ------------------------------------------------------------------------------ vault

  async create(passphrase: string): Promise<AppStatusValue> {
    if (this.vault || existsSync(this.vaultFile)) {
      throw new TroveError('VAULT_EXISTS', 'This device already has a vault. Unlock it, or restore a backup over it from Settings.');
    }
    this.attach(await Vault.create(this.vaultFile, passphrase, this.opts.vault));
    this.startJobs();
    const status = this.status();
    this.emit('vault.state', { status, reason: 'created' });
    return status;
  }

  async unlock(passphrase: string, remember = false): Promise<AppStatusValue> {
    const vault = this.requireVault();
    await vault.unlock(passphrase);
    this.startJobs();
    if (remember) this.keychain()?.write(passphrase);
    const status = this.status();
    this.emit('vault.state', { status, reason: 'unlocked' });
    return status;
  }

  lock(): AppStatusValue {
    // The vault tells our listener, which sends the state event.
    this.vault?.lock('manual');
    return this.status();
  }

  forgetDevice(): AppStatusValue {
    this.opts.keychain?.clear();
    return this.status();
  }

  async changePassphrase(current: string, next: string): Promise<void> {
    const vault = this.requireVault();
    await vault.changePassphrase(current, next);
    if (this.keychain()?.read() != null) this.keychain()!.write(next);
  }

  async setAutoLock(ms: number | null): Promise<AppStatusValue> {
    await this.requireVault().setAutoLock(ms);
    return this.status();
  }

  checkIntegrity() {
    return this.requireVault().checkIntegrity();
  }

  // ------------------------------------------------------------------------------ backup and restore

  async backup(): Promise<BackupFile | null> {
    const vault = this.requireVault();
    if (!vault.isUnlocked) throw new TroveError('VAULT_LOCKED', 'The vault is locked. Unlock it with your passphrase to continue.');
    const base = `trove-backup-${stamp()}`;
    let name = `${base}${BACKUP_EXTENSION}`;
    let target: string | null;
    if (this.opts.chooseBackupTarget) {
      target = await this.opts.chooseBackupTarget(name);
      if (target === null) return null;
    } else {
      mkdirSync(this.backupsFolder, { recursive: true, mode: 0o700 });
      // Two backups in the same second get distinct names rather than an error.
      for (let n = 2; existsSync(join(this.backupsFolder, name)); n++) name = `${base}-${n}${BACKUP_EXTENSION}`;
      target = join(this.backupsFolder, name);
    }
    const started = Date.now();
    const { bytes } = await backupVault(vault, target);
    if (Date.now() - started > LONG_WORK_MS) this.opts.notify?.('Backup finished', 'Your encrypted backup is ready.');
    return { fileName: target.split(/[\\/]/).pop() ?? name, bytes, at: Date.now() };
  }

  listBackups(): BackupFile[] {
    if (!existsSync(this.backupsFolder)) return [];
    return readdirSync(this.backupsFolder)
      .filter((f) => f.endsWith(BACKUP_EXTENSION))
      .map((f) => {
        const st = statSync(join(this.backupsFolder, f));
        return { fileName: f, bytes: st.size, at: st.mtimeMs };
      })
      .sort((a, b) => b.at - a.at);
  }

  /**
   * Restores a backup as this device's vault. The restore is written and checked beside the
   * current vault first; only then is the current vault set aside (kept, renamed with the date)
   * and the restored one put in its place.
   */
  async restore(token: string, passphrase: string): Promise<AppStatusValue> {
    const file = this.files.pathOf(token);
    const partial = join(this.opts.dataDir, `.restoring-${randomBytes(8).toString('hex')}.vault`);
    const restored = await restoreVault(file, partial, passphrase, this.opts.vault);
    restored.close();
    try {
      if (this.vault) await this.detach();
      if (existsSync(this.vaultFile)) {
        const aside = join(this.opts.dataDir, `trove-replaced-${stamp()}.vault`);
        for (const suffix of ['', '-wal', '-shm']) if (existsSync(this.vaultFile + suffix)) renameSync(this.vaultFile + suffix, aside + suffix);
      }
      for (const suffix of ['', '-wal', '-shm']) if (existsSync(partial + suffix)) renameSync(partial + suffix, this.vaultFile + suffix);
    } finally {
      for (const suffix of ['', '-wal', '-shm']) rmSync(partial + suffix, { force: true });
    }
    this.attach(await Vault.open(this.vaultFile, this.opts.vault));
    await this.vault!.unlock(passphrase);
    this.startJobs();
    this.files.discard(token);
    const status = this.status();
    this.emit('vault.state', { status, reason: 'restored' });
    return status;
  }

  // ------------------------------------------------------------------------------ datasets

  listDatasets(): DatasetInfo[] {
    return this.requireVault().listDatasets();
  }

  dataset(id: string): DatasetInfo {
    return this.requireVault().dataset(id);
  }

  rows(id: string, offset: number, limit: number): RowsPage {
    return this.requireVault().readRows(id, { offset, limit });
  }

  summarize(id: string): ColumnSummary[] {
    return this.requireVault().summarize(id);
  }

  deleteDataset(id: string): Promise<void> {
    return this.requireVault().deleteDataset(id);
  }

  deleteRecords(id: string, recordIds: readonly number[]): Promise<number> {
    return this.requireVault().deleteRecords(id, recordIds);
  }

  editValue(id: string, recordId: number, column: string, value: string | null): Promise<CellValue> {
    return this.requireVault().editValue(id, recordId, column, value);
  }

  renameDataset(id: string, name: string): Promise<DatasetInfo> {
    return this.requireVault().renameDataset(id, name);
  }

  exportDataset(id: string, format: 'csv' | 'json'): Promise<{ fileName: string; text: string; records: number }> {
    return this.requireVault().exportDataset(id, format);
  }

  // ------------------------------------------------------------------------------ import

  previewImport(req: RequestOf<'import.preview'>): Promise<ImportPreview> {
    const vault = this.requireVault();
    return vault.previewImport(this.files.pathOf(req.file), {
      ...(req.format ? { format: req.format } : {}),
      ...(req.delimiter ? { delimiter: req.delimiter } : {}),
    });
  }

  async startImport(req: RequestOf<'import.start'>): Promise<ImportReport> {
    const vault = this.requireVault();
    const path = this.files.pathOf(req.file);
    if (this.imports.has(req.importId)) throw new TroveError('INVALID_INPUT', 'That import is already running.');
    const controller = new AbortController();
    this.imports.set(req.importId, controller);
    const rejected: RejectedRow[] = [];
    this.rejected = { importId: req.importId, rows: rejected };
    let lastSent = 0;
    const started = Date.now();
    try {
      const report = await vault.importFile(path, {
        ...(req.name?.trim() ? { name: req.name.trim() } : {}),
        ...(req.format ? { format: req.format } : {}),
        ...(req.delimiter ? { delimiter: req.delimiter } : {}),
        ...(req.columns ? { columns: req.columns } : {}),
        policy: req.policy,
        signal: controller.signal,
        onRejected: (row) => {
          if (rejected.length < MAX_KEPT_REJECTIONS) rejected.push(row);
        },
        onProgress: (p) => {
          const now = Date.now();
          if (now - lastSent < PROGRESS_INTERVAL_MS && p.bytesRead !== p.totalBytes) return;
          lastSent = now;
          this.emit('import.progress', { importId: req.importId, ...p });
        },
      });
      this.files.discard(req.file);
      if (Date.now() - started > LONG_WORK_MS) {
        this.opts.notify?.('Import finished', `${report.rowsImported.toLocaleString('en')} records were added to your vault.`);
      }
      return report;
    } finally {
      this.imports.delete(req.importId);
    }
  }

  /** A page of the rows an import did not keep, in file order; total counts every one kept for reading. */
  rejectedRows(importId: string, offset: number, limit: number): { total: number; rows: RejectedRow[] } {
    this.requireVault();
    if (this.rejected?.importId !== importId) {
      throw new TroveError('INVALID_INPUT', 'The list of rows not imported is kept only for the latest import, until the vault locks. Import the file again to see it.');
    }
    return { total: this.rejected.rows.length, rows: this.rejected.rows.slice(offset, offset + limit) };
  }

  cancelImport(importId: string): { cancelled: boolean } {
    const controller = this.imports.get(importId);
    controller?.abort();
    return { cancelled: controller !== undefined };
  }

  // ------------------------------------------------------------------------------ activity

  /** Newest first; with a filter, the page is taken from the matching entries (the log is read whole). */
  activity(offset: number, limit: number, filter: ActivityFilter = {}): { total: number; entries: ActivityEntry[] } {
    const vault = this.requireVault();
    if (!filter.group && !filter.text?.trim()) return vault.activity(offset, limit);
    const matching = vault.activity(0, Number.MAX_SAFE_INTEGER).entries.filter((e) => matchesActivityFilter(e, filter));
    return { total: matching.length, entries: matching.slice(offset, offset + limit) };
  }

  verifyActivity(): ActivityVerification {
    return this.requireVault().verifyActivity();
  }

  // ------------------------------------------------------------------------------ jobs

  /** Starts the jobs service (and background participation) and the linked wallet for the unlocked vault. */
  private startJobs(): void {
    if (this.vault?.isUnlocked) void this.wallet.start(this.vault);
    if (!this.opts.jobs || this.jobsService || this.jobsStarting) return;
    this.jobsStarting = this.jobs().catch(() => null as never);
  }

  private async stopJobs(): Promise<void> {
    await this.wallet.stop();
    if (this.rewardsService) {
      clearInterval(this.rewardsService.timer);
      this.rewardsService.service.close();
      this.rewardsService.identities.close();
      this.rewardsService = null;
    }
    if (this.discoveryTimer) clearInterval(this.discoveryTimer);
    this.discoveryTimer = null;
    this.jobNotifier = null;
    const service = this.jobsService ?? (await this.jobsStarting?.catch(() => null)) ?? null;
    this.jobsService = null;
    this.jobsStarting = null;
    await service?.close();
  }

  /** The jobs service of the unlocked vault, started on first use. */
  private async jobs(): Promise<JobsService> {
    const config = this.opts.jobs;
    if (!config) throw new TroveError('INVALID_INPUT', 'Jobs are not set up in this build: no chain is configured.');
    const vault = this.requireVault();
    if (!vault.isUnlocked) throw new TroveError('VAULT_LOCKED', 'The vault is locked. Unlock it with your passphrase to continue.');
    if (this.jobsService) return this.jobsService;
    this.supervisor ??= new WorkerSupervisor({ launcher: config.launcher ?? new NodeWorkerLauncher() });
    const service = new JobsService({
      vault,
      chain: config.chain,
      supervisor: this.supervisor,
      enrollmentCircuit: config.enrollmentCircuit ?? enrollmentCircuitFiles(),
      ...(config.platform ? { platform: config.platform } : {}),
      ...(config.fetch ? { fetch: config.fetch } : {}),
      ...(config.allowLocalNetwork ? { allowLocalNetwork: true } : {}),
      ...(config.attestations ? { attestations: config.attestations } : {}),
      ...(config.participation ? { participation: config.participation } : {}),
      ...(config.discovery ? { discovery: config.discovery } : {}),
      onChange: (job) => {
        this.jobNotifier?.sawCard(job);
        this.emit('jobs.changed', { job });
      },
      onReviews: (reviews) => this.emit('jobs.reviews', { reviews }),
    });
    this.jobsService = service;
    this.watchForNews(service);
    await service.startParticipation();
    if (this.jobsService !== service) {
      await service.close();
      throw new TroveError('VAULT_LOCKED', 'The vault was locked. Unlock it with your passphrase to continue.');
    }
    return service;
  }

  async jobsList(): Promise<JobsViewValue> {
    if (!this.opts.jobs) return this.jobsOff();
    const view = await (await this.jobs()).list();
    this.jobNotifier?.sawList(view.jobs, false);
    return view;
  }

  async jobsRefresh(): Promise<JobsViewValue> {
    if (!this.opts.jobs) return this.jobsOff();
    const view = await (await this.jobs()).refresh();
    this.jobNotifier?.sawList(view.jobs, view.chain.reachable);
    return view;
  }

  /**
   * With OS notifications on, new jobs are looked for in the background while the vault is
   * unlocked, so a job that fits the person's data is news even when the Jobs screen is closed.
   */
  private watchForNews(service: JobsService): void {
    const notify = this.opts.notify;
    if (!notify) return;
    const vault = this.requireVault();
    this.jobNotifier = new JobNotifier(
      (n) => notify(n.title, n.body),
      () => vault.listDatasets().map((d) => d.columns.map((c) => c.name)),
    );
    const look = () => {
      if (this.jobsService !== service) return;
      service.refresh().then(
        (view) => this.jobNotifier?.sawList(view.jobs, view.chain.reachable),
        () => undefined, // the chain is unreachable now: the Jobs screen says so when opened
      );
    };
    this.discoveryTimer = setInterval(look, this.opts.jobs?.discoverEveryMs ?? DISCOVER_EVERY_MS);
    this.discoveryTimer.unref();
  }

  async jobsOptIn(jobId: string, datasetId: string, columns: Record<string, string>): Promise<JobCardValue> {
    return (await this.jobs()).optIn(jobId, datasetId, columns);
  }

  async jobsOptOut(jobId: string): Promise<JobCardValue> {
    return (await this.jobs()).optOut(jobId);
  }

  async jobsSetRunPolicy(policy: RunPolicyValue): Promise<JobsViewValue> {
    return (await this.jobs()).setRunPolicy(policy);
  }

  async jobsSetLimits(limits: PersonalLimits): Promise<JobsViewValue> {
    return (await this.jobs()).setLimits(limits);
  }

  async jobsSetUseGpu(useGpu: boolean): Promise<JobsViewValue> {
    return (await this.jobs()).setUseGpu(useGpu);
  }

  async jobsApproveModule(jobId: string, sha256: string): Promise<JobCardValue> {
    return (await this.jobs()).approveModule(jobId, sha256);
  }

  async jobsSetModuleTrust(sha256: string, trusted: boolean): Promise<JobsViewValue> {
    return (await this.jobs()).setModuleTrust(sha256, trusted);
  }

  async jobsSetReviewResults(on: boolean): Promise<JobsViewValue> {
    return (await this.jobs()).setReviewResults(on);
  }

  async jobsReviews(): Promise<{ reviews: ResultReviewValue[] }> {
    if (!this.opts.jobs) return { reviews: [] };
    return { reviews: (await this.jobs()).pendingReviews() };
  }

  async jobsAnswerReview(id: string, send: boolean): Promise<{ reviews: ResultReviewValue[] }> {
    return { reviews: (await this.jobs()).answerReview(id, send) };
  }

  // ------------------------------------------------------------------------------ rewards

  /** The claims service of the unlocked vault, started on first use; null when claims are not set up. */
  private async rewards(): Promise<RewardsService | null> {
    const config = this.opts.jobs;
    const rc = config?.rewards;
    if (!config || !rc || !config.chain.roundRewards) return null;
    await this.jobs();
    if (this.rewardsService) return this.rewardsService.service;
    const vault = this.requireVault();
    const identities = new JobIdentities(vault);
    const service = new RewardsService({
      vault,
      identities,
      supervisor: this.supervisor!,
      chain: { rpcUrl: config.chain.rpcUrl, chainId: config.chain.chainId, roundRewards: config.chain.roundRewards, registry: config.chain.registry },
      relayer: new RelayerClient({ url: rc.relayerUrl }),
      artifacts: rc.artifacts,
      ...(rc.sendDelayMs ? { sendDelayMs: rc.sendDelayMs } : {}),
      ...(rc.backoff ? { backoff: rc.backoff } : {}),
      onChange: (e) => {
        if (e.kind === 'proving') return this.emit('rewards.changed', { jobId: e.jobId, round: e.round, state: 'proving' });
        this.emit('rewards.changed', { jobId: e.claim.jobId, round: e.claim.round, state: e.claim.state });
        if (e.claim.state === 'claimed') this.opts.notify?.('Reward claimed', `Your reward for round ${e.claim.round + 1} of job ${e.claim.jobId} was paid to ${e.claim.recipient}.`);
      },
    });
    const timer = setInterval(() => {
      const at = service.nextSendAt();
      if ((at !== null && at <= Date.now()) || service.claims().some((c) => c.state === 'submitted')) service.send().catch(() => undefined);
    }, rc.checkEveryMs ?? 5_000);
    timer.unref();
    this.rewardsService = { service, identities, timer };
    return service;
  }

  private async contributed() {
    return (await this.jobs()).contributedRounds();
  }

  async rewardsView(): Promise<EarningsViewValue> {
    const service = await this.rewards();
    if (!service) return { enabled: false, rows: [], totals: [], relayer: null, problems: ['Claims are not set up in this build: no relayer or rewards contract is configured.'] };
    const view = await earningsView(service, () => this.contributed());
    for (const r of view.rows) {
      const key = `${r.jobId}/${r.round}`;
      if (r.state !== 'earned' || this.announced.has(key)) continue;
      this.announced.add(key);
      this.opts.notify?.('A reward is ready', `Round ${r.round + 1} of “${r.title}” earned you a reward. Open Earnings to claim it.`);
    }
    return view;
  }

  /** Proves and queues every earned round's claim (of one job, or all) for `recipient`. */
  async rewardsClaim(recipient: string, jobId?: string): Promise<EarningsViewValue> {
    const service = await this.rewards();
    if (!service) throw new TroveError('INVALID_INPUT', 'Claims are not set up in this build: no relayer or rewards contract is configured.');
    let first: unknown;
    for (const job of await this.contributed()) {
      if (jobId && job.jobId !== jobId) continue;
      try {
        await service.prepareClaims(job.jobId, job.rounds, recipient);
      } catch (err) {
        first ??= err;
      }
    }
    if (first) throw first;
    return this.rewardsView();
  }

  /** The view when no chain is configured: no jobs, and why. */
  private jobsOff(): JobsViewValue {
    const vault = this.requireVault();
    if (!vault.isUnlocked) throw new TroveError('VAULT_LOCKED', 'The vault is locked. Unlock it with your passphrase to continue.');
    return {
      jobs: [],
      hidden: [],
      chain: { rpcUrl: '', reachable: false, problem: 'Jobs are not set up in this build: no chain is configured.' },
      runPolicy: 'always',
      useGpu: true,
      limits: DEFAULT_PERSONAL_LIMITS,
      platformReports: { power: UNKNOWN_PLATFORM.onBattery() !== null, idle: UNKNOWN_PLATFORM.idleSeconds() !== null },
      analytics: { reviewResults: false, trustedModules: [] },
    };
  }

  /** Ends the session: imports cancelled, jobs stopped, then the vault closed and the workers ended. */
  async close(): Promise<void> {
    for (const c of this.imports.values()) c.abort();
    this.files.discardAll();
    await this.detach();
    await this.supervisor?.stop();
  }
}
