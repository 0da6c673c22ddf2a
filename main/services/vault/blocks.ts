// Records are stored column by column in blocks of up to BLOCK_ROWS records: one sealed segment
// per column per block, plus one for the record ids. Reading a projection opens only the
// segments of the columns asked for; a block's manifest entry says how many records it holds and
// which version of its segments is current.
import { type ColumnData, type ColumnSchema, isTextColumn } from '../../../common/dataset.js';
import { putValue } from './import/types.js';

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

/** Gathers rows, converted cell by cell into their columns, until a block is full. */
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

  /**
   * Converts a raw cell straight into column c of the row being built; false when it does not fit.
   * A row that fails part-way leaves cells behind that the next row overwrites: add() counts a row
   * only once all of its cells are in.
   */
  put(c: number, raw: unknown): boolean {
    const col = this.columns[c]!;
    if (!putValue(raw, col, this.rows)) return false;
    if (isTextColumn(col)) this.textUnits += col.values[this.rows]?.length ?? 0;
    return true;
  }

  /**
   * Converts one record's cells, read from `cells` at each column's source key, into the row being
   * built: the index of the first column whose value does not fit, or -1 when every one did. The
   * import's per-cell work lives here, apart from its long async loop, so it is optimised on its
   * own and stays optimised whatever happens to the loop around it.
   */
  putRow(cells: Readonly<Record<string | number, unknown>>, sources: readonly (string | number)[]): number {
    for (let c = 0; c < sources.length; c++) if (!this.put(c, cells[sources[c]!])) return c;
    return -1;
  }

  /** Counts the row whose cells put() wrote, under its record id. */
  add(recordId: number): void {
    this.recordIds[this.rows++] = recordId;
  }

  get full(): boolean {
    return this.rows >= this.capacity || this.textUnits >= BLOCK_TEXT_UNITS;
  }

  /**
   * Starts the next block in the same arrays: a flushed block is sealed before the next row
   * arrives, and every cell of a counted row is written, so nothing from the last block is read
   * again. Text columns keep their arrays too, with the flushed strings let go: a fresh array per
   * block grew by copying, garbage that cost the import a collection of the young heap or two.
   */
  reset(): void {
    for (const col of this.columns) if (isTextColumn(col)) col.values.fill(null, 0, this.rows);
    this.rows = 0;
    this.textUnits = 0;
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
