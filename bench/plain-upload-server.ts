// bench:round's baseline server, in its own process as the coordinator is, so that its CPU time
// is measured apart from the simulated contributors': a round without secure aggregation. Every
// contributor fetches the global model (GET /v1/model) and uploads its weighted vector unmasked
// (POST /v1/upload), each in one signed request checked as the coordinator checks one
// (signature over a nonce this deployment issued, replays refused from memory, a fresh nonce in
// every answer), and the server sums the vectors and averages once all have arrived. Started with its settings as JSON in argv[2]; prints
// {"url": ...} once it serves; GET /v1/result answers once the average is made; stops on SIGTERM.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fromHex, sha256Hex } from '../common/jobs/client.js';
import { AUTH_HEADERS, requestSigningString } from '../common/jobs/protocol.js';
import { loadSodium, sodiumNow } from '../common/secagg/sodium.js';
import { NonceBook } from '../coordinator/nonces.js';
import { HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS } from '../coordinator/server.js';

export interface PlainUploadSettings {
  /** How many uploads make the round. */
  contributors: number;
  /** Weights per vector (each upload is d + 1 float32s: the weighted update and its weight). */
  d: number;
  /** The nonce key, hex: the bench issues the nonces a coordinator's earlier answers would have carried. */
  nonceKey: string;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as PlainUploadSettings;
await loadSodium();
const sodium = sodiumNow();
const nonces = new NonceBook(fromHex(settings.nonceKey), Date.now);
const d = settings.d;
const sum = new Float64Array(d + 1);
let received = 0;
let mean: Float64Array | undefined;
const waiting: (() => void)[] = [];
/** The global model every contributor fetches first, as from the coordinator (its values do not matter here). */
const model = Buffer.from(new Float32Array(d).fill(0.01).buffer);

const read = (req: IncomingMessage) =>
  new Promise<Uint8Array>((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.once('error', reject);
  });

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/v1/result') {
    const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ received, weight: sum[d] }));
    if (mean) answer();
    else waiting.push(answer);
    return;
  }
  if (req.method === 'GET' && req.url === '/v1/nonce') {
    // For a client that has no nonce yet, as the coordinator's GET /v1/nonce.
    res.writeHead(200, { [AUTH_HEADERS.nonce]: nonces.issue(), 'content-type': 'application/json' }).end('{}');
    return;
  }
  void read(req).then(async (body) => {
    const key = fromHex(String(req.headers[AUTH_HEADERS.key]));
    const nonce = String(req.headers[AUTH_HEADERS.nonce]);
    const ok = sodium.crypto_sign_verify_detached(fromHex(String(req.headers[AUTH_HEADERS.signature])), sodium.from_string(requestSigningString(req.method ?? 'GET', req.url ?? '/', nonce, sha256Hex(body))), key);
    const fresh = ok && (await nonces.redeem(nonce).then(() => true, () => false));
    // Every answer hands out the nonce for the next signed request, as the coordinator's do.
    const next = { [AUTH_HEADERS.nonce]: nonces.issue() };
    if (fresh && req.method === 'GET' && req.url === '/v1/model') {
      res.writeHead(200, { ...next, 'content-type': 'application/octet-stream', 'content-length': String(model.length) }).end(model);
      return;
    }
    if (!fresh || req.method !== 'POST' || body.length !== 4 * (d + 1)) {
      res.writeHead(401).end();
      return;
    }
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    for (let i = 0; i <= d; i++) sum[i]! += view.getFloat32(4 * i, true);
    res.writeHead(204, next).end();
    if (++received === settings.contributors) {
      const weight = sum[d]!;
      mean = new Float64Array(d);
      for (let i = 0; i < d; i++) mean[i] = sum[i]! / weight;
      for (const answer of waiting.splice(0)) answer();
    }
  });
});
// The coordinator's connection settings (coordinator/server.ts), so neither side drops what the other keeps.
server.requestTimeout = REQUEST_TIMEOUT_MS;
server.headersTimeout = HEADERS_TIMEOUT_MS;
server.keepAliveTimeout = 65_000;
await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
