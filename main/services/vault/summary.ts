// Per-column summaries for the UI: range, mean, spread and a histogram for numbers and dates;
// the most frequent values for text, categories and yes/no. Computed from the sealed column,
// one block at a time, so a summary never holds more than a block of plaintext.
import { type ColumnData, type ColumnSchema, type ColumnSummary, isTextColumn } from '../../../common/dataset.js';

const BINS = 20;
const TOP = 10;
const DISTINCT_CAP = 10_000;

export function summarizeColumn(column: ColumnSchema, scan: () => Iterable<ColumnData>): ColumnSummary {
  if (column.type === 'number' || column.type === 'integer' || column.type === 'date') {
    return numeric(column.name, column.type, scan);
  }
  return categorical(column.name, column.type, scan);
}

function numeric(name: string, type: 'number' | 'integer' | 'date', scan: () => Iterable<ColumnData>): ColumnSummary {
  // Pass 1: count, range, mean and variance (Welford); pass 2: the histogram over that range.
  let count = 0;
  let nulls = 0;
  let mean = 0;
  let m2 = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const col of scan()) {
    if (isTextColumn(col)) continue;
    for (let i = 0; i < col.values.length; i++) {
      if (col.nulls[i]) {
        nulls++;
        continue;
      }
      const v = col.values[i]!;
      count++;
      const d = v - mean;
      mean += d / count;
      m2 += d * (v - mean);
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (count === 0) return { kind: 'numeric', column: name, type, count, nulls, min: null, max: null, mean: null, stddev: null, histogram: [] };
  const bins = min === max ? 1 : BINS;
  const width = (max - min) / bins || 1;
  const counts = new Array<number>(bins).fill(0);
  for (const col of scan()) {
    if (isTextColumn(col)) continue;
    for (let i = 0; i < col.values.length; i++) {
      if (col.nulls[i]) continue;
      counts[Math.min(bins - 1, Math.floor((col.values[i]! - min) / width))]!++;
    }
  }
  const histogram = counts.map((c, b) => ({ from: min + b * width, to: b === bins - 1 ? max : min + (b + 1) * width, count: c }));
  return { kind: 'numeric', column: name, type, count, nulls, min, max, mean, stddev: count > 1 ? Math.sqrt(m2 / (count - 1)) : 0, histogram };
}

function categorical(name: string, type: 'string' | 'category' | 'boolean', scan: () => Iterable<ColumnData>): ColumnSummary {
  const counts = new Map<string, number>();
  let count = 0;
  let nulls = 0;
  let capped = false;
  const see = (v: string) => {
    count++;
    const n = counts.get(v);
    if (n !== undefined) counts.set(v, n + 1);
    else if (counts.size < DISTINCT_CAP) counts.set(v, 1);
    else capped = true;
  };
  for (const col of scan()) {
    if (isTextColumn(col)) {
      for (const v of col.values) {
        if (v === null) nulls++;
        else see(v);
      }
    } else {
      for (let i = 0; i < col.values.length; i++) {
        if (col.nulls[i]) nulls++;
        else see(col.values[i] ? 'yes' : 'no');
      }
    }
  }
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, TOP).map(([value, c]) => ({ value, count: c }));
  return { kind: 'categorical', column: name, type, count, nulls, distinct: counts.size, distinctCapped: capped, top };
}
