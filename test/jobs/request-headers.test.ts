// No request the app sends tells the coordinator its clock: a loopback server records the headers
// of every kind of request the app's coordinator client makes, over the app's own per-job
// connection pool, and each carries only fixed headers, the per-job key, a nonce the server
// handed out, and a signature over that nonce. Positive control: a request that does carry a
// clock (x-trove-time, Date) is caught by the same check.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorClient, sha256Hex, toHex } from '../../common/jobs/client.js';
import { AUTH_HEADERS, requestSigningString } from '../../common/jobs/protocol.js';
import { generateSigningKeyPair } from '../../common/secagg/keys.js';
import { loadSodium, sodiumNow } from '../../common/secagg/sodium.js';
import { JobConnections } from '../../main/services/jobs/connections.js';
import { closeLoopback, listenOnLoopback } from '../helpers/loopback.js';

interface Recorded {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

/** Headers a request may carry: the transport's fixed ones and the three of a signature. */
const ALLOWED = new Set([
  'host',
  'connection',
  'content-type',
  'content-length',
  'accept',
  'accept-language',
  'accept-encoding',
  'sec-fetch-mode',
  'user-agent',
  AUTH_HEADERS.key,
  AUTH_HEADERS.nonce,
  AUTH_HEADERS.signature,
]);

/** What in one request could tell the coordinator this machine's clock; empty when nothing. */
function clockLeaks(request: Recorded, issued: Set<string>, clockDigits: string): string[] {
  const leaks: string[] = [];
  for (const [name, value] of Object.entries(request.headers)) {
    if (!ALLOWED.has(name)) leaks.push(`header ${name}`);
    if (String(value).includes(clockDigits)) leaks.push(`clock in ${name}`);
  }
  const nonce = request.headers[AUTH_HEADERS.nonce];
  if (nonce !== undefined && !issued.has(String(nonce))) leaks.push('a nonce the server never issued');
  return leaks;
}

describe('requests carry no clock', () => {
  let server: Server;
  let url: string;
  const recorded: Recorded[] = [];
  const issued = new Set<string>();

  beforeAll(async () => {
    await loadSodium();
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.once('end', () => {
        recorded.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: new Uint8Array(Buffer.concat(chunks)) });
        const nonce = randomBytes(56).toString('hex');
        issued.add(nonce);
        res.writeHead(200, { 'content-type': 'application/json', [AUTH_HEADERS.nonce]: nonce }).end('{}');
      });
    });
    url = await listenOnLoopback(server);
  });
  afterAll(() => closeLoopback(server));

  it('sends no x-trove-time, no Date and nothing else that holds the clock, on every kind of request', async () => {
    const connections = new JobConnections();
    const client = new CoordinatorClient({ baseUrl: url, fetch: connections.fetchFor('7') });
    const keys = generateSigningKeyPair();
    const calls: (() => Promise<unknown>)[] = [
      () => client.document(`0x${'ab'.repeat(32)}`),
      () => client.status('7'),
      () => client.enroll('7', keys, { commitment: '1', identityPublicKey: ['1', '2'], identitySignature: { R8: ['1', '2'], S: '3' }, chainProof: { nullifier: '1', points: Array<string>(8).fill('0') } }),
      () => client.round('7', keys),
      () => client.model('7', 0, keys, 1),
      () => client.module('7', keys, '00'.repeat(32), 1024),
      () => client.inbox('7', 0, keys, 0, 0),
      () => client.send('7', 0, keys, new Uint8Array([1, 2, 3])),
      () => client.leave('7', keys),
    ];
    try {
      // The loopback answers {} to everything, which most calls refuse; only the headers matter.
      for (const call of calls) await call().catch(() => undefined);
      // A client whose first request is signed asks for a nonce first.
      const fresh = new CoordinatorClient({ baseUrl: url, fetch: connections.fetchFor('8') });
      await fresh.round('8', keys).catch(() => undefined);
      expect(recorded.slice(-2).map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v1/nonce', 'GET /v1/jobs/8/round']);
    } finally {
      await connections.closeAll();
    }
    const clockDigits = String(Date.now()).slice(0, 8);
    const signed = recorded.filter((r) => r.headers[AUTH_HEADERS.key] !== undefined);
    expect(signed.map((r) => `${r.method} ${r.path.split('?')[0]}`)).toEqual([
      'POST /v1/jobs/7/enroll',
      'GET /v1/jobs/7/round',
      'GET /v1/jobs/7/models/0',
      'GET /v1/jobs/7/module',
      'GET /v1/jobs/7/rounds/0/inbox',
      'POST /v1/jobs/7/rounds/0/messages',
      'DELETE /v1/jobs/7/enroll',
      'GET /v1/jobs/8/round',
    ]);
    // Every answer carries the next nonce: only the fresh client had to ask for one.
    expect(recorded.filter((r) => r.path === '/v1/nonce')).toHaveLength(1);
    for (const r of recorded) expect(clockLeaks(r, issued, clockDigits), `${r.method} ${r.path}`).toEqual([]);
    // Each signature covers the nonce it was sent with, so it is the nonce that binds the request.
    const sodium = sodiumNow();
    const nonces = new Set<string>();
    for (const r of signed) {
      const nonce = String(r.headers[AUTH_HEADERS.nonce]);
      nonces.add(nonce);
      const message = sodium.from_string(requestSigningString(r.method, r.path, nonce, sha256Hex(r.body)));
      expect(sodium.crypto_sign_verify_detached(Buffer.from(String(r.headers[AUTH_HEADERS.signature]), 'hex'), message, keys.publicKey)).toBe(true);
      expect(r.headers[AUTH_HEADERS.key]).toBe(toHex(keys.publicKey));
    }
    expect(nonces.size).toBe(signed.length);
  });

  it('positive control: a request that carries the clock is caught', async () => {
    const before = recorded.length;
    const now = Date.now();
    await (await fetch(`${url}/v1/jobs/7/round`, { headers: { 'x-trove-time': String(now), date: new Date(now).toUTCString() } })).arrayBuffer();
    const leaks = clockLeaks(recorded[before]!, issued, String(now).slice(0, 8));
    expect(leaks).toContain('header x-trove-time');
    expect(leaks).toContain('header date');
    expect(leaks).toContain('clock in x-trove-time');
  });
});
