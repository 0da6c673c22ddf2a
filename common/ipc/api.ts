// The shape of window.trove, derived from the contract: one function per channel, grouped by the
// part before the dot ("vault.unlock" -> trove.vault.unlock), plus events and file staging.
import type { Channel, EventName, EventOf, IpcResult, RequestOf, ResponseOf } from './contract.js';

export type Namespace = Channel extends `${infer N}.${string}` ? N : never;

export type ChannelFunction<C extends Channel> = (request: RequestOf<C>) => Promise<IpcResult<ResponseOf<C>>>;

/** A file the user chose or dropped: a DOM File in the renderer, anything with its shape elsewhere. */
export interface FileLike {
  readonly name: string;
  readonly size: number;
  slice(start: number, end: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

export type StagedFileValue = ResponseOf<'files.finishUpload'>;

export type TroveApi = {
  readonly [N in Namespace]: { readonly [C in Channel as C extends `${N}.${infer M}` ? M : never]: ChannelFunction<C> };
} & {
  /** Subscribes to an event from the main side; returns the unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: EventOf<E>) => void): () => void;
  /** Hands a chosen file to the main side (by path in the desktop app, by upload in a browser). */
  stageFile(file: FileLike): Promise<IpcResult<StagedFileValue>>;
};
