// Benchmark: one full secure-aggregation round through the real coordinator (HTTP, signed
// requests, the round's log in the database), with a model of about 50k parameters and random
// vectors as updates. The coordinator runs in its own process(es) (test/helpers/coordinator-process.ts)
// and the baseline server in its own (bench/plain-upload-server.ts); the contributors are simulated
// in this process. Each server's CPU time (user + system, all its threads, from /proc) is read
// before and after the round, the same way for both, so the servers' cost is measured apart from
// the contributors' own SecAgg+ work, which in reality runs on as many machines as there are
// contributors but here shares two cores with everything. Two comparisons, each in one run:
//   1. secure vs plain, one coordinator process on SQLite: the baseline is a round without secure
//      aggregation, every contributor fetching the model and uploading its vector unmasked, each
//      in one signed request, to a node:http server that averages them. Printed: both servers' CPU
//      time and its ratio (the issue's target, at most 3x at 500 clients, is on this ratio), the
//      whole round's wall time and its ratio (which includes the contributors' crypto on this
//      machine), and the contributors' mean CPU time in their own computation;
//   2. one coordinator process vs three over one PostgreSQL (a server the bench starts and stops),
//      the same round and the same contributors spread over the three (the processes' CPU time
//      together, wall time, ratio).
// Every row names the storage it used. The round ends when the coordinator has the new global
// model; the on-chain close is not timed (see bench:gas for its cost).
//
//   npm run bench:round                              secure vs plain at 10, 100, 500; processes at 2000
//   npm run bench:round -- 10 50                     secure vs plain at the chosen sizes
//   npm run bench:round -- --processes-at 500        one vs three processes at 500 (0: skip)
//   npm run bench:round -- --group-size 500          the most contributors per secure-aggregation group
//   BENCH_CPU_PROF=dir npm run bench:round -- 500     also writes each server process's CPU profile to dir
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Wallet } from 'ethers';
import { isTroveError } from '../common/errors.js';
import { CoordinatorClient, fromHex, InboxQueue, signRequest, toHex } from '../common/jobs/client.js';
import { parseJobDocument, roundVectorLength, type JobDocument } from '../common/jobs/document.js';
import { AUTH_HEADERS } from '../common/jobs/protocol.js';
import { SecAggClient } from '../common/secagg/client.js';
import { MessageType } from '../common/secagg/wire.js';
import { weightedInput } from '../common/secagg/fedavg.js';
import { generateSigningKeyPair, type SigningKeyPair } from '../common/secagg/keys.js';
import { loadSodium } from '../common/secagg/sodium.js';
import { invitedGroup } from '../common/jobs/groups.js';
import { jobSpecHash, signJobDocument } from '../common/jobs/signed-document.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { RoundRunner } from '../coordinator/rounds.js';
import { NonceBook } from '../coordinator/nonces.js';
import { startCoordinatorServer } from '../coordinator/server.js';
import { openStore } from '../coordinator/database.js';
import type { CoordinatorStore } from '../coordinator/store.js';
import type { CoordinatorProcessSettings } from '../test/helpers/coordinator-process.js';
import { startPostgres } from '../test/helpers/postgres.js';
import type { PlainUploadSettings } from './plain-upload-server.js';
import { until as untilPolled } from '../test/helpers/until.js';

const HIDDEN = 220;

/** A sleep-mood style job whose model has about 50k weights (7 -> 220 -> 220 -> 4). */
async function benchJob(url: string): Promise<{ doc: JobDocument; signed: Awaited<ReturnType<typeof signJobDocument>> }> {
  const researcher = Wallet.createRandom();
  const doc = parseJobDocument({
    version: 1,
    title: 'Round benchmark',
    purpose: 'Measures a round.',
    researcher: { name: 'Bench', address: researcher.address },
    coordinator: { url, address: Wallet.createRandom().address },
    chainId: '31337',
    training: {
      kind: 'federated-training',
      features: ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((column) => ({ column, kind: 'numeric' })),
      label: { column: 'mood', kind: 'class', classes: ['low', 'okay', 'good', 'great'] },
      model: {
        inputWidth: 7,
        layers: [
          { type: 'dense', units: HIDDEN, activation: 'relu' },
          { type: 'dense', units: HIDDEN, activation: 'relu' },
          { type: 'dense', units: 4, activation: 'softmax' },
        ],
        loss: 'categorical-crossentropy',
      },
      optimizer: { kind: 'adam', learningRate: 0.01 },
      local: { epochs: 1, batchSize: 32, clipNorm: 1, seed: 1 },
    },
    rounds: 1,
    minContributors: 2,
    privacy: { noiseMultiplier: 1, delta: 1e-5 },
    reward: { token: Wallet.createRandom().address, symbol: 'T', decimals: 18, perRound: '1' },
    deadline: Math.floor(Date.now() / 1000) + 86_400,
    aggregation: {
      clipRange: 1,
      maxExamples: 1000,
      deadlines: { advertiseKeysMs: 600_000, shareKeysMs: 600_000, collectMaskedInputsMs: 600_000, unmaskMs: 600_000 },
    },
  });
  return { doc, signed: await signJobDocument(doc, researcher) };
}

function randomUpdate(d: number): Float64Array {
  const out = new Float64Array(d);
  for (let i = 0; i < d; i++) out[i] = (Math.random() * 2 - 1) * 0.5;
  return out;
}

interface Measured {
  wallMs: number;
  /** CPU time of the server process(es) during the round: the coordinator's cost, or the plain server's. */
  serverCpuMs: number;
  /** Mean CPU time per client spent in its own computation (masking, signing, encoding). */
  clientCpuMs: number;
  /** HTTP requests per client (retries and nonce requests included). */
  requests: number;
}

/** Whether the client's part is done (its stage read afresh: handle() moves it, which narrowing cannot see). */
const finished = (secagg: SecAggClient): boolean => secagg.stage === 'done';

/** Where a round runs: the storage, and how many coordinator processes share it. */
interface Setup {
  /** A SQLite file path or a postgres:// URL. */
  database: string;
  processes: number;
  groupSize: number;
}

// Every simulated contributor shares the loopback address: no per-address limits.
const PER_ADDRESS = { burst: 1_000_000, perSecond: 1_000_000 };
const OPEN_PER_ADDRESS = 1_000_000;

/** Starts a server script in its own node process (as tsx runs it) and waits for the URL it prints. */
function startProcess(script: string, settings: object): Promise<{ child: ChildProcess; url: string }> {
  // BENCH_CPU_PROF=<dir> writes each server's CPU profile there when it stops.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', script, JSON.stringify(settings)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.on('data', (b: Buffer) => stderr.push(b.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}: ${stderr.join('').slice(-2000)}`)));
  });
}

const coordinatorProcess = (settings: CoordinatorProcessSettings) => startProcess('test/helpers/coordinator-process.ts', settings);

/** Clock ticks per second of /proc's CPU times. */
const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/**
 * CPU time (user + system, ms) a process has used so far, all its threads together (worker
 * threads and libuv's pool included), read from /proc the same way for every server measured.
 */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line; fields[0] is field 3 (the state).
  return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND) * 1000;
}

/**
 * One round of n contributors through the coordinator over HTTP. The coordinator runs in its own
 * process(es) (test/helpers/coordinator-process.ts), so that its CPU time is read apart from the
 * contributors', which stay in this process.
 */
async function secureRound(n: number, updates: Float64Array[], examples: number[], setup: Setup): Promise<Measured> {
  const store: CoordinatorStore = await openStore(setup.database);
  // The job and its participants are written by a runner in this process, which then stops;
  // the round is run by the coordinator processes started below.
  const quiet = () => undefined;
  const runner = await RoundRunner.open({ store, timers: false, startDelayMs: 0, groupSize: setup.groupSize, log: quiet });
  const server = await startCoordinatorServer({ runner, perAddress: PER_ADDRESS, openConnectionsPerAddress: OPEN_PER_ADDRESS });
  const children: ChildProcess[] = [];
  try {
    const { doc, signed } = await benchJob(server.url);
    await runner.addJob({ jobId: '1', specHash: jobSpecHash(doc), signed });
    const keys = Array.from({ length: n }, () => generateSigningKeyPair());
    // Enrollment (Semaphore signatures) is not part of a round: the participants are written directly.
    for (const [i, k] of keys.entries()) await store.addParticipant('1', toHex(k.publicKey), String(1000 + i), Date.now());
    runner.close();
    await server.close();
    await runner.release();
    const started = await Promise.all(
      Array.from({ length: setup.processes }, (_, i) => coordinatorProcess({ database: setup.database, processId: `bench-${i}`, groupSize: setup.groupSize, pollMs: 100, perAddress: PER_ADDRESS, openConnectionsPerAddress: OPEN_PER_ADDRESS })),
    );
    children.push(...started.map((p) => p.child));
    let requests = 0;
    const d = roundVectorLength(doc) - 1;
    const cpu = new Float64Array(n);
    const serverCpuBefore = children.reduce((a, c) => a + cpuMsOf(c.pid!), 0);
    const t0 = performance.now();
    await Promise.all(
      keys.map(async (k, i) => {
        // Each contributor's own client, as each app has: its first request asks for a nonce, every answer brings the next.
        const client = new CoordinatorClient({ baseUrl: started[i % started.length]!.url, timeoutMs: 600_000 });
        client.watch(() => requests++);
        let info = await retrying(() => client.round('1', k));
        while (info.state !== 'invited') {
          // A process starts the round on its next look at the database.
          await new Promise((r) => setTimeout(r, 50));
          info = await retrying(() => client.round('1', k));
        }
        await retrying(() => client.model('1', info.round, k, d));
        let t = performance.now();
        const input = weightedInput(updates[i]!, examples[i]!, doc.aggregation.maxExamples, doc.aggregation.clipRange);
        const group = invitedGroup(info, { chainId: doc.chainId, jobId: '1', minContributors: doc.minContributors });
        const secagg = await SecAggClient.create({ id: group.localId, signingKeys: k, roster: group.members.map(fromHex), roundId: group.roundId, input });
        cpu[i]! += performance.now() - t;
        // As the app does: each reply's answer brings the next stage's messages.
        const queue = new InboxQueue();
        while (secagg.stage !== 'done' && secagg.stage !== 'aborted') {
          if (queue.length === 0) queue.take((await retrying(() => client.inbox('1', info.round, k, queue.after, 20_000))).messages);
          const m = queue.next();
          if (!m) continue;
          t = performance.now();
          const reply = secagg.handle(m.data);
          cpu[i]! += performance.now() - t;
          if (reply) {
            // As the app does, the masked input's answer is not held open (it carries the receipt).
            const next = finished(secagg) ? undefined : { after: queue.after, waitMs: queue.length > 0 || reply[1] === MessageType.MaskedInput ? 0 : 20_000 };
            // A message whose acknowledgement was lost is already in: its repeat is a replay.
            const answer = await retrying(() => client.send('1', info.round, k, reply, next)).catch((err: unknown) => {
              if (!isTroveError(err, 'SECAGG_REPLAY')) throw err;
            });
            if (answer) queue.take(answer.messages);
          }
        }
      }),
    );
    await until(async () => (await store.model('1', 1)) !== undefined);
    const wallMs = performance.now() - t0;
    const serverCpuMs = children.reduce((a, c) => a + cpuMsOf(c.pid!), 0) - serverCpuBefore;
    return { wallMs, serverCpuMs, clientCpuMs: cpu.reduce((a, b) => a + b, 0) / n, requests: requests / n };
  } finally {
    runner.close();
    await server.close().catch(() => undefined);
    await runner.settled();
    await stopAll(children);
    await store.close();
  }
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
}

/** Retries while the coordinator cannot be reached, as the app does; counts the retries. */
let retries = 0;
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      // Thousands of connections opened at once on a small machine time out now and then: back off as the app does.
      // A request that waited past its nonce's lifetime in an overloaded process is signed again over a fresh one.
      if (!(isTroveError(err, 'COORDINATOR_UNREACHABLE') || isTroveError(err, 'NONCE_REFUSED')) || attempt >= 20) throw err;
      retries++;
      await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
    }
  }
}

/** A plain request retried like the coordinator's when its connection breaks (`again` runs before each retry). */
async function retryingFetch(fn: () => Promise<Response>, again: () => void = () => undefined): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof TypeError) || attempt >= 20) throw err;
      retries++;
      again();
      await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
    }
  }
}

/** Waits for the round, looking every 5 ms so the wait does not blur the timings. */
const until = (condition: () => boolean | Promise<boolean>) => untilPolled(condition, 600_000, 'the round to finish', 5);

/**
 * The baseline, a round without secure aggregation: every contributor fetches the model and
 * uploads its vector unmasked, each in one signed request, to a plain node:http server in its own
 * process (bench/plain-upload-server.ts), which averages them.
 */
async function plainRound(n: number, updates: Float64Array[], examples: number[]): Promise<Measured> {
  const d = updates[0]!.length;
  const nonceKey = randomBytes(32);
  const nonces = new NonceBook(nonceKey, Date.now);
  const { child, url } = await startProcess('bench/plain-upload-server.ts', { contributors: n, d, nonceKey: nonceKey.toString('hex') } satisfies PlainUploadSettings);
  try {
    const keys: SigningKeyPair[] = Array.from({ length: n }, () => generateSigningKeyPair());
    const cpu = new Float64Array(n);
    const serverCpuBefore = cpuMsOf(child.pid!);
    const t0 = performance.now();
    await Promise.all(
      keys.map(async (k, i) => {
        // A first nonce, asked for as the coordinator's client asks when it has none; the model's answer carries the next.
        const first = await retryingFetch(() => fetch(`${url}/v1/nonce`));
        await first.arrayBuffer();
        const got = await retryingFetch(() => fetch(`${url}/v1/model`, { headers: signRequest(k, 'GET', '/v1/model', new Uint8Array(0), first.headers.get(AUTH_HEADERS.nonce)!) }));
        if (got.status !== 200 || (await got.arrayBuffer()).byteLength !== 4 * d) throw new Error(`model refused: ${got.status}`);
        const t = performance.now();
        const input = weightedInput(updates[i]!, examples[i]!, 1000, 1);
        const body = new Uint8Array(Float32Array.from(input).buffer);
        let nonce = got.headers.get(AUTH_HEADERS.nonce)!;
        const headers = signRequest(k, 'POST', '/v1/upload', body, nonce);
        cpu[i] = performance.now() - t;
        // Signed again over a fresh nonce when retried, as the coordinator's client does.
        const res = await retryingFetch(() => fetch(`${url}/v1/upload`, { method: 'POST', headers: nonce === headers[AUTH_HEADERS.nonce] ? headers : signRequest(k, 'POST', '/v1/upload', body, nonce), body }), () => (nonce = nonces.issue()));
        if (res.status !== 204) throw new Error(`upload refused: ${res.status}`);
      }),
    );
    const result = (await (await fetch(`${url}/v1/result`)).json()) as { received: number };
    if (result.received !== n) throw new Error(`the plain server averaged ${result.received} uploads, not ${n}`);
    const wallMs = performance.now() - t0;
    const serverCpuMs = cpuMsOf(child.pid!) - serverCpuBefore;
    return { wallMs, serverCpuMs, clientCpuMs: cpu.reduce((a, b) => a + b, 0) / n, requests: 3 };
  } finally {
    await stopAll([child]);
  }
}

function flag(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} takes a whole number.`);
  return v;
}

async function main(): Promise<void> {
  await loadSodium();
  const args = process.argv.slice(2);
  const sizes = args.filter((a, i) => /^\d+$/.test(a) && !(args[i - 1] ?? '').startsWith('--')).map(Number);
  const ns = sizes.length > 0 ? sizes : [10, 100, 500];
  const processesAt = flag('--processes-at') ?? 2000;
  const groupSize = flag('--group-size') ?? 1000;
  const { doc } = await benchJob('http://127.0.0.1:1');
  const d = roundVectorLength(doc) - 1;
  console.log(`one round, model of ${d} weights (vector ${d + 1}), at most ${groupSize} per secure-aggregation group, node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('servers (the coordinator, the plain-upload server) each in their own process; the contributors simulated in this one.');
  console.log('server CPU: user + system time of the server process(es) during the round (the target, at most 3x at 500, is on this ratio);');
  console.log("wall: the whole round, which on this machine includes every simulated contributor's own SecAgg+ work on the same cores.");
  console.log('clients  storage  server CPU ms: secure   plain  ratio  wall ms: secure    plain  ratio  client CPU ms: secure  plain  requests per client: secure  plain');
  const dir = mkdtempSync(join(tmpdir(), 'trove-bench-round-'));
  try {
    for (const [run, n] of ns.entries()) {
      const updates = Array.from({ length: n }, () => randomUpdate(d));
      const examples = Array.from({ length: n }, () => 1 + Math.floor(Math.random() * 999));
      const plain = await plainRound(n, updates, examples);
      const secure = await secureRound(n, updates, examples, { database: join(dir, `coordinator-${run}.db`), processes: 1, groupSize });
      console.log(
        [
          String(n).padStart(7),
          '  sqlite ',
          secure.serverCpuMs.toFixed(0).padStart(22),
          plain.serverCpuMs.toFixed(0).padStart(8),
          (secure.serverCpuMs / plain.serverCpuMs).toFixed(1).padStart(7),
          secure.wallMs.toFixed(0).padStart(17),
          plain.wallMs.toFixed(0).padStart(9),
          (secure.wallMs / plain.wallMs).toFixed(1).padStart(7),
          secure.clientCpuMs.toFixed(1).padStart(23),
          plain.clientCpuMs.toFixed(2).padStart(7),
          secure.requests.toFixed(1).padStart(29),
          plain.requests.toFixed(1).padStart(7),
        ].join('') + (retries > 0 ? `  (${retries} requests retried after a broken connection or a timeout)` : ''),
      );
      retries = 0;
    }
    if (processesAt > 0) {
      const postgres = await startPostgres();
      try {
        const n = processesAt;
        const updates = Array.from({ length: n }, () => randomUpdate(d));
        const examples = Array.from({ length: n }, () => 1 + Math.floor(Math.random() * 999));
        console.log('');
        console.log('clients  storage    processes  coordinator CPU ms (all processes)  wall ms  wall ratio to one process');
        const row = (processes: number, m: Measured, ratio: string) =>
          console.log(`${String(n).padStart(7)}  postgres ${String(processes).padStart(10)}${m.serverCpuMs.toFixed(0).padStart(36)}${m.wallMs.toFixed(0).padStart(9)}${ratio.padStart(27)}` + (retries > 0 ? `  (${retries} requests retried)` : ''));
        const one = await secureRound(n, updates, examples, { database: postgres.createDatabase('one'), processes: 1, groupSize });
        row(1, one, '1.0');
        retries = 0;
        const three = await secureRound(n, updates, examples, { database: postgres.createDatabase('three'), processes: 3, groupSize });
        row(3, three, (three.wallMs / one.wallMs).toFixed(2));
      } finally {
        postgres.stop();
      }
    }
    console.log(`load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err, (err as { cause?: unknown }).cause);
  process.exit(1);
});
