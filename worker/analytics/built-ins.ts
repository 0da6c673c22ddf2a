// The built-in statistics, computed over the granted columns of at most maxRows rows. Each
// returns the raw vector; the output policy (common/analytics/output.ts) checks and clips it like
// any module's output. Categories match a value's text as JSON writes it (so 3 matches "3").
import { isTextColumn, type ColumnData } from '../../common/dataset.js';
import { TroveError } from '../../common/errors.js';
import type { AnalyticsJobSpec, BuiltInComputation } from '../../common/analytics/spec.js';
import { outputLength } from '../../common/analytics/spec.js';

/** A numeric view of a column: NaN where the value is missing. */
export function numericValues(column: ColumnData, rows: number): Float64Array {
  if (isTextColumn(column)) {
    throw new TroveError('INVALID_JOB_SPEC', 'The job reads a text column as numbers.', { type: column.type });
  }
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) out[r] = column.nulls[r] ? NaN : column.values[r]!;
  return out;
}

/** Each row's index in `categories`, or -1 for a missing or unlisted value. */
function categoryIndexes(column: ColumnData, categories: string[], rows: number): Int32Array {
  const index = new Map(categories.map((c, i) => [c, i]));
  const out = new Int32Array(rows).fill(-1);
  for (let r = 0; r < rows; r++) {
    let text: string | null;
    if (isTextColumn(column)) text = column.values[r] ?? null;
    else if (column.nulls[r]) text = null;
    else text = column.type === 'boolean' ? String(column.values[r] !== 0) : String(column.values[r]);
    if (text !== null) out[r] = index.get(text) ?? -1;
  }
  return out;
}

function clip(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** The bin of `v` among ascending `edges` (values outside fall in the first or last bin). */
function binOf(v: number, edges: number[]): number {
  let lo = 0;
  let hi = edges.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (v >= edges[mid]!) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** `columns` are the granted columns in the order analyticsColumns(spec) lists them. */
export function computeBuiltIn(spec: AnalyticsJobSpec & { computation: BuiltInComputation }, columns: ColumnData[], totalRows: number): Float64Array {
  const rows = Math.min(totalRows, spec.maxRows);
  const c = spec.computation;
  const out = new Float64Array(outputLength(spec));
  switch (c.kind) {
    case 'count': {
      if (!c.where) {
        out[0] = rows;
        break;
      }
      const v = numericValues(columns[0]!, rows);
      for (let r = 0; r < rows; r++) if (v[r]! >= c.where.min && v[r]! <= c.where.max) out[0]!++;
      break;
    }
    case 'sum':
    case 'mean': {
      const v = numericValues(columns[0]!, rows);
      let sum = 0;
      let n = 0;
      for (let r = 0; r < rows; r++) {
        if (Number.isNaN(v[r]!)) continue;
        sum += clip(v[r]!, c.value.min, c.value.max);
        n++;
      }
      out[0] = sum;
      if (c.kind === 'mean') out[1] = n;
      break;
    }
    case 'histogram': {
      const v = numericValues(columns[0]!, rows);
      const bins = c.edges.length - 1;
      const group = c.groupBy ? categoryIndexes(columns[1]!, c.groupBy.categories, rows) : null;
      for (let r = 0; r < rows; r++) {
        if (Number.isNaN(v[r]!)) continue;
        const g = group ? group[r]! : 0;
        if (g < 0) continue;
        out[g * bins + binOf(v[r]!, c.edges)]!++;
      }
      break;
    }
    case 'quantile-sketch': {
      const v = numericValues(columns[0]!, rows);
      const { min, max } = c.value;
      for (let r = 0; r < rows; r++) {
        if (Number.isNaN(v[r]!)) continue;
        const b = Math.min(c.buckets - 1, Math.floor(((clip(v[r]!, min, max) - min) / (max - min)) * c.buckets));
        out[b]!++;
      }
      break;
    }
    case 'cross-tabulation': {
      const a = categoryIndexes(columns[0]!, c.rows.categories, rows);
      const b = categoryIndexes(columns[1]!, c.columns.categories, rows);
      const width = c.columns.categories.length;
      for (let r = 0; r < rows; r++) if (a[r]! >= 0 && b[r]! >= 0) out[a[r]! * width + b[r]!]!++;
      break;
    }
  }
  return out;
}
