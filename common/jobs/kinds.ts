// The two kinds of job a document can describe, behind one type: federated training (a `training`
// spec) and federated analytics (an `analytics` spec). Both travel the same way (signed, hashed
// on-chain, one masked vector per contributor and round); what differs is how the vector is made
// and how long it is, which the functions here answer by kind.
import { analyticsDocumentPrivacyCost, analyticsVectorLength, isAnalyticsDocument, parseAnalyticsJobDocument, type AnalyticsJobDocument } from '../analytics/document.js';
import { analyticsColumns } from '../analytics/spec.js';
import { jobPrivacyCost, type PrivacyCost } from '../dp/ledger.js';
import { columnsRead, jobDocumentPrivacyCost, jobDocumentWorstCaseCost, parseJobDocument, roundVectorLength, type JobDocument } from './document.js';

export type AnyJobDocument = JobDocument | AnalyticsJobDocument;

export function isAnalyticsJob(doc: AnyJobDocument): doc is AnalyticsJobDocument {
  return 'analytics' in doc;
}

/** Parses a training or an analytics job document, by which spec it holds. */
export function parseAnyJobDocument(input: unknown): AnyJobDocument {
  return isAnalyticsDocument(input) ? parseAnalyticsJobDocument(input) : parseJobDocument(input);
}

/** Numbers each contributor sends per round. */
export function vectorLengthOf(doc: AnyJobDocument): number {
  return isAnalyticsJob(doc) ? analyticsVectorLength(doc) : roundVectorLength(doc);
}

/** The job's columns a contributor's data grant must cover. */
export function columnsOf(doc: AnyJobDocument): string[] {
  return isAnalyticsJob(doc) ? analyticsColumns(doc.analytics) : columnsRead(doc.training);
}

/** What the job spends from a contributor's privacy budget over all its rounds. */
export function privacyCostOf(doc: AnyJobDocument): PrivacyCost {
  return isAnalyticsJob(doc) ? analyticsDocumentPrivacyCost(doc) : jobDocumentPrivacyCost(doc);
}

/** What the job would spend if every other member of the smallest group were the researcher's own: only this contributor's noise share protects them. */
export function worstCaseCostOf(doc: AnyJobDocument): PrivacyCost {
  if (!isAnalyticsJob(doc)) return jobDocumentWorstCaseCost(doc);
  return jobPrivacyCost([{ noiseMultiplier: doc.privacy.noiseMultiplier / Math.sqrt(doc.minContributors), steps: doc.rounds }], doc.privacy.delta);
}
