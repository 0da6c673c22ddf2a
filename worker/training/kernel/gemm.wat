;; Dense-layer matrix kernel for the built-in CPU trainer, WebAssembly SIMD (128-bit).
;;
;;   C[m x n] = init + op(A)[m x k] . B[k x n]       then optionally relu, or a relu-gradient mask
;;
;; A is addressed through two strides (element (i, kk) at a + 4 * (i * ai + kk * ak)), so the same
;; kernel computes X.W (forward), X^T.D (weight gradients) and D.W^T (input gradients, with W^T
;; stored explicitly). B and C are row-major with row strides ldb and ldc, in floats.
;; init: mode 0 = zero, 1 = the current C (accumulate), 2 = the row vector at bias (broadcast).
;; post: 0 = none, 1 = relu, 2 = keep C where mask[i, j] > 0 and zero it elsewhere (mask has
;; row stride ldc).
;; Callers pad: m is a multiple of 4 and n a multiple of 8 (padding holds zeros).
;; A 4 x 8 block keeps eight accumulators, two B vectors and one broadcast in registers.
(module
  (memory (export "memory") 1)

  (func $gemm (export "gemm")
    (param $a i32) (param $ai i32) (param $ak i32)
    (param $b i32) (param $ldb i32)
    (param $c i32) (param $ldc i32)
    (param $m i32) (param $k i32) (param $n i32)
    (param $mode i32) (param $bias i32) (param $post i32) (param $mask i32)
    (local $i i32) (local $j i32) (local $kk i32)
    (local $ai4 i32) (local $ai8 i32) (local $ai12 i32) (local $ak4 i32) (local $ldb4 i32) (local $ldc4 i32)
    (local $pa i32) (local $pb i32) (local $pc i32) (local $pm i32)
    (local $c0l v128) (local $c0h v128) (local $c1l v128) (local $c1h v128)
    (local $c2l v128) (local $c2h v128) (local $c3l v128) (local $c3h v128)
    (local $bl v128) (local $bh v128) (local $s v128) (local $zero v128)

    (local.set $ai4 (i32.shl (local.get $ai) (i32.const 2)))
    (local.set $ai8 (i32.shl (local.get $ai4) (i32.const 1)))
    (local.set $ai12 (i32.add (local.get $ai8) (local.get $ai4)))
    (local.set $ak4 (i32.shl (local.get $ak) (i32.const 2)))
    (local.set $ldb4 (i32.shl (local.get $ldb) (i32.const 2)))
    (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $zero (v128.const i32x4 0 0 0 0))

    (local.set $i (i32.const 0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $j (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $j) (local.get $n)))
            ;; pc -> C[i, j]
            (local.set $pc (i32.add (local.get $c)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ldc)) (local.get $j)) (i32.const 2))))

            ;; initial accumulators
            (if (i32.eq (local.get $mode) (i32.const 1))
              (then
                (local.set $c0l (v128.load offset=0 (local.get $pc)))
                (local.set $c0h (v128.load offset=16 (local.get $pc)))
                (local.set $pm (i32.add (local.get $pc) (local.get $ldc4)))
                (local.set $c1l (v128.load offset=0 (local.get $pm)))
                (local.set $c1h (v128.load offset=16 (local.get $pm)))
                (local.set $pm (i32.add (local.get $pm) (local.get $ldc4)))
                (local.set $c2l (v128.load offset=0 (local.get $pm)))
                (local.set $c2h (v128.load offset=16 (local.get $pm)))
                (local.set $pm (i32.add (local.get $pm) (local.get $ldc4)))
                (local.set $c3l (v128.load offset=0 (local.get $pm)))
                (local.set $c3h (v128.load offset=16 (local.get $pm))))
              (else
                (if (i32.eq (local.get $mode) (i32.const 2))
                  (then
                    (local.set $pm (i32.add (local.get $bias) (i32.shl (local.get $j) (i32.const 2))))
                    (local.set $c0l (v128.load offset=0 (local.get $pm)))
                    (local.set $c0h (v128.load offset=16 (local.get $pm))))
                  (else
                    (local.set $c0l (local.get $zero))
                    (local.set $c0h (local.get $zero))))
                (local.set $c1l (local.get $c0l)) (local.set $c1h (local.get $c0h))
                (local.set $c2l (local.get $c0l)) (local.set $c2h (local.get $c0h))
                (local.set $c3l (local.get $c0l)) (local.set $c3h (local.get $c0h))))

            ;; pa -> A[i, 0], pb -> B[0, j]
            (local.set $pa (i32.add (local.get $a) (i32.mul (local.get $i) (local.get $ai4))))
            (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $kk (local.get $k))
            (if (i32.gt_s (local.get $kk) (i32.const 0))
              (then
                (loop $ks
                (local.set $bl (v128.load offset=0 (local.get $pb)))
                (local.set $bh (v128.load offset=16 (local.get $pb)))
                (local.set $s (v128.load32_splat (local.get $pa)))
                (local.set $c0l (f32x4.add (local.get $c0l) (f32x4.mul (local.get $s) (local.get $bl))))
                (local.set $c0h (f32x4.add (local.get $c0h) (f32x4.mul (local.get $s) (local.get $bh))))
                (local.set $s (v128.load32_splat (i32.add (local.get $pa) (local.get $ai4))))
                (local.set $c1l (f32x4.add (local.get $c1l) (f32x4.mul (local.get $s) (local.get $bl))))
                (local.set $c1h (f32x4.add (local.get $c1h) (f32x4.mul (local.get $s) (local.get $bh))))
                (local.set $s (v128.load32_splat (i32.add (local.get $pa) (local.get $ai8))))
                (local.set $c2l (f32x4.add (local.get $c2l) (f32x4.mul (local.get $s) (local.get $bl))))
                (local.set $c2h (f32x4.add (local.get $c2h) (f32x4.mul (local.get $s) (local.get $bh))))
                (local.set $s (v128.load32_splat (i32.add (local.get $pa) (local.get $ai12))))
                (local.set $c3l (f32x4.add (local.get $c3l) (f32x4.mul (local.get $s) (local.get $bl))))
                (local.set $c3h (f32x4.add (local.get $c3h) (f32x4.mul (local.get $s) (local.get $bh))))
                (local.set $pa (i32.add (local.get $pa) (local.get $ak4)))
                (local.set $pb (i32.add (local.get $pb) (local.get $ldb4)))
                (local.set $kk (i32.sub (local.get $kk) (i32.const 1)))
                (br_if $ks (local.get $kk)))))

            ;; post-processing
            (if (i32.eq (local.get $post) (i32.const 1))
              (then
                (local.set $c0l (f32x4.max (local.get $c0l) (local.get $zero)))
                (local.set $c0h (f32x4.max (local.get $c0h) (local.get $zero)))
                (local.set $c1l (f32x4.max (local.get $c1l) (local.get $zero)))
                (local.set $c1h (f32x4.max (local.get $c1h) (local.get $zero)))
                (local.set $c2l (f32x4.max (local.get $c2l) (local.get $zero)))
                (local.set $c2h (f32x4.max (local.get $c2h) (local.get $zero)))
                (local.set $c3l (f32x4.max (local.get $c3l) (local.get $zero)))
                (local.set $c3h (f32x4.max (local.get $c3h) (local.get $zero)))))
            (if (i32.eq (local.get $post) (i32.const 2))
              (then
                (local.set $pm (i32.add (local.get $mask) (i32.sub (local.get $pc) (local.get $c))))
                (local.set $c0l (v128.and (local.get $c0l) (f32x4.gt (v128.load offset=0 (local.get $pm)) (local.get $zero))))
                (local.set $c0h (v128.and (local.get $c0h) (f32x4.gt (v128.load offset=16 (local.get $pm)) (local.get $zero))))
                (local.set $pm (i32.add (local.get $pm) (local.get $ldc4)))
                (local.set $c1l (v128.and (local.get $c1l) (f32x4.gt (v128.load offset=0 (local.get $pm)) (local.get $zero))))
                (local.set $c1h (v128.and (local.get $c1h) (f32x4.gt (v128.load offset=16 (local.get $pm)) (local.get $zero))))
                (local.set $pm (i32.add (local.get $pm) (local.get $ldc4)))
                (local.set $c2l (v128.and (local.get $c2l) (f32x4.gt (v128.load offset=0 (local.get $pm)) (local.get $zero))))
                (local.set $c2h (v128.and (local.get $c2h) (f32x4.gt (v128.load offset=16 (local.get $pm)) (local.get $zero))))
                (local.set $pm (i32.add (local.get $pm) (local.get $ldc4)))
                (local.set $c3l (v128.and (local.get $c3l) (f32x4.gt (v128.load offset=0 (local.get $pm)) (local.get $zero))))
                (local.set $c3h (v128.and (local.get $c3h) (f32x4.gt (v128.load offset=16 (local.get $pm)) (local.get $zero))))))

            ;; store the block
            (v128.store offset=0 (local.get $pc) (local.get $c0l))
            (v128.store offset=16 (local.get $pc) (local.get $c0h))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
            (v128.store offset=0 (local.get $pc) (local.get $c1l))
            (v128.store offset=16 (local.get $pc) (local.get $c1h))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
            (v128.store offset=0 (local.get $pc) (local.get $c2l))
            (v128.store offset=16 (local.get $pc) (local.get $c2h))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
            (v128.store offset=0 (local.get $pc) (local.get $c3l))
            (v128.store offset=16 (local.get $pc) (local.get $c3h))

            (local.set $j (i32.add (local.get $j) (i32.const 8)))
            (br $cols)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows)))
  )

  ;; Adam on a whole parameter buffer (n a multiple of 4), in TensorFlow.js's form:
  ;;   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;  p -= lr (m c1) / (sqrt(v c2) + eps)
  ;; with the bias corrections c1 = 1 / (1 - b1^t) and c2 = 1 / (1 - b2^t).
  (func (export "adam")
    (param $p i32) (param $g i32) (param $m i32) (param $v i32) (param $n i32)
    (param $lr f32) (param $b1 f32) (param $b2 f32) (param $eps f32) (param $c1 f32) (param $c2 f32)
    (local $off i32) (local $end i32)
    (local $vb1 v128) (local $vb1c v128) (local $vb2 v128) (local $vb2c v128) (local $vlr v128) (local $veps v128)
    (local $vc1 v128) (local $vc2 v128)
    (local $gv v128) (local $mv v128) (local $vv v128)
    (local.set $vb1 (f32x4.splat (local.get $b1)))
    (local.set $vb1c (f32x4.splat (f32.sub (f32.const 1) (local.get $b1))))
    (local.set $vb2 (f32x4.splat (local.get $b2)))
    (local.set $vb2c (f32x4.splat (f32.sub (f32.const 1) (local.get $b2))))
    (local.set $vlr (f32x4.splat (local.get $lr)))
    (local.set $veps (f32x4.splat (local.get $eps)))
    (local.set $vc1 (f32x4.splat (local.get $c1)))
    (local.set $vc2 (f32x4.splat (local.get $c2)))
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $off (i32.const 0))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $off) (local.get $end)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $off))))
        (local.set $mv (f32x4.add
          (f32x4.mul (local.get $vb1) (v128.load (i32.add (local.get $m) (local.get $off))))
          (f32x4.mul (local.get $vb1c) (local.get $gv))))
        (local.set $vv (f32x4.add
          (f32x4.mul (local.get $vb2) (v128.load (i32.add (local.get $v) (local.get $off))))
          (f32x4.mul (local.get $vb2c) (f32x4.mul (local.get $gv) (local.get $gv)))))
        (v128.store (i32.add (local.get $m) (local.get $off)) (local.get $mv))
        (v128.store (i32.add (local.get $v) (local.get $off)) (local.get $vv))
        (v128.store (i32.add (local.get $p) (local.get $off))
          (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $off)))
            (f32x4.div (f32x4.mul (local.get $vlr) (f32x4.mul (local.get $mv) (local.get $vc1)))
              (f32x4.add (f32x4.sqrt (f32x4.mul (local.get $vv) (local.get $vc2))) (local.get $veps)))))
        (local.set $off (i32.add (local.get $off) (i32.const 16)))
        (br $each)))
  )

  ;; out[0..n) = sum over rows r < m of d[r * ld + j] (n a multiple of 4): bias gradients.
  (func (export "colsum") (param $d i32) (param $ld i32) (param $m i32) (param $n i32) (param $out i32)
    (local $j i32) (local $r i32) (local $p i32) (local $acc v128) (local $ld4 i32)
    (local.set $ld4 (i32.shl (local.get $ld) (i32.const 2)))
    (local.set $j (i32.const 0))
    (block $done
      (loop $cols
        (br_if $done (i32.ge_u (local.get $j) (local.get $n)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $p (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 2))))
        (local.set $r (local.get $m))
        (if (i32.gt_s (local.get $r) (i32.const 0))
          (then
            (loop $rows
              (local.set $acc (f32x4.add (local.get $acc) (v128.load (local.get $p))))
              (local.set $p (i32.add (local.get $p) (local.get $ld4)))
              (local.set $r (i32.sub (local.get $r) (i32.const 1)))
              (br_if $rows (local.get $r)))))
        (v128.store (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 2))) (local.get $acc))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $cols)))
  )

  ;; dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols: the transposed weights that
  ;; input gradients multiply by.
  (func (export "transpose") (param $src i32) (param $lds i32) (param $dst i32) (param $ldd i32) (param $rows i32) (param $cols i32)
    (local $i i32) (local $j i32) (local $ps i32) (local $pd i32) (local $ldd4 i32)
    (local.set $ldd4 (i32.shl (local.get $ldd) (i32.const 2)))
    (local.set $i (i32.const 0))
    (block $done
      (loop $rows_loop
        (br_if $done (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $ps (i32.add (local.get $src) (i32.shl (i32.mul (local.get $i) (local.get $lds)) (i32.const 2))))
        (local.set $pd (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2))))
        (local.set $j (local.get $cols))
        (if (i32.gt_s (local.get $j) (i32.const 0))
          (then
            (loop $cols_loop
              (f32.store (local.get $pd) (f32.load (local.get $ps)))
              (local.set $ps (i32.add (local.get $ps) (i32.const 4)))
              (local.set $pd (i32.add (local.get $pd) (local.get $ldd4)))
              (local.set $j (i32.sub (local.get $j) (i32.const 1)))
              (br_if $cols_loop (local.get $j)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows_loop)))
  )

  ;; dst[r * ldd + j] = src[order[r] * width + j] for r < n, j < width: a shuffled batch's rows,
  ;; four floats at a time; columns width..ldd of dst are left as they are (zero padding).
  (func (export "gather") (param $src i32) (param $width i32) (param $order i32) (param $n i32) (param $dst i32) (param $ldd i32)
    (local $r i32) (local $ps i32) (local $pd i32) (local $j i32) (local $vec i32) (local $row4 i32) (local $ldd4 i32)
    (local.set $row4 (i32.shl (local.get $width) (i32.const 2)))
    (local.set $ldd4 (i32.shl (local.get $ldd) (i32.const 2)))
    (local.set $vec (i32.and (local.get $width) (i32.const -4)))
    (local.set $r (i32.const 0))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $r) (local.get $n)))
        (local.set $ps (i32.add (local.get $src)
          (i32.mul (i32.load (i32.add (local.get $order) (i32.shl (local.get $r) (i32.const 2)))) (local.get $row4))))
        (local.set $pd (i32.add (local.get $dst) (i32.mul (local.get $r) (local.get $ldd4))))
        (local.set $j (i32.const 0))
        (block $vdone
          (loop $vcols
            (br_if $vdone (i32.ge_u (local.get $j) (local.get $vec)))
            (v128.store (local.get $pd) (v128.load (local.get $ps)))
            (local.set $ps (i32.add (local.get $ps) (i32.const 16)))
            (local.set $pd (i32.add (local.get $pd) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $vcols)))
        (block $sdone
          (loop $scols
            (br_if $sdone (i32.ge_u (local.get $j) (local.get $width)))
            (f32.store (local.get $pd) (f32.load (local.get $ps)))
            (local.set $ps (i32.add (local.get $ps) (i32.const 4)))
            (local.set $pd (i32.add (local.get $pd) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $scols)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows)))
  )
)
