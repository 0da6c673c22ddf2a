// The local relay speaks what the sign-client needs: auth checked, messages kept until their TTL
// and delivered on subscribe, once per client, never echoed to their sender.
import { randomBytes } from 'node:crypto';
import { generateKeyPair, signJWT } from '@walletconnect/relay-auth';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startLocalRelay, type LocalRelay } from '../../relay/server.js';

interface Peer {
  call(method: string, params: unknown): Promise<unknown>;
  pushes: { topic: string; message: string; tag: number }[];
  close(): void;
}

let relay: LocalRelay;
beforeEach(async () => {
  relay = await startLocalRelay();
});
afterEach(async () => {
  await relay.close();
});

async function authFor(seed = randomBytes(32)): Promise<string> {
  return signJWT(randomBytes(32).toString('hex'), relay.url, 3600, generateKeyPair(seed));
}

async function connect(auth?: string): Promise<Peer> {
  const socket = new WebSocket(`${relay.url}/?${auth === undefined ? '' : `auth=${auth}`}`);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const waiting = new Map<number, (v: unknown) => void>();
  const pushes: Peer['pushes'] = [];
  let next = 1;
  socket.on('message', (raw: Buffer) => {
    const msg = JSON.parse(raw.toString()) as { id: number; method?: string; params?: { data: Peer['pushes'][number] }; result?: unknown; error?: unknown };
    if (msg.method === 'irn_subscription') {
      pushes.push(msg.params!.data);
      socket.send(JSON.stringify({ id: msg.id, jsonrpc: '2.0', result: true }));
    } else waiting.get(msg.id)?.(msg.error ? { error: msg.error } : msg.result);
  });
  return {
    pushes,
    call: (method, params) =>
      new Promise((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        socket.send(JSON.stringify({ id, jsonrpc: '2.0', method, params }));
      }),
    close: () => socket.close(),
  };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

describe('local WalletConnect relay', () => {
  it('refuses a connection without a valid auth JWT', async () => {
    await expect(connect()).rejects.toThrow(/401/);
    const forged = (await authFor()).replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    await expect(connect(forged)).rejects.toThrow(/401/);
    // Positive control: a signed one is let in.
    const ok = await connect(await authFor());
    ok.close();
  });

  it('keeps a published message until a subscriber comes, then delivers it once and not to its sender', async () => {
    const sender = await connect(await authFor());
    const topic = randomBytes(32).toString('hex');
    expect(await sender.call('irn_subscribe', { topic })).toMatch(/^[0-9a-f]{64}$/);
    expect(await sender.call('irn_publish', { topic, message: 'hello', ttl: 300, tag: 1 })).toBe(true);
    const seed = randomBytes(32);
    const late = await connect(await authFor(seed));
    await late.call('irn_batchSubscribe', { topics: [topic] });
    await until(() => late.pushes.length === 1);
    expect(late.pushes[0]).toMatchObject({ topic, message: 'hello', tag: 1 });
    expect(sender.pushes).toHaveLength(0);
    late.close();
    // The same client (same key) reconnecting does not get it again.
    const again = await connect(await authFor(seed));
    await again.call('irn_subscribe', { topic });
    expect(await again.call('irn_batchFetchMessages', { topics: [topic] })).toEqual({ messages: [], hasMore: false });
    again.close();
    sender.close();
  });

  it('drops a message after its TTL', async () => {
    const sender = await connect(await authFor());
    const topic = randomBytes(32).toString('hex');
    await sender.call('irn_publish', { topic, message: 'short-lived', ttl: 0.05, tag: 1 });
    await sender.call('irn_publish', { topic, message: 'kept', ttl: 300, tag: 1 });
    await new Promise((r) => setTimeout(r, 100));
    const reader = await connect(await authFor());
    await reader.call('irn_subscribe', { topic });
    await until(() => reader.pushes.length >= 1);
    expect(reader.pushes.map((p) => p.message)).toEqual(['kept']);
    reader.close();
    sender.close();
  });

  it('answers an unknown method and a malformed request with JSON-RPC errors', async () => {
    const peer = await connect(await authFor());
    expect(await peer.call('irn_nonsense', {})).toEqual({ error: { code: -32601, message: 'unknown method irn_nonsense' } });
    expect(await peer.call('irn_publish', { topic: 5 })).toEqual({ error: { code: -32602, message: 'topic must be a non-empty string' } });
    peer.close();
  });
});
