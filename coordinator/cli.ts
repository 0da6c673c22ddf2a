// The researcher's command line: publish a job, serve its rounds, and read the results.
//
//   npm run coordinator -- chain        (a development chain with a test reward token; keep it running)
//   npm run coordinator -- faucet 0xYourAddress 1000
//   npm run coordinator -- publish coordinator/jobs/sleep-mood.json --validation validation.csv
//   npm run coordinator -- publish coordinator/jobs/sleep-mean-module.json --module coordinator/jobs/modules/build/sleep-mean.wasm
//   npm run coordinator -- serve
//   npm run coordinator -- status 1
//   npm run coordinator -- results 1 --out results/
//   npm run coordinator -- cancel 1
//
// Options: --rpc (default http://127.0.0.1:8545), --deployment (the file deploy:contracts writes,
// default deployments/local.json), --database (a SQLite file, default coordinator.db, or a
// postgres:// URL; --db is the same), --host/--port (default
// 127.0.0.1:8787) and --url (the address contributors reach, default http://host:port).
// The researcher key is TROVE_RESEARCHER_KEY and the coordinator key TROVE_COORDINATOR_KEY; on a
// local anvil chain (id 31337) they default to anvil's well-known development accounts.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import { TroveError } from '../common/errors.js';
import { formatTokenAmount } from '../common/tokens.js';
import { describeAggregate } from '../common/analytics/release.js';
import type { TroveDeployment } from '../contracts/deploy.js';
import { cancelJob } from './chain.js';
import { faucet, startLocalChain, STARTING_BALANCE } from './local-chain.js';
import { completeJobDocument, publishJobDocument } from './jobs.js';
import { storedStatus } from './job-book.js';
import { operationsOf, RoundRunner } from './rounds.js';
import { nonceKeyFrom } from './nonces.js';
import { startCoordinatorServer } from './server.js';
import { openStore } from './database.js';
import { modelBytes } from './store.js';

/** anvil's development accounts 1 and 2: public knowledge, accepted only on a local chain. */
const ANVIL_RESEARCHER_KEY = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
const ANVIL_COORDINATOR_KEY = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a';

const USAGE = `usage: npm run coordinator -- <command> [options]
  chain [--port 8545]                          a development chain with the contracts and a test
                                               reward token; writes the deployment file
  faucet <address> [amount]                    test reward tokens for an address (development chain)
  publish <job.json> [--validation file.csv]   sign, escrow and register a job
          [--module file.wasm]                 (an analytics job's module: npm run build:modules)
  serve                                        run the rounds of every job in the database
  status <jobId>                               the job's state and its rounds
  results <jobId> [--out dir]                  per-round outcome: each round's model, or an
                                               analytics round's sum with its error bars
  cancel <jobId>                               end the job and refund the unspent escrow
options: --rpc URL  --deployment FILE  --database FILE|postgres://URL (or --db)  --host HOST  --port PORT  --url URL
         --group-size N (serve: the most contributors in one secure-aggregation group, default 1000)`;

interface Options {
  rpc: string;
  deployment: string;
  db: string;
  host: string;
  port: number;
  url: string;
  validation?: string;
  module?: string;
  out?: string;
  /** The most contributors in one secure-aggregation group (serve). */
  groupSize?: number | undefined;
}

function fail(message: string): never {
  throw new TroveError('INVALID_INPUT', message);
}

function readDeployment(file: string): TroveDeployment {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as TroveDeployment;
  } catch (err) {
    throw new TroveError('INVALID_INPUT', `Cannot read the deployment file ${file}: run \`npm run deploy:contracts\` first or pass --deployment.`, undefined, { cause: err });
  }
}

async function chain(options: Options) {
  const provider = new JsonRpcProvider(options.rpc, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 250 });
  let chainId: bigint;
  try {
    chainId = (await provider.getNetwork()).chainId;
  } catch (err) {
    provider.destroy();
    throw new TroveError('CHAIN_UNREACHABLE', `The chain at ${options.rpc} cannot be reached.`, undefined, { cause: err });
  }
  const deployment = readDeployment(options.deployment);
  if (deployment.chainId !== chainId.toString()) fail(`The deployment file is for chain ${deployment.chainId}, but ${options.rpc} is chain ${chainId}.`);
  const key = (name: string, local: string) => {
    const value = process.env[name] ?? (chainId === 31337n ? local : undefined);
    if (!value) fail(`Set ${name} to use chain ${chainId}.`);
    return new NonceManager(new Wallet(value, provider));
  };
  return {
    provider,
    deployment,
    researcher: () => key('TROVE_RESEARCHER_KEY', ANVIL_RESEARCHER_KEY),
    coordinator: () => key('TROVE_COORDINATOR_KEY', ANVIL_COORDINATOR_KEY),
  };
}

async function publish(file: string, options: Options): Promise<void> {
  const c = await chain(options);
  const store = await openStore(options.db);
  try {
    const researcher = c.researcher();
    let input: unknown;
    try {
      input = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new TroveError('INVALID_JOB_SPEC', `Cannot read the job file ${file} as JSON.`, undefined, { cause: err });
    }
    const document = completeJobDocument(input, {
      researcher: await researcher.getAddress(),
      coordinatorAddress: await c.coordinator().getAddress(),
      coordinatorUrl: options.url,
      deployment: c.deployment,
      nowMs: Date.now(),
    });
    const validationCsv = options.validation ? readFileSync(options.validation, 'utf8') : null;
    // A one-shot writer, not a serving process: it stays out of the process list `status` shows.
    const runner = await RoundRunner.open({ store, timers: false, register: false });
    const module = options.module ? new Uint8Array(readFileSync(options.module)) : null;
    const job = await publishJobDocument({ runner, researcher, deployment: c.deployment, document, validationCsv, module });
    runner.close();
    await runner.settled();
    console.log(`published job ${job.jobId}: spec ${job.specHash}`);
    const amount = (smallest: unknown) => formatTokenAmount(String(smallest), document.reward.decimals, document.reward.symbol);
    console.log(`  escrow ${amount(job.escrow)} + stake ${amount(job.stake)} (token ${document.reward.token}), tx ${job.tx}`);
    console.log(`  document at ${job.specURI}`);
  } finally {
    await store.close();
    c.provider.destroy();
  }
}

async function serve(options: Options): Promise<void> {
  const c = await chain(options);
  const store = await openStore(options.db);
  const runner = await RoundRunner.open({
    store,
    chain: { coordinator: c.coordinator(), provider: c.provider, deployment: c.deployment },
    url: options.url,
    ...(options.groupSize === undefined ? {} : { groupSize: options.groupSize }),
  });
  // Every process of the deployment has the coordinator key, so all derive the same nonce key.
  const coordinatorKey = (c.coordinator().signer as Wallet).privateKey;
  const server = await startCoordinatorServer({ runner, host: options.host, port: options.port, nonceKey: nonceKeyFrom(coordinatorKey) });
  console.log(`coordinator listening on ${server.url} (contributors reach it at ${options.url}); database ${store.location}`);
  for (const row of await store.jobs()) console.log(`  job ${row.jobId}: ${row.state}`);
  await new Promise<void>((done) => {
    const stop = () => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  runner.close();
  await server.close();
  // Leases handed back: the other processes on the database take this one's work at once.
  await runner.release();
  await store.close();
  c.provider.destroy();
}

async function status(jobId: string, options: Options): Promise<void> {
  const store = await openStore(options.db);
  try {
    const s = await storedStatus(store, jobId);
    console.log(`job ${s.jobId} (${s.specHash}): ${s.state}, ${s.enrolled} enrolled, round ${s.currentRound} of ${s.roundsTotal}`);
    for (const r of s.rounds) {
      const v = r.validation ? `, validation loss ${r.validation.loss.toFixed(4)}${r.validation.accuracy === null ? '' : ` accuracy ${r.validation.accuracy.toFixed(3)}`}` : '';
      console.log(`  round ${r.round}: ${r.stage}, ${r.invited} invited${r.included === null ? '' : `, ${r.included} included`}${v}${r.closed ? `, closed in ${r.closed.tx}` : ''}`);
      const row = await store.round(jobId, r.round);
      if (row && row.stage === 'closing' && row.closeError) {
        const next = row.closeRetryAt === null ? '' : `; the coordinator tries again at ${new Date(row.closeRetryAt).toISOString()}`;
        console.log(`    not closed on-chain yet: ${row.closeAttempts} attempt${row.closeAttempts === 1 ? '' : 's'} failed, the last with "${row.closeError}"${next}`);
      }
    }
    for (const r of s.rounds) {
      const row = await store.round(jobId, r.round);
      if (!row?.secaggGroups || row.secaggGroups.length < 2) continue;
      const outcomes = new Map((await store.groupOutcomes(jobId, r.round)).map((o) => [o.grp, o]));
      const groups = row.secaggGroups.map((g) => {
        const o = outcomes.get(g.index);
        return `${g.index}: ${g.size} invited, ${o ? (o.stage === 'done' ? `${o.included.length} included` : 'abandoned') : 'running'}`;
      });
      console.log(`  round ${r.round} groups: ${groups.join('; ')}`);
    }
    const { processes } = await operationsOf(store);
    const now = Date.now();
    console.log(`coordinator processes on ${store.location}:`);
    if (processes.length === 0) console.log('  none is serving (start one with `serve`)');
    for (const p of processes) {
      const seen = Math.round((now - p.seenAt) / 1000);
      const leases = p.leases.filter((l) => l.expiresAt > now);
      console.log(`  ${p.id} (pid ${p.pid}${p.url ? `, ${p.url}` : ''}): last seen ${seen} s ago; ${leases.length === 0 ? 'holds no lease' : `holds ${leases.map((l) => l.name).join(', ')}`}`);
    }
  } finally {
    await store.close();
  }
}

async function results(jobId: string, options: Options): Promise<void> {
  const store = await openStore(options.db);
  try {
    await storedStatus(store, jobId);
    const rounds = (await store.rounds(jobId)).map((r) => ({
      round: r.round,
      stage: r.stage,
      invited: r.roster.length,
      /** Client ids (roster positions) whose update is in the round's model. */
      included: r.included,
      validation: r.validation,
      aggregate: r.aggregate,
      onChain: r.closeTx ? { tx: r.closeTx, groupRoot: r.groupRoot, groupSize: r.groupSize } : null,
      abortReason: r.abortReason,
      model: null as string | null,
    }));
    if (options.out) {
      mkdirSync(options.out, { recursive: true });
      const initial = await store.model(jobId, 0);
      if (initial) writeFileSync(join(options.out, 'model-initial.f32'), modelBytes(initial));
      for (const r of rounds) {
        const model = r.stage === 'closed' || r.stage === 'closing' ? await store.model(jobId, r.round + 1) : undefined;
        if (!model) continue;
        r.model = `model-round-${r.round}.f32`;
        writeFileSync(join(options.out, r.model), modelBytes(model));
      }
      writeFileSync(join(options.out, 'results.json'), `${JSON.stringify({ jobId, rounds }, null, 2)}\n`);
    }
    console.log(JSON.stringify({ jobId, rounds }, null, 2));
    for (const r of rounds) {
      if (!r.aggregate) continue;
      console.log(`\nround ${r.round + 1}:`);
      for (const line of describeAggregate(r.aggregate)) console.log(`  ${line}`);
    }
  } finally {
    await store.close();
  }
}

async function localChain(options: Options, port: number): Promise<void> {
  const running = await startLocalChain({ deploymentFile: options.deployment, port });
  const test = running.deployment.testToken!;
  const rpc = running.chain.url === 'http://127.0.0.1:8545' ? '' : ` --rpc ${running.chain.url}`;
  console.log(`development chain at ${running.chain.url} (chain id ${running.deployment.chainId}); contracts written to ${options.deployment}`);
  console.log(`  test reward token ${test.symbol} at ${test.address}; the researcher account ${running.researcher} holds ${STARTING_BALANCE.toLocaleString('en')} ${test.symbol}`);
  console.log('next, in another terminal:');
  console.log(`  npm run coordinator -- publish coordinator/jobs/sleep-mood.json${rpc}`);
  console.log(`  npm run coordinator -- serve${rpc}`);
  console.log(`  npm run coordinator -- status 1${rpc}`);
  console.log('Ctrl-C stops the chain; everything on it is gone with it.');
  await new Promise<void>((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
  await running.stop();
}

async function faucetCommand(to: string, amount: string | undefined, options: Options): Promise<void> {
  const c = await chain(options);
  try {
    if (amount !== undefined && !/^[0-9]{1,13}$/.test(amount)) fail(`The amount is a whole number of tokens, not ${amount}.`);
    const whole = BigInt(amount ?? '1000');
    await faucet(c.provider, c.deployment, to, whole);
    console.log(`sent ${whole.toLocaleString('en')} ${c.deployment.testToken?.symbol ?? ''} to ${to}`);
  } finally {
    c.provider.destroy();
  }
}

async function cancel(jobId: string, options: Options): Promise<void> {
  const c = await chain(options);
  try {
    const out = await cancelJob(c.researcher(), c.deployment, jobId);
    const store = await openStore(options.db);
    try {
      if (await store.job(jobId)) await store.setJobState(jobId, 'cancelled');
    } finally {
      await store.close();
    }
    console.log(`job ${jobId} ${out.cancelled ? 'cancelled' : 'settled'}: refunded ${out.refund} and the stake ${out.stake}, tx ${out.tx}`);
  } finally {
    c.provider.destroy();
  }
}

export async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      rpc: { type: 'string', default: 'http://127.0.0.1:8545' },
      deployment: { type: 'string', default: 'deployments/local.json' },
      db: { type: 'string', default: 'coordinator.db' },
      database: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      url: { type: 'string' },
      'group-size': { type: 'string' },
      validation: { type: 'string' },
      module: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  const [command, arg, second] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  // The coordinator listens on 8787 by default; a development chain on anvil's usual 8545.
  const port = Number(values.port ?? (command === 'chain' ? 8545 : 8787));
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number, not ${values.port}.`);
  const options: Options = {
    rpc: values.rpc,
    deployment: values.deployment,
    db: values.database ?? values.db,
    host: values.host,
    port,
    url: values.url ?? `http://${values.host.includes(':') ? `[${values.host}]` : values.host}:${port}`,
    validation: values.validation,
    module: values.module,
    out: values.out,
    groupSize: values['group-size'] === undefined ? undefined : Number(values['group-size']),
  };
  if (options.groupSize !== undefined && !(Number.isInteger(options.groupSize) && options.groupSize >= 2)) fail(`--group-size must be a whole number of at least 2, not ${values['group-size']}.`);
  const needArg = (what: string) => arg ?? fail(`${command} needs ${what}.\n${USAGE}`);
  switch (command) {
    case 'chain':
      return localChain(options, port);
    case 'faucet':
      return faucetCommand(needArg('an address'), second, options);
    case 'publish':
      return publish(needArg('a job file'), options);
    case 'serve':
      return serve(options);
    case 'status':
      return status(needArg('a job id'), options);
    case 'results':
      return results(needArg('a job id'), options);
    case 'cancel':
      return cancel(needArg('a job id'), options);
    default:
      fail(`Unknown command ${command}.\n${USAGE}`);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof TroveError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
