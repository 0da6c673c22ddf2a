// The activity log as every process sees it: what happened in the vault, in order, in words a
// person reads, and whether the chain of entries is intact.

export type ActivityKind =
  | 'vault.created'
  | 'vault.unlocked'
  | 'vault.restored'
  | 'passphrase.changed'
  | 'dataset.imported'
  | 'dataset.deleted'
  | 'record.deleted'
  | 'backup.created'
  | 'settings.changed'
  // Later kinds (consents, jobs, uploads, claims) are added here as those features land.
  | `job.${string}`
  | `wallet.${string}`;

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
  | { seq: number; problem: 'out-of-order' }
  | { seq: number; problem: 'truncated'; lastSeen: number };

export interface ActivityVerification {
  ok: boolean;
  entries: number;
  /** The first problem found, in words, and where. */
  problem?: ActivityProblem & { message: string };
}
