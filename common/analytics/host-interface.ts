// The whole world a researcher's WebAssembly module can see: four functions imported from the
// module "trove", and nothing else (no clock, no randomness, no files, no network). The module
// defines and exports its own memory (with a declared maximum) and a `run` function; the host
// copies granted columns into that memory on request and reads one output vector back.
//
//   (import "trove" "row_count"    (func (result i32)))
//       rows the module may read (the contributor's rows, up to the job's maxRows)
//   (import "trove" "column_count" (func (result i32)))
//       columns granted, in the order the job lists them
//   (import "trove" "read_column"  (func (param $column i32) (param $first i32) (param $count i32) (param $ptr i32) (result i32)))
//       writes up to $count f64 values of that column, from row $first, at $ptr (a missing
//       value is NaN) and returns how many it wrote (0 past the last row). Reading in chunks
//       keeps a module's memory small whatever the number of rows.
//   (import "trove" "write_output" (func (param $ptr i32) (param $length i32)))
//       the output: $length f64 values at $ptr; called exactly once, with the declared length
//   (export "memory" (memory ...)) (export "run" (func))

export const HOST_MODULE = 'trove';

export const HOST_FUNCTIONS = ['row_count', 'column_count', 'read_column', 'write_output'] as const;
export type HostFunction = (typeof HOST_FUNCTIONS)[number];

/** Bytes of one value in linear memory (f64). */
export const VALUE_BYTES = 8;
