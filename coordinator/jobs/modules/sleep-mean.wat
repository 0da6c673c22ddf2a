;; An example compute-to-data module: the sum and the count of one column's values, each value
;; held to 0..24 (hours in a day), so a researcher gets the mean sleep time across contributors
;; as sum / count of the aggregate. It imports only the host interface that Trove gives modules
;; (common/analytics/host-interface.ts) and grows its memory to fit the rows, up to 256 pages.
;; Build: npm run build:modules (writes the .wasm and prints its sha256 for the job document).
(module
  (import "trove" "row_count" (func $row_count (result i32)))
  (import "trove" "read_column" (func $read_column (param i32 i32)))
  (import "trove" "write_output" (func $write_output (param i32 i32)))
  ;; bytes 0..15: the output [sum, count]; the column from byte 64
  (memory (export "memory") 1 256)
  (func (export "run")
    (local $rows i32) (local $need i32) (local $at i32) (local $end i32)
    (local $v f64) (local $sum f64) (local $count f64)
    (local.set $rows (call $row_count))
    ;; pages needed for 64 + 8 x rows bytes, minus the page there already is
    (local.set $need
      (i32.sub
        (i32.shr_u (i32.add (i32.add (i32.shl (local.get $rows) (i32.const 3)) (i32.const 64)) (i32.const 65535)) (i32.const 16))
        (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.eq (memory.grow (local.get $need)) (i32.const -1)) (then unreachable))))
    (call $read_column (i32.const 0) (i32.const 64))
    (local.set $at (i32.const 64))
    (local.set $end (i32.add (i32.const 64) (i32.shl (local.get $rows) (i32.const 3))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $at) (local.get $end)))
        (local.set $v (f64.load (local.get $at)))
        ;; a missing value is NaN, which equals nothing, itself included
        (if (f64.eq (local.get $v) (local.get $v))
          (then
            (local.set $sum (f64.add (local.get $sum) (f64.min (f64.max (local.get $v) (f64.const 0)) (f64.const 24))))
            (local.set $count (f64.add (local.get $count) (f64.const 1)))))
        (local.set $at (i32.add (local.get $at) (i32.const 8)))
        (br $next)))
    (f64.store (i32.const 0) (local.get $sum))
    (f64.store (i32.const 8) (local.get $count))
    (call $write_output (i32.const 0) (i32.const 2))))
