// A person's column must plausibly be the thing a job reads: a column of the right type holding
// something else is caught from its values, and a fitting one is not.
import { describe, expect, it } from 'vitest';
import type { ColumnSummary } from '../../common/dataset.js';
import { describeExpectation, expectationOf, fitProblem } from '../../common/jobs/column-fit.js';
import { featureSpec, labelSpec } from '../../common/jobspec.js';

const numeric = (column: string, mean: number | null): ColumnSummary => ({ kind: 'numeric', column, type: 'number', count: 30, nulls: 0, min: null, max: null, mean, stddev: null, histogram: [] });
const categorical = (column: string, values: string[]): ColumnSummary => ({
  kind: 'categorical',
  column,
  type: 'category',
  count: 30,
  nulls: 0,
  distinct: values.length,
  distinctCapped: false,
  top: values.map((value) => ({ value, count: 10 })),
});

const sleep = expectationOf(featureSpec.parse({ column: 'sleep_hours', kind: 'numeric', scaling: { kind: 'standard', mean: 7, std: 1.3 } }));

describe('whether a column fits what a job reads', () => {
  it('refuses hours of sleep read from daily maximum temperatures, and says why', () => {
    expect(fitProblem('sleep_hours', sleep, numeric('temp_max', 24.6))).toBe(
      'The job expects "sleep_hours" to be around 7; "temp_max" averages 24.6, so it does not look like the same thing.',
    );
  });

  it('accepts a sleep column under another name, short and long sleepers included', () => {
    expect(fitProblem('sleep_hours', sleep, numeric('Sleep (h)', 7.4))).toBeNull();
    expect(fitProblem('sleep_hours', sleep, numeric('sleep', 4.2))).toBeNull();
    expect(fitProblem('sleep_hours', sleep, numeric('sleep', 11.8))).toBeNull();
  });

  it('judges a min-max range with a margin of one range on each side', () => {
    const e = expectationOf(featureSpec.parse({ column: 'mood', kind: 'numeric', scaling: { kind: 'minmax', min: 1, max: 5 } }));
    expect(describeExpectation(e)).toBe('between 1 and 5');
    expect(fitProblem('mood', e, numeric('mood', 8.9))).toBeNull();
    expect(fitProblem('mood', e, numeric('steps', 7000))).toMatch(/"steps" averages 7000/);
  });

  it('refuses categories or classes of which none appears among the most common values', () => {
    const exercised = expectationOf(featureSpec.parse({ column: 'exercised', kind: 'categorical', categories: ['yes', 'no', 'sometimes'] }));
    expect(fitProblem('exercised', exercised, categorical('city', ['Lyon', 'Oslo', 'Porto', 'Quito']))).toBe(
      'The job expects "exercised" to be one of "yes", "no", "sometimes"; "city" holds "Lyon", "Oslo", "Porto" instead, so it does not look like the same thing.',
    );
    expect(fitProblem('exercised', exercised, categorical('sport', ['no', 'maybe']))).toBeNull();
    const mood = expectationOf(labelSpec.parse({ column: 'mood', kind: 'class', classes: ['low', 'okay', 'good', 'great'] }));
    expect(fitProblem('mood', mood, categorical('weather', ['rain', 'sun']))).toMatch(/one of "low", "okay", "good", "great"/);
  });

  it('says nothing without evidence: no scaling, or no values', () => {
    expect(expectationOf(featureSpec.parse({ column: 'steps', kind: 'numeric' }))).toBeNull();
    expect(fitProblem('steps', null, numeric('temp_max', 24.6))).toBeNull();
    expect(fitProblem('sleep_hours', sleep, numeric('empty', null))).toBeNull();
    expect(fitProblem('exercised', { kind: 'one-of', values: ['yes'] }, categorical('empty', []))).toBeNull();
  });
});
