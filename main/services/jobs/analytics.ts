// The app's side of analytics jobs: what the consent card says about the question (what it
// computes, each number of the output with its bounds, the program and whether Trove trusts it),
// the person's trust in programs (the published list with their own changes, and approvals by
// hash, kept in the vault's settings and the activity log), and the results waiting for the
// person under "show me each result before it is sent".
import { randomUUID } from 'node:crypto';
import type { AnalyticsJobDocument } from '../../../common/analytics/document.js';
import { analyticsColumns, describeAnalytics, outputBounds, outputLabels, type AnalyticsJobSpec } from '../../../common/analytics/spec.js';
import { PUBLISHED_TRUSTED_MODULES, approvedModules, trustedModuleHashes, type TrustChanges } from '../../../common/analytics/trusted-modules.js';
import type { ColumnExpectation } from '../../../common/jobs/column-fit.js';
import { revealText } from '../../../common/jobs/text.js';
import { TroveError } from '../../../common/errors.js';
import type { JobCardValue, JobsViewValue, ResultReviewValue } from '../../../common/ipc/contract.js';
import { formatBytes, formatDuration } from '../../../common/units.js';
import type { ResultReview } from '../rounds/participation.js';
import type { Vault } from '../vault/index.js';

const TRUST_SETTING = 'analytics.trustedModules';
const REVIEW_SETTING = 'analytics.reviewResults';

/** A column an analytics job reads, as the card and the join form show it. */
export interface AnalyticsColumn {
  name: string;
  kind: 'numeric' | 'categorical';
  expects: ColumnExpectation;
}

/** Each column the question reads, whether it must hold numbers or categories, and what it should hold. */
export function analyticsReadColumns(spec: AnalyticsJobSpec): AnalyticsColumn[] {
  const c = spec.computation;
  const out = new Map<string, AnalyticsColumn>();
  const numeric = (name: string, expects: ColumnExpectation = null) => void (out.has(name) || out.set(name, { name, kind: 'numeric', expects }));
  const categorical = (name: string, values: readonly string[]) => void (out.has(name) || out.set(name, { name, kind: 'categorical', expects: { kind: 'one-of', values: [...values] } }));
  switch (c.kind) {
    case 'count':
      if (c.where) numeric(c.where.column);
      break;
    case 'sum':
    case 'mean':
    case 'quantile-sketch':
      numeric(c.value.column, { kind: 'between', min: c.value.min, max: c.value.max });
      break;
    case 'histogram':
      numeric(c.column, { kind: 'between', min: c.edges[0]!, max: c.edges[c.edges.length - 1]! });
      if (c.groupBy) categorical(c.groupBy.column, c.groupBy.categories);
      break;
    case 'cross-tabulation':
      categorical(c.rows.column, c.rows.categories);
      categorical(c.columns.column, c.columns.categories);
      break;
    case 'module':
      for (const column of c.columns) numeric(column);
      break;
  }
  // Every column the spec reads is listed, whatever its role above.
  for (const column of analyticsColumns(spec)) numeric(column);
  return [...out.values()];
}

/** What the card says about the job's question; the program's trust as `trust` reports it. */
export function analyticsCardSection(doc: AnalyticsJobDocument, trust: AnalyticsTrust): NonNullable<JobCardValue['analytics']> {
  const spec = doc.analytics;
  const labels = outputLabels(spec);
  const { min, max } = outputBounds(spec);
  const c = spec.computation;
  let module: NonNullable<JobCardValue['analytics']>['module'] = null;
  if (c.kind === 'module') {
    const published = PUBLISHED_TRUSTED_MODULES.find((m) => m.sha256 === c.sha256);
    module = { sha256: c.sha256, trust: trust.of(c.sha256), name: published?.name ?? null, auditedBy: published ? [...published.auditedBy] : [] };
  }
  return {
    // The module's description and the column names are the researcher's words.
    computes: revealText(describeAnalytics(spec), { max: 1200 }).text,
    output: labels.map((label, i) => ({ label: revealText(label, { max: 600 }).text, min: min[i]!, max: max[i]! })),
    module,
  };
}

/** What an analytics job takes on this computer, in the card's resource terms. */
export function analyticsResources(doc: AnalyticsJobDocument, vectorLength: number): JobCardValue['resources'] {
  const c = doc.analytics.computation;
  const uploadBytes = vectorLength * 4;
  const memoryBytes = c.kind === 'module' ? c.maxMemoryPages * 65_536 : 0;
  const summary =
    c.kind === 'module'
      ? `No model is trained. The researcher's program runs once a round in a sealed-off part of Trove, with up to ${formatBytes(memoryBytes)} of memory and at most ${formatDuration(c.timeLimitMs)}; each round sends ${formatBytes(uploadBytes)}.`
      : `No model is trained. Trove computes the answer itself once a round, which takes moments; each round sends ${formatBytes(uploadBytes)}.`;
  return { parameters: 0, memoryBytes, secondsPerRound: c.kind === 'module' ? c.timeLimitMs / 1000 : 0, uploadBytes, summary };
}

/** The person's trust in researchers' programs, kept in the vault's settings. */
export class AnalyticsTrust {
  constructor(private readonly vault: Vault) {}

  private changes(): TrustChanges {
    const saved = this.vault.getSetting<Partial<TrustChanges>>(TRUST_SETTING);
    const hashes = (v: unknown): string[] => (Array.isArray(v) ? v.filter((h): h is string => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h)) : []);
    return { added: hashes(saved?.added), removed: hashes(saved?.removed) };
  }

  /** 'trusted': on the published list (and not taken off); 'approved': added by the person; else 'unknown'. */
  of(sha256: string): 'trusted' | 'approved' | 'unknown' {
    const changes = this.changes();
    if (!trustedModuleHashes(changes).has(sha256)) return 'unknown';
    return PUBLISHED_TRUSTED_MODULES.some((m) => m.sha256 === sha256) && !changes.added.includes(sha256) ? 'trusted' : 'approved';
  }

  /** The hashes a worker may run: what the person trusts now (read at each round). */
  approved(): string[] {
    return approvedModules(this.changes(), []);
  }

  /** Throws ANALYTICS_MODULE_NOT_APPROVED unless the person trusts or approved the program. */
  require(sha256: string): void {
    if (this.of(sha256) === 'unknown') {
      throw new TroveError('ANALYTICS_MODULE_NOT_APPROVED', 'This job runs a researcher’s program that Trove does not know and you have not approved. Read what it does, approve it, and then join. Nothing was sent.', { sha256 });
    }
  }

  /** Trusts (or stops trusting) a program by its hash; the change is recorded in Activity. */
  async set(sha256: string, trusted: boolean, why?: string): Promise<void> {
    const published = PUBLISHED_TRUSTED_MODULES.find((m) => m.sha256 === sha256);
    const name = published ? `"${published.name}"` : `the program ${sha256.slice(0, 12)}…`;
    const summary = why ?? (trusted ? `You trust ${name} (sha256 ${sha256}): jobs may run it on this computer.` : `You no longer trust ${name} (sha256 ${sha256}): no job runs it on this computer until you approve it again.`);
    await this.vault.updateSetting<Partial<TrustChanges>>(
      TRUST_SETTING,
      (saved) => {
        const added = new Set((saved?.added ?? []).filter((h) => h !== sha256));
        const removed = new Set((saved?.removed ?? []).filter((h) => h !== sha256));
        if (trusted && !published) added.add(sha256);
        if (!trusted && published) removed.add(sha256);
        return { added: [...added], removed: [...removed] };
      },
      summary,
    );
  }

  /** The published list with the person's changes, for Settings. */
  list(): JobsViewValue['analytics']['trustedModules'] {
    const changes = this.changes();
    return [
      ...PUBLISHED_TRUSTED_MODULES.map((m) => ({ sha256: m.sha256, name: m.name, auditedBy: [...m.auditedBy], source: changes.removed.includes(m.sha256) ? ('removed' as const) : ('published' as const) })),
      ...changes.added.filter((h) => !PUBLISHED_TRUSTED_MODULES.some((m) => m.sha256 === h)).map((sha256) => ({ sha256, name: null, auditedBy: [], source: 'added' as const })),
    ];
  }

  get reviewResults(): boolean {
    return this.vault.getSetting<boolean>(REVIEW_SETTING) === true;
  }

  setReviewResults(on: boolean): Promise<void> {
    return this.vault.setSetting(
      REVIEW_SETTING,
      on,
      on ? 'Trove shows you each analytics result before it is sent, and sends it only if you agree.' : 'Analytics results are sent without asking you first.',
    );
  }
}

interface Pending {
  review: ResultReviewValue;
  resolve: (send: boolean) => void;
  reject: (err: unknown) => void;
}

/**
 * Results waiting for the person: a round's review resolves when they send or decline it, and is
 * withdrawn (CANCELLED, nothing recorded as declined) when its round ends or the job stops first.
 */
export class ResultReviews {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly onChange: (reviews: ResultReviewValue[]) => void) {}

  list(): ResultReviewValue[] {
    return [...this.pending.values()].map((p) => p.review);
  }

  ask(doc: AnalyticsJobDocument, review: ResultReview, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.reject(new TroveError('CANCELLED', 'The round ended before you answered.'));
    const id = randomUUID();
    const labels = outputLabels(doc.analytics);
    const value: ResultReviewValue = {
      id,
      jobId: review.jobId,
      round: review.round,
      title: revealText(review.title, { max: 200 }).text,
      values: review.output.map((v, i) => ({ label: revealText(labels[i] ?? `output ${i + 1}`, { max: 600 }).text, value: v })),
      // describeOutputForReview's last line says what noise is added before it leaves.
      noise: revealText(review.lines[review.lines.length - 1] ?? '', { max: 600 }).text,
    };
    return new Promise<boolean>((resolve, reject) => {
      const done = () => {
        this.pending.delete(id);
        signal?.removeEventListener('abort', onAbort);
        this.onChange(this.list());
      };
      const onAbort = () => {
        done();
        reject(new TroveError('CANCELLED', 'The round ended before you answered; nothing was sent.'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        review: value,
        resolve: (send) => {
          done();
          resolve(send);
        },
        reject: (err) => {
          done();
          reject(err);
        },
      });
      this.onChange(this.list());
    });
  }

  /** The person's answer; REVIEW_NOT_FOUND when the round ended meanwhile. */
  answer(id: string, send: boolean): ResultReviewValue[] {
    const p = this.pending.get(id);
    if (!p) throw new TroveError('REVIEW_NOT_FOUND', 'That result is no longer waiting: its round ended. Nothing was sent for it.', { id });
    p.resolve(send);
    return this.list();
  }

  /** Withdraws a job's waiting results (it stopped): nothing is sent for them. */
  withdraw(jobId?: string): void {
    for (const p of [...this.pending.values()]) {
      if (jobId === undefined || p.review.jobId === jobId) p.reject(new TroveError('CANCELLED', 'Stopped.'));
    }
  }
}
