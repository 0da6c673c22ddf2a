// The signed job document of an analytics job: the same envelope as a training job (researcher,
// coordinator, chain, reward, rounds, privacy, deadlines) with an `analytics` spec in place of
// `training`. There is no clipping range or example weight to declare: the output's bounds fix
// both the quantization range and the noise's sensitivity.
import { z } from 'zod';
import { equivalentNoiseMultiplier } from '../dp/integer-noise.js';
import { jobPrivacyCost, type PrivacyCost } from '../dp/ledger.js';
import { TroveError } from '../errors.js';
import { jobDocumentSchema, PRIVACY_FLOORS } from '../jobs/document.js';
import { hasHiddenCharacters, revealText } from '../jobs/text.js';
import { analyticsColumns, analyticsJobSpec, outputLength, parseAnalyticsJobSpec } from './spec.js';

const ms = z.number().int().min(100).max(24 * 3600 * 1000);

export const analyticsJobDocumentSchema = jobDocumentSchema
  .omit({ training: true, aggregation: true })
  .extend({
    analytics: analyticsJobSpec,
    aggregation: z.object({ deadlines: z.object({ advertiseKeysMs: ms, shareKeysMs: ms, collectMaskedInputsMs: ms, unmaskMs: ms }).strict() }).strict(),
  })
  .strict();

export type AnalyticsJobDocument = z.infer<typeof analyticsJobDocumentSchema>;

function invalid(path: string, message: string): TroveError {
  return new TroveError('INVALID_JOB_SPEC', `The job document is not valid: ${path ? `${path}: ` : ''}${message}.`, { path, reason: message });
}

/** True when a parsed-or-not job document asks an analytics question rather than training a model. */
export function isAnalyticsDocument(input: unknown): boolean {
  return typeof input === 'object' && input !== null && 'analytics' in input && !('training' in input);
}

/**
 * Parses an analytics job document: the schema, the analytics spec's own rules, the privacy
 * floors every job must meet, and column notes only for columns the job reads. Typed
 * INVALID_JOB_SPEC errors name the field.
 */
export function parseAnalyticsJobDocument(input: unknown): AnalyticsJobDocument {
  const notes = typeof input === 'object' && input !== null ? (input as { columnNotes?: unknown }).columnNotes : undefined;
  if (typeof notes === 'object' && notes !== null && Object.hasOwn(notes, '__proto__')) throw invalid('columnNotes.__proto__', 'the name "__proto__" cannot be a column name');
  const parsed = analyticsJobDocumentSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(issue.path.map(String).join('.'), issue.message);
  }
  const doc = parsed.data;
  try {
    doc.analytics = parseAnalyticsJobSpec(doc.analytics);
  } catch (err) {
    if (err instanceof TroveError) throw invalid(`analytics.${String(err.details?.path ?? '')}`, String(err.details?.reason ?? err.message));
    throw err;
  }
  const f = PRIVACY_FLOORS;
  const { noiseMultiplier: z, delta } = doc.privacy;
  if (!(z >= f.minNoiseMultiplier && z <= f.maxNoiseMultiplier)) throw invalid('privacy.noiseMultiplier', `the noise multiplier ${z} is outside what Trove accepts (${f.minNoiseMultiplier} to ${f.maxNoiseMultiplier})`);
  if (!(delta >= f.minDelta && delta <= f.maxDelta)) throw invalid('privacy.delta', `delta ${delta} is outside what Trove accepts (${f.minDelta} to ${f.maxDelta})`);
  const m = doc.minContributors;
  if (!(m <= f.maxMinContributors)) throw invalid('minContributors', `a group of at least ${m} is more than Trove accepts (${f.maxMinContributors})`);
  if (z / Math.sqrt(m) < f.minOwnNoiseMultiplier) throw invalid('minContributors', `your own share of the noise (${(z / Math.sqrt(m)).toFixed(3)}) would be below ${f.minOwnNoiseMultiplier}`);
  const read = new Set(analyticsColumns(doc.analytics));
  for (const column of read) {
    if (column === '__proto__') throw invalid('analytics', 'the name "__proto__" cannot be a column name');
    if (hasHiddenCharacters(column)) throw invalid('analytics', `the column name "${revealText(column).text}" holds invisible or direction-changing characters`);
  }
  for (const column of Object.keys(doc.columnNotes)) {
    if (!read.has(column)) throw invalid(`columnNotes.${column}`, 'the job does not read this column');
  }
  return doc;
}

/**
 * The (epsilon, delta) the job spends from a contributor's budget over all its rounds: the same
 * distributed discrete Gaussian mechanism as a training round (common/dp/integer-noise.ts).
 */
export function analyticsDocumentPrivacyCost(doc: AnalyticsJobDocument): PrivacyCost {
  const noiseMultiplier = equivalentNoiseMultiplier({ noiseMultiplier: doc.privacy.noiseMultiplier, minContributors: doc.minContributors }, analyticsVectorLength(doc));
  return jobPrivacyCost([{ noiseMultiplier, steps: doc.rounds }], doc.privacy.delta);
}

/** Numbers each contributor sends per round. */
export function analyticsVectorLength(doc: AnalyticsJobDocument): number {
  return outputLength(doc.analytics);
}
