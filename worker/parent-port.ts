// The worker's line to the main process. Under plain Node the worker is a child process with an
// IPC channel (process.send, advanced serialization); under Electron it is a utilityProcess with
// process.parentPort. Both carry structured clones, so typed arrays cross as they are.
import type { FromWorker, ToWorker } from '../common/worker-protocol.js';

export interface ParentPort {
  post(message: FromWorker): void;
  onMessage(handler: (message: ToWorker) => void): void;
  /** Called when the main process goes away: the worker has nobody to work for. */
  onDisconnect(handler: () => void): void;
}

interface ElectronParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', handler: (event: { data: unknown }) => void): void;
}

export function connectToParent(): ParentPort {
  const electronPort = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;
  if (electronPort) {
    return {
      post: (m) => electronPort.postMessage(m),
      onMessage: (h) => electronPort.on('message', (e) => h(e.data as ToWorker)),
      // a utilityProcess is ended with its parent
      onDisconnect: () => undefined,
    };
  }
  if (typeof process.send !== 'function') {
    throw new Error('the worker must be started by the main process (no IPC channel)');
  }
  return {
    post: (m) => {
      if (process.connected) process.send!(m);
    },
    onMessage: (h) => process.on('message', (m) => h(m as ToWorker)),
    onDisconnect: (h) => process.on('disconnect', h),
  };
}
