// The activity log as every process sees it: what happened in the vault, in order, in words a
// person reads, and whether the chain of entries is intact.

export type ActivityKind =
  | 'vault.created'
  | 'vault.unlocked'
  | 'vault.restored'
  | 'vault.locked'
  | 'vault.unlock-failed'
  | 'vault.state-started'
  | 'passphrase.changed'
  | 'dataset.imported'
  | 'dataset.deleted'
  | 'dataset.left-out'
  | 'dataset.renamed'
  | 'dataset.exported'
  | 'record.deleted'
  | 'record.edited'
  | 'backup.created'
  | 'settings.changed'
  // Later kinds (consents, jobs, uploads, claims) are added here as those features land.
  | `job.${string}`
  | `wallet.${string}`
  | `claim.${string}`;

export interface ActivityEntry {
  seq: number;
  at: number;
  kind: ActivityKind;
  summary: string;
  details?: Record<string, unknown>;
}

export type ActivityProblem =
  | { seq: number; problem: 'edited' }
  | { seq: number; problem: 'missing' }
  | { seq: number; problem: 'head-missing' }
  | { seq: number; problem: 'out-of-order' }
  | { seq: number; problem: 'truncated'; lastSeen: number };

export interface ActivityVerification {
  ok: boolean;
  entries: number;
  /** The first problem found, in words, and where. */
  problem?: ActivityProblem & { message: string };
}

/** What the Activity screen can narrow the log to, in the person's terms. */
export const ACTIVITY_GROUPS = ['vault', 'data', 'jobs', 'sent', 'earnings'] as const;
export type ActivityGroup = (typeof ACTIVITY_GROUPS)[number];

export interface ActivityFilter {
  group?: ActivityGroup;
  /** Words to find in the summary or the details, any case. */
  text?: string;
}

const GROUP_PREFIXES: Record<Exclude<ActivityGroup, 'sent'>, readonly string[]> = {
  vault: ['vault.', 'passphrase.', 'backup.', 'settings.'],
  data: ['dataset.', 'record.'],
  jobs: ['job.'],
  earnings: ['wallet.', 'claim.'],
};

/** Whether an entry belongs to a group: "sent" is every entry that says where something went. */
export function inActivityGroup(entry: ActivityEntry, group: ActivityGroup): boolean {
  if (group === 'sent') return typeof entry.details?.to === 'string';
  return GROUP_PREFIXES[group].some((p) => entry.kind.startsWith(p));
}

function detailText(value: unknown, depth = 0): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (depth > 2 || value === null || typeof value !== 'object') return '';
  return Object.values(value as Record<string, unknown>)
    .map((v) => detailText(v, depth + 1))
    .join(' ');
}

export function matchesActivityFilter(entry: ActivityEntry, filter: ActivityFilter): boolean {
  if (filter.group && !inActivityGroup(entry, filter.group)) return false;
  const words = (filter.text ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const haystack = `${entry.summary} ${detailText(entry.details)}`.toLowerCase();
  return words.every((w) => haystack.includes(w));
}
