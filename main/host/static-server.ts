// Serves the built renderer on 127.0.0.1 for the headless host, with the same Content-Security-
// Policy the desktop window enforces, so browser tests run the page under the app's real rules.
import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import { rendererFile } from '../security.js';


export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

export async function serveRenderer(folder: string): Promise<StaticServer> {
  const root = resolve(folder);
  const server: Server = createServer((req, res) => {
    void (async () => {
      const found = req.method === 'GET' ? await rendererFile(root, new URL(req.url ?? '/', 'http://localhost').pathname) : null;
      if (!found) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { ...found.headers, 'Cache-Control': 'no-store' });
      res.end(found.body);
    })();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
