// The desktop window's security settings, checked with Electron replaced by a recording double
// (no Electron binary is needed): webPreferences, the CSP on every response, and the handlers that
// deny navigation, new windows, webviews, permissions and remote content.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { state } from './electron-double.js';

vi.mock('electron', () => import('./electron-double.js'));

const { APP_URL, createMainWindow, hardenSession, registerAppScheme, serveRenderer } = await import('../../../main/electron/window.js');
const { CONTENT_SECURITY_POLICY } = await import('../../../main/security.js');

beforeEach(() => {
  state.windows.length = 0;
});

describe('the app window', () => {
  it('runs the renderer isolated and sandboxed, with no Node and web security on', () => {
    createMainWindow({ preload: '/app/dist/main/electron/preload.cjs' });
    const win = state.windows[0]!;
    expect(win.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      disableBlinkFeatures: 'Auxclick',
      preload: '/app/dist/main/electron/preload.cjs',
    });
    expect((win.options.webPreferences as { devTools: boolean }).devTools).toBe(false);
    // Nothing else is loosened: no option beyond the ones spelled out above.
    expect(Object.keys(win.options.webPreferences as object).sort()).toEqual(
      ['allowRunningInsecureContent', 'contextIsolation', 'devTools', 'disableBlinkFeatures', 'experimentalFeatures', 'navigateOnDragDrop', 'nodeIntegration', 'nodeIntegrationInSubFrames', 'nodeIntegrationInWorker', 'preload', 'safeDialogs', 'sandbox', 'spellcheck', 'webSecurity', 'webviewTag'],
    );
    expect(win.loaded).toBe(APP_URL);
    expect(APP_URL.startsWith('app://trove/')).toBe(true);
  });

  it('denies new windows, navigation away from the app, redirects and webviews', () => {
    createMainWindow({ preload: 'preload.cjs' });
    const contents = state.windows[0]!.contents;
    expect(contents.openHandler?.({ url: 'https://example.com/' })).toEqual({ action: 'deny' });
    expect(contents.openHandler?.({ url: APP_URL })).toEqual({ action: 'deny' });
    expect(contents.fire('will-navigate', 'https://example.com/')).toBe(true);
    expect(contents.fire('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(contents.fire('will-navigate', 'app://other/index.html')).toBe(true);
    expect(contents.fire('will-navigate', 'app://trove/index.html')).toBe(false);
    expect(contents.fire('will-redirect', 'https://example.com/')).toBe(true);
    expect(contents.fire('will-attach-webview')).toBe(true);
  });
});

describe('the session', () => {
  it('denies every permission request and check', () => {
    hardenSession();
    const answers: boolean[] = [];
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      (state.permissionRequest as (c: unknown, p: string, cb: (ok: boolean) => void) => void)(null, permission, (ok) => answers.push(ok));
    }
    expect(answers).toEqual([false, false, false, false, false]);
    expect((state.permissionCheck as () => boolean)()).toBe(false);
  });

  it('puts the strict CSP on every response and cancels remote requests', () => {
    hardenSession();
    let headers: Record<string, string[]> | undefined;
    (state.headersReceived as (d: unknown, cb: (r: { responseHeaders: Record<string, string[]> }) => void) => void)(
      { responseHeaders: { 'Content-Type': ['text/html'] } },
      (r) => (headers = r.responseHeaders),
    );
    expect(headers?.['Content-Security-Policy']).toEqual([CONTENT_SECURITY_POLICY]);
    const cancel = (url: string) => {
      let result: boolean | undefined;
      (state.beforeRequest as (d: unknown, cb: (r: { cancel: boolean }) => void) => void)({ url }, (r) => (result = r.cancel));
      return result;
    };
    expect(cancel('https://example.com/tracker.js')).toBe(true);
    expect(cancel('http://127.0.0.1:8080/')).toBe(true);
    expect(cancel('file:///etc/passwd')).toBe(true);
    expect(cancel('app://trove/assets/index.js')).toBe(false);
  });

  it('has a CSP that allows only the app\'s own scripts and styles, and no network', () => {
    const directives = Object.fromEntries(CONTENT_SECURITY_POLICY.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['style-src']).toEqual(["'self'"]);
    expect(directives['connect-src']).toEqual(["'none'"]);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
  });
});

describe('the app:// protocol', () => {
  it('is registered as a secure standard scheme and serves only the built renderer, with the CSP', async () => {
    registerAppScheme();
    expect(state.privileged).toContainEqual(expect.objectContaining({ scheme: 'app', privileges: expect.objectContaining({ standard: true, secure: true }) }));
    const root = mkdtempSync(join(tmpdir(), 'trove-renderer-'));
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>Trove</title>');
    writeFileSync(join(root, 'assets', 'app.js'), 'console.log(1)');
    writeFileSync(join(root, '..', 'secret.txt'), 'not for the page');
    serveRenderer(root);
    const handler = state.protocolHandler!;
    const page = await handler({ url: 'app://trove/index.html' });
    expect(page.status).toBe(200);
    expect(page.headers.get('Content-Security-Policy')).toBe(CONTENT_SECURITY_POLICY);
    expect(page.headers.get('Content-Type')).toMatch(/text\/html/);
    expect((await handler({ url: 'app://trove/assets/app.js' })).headers.get('Content-Type')).toMatch(/javascript/);
    expect((await handler({ url: 'app://trove/..%2Fsecret.txt' })).status).toBe(404);
    expect((await handler({ url: 'app://trove/%2e%2e/secret.txt' })).status).toBe(404);
    expect((await handler({ url: 'app://elsewhere/index.html' })).status).toBe(404);
    expect((await handler({ url: 'app://trove/missing.js' })).status).toBe(404);
  });
});

describe('isAppUrl', () => {
  it('accepts only app://trove/ pages', async () => {
    const { isAppUrl } = await import('../../../main/electron/window.js');
    expect(isAppUrl('app://trove/index.html')).toBe(true);
    expect(isAppUrl('app://trove.evil/index.html')).toBe(false);
    expect(isAppUrl('app://evil/trove')).toBe(false);
    expect(isAppUrl('https://trove/index.html')).toBe(false);
    expect(isAppUrl('not a url')).toBe(false);
  });
});
