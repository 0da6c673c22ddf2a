// What a dataset is, in the terms every process shares: its schema, its values, and the reports
// an import gives back. The vault stores these sealed; the UI, the worker and jobs read them.

export const COLUMN_TYPES = ['number', 'integer', 'string', 'boolean', 'date', 'category'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

export interface ColumnSchema {
  name: string;
  type: ColumnType;
}

/** A value as it leaves the vault: dates as ISO 8601 strings, missing values as null. */
export type CellValue = number | string | boolean | null;

/**
 * One column of a run of records, decoded. Numeric kinds (number, integer, date as epoch
 * milliseconds, boolean as 0/1) come as a Float64Array with a null mask; text kinds as strings.
 */
export interface NumericColumn {
  type: 'number' | 'integer' | 'date' | 'boolean';
  values: Float64Array;
  nulls: Uint8Array;
}
export interface TextColumn {
  type: 'string' | 'category';
  values: (string | null)[];
}
export type ColumnData = NumericColumn | TextColumn;

export function isTextColumn(c: ColumnData): c is TextColumn {
  return c.type === 'string' || c.type === 'category';
}

/** A run of records read column by column (one block of the vault, or a whole projection). */
export interface ColumnarRows {
  recordIds: Float64Array;
  columns: ColumnData[];
}

export interface DatasetInfo {
  id: string;
  name: string;
  columns: ColumnSchema[];
  rowCount: number;
  createdAt: number;
  updatedAt: number;
  source?: { fileName: string; format: ImportFormat };
  /** Set when the dataset cannot be read: what is wrong and what to do, in words. */
  damaged?: string;
}

export type ImportFormat = 'csv' | 'json' | 'jsonl';
export type RejectPolicy = 'reject-import' | 'skip-rows';

export interface RejectedRow {
  /** 1-based line in the source file where the record starts. */
  line: number;
  /** Column name, when the problem is in one column. */
  column?: string;
  reason: string;
}

export interface ImportReport {
  datasetId: string | null;
  rowsImported: number;
  rowsRejected: number;
  /** The first rejected rows (capped; rowsRejected has the full count). */
  rejected: RejectedRow[];
  warnings: string[];
  bytesRead: number;
  durationMs: number;
}

export interface ImportProgress {
  bytesRead: number;
  totalBytes: number | null;
  rowsRead: number;
  rowsRejected: number;
}

export interface ImportPreview {
  format: ImportFormat;
  delimiter?: string;
  /** invalidCount: values in the whole file that the proposed type refuses (their rows would be rejected). */
  columns: (ColumnSchema & { samples: CellValue[]; nullCount: number; invalidCount: number })[];
  rows: CellValue[][];
  problems: RejectedRow[];
}

export interface NumericSummary {
  kind: 'numeric';
  column: string;
  type: 'number' | 'integer' | 'date';
  count: number;
  nulls: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  stddev: number | null;
  /** Equal-width bins over [min, max]. */
  histogram: { from: number; to: number; count: number }[];
}

export interface CategoricalSummary {
  kind: 'categorical';
  column: string;
  type: 'string' | 'category' | 'boolean';
  count: number;
  nulls: number;
  distinct: number;
  /** True when distinct stopped counting at its cap. */
  distinctCapped: boolean;
  top: { value: string; count: number }[];
}

export type ColumnSummary = NumericSummary | CategoricalSummary;
