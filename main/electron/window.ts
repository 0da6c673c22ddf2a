// The one app window and the rules it runs under: an isolated, sandboxed renderer with no Node,
// the app's own pages only (served from the app:// protocol under a strict Content-Security-
// Policy), no navigation away, no new windows, no webviews, and every permission request denied.
import { BrowserWindow, protocol, session, type WebContents } from 'electron';
import { CONTENT_SECURITY_POLICY, rendererFile } from '../security.js';

export const APP_SCHEME = 'app';
export const APP_ORIGIN = `${APP_SCHEME}://trove`;
export const APP_URL = `${APP_ORIGIN}/index.html`;


/** Must run before the app is ready: app:// behaves like a secure, standard origin. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: false, corsEnabled: false } }]);
}

/** Serves the built renderer on app://trove/, with the CSP on every response. */
export function serveRenderer(rendererDir: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const found = url.host === 'trove' ? await rendererFile(rendererDir, url.pathname) : null;
    return found ? new Response(found.body, { headers: found.headers }) : new Response('Not found', { status: 404 });
  });
}


/** Whether a URL is one of the app's own pages. (Node's URL gives custom schemes a "null" origin, so compare parts.) */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === 'trove';
  } catch {
    return false;
  }
}

/** Locks down any web contents: no navigation off the app, no windows, no webviews. */
export function hardenContents(contents: WebContents): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

/** Denies every permission (camera, notifications from the page, geolocation, ...) and adds the CSP. */
export function hardenSession(): void {
  const s = session.defaultSession;
  s.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  s.setPermissionCheckHandler(() => false);
  s.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
  // No remote content: anything that is not the app's own protocol is cancelled.
  s.webRequest.onBeforeRequest((details, callback) => {
    callback({ cancel: !(details.url.startsWith(`${APP_ORIGIN}/`) || details.url.startsWith('devtools://')) });
  });
}

export function createMainWindow(opts: { preload: string; icon?: string }): BrowserWindow {
  const win = new BrowserWindow({
    width: 1200,
    height: 800,
    minWidth: 420,
    minHeight: 400,
    show: false,
    title: 'Trove',
    backgroundColor: '#f6f7f9',
    ...(opts.icon ? { icon: opts.icon } : {}),
    // Every security-relevant option is spelled out here, in the literal, not left to defaults
    // (and so that static checkers such as electronegativity can read them).
    webPreferences: {
      preload: opts.preload,
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
      safeDialogs: true,
      spellcheck: false,
      disableBlinkFeatures: 'Auxclick',
      devTools: process.env.TROVE_DEVTOOLS === '1',
    },
  });
  hardenContents(win.webContents);
  win.once('ready-to-show', () => win.show());
  void win.loadURL(APP_URL);
  return win;
}
