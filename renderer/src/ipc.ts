// The renderer's one way to the main side: window.trove, typed from the contract. Failures come
// back as values and are turned into AppError here, so screens can show the message and branch
// on the code.
import type { TroveApi } from '../../common/ipc/api.js';
import type { Channel, IpcErrorValue, RequestOf, ResponseOf } from '../../common/ipc/contract.js';

declare global {
  interface Window {
    trove: TroveApi;
  }
}

export class AppError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(error: IpcErrorValue) {
    super(error.message);
    this.code = error.code;
    this.details = error.details;
  }
}

export async function call<C extends Channel>(channel: C, request: RequestOf<C>): Promise<ResponseOf<C>> {
  const [ns, method] = channel.split('.') as [string, string];
  const group = (window.trove as unknown as Record<string, Record<string, (r: unknown) => Promise<unknown>>>)[ns];
  const fn = group?.[method];
  if (!fn) throw new AppError({ code: 'UNKNOWN_CHANNEL', message: 'This version of the app cannot do that.' });
  const result = (await fn(request)) as { ok: true; value: ResponseOf<C> } | { ok: false; error: IpcErrorValue };
  if (!result.ok) throw new AppError(result.error);
  return result.value;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : 'Something went wrong. Try again.';
}
