// Where a task's rows come from, behind one interface. The worker reads only the columns a task
// names, holds them in its own memory for the task, and lets them go when the task ends.
import type { ColumnarRows } from '../common/dataset.js';
import { TroveError } from '../common/errors.js';
import type { TaskDataSource } from '../common/worker-protocol.js';

export interface TaskData {
  rows: ColumnarRows;
  /** Drops what the source holds (keys, file handles); rows are dropped by their owner. */
  release(): void;
}

export interface DataSourceReader {
  open(source: TaskDataSource, columns: string[]): Promise<TaskData>;
}

/** Reads inline rows, and vault grants through the reader given for them (when there is one). */
export class TaskDataReader implements DataSourceReader {
  constructor(private readonly vaultGrantReader?: DataSourceReader) {}

  async open(source: TaskDataSource, columns: string[]): Promise<TaskData> {
    if (source.kind === 'inline') {
      if (source.rows.columns.length !== columns.length) {
        throw new TroveError('INVALID_INPUT', `The task's data has ${source.rows.columns.length} columns; the job reads ${columns.length}.`);
      }
      return { rows: source.rows, release: () => undefined };
    }
    if (!this.vaultGrantReader) {
      throw new TroveError('INVALID_INPUT', 'This worker cannot read from the vault directly; hand it the rows instead.');
    }
    return this.vaultGrantReader.open(source, columns);
  }
}
