// A hostile coordinator: it speaks the coordinator protocol over real HTTP far enough to invite the
// app to a round and hand it the round's Setup, then misbehaves in one way at a time: bad round
// settings, a lie about the round id, an oversize model, garbage or non-JSON in the inbox. Honest
// rounds run against the real coordinator (coordinator/); this is only for a malicious peer.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Wallet } from 'ethers';
import type { JobDocument } from '../../common/jobs/document.js';
import { AUTH_HEADERS } from '../../common/jobs/protocol.js';
import { modelHashOf, roundIdFor, roundParamsFor } from '../../common/jobs/rounds.js';
import { parameterCountOf } from '../../common/jobspec.js';
import { generateSigningKeyPair } from '../../common/secagg/keys.js';
import type { RoundParams } from '../../common/secagg/params.js';
import { loadSodium } from '../../common/secagg/sodium.js';
import { encodeSetup } from '../../common/secagg/wire.js';
import { sleepJob } from './fixtures.js';

export interface Hostility {
  /** Replaces the Setup message's parameters. */
  setupParams?: (honest: RoundParams) => RoundParams;
  /** Replaces the invitation the app receives. */
  invite?: (honest: Record<string, unknown>) => unknown;
  /** Bytes of model to send instead of the model's size. */
  modelBytes?: number;
  /** Answers the inbox with this raw body (once the app has sent `afterPosts` messages). */
  inbox?: { afterPosts: number; body: string };
}

export const HOSTILE_CHAIN = '31337';
export const HOSTILE_JOB = '1';

/** The job the hostile coordinator claims to run: its document is honest, only the peer is not. */
export function hostileJobDocument(): JobDocument {
  return sleepJob({
    researcher: Wallet.createRandom().address,
    coordinator: { url: 'http://coordinator.test', address: Wallet.createRandom().address },
    token: Wallet.createRandom().address,
    chainId: HOSTILE_CHAIN,
    deadline: Math.floor(Date.now() / 1000) + 86_400,
    // The app and the two other keys it is shown.
    minContributors: 3,
  });
}

export class HostileCoordinator {
  /** Every message the app sent, in order. */
  readonly posts: Uint8Array[] = [];
  /** Method and path of every request that reached it. */
  readonly requests: string[] = [];
  private server: Server | null = null;
  private setup: { roster: string[]; roundId: string; message: Uint8Array } | null = null;

  constructor(
    readonly doc: JobDocument,
    private readonly hostility: Hostility,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    await loadSodium();
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  /** A round of the app and two other keys, with the Setup the app is sent as client 0. */
  private roundFor(appKeyHex: string): NonNullable<HostileCoordinator['setup']> {
    const roundId = roundIdFor(HOSTILE_CHAIN, HOSTILE_JOB, 0);
    const roster = [appKeyHex, ...[1, 2].map(() => Buffer.from(generateSigningKeyPair().publicKey).toString('hex'))];
    const honest = roundParamsFor(this.doc, roundId, roster.length, modelHashOf(new Float32Array(parameterCountOf(this.doc.training.model))));
    const params = this.hostility.setupParams ? this.hostility.setupParams(honest) : honest;
    return { roster, roundId: Buffer.from(roundId).toString('hex'), message: encodeSetup(params, 0) };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}`);
    // It hands out nonces as a coordinator must (it never checks them: it only wants the app in).
    res.setHeader(AUTH_HEADERS.nonce, randomBytes(56).toString('hex'));
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const base = `/v1/jobs/${HOSTILE_JOB}`;
    if (req.method === 'GET' && url.pathname === `${base}/round`) {
      this.setup ??= this.roundFor(String(req.headers['x-trove-key'] ?? ''));
      const honest = { state: 'invited', round: 0, roundId: this.setup.roundId, clientId: 0, roster: this.setup.roster, stage: 'advertise-keys', stageDeadline: Date.now() + 60_000 };
      return this.json(res, 200, this.hostility.invite ? this.hostility.invite(honest) : honest);
    }
    if (req.method === 'GET' && url.pathname === `${base}/models/0`) {
      const bytes = this.hostility.modelBytes ?? 4 * parameterCountOf(this.doc.training.model);
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.alloc(bytes));
      return;
    }
    if (req.method === 'GET' && url.pathname === `${base}/rounds/0/inbox`) {
      const { inbox } = this.hostility;
      if (inbox && this.posts.length >= inbox.afterPosts) return this.json(res, 200, inbox.body);
      const after = Number(url.searchParams.get('after') ?? '0');
      const messages = this.setup && after < 1 ? [{ seq: 1, data: Buffer.from(this.setup.message).toString('base64') }] : [];
      // Nothing more ever comes from this coordinator: a short wait keeps the app's polling calm.
      if (messages.length === 0) await new Promise((r) => setTimeout(r, Math.min(Number(url.searchParams.get('waitMs') ?? '0'), 200)));
      return this.json(res, 200, { messages, stage: 'advertise-keys' });
    }
    if (req.method === 'POST' && url.pathname === `${base}/rounds/0/messages`) {
      this.posts.push(new Uint8Array(Buffer.concat(chunks)));
      // Taken, and nothing more to say: the round stays where it is.
      return this.json(res, 200, { messages: [], stage: 'advertise-keys' });
    }
    this.json(res, 404, { error: { code: 'JOB_NOT_FOUND', message: 'no such route' } });
  }
}
