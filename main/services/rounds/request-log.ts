// Every request a job's participation sends to its coordinator, written to the activity log once
// per round in plain words ("4 messages sent, the model fetched once, 12 checks for messages"),
// with each request (method, path, status, bytes each way, time) in the entry's details.
import type { CoordinatorClient, SentRequest } from '../../../common/jobs/client.js';

/** The most requests one entry lists in its details; the counts in its words are always whole. */
const MAX_LISTED = 500;

export class RequestLog {
  private pending: SentRequest[] = [];
  private readonly unwatch: () => void;

  constructor(client: CoordinatorClient) {
    this.unwatch = client.watch((r) => this.pending.push(r));
  }

  /** The requests sent since the last call. */
  take(): SentRequest[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  close(): void {
    this.unwatch();
  }
}

/** One activity entry's words and details for the requests of a round. */
export function describeRequests(requests: readonly SentRequest[], o: { origin: string; round: number | null; title: string; analytics?: boolean }): { summary: string; details: Record<string, unknown> } {
  const count = (test: (r: SentRequest) => boolean): number => requests.filter(test).length;
  const posts = requests.filter((r) => r.method === 'POST');
  const sentBytes = requests.reduce((s, r) => s + r.sentBytes, 0);
  const receivedBytes = requests.reduce((s, r) => s + r.receivedBytes, 0);
  const models = count((r) => r.method === 'GET' && r.path.includes('/models/'));
  const programs = count((r) => r.method === 'GET' && r.path.endsWith('/module'));
  const inbox = count((r) => r.method === 'GET' && r.path.includes('/inbox'));
  const rounds = count((r) => r.method === 'GET' && r.path.endsWith('/round'));
  const nonces = count((r) => r.method === 'GET' && r.path === '/v1/nonce');
  const other = requests.length - posts.length - models - programs - inbox - rounds - nonces;
  const parts = [
    `${posts.length} ${posts.length === 1 ? 'message' : 'messages'} sent (${sentBytes} bytes in all)`,
    // An analytics job has no model: it fetches the researcher's program, if it runs one.
    ...(!o.analytics || models > 0 ? [`the model fetched ${models === 1 ? 'once' : `${models} times`}`] : []),
    ...(programs > 0 ? [`the researcher's program fetched ${programs === 1 ? 'once' : `${programs} times`}`] : []),
    `${inbox} ${inbox === 1 ? 'check' : 'checks'} for messages`,
    `${rounds} ${rounds === 1 ? 'question' : 'questions'} about the next round`,
    ...(nonces > 0 ? [`${nonces} ${nonces === 1 ? 'request' : 'requests'} for a one-time signing number`] : []),
    ...(other > 0 ? [`${other} other ${other === 1 ? 'request' : 'requests'}`] : []),
  ];
  return {
    summary: `${o.round === null ? 'After the last round' : `Round ${o.round + 1}`} of "${o.title}": ${requests.length} ${requests.length === 1 ? 'request' : 'requests'} to ${o.origin}: ${parts.join(', ')}; ${receivedBytes} bytes came back. No rows left this device.`,
    details: {
      to: o.origin,
      ...(o.round === null ? {} : { round: o.round }),
      requests: requests.slice(0, MAX_LISTED).map((r) => ({ method: r.method, path: r.path, status: r.status, sent: r.sentBytes, received: r.receivedBytes, at: r.at })),
      ...(requests.length > MAX_LISTED ? { notListed: requests.length - MAX_LISTED } : {}),
    },
  };
}
