;; The paired kernel: gemvGemvT of two vectors in one pass over A, for the fused reverse sweep
;; (optimise/pair-products.ts), whose step runs an iteration and the adjoint step of another,
;; each a gemvGemvT on the same A. A module of its own, beside kernels.wat, because each must
;; stay under 4 kB (runtime-kernels.ts); a generated module embeds it only where it calls it
;; (`npm run kernels` assembles both). It imports the memory and the kernels it shares code
;; with, so a row or group of rows it leaves to them takes exactly their steps.
;;
;;   gemvGemvT2(A, lda, x, u, c, v, y, s, x2, u2, c2, v2, y2, s2, m, n, part)
;;                                  gemvGemvT(A, lda, x, u, c, v, y, s, m, n, part) and the same
;;                                  with x2, u2, c2, v2, y2, s2, the same bits as two calls
;;   gemv2(A, lda, x, x2, y, y2, m, n)
;;                                  gemv(A, lda, x, y, m, n) and gemv(A, lda, x2, y2, m, n), the
;;                                  same bits as two calls (a hoisted AᵀA times the iterate and
;;                                  times the adjoint)
;;
;; Every multiply-add is written as in kernels.wat, for fuse-wat.ts's relaxed-SIMD build.
(module
  (import "env" "memory" (memory 1))
  (import "kernels" "gemv" (func $gemv (param i32 i32 i32 i32 i32 i32)))
  (import "kernels" "gemvT" (func $gemvT (param i32 i32 i32 i32 i32 i32)))
  (import "kernels" "gemvGemvT" (func $gemvGemvT (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)))

  ;; Each block of A, brought into the cache once, serves both vectors. Every output entry
  ;; takes the same steps as in a gemvGemvT call of its own (the same parts, blocks, row sums
  ;; and groups of four rows), so the results are the same bits as two calls.
  (func (export "gemvGemvT2") (param $A i32) (param $lda i32) (param $x i32) (param $u i32) (param $c i32) (param $v i32) (param $y i32) (param $s i32)
        (param $x2 i32) (param $u2 i32) (param $c2 i32) (param $v2 i32) (param $y2 i32) (param $s2 i32) (param $m i32) (param $n i32) (param $part i32)
    (local $i i32) (local $end i32) (local $rows i32) (local $block i32) (local $j i32) (local $a i32) (local $row i32) (local $row2 i32)
    (if (i32.eq (local.get $part) (i32.const 8))
      (then
        (call $gemvGemvT (local.get $A) (local.get $lda) (local.get $x) (local.get $u) (local.get $c) (local.get $v) (local.get $y) (local.get $s) (local.get $m) (local.get $n) (i32.const 8))
        (call $gemvGemvT (local.get $A) (local.get $lda) (local.get $x2) (local.get $u2) (local.get $c2) (local.get $v2) (local.get $y2) (local.get $s2) (local.get $m) (local.get $n) (i32.const 8))
        (return)))
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (memory.fill (local.tee $row (i32.add (local.get $s) (i32.mul (local.get $part) (local.get $end)))) (i32.const 0) (local.get $end))
    (memory.fill (local.tee $row2 (i32.add (local.get $s2) (i32.mul (local.get $part) (local.get $end)))) (i32.const 0) (local.get $end))
    (local.set $i (i32.and (i32.div_s (i32.mul (local.get $m) (local.get $part)) (i32.const 8)) (i32.const -8)))
    (local.set $end (select (local.get $m) (i32.and (i32.div_s (i32.mul (local.get $m) (i32.add (local.get $part) (i32.const 1))) (i32.const 8)) (i32.const -8)) (i32.eq (local.get $part) (i32.const 7))))
    (local.set $block (i32.shl (i32.add (i32.div_u (i32.const 2048) (local.get $n)) (i32.const 1)) (i32.const 3)))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.ge_s (local.get $i) (local.get $end)))
        (if (i32.gt_s (local.tee $rows (i32.sub (local.get $end) (local.get $i))) (local.get $block)) (then (local.set $rows (local.get $block))))
        (local.set $j (i32.shl (local.get $i) (i32.const 3)))
        (call $gemv2 (local.tee $a (i32.add (local.get $A) (i32.mul (local.get $i) (i32.shl (local.get $lda) (i32.const 3))))) (local.get $lda) (local.get $x) (local.get $x2)
          (i32.add (local.get $u) (local.get $j)) (i32.add (local.get $u2) (local.get $j)) (local.get $rows) (local.get $n))
        (if (i32.ge_s (local.get $c) (i32.const 0)) (then (call $minus (i32.add (local.get $u) (local.get $j)) (i32.add (local.get $c) (local.get $j)) (i32.add (local.get $v) (local.get $j)) (local.get $rows))))
        (if (i32.ge_s (local.get $c2) (i32.const 0)) (then (call $minus (i32.add (local.get $u2) (local.get $j)) (i32.add (local.get $c2) (local.get $j)) (i32.add (local.get $v2) (local.get $j)) (local.get $rows))))
        (call $gemvT2 (local.get $a) (local.get $lda) (i32.add (local.get $v) (local.get $j)) (i32.add (local.get $v2) (local.get $j)) (local.get $row) (local.get $row2) (local.get $rows) (local.get $n))
        (local.set $i (i32.add (local.get $i) (local.get $rows)))
        (br $blocks))))

  ;; v[r] = u[r] − c[r] for r < rows (rows ≥ 1), as gemvGemvT's middle step.
  (func $minus (param $u i32) (param $c i32) (param $v i32) (param $rows i32)
    (local $j i32)
    (loop $entries
      (f64.store (i32.add (local.get $v) (local.get $j)) (f64.sub (f64.load (i32.add (local.get $u) (local.get $j))) (f64.load (i32.add (local.get $c) (local.get $j)))))
      (br_if $entries (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 8))) (i32.shl (local.get $rows) (i32.const 3))))))

  ;; gemv of two vectors, y = A x and y2 = A x2, four rows at a time: each A pair loaded feeds
  ;; both. A row's sum takes gemv's steps (one pair accumulator, rowSums); the last m mod 4 rows
  ;; run in gemv itself.
  (func $gemv2 (export "gemv2") (param $A i32) (param $lda i32) (param $x i32) (param $x2 i32) (param $y i32) (param $y2 i32) (param $m i32) (param $n i32)
    (local $i i32) (local $j i32) (local $rowBytes i32) (local $pairBytes i32) (local $endBytes i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local $p v128) (local $q v128) (local $t v128)
    (local.set $rowBytes (i32.shl (local.get $lda) (i32.const 3)))
    (local.set $pairBytes (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (local.set $endBytes (i32.shl (local.get $n) (i32.const 3)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $m)))
        (local.set $r0 (i32.add (local.get $A) (i32.mul (local.get $i) (local.get $rowBytes))))
        (local.set $r1 (i32.add (local.get $r0) (local.get $rowBytes)))
        (local.set $r2 (i32.add (local.get $r1) (local.get $rowBytes)))
        (local.set $r3 (i32.add (local.get $r2) (local.get $rowBytes)))
        (local.set $a0 (v128.const f64x2 0 0)) (local.set $a1 (v128.const f64x2 0 0)) (local.set $a2 (v128.const f64x2 0 0)) (local.set $a3 (v128.const f64x2 0 0))
        (local.set $b0 (v128.const f64x2 0 0)) (local.set $b1 (v128.const f64x2 0 0)) (local.set $b2 (v128.const f64x2 0 0)) (local.set $b3 (v128.const f64x2 0 0))
        (local.set $j (i32.const 0))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.ge_u (local.get $j) (local.get $pairBytes)))
            (local.set $p (v128.load (i32.add (local.get $x) (local.get $j))))
            (local.set $q (v128.load (i32.add (local.get $x2) (local.get $j))))
            (local.set $t (v128.load (i32.add (local.get $r0) (local.get $j))))
            (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $t) (local.get $p))))
            (local.set $b0 (f64x2.add (local.get $b0) (f64x2.mul (local.get $t) (local.get $q))))
            (local.set $t (v128.load (i32.add (local.get $r1) (local.get $j))))
            (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $t) (local.get $p))))
            (local.set $b1 (f64x2.add (local.get $b1) (f64x2.mul (local.get $t) (local.get $q))))
            (local.set $t (v128.load (i32.add (local.get $r2) (local.get $j))))
            (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $t) (local.get $p))))
            (local.set $b2 (f64x2.add (local.get $b2) (f64x2.mul (local.get $t) (local.get $q))))
            (local.set $t (v128.load (i32.add (local.get $r3) (local.get $j))))
            (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $t) (local.get $p))))
            (local.set $b3 (f64x2.add (local.get $b3) (f64x2.mul (local.get $t) (local.get $q))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $pairs)))
        (call $rowSums (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3) (local.get $x) (local.get $r0) (local.get $rowBytes) (local.get $j) (local.get $endBytes)
          (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 3))))
        (call $rowSums (local.get $b0) (local.get $b1) (local.get $b2) (local.get $b3) (local.get $x2) (local.get $r0) (local.get $rowBytes) (local.get $j) (local.get $endBytes)
          (i32.add (local.get $y2) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows)))
    (if (i32.lt_s (local.get $i) (local.get $m))
      (then
        (local.set $r0 (i32.add (local.get $A) (i32.mul (local.get $i) (local.get $rowBytes))))
        (call $gemv (local.get $r0) (local.get $lda) (local.get $x) (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 3))) (i32.sub (local.get $m) (local.get $i)) (local.get $n))
        (call $gemv (local.get $r0) (local.get $lda) (local.get $x2) (i32.add (local.get $y2) (i32.shl (local.get $i) (i32.const 3))) (i32.sub (local.get $m) (local.get $i)) (local.get $n)))))

  ;; The end of four rows' sums in gemv: y[k] = a_k[0] + a_k[1], plus the last column (at byte j) when n is odd.
  (func $rowSums (param $a0 v128) (param $a1 v128) (param $a2 v128) (param $a3 v128) (param $x i32) (param $r0 i32) (param $rowBytes i32) (param $j i32) (param $endBytes i32) (param $at i32)
    (local $s0 f64) (local $s1 f64) (local $s2 f64) (local $s3 f64) (local $xj f64) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local.set $s0 (f64.add (f64x2.extract_lane 0 (local.get $a0)) (f64x2.extract_lane 1 (local.get $a0))))
    (local.set $s1 (f64.add (f64x2.extract_lane 0 (local.get $a1)) (f64x2.extract_lane 1 (local.get $a1))))
    (local.set $s2 (f64.add (f64x2.extract_lane 0 (local.get $a2)) (f64x2.extract_lane 1 (local.get $a2))))
    (local.set $s3 (f64.add (f64x2.extract_lane 0 (local.get $a3)) (f64x2.extract_lane 1 (local.get $a3))))
    (if (i32.lt_u (local.get $j) (local.get $endBytes))
      (then
        (local.set $r1 (i32.add (local.get $r0) (local.get $rowBytes)))
        (local.set $r2 (i32.add (local.get $r1) (local.get $rowBytes)))
        (local.set $r3 (i32.add (local.get $r2) (local.get $rowBytes)))
        (local.set $xj (f64.load (i32.add (local.get $x) (local.get $j))))
        (local.set $s0 (f64.add (local.get $s0) (f64.mul (f64.load (i32.add (local.get $r0) (local.get $j))) (local.get $xj))))
        (local.set $s1 (f64.add (local.get $s1) (f64.mul (f64.load (i32.add (local.get $r1) (local.get $j))) (local.get $xj))))
        (local.set $s2 (f64.add (local.get $s2) (f64.mul (f64.load (i32.add (local.get $r2) (local.get $j))) (local.get $xj))))
        (local.set $s3 (f64.add (local.get $s3) (f64.mul (f64.load (i32.add (local.get $r3) (local.get $j))) (local.get $xj))))
))
    (f64.store (local.get $at) (local.get $s0))
    (f64.store offset=8 (local.get $at) (local.get $s1))
    (f64.store offset=16 (local.get $at) (local.get $s2))
    (f64.store offset=24 (local.get $at) (local.get $s3)))

  ;; gemvT of two vectors, y += Aᵀ v and y2 += Aᵀ v2, a group of four rows at a time: each A
  ;; pair loaded feeds both. The groups and their sums are gemvT's (which runs two groups a pass),
  ;; so y gets the same steps; the last m mod 4 rows run in gemvT itself.
  (func $gemvT2 (param $A i32) (param $lda i32) (param $v i32) (param $v2 i32) (param $y i32) (param $y2 i32) (param $m i32) (param $n i32)
    (local $i i32) (local $j i32) (local $rowBytes i32) (local $pairBytes i32) (local $endBytes i32) (local $p i32) (local $p2 i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $t v128) (local $s f64)
    (local.set $rowBytes (i32.shl (local.get $lda) (i32.const 3)))
    (local.set $pairBytes (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (local.set $endBytes (i32.shl (local.get $n) (i32.const 3)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $m)))
        (local.set $r0 (i32.add (local.get $A) (i32.mul (local.get $i) (local.get $rowBytes))))
        (local.set $r1 (i32.add (local.get $r0) (local.get $rowBytes)))
        (local.set $r2 (i32.add (local.get $r1) (local.get $rowBytes)))
        (local.set $r3 (i32.add (local.get $r2) (local.get $rowBytes)))
        (local.set $p (i32.add (local.get $v) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $p2 (i32.add (local.get $v2) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $c0 (v128.load64_splat offset=0 (local.get $p)))
        (local.set $c1 (v128.load64_splat offset=8 (local.get $p)))
        (local.set $c2 (v128.load64_splat offset=16 (local.get $p)))
        (local.set $c3 (v128.load64_splat offset=24 (local.get $p)))
        (local.set $d0 (v128.load64_splat offset=0 (local.get $p2)))
        (local.set $d1 (v128.load64_splat offset=8 (local.get $p2)))
        (local.set $d2 (v128.load64_splat offset=16 (local.get $p2)))
        (local.set $d3 (v128.load64_splat offset=24 (local.get $p2)))
        (local.set $j (i32.const 0))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.ge_u (local.get $j) (local.get $pairBytes)))
            (local.set $a0 (v128.load (i32.add (local.get $r0) (local.get $j))))
            (local.set $a1 (v128.load (i32.add (local.get $r1) (local.get $j))))
            (local.set $a2 (v128.load (i32.add (local.get $r2) (local.get $j))))
            (local.set $a3 (v128.load (i32.add (local.get $r3) (local.get $j))))
            (local.set $t (v128.load (i32.add (local.get $y) (local.get $j))))
            (local.set $t (f64x2.add (f64x2.add (local.get $t) (f64x2.add (f64x2.mul (local.get $a0) (local.get $c0)) (f64x2.mul (local.get $a1) (local.get $c1)))) (f64x2.add (f64x2.mul (local.get $a2) (local.get $c2)) (f64x2.mul (local.get $a3) (local.get $c3)))))
            (v128.store (i32.add (local.get $y) (local.get $j)) (local.get $t))
            (local.set $t (v128.load (i32.add (local.get $y2) (local.get $j))))
            (local.set $t (f64x2.add (f64x2.add (local.get $t) (f64x2.add (f64x2.mul (local.get $a0) (local.get $d0)) (f64x2.mul (local.get $a1) (local.get $d1)))) (f64x2.add (f64x2.mul (local.get $a2) (local.get $d2)) (f64x2.mul (local.get $a3) (local.get $d3)))))
            (v128.store (i32.add (local.get $y2) (local.get $j)) (local.get $t))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $pairs)))
        ;; odd n: the last column
        (if (i32.lt_u (local.get $j) (local.get $endBytes))
          (then
            (local.set $s (f64.load (i32.add (local.get $y) (local.get $j))))
            (local.set $s (f64.add (f64.add (local.get $s) (f64.add (f64.mul (f64.load (i32.add (local.get $r0) (local.get $j))) (f64x2.extract_lane 0 (local.get $c0))) (f64.mul (f64.load (i32.add (local.get $r1) (local.get $j))) (f64x2.extract_lane 0 (local.get $c1))))) (f64.add (f64.mul (f64.load (i32.add (local.get $r2) (local.get $j))) (f64x2.extract_lane 0 (local.get $c2))) (f64.mul (f64.load (i32.add (local.get $r3) (local.get $j))) (f64x2.extract_lane 0 (local.get $c3))))))
            (f64.store (i32.add (local.get $y) (local.get $j)) (local.get $s))
            (local.set $s (f64.load (i32.add (local.get $y2) (local.get $j))))
            (local.set $s (f64.add (f64.add (local.get $s) (f64.add (f64.mul (f64.load (i32.add (local.get $r0) (local.get $j))) (f64x2.extract_lane 0 (local.get $d0))) (f64.mul (f64.load (i32.add (local.get $r1) (local.get $j))) (f64x2.extract_lane 0 (local.get $d1))))) (f64.add (f64.mul (f64.load (i32.add (local.get $r2) (local.get $j))) (f64x2.extract_lane 0 (local.get $d2))) (f64.mul (f64.load (i32.add (local.get $r3) (local.get $j))) (f64x2.extract_lane 0 (local.get $d3))))))
            (f64.store (i32.add (local.get $y2) (local.get $j)) (local.get $s))
))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows)))
    (if (i32.lt_s (local.get $i) (local.get $m))
      (then
        (local.set $r0 (i32.add (local.get $A) (i32.mul (local.get $i) (local.get $rowBytes))))
        (call $gemvT (local.get $r0) (local.get $lda) (i32.add (local.get $v) (i32.shl (local.get $i) (i32.const 3))) (local.get $y) (i32.sub (local.get $m) (local.get $i)) (local.get $n))
        (call $gemvT (local.get $r0) (local.get $lda) (i32.add (local.get $v2) (i32.shl (local.get $i) (i32.const 3))) (local.get $y2) (i32.sub (local.get $m) (local.get $i)) (local.get $n))))))
