// A whole Trove network on this machine: a local anvil chain with the real contracts, a
// researcher's coordinator serving rounds over HTTP, and contributors, each a real vault with its
// own data, its own worker process and the same jobs service the app runs. The demo runs on it,
// and so do the end-to-end tests.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JsonRpcProvider, NonceManager, Wallet, type Contract, type Signer } from 'ethers';
import { INTERACTIVE_KDF } from '../services/vault/keys.js';
import type { JobDocument, JobDocumentInput } from '../../common/jobs/document.js';
import { isAnalyticsJob } from '../../common/jobs/kinds.js';
import { ANVIL_KEYS, startAnvil, type LocalChain } from '../../contracts/anvil.js';
import { deployContract, deployTrove, type TroveDeployment } from '../../contracts/deploy.js';
import { completeJobDocument, publishJobDocument } from '../../coordinator/jobs.js';
import { RoundRunner, type RoundRunnerOptions } from '../../coordinator/rounds.js';
import { startCoordinatorServer, type CoordinatorServer, type CoordinatorServerOptions } from '../../coordinator/server.js';
import { openStore } from '../../coordinator/database.js';
import { attentionOnly } from '../../coordinator/log.js';
import type { CoordinatorStore } from '../../coordinator/store.js';
import { jobsChainConfig } from '../services/jobs/config.js';
import type { JobsChainConfig } from '../services/jobs/discovery.js';
import { JobsService, type JobsServiceOptions } from '../services/jobs/service.js';
import { enrollmentCircuitFiles } from '../services/jobs/circuits.js';
import { TroveError } from '../../common/errors.js';
import { Vault } from '../services/vault/index.js';
import type { WorkerLauncher } from '../services/worker/launcher.js';
import { NodeWorkerLauncher } from '../services/worker/launcher.js';
import { WorkerSupervisor } from '../services/worker/supervisor.js';

/** The example job every part of the local network is set up for. */
export const SLEEP_MOOD_JOB_FILE = new URL('../../coordinator/jobs/sleep-mood.json', import.meta.url);

/** A researcher's coordinator: its database, round runner and HTTP server. */
export interface LocalCoordinator {
  store: CoordinatorStore;
  runner: RoundRunner;
  server: CoordinatorServer;
  /** Stops the server and runner and closes the database. */
  close(): Promise<void>;
}

/** Opens the coordinator database (a SQLite file or a postgres:// URL) with a round runner and serves it over HTTP. */
export async function openCoordinator(
  database: string,
  runner: Omit<RoundRunnerOptions, 'store'>,
  server: Omit<CoordinatorServerOptions, 'runner'> = {},
): Promise<LocalCoordinator> {
  const store = await openStore(database);
  try {
    const opened = await RoundRunner.open({ ...runner, store });
    try {
      const http = await startCoordinatorServer({ ...server, runner: opened });
      return {
        store,
        runner: opened,
        server: http,
        close: async () => {
          opened.close();
          await http.close();
          // Hands this process's leases back, so another process need not wait for them to expire.
          await opened.release();
          await store.close();
        },
      };
    } catch (err) {
      opened.close();
      throw err;
    }
  } catch (err) {
    await store.close();
    throw err;
  }
}

/** The example job file as a researcher writes it: addresses, chain and deadline left out. */
export function sleepMoodExample(): Record<string, unknown> {
  return JSON.parse(readFileSync(SLEEP_MOOD_JOB_FILE, 'utf8')) as Record<string, unknown>;
}

/**
 * Completes the example job (with `overrides`) for a coordinator, paid in `token`, and publishes it
 * with its reward escrowed, as the coordinator's publish command does with a job file.
 */
export async function publishExampleJob(o: {
  runner: RoundRunner;
  researcher: Signer;
  coordinatorAccount: Signer;
  coordinatorUrl: string;
  deployment: TroveDeployment;
  token: string;
  /** The reward token's symbol, as the consent card shows it. */
  tokenSymbol: string;
  nowMs: number;
  overrides?: Partial<JobDocumentInput>;
  validationCsv?: string | null;
}) {
  const example = sleepMoodExample();
  const document = completeJobDocument(
    { ...example, reward: { ...(example.reward as object), token: o.token, symbol: o.tokenSymbol }, ...o.overrides },
    {
      researcher: await o.researcher.getAddress(),
      coordinatorAddress: await o.coordinatorAccount.getAddress(),
      coordinatorUrl: o.coordinatorUrl,
      deployment: o.deployment,
      nowMs: o.nowMs,
    },
  );
  if (isAnalyticsJob(document)) throw new TroveError('INVALID_JOB_SPEC', 'The example job trains a model.');
  const published = await publishJobDocument({ runner: o.runner, researcher: o.researcher, deployment: o.deployment, document, validationCsv: o.validationCsv ?? null });
  return { ...published, document };
}

export interface LocalNetworkOptions {
  /** Where the coordinator's database and the contributors' vaults are kept. */
  dir: string;
  /** Wait this long after a job has its minimum of contributors before inviting, so more can join. */
  roundStartDelayMs?: number;
  /**
   * Also mine a block this often, besides one for each transaction. ethers notices a mined
   * transaction by polling for new blocks; one mined just before its first poll leaves it waiting
   * on an otherwise quiet chain until a later transaction makes a block. 1 s by default; 0 for
   * blocks only on transactions.
   */
  blockTimeSeconds?: number;
  /** Told about background failures of the coordinator (a close that must be retried, ...). */
  onCoordinatorError?: (err: unknown) => void;
  /** What `publish` changes in the example job before any overrides of its own (tests run smaller rounds). */
  jobDefaults?: Partial<JobDocumentInput>;
  /** The coordinator's database: a postgres:// URL, or by default a SQLite file in `dir`. */
  database?: string;
  /** The coordinator's clock (stage deadlines, request nonces); tests pass deadlines with it instead of waiting. */
  now?: () => number;
}

export interface Contributor {
  name: string;
  vault: Vault;
  jobs: JobsService;
  supervisor: WorkerSupervisor;
  /** The dataset the contributor's diary was imported as. */
  datasetId: string;
  /** Joins a job with each job column mapped to the dataset column of the same name. */
  join(jobId: string): Promise<void>;
  close(): Promise<void>;
}

export interface LocalNetwork {
  chain: LocalChain;
  provider: JsonRpcProvider;
  deployment: TroveDeployment;
  /** A test dollar the researcher pays rewards in (local chains only). */
  token: Contract;
  researcher: NonceManager;
  coordinatorAccount: NonceManager;
  store: CoordinatorStore;
  runner: RoundRunner;
  server: CoordinatorServer;
  /** What the app needs to discover this network's jobs. */
  jobsChain: JobsChainConfig;
  /** Signs and publishes a job (the example by default) with its reward escrowed. */
  publish(overrides?: Partial<JobDocumentInput>, validationCsv?: string | null): Promise<{ jobId: string; specHash: string; document: JobDocument }>;
  /**
   * A contributor with a fresh vault holding `csv` as its dataset, and a worker process of its own
   * unless given `supervisor` (simulated contributors on one computer may share one worker).
   */
  addContributor(name: string, csv: string, options?: { launcher?: WorkerLauncher; supervisor?: WorkerSupervisor; jobs?: Partial<JobsServiceOptions> }): Promise<Contributor>;
  close(): Promise<void>;
}

export async function startLocalNetwork(options: LocalNetworkOptions): Promise<LocalNetwork> {
  mkdirSync(options.dir, { recursive: true });
  const blockTime = options.blockTimeSeconds ?? 1;
  const chain = await startAnvil(blockTime > 0 ? { args: ['--mixed-mining', '--block-time', String(blockTime)] } : {});
  const contributors: Contributor[] = [];
  let coordinator: LocalCoordinator | undefined;
  try {
    const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, pollingInterval: 100 });
    const account = (i: number) => new NonceManager(new Wallet(ANVIL_KEYS[i]!, provider));
    const [deployer, researcher, coordinatorAccount] = [account(0), account(1), account(2)];
    const deployment = await deployTrove(deployer);
    const token = (await deployContract(deployer, 'TestToken', ['Test Dollar', 'TUSD'])).connect(researcher) as Contract;
    await (await token.getFunction('mint')(await researcher.getAddress(), 10n ** 30n)).wait();

    coordinator = await openCoordinator(options.database ?? join(options.dir, 'coordinator.db'), {
      chain: { coordinator: coordinatorAccount, provider, deployment },
      startDelayMs: options.roundStartDelayMs ?? 0,
      // The demo tells its own story; the coordinator's routine events would only bury it.
      log: attentionOnly(),
      ...(options.onCoordinatorError ? { onError: options.onCoordinatorError } : {}),
      ...(options.now ? { now: options.now } : {}),
    }, options.now ? { now: options.now } : {});
    const { store, runner, server } = coordinator;
    const jobsChain = jobsChainConfig(chain.url, deployment);

    const network: LocalNetwork = {
      chain,
      provider,
      deployment,
      token,
      researcher,
      coordinatorAccount,
      store,
      runner,
      server,
      jobsChain,
      publish: async (overrides = {}, validationCsv = null) => {
        const published = await publishExampleJob({ runner, researcher, coordinatorAccount, coordinatorUrl: server.url, deployment, token: await token.getAddress(), tokenSymbol: 'TUSD', nowMs: Date.now(), overrides: { ...options.jobDefaults, ...overrides }, validationCsv });
        return { jobId: published.jobId, specHash: published.specHash, document: published.document };
      },
      addContributor: async (name, csv, more = {}) => {
        const home = join(options.dir, 'contributors', name);
        mkdirSync(home, { recursive: true });
        const file = join(home, 'diary.csv');
        writeFileSync(file, csv);
        const vault = await Vault.create(join(home, 'trove.vault'), `${name}: a passphrase for this simulated contributor`, { kdf: INTERACTIVE_KDF, autoLockMs: null });
        const report = await vault.importFile(file, { name: 'Sleep diary', policy: 'skip-rows' });
        const ownWorker = more.supervisor === undefined;
        const supervisor = more.supervisor ?? new WorkerSupervisor({ launcher: more.launcher ?? new NodeWorkerLauncher() });
        // The whole network runs on this computer's loopback, so the address policy must allow it.
        // Every contributor shares this computer, so spreading uploads over a quarter of the stage
        // would hide nothing here and only make the demo wait: one second shows the behaviour.
        const participation = { uploadSpreadMs: 1_000, ...more.jobs?.participation };
        const jobs = new JobsService({ vault, chain: jobsChain, supervisor, enrollmentCircuit: enrollmentCircuitFiles(), allowLocalNetwork: true, ...more.jobs, participation });
        const datasetId = report.datasetId!;
        const contributor: Contributor = {
          name,
          vault,
          jobs,
          supervisor,
          datasetId,
          join: async (jobId) => {
            await untilListed(jobs, jobId);
            const card = jobs.cardOf(jobId);
            const columns = Object.fromEntries(card.columns.map((c) => [c.name, c.name]));
            await jobs.optIn(jobId, datasetId, columns);
            await jobs.startParticipation();
          },
          close: async () => {
            await jobs.close();
            if (ownWorker) await supervisor.stop();
            vault.close();
          },
        };
        contributors.push(contributor);
        return contributor;
      },
      close: async () => {
        await Promise.allSettled(contributors.map((c) => c.close()));
        await coordinator?.close();
        await chain.stop();
      },
    };
    return network;
  } catch (err) {
    await Promise.allSettled(contributors.map((c) => c.close()));
    await coordinator?.close();
    await chain.stop();
    throw err;
  }
}

/**
 * Reads the chain again until the job is listed, as a person would press Refresh: its document
 * may not have arrived within one refresh's short budget on a busy computer.
 */
async function untilListed(jobs: JobsService, jobId: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const view = await jobs.refresh();
    if (view.jobs.some((j) => j.jobId === jobId)) return;
    if (Date.now() > deadline) {
      const reason = view.hidden.find((h) => h.jobId === jobId)?.reason ?? 'It is not on-chain.';
      throw new TroveError('JOB_NOT_FOUND', `Job ${jobId} was not listed within ${timeoutMs / 1000} s. ${reason}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
