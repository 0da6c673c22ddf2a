// A small coordinator for driving the app's rounds engine: it speaks the coordinator protocol over
// real HTTP and runs each round with a real SecAggServer, two in-process SecAggClients standing in
// for other contributors, and the app as client 0. Hooks make it hostile in one way at a time: bad
// round settings, garbage in the inbox, an oversize model, or going away mid-round.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { EventEmitter } from 'node:events';
import { roundVectorLength, type JobDocument } from '../../common/jobs/document.js';
import { roundIdFor, roundParamsFor } from '../../common/jobs/rounds.js';
import { TroveError } from '../../common/errors.js';
import { parameterCountOf } from '../../common/jobspec.js';
import { SecAggClient } from '../../common/secagg/client.js';
import { generateSigningKeyPair } from '../../common/secagg/keys.js';
import type { RoundParams } from '../../common/secagg/params.js';
import { SecAggServer, type Outgoing } from '../../common/secagg/server.js';
import { loadSodium } from '../../common/secagg/sodium.js';
import { encodeSetup } from '../../common/secagg/wire.js';
import { weightedInput } from '../../common/secagg/fedavg.js';

export interface CoordinatorHooks {
  /** Replaces the Setup message's parameters. */
  setupParams?: (honest: RoundParams) => RoundParams;
  /** The round the job is at (0 unless a test starts it later). */
  round?: number;
  /** Keeps every contributor waiting for the first round. */
  waiting?: boolean;
  /** Replaces the invitation the app receives. */
  invite?: (honest: Record<string, unknown>) => unknown;
  /** Bytes of model to send instead of the model's size. */
  modelBytes?: number;
  /** Answers the inbox with this raw body instead (once the app has sent `afterPosts` messages). */
  inbox?: { afterPosts: number; body: () => string };
}

const PEER_EXAMPLES = 100;

export class TestCoordinator extends EventEmitter<{ post: [Uint8Array]; request: [string] }> {
  /** Every message the app sent, in order. */
  readonly posts: Uint8Array[] = [];
  /** Method and path of every request that reached the coordinator. */
  readonly requests: string[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  private round: { server: SecAggServer; peers: SecAggClient[]; roster: string[]; params: RoundParams; queue: Uint8Array[] } | null = null;
  private finished = false;
  private readonly wake = new EventEmitter();

  /** The job it runs; a test publishing the job on-chain sets the document and id once it knows them. */
  constructor(
    public doc: JobDocument,
    private readonly chainId: string,
    public jobId: string,
    private readonly hooks: CoordinatorHooks = {},
  ) {
    super();
  }

  get roundNumber(): number {
    return this.hooks.round ?? 0;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The round's decoded sum once it closed. */
  get result() {
    return this.round?.server.result;
  }

  get peerWeight(): number {
    return PEER_EXAMPLES / this.doc.aggregation.maxExamples;
  }

  async start(): Promise<this> {
    await loadSodium();
    await this.listen();
    return this;
  }

  private async listen(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Stops answering: every open connection is cut and the port closed. */
  async goAway(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }

  /** Answers again on the same port, with the round where it was. */
  async comeBack(): Promise<void> {
    await this.listen();
  }

  async close(): Promise<void> {
    this.wake.emit('message');
    await this.goAway();
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(typeof body === 'string' ? body : JSON.stringify(body));
  }

  private async openRound(appKeyHex: string): Promise<void> {
    const roundId = roundIdFor(this.chainId, this.jobId, this.roundNumber);
    const peerKeys = [generateSigningKeyPair(), generateSigningKeyPair()];
    const roster = [Buffer.from(appKeyHex, 'hex'), ...peerKeys.map((k) => k.publicKey)];
    const honest = roundParamsFor(this.doc, roundId, roster.length);
    const server = await SecAggServer.create(honest, roster);
    const d = roundVectorLength(this.doc);
    const peerInput = weightedInput(new Float64Array(d - 1), PEER_EXAMPLES, this.doc.aggregation.maxExamples, this.doc.aggregation.clipRange);
    const peers = await Promise.all(peerKeys.map((k, i) => SecAggClient.create({ id: i + 1, signingKeys: k, roster, roundId, input: peerInput })));
    this.round = { server, peers, roster: roster.map((k) => Buffer.from(k).toString('hex')), params: honest, queue: [] };
    let out = server.start(Date.now());
    if (this.hooks.setupParams) {
      const bad = this.hooks.setupParams(honest);
      out = out.map((o) => (o.to === 0 ? { to: 0, message: encodeSetup(bad, 0) } : o));
    }
    this.deliver(out);
  }

  private deliver(outgoing: Outgoing[]): void {
    const r = this.round!;
    for (const { to, message } of outgoing) {
      if (to === 0) {
        r.queue.push(message);
        this.wake.emit('message');
        continue;
      }
      const peer = r.peers[to - 1]!;
      if (peer.stage === 'done' || peer.stage === 'aborted') continue;
      const reply = peer.handle(message);
      if (reply) r.server.receive(reply);
    }
    while (r.server.canAdvance(Date.now())) {
      const next = r.server.advance(Date.now());
      if (next.length === 0 && r.server.stage !== 'done' && r.server.stage !== 'aborted') break;
      if (next.length === 0) break;
      this.deliver(next);
      return;
    }
    if (r.server.stage === 'done') this.finished = true;
  }

  private stageName(): string {
    const s = this.round?.server.stage;
    return s === 'done' ? 'closed' : s === 'aborted' ? 'aborted' : s === 'setup' || s === undefined ? 'advertise-keys' : s;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    this.requests.push(`${req.method} ${url.pathname}${url.search}`);
    this.emit('request', `${req.method} ${url.pathname}`);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = new Uint8Array(Buffer.concat(chunks));
    const key = String(req.headers['x-trove-key'] ?? '');
    const base = `/v1/jobs/${this.jobId}`;
    try {
      if (req.method === 'GET' && url.pathname === `${base}/round`) {
        if (this.finished) return this.json(res, 200, { state: 'finished', reason: 'completed' });
        if (this.hooks.waiting) return this.json(res, 200, { state: 'waiting', nextRound: 0, retryAfterMs: 100 });
        if (!this.round) await this.openRound(key);
        const r = this.round!;
        const honest = {
          state: 'invited',
          round: this.roundNumber,
          roundId: Buffer.from(r.params.roundId).toString('hex'),
          clientId: 0,
          roster: r.roster,
          stage: this.stageName(),
          stageDeadline: Date.now() + 60_000,
        };
        return this.json(res, 200, this.hooks.invite ? this.hooks.invite(honest) : honest);
      }
      if (req.method === 'GET' && url.pathname === `${base}/models/${this.roundNumber}`) {
        const bytes = this.hooks.modelBytes ?? 4 * parameterCountOf(this.doc.training.model);
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.alloc(bytes));
        return;
      }
      if (req.method === 'GET' && url.pathname === `${base}/rounds/${this.roundNumber}/inbox`) {
        if (this.hooks.inbox && this.posts.length >= this.hooks.inbox.afterPosts) return this.json(res, 200, this.hooks.inbox.body());
        const after = Number(url.searchParams.get('after') ?? '0');
        const waitMs = Math.min(Number(url.searchParams.get('waitMs') ?? '0'), 2000);
        const queue = this.round?.queue ?? [];
        if (queue.length <= after) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, waitMs);
            const wake = this.wake;
            function done(): void {
              clearTimeout(timer);
              wake.off('message', done);
              resolve();
            }
            wake.on('message', done);
          });
        }
        const messages = (this.round?.queue ?? []).slice(after, after + 64).map((m, i) => ({ seq: after + i + 1, data: Buffer.from(m).toString('base64') }));
        return this.json(res, 200, { messages, stage: this.stageName() });
      }
      if (req.method === 'POST' && url.pathname === `${base}/rounds/${this.roundNumber}/messages`) {
        this.posts.push(body);
        this.emit('post', body);
        this.round!.server.receive(body);
        this.deliver([]);
        res.writeHead(204).end();
        return;
      }
      if (url.pathname === `${base}/enroll`) {
        return req.method === 'DELETE' ? void res.writeHead(204).end() : this.json(res, 200, { jobId: this.jobId, nextRound: 0, enrolled: 1 });
      }
      this.json(res, 404, { error: { code: 'JOB_NOT_FOUND', message: 'no such route' } });
    } catch (err) {
      if (err instanceof TroveError) return this.json(res, 409, { error: { code: err.code, message: err.message } });
      this.json(res, 500, { error: { code: 'INVALID_INPUT', message: 'internal' } });
    }
  }
}
