;; An example compute-to-data module: the sum and the count of one column's values, each value
;; held to 0..24 (hours in a day), so a researcher gets the mean sleep time across contributors
;; as sum / count of the aggregate. It imports only the host interface that Trove gives modules
;; (common/analytics/host-interface.ts) and reads the column in chunks of 4096 values, so one
;; page of memory is enough for any number of rows.
;; Build: npm run build:modules (writes the .wasm and prints its sha256 for the job document).
(module
  (import "trove" "read_column" (func $read_column (param i32 i32 i32 i32) (result i32)))
  (import "trove" "write_output" (func $write_output (param i32 i32)))
  ;; bytes 0..15: the output [sum, count]; bytes 64..32831: the chunk
  (memory (export "memory") 1 1)
  (func (export "run")
    (local $first i32) (local $got i32) (local $at i32) (local $end i32)
    (local $v f64) (local $sum f64) (local $count f64)
    (block $rows_done
      (loop $next_chunk
        (local.set $got (call $read_column (i32.const 0) (local.get $first) (i32.const 4096) (i32.const 64)))
        (br_if $rows_done (i32.eqz (local.get $got)))
        (local.set $first (i32.add (local.get $first) (local.get $got)))
        (local.set $at (i32.const 64))
        (local.set $end (i32.add (i32.const 64) (i32.shl (local.get $got) (i32.const 3))))
        (block $chunk_done
          (loop $next
            (br_if $chunk_done (i32.ge_u (local.get $at) (local.get $end)))
            (local.set $v (f64.load (local.get $at)))
            ;; a missing value is NaN, which equals nothing, itself included
            (if (f64.eq (local.get $v) (local.get $v))
              (then
                (local.set $sum (f64.add (local.get $sum) (f64.min (f64.max (local.get $v) (f64.const 0)) (f64.const 24))))
                (local.set $count (f64.add (local.get $count) (f64.const 1)))))
            (local.set $at (i32.add (local.get $at) (i32.const 8)))
            (br $next)))
        (br $next_chunk)))
    (f64.store (i32.const 0) (local.get $sum))
    (f64.store (i32.const 8) (local.get $count))
    (call $write_output (i32.const 0) (i32.const 2))))
