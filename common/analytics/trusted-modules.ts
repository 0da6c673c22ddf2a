// The published list of analytics modules Trove trusts by default: each entry is a module's
// sha256, what it is, and who audited it. A person can take a module off the list or add one
// they approved themselves (settings `analytics.trustedModules`); a module on neither list is
// shown with a warning and runs only after an explicit approval of that job.

export interface TrustedModule {
  sha256: string;
  name: string;
  auditedBy: string[];
}

export const PUBLISHED_TRUSTED_MODULES: readonly TrustedModule[] = [
  {
    // coordinator/jobs/modules/sleep-mean.wat, assembled by npm run build:modules
    sha256: 'f0e91718d5e7a58cbdd375f690103e0528d143695690f6dccf84790227099354',
    name: 'Sum and count of one column, each value held to 0..24',
    auditedBy: ['Trove maintainers'],
  },
];

/** The person's changes to the published list. */
export interface TrustChanges {
  added: string[];
  removed: string[];
}

export type ModuleTrust = 'trusted' | 'unknown';

export function trustedModuleHashes(changes: TrustChanges = { added: [], removed: [] }, published: readonly TrustedModule[] = PUBLISHED_TRUSTED_MODULES): Set<string> {
  const out = new Set(published.map((m) => m.sha256));
  for (const h of changes.removed) out.delete(h);
  for (const h of changes.added) out.add(h);
  return out;
}

export function moduleTrust(sha256: string, changes?: TrustChanges): ModuleTrust {
  return trustedModuleHashes(changes).has(sha256) ? 'trusted' : 'unknown';
}

/**
 * The hashes a worker may run for one job: the trusted ones, plus this job's module when the
 * person approved it explicitly on the consent card.
 */
export function approvedModules(changes: TrustChanges | undefined, explicitlyApproved: readonly string[]): string[] {
  return [...new Set([...trustedModuleHashes(changes), ...explicitlyApproved])];
}
