// What an activity entry's details say, in words: above all, for job entries, what left this
// computer and where it went. Known fields read as sentences; other simple fields as
// "Name: value"; opaque ids and nested data are left out, since they mean nothing to a person.
// Technical facts (job numbers, addresses, the privacy maths) are marked so the screen keeps them
// behind a Details control.
import { formatBytes, formatCount } from './format.js';
import { formatEpsilon, roundNumber, STEP_LABELS, type RoundStep } from './jobs.js';

export interface DetailLine {
  label: string;
  value: string;
  /** Shown only behind Details: true for numbers and addresses a person rarely needs. */
  technical?: true;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

function coordinatorOf(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') return str((v as Record<string, unknown>).url) ?? str((v as Record<string, unknown>).address);
  return null;
}

function columnsOf(v: unknown): string | null {
  if (Array.isArray(v)) return v.filter((c) => typeof c === 'string').join(', ') || null;
  if (v && typeof v === 'object') {
    const pairs = Object.entries(v as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string');
    return pairs.map(([job, mine]) => (job === mine ? job : `${job} (your ${mine})`)).join(', ') || null;
  }
  return null;
}

function humanize(key: string): string {
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// The jobs service records a job as `job`; the dataset as an opaque id under `dataset`.
const HANDLED = new Set(['job', 'jobId', 'title', 'dataset', 'numbers', 'vectorLength', 'bytes', 'bytesSent', 'to', 'coordinator', 'coordinatorUrl', 'columns', 'round', 'step', 'epsilon', 'delta', 'examples']);

export function describeDetails(kind: string, details: Record<string, unknown> | undefined): DetailLine[] {
  if (!details) return [];
  const out: DetailLine[] = [];
  const jobId = str(details.job) ?? str(details.jobId);
  const title = str(details.title);
  if (title) out.push({ label: 'Job', value: title });
  const round = num(details.round);
  if (round !== null) out.push({ label: 'Round', value: formatCount(roundNumber(round)) });
  const step = str(details.step);
  if (step && step in STEP_LABELS) out.push({ label: 'Step', value: STEP_LABELS[step as RoundStep] });
  const columns = columnsOf(details.columns);
  if (columns) out.push({ label: 'Columns read', value: columns });
  const examples = num(details.examples);
  if (examples !== null) out.push({ label: 'Rows used on this computer', value: formatCount(examples) });

  // What leaves the machine: the masked vector, its size and where it goes, as one sentence. A
  // consent says what each round will send; an upload, what was sent.
  const length = num(details.numbers) ?? num(details.vectorLength);
  const bytes = num(details.bytes) ?? num(details.bytesSent);
  const to = str(details.to) ?? coordinatorOf(details.coordinator) ?? str(details.coordinatorUrl);
  if (length !== null || bytes !== null) {
    const what = length !== null ? `a masked list of ${formatCount(length)} numbers` : 'masked data';
    out.push({ label: kind === 'job.consent' ? 'Each round sends' : 'Left this computer', value: `${what}${bytes !== null ? ` (${formatBytes(bytes)})` : ''}` });
  }
  const epsilon = num(details.epsilon);
  const delta = num(details.delta);
  if (epsilon !== null) out.push({ label: 'Privacy budget used', value: formatEpsilon(epsilon) });

  if (jobId) out.push({ label: 'Job number', value: jobId, technical: true });
  if (to) out.push({ label: length !== null || bytes !== null ? 'Sent to' : kind.startsWith('job.') ? 'Coordinator' : 'Address', value: to, technical: true });
  if (epsilon !== null) out.push({ label: 'Privacy parameters', value: `epsilon ${epsilon}${delta !== null ? `, delta ${delta}` : ''}`, technical: true });

  // Each request sent to a coordinator (job.requests): method, path, answer and bytes each way.
  if (Array.isArray(details.requests)) {
    for (const r of details.requests.slice(0, 100) as Record<string, unknown>[]) {
      const status = num(r.status);
      out.push({
        label: `${str(r.method) ?? '?'} ${str(r.path) ?? ''}`,
        value: `${status === null ? 'no answer' : `answered ${status}`}; ${formatBytes(num(r.sent) ?? 0)} sent, ${formatBytes(num(r.received) ?? 0)} back`,
        technical: true,
      });
    }
    if (details.requests.length > 100) out.push({ label: 'Not shown', value: `${formatCount(details.requests.length - 100)} more requests`, technical: true });
  }

  for (const [key, value] of Object.entries(details)) {
    if (HANDLED.has(key) || /Id$|Hash$/.test(key)) continue;
    if (typeof value === 'number' || typeof value === 'boolean' || (typeof value === 'string' && value.length > 0 && value.length <= 200)) {
      out.push({ label: humanize(key), value: typeof value === 'boolean' ? (value ? 'yes' : 'no') : typeof value === 'number' ? value.toLocaleString('en') : value });
    }
  }
  return out;
}
