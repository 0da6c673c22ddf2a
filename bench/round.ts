// Benchmark: one full secure-aggregation round through the real coordinator (SQLite log, HTTP,
// signed requests), for 10, 100 and 500 contributors simulated in this process, with a model of
// about 50k parameters and random vectors as updates. The baseline, measured in the same run on
// the same node:http server framework, is each contributor uploading its vector unmasked in one
// signed request and the server averaging them. Prints wall time, per-client CPU and the ratios.
//
// The round ends when the coordinator has the new global model; the on-chain close is not timed
// (see bench:gas for its cost).
//
//   npm run bench:round            n = 10, 100, 500
//   npm run bench:round -- 10 50   chosen sizes
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
import { jobSpecHash, signJobDocument } from '../common/jobs/signed-document.js';
import { RoundRunner } from '../coordinator/rounds.js';
import { startCoordinatorServer } from '../coordinator/server.js';
import { SqliteStore } from '../coordinator/store-sqlite.js';
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

/** One round of n contributors through the coordinator over HTTP. */
async function secureRound(n: number, updates: Float64Array[], examples: number[]): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'trove-bench-round-'));
  const store = new SqliteStore(join(dir, 'coordinator.db'));
  const runner = await RoundRunner.open({ store, timers: false, startDelayMs: 0 });
  // Every simulated contributor comes from this one address: size the per-address bucket for them.
  const server = await startCoordinatorServer({ runner, perAddress: { burst: 100_000, perSecond: 100_000 } });
  try {
    const { doc, signed } = await benchJob(server.url);
    await runner.addJob({ jobId: '1', specHash: jobSpecHash(doc), signed });
    const keys = Array.from({ length: n }, () => generateSigningKeyPair());
    // Enrollment (Semaphore signatures) is not part of a round: the participants are written directly.
    for (const [i, k] of keys.entries()) await store.addParticipant('1', toHex(k.publicKey), String(1000 + i), Date.now());
    const client = new CoordinatorClient({ baseUrl: server.url, timeoutMs: 600_000 });
    const d = roundVectorLength(doc) - 1;
    const cpu = new Float64Array(n);
    const started = performance.now();
    await runner.tick();
    await Promise.all(
      keys.map(async (k, i) => {
        const info = await retrying(() => client.round('1', k));
        if (info.state !== 'invited') throw new Error(`not invited: ${JSON.stringify(info)}`);
        await retrying(() => client.model('1', info.round, k, d));
        let t = performance.now();
        const input = weightedInput(updates[i]!, examples[i]!, doc.aggregation.maxExamples, doc.aggregation.clipRange);
        const secagg = await SecAggClient.create({ id: info.clientId, signingKeys: k, roster: info.roster.map(fromHex), roundId: fromHex(info.roundId), input });
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
    await server.close();
    await runner.settled();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Retries while the coordinator cannot be reached, as the app does; counts the retries. */
let retries = 0;
async function retrying<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTroveError(err, 'COORDINATOR_UNREACHABLE') || attempt >= 5) throw err;
      retries++;
      await new Promise((r) => setTimeout(r, 50));
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
  const server = createServer((req, res) => {
    void read(req).then((body) => {
      const key = fromHex(String(req.headers[AUTH_HEADERS.key]));
      const time = Number(req.headers[AUTH_HEADERS.time]);
      const ok = sodium.crypto_sign_verify_detached(fromHex(String(req.headers[AUTH_HEADERS.signature])), sodium.from_string(requestSigningString('POST', req.url ?? '/', time, sha256Hex(body))), key);
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
      const headers = signRequest(k, 'POST', '/v1/upload', body, Date.now());
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

async function main(): Promise<void> {
  await loadSodium();
  const sizes = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
  const ns = sizes.length > 0 ? sizes : [10, 100, 500];
  const { doc } = await benchJob('http://127.0.0.1:1');
  const d = roundVectorLength(doc) - 1;
  console.log(`one round, model of ${d} weights (vector ${d + 1}), contributors in this process, node ${process.version}`);
  console.log('clients  secure wall ms  plain wall ms  wall ratio  secure client CPU ms  plain client CPU ms  CPU ratio');
  for (const n of ns) {
    const updates = Array.from({ length: n }, () => randomUpdate(d));
    const examples = Array.from({ length: n }, () => 1 + Math.floor(Math.random() * 999));
    const plain = await plainRound(n, updates, examples);
    const secure = await secureRound(n, updates, examples);
    console.log(
      [
        String(n).padStart(7),
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
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err, (err as { cause?: unknown }).cause);
  process.exit(1);
});
