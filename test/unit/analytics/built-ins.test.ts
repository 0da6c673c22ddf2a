import { describe, expect, it } from 'vitest';
import { checkOutput } from '../../../common/analytics/output.js';
import { parseAnalyticsJobSpec, type AnalyticsJobSpec, type BuiltInComputation } from '../../../common/analytics/spec.js';
import type { ColumnData } from '../../../common/dataset.js';
import { computeBuiltIn } from '../../../worker/analytics/built-ins.js';

const sleep: ColumnData = { type: 'number', values: Float64Array.from([4, 6.5, 7, 7.5, 9, 30, 0]), nulls: Uint8Array.from([0, 0, 0, 0, 0, 0, 1]) };
const mood: ColumnData = { type: 'category', values: ['low', 'okay', 'good', 'good', 'great', 'low', 'okay'] };
const exercised: ColumnData = { type: 'boolean', values: Float64Array.from([1, 0, 1, 1, 0, 0, 1]), nulls: new Uint8Array(7) };

function run(computation: unknown, columns: ColumnData[], maxRows = 100): number[] {
  const spec = parseAnalyticsJobSpec({ kind: 'federated-analytics', maxRows, computation }) as AnalyticsJobSpec & { computation: BuiltInComputation };
  return Array.from(checkOutput(spec, computeBuiltIn(spec, columns, 7)));
}

describe('built-in statistics', () => {
  it('counts rows, with a filter leaving out missing values', () => {
    expect(run({ kind: 'count' }, [])).toEqual([7]);
    expect(run({ kind: 'count', where: { column: 'sleep_hours', min: 6, max: 8 } }, [sleep])).toEqual([3]);
  });

  it('sums and averages clipped values, missing values left out', () => {
    expect(run({ kind: 'sum', value: { column: 'sleep_hours', min: 0, max: 12 } }, [sleep])).toEqual([4 + 6.5 + 7 + 7.5 + 9 + 12]);
    expect(run({ kind: 'mean', value: { column: 'sleep_hours', min: 0, max: 12 } }, [sleep])).toEqual([46, 6]);
  });

  it('bins a histogram grouped by a category, values outside the edges in the end bins', () => {
    const out = run({ kind: 'histogram', column: 'sleep_hours', edges: [0, 6, 8, 12], groupBy: { column: 'mood', categories: ['low', 'okay', 'good', 'great'] } }, [sleep, mood]);
    expect(out).toEqual([1, 0, 1, /* okay */ 0, 1, 0, /* good */ 0, 2, 0, /* great */ 0, 0, 1]);
  });

  it('fills a quantile sketch and a cross-tabulation (booleans match "true" and "false")', () => {
    expect(run({ kind: 'quantile-sketch', value: { column: 'sleep_hours', min: 0, max: 12 }, buckets: 4 }, [sleep])).toEqual([0, 1, 3, 2]);
    const tab = run({ kind: 'cross-tabulation', rows: { column: 'mood', categories: ['low', 'good'] }, columns: { column: 'exercised', categories: ['true', 'false'] } }, [mood, exercised]);
    expect(tab).toEqual([1, 1, 2, 0]);
  });

  it('uses at most maxRows rows', () => {
    expect(run({ kind: 'count' }, [], 3)).toEqual([3]);
  });
});
