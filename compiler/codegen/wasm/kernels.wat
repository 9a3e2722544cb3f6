;; phic's WebAssembly SIMD kernels: the loop nests that dominate an unrolled iteration, on
;; float64 pairs (f64x2). Every generated CPU module embeds this module's bytes
;; (kernels-binary.ts, refreshed by `npm run kernels`) and keeps its buffers in the imported
;; memory, so a kernel reads them in place. Pointers are byte offsets; `lda` is a row stride
;; in entries; any m, n and stride work (the SIMD loops are followed by scalar tails).
;;
;;   gemv(A, lda, x, y, m, n)       y[i]  = Σ_j A[i·lda + j] · x[j]         (i < m, j < n)
;;   gemvT(A, lda, v, y, m, n)      y[j] += Σ_i A[i·lda + j] · v[i]
;;   ger(B, ldb, u, incu, w, m, n)  B[i·ldb + j] += u[i·incu] · w[j]
;;   gemvGemvT(A, lda, x, u, c, v, y, s, m, n, part)
;;                                  u = A x, v = u − c (c = −1: none, v is u), y += Aᵀ v, in
;;                                  eight fixed parts of the rows and a ninth that sums them
;;                                  (below; s is 8n scratch)
;;   gemm(C, ldc, A, ai, al, B, ldb, m, n, k, sym)
;;                                  C[i·ldc + j] += Σ_l A[i·ai + l·al] · B[l·ldb + j]   (l < k)
;;                                  (sym = 1: A and B are the same X read as XᵀX; half the work)
;;
;; gemv walks four rows at once (eight where rows are long) so each x pair is loaded once per
;; four rows; gemvT walks eight rows at once so each y pair is loaded and stored once per eight
;; rows. The sums of a row
;; run in two lanes (even and odd j), so they round differently from a sequential loop: the
;; tests compare them with the JavaScript path to 1e-12. gemm keeps a 4×4 block of C in
;; eight registers while it walks l: each B pair and each A entry it loads feeds four or two
;; multiply-adds, which is what makes a matrix product (AᵀA, hoisted) cheaper per flop than
;; the matrix-vector products it replaces. Its A strides are free, so Aᵀ needs no copy.
;; (Larger blocks, 4 rows × 2 pairs in gemv or more than eight accumulators in gemm, take
;; more than x86-64's sixteen SIMD registers once V8 has its own: measured no faster.)
;;
;; Every multiply-add is written (f64x2.add ACC (f64x2.mul A B)), or (f64.add ACC (f64.mul A B))
;; in the scalar tails: fuse-wat.ts turns each into f64x2.relaxed_madd for the relaxed-SIMD
;; build. An output entry takes the same steps in every block and tail that can hold it, so
;; where worker threads cut a call never changes a result, in either build.
(module
  (import "env" "memory" (memory 1))

  ;; Row i's sum runs in one pair accumulator (even and odd j), then y[i] = a[0] + a[1], plus
  ;; the last column when n is odd. Every row takes exactly these steps, in a block of four rows
  ;; or alone, so where the rows are cut (worker threads) does not change any y[i]. (Two
  ;; accumulators per row, eight in all, measured slower under V8: samples/bench/kernels.ts.)
  (func $gemv (export "gemv") (param $A i32) (param $lda i32) (param $x i32) (param $y i32) (param $m i32) (param $n i32)
    (local $i i32) (local $j i32) (local $rowBytes i32) (local $pairBytes i32) (local $endBytes i32) (local $halves i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $r4 i32) (local $r5 i32) (local $r6 i32) (local $r7 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $a4 v128) (local $a5 v128) (local $a6 v128) (local $a7 v128) (local $v v128)
    (local $s0 f64) (local $s1 f64) (local $s2 f64) (local $s3 f64) (local $xj f64)
    (local.set $rowBytes (i32.shl (local.get $lda) (i32.const 3)))
    (local.set $pairBytes (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (local.set $endBytes (i32.shl (local.get $n) (i32.const 3)))
    ;; four rows at a time, or eight where rows are long (n ≥ 1024, 8 KB): eight streams from
    ;; memory in flight instead of four (samples/bench/kernels.ts, against four rows at a time:
    ;; 1.18–1.23× at n = 2000, 1.09–1.16× at 4000; 0.91–0.95× at n = 100 and 500, so shorter
    ;; rows keep four). Either way the sums end four rows at a time in the same code, so a
    ;; row's y takes the same steps in a block of eight, of four, or alone.
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $m)))
        (local.set $r0 (i32.add (local.get $A) (i32.mul (local.get $i) (local.get $rowBytes))))
        (local.set $r1 (i32.add (local.get $r0) (local.get $rowBytes)))
        (local.set $r2 (i32.add (local.get $r1) (local.get $rowBytes)))
        (local.set $r3 (i32.add (local.get $r2) (local.get $rowBytes)))
        (local.set $a0 (v128.const f64x2 0 0))
        (local.set $a1 (v128.const f64x2 0 0))
        (local.set $a2 (v128.const f64x2 0 0))
        (local.set $a3 (v128.const f64x2 0 0))
        (local.set $j (i32.const 0))
        (local.set $halves (i32.and (i32.ge_s (local.get $n) (i32.const 1024)) (i32.le_s (i32.add (local.get $i) (i32.const 8)) (local.get $m))))
        (if (local.get $halves)
          (then
            (local.set $r4 (i32.add (local.get $r3) (local.get $rowBytes)))
            (local.set $r5 (i32.add (local.get $r4) (local.get $rowBytes)))
            (local.set $r6 (i32.add (local.get $r5) (local.get $rowBytes)))
            (local.set $r7 (i32.add (local.get $r6) (local.get $rowBytes)))
            (local.set $a4 (v128.const f64x2 0 0))
            (local.set $a5 (v128.const f64x2 0 0))
            (local.set $a6 (v128.const f64x2 0 0))
            (local.set $a7 (v128.const f64x2 0 0))
            (block $pairs8Done
              (loop $pairs8
                (br_if $pairs8Done (i32.ge_u (local.get $j) (local.get $pairBytes)))
                (local.set $v (v128.load (i32.add (local.get $x) (local.get $j))))
                (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (v128.load (i32.add (local.get $r0) (local.get $j))) (local.get $v))))
                (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (v128.load (i32.add (local.get $r1) (local.get $j))) (local.get $v))))
                (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (v128.load (i32.add (local.get $r2) (local.get $j))) (local.get $v))))
                (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (v128.load (i32.add (local.get $r3) (local.get $j))) (local.get $v))))
                (local.set $a4 (f64x2.add (local.get $a4) (f64x2.mul (v128.load (i32.add (local.get $r4) (local.get $j))) (local.get $v))))
                (local.set $a5 (f64x2.add (local.get $a5) (f64x2.mul (v128.load (i32.add (local.get $r5) (local.get $j))) (local.get $v))))
                (local.set $a6 (f64x2.add (local.get $a6) (f64x2.mul (v128.load (i32.add (local.get $r6) (local.get $j))) (local.get $v))))
                (local.set $a7 (f64x2.add (local.get $a7) (f64x2.mul (v128.load (i32.add (local.get $r7) (local.get $j))) (local.get $v))))
                (local.set $j (i32.add (local.get $j) (i32.const 16)))
                (br $pairs8))))
          (else
            (block $pairsDone
              (loop $pairs
                (br_if $pairsDone (i32.ge_u (local.get $j) (local.get $pairBytes)))
                (local.set $v (v128.load (i32.add (local.get $x) (local.get $j))))
                (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (v128.load (i32.add (local.get $r0) (local.get $j))) (local.get $v))))
                (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (v128.load (i32.add (local.get $r1) (local.get $j))) (local.get $v))))
                (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (v128.load (i32.add (local.get $r2) (local.get $j))) (local.get $v))))
                (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (v128.load (i32.add (local.get $r3) (local.get $j))) (local.get $v))))
                (local.set $j (i32.add (local.get $j) (i32.const 16)))
                (br $pairs)))))
        ;; the end of four rows' sums: y[i + k] = a_k[0] + a_k[1], plus the last column when n is
        ;; odd; after eight rows, again for the second four
        (loop $ends
          (local.set $s0 (f64.add (f64x2.extract_lane 0 (local.get $a0)) (f64x2.extract_lane 1 (local.get $a0))))
          (local.set $s1 (f64.add (f64x2.extract_lane 0 (local.get $a1)) (f64x2.extract_lane 1 (local.get $a1))))
          (local.set $s2 (f64.add (f64x2.extract_lane 0 (local.get $a2)) (f64x2.extract_lane 1 (local.get $a2))))
          (local.set $s3 (f64.add (f64x2.extract_lane 0 (local.get $a3)) (f64x2.extract_lane 1 (local.get $a3))))
          (if (i32.lt_u (local.get $j) (local.get $endBytes))
            (then
              (local.set $xj (f64.load (i32.add (local.get $x) (local.get $j))))
              (local.set $s0 (f64.add (local.get $s0) (f64.mul (f64.load (i32.add (local.get $r0) (local.get $j))) (local.get $xj))))
              (local.set $s1 (f64.add (local.get $s1) (f64.mul (f64.load (i32.add (local.get $r1) (local.get $j))) (local.get $xj))))
              (local.set $s2 (f64.add (local.get $s2) (f64.mul (f64.load (i32.add (local.get $r2) (local.get $j))) (local.get $xj))))
              (local.set $s3 (f64.add (local.get $s3) (f64.mul (f64.load (i32.add (local.get $r3) (local.get $j))) (local.get $xj))))))
          (f64.store (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 3))) (local.get $s0))
          (f64.store offset=8 (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 3))) (local.get $s1))
          (f64.store offset=16 (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 3))) (local.get $s2))
          (f64.store offset=24 (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 3))) (local.get $s3))
          (local.set $i (i32.add (local.get $i) (i32.const 4)))
          (local.set $a0 (local.get $a4)) (local.set $a1 (local.get $a5)) (local.set $a2 (local.get $a6)) (local.set $a3 (local.get $a7))
          (local.set $r0 (local.get $r4)) (local.set $r1 (local.get $r5)) (local.set $r2 (local.get $r6)) (local.set $r3 (local.get $r7))
          (local.set $halves (i32.sub (local.get $halves) (i32.const 1)))
          (br_if $ends (i32.eqz (local.get $halves))))
        (br $rows)))
    ;; the last m mod 4 rows, one at a time
    (block $restDone
      (loop $rest
        (br_if $restDone (i32.ge_s (local.get $i) (local.get $m)))
        (local.set $r0 (i32.add (local.get $A) (i32.mul (local.get $i) (local.get $rowBytes))))
        (local.set $a0 (v128.const f64x2 0 0))
        (local.set $j (i32.const 0))
        (block $pairsDone1
          (loop $pairs1
            (br_if $pairsDone1 (i32.ge_u (local.get $j) (local.get $pairBytes)))
            (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (v128.load (i32.add (local.get $r0) (local.get $j))) (v128.load (i32.add (local.get $x) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $pairs1)))
        (local.set $s0 (f64.add (f64x2.extract_lane 0 (local.get $a0)) (f64x2.extract_lane 1 (local.get $a0))))
        (if (i32.lt_u (local.get $j) (local.get $endBytes))
          (then
            (local.set $s0 (f64.add (local.get $s0) (f64.mul (f64.load (i32.add (local.get $r0) (local.get $j))) (f64.load (i32.add (local.get $x) (local.get $j))))))))
        (f64.store (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 3))) (local.get $s0))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rest))))

  ;; y[j] += ((A[i, j]·v[i] + A[i+1, j]·v[i+1]) + (A[i+2, j]·v[i+2] + A[i+3, j]·v[i+3])) for
  ;; each group of four rows (two groups per pass in blocks of eight rows, so each y pair is
  ;; loaded and stored once per eight rows), then row by row for the last m mod 4. The grouping
  ;; depends on m only: columns cut anywhere (worker threads) give the same y.
  (func $gemvT (export "gemvT") (param $A i32) (param $lda i32) (param $v i32) (param $y i32) (param $m i32) (param $n i32)
    (local $i i32) (local $j i32) (local $rowBytes i32) (local $pairBytes i32) (local $endBytes i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $r4 i32) (local $r5 i32) (local $r6 i32) (local $r7 i32) (local $p i32)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $c4 v128) (local $c5 v128) (local $c6 v128) (local $c7 v128)
    (local $t v128) (local $s f64)
    (local.set $rowBytes (i32.shl (local.get $lda) (i32.const 3)))
    (local.set $pairBytes (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (local.set $endBytes (i32.shl (local.get $n) (i32.const 3)))
    ;; eight rows at a time: y += A[i..i+7, :]ᵀ v[i..i+7]
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.gt_s (i32.add (local.get $i) (i32.const 8)) (local.get $m)))
        (local.set $r0 (i32.add (local.get $A) (i32.mul (local.get $i) (local.get $rowBytes))))
        (local.set $r1 (i32.add (local.get $r0) (local.get $rowBytes)))
        (local.set $r2 (i32.add (local.get $r1) (local.get $rowBytes)))
        (local.set $r3 (i32.add (local.get $r2) (local.get $rowBytes)))
        (local.set $r4 (i32.add (local.get $r3) (local.get $rowBytes)))
        (local.set $r5 (i32.add (local.get $r4) (local.get $rowBytes)))
        (local.set $r6 (i32.add (local.get $r5) (local.get $rowBytes)))
        (local.set $r7 (i32.add (local.get $r6) (local.get $rowBytes)))
        (local.set $p (i32.add (local.get $v) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $c0 (v128.load64_splat (local.get $p)))
        (local.set $c1 (v128.load64_splat offset=8 (local.get $p)))
        (local.set $c2 (v128.load64_splat offset=16 (local.get $p)))
        (local.set $c3 (v128.load64_splat offset=24 (local.get $p)))
        (local.set $c4 (v128.load64_splat offset=32 (local.get $p)))
        (local.set $c5 (v128.load64_splat offset=40 (local.get $p)))
        (local.set $c6 (v128.load64_splat offset=48 (local.get $p)))
        (local.set $c7 (v128.load64_splat offset=56 (local.get $p)))
        (local.set $j (i32.const 0))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.ge_u (local.get $j) (local.get $pairBytes)))
            (local.set $t (v128.load (i32.add (local.get $y) (local.get $j))))
            (local.set $t (f64x2.add (f64x2.add (local.get $t) (f64x2.add (f64x2.mul (v128.load (i32.add (local.get $r0) (local.get $j))) (local.get $c0)) (f64x2.mul (v128.load (i32.add (local.get $r1) (local.get $j))) (local.get $c1)))) (f64x2.add (f64x2.mul (v128.load (i32.add (local.get $r2) (local.get $j))) (local.get $c2)) (f64x2.mul (v128.load (i32.add (local.get $r3) (local.get $j))) (local.get $c3)))))
            (local.set $t (f64x2.add (f64x2.add (local.get $t) (f64x2.add (f64x2.mul (v128.load (i32.add (local.get $r4) (local.get $j))) (local.get $c4)) (f64x2.mul (v128.load (i32.add (local.get $r5) (local.get $j))) (local.get $c5)))) (f64x2.add (f64x2.mul (v128.load (i32.add (local.get $r6) (local.get $j))) (local.get $c6)) (f64x2.mul (v128.load (i32.add (local.get $r7) (local.get $j))) (local.get $c7)))))
            (v128.store (i32.add (local.get $y) (local.get $j)) (local.get $t))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $pairs)))
        ;; odd n: the last column
        (if (i32.lt_u (local.get $j) (local.get $endBytes))
          (then
            (local.set $s (f64.load (i32.add (local.get $y) (local.get $j))))
            (local.set $s (f64.add (f64.add (local.get $s) (f64.add (f64.mul (f64.load (i32.add (local.get $r0) (local.get $j))) (f64x2.extract_lane 0 (local.get $c0))) (f64.mul (f64.load (i32.add (local.get $r1) (local.get $j))) (f64x2.extract_lane 0 (local.get $c1))))) (f64.add (f64.mul (f64.load (i32.add (local.get $r2) (local.get $j))) (f64x2.extract_lane 0 (local.get $c2))) (f64.mul (f64.load (i32.add (local.get $r3) (local.get $j))) (f64x2.extract_lane 0 (local.get $c3))))))
            (local.set $s (f64.add (f64.add (local.get $s) (f64.add (f64.mul (f64.load (i32.add (local.get $r4) (local.get $j))) (f64x2.extract_lane 0 (local.get $c4))) (f64.mul (f64.load (i32.add (local.get $r5) (local.get $j))) (f64x2.extract_lane 0 (local.get $c5))))) (f64.add (f64.mul (f64.load (i32.add (local.get $r6) (local.get $j))) (f64x2.extract_lane 0 (local.get $c6))) (f64.mul (f64.load (i32.add (local.get $r7) (local.get $j))) (f64x2.extract_lane 0 (local.get $c7))))))
            (f64.store (i32.add (local.get $y) (local.get $j)) (local.get $s))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br $rows)))
    ;; four rows
    (if (i32.le_s (i32.add (local.get $i) (i32.const 4)) (local.get $m))
      (then
        (local.set $r0 (i32.add (local.get $A) (i32.mul (local.get $i) (local.get $rowBytes))))
        (local.set $r1 (i32.add (local.get $r0) (local.get $rowBytes)))
        (local.set $r2 (i32.add (local.get $r1) (local.get $rowBytes)))
        (local.set $r3 (i32.add (local.get $r2) (local.get $rowBytes)))
        (local.set $p (i32.add (local.get $v) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $c0 (v128.load64_splat (local.get $p)))
        (local.set $c1 (v128.load64_splat offset=8 (local.get $p)))
        (local.set $c2 (v128.load64_splat offset=16 (local.get $p)))
        (local.set $c3 (v128.load64_splat offset=24 (local.get $p)))
        (local.set $j (i32.const 0))
        (block $pairsDone4
          (loop $pairs4
            (br_if $pairsDone4 (i32.ge_u (local.get $j) (local.get $pairBytes)))
            (local.set $t (v128.load (i32.add (local.get $y) (local.get $j))))
            (local.set $t (f64x2.add (f64x2.add (local.get $t) (f64x2.add (f64x2.mul (v128.load (i32.add (local.get $r0) (local.get $j))) (local.get $c0)) (f64x2.mul (v128.load (i32.add (local.get $r1) (local.get $j))) (local.get $c1)))) (f64x2.add (f64x2.mul (v128.load (i32.add (local.get $r2) (local.get $j))) (local.get $c2)) (f64x2.mul (v128.load (i32.add (local.get $r3) (local.get $j))) (local.get $c3)))))
            (v128.store (i32.add (local.get $y) (local.get $j)) (local.get $t))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $pairs4)))
        (if (i32.lt_u (local.get $j) (local.get $endBytes))
          (then
            (local.set $s (f64.load (i32.add (local.get $y) (local.get $j))))
            (local.set $s (f64.add (f64.add (local.get $s) (f64.add (f64.mul (f64.load (i32.add (local.get $r0) (local.get $j))) (f64x2.extract_lane 0 (local.get $c0))) (f64.mul (f64.load (i32.add (local.get $r1) (local.get $j))) (f64x2.extract_lane 0 (local.get $c1))))) (f64.add (f64.mul (f64.load (i32.add (local.get $r2) (local.get $j))) (f64x2.extract_lane 0 (local.get $c2))) (f64.mul (f64.load (i32.add (local.get $r3) (local.get $j))) (f64x2.extract_lane 0 (local.get $c3))))))
            (f64.store (i32.add (local.get $y) (local.get $j)) (local.get $s))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))))
    ;; the last m mod 4 rows, one at a time
    (block $restDone
      (loop $rest
        (br_if $restDone (i32.ge_s (local.get $i) (local.get $m)))
        (local.set $r0 (i32.add (local.get $A) (i32.mul (local.get $i) (local.get $rowBytes))))
        (local.set $c0 (v128.load64_splat (i32.add (local.get $v) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $j (i32.const 0))
        (block $pairsDone1
          (loop $pairs1
            (br_if $pairsDone1 (i32.ge_u (local.get $j) (local.get $pairBytes)))
            (v128.store (i32.add (local.get $y) (local.get $j))
              (f64x2.add (v128.load (i32.add (local.get $y) (local.get $j)))
                         (f64x2.mul (v128.load (i32.add (local.get $r0) (local.get $j))) (local.get $c0))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $pairs1)))
        (if (i32.lt_u (local.get $j) (local.get $endBytes))
          (then
            (f64.store (i32.add (local.get $y) (local.get $j))
              (f64.add (f64.load (i32.add (local.get $y) (local.get $j)))
                       (f64.mul (f64.load (i32.add (local.get $r0) (local.get $j))) (f64x2.extract_lane 0 (local.get $c0)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rest))))

  (func (export "ger") (param $B i32) (param $ldb i32) (param $u i32) (param $incu i32) (param $w i32) (param $m i32) (param $n i32)
    (local $i i32) (local $j i32) (local $rowBytes i32) (local $pairBytes i32) (local $endBytes i32)
    (local $r i32) (local $c v128)
    (local.set $rowBytes (i32.shl (local.get $ldb) (i32.const 3)))
    (local.set $pairBytes (i32.shl (i32.and (local.get $n) (i32.const -2)) (i32.const 3)))
    (local.set $endBytes (i32.shl (local.get $n) (i32.const 3)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.ge_s (local.get $i) (local.get $m)))
        (local.set $r (i32.add (local.get $B) (i32.mul (local.get $i) (local.get $rowBytes))))
        (local.set $c (v128.load64_splat (i32.add (local.get $u) (i32.shl (i32.mul (local.get $i) (local.get $incu)) (i32.const 3)))))
        (local.set $j (i32.const 0))
        (block $pairsDone
          (loop $pairs
            (br_if $pairsDone (i32.ge_u (local.get $j) (local.get $pairBytes)))
            (v128.store (i32.add (local.get $r) (local.get $j))
              (f64x2.add (v128.load (i32.add (local.get $r) (local.get $j)))
                         (f64x2.mul (local.get $c) (v128.load (i32.add (local.get $w) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $pairs)))
        (if (i32.lt_u (local.get $j) (local.get $endBytes))
          (then
            (f64.store (i32.add (local.get $r) (local.get $j))
              (f64.add (f64.load (i32.add (local.get $r) (local.get $j)))
                       (f64.mul (f64x2.extract_lane 0 (local.get $c)) (f64.load (i32.add (local.get $w) (local.get $j))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

;; gemv then gemvT on the same A (a least-squares gradient Aᵀ(Ax − c), or AᵀA x̄ in its adjoint),
;; a block of rows at a time: the block gemvT reads is the one gemv has just brought into the
;; cache, so A passes through memory once instead of twice. The rows are cut into eight parts
;; at multiples of 8 whatever the thread count, so the result is too: part p adds into row p of
;; the scratch s (eight rows of n, each zeroed by its part), and part 8 adds the eight rows into
;; y in order. A whole call is parts 0 to 8 in turn (the runtime's wrapper calls them);
;; worker threads run parts 0–7 of a call split over them, then the main thread part 8.
  (func (export "gemvGemvT") (param $A i32) (param $lda i32) (param $x i32) (param $u i32) (param $c i32) (param $v i32) (param $y i32) (param $s i32) (param $m i32) (param $n i32) (param $part i32)
    (local $i i32) (local $end i32) (local $rows i32) (local $block i32) (local $j i32) (local $a i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (if (i32.eq (local.get $part) (i32.const 8))
      (then
        ;; y += s[0], …, s[7], in that order
        (loop $sums
          (local.set $j (i32.const 0))
          (loop $entries
            (f64.store (i32.add (local.get $y) (local.get $j)) (f64.add (f64.load (i32.add (local.get $y) (local.get $j))) (f64.load (i32.add (local.get $s) (local.get $j)))))
            (br_if $entries (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 8))) (local.get $end))))
          (local.set $s (i32.add (local.get $s) (local.get $end)))
          (br_if $sums (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 8))))
        (return)))
    ;; part p adds into row p of s, zeroed
    (memory.fill (local.tee $y (i32.add (local.get $s) (i32.mul (local.get $part) (local.get $end)))) (i32.const 0) (local.get $end))
    ;; its rows [i, end), in blocks of 8·(floor(2048/n) + 1) rows: about 128 KiB of A, at least 8 rows
    (local.set $i (i32.and (i32.div_s (i32.mul (local.get $m) (local.get $part)) (i32.const 8)) (i32.const -8)))
    (local.set $end (select (local.get $m) (i32.and (i32.div_s (i32.mul (local.get $m) (i32.add (local.get $part) (i32.const 1))) (i32.const 8)) (i32.const -8)) (i32.eq (local.get $part) (i32.const 7))))
    (local.set $block (i32.shl (i32.add (i32.div_u (i32.const 2048) (local.get $n)) (i32.const 1)) (i32.const 3)))
    (block $blocksDone
      (loop $blocks
        (br_if $blocksDone (i32.ge_s (local.get $i) (local.get $end)))
        (if (i32.gt_s (local.tee $rows (i32.sub (local.get $end) (local.get $i))) (local.get $block)) (then (local.set $rows (local.get $block))))
        (call $gemv (local.tee $a (i32.add (local.get $A) (i32.mul (local.get $i) (i32.shl (local.get $lda) (i32.const 3))))) (local.get $lda) (local.get $x) (i32.add (local.get $u) (local.tee $j (i32.shl (local.get $i) (i32.const 3)))) (local.get $rows) (local.get $n))
        (if (i32.ge_s (local.get $c) (i32.const 0))
          (then
            (loop $middle
              (f64.store (i32.add (local.get $v) (local.get $j)) (f64.sub (f64.load (i32.add (local.get $u) (local.get $j))) (f64.load (i32.add (local.get $c) (local.get $j)))))
              (br_if $middle (i32.lt_u (local.tee $j (i32.add (local.get $j) (i32.const 8))) (i32.shl (i32.add (local.get $i) (local.get $rows)) (i32.const 3)))))))
        (call $gemvT (local.get $a) (local.get $lda) (i32.add (local.get $v) (i32.shl (local.get $i) (i32.const 3))) (local.get $y) (local.get $rows) (local.get $n))
        (local.set $i (i32.add (local.get $i) (local.get $rows)))
        (br $blocks))))

  ;; Σ_l A[i·ai + l·al] · B[l·ldb + j] for one entry: the edges of gemm's 4×4 blocks.
  (func $dot (param $a i32) (param $al i32) (param $b i32) (param $ldb i32) (param $k i32) (result f64)
    (local $l i32) (local $s f64)
    (block $done
      (loop $terms
        (br_if $done (i32.ge_s (local.get $l) (local.get $k)))
        (local.set $s (f64.add (local.get $s) (f64.mul (f64.load (local.get $a)) (f64.load (local.get $b)))))
        (local.set $a (i32.add (local.get $a) (local.get $al)))
        (local.set $b (i32.add (local.get $b) (local.get $ldb)))
        (local.set $l (i32.add (local.get $l) (i32.const 1)))
        (br $terms)))
    (local.get $s))

;; The product over l < k ≤ 64 (a panel the caller picks): B's rows l stay in cache while
  ;; every block of C walks them. With $sym (C += XᵀX, square, m mod 4 = 0), only the blocks
  ;; on and above the diagonal are computed; each one is also added, transposed, below it.
  (func $panel (param $C i32) (param $ldc i32) (param $A i32) (param $ai i32) (param $al i32) (param $B i32) (param $ldb i32) (param $m i32) (param $n i32) (param $k i32) (param $sym i32)
    (local $i i32) (local $j i32) (local $l i32) (local $r i32)
    (local $pa i32) (local $pb i32) (local $pc i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $b0 v128) (local $b1 v128) (local $a v128) (local $ai2 i32) (local $ai3 i32)
    ;; strides in bytes from here on
    (local.set $ldc (i32.shl (local.get $ldc) (i32.const 3)))
    (local.set $ai (i32.shl (local.get $ai) (i32.const 3)))
    (local.set $al (i32.shl (local.get $al) (i32.const 3)))
    (local.set $ldb (i32.shl (local.get $ldb) (i32.const 3)))
    (local.set $ai2 (i32.shl (local.get $ai) (i32.const 1)))
    (local.set $ai3 (i32.add (local.get $ai2) (local.get $ai)))
    (block $rowsDone
      (loop $rows
        (br_if $rowsDone (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $m)))
        ;; 4×4 blocks of C (symmetric: from the diagonal on)
        (local.set $j (select (local.get $i) (i32.const 0) (local.get $sym)))
        (block $colsDone
          (loop $cols
            (br_if $colsDone (i32.gt_s (i32.add (local.get $j) (i32.const 4)) (local.get $n)))
            (local.set $c00 (v128.const f64x2 0 0)) (local.set $c01 (v128.const f64x2 0 0))
            (local.set $c10 (v128.const f64x2 0 0)) (local.set $c11 (v128.const f64x2 0 0))
            (local.set $c20 (v128.const f64x2 0 0)) (local.set $c21 (v128.const f64x2 0 0))
            (local.set $c30 (v128.const f64x2 0 0)) (local.set $c31 (v128.const f64x2 0 0))
            (local.set $pa (i32.add (local.get $A) (i32.mul (local.get $i) (local.get $ai))))
            (local.set $pb (i32.add (local.get $B) (i32.shl (local.get $j) (i32.const 3))))
            (local.set $l (i32.const 0))
            (block $termsDone
              (loop $terms
                (br_if $termsDone (i32.ge_s (local.get $l) (local.get $k)))
                (local.set $b0 (v128.load (local.get $pb)))
                (local.set $b1 (v128.load offset=16 (local.get $pb)))
                (local.set $a (v128.load64_splat (local.get $pa)))
                (local.set $c00 (f64x2.add (local.get $c00) (f64x2.mul (local.get $a) (local.get $b0))))
                (local.set $c01 (f64x2.add (local.get $c01) (f64x2.mul (local.get $a) (local.get $b1))))
                (local.set $a (v128.load64_splat (i32.add (local.get $pa) (local.get $ai))))
                (local.set $c10 (f64x2.add (local.get $c10) (f64x2.mul (local.get $a) (local.get $b0))))
                (local.set $c11 (f64x2.add (local.get $c11) (f64x2.mul (local.get $a) (local.get $b1))))
                (local.set $a (v128.load64_splat (i32.add (local.get $pa) (local.get $ai2))))
                (local.set $c20 (f64x2.add (local.get $c20) (f64x2.mul (local.get $a) (local.get $b0))))
                (local.set $c21 (f64x2.add (local.get $c21) (f64x2.mul (local.get $a) (local.get $b1))))
                (local.set $a (v128.load64_splat (i32.add (local.get $pa) (local.get $ai3))))
                (local.set $c30 (f64x2.add (local.get $c30) (f64x2.mul (local.get $a) (local.get $b0))))
                (local.set $c31 (f64x2.add (local.get $c31) (f64x2.mul (local.get $a) (local.get $b1))))
                (local.set $pa (i32.add (local.get $pa) (local.get $al)))
                (local.set $pb (i32.add (local.get $pb) (local.get $ldb)))
                (local.set $l (i32.add (local.get $l) (i32.const 1)))
                (br $terms)))
            ;; C[i..i+3, j..j+3] += the block
            (local.set $pc (i32.add (i32.add (local.get $C) (i32.mul (local.get $i) (local.get $ldc))) (i32.shl (local.get $j) (i32.const 3))))
            (v128.store (local.get $pc) (f64x2.add (v128.load (local.get $pc)) (local.get $c00)))
            (v128.store offset=16 (local.get $pc) (f64x2.add (v128.load offset=16 (local.get $pc)) (local.get $c01)))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (v128.store (local.get $pc) (f64x2.add (v128.load (local.get $pc)) (local.get $c10)))
            (v128.store offset=16 (local.get $pc) (f64x2.add (v128.load offset=16 (local.get $pc)) (local.get $c11)))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (v128.store (local.get $pc) (f64x2.add (v128.load (local.get $pc)) (local.get $c20)))
            (v128.store offset=16 (local.get $pc) (f64x2.add (v128.load offset=16 (local.get $pc)) (local.get $c21)))
            (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
            (v128.store (local.get $pc) (f64x2.add (v128.load (local.get $pc)) (local.get $c30)))
            (v128.store offset=16 (local.get $pc) (f64x2.add (v128.load offset=16 (local.get $pc)) (local.get $c31)))
            ;; symmetric, off the diagonal: C[j..j+3, i..i+3] += the block transposed
            (if (i32.and (local.get $sym) (i32.gt_s (local.get $j) (local.get $i)))
              (then
                (local.set $pc (i32.add (i32.add (local.get $C) (i32.mul (local.get $j) (local.get $ldc))) (i32.shl (local.get $i) (i32.const 3))))
                (v128.store (local.get $pc) (f64x2.add (v128.load (local.get $pc)) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $c00) (local.get $c10))))
                (v128.store offset=16 (local.get $pc) (f64x2.add (v128.load offset=16 (local.get $pc)) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $c20) (local.get $c30))))
                (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
                (v128.store (local.get $pc) (f64x2.add (v128.load (local.get $pc)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $c00) (local.get $c10))))
                (v128.store offset=16 (local.get $pc) (f64x2.add (v128.load offset=16 (local.get $pc)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $c20) (local.get $c30))))
                (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
                (v128.store (local.get $pc) (f64x2.add (v128.load (local.get $pc)) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $c01) (local.get $c11))))
                (v128.store offset=16 (local.get $pc) (f64x2.add (v128.load offset=16 (local.get $pc)) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $c21) (local.get $c31))))
                (local.set $pc (i32.add (local.get $pc) (local.get $ldc)))
                (v128.store (local.get $pc) (f64x2.add (v128.load (local.get $pc)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $c01) (local.get $c11))))
                (v128.store offset=16 (local.get $pc) (f64x2.add (v128.load offset=16 (local.get $pc)) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $c21) (local.get $c31))))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $cols)))
        ;; the last n mod 4 columns of these four rows, entry by entry
        (block $edgeDone
          (loop $edge
            (br_if $edgeDone (i32.ge_s (local.get $j) (local.get $n)))
            (local.set $r (i32.const 0))
            (block $edgeRowsDone
              (loop $edgeRows
                (br_if $edgeRowsDone (i32.ge_s (local.get $r) (i32.const 4)))
                (local.set $pc (i32.add (i32.add (local.get $C) (i32.mul (i32.add (local.get $i) (local.get $r)) (local.get $ldc))) (i32.shl (local.get $j) (i32.const 3))))
                (f64.store (local.get $pc) (f64.add (f64.load (local.get $pc))
                  (call $dot (i32.add (local.get $A) (i32.mul (i32.add (local.get $i) (local.get $r)) (local.get $ai))) (local.get $al)
                             (i32.add (local.get $B) (i32.shl (local.get $j) (i32.const 3))) (local.get $ldb) (local.get $k))))
                (local.set $r (i32.add (local.get $r) (i32.const 1)))
                (br $edgeRows)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $edge)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rows)))
    ;; the last m mod 4 rows, entry by entry
    (block $restDone
      (loop $rest
        (br_if $restDone (i32.ge_s (local.get $i) (local.get $m)))
        (local.set $j (i32.const 0))
        (block $restColsDone
          (loop $restCols
            (br_if $restColsDone (i32.ge_s (local.get $j) (local.get $n)))
            (local.set $pc (i32.add (i32.add (local.get $C) (i32.mul (local.get $i) (local.get $ldc))) (i32.shl (local.get $j) (i32.const 3))))
            (f64.store (local.get $pc) (f64.add (f64.load (local.get $pc))
              (call $dot (i32.add (local.get $A) (i32.mul (local.get $i) (local.get $ai))) (local.get $al)
                         (i32.add (local.get $B) (i32.shl (local.get $j) (i32.const 3))) (local.get $ldb) (local.get $k))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $restCols)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rest))))

  ;; C[i·ldc + j] += Σ_l A[i·ai + l·al] · B[l·ldb + j], in panels of 64 values of l. $sym asks
  ;; for the symmetric product C += XᵀX (A and B the same X); it is ignored unless m ≤ n and
  ;; m and n are multiples of 4, where the panels have no edges. m < n is the first m rows of
  ;; such a product, the corner of C on the diagonal: a worker thread's share of the rows, with
  ;; C, A and B moved along the diagonal to its first row (runtime-threads.ts).
  (func (export "gemm") (param $C i32) (param $ldc i32) (param $A i32) (param $ai i32) (param $al i32) (param $B i32) (param $ldb i32) (param $m i32) (param $n i32) (param $k i32) (param $sym i32)
    (local $l i32) (local $sym2 i32)
    (local.set $sym2 (i32.and (local.get $sym) (i32.and (i32.le_s (local.get $m) (local.get $n)) (i32.eqz (i32.and (i32.or (local.get $m) (local.get $n)) (i32.const 3))))))
    (block $done
      (loop $panels
        (br_if $done (i32.ge_s (local.get $l) (local.get $k)))
        (call $panel (local.get $C) (local.get $ldc)
          (i32.add (local.get $A) (i32.shl (i32.mul (local.get $l) (local.get $al)) (i32.const 3))) (local.get $ai) (local.get $al)
          (i32.add (local.get $B) (i32.shl (i32.mul (local.get $l) (local.get $ldb)) (i32.const 3))) (local.get $ldb)
          (local.get $m) (local.get $n)
          (select (i32.const 64) (i32.sub (local.get $k) (local.get $l)) (i32.gt_s (i32.sub (local.get $k) (local.get $l)) (i32.const 64)))
          (local.get $sym2))
        (local.set $l (i32.add (local.get $l) (i32.const 64)))
        (br $panels))))
)
