// Binds the router to Electron's IPC: one invoke channel, answered only for the app's own page,
// and one event channel from the session to the window.
import type { IpcMain, WebContents } from 'electron';
import type { Router } from '../ipc/router.js';
import type { AppSession } from '../services/session/session.js';
import { EVENT_CHANNEL, INVOKE_CHANNEL } from './channels.js';
import { isAppUrl } from './window.js';

export function bindIpc(ipcMain: IpcMain, router: Router, session: AppSession, contents: () => WebContents | null): () => void {
  ipcMain.handle(INVOKE_CHANNEL, (event, channel: unknown, request: unknown) => {
    // A frame that is not the app's own page (a stray iframe, a page navigated elsewhere) gets nothing.
    if (!event.senderFrame || !isAppUrl(event.senderFrame.url)) {
      return { ok: false, error: { code: 'UNKNOWN_CHANNEL', message: 'Requests are only accepted from the Trove window.' } };
    }
    return router.handle(channel, request);
  });
  const stop = session.onEvent((event, payload) => {
    const c = contents();
    if (c && !c.isDestroyed()) c.send(EVENT_CHANNEL, event, payload);
  });
  return () => {
    ipcMain.removeHandler(INVOKE_CHANNEL);
    stop();
  };
}
