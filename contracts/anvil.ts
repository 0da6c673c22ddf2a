// A local anvil chain (from npm) for development, the demo and tests: started on a free loopback
// port, ready once it answers eth_chainId, and always stopped by whoever started it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export interface LocalChain {
  url: string;
  port: number;
  /** Stops anvil and waits for it to exit (SIGKILL after a grace period). */
  stop(): Promise<void>;
}

/** anvil's default mnemonic accounts: well-known keys, only ever used on a local chain. */
export const ANVIL_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
  '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
] as const;

function anvilBinary(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  try {
    const pkg = dirname(require.resolve(`@foundry-rs/anvil-${process.platform}-${arch}/package.json`));
    const bin = join(pkg, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
    if (existsSync(bin)) return bin;
  } catch {
    // fall through to the launcher
  }
  return join(dirname(require.resolve('@foundry-rs/anvil/package.json')), 'bin.mjs');
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function chainAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal: AbortSignal.timeout(1_000),
    });
    const body = (await res.json()) as { result?: string };
    return typeof body.result === 'string';
  } catch {
    return false;
  }
}

function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}

/** Starts anvil; rejects (and leaves nothing running) if it is not answering within `timeoutMs`. */
export async function startAnvil(options: { timeoutMs?: number; args?: string[]; port?: number } = {}): Promise<LocalChain> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const bin = anvilBinary();
  const command = bin.endsWith('.mjs') ? process.execPath : bin;
  const args = [...(bin.endsWith('.mjs') ? [bin] : []), '--host', '127.0.0.1', '--port', String(port), '--silent', ...(options.args ?? [])];
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2_000);
  });

  const deadline = Date.now() + timeoutMs;
  while (!(await chainAnswers(url))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopProcess(child, 1_000);
      throw new Error(`anvil did not start on ${url} within ${timeoutMs} ms: ${stderr.trim() || 'no output'}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, port, stop: () => stopProcess(child, 3_000) };
}
