// A local WalletConnect relay for tests and the demo. WalletConnect publishes no open relay, so
// this speaks the part of the relay's JSON-RPC that the sign-client uses, over WebSocket on
// loopback: irn_subscribe / irn_publish / irn_unsubscribe and their batch forms,
// irn_batchFetchMessages, wc_proposeSession / wc_approveSession (the relay publishes the payload
// and subscribes the caller itself), and irn_subscription pushes. Messages are kept until their
// TTL and delivered to each client once (a mailbox), never back to the client that sent them.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { decodeJWT, verifyJWT } from '@walletconnect/relay-auth';
import { WebSocketServer, type WebSocket } from 'ws';

export interface LocalRelay {
  /** ws://127.0.0.1:PORT, the relay URL to give sign-clients. */
  readonly url: string;
  /** Messages published so far (tests read this to see that something crossed the relay). */
  readonly published: number;
  close(): Promise<void>;
}

export interface LocalRelayOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** How often the relay pings each client; the sign-client reconnects after 35 s without one. */
  pingIntervalMs?: number;
}

interface StoredMessage {
  topic: string;
  message: string;
  tag: number;
  publishedAt: number;
  expiresAt: number;
  attestation?: string;
  from: string;
  deliveredTo: Set<string>;
}

interface Client {
  id: string;
  socket: WebSocket;
  /** topic -> subscription id */
  subscriptions: Map<string, string>;
}

class RelayRequestError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_TTL_S = 300;
const MAX_MESSAGE_BYTES = 1 << 20;

/** The client's identity (did:key of its ed25519 key) from a valid, unexpired auth JWT, or undefined. */
async function clientIdFrom(request: IncomingMessage): Promise<string | undefined> {
  const url = new URL(request.url ?? '/', 'ws://127.0.0.1');
  const jwt = url.searchParams.get('auth');
  if (!jwt) return undefined;
  try {
    if (!(await verifyJWT(jwt))) return undefined;
    const { payload } = decodeJWT(jwt);
    if (payload.exp * 1000 < Date.now()) return undefined;
    return payload.iss;
  } catch {
    return undefined;
  }
}

/** The request's id exactly as sent: the sign-client's ids can exceed 2^53, which JSON.parse would round. */
function rawIdOf(text: string, parsed: { id?: unknown }): string {
  const match = /^\s*\{\s*"id"\s*:\s*(-?\d+|"[^"]*")/.exec(text);
  return match?.[1] ?? JSON.stringify(parsed.id ?? null);
}

const str = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || v.length === 0) throw new RelayRequestError(-32602, `${name} must be a non-empty string`);
  return v;
};

export async function startLocalRelay(options: LocalRelayOptions = {}): Promise<LocalRelay> {
  const messages: StoredMessage[] = [];
  const clients = new Set<Client>();
  let published = 0;
  let pushId = Date.now() * 1000;

  const prune = () => {
    const now = Date.now();
    for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.expiresAt <= now) messages.splice(i, 1);
  };

  const push = (client: Client, m: StoredMessage) => {
    const subscriptionId = client.subscriptions.get(m.topic);
    if (!subscriptionId || m.from === client.id || m.deliveredTo.has(client.id)) return;
    m.deliveredTo.add(client.id);
    const data = { topic: m.topic, message: m.message, publishedAt: m.publishedAt, tag: m.tag, attestation: m.attestation };
    client.socket.send(JSON.stringify({ id: ++pushId, jsonrpc: '2.0', method: 'irn_subscription', params: { id: subscriptionId, data } }));
  };

  const publish = (from: Client, p: Record<string, unknown>) => {
    const topic = str(p.topic, 'topic');
    const message = str(p.message, 'message');
    const ttl = typeof p.ttl === 'number' && p.ttl > 0 ? p.ttl : DEFAULT_TTL_S;
    const now = Date.now();
    const stored: StoredMessage = {
      topic,
      message,
      tag: typeof p.tag === 'number' ? p.tag : 0,
      publishedAt: now,
      expiresAt: now + ttl * 1000,
      attestation: typeof p.attestation === 'string' ? p.attestation : undefined,
      from: from.id,
      deliveredTo: new Set(),
    };
    messages.push(stored);
    published++;
    for (const c of clients) push(c, stored);
  };

  const subscribe = (client: Client, topic: string): string => {
    const existing = client.subscriptions.get(topic);
    const id = existing ?? randomBytes(32).toString('hex');
    client.subscriptions.set(topic, id);
    return id;
  };

  /** After the response: deliver what waits on the topics (so the client knows the subscription id first). */
  const deliverStored = (client: Client, topics: string[]) => {
    prune();
    for (const m of messages) if (topics.includes(m.topic)) push(client, m);
  };

  const handle = (client: Client, method: string, params: Record<string, unknown>): { result: unknown; after?: () => void } => {
    switch (method) {
      case 'irn_subscribe': {
        const topic = str(params.topic, 'topic');
        return { result: subscribe(client, topic), after: () => deliverStored(client, [topic]) };
      }
      case 'irn_batchSubscribe': {
        const topics = Array.isArray(params.topics) ? params.topics.map((t) => str(t, 'topic')) : [];
        return { result: topics.map((t) => subscribe(client, t)), after: () => deliverStored(client, topics) };
      }
      case 'irn_unsubscribe':
        client.subscriptions.delete(str(params.topic, 'topic'));
        return { result: true };
      case 'irn_batchUnsubscribe': {
        const subs = Array.isArray(params.subscriptions) ? (params.subscriptions as { topic?: unknown }[]) : [];
        for (const s of subs) client.subscriptions.delete(str(s.topic, 'topic'));
        return { result: true };
      }
      case 'irn_publish':
        publish(client, params);
        return { result: true };
      case 'irn_batchPublish': {
        const list = Array.isArray(params.messages) ? (params.messages as Record<string, unknown>[]) : [];
        for (const m of list) publish(client, m);
        return { result: true };
      }
      case 'irn_batchFetchMessages': {
        prune();
        const topics = Array.isArray(params.topics) ? params.topics.map((t) => str(t, 'topic')) : [];
        const out = messages
          .filter((m) => topics.includes(m.topic) && m.from !== client.id && !m.deliveredTo.has(client.id))
          .map((m) => {
            m.deliveredTo.add(client.id);
            return { topic: m.topic, message: m.message, publishedAt: m.publishedAt, tag: m.tag, attestation: m.attestation };
          });
        return { result: { messages: out, hasMore: false } };
      }
      case 'wc_proposeSession': {
        const pairingTopic = str(params.pairingTopic, 'pairingTopic');
        subscribe(client, pairingTopic);
        publish(client, { topic: pairingTopic, message: params.sessionProposal, ttl: params.ttl, tag: 1100, attestation: params.attestation });
        return { result: true };
      }
      case 'wc_approveSession': {
        const pairingTopic = str(params.pairingTopic, 'pairingTopic');
        const sessionTopic = str(params.sessionTopic, 'sessionTopic');
        subscribe(client, sessionTopic);
        publish(client, { topic: pairingTopic, message: params.sessionProposalResponse, ttl: params.ttl, tag: 1101 });
        publish(client, { topic: sessionTopic, message: params.sessionSettlementRequest, ttl: params.ttl, tag: 1102 });
        return { result: true };
      }
      default:
        throw new RelayRequestError(-32601, `unknown method ${method}`);
    }
  };

  const onMessage = (client: Client, raw: Buffer) => {
    const text = raw.toString('utf8');
    let parsed: { id?: unknown; method?: unknown; params?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      client.socket.send(JSON.stringify({ id: null, jsonrpc: '2.0', error: { code: -32700, message: 'parse error' } }));
      return;
    }
    if (typeof parsed.method !== 'string') return; // an acknowledgement of irn_subscription
    const id = rawIdOf(text, parsed);
    try {
      const params = (parsed.params && typeof parsed.params === 'object' ? parsed.params : {}) as Record<string, unknown>;
      const { result, after } = handle(client, parsed.method, params);
      client.socket.send(`{"id":${id},"jsonrpc":"2.0","result":${JSON.stringify(result)}}`);
      after?.();
    } catch (e) {
      const err = e instanceof RelayRequestError ? e : new RelayRequestError(-32603, 'internal error');
      client.socket.send(`{"id":${id},"jsonrpc":"2.0","error":${JSON.stringify({ code: err.code, message: err.message })}}`);
    }
  };

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const http = createServer((_req, res) => res.writeHead(426).end('WebSocket only'));
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    void clientIdFrom(request).then((clientId) => {
      if (!clientId) {
        socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => {
        const client: Client = { id: clientId, socket: ws, subscriptions: new Map() };
        clients.add(client);
        ws.on('message', (data: Buffer) => onMessage(client, data));
        ws.on('close', () => clients.delete(client));
        ws.on('error', () => ws.terminate());
      });
    });
  });

  const pings = setInterval(() => {
    for (const c of clients) c.socket.ping();
  }, options.pingIntervalMs ?? 10_000);
  pings.unref();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : 0;

  return {
    url: `ws://127.0.0.1:${port}`,
    get published() {
      return published;
    },
    close: async () => {
      clearInterval(pings);
      for (const c of clients) c.socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
