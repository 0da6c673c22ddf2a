// The one IPC contract between the main side and the renderer: every request, response and event
// as a zod schema. The router validates against it, the preload builds window.trove from it, and
// the renderer's types come from it. Adding a channel here is the whole of declaring it.
import { z } from 'zod';
import { COLUMN_TYPES } from '../dataset.js';
import { ACTIVITY_GROUPS } from '../activity.js';
import { MEMORY_LIMIT_CHOICES_MB, TIME_LIMIT_CHOICES_MINUTES } from '../jobs/resources.js';

// ------------------------------------------------------------------------------ building blocks

const Hex32 = z.string().regex(/^[0-9a-f]{32}$/);
export const DatasetId = Hex32;
export const FileToken = Hex32;
/** Chosen by the renderer so it can follow and cancel an import it started. */
export const ImportId = z.string().regex(/^[A-Za-z0-9-]{8,64}$/);
const Passphrase = z.string().min(1).max(1024);
const ColumnType = z.enum(COLUMN_TYPES);
const ImportFormat = z.enum(['csv', 'json', 'jsonl']);
const RejectPolicy = z.enum(['reject-import', 'skip-rows']);
const CellValue = z.union([z.number(), z.string(), z.boolean(), z.null()]);
const Count = z.number().int().min(0);
const RecordId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const Timestamp = z.number();
const Details = z.record(z.string(), z.unknown());
const Empty = z.strictObject({});

const ColumnSchema = z.object({ name: z.string(), type: ColumnType });

export const VaultState = z.enum(['none', 'locked', 'unlocked']);

export const AppStatus = z.object({
  vault: VaultState,
  /** Auto-lock after this many ms idle; null: never. Known only while unlocked. */
  autoLockMs: z.number().int().nullable().optional(),
  /** Where things are kept on this device, for the user to see. */
  storage: z.object({ vaultFile: z.string(), backupsFolder: z.string() }),
  /** The OS keychain can remember the passphrase on this device (Electron safeStorage). */
  canRemember: z.boolean(),
  remembered: z.boolean(),
  /**
   * Known only while unlocked: the vault file holds fewer changes (foundChange) than this device
   * last saw (seenChange), i.e. an older copy of the whole file was put in its place. Reads go on;
   * writes are refused until a backup is restored.
   */
  olderCopy: z.object({ foundChange: Count, seenChange: Count }).optional(),
});

const DatasetInfo = z.object({
  id: z.string(),
  name: z.string(),
  columns: z.array(ColumnSchema),
  rowCount: Count,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  source: z.object({ fileName: z.string(), format: ImportFormat }).optional(),
  damaged: z.string().optional(),
});

const RejectedRow = z.object({ line: z.number(), column: z.string().optional(), reason: z.string() });

export const ImportReport = z.object({
  datasetId: z.string().nullable(),
  rowsImported: Count,
  rowsRejected: Count,
  rejected: z.array(RejectedRow),
  warnings: z.array(z.string()),
  bytesRead: Count,
  durationMs: z.number(),
});

const ImportPreview = z.object({
  format: ImportFormat,
  delimiter: z.string().optional(),
  columns: z.array(ColumnSchema.extend({ samples: z.array(CellValue), nullCount: Count, invalidCount: Count })),
  rows: z.array(z.array(CellValue)),
  problems: z.array(RejectedRow),
});

const ColumnSummary = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('numeric'),
    column: z.string(),
    type: z.enum(['number', 'integer', 'date']),
    count: Count,
    nulls: Count,
    min: z.number().nullable(),
    max: z.number().nullable(),
    mean: z.number().nullable(),
    stddev: z.number().nullable(),
    histogram: z.array(z.object({ from: z.number(), to: z.number(), count: Count })),
  }),
  z.object({
    kind: z.literal('categorical'),
    column: z.string(),
    type: z.enum(['string', 'category', 'boolean']),
    count: Count,
    nulls: Count,
    distinct: Count,
    distinctCapped: z.boolean(),
    top: z.array(z.object({ value: z.string(), count: Count })),
  }),
]);

const ActivityVerification = z.object({
  ok: z.boolean(),
  entries: Count,
  problem: z.object({ seq: z.number(), problem: z.string(), message: z.string() }).passthrough().optional(),
});

const ActivityEntry = z.object({ seq: z.number(), at: Timestamp, kind: z.string(), summary: z.string(), details: Details.optional() });

const StagedFile = z.object({ token: FileToken, name: z.string(), size: Count });

const BackupFile = z.object({ fileName: z.string(), bytes: Count, at: Timestamp });

// ------------------------------------------------------------------------------ jobs

/** The most columns a job's mapping may name (a job reads far fewer). */
export const MAX_MAPPED_COLUMNS = 256;

/** A job's id on-chain (JobRegistry), decimal. */
export const JobId = z.string().regex(/^[1-9][0-9]{0,30}$/);

/** When the app may do job work in the background (where the platform can tell). */
export const RunPolicy = z.enum(['always', 'on-power', 'when-idle', 'on-power-and-idle']);

export const PARTICIPATION_STATES = ['available', 'joined', 'working', 'waiting', 'paused', 'finished', 'left', 'failed'] as const;

const JobCard = z.object({
  jobId: JobId,
  specHash: z.string(),
  /** Researcher-written text, with hidden characters shown as their code points ("[U+202E]"). */
  title: z.string().max(200),
  purpose: z.string().max(4000),
  /** attestedName: the name the app's signed list of known researchers gives this address, if any. */
  researcher: z.object({
    name: z.string().max(300),
    address: z.string(),
    attestedName: z.string().max(300).nullable(),
    /** What this account did on-chain before this job: jobs published, rounds closed (null for a joined job no longer listed on-chain). */
    history: z.object({ earlierJobs: Count, roundsClosed: Count }).nullable(),
  }),
  coordinator: z.object({ url: z.string(), address: z.string() }),
  /** Every column the job reads, what the researcher says it is used for, and its role. */
  columns: z.array(
    z.object({
      name: z.string().max(256),
      note: z.string().max(600),
      /** 'read': a column an analytics job asks its question of. */
      role: z.enum(['feature', 'label', 'read']),
      kind: z.enum(['numeric', 'categorical', 'class', 'value']),
      /** What the column should hold, from the job's own scaling, categories or classes (column-fit.ts). */
      expects: z
        .union([
          z.object({ kind: z.literal('around'), mean: z.number(), std: z.number() }),
          z.object({ kind: z.literal('between'), min: z.number(), max: z.number() }),
          z.object({ kind: z.literal('one-of'), values: z.array(z.string().max(256)).max(1000) }),
        ])
        .nullable(),
    }),
  ),
  /** Things the person should look at before joining, in plain words (hidden characters, look-alike letters, a job that reads every column). */
  warnings: z.array(z.string().max(400)).max(20),
  /** What training would take on this computer, estimated from the model and the data size. */
  resources: z.object({ parameters: Count, memoryBytes: Count, secondsPerRound: z.number().min(0), uploadBytes: Count, summary: z.string().max(400) }),
  /** What leaves the machine per round: a masked vector of this many numbers, never rows. */
  vectorLength: Count,
  /** An analytics job's question in words (null for a training job): what it computes, its output and the program it runs. */
  analytics: z
    .object({
      computes: z.string().max(1200),
      /** What each number of the output means, and the range it is held to. */
      output: z.array(z.object({ label: z.string().max(600), min: z.number(), max: z.number() })).max(4096),
      /** The researcher's program, for a module job: its sha256, whether Trove trusts it, and who audited it. */
      module: z
        .object({
          sha256: z.string().regex(/^[0-9a-f]{64}$/),
          trust: z.enum(['trusted', 'approved', 'unknown']),
          name: z.string().max(300).nullable(),
          auditedBy: z.array(z.string().max(200)).max(20),
        })
        .nullable(),
    })
    .nullable(),
  rounds: Count,
  minContributors: Count,
  privacy: z.object({
    epsilon: z.number(),
    delta: z.number(),
    noiseMultiplier: z.number(),
    budget: z.object({ epsilon: z.number(), delta: z.number() }),
    spentEpsilon: z.number(),
    /** Total epsilon spent if this job runs (its own cost composed with what is spent). */
    afterEpsilon: z.number(),
    fits: z.boolean(),
    /** Epsilon over all rounds if every other member of the smallest group were the researcher's own. */
    worstCaseEpsilon: z.number(),
    /** Why the job does not fit the budget, in plain words; null when it fits. */
    problem: z.string().max(500).nullable(),
  }),
  reward: z.object({ token: z.string(), symbol: z.string(), decimals: Count, perRound: z.string(), bond: z.string() }),
  /** Milliseconds since the epoch after which no round can close. */
  deadline: Timestamp,
  participation: z.object({
    state: z.enum(PARTICIPATION_STATES),
    /** The user's dataset and which of its columns stands for each column the job reads. */
    mapping: z.object({ datasetId: DatasetId, columns: z.record(z.string(), z.string()) }).nullable(),
    /** Rounds this machine's masked update was sent in. */
    roundsContributed: Count,
    /** The round in progress, when one is. */
    round: z
      .object({
        round: Count,
        step: z.enum(['waiting', 'training', 'computing', 'reviewing', 'masking', 'uploading', 'unmasking', 'done']),
        /** 0..1 within the step, when known. */
        progress: z.number().min(0).max(1).nullable(),
        detail: z.string(),
      })
      .nullable(),
    /** While waiting for a round: who has joined the job, how many a round needs, and when it should open (null: not yet known). */
    waiting: z.object({ round: Count, joined: Count, needed: Count, startsAt: Timestamp.nullable() }).nullable(),
    /** Why work stopped, in words that say what to do next. */
    problem: z.object({ code: z.string(), message: z.string() }).nullable(),
  }),
});

const PersonalLimitsSchema = z.strictObject({
  maxMemoryMb: z.union(MEMORY_LIMIT_CHOICES_MB.map((v) => z.literal(v))),
  maxMinutesPerRound: z.union(TIME_LIMIT_CHOICES_MINUTES.map((v) => z.literal(v))),
});

const JobsView = z.object({
  jobs: z.array(JobCard),
  /** Jobs on-chain that were not shown because their document failed a check. */
  hidden: z.array(z.object({ jobId: JobId, reason: z.string() })),
  chain: z.object({ rpcUrl: z.string(), reachable: z.boolean(), problem: z.string().nullable() }),
  runPolicy: RunPolicy,
  /** Whether local training may use the GPU (a setting; on by default). */
  useGpu: z.boolean(),
  /** The person's own limits on what one job may take on this computer (Settings). */
  limits: PersonalLimitsSchema,
  /** Whether the platform lets the app honour the policy (power and idle state are known). */
  platformReports: z.object({ power: z.boolean(), idle: z.boolean() }),
  /** Analytics settings: "show me each result before it is sent", and the programs Trove trusts (the published list with the person's changes). */
  analytics: z.object({
    reviewResults: z.boolean(),
    trustedModules: z.array(
      z.object({
        sha256: z.string(),
        name: z.string().max(300).nullable(),
        auditedBy: z.array(z.string().max(200)).max(20),
        /** 'published': on Trove's list; 'added': the person's own approval; 'removed': on Trove's list, taken off by the person. */
        source: z.enum(['published', 'added', 'removed']),
      }),
    ),
  }),
});

const ModuleHash = z.string().regex(/^[0-9a-f]{64}$/, 'a program is named by its sha256: 64 hex digits');

/** One round's result of an analytics job, waiting for the person to send or decline it. */
const ResultReview = z.object({
  id: z.string().regex(/^[A-Za-z0-9-]{8,64}$/),
  jobId: JobId,
  round: Count,
  title: z.string().max(200),
  /** The exact numbers with what each counts, in plain words. */
  values: z.array(z.object({ label: z.string().max(600), value: z.number() })).max(4096),
  /** The noise added before it leaves, in words. */
  noise: z.string().max(600),
});

const Address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const TokenUnits = z.string().regex(/^[0-9]{1,80}$/);

/** Where one round's reward stands: earned (ready to claim), proving, queued, submitted, claimed. */
export const EARNING_STATES = ['earned', 'proving', 'queued', 'submitted', 'claimed'] as const;

const EarningRow = z.object({
  jobId: JobId,
  title: z.string().max(200),
  round: Count,
  state: z.enum(EARNING_STATES),
  /** This person's share (after the relayer's fee once claimed through one), in the token's units. */
  amount: TokenUnits,
  /** TROVE emissions paid on top. */
  topUp: TokenUnits,
  token: Address,
  symbol: z.string().max(32),
  decimals: Count,
  recipient: Address.nullable(),
  tx: z.string().nullable(),
  /** Why the last attempt did not land, in words; null when nothing went wrong. */
  problem: z.string().max(2000).nullable(),
  /** When this row last changed (ms), for the chart over time. */
  at: Timestamp.nullable(),
  /**
   * Of a claimed round's share, what is still credited on-chain to its recipient (0: withdrawn);
   * null before the claim lands or when the credit could not be read.
   */
  withdrawable: TokenUnits.nullable(),
});

const EarningsView = z.object({
  /** Whether claims are set up in this build (a chain with RoundRewards and a relayer). */
  enabled: z.boolean(),
  rows: z.array(EarningRow),
  /** Per token: earned in all, claimed, and credited on-chain to the recipient (withdrawable). */
  totals: z.array(z.object({ token: Address, symbol: z.string().max(32), decimals: Count, earned: TokenUnits, claimed: TokenUnits, withdrawable: TokenUnits })),
  relayer: z.object({ url: z.string(), address: Address, fee: TokenUnits }).nullable(),
  /** What stopped the view from being complete (a coordinator or the chain unreachable, a false list). */
  problems: z.array(z.string().max(2000)).max(50),
});

/** Largest upload chunk, base64 (1 MiB of bytes). */
export const UPLOAD_CHUNK_BYTES = 1024 * 1024;

// ------------------------------------------------------------------------------ channels

function channel<Req extends z.ZodType, Res extends z.ZodType>(request: Req, response: Res) {
  return { request, response };
}

// ------------------------------------------------------------------------------ wallet

const Problem = z.object({ code: z.string(), message: z.string() });

export const WalletStatus = z.discriminatedUnion('state', [
  z.object({ state: z.literal('unlinked'), problem: Problem.optional() }),
  /** Waiting for the wallet to scan `uri` and approve. */
  z.object({ state: z.literal('pairing'), uri: z.string() }),
  z.object({ state: z.literal('linked'), address: Address, chainId: Count, walletName: z.string() }),
]);

const TokenAmount = z.object({ token: Address, symbol: z.string(), decimals: Count, amount: z.string(), amountText: z.string() });

const WalletView = z.object({
  /** False when this build has no chain or relay to link a wallet on. */
  available: z.boolean(),
  status: WalletStatus,
  /** Credited to the linked address and not yet withdrawn, per reward token (read on-chain). */
  balances: z.array(TokenAmount),
  /** Why balances could not be read, in words. */
  balancesProblem: z.string().nullable(),
  settings: z.object({ relayUrl: z.string(), projectId: z.string() }),
});

const WithdrawPlan = TokenAmount.extend({ id: z.string(), to: Address, contract: Address });

export const channels = {
  'app.status': channel(Empty, AppStatus),

  'vault.create': channel(z.strictObject({ passphrase: Passphrase }), AppStatus),
  'vault.unlock': channel(z.strictObject({ passphrase: Passphrase, remember: z.boolean().optional() }), AppStatus),
  'vault.lock': channel(Empty, AppStatus),
  'vault.forgetDevice': channel(Empty, AppStatus),
  'vault.changePassphrase': channel(z.strictObject({ current: Passphrase, next: Passphrase }), Empty),
  'vault.setAutoLock': channel(z.strictObject({ ms: z.number().int().nullable() }), AppStatus),
  'vault.backup': channel(Empty, BackupFile.nullable()),
  'vault.backups': channel(Empty, z.array(BackupFile)),
  'vault.restore': channel(z.strictObject({ file: FileToken, passphrase: Passphrase }), AppStatus),
  'vault.checkIntegrity': channel(
    Empty,
    z.object({ ok: z.boolean(), datasets: Count, problems: z.array(z.string()), activity: ActivityVerification }),
  ),

  'files.stagePath': channel(z.strictObject({ path: z.string().min(1).max(4096) }), StagedFile),
  'files.beginUpload': channel(z.strictObject({ name: z.string().min(1).max(255), size: z.number().int().min(0).max(2 ** 40) }), z.object({ token: FileToken })),
  'files.appendUpload': channel(
    z.strictObject({ token: FileToken, chunk: z.base64().max(Math.ceil(UPLOAD_CHUNK_BYTES / 3) * 4) }),
    z.object({ received: Count }),
  ),
  'files.finishUpload': channel(z.strictObject({ token: FileToken }), StagedFile),
  'files.discard': channel(z.strictObject({ token: FileToken }), Empty),

  'datasets.list': channel(Empty, z.array(DatasetInfo)),
  'datasets.get': channel(z.strictObject({ id: DatasetId }), DatasetInfo),
  'datasets.rows': channel(
    z.strictObject({ id: DatasetId, offset: z.number().int().min(0).max(2 ** 40), limit: z.number().int().min(1).max(500) }),
    z.object({ total: Count, columns: z.array(ColumnSchema), rows: z.array(z.object({ id: z.number(), values: z.array(CellValue) })) }),
  ),
  'datasets.summary': channel(z.strictObject({ id: DatasetId }), z.array(ColumnSummary)),
  'datasets.delete': channel(z.strictObject({ id: DatasetId }), Empty),
  'datasets.deleteRecords': channel(
    z.strictObject({ id: DatasetId, recordIds: z.array(RecordId).min(1).max(10_000) }),
    z.object({ deleted: Count }),
  ),
  /** One value as the person typed it (null: missing); the vault reads it as the column's type or refuses. */
  'datasets.editValue': channel(
    z.strictObject({ id: DatasetId, recordId: RecordId, column: z.string().min(1).max(256), value: z.string().max(100_000).nullable() }),
    z.object({ value: CellValue }),
  ),
  'datasets.rename': channel(z.strictObject({ id: DatasetId, name: z.string().trim().min(1).max(200) }), DatasetInfo),
  'datasets.export': channel(
    z.strictObject({ id: DatasetId, format: z.enum(['csv', 'json']) }),
    z.object({ fileName: z.string(), text: z.string(), records: Count }),
  ),

  'import.preview': channel(
    z.strictObject({ file: FileToken, format: ImportFormat.optional(), delimiter: z.string().length(1).optional() }),
    ImportPreview,
  ),
  'import.start': channel(
    z.strictObject({
      importId: ImportId,
      file: FileToken,
      name: z.string().max(200).optional(),
      format: ImportFormat.optional(),
      delimiter: z.string().length(1).optional(),
      policy: RejectPolicy,
      columns: z
        .array(z.strictObject({ name: z.string().max(200).optional(), type: ColumnType.optional(), skip: z.boolean().optional() }))
        .max(10_000)
        .optional(),
    }),
    ImportReport,
  ),
  /** Every row the latest import did not keep, page by page (kept until the vault locks). */
  'import.rejected': channel(
    z.strictObject({ importId: ImportId, offset: z.number().int().min(0).max(2 ** 40), limit: z.number().int().min(1).max(5000) }),
    z.object({ total: Count, rows: z.array(RejectedRow) }),
  ),
  'import.cancel': channel(z.strictObject({ importId: ImportId }), z.object({ cancelled: z.boolean() })),

  'activity.list': channel(
    z.strictObject({
      offset: z.number().int().min(0).max(2 ** 40),
      limit: z.number().int().min(1).max(500),
      /** Only entries of this group, and only those containing every word of `text`; total counts the matches. */
      group: z.enum(ACTIVITY_GROUPS).optional(),
      text: z.string().max(200).optional(),
    }),
    z.object({ total: Count, entries: z.array(ActivityEntry) }),
  ),
  'activity.verify': channel(Empty, ActivityVerification),

  'jobs.list': channel(Empty, JobsView),
  /** Reads the chain again for new jobs and fetches their documents. */
  'jobs.refresh': channel(Empty, JobsView),
  'jobs.optIn': channel(
    z.strictObject({
      jobId: JobId,
      datasetId: DatasetId,
      // A job reads at most MAX_MAPPED_COLUMNS columns; a mapping of more is refused before it is read.
      columns: z
        .custom<Record<string, string>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length <= MAX_MAPPED_COLUMNS, {
          message: `a column mapping has at most ${MAX_MAPPED_COLUMNS} entries`,
        })
        .pipe(z.record(z.string().max(256), z.string().max(256))),
    }),
    JobCard,
  ),
  'jobs.optOut': channel(z.strictObject({ jobId: JobId }), JobCard),
  'jobs.setRunPolicy': channel(z.strictObject({ policy: RunPolicy }), JobsView),
  'jobs.setUseGpu': channel(z.strictObject({ useGpu: z.boolean() }), JobsView),
  'jobs.setLimits': channel(z.strictObject({ limits: PersonalLimitsSchema }), JobsView),
  /** Approves an analytics job's program by its hash (it must be the job's): it may then run. */
  'jobs.approveModule': channel(z.strictObject({ jobId: JobId, sha256: ModuleHash }), JobCard),
  /** Adds a program to, or takes it off, the programs Trove trusts. */
  'jobs.setModuleTrust': channel(z.strictObject({ sha256: ModuleHash, trusted: z.boolean() }), JobsView),
  /** The setting "show me each result before it is sent". */
  'jobs.setReviewResults': channel(z.strictObject({ reviewResults: z.boolean() }), JobsView),
  /** Results waiting for the person to send or decline. */
  'jobs.reviews': channel(Empty, z.object({ reviews: z.array(ResultReview) })),
  /** Sends (true) or declines (false) one waiting result. */
  'jobs.answerReview': channel(z.strictObject({ id: z.string().regex(/^[A-Za-z0-9-]{8,64}$/), send: z.boolean() }), z.object({ reviews: z.array(ResultReview) })),

  'wallet.view': channel(Empty, WalletView),
  /** Starts linking: the answer's status holds the pairing URI to show as a QR code. */
  'wallet.link': channel(Empty, WalletView),
  'wallet.disconnect': channel(Empty, WalletView),
  'wallet.setSettings': channel(z.strictObject({ relayUrl: z.string().min(1).max(500), projectId: z.string().min(1).max(200) }), WalletView),
  /** What a withdrawal would pay, for the person to confirm; nothing is sent. */
  'wallet.prepareWithdraw': channel(z.strictObject({ token: Address }), WithdrawPlan),
  /** Sends a prepared withdrawal through the linked wallet and waits for it on-chain. */
  'wallet.confirmWithdraw': channel(z.strictObject({ planId: z.uuid() }), z.object({ txHash: z.string(), amountText: z.string(), to: Address })),
  /** What each job and round earned and where its claim stands. */
  'rewards.view': channel(Empty, EarningsView),
  /** Proves and queues the claims of every earned round (of one job, or all) for `recipient`. */
  'rewards.claim': channel(z.strictObject({ recipient: Address, jobId: JobId.optional() }), EarningsView),
} as const;

export const events = {
  /** The vault was created, unlocked, locked (by hand or when idle), or replaced by a restore. */
  'vault.state': z.object({ status: AppStatus, reason: z.enum(['manual', 'idle', 'restored', 'created', 'unlocked']).optional() }),
  'import.progress': z.object({ importId: ImportId, bytesRead: Count, totalBytes: Count.nullable(), rowsRead: Count, rowsRejected: Count }),
  /** A job's card changed: discovered, joined, a round step, a problem. */
  'jobs.changed': z.object({ job: JobCard }),
  /** The results waiting for review changed (one arrived, was answered, or its round ended). */
  'jobs.reviews': z.object({ reviews: z.array(ResultReview) }),
  /** The wallet link changed: pairing, linked, ended by the wallet, refused. */
  'wallet.changed': z.object({ status: WalletStatus }),
  /** A claim changed state or a proof made progress: the Earnings screen reads the view again. */
  'rewards.changed': z.object({ jobId: JobId, round: Count, state: z.enum(EARNING_STATES) }),
} as const;

export type Channel = keyof typeof channels;
export type EventName = keyof typeof events;
export type RequestOf<C extends Channel> = z.input<(typeof channels)[C]['request']>;
export type ResponseOf<C extends Channel> = z.output<(typeof channels)[C]['response']>;
export type EventOf<E extends EventName> = z.output<(typeof events)[E]>;

export type AppStatusValue = z.output<typeof AppStatus>;
export type ImportReportValue = z.output<typeof ImportReport>;
export type JobCardValue = z.output<typeof JobCard>;
/** A job card as the contract checks it (the jobs service checks each card before listing it). */
export const jobCardSchema = JobCard;
export type JobsViewValue = z.output<typeof JobsView>;
export type RunPolicyValue = z.output<typeof RunPolicy>;
export type ResultReviewValue = z.output<typeof ResultReview>;
export type WalletViewValue = z.output<typeof WalletView>;
export type WalletStatusValue = z.output<typeof WalletStatus>;
export type EarningsViewValue = z.output<typeof EarningsView>;
export type EarningRowValue = z.output<typeof EarningRow>;

export function isChannel(name: unknown): name is Channel {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(channels, name);
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(events, name);
}

// ------------------------------------------------------------------------------ results and errors

/** Codes the IPC layer adds to the vault's own. */
export const IPC_ERROR_CODES = ['UNKNOWN_CHANNEL', 'INTERNAL'] as const;

export const IpcError = z.object({ code: z.string(), message: z.string(), details: Details.optional() });
export type IpcErrorValue = z.output<typeof IpcError>;

/** What every invoke resolves to: errors travel as values, so nothing is lost crossing a bridge. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcErrorValue };
