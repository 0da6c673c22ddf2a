// Runs a checked module with the host interface of common/analytics/host-interface.ts as its
// only imports. The host copies granted columns into the module's own memory, refuses any column
// index past the grant and any pointer outside the memory, and takes one output vector back. A
// trap or a host refusal ends the run with ANALYTICS_MODULE_FAILED; an endless loop is ended by
// the supervisor's time limit, which replaces the whole worker.
import { VALUE_BYTES } from '../../common/analytics/host-interface.js';
import { TroveError } from '../../common/errors.js';

function failed(message: string, details?: Record<string, unknown>): TroveError {
  return new TroveError('ANALYTICS_MODULE_FAILED', `The job's program ${message}; it was stopped and nothing was sent.`, details);
}

/** `columns`: the granted columns as numbers (NaN where missing), all `rows` long. */
export function runModule(mod: WebAssembly.Module, columns: Float64Array[], rows: number): Float64Array {
  // set once the instance exists; the host functions are only called after that
  const linear: { memory?: WebAssembly.Memory } = {};
  let output: Float64Array | undefined;
  const span = (ptr: number, count: number, what: string): void => {
    const bytes = linear.memory!.buffer.byteLength;
    if (!Number.isInteger(ptr) || ptr < 0 || ptr % VALUE_BYTES !== 0 || ptr + count * VALUE_BYTES > bytes) {
      throw failed(`${what} outside its memory`, { ptr, count, memoryBytes: bytes });
    }
  };
  const host = {
    row_count: (): number => rows,
    column_count: (): number => columns.length,
    read_column: (column: number, first: number, count: number, ptr: number): number => {
      if (!Number.isInteger(column) || column < 0 || column >= columns.length) {
        throw failed(`tried to read column ${column}, past the ${columns.length} granted to it`, { column, granted: columns.length });
      }
      if (!Number.isInteger(first) || first < 0 || !Number.isInteger(count) || count < 0) throw failed(`asked for rows ${first} (${count} of them)`, { first, count });
      const n = Math.max(0, Math.min(count, rows - first));
      span(ptr, n, 'tried to write columns');
      new Float64Array(linear.memory!.buffer, ptr, n).set(columns[column]!.subarray(first, first + n));
      return n;
    },
    write_output: (ptr: number, length: number): void => {
      if (output) throw failed('wrote its output twice');
      if (!Number.isInteger(length) || length < 0 || length > 1 << 20) throw failed(`wrote an output of ${length} numbers`, { length });
      span(ptr, length, 'pointed its output');
      output = new Float64Array(linear.memory!.buffer, ptr, length).slice();
    },
  };
  let instance: WebAssembly.Instance;
  try {
    instance = new WebAssembly.Instance(mod, { trove: host });
  } catch (err) {
    throw failed(`could not start (${(err as Error).message})`);
  }
  linear.memory = instance.exports.memory as WebAssembly.Memory;
  try {
    (instance.exports.run as () => void)();
  } catch (err) {
    if (err instanceof TroveError) throw err;
    throw failed(`stopped with an error (${(err as Error).message})`);
  }
  if (!output) throw new TroveError('ANALYTICS_OUTPUT_REFUSED', "The job's program finished without writing its output; nothing was sent.");
  return output;
}
