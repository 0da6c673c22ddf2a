// Records are stored column by column in blocks of up to BLOCK_ROWS records: one sealed segment
// per column per block, plus one for the record ids. Reading a projection opens only the
// segments of the columns asked for; a block's manifest entry says how many records it holds and
// which version of its segments is current.
import { type ColumnData, type ColumnSchema, isTextColumn } from '../../../common/dataset.js';

export const BLOCK_ROWS = 4096;
/**
 * A block of long text flushes early, so memory stays bounded whatever the row width. Counted in
 * UTF-16 code units (JavaScript string length), not bytes: a reader never needs it, a writer may
 * flush earlier or later without changing what readers see.
 */
export const BLOCK_TEXT_UNITS = 4 * 1024 * 1024;

/** [block number, version, rows, first record id, last record id] */
export type BlockEntry = [block: number, version: number, rows: number, firstId: number, lastId: number];

export function emptyColumn(type: ColumnSchema['type'], capacity: number): ColumnData {
  switch (type) {
    case 'string':
    case 'category':
      return { type, values: [] };
    default:
      return { type, values: new Float64Array(capacity), nulls: new Uint8Array(capacity) };
  }
}

/** Gathers converted rows into columns until a block is full. */
export class BlockBuilder {
  recordIds: Float64Array;
  columns: ColumnData[];
  rows = 0;
  private textUnits = 0;

  constructor(
    private readonly schema: readonly ColumnSchema[],
    private readonly capacity = BLOCK_ROWS,
  ) {
    this.recordIds = new Float64Array(capacity);
    this.columns = schema.map((c) => emptyColumn(c.type, capacity));
  }

  add(recordId: number, values: readonly (number | string | null)[]): void {
    const r = this.rows;
    this.recordIds[r] = recordId;
    for (let c = 0; c < this.columns.length; c++) {
      const col = this.columns[c]!;
      const v = values[c] ?? null;
      if (isTextColumn(col)) {
        col.values.push(v as string | null);
        if (typeof v === 'string') this.textUnits += v.length;
      } else if (v === null) {
        col.nulls[r] = 1;
        col.values[r] = 0;
      } else {
        col.nulls[r] = 0;
        col.values[r] = v as number;
      }
    }
    this.rows++;
  }

  get full(): boolean {
    return this.rows >= this.capacity || this.textUnits >= BLOCK_TEXT_UNITS;
  }

  /**
   * Starts the next block in the same number arrays: a flushed block is sealed before the next row
   * arrives, and add() writes every cell of a row, so nothing from the last block is read again.
   */
  reset(): void {
    this.rows = 0;
    this.textUnits = 0;
    for (const col of this.columns) if (isTextColumn(col)) col.values = [];
  }
}

/** The same column without the rows whose index is in `drop`. */
export function withoutRows(column: ColumnData, keep: (i: number) => boolean, rows: number): ColumnData {
  if (isTextColumn(column)) {
    return { type: column.type, values: column.values.filter((_, i) => keep(i)) };
  }
  const values: number[] = [];
  const nulls: number[] = [];
  for (let i = 0; i < rows; i++) {
    if (!keep(i)) continue;
    values.push(column.values[i]!);
    nulls.push(column.nulls[i]!);
  }
  return { type: column.type, values: Float64Array.from(values), nulls: Uint8Array.from(nulls) };
}
