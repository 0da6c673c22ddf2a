// Benchmark: one full simulated SecAgg+ round in a single process, per size, with 10% of the
// clients dropping after sharing their keys (the costliest case for the server, which must then
// remove the dropped clients' pairwise masks). Prints per-client compute time and bytes sent,
// server time, and ratios against plain unmasked float32 summation measured in the same run, and
// the consistency check's share of the round (signing and checking the survivor set). Each client
// adds its discrete Gaussian noise share after quantization, as the app does (noise multiplier 1
// for a sum of unit sensitivity); its time is part of the client's and is also printed alone.
//
//   npm run bench:secagg                      all sizes (n = 100, 300, 1000; d = 10k, 100k)
//   npm run bench:secagg -- 100x10000 300x100000   chosen sizes
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { SecAggClient } from '../common/secagg/client.js';
import { verifySurvivorSignature } from '../common/secagg/consistency.js';
import { generateSigningKeyPair } from '../common/secagg/keys.js';
import { addDiscreteGaussian } from '../common/dp/discrete.js';
import { noisyRoundParams, roundShareVariance } from '../common/dp/integer-noise.js';
import { quantizationStep } from '../common/secagg/quantize.js';
import { SecAggServer, type Outgoing } from '../common/secagg/server.js';
import { loadSodium } from '../common/secagg/sodium.js';
import { decodeUnmaskRequest } from '../common/secagg/wire.js';

const DROPOUT = 0.1;

interface Size {
  n: number;
  d: number;
}

function parseSizes(args: string[]): Size[] {
  const given = args.filter((a) => /^\d+x\d+$/.test(a));
  if (given.length === 0) {
    return [100, 300, 1000].flatMap((n) => [10_000, 100_000].map((d) => ({ n, d })));
  }
  return given.map((a) => {
    const [n, d] = a.split('x').map(Number);
    return { n: n ?? 0, d: d ?? 0 };
  });
}

function shuffle(ids: number[]): number[] {
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [ids[i], ids[j]] = [ids[j] as number, ids[i] as number];
  }
  return ids;
}

async function benchOne({ n, d }: Size): Promise<Record<string, string | number>> {
  const roundId = new Uint8Array(16);
  crypto.getRandomValues(roundId);
  const noise = { sensitivity: 1, noiseMultiplier: 1 };
  const params = noisyRoundParams({ roundId, clientCount: n, vectorLength: d, clipRange: 1 }, noise);
  const variance = roundShareVariance(params, noise);
  const noiseMs = new Float64Array(n);
  const signing = Array.from({ length: n }, () => generateSigningKeyPair());
  const roster = signing.map((k) => k.publicKey);
  const server = await SecAggServer.create(params, roster);
  const clients = await Promise.all(
    signing.map((signingKeys, id) =>
      SecAggClient.create({
        id,
        signingKeys,
        roster,
        roundId,
        addNoise: (words) => {
          const t = performance.now();
          addDiscreteGaussian(words, variance);
          noiseMs[id] = (noiseMs[id] as number) + performance.now() - t;
        },
      }),
    ),
  );
  const dropped = new Set(shuffle([...Array(n).keys()]).slice(0, Math.round(n * DROPOUT)));

  const clientMs = new Float64Array(n);
  const clientCpuMs = new Float64Array(n);
  const keyBytes = new Float64Array(n);
  const uploadBytes = new Float64Array(n);
  let serverMs = 0;
  let serverCpuMs = 0;
  let maskedReceiveMs = 0;
  let unmaskMs = 0;
  let unmaskCpuMs = 0;
  let plainSumMs = 0;
  let plainEncodeMs = 0;
  /** Client and server time spent on the consistency check (signing and checking the survivor set). */
  let consistencyMs = 0;
  let consistencyClientMs = 0;
  const plain = new Float64Array(d);

  const deliver = (outgoing: Outgoing[], stage: 'keys' | 'masked' | 'consistency' | 'unmask'): void => {
    for (const { to, message } of outgoing) {
      if (stage === 'masked' && dropped.has(to)) continue;
      const client = clients[to];
      if (!client) continue;
      if (stage === 'masked') {
        // The client's update, made outside the timed region; the plain baseline sums the same
        // vectors and encodes them as a float32 upload.
        const input = new Float32Array(d);
        for (let i = 0; i < d; i++) input[i] = Math.random() * 2 - 1;
        client.setInput(input);
        let t = performance.now();
        const upload = new Uint8Array(input.buffer.slice(0));
        plainEncodeMs += performance.now() - t;
        const view = new Float32Array(upload.buffer);
        t = performance.now();
        for (let i = 0; i < d; i++) plain[i] = (plain[i] as number) + (view[i] as number);
        plainSumMs += performance.now() - t;
      }
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const reply = client.handle(message);
      clientCpuMs[to] = (clientCpuMs[to] as number) + cpuMs(c0);
      const handled = performance.now() - t0;
      clientMs[to] = (clientMs[to] as number) + handled;
      // The unmask request carries the neighbours' signatures: checking them is consistency work.
      if (stage === 'consistency' || stage === 'unmask') {
        const checkMs = stage === 'consistency' ? handled : Math.min(handled, signatureCheckMs(message, roster));
        consistencyMs += checkMs;
        consistencyClientMs += checkMs;
      }
      if (!reply) continue;
      if (stage === 'masked') uploadBytes[to] = (uploadBytes[to] as number) + reply.length;
      else keyBytes[to] = (keyBytes[to] as number) + reply.length;
      const t1 = performance.now();
      const c1 = process.cpuUsage();
      server.receive(reply);
      const spent = performance.now() - t1;
      serverCpuMs += cpuMs(c1);
      serverMs += spent;
      if (stage === 'masked') maskedReceiveMs += spent;
      if (stage === 'consistency') consistencyMs += spent;
    }
  };
  const step = (now: number): Outgoing[] => {
    const t = performance.now();
    const c = process.cpuUsage();
    const out = server.advance(now);
    serverCpuMs += cpuMs(c);
    serverMs += performance.now() - t;
    return out;
  };

  let now = 0;
  const t0 = performance.now();
  let out = server.start(now);
  serverMs += performance.now() - t0;
  deliver(out, 'keys'); // setup -> advertise keys
  out = step(now);
  deliver(out, 'keys'); // neighbour keys -> encrypted shares
  out = step(now);
  deliver(out, 'masked'); // forwarded shares -> masked inputs (10% silent)
  now = server.stageDeadline;
  out = step(now);
  deliver(out, 'consistency'); // survivor set -> signatures on it
  const tc = performance.now();
  out = step(now);
  consistencyMs += performance.now() - tc;
  deliver(out, 'unmask'); // unmask requests (with signatures) -> shares
  const tu = performance.now();
  const cu = process.cpuUsage();
  out = server.advance(now);
  unmaskCpuMs = cpuMs(cu);
  unmaskMs = performance.now() - tu;
  serverMs += unmaskMs;
  serverCpuMs += unmaskCpuMs;
  if (server.stage !== 'done' || !server.result) throw new Error(`round did not finish: ${server.abortError?.message ?? server.stage}`);

  // The decoded sum must match the plain float sum within the quantization bound and 8 standard
  // deviations of the summed noise (the noise is part of the sum).
  const survivors = server.result.contributors;
  let worst = 0;
  const { sum, errorBound } = server.result;
  const noiseSd = quantizationStep(params) * Math.sqrt(survivors.length * variance);
  for (let i = 0; i < d; i++) worst = Math.max(worst, Math.abs((sum[i] as number) - (plain[i] as number)));
  if (worst > errorBound + 8 * noiseSd * Math.sqrt(2 * Math.log(d)) + 1e-6 * n) throw new Error(`sum off by ${worst} (bound ${errorBound}, noise sd ${noiseSd})`);

  const mean = (xs: Float64Array, ids: number[]): number => ids.reduce((a, id) => a + (xs[id] as number), 0) / ids.length;
  const clientMean = mean(clientMs, survivors);
  let clientMax = 0;
  for (const id of survivors) clientMax = Math.max(clientMax, clientMs[id] as number);
  const plainUpload = d * 4;
  const keysMean = mean(keyBytes, survivors);
  const uploadMean = mean(uploadBytes, survivors);
  return {
    n,
    d,
    k: params.neighbourCount,
    t: params.threshold,
    'client ms (mean)': clientMean.toFixed(1),
    'client ms (max)': clientMax.toFixed(1),
    'client cpu ms (mean)': mean(clientCpuMs, survivors).toFixed(1),
    'noise ms (mean, in client ms)': mean(noiseMs, survivors).toFixed(1),
    'client ms without noise (mean)': (clientMean - mean(noiseMs, survivors)).toFixed(1),
    'client / float32 encode': (clientMean / (plainEncodeMs / survivors.length)).toFixed(0),
    'masked upload B': Math.round(uploadMean),
    'key msgs B': Math.round(keysMean),
    'upload / float32': (uploadMean / plainUpload).toFixed(4),
    'all bytes / (float32 + keys)': ((uploadMean + keysMean) / (plainUpload + keysMean)).toFixed(4),
    'server ms': serverMs.toFixed(0),
    'server cpu ms': serverCpuMs.toFixed(0),
    'masked-input receive ms': maskedReceiveMs.toFixed(0),
    'unmask ms': unmaskMs.toFixed(0),
    'unmask cpu ms': unmaskCpuMs.toFixed(0),
    'plain sum ms': plainSumMs.toFixed(1),
    'consistency client ms (mean)': (consistencyClientMs / survivors.length).toFixed(2),
    'consistency ms (all)': consistencyMs.toFixed(0),
    // Client and server time with the check against the same run's time without its share.
    'round with / without consistency': ((serverMs + sumOf(clientMs)) / (serverMs + sumOf(clientMs) - consistencyMs)).toFixed(3),
    'server / plain sum': (serverMs / plainSumMs).toFixed(1),
    'max |err|': worst.toExponential(2),
  };
}

function sumOf(xs: Float64Array): number {
  return xs.reduce((a, x) => a + x, 0);
}

/** Time to verify the signatures an unmask request carries, measured on the message itself. */
function signatureCheckMs(message: Uint8Array, roster: readonly Uint8Array[]): number {
  const { request } = decodeUnmaskRequest(message, roster.length, roster.length);
  const t = performance.now();
  for (const s of request.signatures) verifySurvivorSignature(message.subarray(4, 20), request.survivors, s.signature, roster[s.signer]);
  return performance.now() - t;
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

async function main(): Promise<void> {
  await loadSodium();
  const sizes = parseSizes(process.argv.slice(2));
  console.log(`SecAgg+ round, ${DROPOUT * 100}% dropouts after key sharing, modulus 2^32, XChaCha20 masks`);
  // Wall-clock times stretch when other processes share the cores; cpu ms are this process only.
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  const rows: Record<string, string | number>[] = [];
  for (const size of sizes) {
    const row = await benchOne(size);
    rows.push(row);
    console.log(JSON.stringify(row));
  }
  console.table(rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
