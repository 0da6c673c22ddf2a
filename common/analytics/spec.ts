// The analytics part of a job spec: a question asked of each contributor's data (a built-in
// statistic, or a researcher's WebAssembly module named by its sha256 hash) whose answer is one
// fixed-length vector per contributor and round. Every coordinate has declared bounds and every
// output is clipped to them (and to an L2 bound), so the sensitivity of the round's sum, and with
// it the DP noise, follows from the document alone. Failures are typed INVALID_JOB_SPEC errors
// naming the field.
import { z } from 'zod';
import { TroveError } from '../errors.js';

/** Bounds that keep an analytics job from asking a contributor's machine for something absurd. */
export const ANALYTICS_LIMITS = {
  /** Rows of one contributor that count towards a statistic (the rest are left out). */
  maxRowsPerContributor: 10_000_000,
  maxOutputLength: 4096,
  maxBins: 1024,
  maxCategories: 256,
  /** WebAssembly pages (64 KiB each) a module may declare as its memory's maximum: 128 MiB. */
  maxMemoryPages: 2048,
  maxTimeLimitMs: 10 * 60_000,
  maxColumns: 16,
  /** Bytes of a researcher's module as a coordinator serves it. */
  maxModuleBytes: 4 * 1024 * 1024,
} as const;

const finite = z.number().finite();
const columnName = z.string().min(1).max(256);
const categories = z.array(z.string().max(256)).min(1).max(ANALYTICS_LIMITS.maxCategories)
  .refine((c) => new Set(c).size === c.length, { message: 'categories must be distinct' });

/** A numeric column and the range its values are clipped to before they count. */
const boundedColumn = z.object({ column: columnName, min: finite, max: finite }).strict()
  .refine((c) => c.max > c.min, { message: 'max must be greater than min', path: ['max'] });

/** Rows kept: those whose value in `column` lies in [min, max]. */
const rowFilter = z.object({ column: columnName, min: finite, max: finite }).strict()
  .refine((c) => c.max >= c.min, { message: 'max must not be below min', path: ['max'] });

const categorical = z.object({ column: columnName, categories }).strict();

export const builtInComputation = z.discriminatedUnion('kind', [
  /** Rows (that pass the filter). Output: [count]. */
  z.object({ kind: z.literal('count'), where: rowFilter.optional() }).strict(),
  /** Sum of a clipped column. Output: [sum]. */
  z.object({ kind: z.literal('sum'), value: boundedColumn }).strict(),
  /** Mean of a clipped column, as a sum and a count the researcher divides. Output: [sum, count]. */
  z.object({ kind: z.literal('mean'), value: boundedColumn }).strict(),
  /** Counts per declared bin; `edges` ascending, values outside fall in the first or last bin. Output: one count per bin. */
  z.object({
    kind: z.literal('histogram'),
    column: columnName,
    edges: z.array(finite).min(2).max(ANALYTICS_LIMITS.maxBins + 1),
    /** Optional grouping: one histogram per category, laid out category after category. */
    groupBy: categorical.optional(),
  }).strict(),
  /** Counts over `buckets` equal buckets of [min, max]: quantiles are read off the summed counts. Output: one count per bucket. */
  z.object({
    kind: z.literal('quantile-sketch'),
    value: boundedColumn,
    buckets: z.number().int().min(2).max(ANALYTICS_LIMITS.maxBins),
  }).strict(),
  /** Counts of each pair of two categorical columns, row-major. Output: rows x columns counts. */
  z.object({ kind: z.literal('cross-tabulation'), rows: categorical, columns: categorical }).strict(),
]);

export const moduleComputation = z.object({
  kind: z.literal('module'),
  /** sha256 of the module's bytes, lowercase hex: the module the person approves. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  /** What the module computes, in plain words, for the consent card. */
  describes: z.string().min(1).max(1000),
  /** The numeric columns the module may read, in the order it reads them (index 0, 1, ...). */
  columns: z.array(columnName).min(1).max(ANALYTICS_LIMITS.maxColumns),
  output: z.object({
    length: z.number().int().min(1).max(ANALYTICS_LIMITS.maxOutputLength),
    min: finite,
    max: finite,
  }).strict().refine((o) => o.max > o.min, { message: 'max must be greater than min', path: ['max'] }),
  /** The most memory the module may declare, in 64 KiB pages; a module asking for more is refused. */
  maxMemoryPages: z.number().int().min(1).max(ANALYTICS_LIMITS.maxMemoryPages),
  /** Wall-clock budget of one run; the worker is replaced when it is spent. */
  timeLimitMs: z.number().int().min(100).max(ANALYTICS_LIMITS.maxTimeLimitMs),
}).strict();

export const analyticsJobSpec = z.object({
  kind: z.literal('federated-analytics'),
  computation: z.union([builtInComputation, moduleComputation]),
  /** Rows of one contributor that count; the sensitivity of counts grows with it. */
  maxRows: z.number().int().min(1).max(ANALYTICS_LIMITS.maxRowsPerContributor),
}).strict();

export type BuiltInComputation = z.infer<typeof builtInComputation>;
export type ModuleComputation = z.infer<typeof moduleComputation>;
export type AnalyticsComputation = BuiltInComputation | ModuleComputation;
export type AnalyticsJobSpec = z.infer<typeof analyticsJobSpec>;

function invalid(path: string, message: string): TroveError {
  return new TroveError('INVALID_JOB_SPEC', `The job's analytics spec is not valid: ${path ? `${path}: ` : ''}${message}.`, { path, reason: message });
}

/**
 * Parses and checks an analytics spec. Beyond the schema: histogram edges strictly ascending,
 * no column read twice in one role, and an output that fits the limits. Throws
 * TroveError('INVALID_JOB_SPEC') naming the first bad field.
 */
export function parseAnalyticsJobSpec(input: unknown): AnalyticsJobSpec {
  const parsed = analyticsJobSpec.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(issue.path.map(String).join('.'), issue.message);
  }
  const spec = parsed.data;
  const c = spec.computation;
  if (c.kind === 'histogram') {
    for (let i = 1; i < c.edges.length; i++) {
      if (!(c.edges[i]! > c.edges[i - 1]!)) throw invalid(`computation.edges.${i}`, 'edges must be strictly ascending');
    }
    if (c.groupBy?.column === c.column) throw invalid('computation.groupBy.column', 'the grouping column is the binned column');
  }
  if (c.kind === 'cross-tabulation' && c.rows.column === c.columns.column) {
    throw invalid('computation.columns.column', 'a cross-tabulation needs two different columns');
  }
  if (c.kind === 'module' && new Set(c.columns).size !== c.columns.length) throw invalid('computation.columns', 'a column is listed twice');
  const length = outputLength(spec);
  if (length > ANALYTICS_LIMITS.maxOutputLength) {
    throw invalid('computation', `the output would have ${length} numbers, more than ${ANALYTICS_LIMITS.maxOutputLength}`);
  }
  return spec;
}

/** The columns an analytics job reads: what a data grant must cover and no more. */
export function analyticsColumns(spec: AnalyticsJobSpec): string[] {
  const c = spec.computation;
  switch (c.kind) {
    case 'count':
      return c.where ? [c.where.column] : [];
    case 'sum':
    case 'mean':
    case 'quantile-sketch':
      return [c.value.column];
    case 'histogram':
      return c.groupBy ? [c.column, c.groupBy.column] : [c.column];
    case 'cross-tabulation':
      return [c.rows.column, c.columns.column];
    case 'module':
      return [...c.columns];
  }
}

/**
 * The spec with each column it reads renamed by `to` (the job's names to the person's own), as
 * the worker gets it: the vault grant holds the person's columns under their own names.
 */
export function renameAnalyticsColumns(spec: AnalyticsJobSpec, to: (column: string) => string): AnalyticsJobSpec {
  const c = spec.computation;
  const bounded = <T extends { column: string }>(x: T): T => ({ ...x, column: to(x.column) });
  switch (c.kind) {
    case 'count':
      return { ...spec, computation: c.where ? { ...c, where: bounded(c.where) } : c };
    case 'sum':
    case 'mean':
    case 'quantile-sketch':
      return { ...spec, computation: { ...c, value: bounded(c.value) } };
    case 'histogram':
      return { ...spec, computation: { ...c, column: to(c.column), ...(c.groupBy ? { groupBy: bounded(c.groupBy) } : {}) } };
    case 'cross-tabulation':
      return { ...spec, computation: { ...c, rows: bounded(c.rows), columns: bounded(c.columns) } };
    case 'module':
      return { ...spec, computation: { ...c, columns: c.columns.map(to) } };
  }
}

/** Numbers in each contributor's output vector. */
export function outputLength(spec: AnalyticsJobSpec): number {
  const c = spec.computation;
  switch (c.kind) {
    case 'count':
    case 'sum':
      return 1;
    case 'mean':
      return 2;
    case 'histogram':
      return (c.edges.length - 1) * (c.groupBy ? c.groupBy.categories.length : 1);
    case 'quantile-sketch':
      return c.buckets;
    case 'cross-tabulation':
      return c.rows.categories.length * c.columns.categories.length;
    case 'module':
      return c.output.length;
  }
}

export interface OutputBounds {
  /** Per coordinate, the smallest and largest value a contributor's output may hold. */
  min: Float64Array;
  max: Float64Array;
  /** The largest L2 norm of one contributor's output: the sensitivity of the round's sum. */
  l2: number;
}

/**
 * The bounds every output is clipped to. Counts lie in [0, maxRows] and, since a row counts in
 * one cell at most, a whole vector of counts has L1 (so L2) norm at most maxRows.
 */
export function outputBounds(spec: AnalyticsJobSpec): OutputBounds {
  const n = outputLength(spec);
  const c = spec.computation;
  const rows = spec.maxRows;
  const min = new Float64Array(n);
  const max = new Float64Array(n).fill(rows);
  let l2 = rows;
  if (c.kind === 'sum' || c.kind === 'mean') {
    min[0] = rows * Math.min(c.value.min, 0);
    max[0] = rows * Math.max(c.value.max, 0);
    const sumBound = Math.max(-min[0], max[0]);
    l2 = c.kind === 'sum' ? sumBound : Math.hypot(sumBound, rows);
  } else if (c.kind === 'module') {
    min.fill(c.output.min);
    max.fill(c.output.max);
    l2 = Math.sqrt(n) * Math.max(Math.abs(c.output.min), Math.abs(c.output.max));
  }
  return { min, max, l2 };
}

/** Per coordinate, the standard deviation of the round's DP noise: noiseMultiplier x sensitivity. */
export function noiseStdDev(spec: AnalyticsJobSpec, noiseMultiplier: number): number {
  return noiseMultiplier * outputBounds(spec).l2;
}

/** What each coordinate of the output means, for the consent card, the review and the results. */
export function outputLabels(spec: AnalyticsJobSpec): string[] {
  const c = spec.computation;
  const range = (lo: number, hi: number): string => `${lo} to ${hi}`;
  switch (c.kind) {
    case 'count':
      return [c.where ? `rows with ${c.where.column} from ${range(c.where.min, c.where.max)}` : 'rows'];
    case 'sum':
      return [`sum of ${c.value.column}`];
    case 'mean':
      return [`sum of ${c.value.column}`, `rows with ${c.value.column}`];
    case 'histogram': {
      const bins = c.edges.slice(1).map((hi, i) => `${c.column} ${range(c.edges[i]!, hi)}`);
      if (!c.groupBy) return bins;
      return c.groupBy.categories.flatMap((g) => bins.map((b) => `${c.groupBy!.column} ${g}, ${b}`));
    }
    case 'quantile-sketch': {
      const w = (c.value.max - c.value.min) / c.buckets;
      return Array.from({ length: c.buckets }, (_, i) => `${c.value.column} ${range(c.value.min + i * w, c.value.min + (i + 1) * w)}`);
    }
    case 'cross-tabulation':
      return c.rows.categories.flatMap((r) => c.columns.categories.map((k) => `${c.rows.column} ${r}, ${c.columns.column} ${k}`));
    case 'module':
      return Array.from({ length: c.output.length }, (_, i) => `output ${i + 1}`);
  }
}

/** What the job computes, in words a non-technical person understands. */
export function describeAnalytics(spec: AnalyticsJobSpec): string {
  const c = spec.computation;
  const upTo = `using up to ${spec.maxRows} of your rows`;
  switch (c.kind) {
    case 'count':
      return `Counts your rows${c.where ? ` where ${c.where.column} is between ${c.where.min} and ${c.where.max}` : ''}, ${upTo}.`;
    case 'sum':
      return `Adds up ${c.value.column} (each value limited to ${c.value.min}..${c.value.max}), ${upTo}.`;
    case 'mean':
      return `Averages ${c.value.column} (each value limited to ${c.value.min}..${c.value.max}), ${upTo}.`;
    case 'histogram':
      return `Counts how many of your rows fall in each of ${c.edges.length - 1} ranges of ${c.column}${c.groupBy ? `, separately for each ${c.groupBy.column}` : ''}, ${upTo}.`;
    case 'quantile-sketch':
      return `Counts your values of ${c.value.column} in ${c.buckets} equal ranges from ${c.value.min} to ${c.value.max}, so that medians and other percentiles can be read off, ${upTo}.`;
    case 'cross-tabulation':
      return `Counts how often each ${c.rows.column} goes with each ${c.columns.column}, ${upTo}.`;
    case 'module':
      return `A researcher's program (${c.sha256.slice(0, 12)}…): ${c.describes}`;
  }
}
