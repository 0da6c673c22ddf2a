// A contributor's side of the coordinator protocol (protocol.ts) over fetch: every request signed
// with the per-job Ed25519 key over a nonce the coordinator handed out (never this machine's
// clock), every answer checked against the protocol's schemas. A coordinator
// that is down, or too busy to take a request whole in time (HTTP 408), answers
// COORDINATOR_UNREACHABLE, which callers retry; one that answers something the protocol does not
// allow answers COORDINATOR_PROTOCOL; its own typed errors come back with their codes.
import type { z } from 'zod';
import { concatBytes } from '../bytes.js';
import { TroveError, type TroveErrorCode } from '../errors.js';
import type { SigningKeyPair } from '../secagg/keys.js';
import { loadSodium, sodiumNow } from '../secagg/sodium.js';
import { MAX_JOB_DOCUMENT_BYTES } from './document.js';
import {
  AUTH_HEADERS,
  enrollResponseSchema,
  errorResponseSchema,
  inboxResponseSchema,
  jobStatusSchema,
  messageAnswerSchema,
  NONCE_LIFETIME_MS,
  NONCE_PATTERN,
  requestSigningString,
  roundInfoSchema,
  type EnrollRequest,
  type EnrollResponse,
  type InboxResponse,
  type JobStatus,
  type RoundInfo,
} from './protocol.js';

export interface CoordinatorClientOptions {
  /** The coordinator's base URL, as the job document names it. */
  baseUrl: string;
  /** Per-request time limit (an inbox wait is added to it). */
  timeoutMs?: number;
  /** The clock nonces are aged by and the activity log is stamped with; it is never sent. */
  now?: () => number;
  fetch?: typeof fetch;
}

/** Largest answer the client reads: a model of TRAINING_LIMITS.maxParameters float32 values. */
const MAX_RESPONSE_BYTES = 24 * 1024 * 1024;

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(hex: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) throw new TroveError('INVALID_INPUT', 'Not lowercase hex.');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function sha256Hex(body: Uint8Array): string {
  return toHex(sodiumNow().crypto_hash_sha256(body));
}

/** The headers that authenticate one request with a per-job signing key and a coordinator nonce. */
export function signRequest(keys: SigningKeyPair, method: string, pathAndQuery: string, body: Uint8Array, nonce: string): Record<string, string> {
  const message = sodiumNow().from_string(requestSigningString(method, pathAndQuery, nonce, sha256Hex(body)));
  return {
    [AUTH_HEADERS.key]: toHex(keys.publicKey),
    [AUTH_HEADERS.nonce]: nonce,
    [AUTH_HEADERS.signature]: toHex(sodiumNow().crypto_sign_detached(message, keys.secretKey)),
  };
}

/**
 * A nonce is used only while well inside its lifetime by this machine's clock, so a slow request
 * or a clock that drifts a little still arrives before the coordinator's expiry.
 */
const NONCE_USE_WITHIN_MS = NONCE_LIFETIME_MS / 2;

/** Nonces kept from answers; more are never needed at once than requests in flight. */
const MAX_SPARE_NONCES = 16;

/** A contributor's messages from the coordinator, in order, and the round's stage as it answered. */
export interface Inbox {
  stage: InboxResponse['stage'];
  messages: { seq: number; data: Uint8Array }[];
}

function decodeInbox(res: InboxResponse): Inbox {
  const sodium = sodiumNow();
  const messages = res.messages.map((m) => {
    try {
      return { seq: m.seq, data: sodium.from_base64(m.data, sodium.base64_variants.ORIGINAL) };
    } catch {
      throw new TroveError('COORDINATOR_PROTOCOL', 'The coordinator sent a message that is not base64.');
    }
  });
  return { stage: res.stage, messages };
}

/**
 * A contributor's messages received and not yet handled, in order, from inbox reads and message
 * answers alike. `after` is the last one's sequence number: what the next read asks after. A
 * message that does not come after the last one is a coordinator breaking the protocol.
 */
export class InboxQueue {
  private readonly waiting: Inbox['messages'] = [];
  private last = 0;

  get after(): number {
    return this.last;
  }

  get length(): number {
    return this.waiting.length;
  }

  take(messages: Inbox['messages']): void {
    for (const m of messages) {
      if (m.seq <= this.last) throw new TroveError('COORDINATOR_PROTOCOL', 'The coordinator sent messages out of order. Nothing more was sent.');
      this.last = m.seq;
      this.waiting.push(m);
    }
  }

  next(): Inbox['messages'][number] | undefined {
    return this.waiting.shift();
  }
}

/** One request that left for the coordinator, as the activity log records it. */
export interface SentRequest {
  method: string;
  /** Path and query, e.g. /v1/jobs/3/rounds/0/messages. */
  path: string;
  /** HTTP status, or null when no answer came. */
  status: number | null;
  sentBytes: number;
  receivedBytes: number;
  at: number;
}

export class CoordinatorClient {
  private readonly base: URL;
  private readonly watchers = new Set<(request: SentRequest) => void>();
  private readonly timeoutMs: number;
  private readonly now: () => number;
  private readonly fetcher: typeof fetch;
  /** Unused nonces from the coordinator's answers, oldest first, with when they arrived. */
  private readonly spareNonces: { nonce: string; at: number }[] = [];

  constructor(options: CoordinatorClientOptions) {
    this.base = new URL(options.baseUrl);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.fetcher = options.fetch ?? fetch;
  }

  /** The signed job document behind a spec hash (public). */
  async document(specHash: string): Promise<unknown> {
    const bytes = await this.request('GET', `/v1/specs/${encodeURIComponent(specHash)}`, { limit: MAX_JOB_DOCUMENT_BYTES });
    return parseJson(bytes);
  }

  status(jobId: string): Promise<JobStatus> {
    return this.json('GET', `/v1/jobs/${jobId}`, jobStatusSchema);
  }

  enroll(jobId: string, keys: SigningKeyPair, body: EnrollRequest): Promise<EnrollResponse> {
    return this.json('POST', `/v1/jobs/${jobId}/enroll`, enrollResponseSchema, { keys, body: sodiumNow().from_string(JSON.stringify(body)), contentType: 'application/json' });
  }

  async leave(jobId: string, keys: SigningKeyPair): Promise<void> {
    await this.request('DELETE', `/v1/jobs/${jobId}/enroll`, { keys });
  }

  round(jobId: string, keys: SigningKeyPair): Promise<RoundInfo> {
    return this.json('GET', `/v1/jobs/${jobId}/round`, roundInfoSchema, { keys });
  }

  /** The global model at the start of `round`: float32 weights in the job's weight order. */
  async model(jobId: string, round: number, keys: SigningKeyPair, expectedLength: number): Promise<Float32Array> {
    const bytes = await this.request('GET', `/v1/jobs/${jobId}/models/${round}`, { keys, limit: 4 * expectedLength });
    if (bytes.length !== 4 * expectedLength) {
      throw new TroveError('COORDINATOR_PROTOCOL', `The coordinator sent a model of ${bytes.length} bytes; this job's model has ${expectedLength} weights.`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const out = new Float32Array(expectedLength);
    for (let i = 0; i < expectedLength; i++) out[i] = view.getFloat32(4 * i, true);
    for (const w of out) if (!Number.isFinite(w)) throw new TroveError('COORDINATOR_PROTOCOL', 'The coordinator sent a model with values that are not finite numbers.');
    return out;
  }

  /**
   * The analytics job's WebAssembly module. A coordinator may serve anything: the bytes are
   * refused unless their sha256 is the one in the signed document the person approved.
   */
  async module(jobId: string, keys: SigningKeyPair, expectedSha256: string, maxBytes: number): Promise<Uint8Array> {
    const bytes = await this.request('GET', `/v1/jobs/${jobId}/module`, { keys, limit: maxBytes });
    if (sha256Hex(bytes) !== expectedSha256) {
      throw new TroveError('ANALYTICS_MODULE_REFUSED', 'The coordinator served a program that is not the one named in the job you agreed to. It was not run, and nothing was sent.');
    }
    return bytes;
  }

  /** Messages for this contributor after sequence `after`, waiting up to `waitMs` for the first. */
  async inbox(jobId: string, round: number, keys: SigningKeyPair, after: number, waitMs: number): Promise<Inbox> {
    const res = await this.json('GET', `/v1/jobs/${jobId}/rounds/${round}/inbox?after=${after}&waitMs=${waitMs}`, inboxResponseSchema, { keys, extraTimeMs: waitMs });
    return decodeInbox(res);
  }

  /**
   * Sends one message. With `next`, the answer also carries this contributor's messages after
   * `next.after`, waiting up to `next.waitMs` for the first (the next stage's, in one request
   * with this one's reply). `receipt` is the coordinator's receipt when it acknowledges a masked
   * input with one (unchecked), else null.
   */
  async send(jobId: string, round: number, keys: SigningKeyPair, message: Uint8Array, next?: { after: number; waitMs: number }): Promise<Inbox & { receipt: unknown }> {
    const query = next ? `?after=${next.after}&waitMs=${next.waitMs}` : '';
    const res = await this.json('POST', `/v1/jobs/${jobId}/rounds/${round}/messages${query}`, messageAnswerSchema, {
      keys,
      body: message,
      contentType: 'application/octet-stream',
      extraTimeMs: next?.waitMs ?? 0,
    });
    return { ...decodeInbox(res), receipt: res.receipt ?? null };
  }

  /** Calls `listener` after every request this client sends; returns the unsubscribe. */
  watch(listener: (request: SentRequest) => void): () => void {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  private sent(request: SentRequest): void {
    for (const w of this.watchers) w(request);
  }

  private async json<S extends z.ZodType>(method: string, path: string, schema: S, options: RequestOptions = {}): Promise<z.output<S>> {
    const parsed = schema.safeParse(parseJson(await this.request(method, path, options)));
    if (!parsed.success) throw new TroveError('COORDINATOR_PROTOCOL', `The coordinator's answer to ${method} ${path.split('?')[0]} is not what the protocol allows.`);
    return parsed.data;
  }

  /** A fresh nonce: the newest spare one, or one asked for when none is fresh enough. */
  private async takeNonce(): Promise<string> {
    const oldest = this.now() - NONCE_USE_WITHIN_MS;
    while (this.spareNonces.length > 0 && this.spareNonces[0]!.at < oldest) this.spareNonces.shift();
    const spare = this.spareNonces.pop();
    if (spare) return spare.nonce;
    // A request running alongside may take the nonce this one asked for: ask again, a few times.
    for (let attempt = 0; attempt < 3; attempt++) {
      await this.request('GET', '/v1/nonce', { limit: 64 });
      const fresh = this.spareNonces.pop();
      if (fresh) return fresh.nonce;
    }
    throw new TroveError('COORDINATOR_PROTOCOL', 'The coordinator did not hand out a request nonce.');
  }

  private keepNonce(nonce: string | null): void {
    if (nonce === null || !NONCE_PATTERN.test(nonce)) return;
    this.spareNonces.push({ nonce, at: this.now() });
    if (this.spareNonces.length > MAX_SPARE_NONCES) this.spareNonces.shift();
  }

  /**
   * Sends one request. A signed one whose nonce the coordinator refused (it expired while this
   * machine slept, or another process of the coordinator restarted with a new key) is signed once
   * more over a nonce asked for on the spot; a second refusal stands.
   */
  private async request(method: string, path: string, options: RequestOptions = {}): Promise<Uint8Array> {
    try {
      return await this.attempt(method, path, options);
    } catch (err) {
      if (!options.keys || !(err instanceof TroveError) || err.code !== 'NONCE_REFUSED') throw err;
      this.spareNonces.length = 0;
      return this.attempt(method, path, options);
    }
  }

  private async attempt(method: string, path: string, options: RequestOptions): Promise<Uint8Array> {
    await loadSodium();
    const url = new URL(path, this.base);
    const pathAndQuery = url.pathname + url.search;
    const body = options.body ?? new Uint8Array(0);
    const headers: Record<string, string> = options.keys ? signRequest(options.keys, method, pathAndQuery, body, await this.takeNonce()) : {};
    if (options.contentType) headers['content-type'] = options.contentType;
    let res: Response;
    const at = this.now();
    try {
      res = await this.fetcher(url, {
        method,
        headers,
        body: body.length > 0 ? body.slice() : undefined,
        redirect: 'error',
        signal: AbortSignal.timeout(this.timeoutMs + (options.extraTimeMs ?? 0)),
      });
    } catch (err) {
      this.sent({ method, path: pathAndQuery, status: null, sentBytes: body.length, receivedBytes: 0, at });
      if (err instanceof TroveError) throw err;
      throw new TroveError('COORDINATOR_UNREACHABLE', `The job's coordinator at ${this.base.origin} cannot be reached. Trove will try again; your data stays on this machine.`, undefined, { cause: err });
    }
    this.keepNonce(res.headers.get(AUTH_HEADERS.nonce));
    let received = 0;
    try {
      const bytes = await readLimited(res, options.limit ?? MAX_RESPONSE_BYTES);
      received = bytes.length;
      if (!res.ok) throw coordinatorError(res.status, bytes);
      return bytes;
    } finally {
      this.sent({ method, path: pathAndQuery, status: res.status, sentBytes: body.length, receivedBytes: received, at });
    }
  }
}

interface RequestOptions {
  keys?: SigningKeyPair;
  body?: Uint8Array;
  contentType?: string;
  limit?: number;
  extraTimeMs?: number;
}

/**
 * Reads a response body of at most `limit` bytes, refusing more without reading it (by the
 * declared length, or as soon as the stream passes the limit). The caller says what each failure
 * means for it: a body too large, or a connection that broke off.
 */
export async function readCappedBody(res: Response, limit: number, errors: { tooLarge: () => TroveError; broken: (cause: unknown) => TroveError }): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > limit) {
    await res.body?.cancel();
    throw errors.tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body?.getReader();
  try {
    for (;;) {
      if (!reader) break;
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > limit) {
        await reader.cancel();
        throw errors.tooLarge();
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof TroveError) throw err;
    throw errors.broken(err);
  }
  return concatBytes(...chunks);
}

function readLimited(res: Response, limit: number): Promise<Uint8Array> {
  return readCappedBody(res, limit, {
    tooLarge: () => new TroveError('COORDINATOR_PROTOCOL', `The coordinator sent more than the ${limit} bytes expected.`),
    broken: (cause) => new TroveError('COORDINATOR_UNREACHABLE', 'The connection to the coordinator broke off. Trove will try again.', undefined, { cause }),
  });
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new TroveError('COORDINATOR_PROTOCOL', 'The coordinator answered with something that is not JSON.');
  }
}

/** Codes a coordinator may answer with; anything else is a protocol violation. */
const COORDINATOR_CODES = new Set<TroveErrorCode>([
  'INVALID_INPUT',
  'JOB_NOT_FOUND',
  'JOB_NOT_ACTIVE',
  'NOT_ENROLLED',
  'UNAUTHENTICATED',
  'NONCE_REFUSED',
  'RATE_LIMITED',
  'PAYLOAD_TOO_LARGE',
  'SECAGG_MALFORMED',
  'SECAGG_WRONG_ROUND',
  'SECAGG_WRONG_STAGE',
  'SECAGG_REPLAY',
  'SECAGG_BAD_SIGNATURE',
  'ROUND_ABORTED',
]);

function coordinatorError(status: number, bytes: Uint8Array): TroveError {
  // The HTTP server gave up receiving the request (it was too busy to read it, or the link too
  // slow): the request never reached the coordinator's protocol, so sending it again is safe.
  if (status === 408) return new TroveError('COORDINATOR_UNREACHABLE', 'The coordinator was too busy to take the request in time. Trove will try again; your data stays on this machine.', { status });
  let body: unknown;
  try {
    body = parseJson(bytes);
  } catch {
    body = undefined;
  }
  const parsed = errorResponseSchema.safeParse(body);
  if (parsed.success && COORDINATOR_CODES.has(parsed.data.error.code as TroveErrorCode)) {
    return new TroveError(parsed.data.error.code as TroveErrorCode, `The coordinator refused: ${parsed.data.error.message}`, { status });
  }
  return new TroveError('COORDINATOR_PROTOCOL', `The coordinator answered HTTP ${status} without a reason the protocol allows.`, { status });
}
