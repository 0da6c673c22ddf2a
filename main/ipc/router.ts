// The IPC router: channel -> service call. Every request is checked against the contract before
// any service sees it, every answer is checked before it leaves, and every failure comes back as
// a typed error value ({ ok: false, error: { code, message } }) — never a thrown exception, never
// a stack trace, never the payload that caused it.
import { ZodError } from 'zod';
import { channels, isChannel, type Channel, type IpcErrorValue, type IpcResult, type RequestOf, type ResponseOf } from '../../common/ipc/contract.js';
import { TroveError } from '../../common/errors.js';

export type Handlers = { [C in Channel]: (request: RequestOf<C>) => Promise<ResponseOf<C>> | ResponseOf<C> };

export interface Router {
  handle(channel: unknown, payload: unknown): Promise<IpcResult<unknown>>;
}

export interface RouterOptions {
  /** Told about failures that are bugs (not user errors): channel and error, never the payload. */
  onInternalError?: (channel: Channel, err: unknown) => void;
}

function describeIssues(err: ZodError): string {
  const first = err.issues[0];
  if (!first) return 'The request is not valid.';
  const where = first.path.length ? ` (at ${first.path.map(String).join('.')})` : '';
  return `The request is not valid${where}: ${first.message}.`;
}

/** Said when a request was carried out but its answer failed the contract check. */
export const ANSWER_UNREADABLE = 'Trove carried out this request but could not show its result. Go back and open the page again to see where things stand; restart the app if it keeps happening.';

export function toIpcError(err: unknown): IpcErrorValue {
  if (err instanceof TroveError) return err.toJSON();
  if (err instanceof ZodError) return { code: 'INVALID_INPUT', message: describeIssues(err) };
  return { code: 'INTERNAL', message: 'Something went wrong inside Trove. Your vault was not changed by this request; try again, and restart the app if it keeps happening.' };
}

export function createRouter(handlers: Handlers, opts: RouterOptions = {}): Router {
  return {
    async handle(channel, payload) {
      if (!isChannel(channel)) {
        return { ok: false, error: { code: 'UNKNOWN_CHANNEL', message: 'Trove does not know that request.' } };
      }
      const spec = channels[channel];
      const request = spec.request.safeParse(payload === undefined ? {} : payload);
      if (!request.success) return { ok: false, error: toIpcError(request.error) };
      try {
        const handler = handlers[channel] as (r: unknown) => unknown;
        const result = await handler(request.data);
        const response = spec.response.safeParse(result);
        if (!response.success) {
          opts.onInternalError?.(channel, new Error(`response does not match the contract: ${describeIssues(response.error)}`));
          // The handler ran, so whatever it did is done: say so, rather than "nothing changed".
          return { ok: false, error: { code: 'INTERNAL', message: ANSWER_UNREADABLE } };
        }
        return { ok: true, value: response.data };
      } catch (err) {
        const error = toIpcError(err);
        if (error.code === 'INTERNAL') opts.onInternalError?.(channel, err);
        return { ok: false, error };
      }
    },
  };
}
