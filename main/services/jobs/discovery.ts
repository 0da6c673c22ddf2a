// Finding jobs: every JobPublished event of the JobRegistry, its job's current on-chain state, and
// the signed job document its specURI points to. A job is shown only when the document hashes to
// the specHash on-chain, was signed by the researcher who published it, and says the same as the
// chain about everything that is paid or enforced there (coordinator, rounds, minimum, reward,
// bond, token, deadline, chain). Anything else is hidden, with the reason.
import { Contract, JsonRpcProvider, Network, getAddress, isCallException, type Log, type EventLog } from 'ethers';
import { revealText } from '../../../common/jobs/text.js';
import { checkResources, estimateResources } from '../../../common/jobs/resources.js';
import { machineFlopsPerSecond } from './machine-speed.js';
import { MAX_JOB_DOCUMENT_BYTES } from '../../../common/jobs/document.js';
import { isAnalyticsJob, privacyCostOf, type AnyJobDocument } from '../../../common/jobs/kinds.js';
import { TroveError } from '../../../common/errors.js';
import { verifySignedJob } from '../../../common/jobs/signed-document.js';
import { readCappedBody } from '../../../common/jobs/client.js';

/** Where the app reads jobs from. */
export interface JobsChainConfig {
  rpcUrl: string;
  chainId: string;
  /** The JobRegistry contract's address. */
  registry: string;
  /** The RoundRewards contract: rosters frozen on-chain are checked against it. */
  roundRewards?: string;
  /** The ReceiptChallenges contract: the coordinator's receipts for masked inputs are signed for it. */
  receiptChallenges?: string;
  /** The block the registry was deployed in: events before it are not searched. */
  fromBlock?: number;
}

const REGISTRY_ABI = [
  'event JobPublished(uint256 indexed jobId, address indexed researcher, address indexed coordinator, address rewardToken, bytes32 specHash, string specURI, uint128 rewardPerRound, uint32 rounds, uint32 minContributors, uint64 deadline, uint96 bondAmount, uint128 stake)',
  'function getJob(uint256 jobId) view returns (tuple(address researcher, uint64 deadline, uint32 rounds, address coordinator, uint32 roundsClosed, uint32 minContributors, uint8 status, address rewardToken, uint96 bondAmount, uint128 rewardPerRound, uint128 escrow, uint128 stake, bytes32 specHash))',
];

const TOKEN_ABI = ['function symbol() view returns (string)', 'function decimals() view returns (uint8)'];

/** The reward token as its contract describes itself (the document's words are not trusted for money). */
export interface RewardToken {
  symbol: string;
  decimals: number;
}

/** JobRegistry's JobStatus.Active. */
const STATUS_ACTIVE = 1n;

export interface PublishedJob {
  jobId: string;
  researcher: string;
  coordinator: string;
  rewardToken: string;
  specHash: string;
  specURI: string;
  rewardPerRound: bigint;
  rounds: number;
  minContributors: number;
  deadline: number;
  bondAmount: bigint;
}

export interface DiscoveredJob {
  event: PublishedJob;
  document: AnyJobDocument;
  specHash: string;
  /** The reward token's symbol and decimals, read from the token contract. */
  token: RewardToken;
  /** Whether the job can still run rounds: active on-chain, before its deadline, rounds left. */
  open: boolean;
  /** Why it cannot, when it cannot. */
  closedReason: string | null;
  /** What the same researcher account did on-chain before this job: jobs published, rounds closed. */
  history: { earlierJobs: number; roundsClosed: number };
}

export interface Discovery {
  jobs: DiscoveredJob[];
  hidden: { jobId: string; reason: string }[];
}

export interface DiscoveryOptions {
  fetch?: typeof fetch;
  /** Time limit for each document fetch. */
  documentTimeoutMs?: number;
  /** Unix seconds now (tests move it). */
  nowSeconds?: () => number;
  /** Blocks searched per event query (public RPC providers refuse long ranges). */
  blocksPerQuery?: number;
  /** How long one discovery waits for all documents together; later ones show at the next refresh. */
  documentBudgetMs?: number;
  /** Follow redirects: only with a fetch that checks every address it is sent to. */
  followRedirects?: boolean;
  /** This computer's speed for the resource estimate (default: measured once). */
  flopsPerSecond?: number;
}

/** Short enough that the jobs list never waits on a silent host for long. */
export const DEFAULT_DOCUMENT_BUDGET_MS = 1_000;

function originOf(uri: string): string {
  try {
    return new URL(uri).origin;
  } catch {
    return 'its address';
  }
}

/** A range most RPC providers accept for eth_getLogs. */
export const DEFAULT_BLOCKS_PER_QUERY = 5_000;

export class JobDiscovery {
  private readonly provider: JsonRpcProvider;
  private readonly registry: Contract;
  private readonly fetcher: typeof fetch;
  private readonly documentTimeoutMs: number;
  private readonly blocksPerQuery: number;
  private readonly nowSeconds: () => number;
  /** Documents already verified, by job id and spec hash: a document never changes once published. */
  private readonly verified = new Map<string, AnyJobDocument>();
  /** Document fetches under way, by job id and spec hash; they outlive a refresh that stopped waiting. */
  private readonly fetching = new Map<string, { pending: Promise<AnyJobDocument>; startedAt: number }>();
  private readonly documentBudgetMs: number;
  /** Reward tokens already read, by address: a token's symbol and decimals are fixed at deployment. */
  private readonly tokens = new Map<string, Promise<RewardToken>>();
  private readonly followRedirects: boolean;
  /** This computer's speed, for the resource estimate. */
  readonly flopsPerSecond: number;

  constructor(
    readonly config: JobsChainConfig,
    options: DiscoveryOptions = {},
  ) {
    // The chain is known in advance: no network detection (which retries and logs on its own).
    this.provider = new JsonRpcProvider(config.rpcUrl, Network.from(BigInt(config.chainId)), { staticNetwork: true, batchMaxCount: 1 });
    this.registry = new Contract(getAddress(config.registry), REGISTRY_ABI, this.provider);
    this.fetcher = options.fetch ?? fetch;
    this.documentTimeoutMs = options.documentTimeoutMs ?? 10_000;
    this.documentBudgetMs = options.documentBudgetMs ?? DEFAULT_DOCUMENT_BUDGET_MS;
    this.followRedirects = options.followRedirects ?? false;
    this.flopsPerSecond = options.flopsPerSecond ?? machineFlopsPerSecond();
    this.blocksPerQuery = Math.max(1, Math.floor(options.blocksPerQuery ?? DEFAULT_BLOCKS_PER_QUERY));
    this.nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  }

  /** Reads every published job and checks each one. Throws CHAIN_UNREACHABLE when the chain cannot be read. */
  async discover(): Promise<Discovery> {
    let events: PublishedJob[];
    try {
      const chainId = BigInt((await this.provider.send('eth_chainId', [])) as string);
      if (chainId.toString() !== this.config.chainId) {
        throw new TroveError('CHAIN_UNREACHABLE', `The chain at the configured address is chain ${chainId}, not chain ${this.config.chainId}.`);
      }
      events = (await this.publishedEvents()).filter(isEventLog).map(toPublishedJob);
    } catch (err) {
      if (err instanceof TroveError) throw err;
      throw new TroveError('CHAIN_UNREACHABLE', 'The chain cannot be reached, so no jobs could be read. Trove will try again.', undefined, { cause: err });
    }
    // Every job is checked at once, and documents get one short budget together: a host that is
    // slow or silent is listed as not arrived yet, and its fetch goes on for the next refresh.
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.documentBudgetMs);
    });
    const roundsClosed = new Map<string, number>();
    try {
      const results = await Promise.all(
        events.map(async (event) => {
          try {
            return { event, job: await this.check(event, budget, roundsClosed), reason: undefined };
          } catch (err) {
            if (err instanceof TroveError && err.code === 'CHAIN_UNREACHABLE') throw err;
            return { event, job: undefined, reason: err instanceof TroveError ? err.message : 'The job could not be checked.' };
          }
        }),
      );
      const jobs: DiscoveredJob[] = [];
      const hidden: Discovery['hidden'] = [];
      for (const r of results) {
        if (r.job) jobs.push({ ...r.job, history: historyOf(r.event, events, roundsClosed) });
        else hidden.push({ jobId: r.event.jobId, reason: r.reason ?? 'The job could not be checked.' });
      }
      return { jobs, hidden };
    } finally {
      clearTimeout(timer);
    }
  }

  /** JobPublished events from the deployment block to the latest, a page of blocks per query. */
  private async publishedEvents() {
    const latest = await this.provider.getBlockNumber();
    const filter = this.registry.filters.JobPublished!();
    const logs = [];
    for (let from = this.config.fromBlock ?? 0; from <= latest; from += this.blocksPerQuery) {
      logs.push(...(await this.registry.queryFilter(filter, from, Math.min(from + this.blocksPerQuery - 1, latest))));
    }
    return logs;
  }

  private async check(event: PublishedJob, budget: Promise<'late'>, roundsClosed: Map<string, number>): Promise<DiscoveredJob> {
    let onChain: { status: bigint; deadline: bigint; rounds: bigint; roundsClosed: bigint; specHash: string };
    try {
      onChain = (await this.registry.getFunction('getJob')(event.jobId)) as typeof onChain;
    } catch (err) {
      throw new TroveError('CHAIN_UNREACHABLE', 'The chain cannot be reached, so no jobs could be read. Trove will try again.', undefined, { cause: err });
    }
    roundsClosed.set(event.jobId, Number(onChain.roundsClosed));
    const key = `${event.jobId}:${event.specHash}`;
    let document = this.verified.get(key);
    if (!document) {
      let fetching = this.fetching.get(key);
      if (!fetching) {
        const pending = this.fetchAndVerify(event);
        fetching = { pending, startedAt: performance.now() };
        this.fetching.set(key, fetching);
        pending.then(
          (doc) => this.verified.set(key, doc),
          () => undefined,
        ).finally(() => this.fetching.delete(key));
      }
      // A fetch an earlier refresh already stopped waiting for is not waited for again.
      const waitedOut = performance.now() - fetching.startedAt >= this.documentBudgetMs;
      const first = await Promise.race([fetching.pending, waitedOut ? Promise.resolve('late' as const) : budget]);
      if (first === 'late') {
        throw new TroveError('COORDINATOR_UNREACHABLE', `The job’s document at ${originOf(event.specURI)} has not arrived yet. Trove keeps trying and shows the job once it is checked.`);
      }
      document = first;
    }
    const token = await this.rewardToken(event.rewardToken);
    const closedReason = this.closedReason(onChain);
    return { event, document, specHash: event.specHash, token, open: closedReason === null, closedReason, history: { earlierJobs: 0, roundsClosed: 0 } };
  }

  private closedReason(onChain: { status: bigint; deadline: bigint; rounds: bigint; roundsClosed: bigint }): string | null {
    if (onChain.status !== STATUS_ACTIVE) return 'The job has ended on-chain.';
    if (Number(onChain.deadline) <= this.nowSeconds()) return 'The job is past its deadline.';
    if (onChain.roundsClosed >= onChain.rounds) return 'Every round of the job has run.';
    return null;
  }

  /**
   * Reads the job's state on-chain again (at join: it may have been settled since discovery).
   * Throws JOB_NOT_ACTIVE saying why when it can no longer run rounds, CHAIN_UNREACHABLE when the
   * chain cannot be read.
   */
  async recheck(jobId: string): Promise<void> {
    let onChain: { status: bigint; deadline: bigint; rounds: bigint; roundsClosed: bigint };
    try {
      onChain = (await this.registry.getFunction('getJob')(jobId)) as typeof onChain;
    } catch (err) {
      throw new TroveError('CHAIN_UNREACHABLE', 'The chain cannot be read, so the job could not be checked before joining. Nothing was sent; try again.', undefined, { cause: err });
    }
    const reason = this.closedReason(onChain);
    if (reason !== null) throw new TroveError('JOB_NOT_ACTIVE', `${reason} It can no longer be joined; nothing was sent.`, { jobId });
  }

  /** The reward token's symbol and decimals from its contract, read once per token. */
  private rewardToken(address: string): Promise<RewardToken> {
    let pending = this.tokens.get(address);
    if (!pending) {
      pending = this.readToken(address);
      this.tokens.set(address, pending);
      pending.catch(() => this.tokens.delete(address));
    }
    return pending;
  }

  private async readToken(address: string): Promise<RewardToken> {
    const token = new Contract(address, TOKEN_ABI, this.provider);
    let symbol: unknown;
    let decimals: unknown;
    try {
      [symbol, decimals] = await Promise.all([token.getFunction('symbol')(), token.getFunction('decimals')()]);
    } catch (err) {
      if (isCallException(err) || (err instanceof Error && 'code' in err && (err as { code: unknown }).code === 'BAD_DATA')) {
        throw new TroveError('JOB_SPEC_MISMATCH', `The reward token at ${address} does not say its symbol and decimals, so the reward cannot be shown. The job was not shown.`);
      }
      throw new TroveError('CHAIN_UNREACHABLE', 'The chain cannot be reached, so no jobs could be read. Trove will try again.', undefined, { cause: err });
    }
    const places = Number(decimals);
    if (typeof symbol !== 'string' || symbol.length === 0 || !Number.isInteger(places) || places > 36) {
      throw new TroveError('JOB_SPEC_MISMATCH', `The reward token at ${address} describes itself in a way Trove cannot show (symbol or decimals). The job was not shown.`);
    }
    return { symbol: revealText(symbol, { max: 16 }).text, decimals: places };
  }

  /** Fetches, verifies and checks the job's document against the chain (one of these per job and hash at a time). */
  private async fetchAndVerify(event: PublishedJob): Promise<AnyJobDocument> {
    const signed = await this.fetchDocument(event.specURI);
    const document = verifySignedJob(signed, event.specHash, event.researcher).document;
    checkAgreesWithChain(document, event, this.config.chainId);
    checkPrivacyCost(document);
    // An analytics job's work is bounded by its own declared limits (memory pages, time limit), checked by its spec.
    if (!isAnalyticsJob(document)) checkResources(estimateResources(document, document.aggregation.maxExamples, this.flopsPerSecond));
    return document;
  }

  /** The signed document at `uri`: http(s) only, at most MAX_JOB_DOCUMENT_BYTES, within the time limit. */
  private async fetchDocument(uri: string): Promise<unknown> {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw new TroveError('JOB_SPEC_MISMATCH', 'The job’s document address is not a URL, so the job cannot be checked.');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TroveError('JOB_SPEC_MISMATCH', `The job’s document is at a ${url.protocol} address, which Trove does not fetch.`);
    }
    let res: Response;
    try {
      // Redirects are followed only by a fetch that checks each address (the service's policy).
      res = await this.fetcher(url, { redirect: this.followRedirects ? 'follow' : 'error', signal: AbortSignal.timeout(this.documentTimeoutMs) });
    } catch (err) {
      if (err instanceof TroveError) throw err;
      throw new TroveError('COORDINATOR_UNREACHABLE', `The job’s document at ${url.origin} cannot be fetched right now.`, undefined, { cause: err });
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new TroveError('COORDINATOR_PROTOCOL', `The job’s document could not be fetched (HTTP ${res.status}).`);
    }
    const bytes = await readCapped(res, MAX_JOB_DOCUMENT_BYTES);
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      throw new TroveError('JOB_SPEC_MISMATCH', 'The job’s document is not JSON.');
    }
  }

  close(): void {
    this.provider.destroy();
  }
}

function readCapped(res: Response, limit: number): Promise<Uint8Array> {
  return readCappedBody(res, limit, {
    tooLarge: () => new TroveError('JOB_SPEC_MISMATCH', `The job’s document is larger than ${limit / 1024} KB, so it was not read.`),
    broken: (cause) => new TroveError('COORDINATOR_UNREACHABLE', 'The job’s document could not be read to the end.', undefined, { cause }),
  });
}

function isEventLog(log: Log): log is EventLog {
  return 'args' in log;
}

function toPublishedJob(log: EventLog): PublishedJob {
  const a = log.args;
  return {
    jobId: (a.getValue('jobId') as bigint).toString(),
    researcher: getAddress(a.getValue('researcher') as string),
    coordinator: getAddress(a.getValue('coordinator') as string),
    rewardToken: getAddress(a.getValue('rewardToken') as string),
    specHash: (a.getValue('specHash') as string).toLowerCase(),
    specURI: a.getValue('specURI') as string,
    rewardPerRound: a.getValue('rewardPerRound') as bigint,
    rounds: Number(a.getValue('rounds') as bigint),
    minContributors: Number(a.getValue('minContributors') as bigint),
    deadline: Number(a.getValue('deadline') as bigint),
    bondAmount: a.getValue('bondAmount') as bigint,
  };
}

/** Throws JOB_SPEC_MISMATCH when the job's privacy cost is not a number the card can show (no noise at all). */
export function checkPrivacyCost(doc: AnyJobDocument): void {
  const cost = privacyCostOf(doc);
  if (!Number.isFinite(cost.epsilon) || !Number.isFinite(cost.delta)) {
    throw new TroveError('JOB_SPEC_MISMATCH', `The job adds too little noise (noise multiplier ${doc.privacy.noiseMultiplier}): its privacy cost is unbounded, so it was refused.`, {
      noiseMultiplier: doc.privacy.noiseMultiplier,
    });
  }
}

/** Throws JOB_SPEC_MISMATCH naming the first fact where the document and the chain disagree. */
export function checkAgreesWithChain(doc: AnyJobDocument, event: PublishedJob, chainId: string): void {
  const facts: [string, unknown, unknown][] = [
    ['chain', doc.chainId, chainId],
    ['coordinator', getAddress(doc.coordinator.address), event.coordinator],
    ['number of rounds', doc.rounds, event.rounds],
    ['minimum of contributors', doc.minContributors, event.minContributors],
    ['reward per round', BigInt(doc.reward.perRound), event.rewardPerRound],
    ['bond', BigInt(doc.reward.bond), event.bondAmount],
    ['reward token', getAddress(doc.reward.token), event.rewardToken],
    ['deadline', doc.deadline, event.deadline],
  ];
  for (const [what, inDocument, onChain] of facts) {
    if (inDocument !== onChain) {
      throw new TroveError('JOB_SPEC_MISMATCH', `The job’s document and the chain disagree about the ${what}, so it was not shown.`, {
        fact: what,
        document: String(inDocument),
        chain: String(onChain),
      });
    }
  }
}

/** The researcher's earlier jobs on this registry and the rounds they closed, from on-chain facts only. */
export function historyOf(job: PublishedJob, events: readonly PublishedJob[], roundsClosed: ReadonlyMap<string, number>): { earlierJobs: number; roundsClosed: number } {
  const earlier = events.filter((e) => e.researcher.toLowerCase() === job.researcher.toLowerCase() && BigInt(e.jobId) < BigInt(job.jobId));
  return { earlierJobs: earlier.length, roundsClosed: earlier.reduce((sum, e) => sum + (roundsClosed.get(e.jobId) ?? 0), 0) };
}
