// A session and router on a fresh vault in a temp folder, with cheap key derivation.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppSession } from '../../../main/services/session/session.js';
import { createRouter, type Router } from '../../../main/ipc/router.js';
import { sessionHandlers } from '../../../main/ipc/handlers.js';
import { uploadFile } from '../../../preload/api.js';

export const FAST_KDF = { opsLimit: 1, memLimit: 8 * 1024 * 1024 };
export const PASSPHRASE = 'correct horse battery staple';

export interface Harness {
  dir: string;
  session: AppSession;
  router: Router;
  internalErrors: string[];
  call<T = unknown>(channel: string, request?: unknown): Promise<T>;
  /** Stages a file by upload, in chunks, as a browser host's preload does. */
  stage(name: string, contents: string | Uint8Array): Promise<string>;
  close(): Promise<void>;
}

export async function harness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'trove-ipc-'));
  const session = await AppSession.start({ dataDir: join(dir, 'app'), vault: { kdf: FAST_KDF } });
  const internalErrors: string[] = [];
  const router = createRouter(sessionHandlers(session), { onInternalError: (channel, err) => internalErrors.push(`${channel}: ${String(err)}`) });
  const call = async <T>(channel: string, request: unknown = {}): Promise<T> => {
    const r = await router.handle(channel, request);
    if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code, details: r.error.details });
    return r.value as T;
  };
  return {
    dir,
    session,
    router,
    internalErrors,
    call,
    stage: async (name, contents) => {
      const blob = new Blob([typeof contents === 'string' ? contents : new Uint8Array(contents)]);
      const r = await uploadFile({ name, size: blob.size, slice: (a, b) => blob.slice(a, b) }, (c, req) => router.handle(c, req));
      if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
      return r.value.token;
    },
    close: async () => {
      await session.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function csv(rows: number, bad: number[] = []): string {
  const lines = ['city,temp,day'];
  for (let i = 1; i <= rows; i++) lines.push(bad.includes(i + 1) ? `X${i},warm,2024-01-01` : `City ${i},${(i * 1.5).toFixed(1)},2024-01-${String(1 + (i % 28)).padStart(2, '0')}`);
  return lines.join('\n') + '\n';
}

export function writeTemp(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
