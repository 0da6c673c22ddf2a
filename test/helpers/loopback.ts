// A test's own HTTP server on loopback (127.0.0.1, never another address): started on a free port,
// and closed with whatever connections it still holds.
import type { Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';

/** Starts `server` on a free loopback port and returns its base URL, http://127.0.0.1:<port>. */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Drops the server's open connections (kept-alive ones included) and closes it. */
export async function closeLoopback(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A loopback port that was free a moment ago, for a server the test starts later. */
export async function freeLoopbackPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
