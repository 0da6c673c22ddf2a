// The preload for the headless host: the same window.trove as the desktop app, with the host's
// page bindings standing in for ipcRenderer. Injected into the page before the renderer runs.
import type { Channel, IpcResult } from '../common/ipc/contract.js';
import { buildTroveApi } from './api.js';

interface HostWindow {
  /** Installed by the host with Playwright's exposeBinding: calls the router. */
  __troveInvoke?: (channel: Channel, request: unknown) => Promise<IpcResult<unknown>>;
  /** Called by the host to deliver an event. */
  __troveHostEvent?: (event: string, payload: unknown) => void;
  trove?: unknown;
}

const host = globalThis as unknown as HostWindow;
const listeners = new Set<(event: string, payload: unknown) => void>();

Object.defineProperty(host, '__troveHostEvent', {
  value: (event: string, payload: unknown) => {
    for (const l of listeners) l(event, payload);
  },
});

Object.defineProperty(host, 'trove', {
  value: buildTroveApi({
    invoke: (channel, request) => {
      const invoke = host.__troveInvoke;
      if (!invoke) return Promise.resolve({ ok: false, error: { code: 'INTERNAL', message: 'The app host is not connected.' } });
      return invoke(channel, request);
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  }),
  enumerable: true,
});
