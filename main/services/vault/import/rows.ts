// Source records into the block being built: the import's per-record work. It is synchronous and
// small on purpose. Inside the import's long async function the same loop ran unoptimised for much
// of every import (that function is compiled late and thrown away easily, and while it is not
// optimised each row allocates its iterator results and boxed numbers); here V8 optimises it like
// any hot loop, and the async function only flushes, reports progress and yields between blocks.
import type { ColumnType } from '../../../../common/dataset.js';
import type { BlockBuilder } from '../blocks.js';
import type { SourceRecord } from './sources.js';
import { whyInvalid } from './types.js';

export interface ImportColumn {
  /** Where the column comes from: a CSV field index or a JSON key. */
  source: number | string;
  name: string;
  type: ColumnType;
}

export class RowReader {
  /** Records looked at, imported or not. */
  rowsRead = 0;
  /** The record id the next imported row gets: also how many rows were imported. */
  nextRecordId = 0;
  /** JSON keys that are not one of the columns, with how many records had each. */
  readonly unknownFields = new Map<string, number>();
  private readonly sources: (number | string)[];
  private readonly sourceKeys: Set<string>;

  constructor(
    private readonly builder: BlockBuilder,
    private readonly columns: readonly ImportColumn[],
    /** The number of fields every CSV record must have, when known. */
    private readonly expectedFields: number | undefined,
    /** A record that is not imported: its line, why, and the column to blame when there is one. */
    private readonly reject: (line: number, reason: string, column?: string) => void,
  ) {
    this.sources = columns.map((c) => c.source);
    this.sourceKeys = new Set(this.sources.map(String));
  }

  /**
   * Converts the records of `batch` from index `from` into the builder until the batch ends or the
   * block is full, and returns the index to go on from.
   */
  read(batch: readonly SourceRecord[], from: number): number {
    const builder = this.builder;
    let i = from;
    while (i < batch.length && !builder.full) {
      const rec = batch[i++]!;
      this.rowsRead++;
      if ('error' in rec) {
        this.reject(rec.line, rec.error);
        continue;
      }
      if ('fields' in rec && this.expectedFields !== undefined && rec.fields.length !== this.expectedFields) {
        this.reject(rec.line, `Expected ${this.expectedFields} fields, found ${rec.fields.length}.`);
        continue;
      }
      if ('object' in rec) {
        for (const key in rec.object) if (!this.sourceKeys.has(key)) this.unknownFields.set(key, (this.unknownFields.get(key) ?? 0) + 1);
      }
      // The record's shape is looked at once; the cells are then read from one array or object.
      const cells = ('fields' in rec ? rec.fields : 'values' in rec ? rec.values : rec.object) as Readonly<Record<string | number, unknown>>;
      const bad = builder.putRow(cells, this.sources);
      if (bad >= 0) {
        const col = this.columns[bad]!;
        this.reject(rec.line, whyInvalid(cells[col.source], col.type), col.name);
        continue;
      }
      builder.add(this.nextRecordId++);
    }
    return i;
  }
}
