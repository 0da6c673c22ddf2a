// The coordinator's HTTP face (protocol.ts): public job documents and status, and the signed
// routes contributors use to enroll, learn their round, fetch the global model and exchange
// secure-aggregation messages. Every request is rate limited, every body is bounded before it
// is read, every signed request is checked for its nonce (nonces.ts), signature and replay, and every
// refusal is a typed {error: {code, message}} with its HTTP status.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Identity } from '@semaphore-protocol/identity';
import { TroveError, type TroveErrorCode } from '../common/errors.js';
import { sha256Hex } from '../common/jobs/client.js';
import { toEnrollmentProof } from '../common/jobs/enrollment-proof.js';
import {
  AUTH_HEADERS,
  enrollmentMessageField,
  enrollRequestSchema,
  MAX_INBOX_WAIT_MS,
  MAX_JSON_BODY_BYTES,
  NONCE_PATTERN,
  requestSigningString,
} from '../common/jobs/protocol.js';
import { sodiumNow } from '../common/secagg/sodium.js';
import { NonceBook } from './nonces.js';
import type { RoundRunner } from './rounds.js';

export interface RateLimit {
  /** Requests a client may make at once. */
  burst: number;
  /** Requests per second the bucket refills with. */
  perSecond: number;
}

export interface CoordinatorServerOptions {
  runner: RoundRunner;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The clock nonces expire by (tests move it). */
  now?: () => number;
  /**
   * The key nonces are made and checked with: give every process that serves the same database
   * the same key. A random one (the default) suits a single process.
   */
  nonceKey?: Uint8Array;
  /**
   * Whether used nonces are recorded in the runner's database for every process (default true).
   * False keeps them in this process's memory only, which lets a captured signed request be
   * replayed once at each other process: a single-process setting (and the tests' control).
   */
  shareUsedNonces?: boolean;
  perKey?: RateLimit;
  perAddress?: RateLimit;
  /**
   * The most connections one address may hold open at once (default OPEN_CONNECTIONS_PER_ADDRESS);
   * one more is closed as it opens.
   */
  openConnectionsPerAddress?: number;
}

export interface CoordinatorServer {
  server: Server;
  /** Base URL, e.g. http://127.0.0.1:8787 */
  url: string;
  close(): Promise<void>;
}

/**
 * How long a client may take to send one whole request, body included, counted from its first
 * byte as this process reads it; past it, Node answers 408 and closes the connection. It bounds
 * how long a connection that never finishes its request is held (the long-poll's wait comes after
 * the request is in, and does not count). It is generous because it also counts time this process
 * was too busy to read: a masked input of a large model (a few MB) from a slow link, or hundreds
 * of them arriving while a stage closes, take minutes. Too late for the round is decided by the
 * stage's deadline, not by this; a request cut off here never reached the round, and the app
 * sends it again (a 408 counts as an unreachable coordinator, common/jobs/client.ts).
 */
export const REQUEST_TIMEOUT_MS = 300_000;
/** The headers alone are a few hundred bytes: a client still sending them after a minute is gone or stalling. */
export const HEADERS_TIMEOUT_MS = 60_000;
/**
 * A request may take REQUEST_TIMEOUT_MS to arrive, so one address trickling bodies could otherwise
 * hold thousands of connections for that long. An app keeps a few per job; an address shared by
 * many people (a household, carrier NAT) stays well under this.
 */
export const OPEN_CONNECTIONS_PER_ADDRESS = 256;

const STATUS: Partial<Record<TroveErrorCode, number>> = {
  INVALID_INPUT: 400,
  SECAGG_MALFORMED: 400,
  SECAGG_BAD_SIGNATURE: 400,
  SECAGG_NOT_NEIGHBOUR: 400,
  UNAUTHENTICATED: 401,
  NONCE_REFUSED: 401,
  NOT_ENROLLED: 403,
  JOB_NOT_FOUND: 404,
  JOB_NOT_ACTIVE: 409,
  SECAGG_WRONG_ROUND: 409,
  SECAGG_WRONG_STAGE: 409,
  SECAGG_REPLAY: 409,
  ROUND_ABORTED: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
};

/** A token bucket per name; idle buckets are forgotten once full again. */
class Buckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(private readonly limit: RateLimit) {}

  /** Takes one token; returns 0, or the milliseconds until one is available. */
  take(name: string, now: number): number {
    const b = this.buckets.get(name) ?? { tokens: this.limit.burst, at: now };
    b.tokens = Math.min(this.limit.burst, b.tokens + ((now - b.at) / 1000) * this.limit.perSecond);
    b.at = now;
    if (b.tokens < 1) {
      this.buckets.set(name, b);
      return Math.ceil(((1 - b.tokens) / this.limit.perSecond) * 1000);
    }
    b.tokens -= 1;
    this.buckets.set(name, b);
    if (this.buckets.size > 10_000) {
      for (const [k, v] of this.buckets) if (v.tokens + ((now - v.at) / 1000) * this.limit.perSecond >= this.limit.burst) this.buckets.delete(k);
    }
    return 0;
  }
}

class RequestError extends TroveError {
  constructor(
    code: TroveErrorCode,
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(code, message);
  }
}

function send(res: ServerResponse, status: number, body: Uint8Array | string, type: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  res.writeHead(status, { 'content-type': type, 'content-length': String(bytes.length), 'cache-control': 'no-store', ...headers });
  res.end(bytes);
}

function sendError(res: ServerResponse, err: unknown, closeConnection = false): void {
  const trove = err instanceof TroveError ? err : undefined;
  const status = trove ? (STATUS[trove.code] ?? 500) : 500;
  const code = trove && STATUS[trove.code] ? trove.code : 'COORDINATOR_PROTOCOL';
  const message = trove && STATUS[trove.code] ? trove.message : 'The coordinator failed to handle the request.';
  const headers: Record<string, string> = {};
  if (err instanceof RequestError && err.retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
  if (closeConnection) headers.connection = 'close';
  send(res, status, JSON.stringify({ error: { code, message: message.slice(0, 2000) } }), 'application/json', headers);
}

/** Reads at most `limit` bytes of body; a larger body is refused without reading the rest. */
function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    return Promise.reject(new RequestError('PAYLOAD_TOO_LARGE', `The request body may be at most ${limit} bytes.`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        req.off('data', onData);
        req.pause();
        reject(new RequestError('PAYLOAD_TOO_LARGE', `The request body may be at most ${limit} bytes.`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.once('error', reject);
  });
}

function parseJsonBody(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new TroveError('INVALID_INPUT', 'The request body is not JSON.');
  }
}

/** The `after` of an inbox read, checked: the last message the contributor has; null when not named. */
function afterOf(url: URL): number | null {
  const after = url.searchParams.get('after');
  if (after === null) return null;
  if (!/^[0-9]{1,15}$/.test(after)) throw new TroveError('INVALID_INPUT', 'after must be a whole number of messages.');
  return Number(after);
}

/** The `waitMs` of an inbox read, checked: how long to wait for a first message (0 when not named). */
function waitOf(url: URL): number {
  const waitMs = Number(url.searchParams.get('waitMs') ?? '0');
  if (!Number.isSafeInteger(waitMs) || waitMs < 0 || waitMs > MAX_INBOX_WAIT_MS) {
    throw new TroveError('INVALID_INPUT', `waitMs must be between 0 and ${MAX_INBOX_WAIT_MS}.`);
  }
  return waitMs;
}

/**
 * A contributor's messages after `at.after`, waited for up to `at.waitMs`, in the protocol's JSON;
 * null when the client hung up meanwhile (the wait ends with it).
 */
async function inboxAnswer(res: ServerResponse, runner: RoundRunner, jobId: string, round: number, key: string, at: { after: number; waitMs: number }): Promise<{ stage: string; messages: { seq: number; data: string }[] } | null> {
  const hungUp = new AbortController();
  res.once('close', () => hungUp.abort());
  const out = await runner.inbox(jobId, round, key, at.after, at.waitMs, hungUp.signal);
  if (hungUp.signal.aborted) return null;
  return { stage: out.stage, messages: out.messages.map((m) => ({ seq: m.seq, data: Buffer.from(m.data).toString('base64') })) };
}

interface Route {
  method: string;
  pattern: RegExp;
  /** Signed with a key enrolled in the job (enroll itself: signed by the key being enrolled). */
  signed: 'enrolled' | 'any' | false;
  /** The body limit, given the path's captures. */
  bodyLimit?: (m: RegExpExecArray) => number;
  handle: (ctx: RouteContext) => Promise<void> | void;
}

interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  match: RegExpExecArray;
  url: URL;
  body: Uint8Array;
  /** The verified signing key (hex), on signed routes. */
  key: string;
}

const JOB = '([0-9]{1,78})';

export async function startCoordinatorServer(options: CoordinatorServerOptions): Promise<CoordinatorServer> {
  const runner = options.runner;
  const now = options.now ?? Date.now;
  const perKey = new Buckets(options.perKey ?? { burst: 60, perSecond: 30 });
  const perAddress = new Buckets(options.perAddress ?? { burst: 300, perSecond: 150 });
  const nonces = new NonceBook(options.nonceKey ?? randomBytes(32), now, options.shareUsedNonces === false ? undefined : runner.store);

  const routes: Route[] = [
    {
      method: 'GET',
      pattern: /^\/v1\/nonce$/,
      signed: false,
      // Every answer carries a fresh nonce already; this one is for a client that has none.
      handle: ({ res }) => send(res, 200, '{}', 'application/json'),
    },
    {
      method: 'GET',
      pattern: /^\/v1\/specs\/([^/]+)$/,
      signed: false,
      handle: async ({ res, match }) => send(res, 200, await runner.signedDocument(decodeURIComponent(match[1]!)), 'application/json'),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/jobs/${JOB}$`),
      signed: false,
      handle: async ({ res, match }) => send(res, 200, JSON.stringify(await runner.status(match[1]!)), 'application/json'),
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/v1/jobs/${JOB}/enroll$`),
      signed: 'any',
      handle: async ({ res, match, body, key }) => {
        const jobId = match[1]!;
        const parsed = enrollRequestSchema.safeParse(parseJsonBody(body));
        if (!parsed.success) throw new TroveError('INVALID_INPUT', `The enrollment is not valid: ${parsed.error.issues[0]?.message ?? 'bad shape'}.`);
        const e = parsed.data;
        const publicKey: [bigint, bigint] = [BigInt(e.identityPublicKey[0]), BigInt(e.identityPublicKey[1])];
        let commitment: bigint;
        let signed = false;
        try {
          commitment = Identity.generateCommitment(publicKey);
          signed = Identity.verifySignature(
            enrollmentMessageField(jobId, key),
            { R8: [BigInt(e.identitySignature.R8[0]), BigInt(e.identitySignature.R8[1])], S: BigInt(e.identitySignature.S) },
            publicKey,
          );
        } catch {
          throw new TroveError('UNAUTHENTICATED', 'The Semaphore public key or signature is not a valid curve point.');
        }
        if (commitment.toString() !== e.commitment) throw new TroveError('INVALID_INPUT', 'The commitment is not the hash of the Semaphore public key.');
        if (!signed) throw new TroveError('UNAUTHENTICATED', 'The Semaphore signature does not cover this job and signing key.');
        send(res, 200, JSON.stringify(await runner.enroll(jobId, key, e.commitment, toEnrollmentProof(e.chainProof))), 'application/json');
      },
    },
    {
      method: 'DELETE',
      pattern: new RegExp(`^/v1/jobs/${JOB}/enroll$`),
      signed: 'enrolled',
      handle: async ({ res, match, key }) => {
        await runner.leave(match[1]!, key);
        send(res, 200, '{}', 'application/json');
      },
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/jobs/${JOB}/round$`),
      signed: 'enrolled',
      handle: async ({ res, match, key }) => send(res, 200, JSON.stringify(await runner.roundInfo(match[1]!, key)), 'application/json'),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/jobs/${JOB}/models/([0-9]{1,6})$`),
      signed: 'enrolled',
      handle: async ({ res, match }) => send(res, 200, await runner.modelBytes(match[1]!, Number(match[2])), 'application/octet-stream'),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/jobs/${JOB}/module$`),
      signed: 'enrolled',
      handle: async ({ res, match }) => send(res, 200, await runner.moduleBytes(match[1]!), 'application/wasm'),
    },
    {
      method: 'GET',
      pattern: new RegExp(`^/v1/jobs/${JOB}/rounds/([0-9]{1,6})/inbox$`),
      signed: 'enrolled',
      handle: async ({ res, match, url, key }) => {
        const out = await inboxAnswer(res, runner, match[1]!, Number(match[2]), key, { after: afterOf(url) ?? 0, waitMs: waitOf(url) });
        if (out) send(res, 200, JSON.stringify(out), 'application/json');
      },
    },
    {
      method: 'POST',
      pattern: new RegExp(`^/v1/jobs/${JOB}/rounds/([0-9]{1,6})/messages$`),
      signed: 'enrolled',
      bodyLimit: (m) => runner.maxMessageBytes(m[1]!),
      handle: async ({ res, match, url, body, key }) => {
        // The query is checked before the message is taken: a bad one must not cost the sender its message.
        const after = afterOf(url);
        const next = after === null ? null : { after, waitMs: waitOf(url) };
        const jobId = match[1]!;
        const round = Number(match[2]);
        const receipt = await runner.receive(jobId, round, key, body);
        // The message is in the log: the answer carries the next stage's messages when asked for them.
        // Without `after`, no messages: the stage alone.
        const out = await inboxAnswer(res, runner, jobId, round, key, next ?? { after: Number.MAX_SAFE_INTEGER, waitMs: 0 });
        if (out) send(res, 200, JSON.stringify(receipt ? { ...out, receipt } : out), 'application/json');
      },
    },
  ];

  async function authenticate(req: IncomingMessage, pathAndQuery: string, body: Uint8Array): Promise<string> {
    const key = req.headers[AUTH_HEADERS.key];
    const nonce = req.headers[AUTH_HEADERS.nonce];
    const signature = req.headers[AUTH_HEADERS.signature];
    if (typeof key !== 'string' || !/^[0-9a-f]{64}$/.test(key) || typeof nonce !== 'string' || !NONCE_PATTERN.test(nonce) || typeof signature !== 'string' || !/^[0-9a-f]{128}$/.test(signature)) {
      throw new TroveError('UNAUTHENTICATED', 'The request is not signed.');
    }
    const sodium = sodiumNow();
    const message = sodium.from_string(requestSigningString(req.method ?? 'GET', pathAndQuery, nonce, sha256Hex(body)));
    let valid = false;
    try {
      valid = sodium.crypto_sign_verify_detached(Buffer.from(signature, 'hex'), message, Buffer.from(key, 'hex'));
    } catch {
      valid = false;
    }
    if (!valid) throw new TroveError('UNAUTHENTICATED', 'The request signature is not valid.');
    // Only a valid signature spends a nonce: a forger cannot burn another contributor's.
    await nonces.redeem(nonce);
    return key;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Every answer, refusals included, hands the client the nonce for its next signed request.
    res.setHeader(AUTH_HEADERS.nonce, nonces.issue());
    const address = req.socket.remoteAddress ?? 'unknown';
    const waitAddress = perAddress.take(address, Date.now());
    if (waitAddress > 0) throw new RequestError('RATE_LIMITED', 'Too many requests from this address; slow down.', waitAddress);
    const pathAndQuery = req.url ?? '/';
    const url = new URL(pathAndQuery, 'http://coordinator.invalid');
    const candidates = routes.filter((r) => r.pattern.test(url.pathname));
    if (candidates.length === 0) throw new TroveError('JOB_NOT_FOUND', 'There is nothing at this address.');
    const route = candidates.find((r) => r.method === req.method);
    if (!route) throw new TroveError('INVALID_INPUT', `${req.method ?? ''} is not allowed here.`);
    const match = route.pattern.exec(url.pathname)!;
    // An unknown job is answered before any body is read.
    if (match[1] !== undefined && url.pathname.startsWith('/v1/jobs/')) await runner.requireJob(match[1]);
    const body = await readBody(req, route.bodyLimit ? route.bodyLimit(match) : MAX_JSON_BODY_BYTES);
    let key = '';
    if (route.signed) {
      key = await authenticate(req, pathAndQuery, body);
      const waitKey = perKey.take(key, Date.now());
      if (waitKey > 0) throw new RequestError('RATE_LIMITED', 'Too many requests with this key; slow down.', waitKey);
      if (route.signed === 'enrolled') await runner.requireParticipant(match[1]!, key, route.method !== 'GET');
    }
    await route.handle({ req, res, match, url, body, key });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A body we refused is left unread: close the connection rather than drain it.
      const refused = err instanceof TroveError && err.code === 'PAYLOAD_TOO_LARGE';
      sendError(res, err, refused);
      if (refused) res.once('finish', () => req.destroy());
    });
  });
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  const openLimit = options.openConnectionsPerAddress ?? OPEN_CONNECTIONS_PER_ADDRESS;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = (open.get(address) ?? 0) + 1;
    if (count > openLimit) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
  // Clients close idle connections first (they honour the Keep-Alive hint), so a request is never
  // sent on a socket the server is closing.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
