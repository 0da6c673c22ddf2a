// Builds window.trove from the IPC contract. No per-channel code: every channel in the contract
// becomes a function that forwards its request over the host's transport. The Electron preload
// (main/electron/preload.ts) and the headless host (preload/headless.ts) both use this builder.
import type { FileLike, StagedFileValue, TroveApi } from '../common/ipc/api.js';
import { UPLOAD_CHUNK_BYTES, channels, events, isEventName, type Channel, type EventName, type IpcResult } from '../common/ipc/contract.js';

export interface Transport {
  invoke(channel: Channel, request: unknown): Promise<IpcResult<unknown>>;
  /** Delivers every event from the main side; returns the unsubscribe function. */
  subscribe(listener: (event: string, payload: unknown) => void): () => void;
}

export type StageFile = (file: FileLike, invoke: Transport['invoke']) => Promise<IpcResult<StagedFileValue>>;

export function buildTroveApi(transport: Transport, stageFile: StageFile = uploadFile): TroveApi {
  const api: Record<string, unknown> = {};
  for (const name of Object.keys(channels) as Channel[]) {
    const [ns, method] = name.split('.') as [string, string];
    const group = (api[ns] ??= {}) as Record<string, unknown>;
    group[method] = (request: unknown) => transport.invoke(name, request ?? {});
  }
  api.on = (event: EventName, listener: (payload: unknown) => void) => {
    if (!isEventName(event) || typeof listener !== 'function') throw new TypeError('Unknown event.');
    return transport.subscribe((name, payload) => {
      if (name !== event) return;
      const parsed = events[event].safeParse(payload);
      if (parsed.success) listener(parsed.data);
    });
  };
  api.stageFile = (file: FileLike) => stageFile(file, transport.invoke.bind(transport));
  for (const value of Object.values(api)) if (typeof value === 'object' && value) Object.freeze(value);
  return Object.freeze(api) as unknown as TroveApi;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Stages a file by sending its bytes in chunks (for hosts that cannot see the file's path). */
export const uploadFile: StageFile = async (file, invoke) => {
  const begun = (await invoke('files.beginUpload', { name: file.name, size: file.size })) as IpcResult<{ token: string }>;
  if (!begun.ok) return begun;
  const { token } = begun.value;
  for (let offset = 0; offset < file.size; offset += UPLOAD_CHUNK_BYTES) {
    const bytes = new Uint8Array(await file.slice(offset, Math.min(file.size, offset + UPLOAD_CHUNK_BYTES)).arrayBuffer());
    const sent = await invoke('files.appendUpload', { token, chunk: toBase64(bytes) });
    if (!sent.ok) {
      await invoke('files.discard', { token });
      return sent;
    }
  }
  return (await invoke('files.finishUpload', { token })) as IpcResult<StagedFileValue>;
};
