// The app's side of a relayer: submit claims, ask how they stand, read the fee. A relayer is a
// stranger's service: an answer that is not what the protocol allows is RELAYER_PROTOCOL, one
// that does not come is RELAYER_UNREACHABLE, and nothing it says about the chain is believed
// before the chain confirms it (the claims service does that).
import type { z } from 'zod';
import { TroveError } from '../../../common/errors.js';
import { readCappedBody } from '../../../common/jobs/client.js';
import {
  MAX_RELAYER_BODY_BYTES,
  claimStatusSchema,
  relayerErrorSchema,
  relayerInfoSchema,
  submitResponseSchema,
  type ClaimStatus,
  type RelayerInfo,
  type SubmitRequest,
  type SubmitResponse,
} from '../../../common/claims/relayer-protocol.js';

export interface RelayerClientOptions {
  url: string;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class RelayerClient {
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(options: RelayerClientOptions) {
    this.base = new URL(options.url);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  get url(): string {
    return this.base.toString();
  }

  info(): Promise<RelayerInfo> {
    return this.call('GET', '/v1/info', undefined, relayerInfoSchema);
  }

  submit(request: SubmitRequest): Promise<SubmitResponse> {
    return this.call('POST', '/v1/claims', request, submitResponseSchema);
  }

  status(nullifier: string): Promise<ClaimStatus> {
    return this.call('GET', `/v1/claims/${encodeURIComponent(nullifier)}`, undefined, claimStatusSchema);
  }

  private async call<T>(method: string, path: string, body: unknown, schema: z.ZodType<T>): Promise<T> {
    let res: Response;
    try {
      res = await this.fetch(new URL(path, this.base), {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.timeoutMs),
        redirect: 'error',
      });
    } catch (err) {
      throw new TroveError('RELAYER_UNREACHABLE', 'The relayer cannot be reached. Your claims stay queued and are sent when it answers again.', { url: this.url }, { cause: err });
    }
    const bytes = await readCappedBody(res, MAX_RELAYER_BODY_BYTES, {
      tooLarge: () => new TroveError('RELAYER_PROTOCOL', 'The relayer sent a much larger answer than a claim needs. Nothing was counted as claimed.'),
      broken: (cause) => new TroveError('RELAYER_UNREACHABLE', 'The connection to the relayer broke off. Your claims stay queued.', undefined, { cause }),
    });
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      throw new TroveError('RELAYER_PROTOCOL', `The relayer answered something that is not JSON (HTTP ${res.status}). Nothing was counted as claimed.`);
    }
    if (!res.ok) {
      const err = relayerErrorSchema.safeParse(json);
      const said = err.success ? err.data.error.message : `HTTP ${res.status}`;
      if (res.status === 429 || res.status >= 500) throw new TroveError('RELAYER_UNREACHABLE', `The relayer is busy or failing (${said}). Your claims stay queued.`);
      throw new TroveError('CLAIM_REJECTED', `The relayer refused the claims: ${said}`, { status: res.status, code: err.success ? err.data.error.code : null });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new TroveError('RELAYER_PROTOCOL', 'The relayer answered in a shape the claim protocol does not allow. Nothing was counted as claimed.');
    return parsed.data;
  }
}
