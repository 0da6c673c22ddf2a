// Each job talks to its coordinator over its own connections: a loopback server records which
// socket every request arrives on, and two jobs' requests never share one, while one job's
// requests do reuse its own (so the test would see sharing). Positive control: the same requests
// through one shared pool arrive on a common socket.
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent, fetch as poolFetch } from 'undici';
import { JobConnections } from '../../main/services/jobs/connections.js';
import { closeLoopback, listenOnLoopback } from '../helpers/loopback.js';

interface Loopback {
  url: string;
  /** Socket number of each request, by the path it asked for. */
  sockets: Map<string, number[]>;
  close: () => Promise<void>;
}

async function loopback(): Promise<Loopback> {
  const ids = new WeakMap<Socket, number>();
  let next = 0;
  const sockets = new Map<string, number[]>();
  const server: Server = createServer((req, res) => {
    const id = ids.get(req.socket as Socket)!;
    const job = (req.url ?? '').split('/')[3] ?? '';
    sockets.set(job, [...(sockets.get(job) ?? []), id]);
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  server.on('connection', (socket) => ids.set(socket, next++));
  return { url: await listenOnLoopback(server), sockets, close: () => closeLoopback(server) };
}

async function interleaved(server: Loopback, fetchFor: (job: string) => typeof fetch): Promise<void> {
  for (let i = 0; i < 4; i++) {
    for (const job of ['101', '202']) {
      const res = await fetchFor(job)(`${server.url}/v1/jobs/${job}/round`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
  }
}

const shared = (s: Loopback): number[] => (s.sockets.get('101') ?? []).filter((id) => (s.sockets.get('202') ?? []).includes(id));

describe('connections per job', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0)) await c();
  });

  it('two jobs never share a socket, and each job keeps using its own', async () => {
    const server = await loopback();
    const connections = new JobConnections();
    cleanup.push(() => connections.closeAll(), () => server.close());
    await interleaved(server, (job) => connections.fetchFor(job));
    expect(server.sockets.get('101')).toHaveLength(4);
    expect(shared(server)).toEqual([]);
    // Kept alive within a job: its four requests reuse its sockets.
    expect(new Set(server.sockets.get('101')).size).toBeLessThan(4);
    expect(new Set(server.sockets.get('202')).size).toBeLessThan(4);
  });

  it('positive control: one pool for both jobs puts them on the same socket', async () => {
    const server = await loopback();
    // One socket per origin, so the sharing is certain rather than up to which socket is free first.
    const agent = new Agent({ connections: 1 });
    cleanup.push(() => agent.close(), () => server.close());
    const one = ((input: string | URL, init?: RequestInit) => poolFetch(input, { ...(init as object), dispatcher: agent })) as unknown as typeof fetch;
    await interleaved(server, () => one);
    expect(shared(server).length).toBeGreaterThan(0);
  });

  it('closing a job ends its sockets and a later request opens a fresh one', async () => {
    const server = await loopback();
    const connections = new JobConnections();
    cleanup.push(() => connections.closeAll(), () => server.close());
    await (await connections.fetchFor('101')(`${server.url}/v1/jobs/101/round`)).arrayBuffer();
    await connections.close('101');
    await (await connections.fetchFor('101')(`${server.url}/v1/jobs/101/round`)).arrayBuffer();
    expect(new Set(server.sockets.get('101')).size).toBe(2);
  });
});
