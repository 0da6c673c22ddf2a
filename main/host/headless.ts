// The headless host: the app's services and IPC router, served to a Chromium page instead of an
// Electron window. Playwright's exposeBinding stands in for ipcRenderer.invoke, and the same
// preload builder makes window.trove. Browser tests use it; so can anyone without Electron.
import { fileURLToPath } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { AppSession, type AppSessionOptions } from '../services/session/session.js';
import { createRouter, type Router } from '../ipc/router.js';
import { sessionHandlers } from '../ipc/handlers.js';
import { serveRenderer, type StaticServer } from './static-server.js';

/** A Playwright page (the host uses exposeBinding, addInitScript, evaluate and goto). */
export type HostPage = Page;

export interface HeadlessHost {
  session: AppSession;
  router: Router;
  url: string;
  close(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
export const PROJECT_ROOT = resolve(here, '..', '..');
export const RENDERER_DIST = join(PROJECT_ROOT, 'dist', 'renderer');
export const HEADLESS_PRELOAD = join(PROJECT_ROOT, 'dist', 'preload', 'headless.js');

export async function startHeadlessHost(page: HostPage, opts: AppSessionOptions): Promise<HeadlessHost> {
  for (const built of [join(RENDERER_DIST, 'index.html'), HEADLESS_PRELOAD]) {
    if (!existsSync(built)) throw new Error(`${built} is missing: run "npm run build:ui" first.`);
  }
  const session = await AppSession.start({ ...opts, stagePaths: false });
  const router = createRouter(sessionHandlers(session), {
    onInternalError: (channel, err) => console.error(`[trove] ${channel} failed:`, err instanceof Error ? err.message : 'unknown error'),
  });
  let server: StaticServer | null = null;
  try {
    await page.exposeBinding('__troveInvoke', (_source, channel: unknown, request: unknown) => router.handle(channel, request));
    await page.addInitScript({ path: HEADLESS_PRELOAD });
    session.onEvent((event, payload) => {
      page
        .evaluate(([e, p]) => (globalThis as unknown as { __troveHostEvent?: (e: string, p: unknown) => void }).__troveHostEvent?.(e, p), [event, payload] as const)
        .catch(() => undefined); // the page may be navigating or closed: events are hints, state is re-read
    });
    server = await serveRenderer(RENDERER_DIST);
    await page.goto(server.url);
  } catch (err) {
    await server?.close();
    await session.close();
    throw err;
  }
  const s = server;
  return {
    session,
    router,
    url: s.url,
    close: async () => {
      await session.close();
      await s.close();
    },
  };
}
