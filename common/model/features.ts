// Turns the columns a job reads into the model's input matrix and targets, exactly as the spec
// says: fixed scaling, one-hot vocabularies, missing values imputed, flagged or dropped. The
// mapping depends only on the spec, so every contributor produces the same inputs.
import type { ColumnData, ColumnarRows } from '../dataset.js';
import { TroveError } from '../errors.js';
import { featureWidth, inputWidthOf, outputWidthOf, type FeatureSpec, type TrainingJobSpec } from '../jobspec.js';

export interface TrainingMatrix {
  /** Inputs [rows x width], row-major. */
  x: Float32Array;
  /** Targets [rows x outputs]: one-hot classes, a 0/1 column for a binary label, or values. */
  y: Float32Array;
  rows: number;
  width: number;
  outputs: number;
  /** Rows left out because a value they needed was missing or unknown. */
  droppedRows: number;
}

type Scaling = Extract<FeatureSpec, { kind: 'numeric' }>['scaling'];

function scale(v: number, s: Scaling): number {
  if (s.kind === 'standard') return (v - s.mean) / s.std;
  if (s.kind === 'minmax') return (v - s.min) / (s.max - s.min);
  return v;
}

/** A cell as text, the way class and category vocabularies are written. */
function cellText(col: ColumnData, r: number): string | null {
  if (!('nulls' in col)) return col.values[r] ?? null;
  const v = col.values[r]!;
  if (col.nulls[r]) return null;
  if (col.type === 'boolean') return v ? 'true' : 'false';
  return String(v);
}

function mismatch(field: string, column: string, message: string): TroveError {
  return new TroveError('INVALID_JOB_SPEC', `The job's training spec does not fit the dataset: column "${column}" ${message}.`, { path: field, column });
}

/**
 * Maps the job's columns to a training matrix. `data.columns` holds the spec's features in
 * order and the label last (columnsReadBy(spec)). `zeroed` gives the arrays x and y are written
 * into (zero-filled, of the length asked): the worker hands in ones it kept from the last step.
 */
export function buildTrainingMatrix(spec: TrainingJobSpec, data: ColumnarRows, zeroed: (length: number) => Float32Array = (n) => new Float32Array(n)): TrainingMatrix {
  const features = spec.features;
  if (data.columns.length !== features.length + 1) {
    throw new TroveError('INVALID_INPUT', `Expected ${features.length + 1} columns for this job, got ${data.columns.length}.`);
  }
  const n = data.recordIds.length;
  for (const col of data.columns) {
    if (col.values.length !== n) throw new TroveError('CORRUPT_DATA', 'Columns of the task data have different lengths.');
  }
  features.forEach((f, i) => {
    const col = data.columns[i]!;
    if (f.kind === 'numeric' && (col.type === 'string' || col.type === 'category')) {
      throw mismatch(`features.${i}`, f.column, 'holds text but the spec reads it as numeric');
    }
  });
  const labelCol = data.columns[features.length]!;
  if (spec.label.kind === 'value' && (labelCol.type === 'string' || labelCol.type === 'category')) {
    throw mismatch('label', spec.label.column, 'holds text but the spec reads it as a value');
  }

  const width = inputWidthOf(features);
  const outputs = outputWidthOf(spec);
  const x = zeroed(n * width);
  const y = zeroed(n * outputs);
  // Column by column (each loop sees one column kind), marking rows to drop; compacted at the end.
  const drop = new Uint8Array(n);
  // Column by column (each inner loop sees one column kind), in chunks of rows so the chunk of
  // the input matrix being written stays in cache across the columns.
  const plans = features.map((f, i) => {
    const col = data.columns[i]!;
    if (f.kind === 'numeric') {
      const [mul, add] = affine(f.scaling);
      return {
        kind: 'numeric' as const,
        num: col as Extract<ColumnData, { values: Float64Array }>,
        dropMissing: f.missing.kind === 'drop-row',
        fill: f.missing.kind === 'impute' ? scale(f.missing.value, f.scaling) : 0,
        mul,
        add,
        indicator: f.indicator,
      };
    }
    return {
      kind: 'categorical' as const,
      col,
      index: new Map(f.categories.map((c, j) => [c, j])),
      other: f.unknown === 'other' ? f.categories.length : -1,
      dropUnknown: f.unknown === 'drop-row',
    };
  });
  const offsets: number[] = [];
  features.reduce((o, f) => (offsets.push(o), o + featureWidth(f)), 0);
  const CHUNK = 1024;
  for (let lo = 0; lo < n; lo += CHUNK) {
    const hi = Math.min(n, lo + CHUNK);
    plans.forEach((p, i) => {
      const o = offsets[i]!;
      if (p.kind === 'numeric') {
        const { values, nulls } = p.num;
        for (let r = lo, at = lo * width + o; r < hi; r++, at += width) {
          const v = values[r]!;
          const missing = nulls[r] === 1 || v !== v;
          if (missing) {
            if (p.dropMissing) drop[r] = 1;
            x[at] = p.fill;
          } else {
            x[at] = v * p.mul + p.add;
          }
          if (p.indicator) x[at + 1] = missing ? 1 : 0;
        }
      } else {
        for (let r = lo, at = lo * width + o; r < hi; r++, at += width) {
          const text = cellText(p.col, r);
          const j = text === null ? undefined : p.index.get(text);
          if (j !== undefined) x[at + j] = 1;
          else if (p.other >= 0) x[at + p.other] = 1;
          else if (p.dropUnknown) drop[r] = 1;
        }
      }
    });
  }

  if (spec.label.kind === 'class') {
    const index = new Map(spec.label.classes.map((c, j) => [c, j]));
    for (let r = 0; r < n; r++) {
      const text = cellText(labelCol, r);
      const c = text === null ? undefined : index.get(text);
      if (c === undefined) drop[r] = 1;
      else if (outputs === 1) y[r] = c;
      else y[r * outputs + c] = 1;
    }
  } else {
    const { values, nulls } = labelCol as Extract<ColumnData, { values: Float64Array }>;
    const [mul, add] = affine(spec.label.scaling);
    for (let r = 0; r < n; r++) {
      const v = values[r]!;
      if (nulls[r] === 1 || v !== v) drop[r] = 1;
      else y[r] = v * mul + add;
    }
  }

  let kept = 0;
  for (let r = 0; r < n; r++) {
    if (drop[r]) continue;
    if (kept !== r) {
      x.copyWithin(kept * width, r * width, (r + 1) * width);
      y.copyWithin(kept * outputs, r * outputs, (r + 1) * outputs);
    }
    kept++;
  }
  return { x: x.subarray(0, kept * width), y: y.subarray(0, kept * outputs), rows: kept, width, outputs, droppedRows: n - kept };
}

/** Scaling as v * mul + add. */
function affine(s: Scaling): [number, number] {
  if (s.kind === 'standard') return [1 / s.std, -s.mean / s.std];
  if (s.kind === 'minmax') return [1 / (s.max - s.min), -s.min / (s.max - s.min)];
  return [1, 0];
}
