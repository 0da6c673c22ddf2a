// Benchmark: one full secure-aggregation round through the real coordinator (HTTP, signed
// requests, the round's log in the database), with a model of about 50k parameters and random
// vectors as updates, contributors simulated in this process. Two comparisons, each measured in
// the same run with both sides treated alike:
//   1. secure vs plain, one coordinator process on SQLite: the baseline is each contributor
//      uploading its vector unmasked in one signed request to a node:http server that averages
//      them (wall time, per-client CPU, ratios; target for 500 clients: at most 3x);
//   2. one coordinator process vs three over one PostgreSQL (a server the bench starts and stops),
//      the same round and the same contributors spread over the three (wall time, ratio).
// Every row names the storage it used. The round ends when the coordinator has the new global
// model; the on-chain close is not timed (see bench:gas for its cost).
//
//   npm run bench:round                              secure vs plain at 10, 100, 500; processes at 2000
//   npm run bench:round -- 10 50                     secure vs plain at the chosen sizes
//   npm run bench:round -- --processes-at 500        one vs three processes at 500 (0: skip)
//   npm run bench:round -- --group-size 500          the most contributors per secure-aggregation group
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Wallet } from 'ethers';
import { isTroveError } from '../common/errors.js';
import { CoordinatorClient, fromHex, sha256Hex, signRequest, toHex } from '../common/jobs/client.js';
import { parseJobDocument, roundVectorLength, type JobDocument } from '../common/jobs/document.js';
import { AUTH_HEADERS, requestSigningString } from '../common/jobs/protocol.js';
import { SecAggClient } from '../common/secagg/client.js';
import { weightedInput } from '../common/secagg/fedavg.js';
import { generateSigningKeyPair, type SigningKeyPair } from '../common/secagg/keys.js';
import { loadSodium, sodiumNow } from '../common/secagg/sodium.js';
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
  /** Mean CPU time per client spent in its own computation (masking, signing, encoding). */
  clientCpuMs: number;
}

/** Where a round runs: the storage, and how many coordinator processes share it. */
interface Setup {
  /** A SQLite file path or a postgres:// URL. */
  database: string;
  processes: number;
  groupSize: number;
}

const PER_ADDRESS = { burst: 1_000_000, perSecond: 1_000_000 };

/** Starts a coordinator process (test/helpers/coordinator-process.ts) and waits for its URL. */
function startProcess(settings: CoordinatorProcessSettings): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/coordinator-process.ts', JSON.stringify(settings)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.on('data', (b: Buffer) => stderr.push(b.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.once('exit', (code) => reject(new Error(`a coordinator process exited with ${code}: ${stderr.join('').slice(-2000)}`)));
  });
}

/** One round of n contributors through the coordinator over HTTP. */
async function secureRound(n: number, updates: Float64Array[], examples: number[], setup: Setup): Promise<Measured> {
  const store: CoordinatorStore = await openStore(setup.database);
  // The job and its participants are written by a runner in this process; the round is run by
  // this one (one process) or by the coordinator processes started below.
  const quiet = () => undefined;
  const runner = await RoundRunner.open({ store, timers: false, startDelayMs: 0, groupSize: setup.groupSize, log: quiet });
  const server = await startCoordinatorServer({ runner, perAddress: PER_ADDRESS });
  const children: ChildProcess[] = [];
  try {
    const { doc, signed } = await benchJob(server.url);
    await runner.addJob({ jobId: '1', specHash: jobSpecHash(doc), signed });
    const keys = Array.from({ length: n }, () => generateSigningKeyPair());
    // Enrollment (Semaphore signatures) is not part of a round: the participants are written directly.
    for (const [i, k] of keys.entries()) await store.addParticipant('1', toHex(k.publicKey), String(1000 + i), Date.now());
    let urls = [server.url];
    if (setup.processes > 1) {
      runner.close();
      await server.close();
      await runner.release();
      const started = await Promise.all(
        Array.from({ length: setup.processes }, (_, i) => startProcess({ database: setup.database, processId: `bench-${i}`, groupSize: setup.groupSize, pollMs: 100, perAddress: PER_ADDRESS })),
      );
      children.push(...started.map((p) => p.child));
      urls = started.map((p) => p.url);
    }
    const clients = urls.map((baseUrl) => new CoordinatorClient({ baseUrl, timeoutMs: 600_000 }));
    const d = roundVectorLength(doc) - 1;
    const cpu = new Float64Array(n);
    const started = performance.now();
    if (setup.processes === 1) await runner.tick();
    await Promise.all(
      keys.map(async (k, i) => {
        const client = clients[i % clients.length]!;
        let info = await retrying(() => client.round('1', k));
        while (info.state !== 'invited') {
          // Another process starts the round on its next look at the database.
          await new Promise((r) => setTimeout(r, 50));
          info = await retrying(() => client.round('1', k));
        }
        await retrying(() => client.model('1', info.round, k, d));
        let t = performance.now();
        const input = weightedInput(updates[i]!, examples[i]!, doc.aggregation.maxExamples, doc.aggregation.clipRange);
        const group = invitedGroup(info, { chainId: doc.chainId, jobId: '1', minContributors: doc.minContributors });
        const secagg = await SecAggClient.create({ id: group.localId, signingKeys: k, roster: group.members.map(fromHex), roundId: group.roundId, input });
        cpu[i]! += performance.now() - t;
        let after = 0;
        while (secagg.stage !== 'done' && secagg.stage !== 'aborted') {
          const box = await retrying(() => client.inbox('1', info.round, k, after, 20_000));
          for (const m of box.messages) {
            after = m.seq;
            t = performance.now();
            const reply = secagg.handle(m.data);
            cpu[i]! += performance.now() - t;
            if (reply) {
              // A message whose acknowledgement was lost is already in: its repeat is a replay.
              await retrying(() => client.send('1', info.round, k, reply)).catch((err: unknown) => {
                if (!isTroveError(err, 'SECAGG_REPLAY')) throw err;
              });
            }
          }
        }
      }),
    );
    await until(async () => (await store.model('1', 1)) !== undefined);
    const wallMs = performance.now() - started;
    return { wallMs, clientCpuMs: cpu.reduce((a, b) => a + b, 0) / n };
  } finally {
    runner.close();
    await server.close().catch(() => undefined);
    await runner.settled();
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await store.close();
  }
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

/** Waits for the round, looking every 5 ms so the wait does not blur the timings. */
const until = (condition: () => boolean | Promise<boolean>) => untilPolled(condition, 600_000, 'the round to finish', 5);

/** The baseline: every contributor uploads its vector unmasked (signed), the server averages. */
async function plainRound(n: number, updates: Float64Array[], examples: number[]): Promise<Measured> {
  const d = updates[0]!.length;
  const sum = new Float64Array(d + 1);
  let received = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((r) => (done = r));
  const read = (req: IncomingMessage) =>
    new Promise<Uint8Array>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.once('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
      req.once('error', reject);
    });
  const sodium = sodiumNow();
  const nonces = new NonceBook(randomBytes(32), Date.now);
  const server = createServer((req, res) => {
    void read(req).then(async (body) => {
      const key = fromHex(String(req.headers[AUTH_HEADERS.key]));
      const nonce = String(req.headers[AUTH_HEADERS.nonce]);
      const ok = sodium.crypto_sign_verify_detached(fromHex(String(req.headers[AUTH_HEADERS.signature])), sodium.from_string(requestSigningString('POST', req.url ?? '/', nonce, sha256Hex(body))), key);
      // Replays refused from this server's memory (it is one process with no database).
      if (ok) await nonces.redeem(nonce);
      if (!ok) {
        res.writeHead(401).end();
        return;
      }
      const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
      for (let i = 0; i <= d; i++) sum[i]! += view.getFloat32(4 * i, true);
      res.writeHead(204).end();
      if (++received === n) {
        const weight = sum[d]!;
        const mean = new Float64Array(d);
        for (let i = 0; i < d; i++) mean[i] = sum[i]! / weight;
        done();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const keys: SigningKeyPair[] = Array.from({ length: n }, () => generateSigningKeyPair());
  const cpu = new Float64Array(n);
  const started = performance.now();
  await Promise.all(
    keys.map(async (k, i) => {
      const t = performance.now();
      const input = weightedInput(updates[i]!, examples[i]!, 1000, 1);
      const body = new Uint8Array(Float32Array.from(input).buffer);
      // The nonce a coordinator's earlier answer would have carried, checked as the coordinator does.
      const headers = signRequest(k, 'POST', '/v1/upload', body, nonces.issue());
      cpu[i] = performance.now() - t;
      const res = await fetch(`${url}/v1/upload`, { method: 'POST', headers, body });
      if (res.status !== 204) throw new Error(`upload refused: ${res.status}`);
    }),
  );
  await finished;
  const wallMs = performance.now() - started;
  await new Promise<void>((r) => server.close(() => r()));
  return { wallMs, clientCpuMs: cpu.reduce((a, b) => a + b, 0) / n };
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
  console.log(`one round, model of ${d} weights (vector ${d + 1}), contributors in this process, at most ${groupSize} per secure-aggregation group, node ${process.version}`);
  console.log('clients  storage   secure wall ms  plain wall ms  wall ratio  secure client CPU ms  plain client CPU ms  CPU ratio');
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
          secure.wallMs.toFixed(0).padStart(15),
          plain.wallMs.toFixed(0).padStart(14),
          (secure.wallMs / plain.wallMs).toFixed(1).padStart(11),
          secure.clientCpuMs.toFixed(1).padStart(21),
          plain.clientCpuMs.toFixed(2).padStart(19),
          (secure.clientCpuMs / plain.clientCpuMs).toFixed(1).padStart(10),
        ].join('') + (retries > 0 ? `  (${retries} requests retried after a broken connection)` : ''),
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
        console.log('clients  storage    processes  secure wall ms  ratio to one process');
        const one = await secureRound(n, updates, examples, { database: postgres.createDatabase('one'), processes: 1, groupSize });
        console.log(`${String(n).padStart(7)}  postgres ${'1'.padStart(10)}${one.wallMs.toFixed(0).padStart(16)}${'1.0'.padStart(22)}`);
        const three = await secureRound(n, updates, examples, { database: postgres.createDatabase('three'), processes: 3, groupSize });
        console.log(`${String(n).padStart(7)}  postgres ${'3'.padStart(10)}${three.wallMs.toFixed(0).padStart(16)}${(three.wallMs / one.wallMs).toFixed(2).padStart(22)}`);
      } finally {
        postgres.stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err, (err as { cause?: unknown }).cause);
  process.exit(1);
});
