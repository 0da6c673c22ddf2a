// Whether a person's column can stand for a column a job reads, judged from what the job says it
// expects (the researcher's fixed scaling, categories or classes) and a summary of the person's
// values. Types are checked elsewhere; this catches a column of the right type that is plainly
// something else (hours of sleep read from daily temperatures, timestamps, step counts). The join
// form shows the reason beside the mapping and the jobs service refuses such a mapping.
import type { ColumnSummary } from '../dataset.js';
import type { FeatureSpec, LabelSpec } from '../jobspec.js';

/** What a job's column should hold, from its spec; null when the spec says nothing checkable. */
export type ColumnExpectation =
  | { kind: 'around'; mean: number; std: number }
  | { kind: 'between'; min: number; max: number }
  | { kind: 'one-of'; values: string[] }
  | null;

/** How many of the researcher's standard deviations a person's average may sit from theirs. */
export const AROUND_LIMIT = 4;

export function expectationOf(column: FeatureSpec | LabelSpec): ColumnExpectation {
  if (column.kind === 'categorical') return { kind: 'one-of', values: [...column.categories] };
  if (column.kind === 'class') return { kind: 'one-of', values: [...column.classes] };
  const s = column.scaling;
  if (s.kind === 'standard') return { kind: 'around', mean: s.mean, std: s.std };
  if (s.kind === 'minmax') return { kind: 'between', min: s.min, max: s.max };
  return null;
}

const short = (v: number): string => (Math.abs(v) >= 1e6 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : String(Number(v.toPrecision(3))));

/** The job's expectation in words ("around 7", "between 1 and 5", "one of "yes", "no""). */
export function describeExpectation(e: ColumnExpectation): string | null {
  if (!e) return null;
  if (e.kind === 'around') return `around ${short(e.mean)}`;
  if (e.kind === 'between') return `between ${short(e.min)} and ${short(e.max)}`;
  const shown = e.values.slice(0, 6).map((v) => `"${v}"`);
  return `one of ${shown.join(', ')}${e.values.length > shown.length ? ', …' : ''}`;
}

/**
 * Why `mine` cannot stand for the job's `column`, in words, or null when nothing in the values
 * says so (including a column with no values at all: there is no evidence either way).
 */
export function fitProblem(column: string, expectation: ColumnExpectation, mine: ColumnSummary): string | null {
  if (!expectation) return null;
  const expected = describeExpectation(expectation);
  if (expectation.kind === 'one-of') {
    if (mine.kind !== 'categorical' || mine.top.length === 0) return null;
    const known = new Set(expectation.values);
    if (mine.top.some((t) => known.has(t.value))) return null;
    const seen = mine.top.slice(0, 3).map((t) => `"${t.value}"`).join(', ');
    return `The job expects "${column}" to be ${expected}; "${mine.column}" holds ${seen} instead, so it does not look like the same thing.`;
  }
  if (mine.kind !== 'numeric' || mine.mean === null) return null;
  const mean = mine.mean;
  const off =
    expectation.kind === 'around'
      ? Math.abs(mean - expectation.mean) > AROUND_LIMIT * expectation.std
      : mean < expectation.min - (expectation.max - expectation.min) || mean > expectation.max + (expectation.max - expectation.min);
  if (!off) return null;
  return `The job expects "${column}" to be ${expected}; "${mine.column}" averages ${short(mean)}, so it does not look like the same thing.`;
}
