import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyticsDocumentPrivacyCost, analyticsVectorLength, isAnalyticsDocument, parseAnalyticsJobDocument } from '../../../common/analytics/document.js';
import { approvedModules, moduleTrust, PUBLISHED_TRUSTED_MODULES } from '../../../common/analytics/trusted-modules.js';
import { isTroveError } from '../../../common/errors.js';
import { assemble, sha256, sleepMeanWat } from '../../fixtures/analytics-modules.js';

/** An example job file completed as publish completes it (addresses, chain, token, deadline). */
function example(file: string): Record<string, unknown> {
  const raw = JSON.parse(readFileSync(new URL(`../../../coordinator/jobs/${file}`, import.meta.url), 'utf8')) as Record<string, unknown>;
  const address = '0x' + '11'.repeat(20);
  return {
    ...raw,
    researcher: { ...(raw.researcher as object), address },
    coordinator: { url: 'http://127.0.0.1:8545', address },
    chainId: '31337',
    reward: { ...(raw.reward as object), token: address },
    deadline: 2_000_000_000,
  };
}

function refusal(input: unknown): string {
  try {
    parseAnalyticsJobDocument(input);
  } catch (err) {
    if (isTroveError(err, 'INVALID_JOB_SPEC')) return String(err.details?.path);
    throw err;
  }
  throw new Error('accepted');
}

describe('analytics job documents', () => {
  it('accepts the example jobs: a histogram of sleep hours by mood and the example module', () => {
    const histogram = parseAnalyticsJobDocument(example('sleep-by-mood.json'));
    expect(analyticsVectorLength(histogram)).toBe(24);
    expect(isAnalyticsDocument(example('sleep-by-mood.json'))).toBe(true);
    expect(analyticsDocumentPrivacyCost(histogram).epsilon).toBeGreaterThan(0);
    const module = parseAnalyticsJobDocument(example('sleep-mean-module.json'));
    expect(analyticsVectorLength(module)).toBe(2);
  });

  it('refuses a document with a training spec, a note on a column it does not read, or too little noise', () => {
    expect(refusal({ ...example('sleep-by-mood.json'), training: {} })).toBe('');
    expect(refusal({ ...example('sleep-by-mood.json'), columnNotes: { steps: 'Steps walked' } })).toBe('columnNotes.steps');
    expect(refusal({ ...example('sleep-by-mood.json'), privacy: { noiseMultiplier: 0.1, delta: 1e-5 } })).toBe('privacy.noiseMultiplier');
    const bad = example('sleep-mean-module.json');
    expect(refusal({ ...bad, analytics: { ...(bad.analytics as object), maxRows: -1 } })).toBe('analytics.maxRows');
  });

  it('the published trusted list names the example module as the build makes it, and the person can change the list', async () => {
    const sleepMean = { sha256: sha256(await assemble(sleepMeanWat())) };
    expect(PUBLISHED_TRUSTED_MODULES.map((m) => m.sha256)).toContain(sleepMean.sha256);
    const module = parseAnalyticsJobDocument(example('sleep-mean-module.json'));
    expect(module.analytics.computation.kind === 'module' && module.analytics.computation.sha256).toBe(sleepMean.sha256);
    expect(moduleTrust(sleepMean.sha256)).toBe('trusted');
    expect(moduleTrust(sleepMean.sha256, { added: [], removed: [sleepMean.sha256] })).toBe('unknown');
    const other = 'b'.repeat(64);
    expect(moduleTrust(other)).toBe('unknown');
    expect(moduleTrust(other, { added: [other], removed: [] })).toBe('trusted');
    expect(approvedModules({ added: [], removed: [sleepMean.sha256] }, [other])).toEqual([other]);
  });
});
