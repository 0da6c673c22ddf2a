// Finding jobs: every JobPublished event of the JobRegistry, its job's current on-chain state, and
// the signed job document its specURI points to. A job is shown only when the document hashes to
// the specHash on-chain, was signed by the researcher who published it, and says the same as the
// chain about everything that is paid or enforced there (coordinator, rounds, minimum, reward,
// bond, token, deadline, chain). Anything else is hidden, with the reason.
import { Contract, JsonRpcProvider, Network, getAddress, type Log, type EventLog } from 'ethers';
import { MAX_JOB_DOCUMENT_BYTES, type JobDocument } from '../../../common/jobs/document.js';
import { TroveError } from '../../../common/errors.js';
import { verifySignedJob } from '../../../contracts/job-document.js';
import { readCappedBody } from '../../../common/jobs/client.js';

/** Where the app reads jobs from. */
export interface JobsChainConfig {
  rpcUrl: string;
  chainId: string;
  /** The JobRegistry contract's address. */
  registry: string;
  /** The RoundRewards contract: rosters frozen on-chain are checked against it. */
  roundRewards?: string;
  /** The block the registry was deployed in: events before it are not searched. */
  fromBlock?: number;
}

const REGISTRY_ABI = [
  'event JobPublished(uint256 indexed jobId, address indexed researcher, address indexed coordinator, address rewardToken, bytes32 specHash, string specURI, uint128 rewardPerRound, uint32 rounds, uint32 minContributors, uint64 deadline, uint96 bondAmount, uint128 stake)',
  'function getJob(uint256 jobId) view returns (tuple(address researcher, uint64 deadline, uint32 rounds, address coordinator, uint32 roundsClosed, uint32 minContributors, uint8 status, address rewardToken, uint96 bondAmount, uint128 rewardPerRound, uint128 escrow, uint128 stake, bytes32 specHash))',
];

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
  document: JobDocument;
  specHash: string;
  /** Whether the job can still run rounds: active on-chain, before its deadline, rounds left. */
  open: boolean;
  /** Why it cannot, when it cannot. */
  closedReason: string | null;
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
  private readonly verified = new Map<string, JobDocument>();

  constructor(
    readonly config: JobsChainConfig,
    options: DiscoveryOptions = {},
  ) {
    // The chain is known in advance: no network detection (which retries and logs on its own).
    this.provider = new JsonRpcProvider(config.rpcUrl, Network.from(BigInt(config.chainId)), { staticNetwork: true, batchMaxCount: 1 });
    this.registry = new Contract(getAddress(config.registry), REGISTRY_ABI, this.provider);
    this.fetcher = options.fetch ?? fetch;
    this.documentTimeoutMs = options.documentTimeoutMs ?? 10_000;
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
    const jobs: DiscoveredJob[] = [];
    const hidden: Discovery['hidden'] = [];
    for (const event of events) {
      try {
        jobs.push(await this.check(event));
      } catch (err) {
        if (err instanceof TroveError && err.code === 'CHAIN_UNREACHABLE') throw err;
        hidden.push({ jobId: event.jobId, reason: err instanceof TroveError ? err.message : 'The job could not be checked.' });
      }
    }
    return { jobs, hidden };
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

  private async check(event: PublishedJob): Promise<DiscoveredJob> {
    let onChain: { status: bigint; deadline: bigint; rounds: bigint; roundsClosed: bigint; specHash: string };
    try {
      onChain = (await this.registry.getFunction('getJob')(event.jobId)) as typeof onChain;
    } catch (err) {
      throw new TroveError('CHAIN_UNREACHABLE', 'The chain cannot be reached, so no jobs could be read. Trove will try again.', undefined, { cause: err });
    }
    const key = `${event.jobId}:${event.specHash}`;
    let document = this.verified.get(key);
    if (!document) {
      const signed = await this.fetchDocument(event.specURI);
      document = verifySignedJob(signed, event.specHash, event.researcher).document;
      checkAgreesWithChain(document, event, this.config.chainId);
      this.verified.set(key, document);
    }
    let closedReason: string | null = null;
    if (onChain.status !== STATUS_ACTIVE) closedReason = 'The job has ended on-chain.';
    else if (Number(onChain.deadline) <= this.nowSeconds()) closedReason = 'The job is past its deadline.';
    else if (onChain.roundsClosed >= onChain.rounds) closedReason = 'Every round of the job has run.';
    return { event, document, specHash: event.specHash, open: closedReason === null, closedReason };
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
      res = await this.fetcher(url, { redirect: 'error', signal: AbortSignal.timeout(this.documentTimeoutMs) });
    } catch (err) {
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

/** Throws JOB_SPEC_MISMATCH naming the first fact where the document and the chain disagree. */
export function checkAgreesWithChain(doc: JobDocument, event: PublishedJob, chainId: string): void {
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
