// A coordinator too busy to take a request whole in time: Node's HTTP server (whose request timeout
// coordinator/server.ts sets) answers 408 and closes the connection once a request has not arrived
// whole within it. The app's client must take that as an unreachable coordinator, which callers
// retry, and not as a protocol violation, which stops the job; sent again, the message arrives
// once. The loopback server here is a real node:http server with the same timeout, shortened.
// Positive control: a bare error status the protocol does not allow (400 without a typed reason)
// is still a protocol violation, which is what a 408 would be without its handling.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorClient, type SentRequest } from '../../common/jobs/client.js';
import { AUTH_HEADERS } from '../../common/jobs/protocol.js';
import { generateSigningKeyPair } from '../../common/secagg/keys.js';
import { loadSodium } from '../../common/secagg/sodium.js';
import { closeLoopback, listenOnLoopback } from '../helpers/loopback.js';

describe('a request the coordinator stopped waiting for (HTTP 408)', () => {
  let server: Server;
  let url: string;
  /** Whole message bodies the server received. */
  const received: Buffer[] = [];
  /** What the server answers a whole message with. */
  let answer: { status: number; body: string } = { status: 200, body: '' };
  /** Whether the next messages are sent half, then stalled, as from a slow link or a starved sender. */
  let stall = false;

  // Sends half the body and nothing more while `stall` is set; otherwise the real fetch.
  const stallingFetch: typeof fetch = (input, init) => {
    if (!stall || init?.method !== 'POST' || !(init.body instanceof Uint8Array)) return fetch(input, init);
    const whole = init.body;
    const half = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(whole.subarray(0, whole.length >> 1)) });
    const headers = { ...(init.headers as Record<string, string>), 'content-length': String(whole.length) };
    return fetch(input, { ...init, headers, body: half, duplex: 'half' } as RequestInit);
  };

  beforeAll(async () => {
    await loadSodium();
    // The coordinator's mechanism (requestTimeout), checked every 50 ms instead of every 30 s.
    server = createServer({ requestTimeout: 300, connectionsCheckingInterval: 50 }, (req, res) => {
      if (req.url === '/v1/nonce') {
        res.writeHead(204, { [AUTH_HEADERS.nonce]: randomBytes(56).toString('hex') }).end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.once('end', () => {
        received.push(Buffer.concat(chunks));
        res.writeHead(answer.status, answer.body ? { 'content-type': 'application/json' } : {}).end(answer.body);
      });
    });
    url = await listenOnLoopback(server);
  });
  afterAll(() => closeLoopback(server));

  it('is an unreachable coordinator, and the message sent again arrives once', async () => {
    const client = new CoordinatorClient({ baseUrl: url, fetch: stallingFetch });
    const statuses: (number | null)[] = [];
    client.watch((r: SentRequest) => statuses.push(r.status));
    const keys = generateSigningKeyPair();
    const message = new Uint8Array(randomBytes(64 * 1024));
    received.length = 0;
    answer = { status: 200, body: JSON.stringify({ stage: 'collect-masked-inputs', messages: [] }) };

    stall = true;
    await expect(client.send('1', 1, keys, message)).rejects.toMatchObject({ code: 'COORDINATOR_UNREACHABLE', details: { status: 408 } });
    expect(statuses.at(-1)).toBe(408);
    expect(received).toHaveLength(0);

    stall = false;
    await expect(client.send('1', 1, keys, message)).resolves.toEqual({ stage: 'collect-masked-inputs', messages: [], receipt: null });
    expect(received).toHaveLength(1);
    expect(received[0]!.equals(Buffer.from(message))).toBe(true);
  });

  it('control: a bare error status outside the protocol still stops the job as a protocol violation', async () => {
    const client = new CoordinatorClient({ baseUrl: url, fetch: stallingFetch });
    const keys = generateSigningKeyPair();
    stall = false;
    answer = { status: 400, body: '' };
    await expect(client.send('1', 1, keys, new Uint8Array(16))).rejects.toMatchObject({ code: 'COORDINATOR_PROTOCOL', details: { status: 400 } });
    // A typed refusal keeps its own code.
    answer = { status: 409, body: JSON.stringify({ error: { code: 'SECAGG_REPLAY', message: 'already received' } }) };
    await expect(client.send('1', 1, keys, new Uint8Array(16))).rejects.toMatchObject({ code: 'SECAGG_REPLAY' });
  });
});
