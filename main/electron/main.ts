// The desktop app: Electron lifecycle around the same services and IPC router the headless host
// runs. One instance, one window, a menu, a tray with lock and quit, OS notifications for long
// work, and the OS keychain for "remember on this device".
import { BrowserWindow, Menu, Notification, Tray, app, dialog, ipcMain, nativeImage, type MenuItemConstructorOptions } from 'electron';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allowLocalNetworkFromEnv, attestationsFromEnv, jobsChainConfigFromEnv } from '../services/jobs/config.js';
import { walletConfigFromEnv } from '../services/wallet/config.js';
import type { JobsChainConfig } from '../services/jobs/discovery.js';
import { AppSession } from '../services/session/session.js';
import { createRouter } from '../ipc/router.js';
import { sessionHandlers } from '../ipc/handlers.js';
import { bindIpc } from './ipc.js';
import { safeStorageKeychain } from './keychain.js';
import { powerMonitorPlatform } from './platform.js';
import { UtilityWorkerLauncher } from './worker-launcher.js';
import { createMainWindow, hardenContents, hardenSession, registerAppScheme, serveRenderer } from './window.js';
import { enrollmentCircuitFiles } from '../services/jobs/circuits.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/main/electron -> dist/
const dist = join(here, '..', '..');
const PRELOAD = join(here, 'preload.cjs');
const RENDERER = join(dist, 'renderer');
const ICON = join(app.getAppPath(), 'assets', 'icons', 'icon.png');

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  registerAppScheme();
  app.enableSandbox();
  void run();
}

async function run(): Promise<void> {
  let window: BrowserWindow | null = null;
  let tray: Tray | null = null;

  app.on('web-contents-created', (_e, contents) => hardenContents(contents));
  app.on('second-instance', () => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });

  await app.whenReady();
  hardenSession();
  serveRenderer(RENDERER);

  const dataDir = app.getPath('userData');
  const chain = jobsChain();
  const session = await AppSession.start({
    dataDir,
    ...(chain ? { jobs: { chain, enrollmentCircuit: enrollmentCircuitFiles(join(app.getAppPath(), 'assets')), platform: powerMonitorPlatform(), launcher: new UtilityWorkerLauncher(), allowLocalNetwork: allowLocalNetworkFromEnv(), attestations: attestationsFromEnv() } } : {}),
    ...(chain ? { wallet: walletConfigFromEnv(chain) } : {}),
    stagePaths: true,
    keychain: safeStorageKeychain(join(dataDir, 'remembered-passphrase.bin')),
    notify: (title, body) => {
      if (Notification.isSupported() && !window?.isFocused()) new Notification({ title, body, silent: true }).show();
    },
    chooseBackupTarget: async (suggested) => {
      const options = { title: 'Save encrypted backup', defaultPath: join(app.getPath('documents'), suggested), filters: [{ name: 'Trove backup', extensions: ['trovebackup'] }] };
      const result = window ? await dialog.showSaveDialog(window, options) : await dialog.showSaveDialog(options);
      return result.canceled || !result.filePath ? null : result.filePath;
    },
  });
  const router = createRouter(sessionHandlers(session), {
    onInternalError: (channel, err) => console.error(`[trove] ${channel} failed: ${err instanceof Error ? err.message : 'unknown error'}`),
  });

  bindIpc(ipcMain, router, session, () => (window && !window.isDestroyed() ? window.webContents : null));

  const openWindow = () => {
    window = createMainWindow({ preload: PRELOAD, icon: ICON });
    window.on('closed', () => (window = null));
  };

  const lock = () => session.lock();
  Menu.setApplicationMenu(Menu.buildFromTemplate(menuTemplate(lock)));
  try {
    tray = new Tray(nativeImage.createFromPath(ICON));
    tray.setToolTip('Trove');
    tray.setContextMenu(
      Menu.buildFromTemplate([
        { label: 'Open Trove', click: () => (window ? window.show() : openWindow()) },
        { label: 'Lock vault', click: lock },
        { type: 'separator' },
        { label: 'Quit Trove', click: () => app.quit() },
      ]),
    );
  } catch {
    tray = null; // some desktops have no tray; the menu has the same commands
  }

  openWindow();
  app.on('activate', () => {
    if (!window) openWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  // Quitting waits for the session: jobs stop writing, then the vault closes and workers end.
  let closed = false;
  app.on('before-quit', (event) => {
    if (closed) return;
    event.preventDefault();
    tray?.destroy();
    void session.close().finally(() => {
      closed = true;
      app.quit();
    });
  });
}

/** The jobs chain from TROVE_RPC_URL and TROVE_DEPLOYMENT; a bad setting turns jobs off, not the app. */
function jobsChain(): JobsChainConfig | undefined {
  try {
    return jobsChainConfigFromEnv();
  } catch (err) {
    console.error(`[trove] jobs are off: ${err instanceof Error ? err.message : 'unknown error'}`);
    return undefined;
  }
}

function menuTemplate(lock: () => void): MenuItemConstructorOptions[] {
  const mac = process.platform === 'darwin';
  return [
    ...(mac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'Vault',
      submenu: [{ label: 'Lock vault', accelerator: 'CmdOrCtrl+L', click: lock }, { type: 'separator' }, mac ? { role: 'close' } : { role: 'quit' }],
    },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [{ role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }],
    },
    { role: 'windowMenu' },
  ];
}
