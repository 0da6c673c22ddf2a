// What both sides agree on for an analytics job's rounds, and what the coordinator accepts when a
// researcher publishes one: the round's aggregation is bound to the signed question (a different
// question or a model's hash is refused by the contributor), and a module job is published only
// with the module its document names.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseAnalyticsJobDocument } from '../../../common/analytics/document.js';
import { describeAggregate } from '../../../common/analytics/release.js';
import { isTroveError } from '../../../common/errors.js';
import { parseAnyJobDocument, vectorLengthOf } from '../../../common/jobs/kinds.js';
import { checkRoundParams, modelHashOf, questionHashOf, roundIdFor, roundParamsFor } from '../../../common/jobs/rounds.js';
import { loadSodium } from '../../../common/secagg/sodium.js';
import { checkModule } from '../../../coordinator/job-book.js';
import { assemble, sha256, sleepMeanWat } from '../../fixtures/analytics-modules.js';

function example(file: string): Record<string, unknown> {
  const raw = JSON.parse(readFileSync(new URL(`../../../coordinator/jobs/${file}`, import.meta.url), 'utf8')) as Record<string, unknown>;
  const address = '0x' + '11'.repeat(20);
  return {
    ...raw,
    researcher: { ...(raw.researcher as object), address },
    coordinator: { url: 'http://127.0.0.1:8787', address },
    chainId: '31337',
    reward: { ...(raw.reward as object), token: address },
    deadline: 2_000_000_000,
  };
}

function code(fn: () => void): string {
  try {
    fn();
  } catch (err) {
    if (isTroveError(err)) return err.code;
    throw err;
  }
  return 'accepted';
}

beforeAll(loadSodium);

describe('analytics rounds', () => {
  it('a contributor accepts round settings bound to the job’s question, and refuses another question or a model hash', () => {
    const doc = parseAnalyticsJobDocument(example('sleep-by-mood.json'));
    expect(parseAnyJobDocument(example('sleep-by-mood.json'))).toEqual(doc);
    const roundId = roundIdFor(doc.chainId, '1', 0);
    const params = roundParamsFor(doc, roundId, 10, questionHashOf(doc));
    expect(params.vectorLength).toBe(vectorLengthOf(doc));
    expect(code(() => checkRoundParams(doc, params, roundId, questionHashOf(doc)))).toBe('accepted');
    // Another question (other bins) under the same round id, and a model's hash in its place.
    const other = parseAnalyticsJobDocument({ ...example('sleep-by-mood.json'), analytics: { ...doc.analytics, computation: { ...doc.analytics.computation, edges: [0, 6, 24] } } });
    const otherParams = roundParamsFor(doc, roundId, 10, questionHashOf(other));
    expect(code(() => checkRoundParams(doc, otherParams, roundId, questionHashOf(doc)))).toBe('SECAGG_UNSAFE_REQUEST');
    const modelParams = roundParamsFor(doc, roundId, 10, modelHashOf(new Float32Array(0)));
    expect(code(() => checkRoundParams(doc, modelParams, roundId, questionHashOf(doc)))).toBe('SECAGG_UNSAFE_REQUEST');
  });

  it('publishing a module job needs the very module its document names; other jobs take none', async () => {
    const bytes = await assemble(sleepMeanWat());
    const doc = parseAnalyticsJobDocument(example('sleep-mean-module.json'));
    expect(sha256(bytes)).toBe((doc.analytics.computation as { sha256: string }).sha256);
    expect(code(() => checkModule(doc, bytes))).toBe('accepted');
    expect(code(() => checkModule(doc, null))).toBe('INVALID_INPUT');
    const changed = bytes.slice();
    changed[changed.length - 1]! ^= 1;
    expect(code(() => checkModule(doc, changed))).toBe('INVALID_INPUT');
    expect(code(() => checkModule(parseAnalyticsJobDocument(example('sleep-by-mood.json')), bytes))).toBe('INVALID_INPUT');
  });

  it('the researcher reads each number of a round’s sum with its error bar, in words', () => {
    const lines = describeAggregate({ labels: ['sleep_hours 0 to 5', 'sleep_hours 5 to 24'], value: [12.34, 250.6], errorBar: 9.81, noiseStdDev: 5, contributors: 8 });
    expect(lines[0]).toBe('The sum over 8 contributors; each number is within ±9.8 of the true sum 95% of the time (noise standard deviation 5.0).');
    expect(lines.slice(1)).toEqual(['sleep_hours 0 to 5: 12.3 ± 9.8', 'sleep_hours 5 to 24: 251 ± 9.8']);
  });
});
