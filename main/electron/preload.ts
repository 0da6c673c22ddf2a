// The desktop app's preload: runs sandboxed, builds window.trove from the IPC contract with the
// shared builder, and exposes it through contextBridge. Files are staged by their path, which
// only the preload can read from a File the user chose or dropped.
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import type { Channel, IpcResult } from '../../common/ipc/contract.js';
import { buildTroveApi } from '../../preload/api.js';
import { EVENT_CHANNEL, INVOKE_CHANNEL } from './channels.js';

const api = buildTroveApi(
  {
    invoke: (channel: Channel, request: unknown) => ipcRenderer.invoke(INVOKE_CHANNEL, channel, request) as Promise<IpcResult<unknown>>,
    subscribe: (listener) => {
      const handler = (_e: unknown, event: string, payload: unknown) => listener(event, payload);
      ipcRenderer.on(EVENT_CHANNEL, handler);
      return () => ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    },
  },
  (file, invoke) => invoke('files.stagePath', { path: webUtils.getPathForFile(file as unknown as File) }) as ReturnType<typeof api.stageFile>,
);

contextBridge.exposeInMainWorld('trove', api);
