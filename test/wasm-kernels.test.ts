// The WebAssembly SIMD kernels: the embedded bytes are the assembled kernels.wat, each kernel
// agrees with a plain loop at awkward shapes and strides and writes nothing outside its
// output, the matcher takes exactly the nests the kernels compute, and a module on the kernel
// path agrees with the JavaScript path through every entry point, memory growth included.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleBuilds, binaryModuleText, KERNELS_WAT, PAIRED_WAT } from '../compiler/codegen/wasm/assemble.js';
import { fuseMultiplyAdds } from '../compiler/codegen/wasm/fuse-wat.js';
import { KERNELS_BASE64, KERNELS_RELAXED_BASE64, PAIRED_BASE64, PAIRED_RELAXED_BASE64, PAIRED_RELAXED_SHARED_BASE64, PAIRED_SHARED_BASE64, KERNELS_SHARED_BASE64, KERNELS_RELAXED_SHARED_BASE64 } from '../compiler/codegen/wasm/kernels-binary.js';
import { dim, num, type KernelCall, type Segment, type Stmt } from '../compiler/lower/loop-ir.js';
import { printSegments } from '../compiler/lower/print.js';
import { MIN_KERNEL_WIDTH, selectKernels } from '../compiler/optimise/select-kernels.js';
import { buildPlan, type SegmentPass } from '../compiler/plan.js';
import { buildModel } from '../compiler/model.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { relativeMax } from './helpers/ir.js';
import { GEMV_GEMVT_PARTS } from '../compiler/codegen/wasm/runtime-wasm-typed.js';
import { compile, defineMap, type MapSpec } from '../src/index.js';
import { ROOT } from './helpers/cli.js';

interface Kernels {
  gemv(A: number, lda: number, x: number, y: number, m: number, n: number): void;
  gemvT(A: number, lda: number, v: number, y: number, m: number, n: number): void;
  ger(B: number, ldb: number, u: number, incu: number, w: number, m: number, n: number): void;
  gemm(C: number, ldc: number, A: number, ai: number, al: number, B: number, ldb: number, m: number, n: number, k: number, sym: number): void;
  gemvGemvT(A: number, lda: number, x: number, u: number, c: number, v: number, y: number, s: number, m: number, n: number, part: number): void;
  /** The paired kernel's (kernels-paired.wat), which imports the others. */
  gemvGemvT2(A: number, lda: number, x: number, u: number, c: number, v: number, y: number, s: number, x2: number, u2: number, c2: number, v2: number, y2: number, s2: number, m: number, n: number, part: number): void;
  gemv2(A: number, lda: number, x: number, x2: number, y: number, y2: number, m: number, n: number): void;
}

function instantiate(pages = 4): { k: Kernels; heap: Float64Array } {
  const memory = new WebAssembly.Memory({ initial: pages });
  const module = new WebAssembly.Module(Buffer.from(KERNELS_BASE64, 'base64'));
  const base = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const paired = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(PAIRED_BASE64, 'base64')), { env: { memory }, kernels: base }).exports;
  return { k: { ...base, ...paired } as unknown as Kernels, heap: new Float64Array(memory.buffer) };
}

/** Deterministic values in [-1, 1). */
const fill = (a: Float64Array, seed: number) => a.forEach((_, i) => (a[i] = ((Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453) % 1) * 1.0));

const SHAPES = [1, 2, 3, 4, 5, 7, 8, 9, 13, 17].flatMap((m) => [1, 2, 3, 5, 7, 8, 9, 16, 33].map((n) => [m, n] as const));
const GUARD = 12345.5;

describe('the embedded kernel bytes', () => {
  it('are kernels.wat and kernels-paired.wat assembled (npm run kernels refreshes them), plain and with fused multiply-adds', async () => {
    const text = binaryModuleText(await assembleBuilds(KERNELS_WAT), await assembleBuilds(PAIRED_WAT));
    expect(readFileSync(join(ROOT, 'compiler/codegen/wasm/kernels-binary.ts'), 'utf8')).toBe(text);
  });

  it('each build stays under 4 kB (synchronous compilation on a browser main thread) and keeps the function names', () => {
    for (const base64 of [KERNELS_BASE64, KERNELS_SHARED_BASE64, KERNELS_RELAXED_BASE64, KERNELS_RELAXED_SHARED_BASE64]) {
      const bytes = Buffer.from(base64, 'base64');
      expect(bytes.length).toBeLessThan(4097);
      for (const name of ['gemv', 'gemvT', 'ger', 'gemm', 'dot', 'panel']) expect(bytes.includes(Buffer.from(name))).toBe(true);
    }
    for (const base64 of [PAIRED_BASE64, PAIRED_SHARED_BASE64, PAIRED_RELAXED_BASE64, PAIRED_RELAXED_SHARED_BASE64]) {
      const bytes = Buffer.from(base64, 'base64');
      expect(bytes.length).toBeLessThan(4097);
      for (const name of ['gemvGemvT2', 'gemv2', 'gemvT2', 'rowSums']) expect(bytes.includes(Buffer.from(name))).toBe(true);
    }
  });

  it('the relaxed build fuses every multiply-add of kernels.wat, the scalar tails included (a·b + c·d keeps one multiply)', () => {
    const wat = readFileSync(join(ROOT, KERNELS_WAT), 'utf8');
    const fused = fuseMultiplyAdds(wat);
    const count = (text: string, re: RegExp) => text.replace(/;;[^\n]*/g, '').match(re)?.length ?? 0;
    const products = count(wat, /\((f64x2|f64)\.mul /g);
    // the first of two products added, (f64x2.add (f64x2.mul a b) (f64x2.mul c d)), is the accumulator of the fused one
    const pairs = count(wat, /\((f64x2|f64)\.add \((f64x2|f64)\.mul /g);
    expect(products).toBeGreaterThan(40);
    expect(count(fused, /\((f64x2|f64)\.mul /g)).toBe(pairs);
    expect(count(fused, /f64x2\.relaxed_madd/g)).toBe(products - pairs);
  });
});

describe('kernels against plain loops', () => {
  const { k, heap } = instantiate();
  // A at entry 8 (byte 64), with a row stride of n + 3; vectors after it; guards everywhere else.
  const at = { A: 8, x: 4000, y: 5000, u: 6000 };
  const setup = (m: number, n: number, lda: number) => {
    heap.fill(GUARD);
    for (let i = 0; i < m; i++) fill(heap.subarray(at.A + i * lda, at.A + i * lda + n), i + 1);
    fill(heap.subarray(at.x, at.x + Math.max(m, n)), 99);
    fill(heap.subarray(at.y, at.y + Math.max(m, n)), 7);
    fill(heap.subarray(at.u, at.u + 3 * m), 5);
  };
  const untouchedExcept = (from: number, to: number, before: Float64Array) => {
    for (let i = 0; i < heap.length; i += 1) if ((i < from || i >= to) && heap[i] !== before[i]) return i;
    return -1;
  };

  it.each(SHAPES)('gemv %i×%i', (m, n) => {
    const lda = n + 3;
    setup(m, n, lda);
    const before = heap.slice();
    k.gemv(at.A * 8, lda, at.x * 8, at.y * 8, m, n);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += before[at.A + i * lda + j]! * before[at.x + j]!;
      expect(heap[at.y + i]).toBeCloseTo(s, 13);
    }
    expect(untouchedExcept(at.y, at.y + m, before)).toBe(-1);
  });

  it.each([...SHAPES, [19, 1024], [13, 1031]] as [number, number][])('gemv2 %i×%i: the same bits as gemv of each vector, and nothing else written', (m, n) => {
    const lda = n + 3;
    const A = 8, X = A + m * lda + 1, X2 = X + n + 1, Y = X2 + n + 1, Y2 = Y + m + 1;
    heap.fill(GUARD);
    for (let i = 0; i < m; i++) fill(heap.subarray(A + i * lda, A + i * lda + n), i + 1);
    fill(heap.subarray(X, X + n), 99);
    fill(heap.subarray(X2, X2 + n), 98);
    const before = heap.slice();
    k.gemv(A * 8, lda, X * 8, Y * 8, m, n);
    k.gemv(A * 8, lda, X2 * 8, Y2 * 8, m, n);
    const two = heap.slice();
    heap.set(before);
    k.gemv2(A * 8, lda, X * 8, X2 * 8, Y * 8, Y2 * 8, m, n);
    expect(Buffer.from(heap.buffer).equals(Buffer.from(two.buffer))).toBe(true);
  });

  // rows of n ≥ 1024 go eight at a time (then four, then one): every row takes the same steps
  it.each([[19, 1024], [13, 1025], [8, 1031], [7, 1100]])('gemv %i×%i, long rows: the plain loop, and each row alone bit for bit', (m, n) => {
    const lda = n + 1;
    const [A, x, y, y1] = [8, 8 + m * lda, 8 + m * lda + n + 1, 8 + m * lda + n + 1 + m + 1];
    heap.fill(GUARD);
    for (let i = 0; i < m; i++) fill(heap.subarray(A + i * lda, A + i * lda + n), i + 1);
    fill(heap.subarray(x, x + n), 99);
    const before = heap.slice();
    k.gemv(A * 8, lda, x * 8, y * 8, m, n);
    for (let i = 0; i < m; i++) k.gemv((A + i * lda) * 8, lda, x * 8, (y1 + i) * 8, 1, n);
    for (let i = 0; i < m; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += before[A + i * lda + j]! * before[x + j]!;
      expect(Math.abs(heap[y + i]! - s)).toBeLessThan(1e-13 * n * Math.max(1, Math.abs(s)));
      expect(Object.is(heap[y + i], heap[y1 + i]), `row ${i}`).toBe(true);
    }
    expect(untouchedExcept(y, y1 + m, before)).toBe(-1);
    expect(heap[y + m]).toBe(GUARD);
  });

  it.each(SHAPES)('gemvT %i×%i', (m, n) => {
    const lda = n + 1;
    setup(m, n, lda);
    const before = heap.slice();
    k.gemvT(at.A * 8, lda, at.x * 8, at.y * 8, m, n);
    for (let j = 0; j < n; j++) {
      let s = before[at.y + j]!;
      for (let i = 0; i < m; i++) s += before[at.A + i * lda + j]! * before[at.x + i]!;
      expect(heap[at.y + j]).toBeCloseTo(s, 13);
    }
    expect(untouchedExcept(at.y, at.y + n, before)).toBe(-1);
  });

  it.each(SHAPES)('ger %i×%i with a stride of 3 along u', (m, n) => {
    const ldb = n + 2;
    setup(m, n, ldb);
    const before = heap.slice();
    k.ger(at.A * 8, ldb, at.u * 8, 3, at.x * 8, m, n);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) expect(heap[at.A + i * ldb + j]).toBe(before[at.A + i * ldb + j]! + before[at.u + 3 * i]! * before[at.x + j]!);
      // the padding between rows is not part of B
      for (let j = n; j < ldb && i < m - 1; j++) expect(heap[at.A + i * ldb + j]).toBe(before[at.A + i * ldb + j]);
    }
    expect(untouchedExcept(at.A, at.A + m * ldb, before)).toBe(-1);
  });
  it.each([[4, 4, 1], [8, 8, 8], [5, 9, 3], [9, 6, 13], [3, 3, 2], [12, 17, 1]])('gemm %i×%i, k = %i, left operand read transposed', (m, n, kk) => {
    // C (m×n, row stride n + 1) += Lᵀ R with L stored k×m (so ai = 1, al = m) and R k×n (ldb = n)
    const C = at.y;
    const L = at.A;
    const R = at.u;
    heap.fill(GUARD);
    fill(heap.subarray(L, L + kk * m), 3);
    fill(heap.subarray(R, R + kk * n), 4);
    for (let i = 0; i < m; i++) fill(heap.subarray(C + i * (n + 1), C + i * (n + 1) + n), 10 + i);
    const before = heap.slice();
    k.gemm(C * 8, n + 1, L * 8, 1, m, R * 8, n, m, n, kk, 0);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let l = 0; l < kk; l++) s += before[L + l * m + i]! * before[R + l * n + j]!;
        expect(heap[C + i * (n + 1) + j]).toBeCloseTo(before[C + i * (n + 1) + j]! + s, 13);
      }
      if (i < m - 1) expect(heap[C + i * (n + 1) + n]).toBe(before[C + i * (n + 1) + n]);
    }
    expect(untouchedExcept(C, C + m * (n + 1), before)).toBe(-1);
  });

  it.each([[4, 3], [8, 64], [12, 65], [16, 130], [6, 70], [10, 5]])('symmetric gemm C += XᵀX, %i×%i X read transposed (odd sizes fall back to the full product)', (m, kk) => {
    // X is kk×m at `at.A` (row stride m); C (m×m, row stride m + 2) starts symmetric-free: any values
    const C = at.y;
    const X = at.A;
    heap.fill(GUARD);
    fill(heap.subarray(X, X + kk * m), 8);
    for (let i = 0; i < m; i++) fill(heap.subarray(C + i * (m + 2), C + i * (m + 2) + m), 20 + i);
    const before = heap.slice();
    k.gemm(C * 8, m + 2, X * 8, 1, m, X * 8, m, m, m, kk, 1);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let l = 0; l < kk; l++) s += before[X + l * m + i]! * before[X + l * m + j]!;
        expect(heap[C + i * (m + 2) + j]).toBeCloseTo(before[C + i * (m + 2) + j]! + s, 12);
      }
    }
    expect(untouchedExcept(C, C + m * (m + 2), before)).toBe(-1);
  });
});

describe('gemvGemvT: gemv, the middle and gemvT fused, in eight fixed parts and their sum', () => {
  const { k, heap } = instantiate(40);
  /** Lays out A (m × n, row stride n + 1), x, c, u, v, y, the scratch (a row of n per part) with guards between; runs `parts` in that order, then the sum (part GEMV_GEMVT_PARTS). */
  const run = (m: number, n: number, withC: boolean, parts: readonly number[]) => {
    const lda = n + 1;
    const A = 8, x = A + m * lda + 1, c = x + n + 1, u = c + m + 1, v = u + m + 1, y = v + m + 1, s = y + n + 1, end = s + GEMV_GEMVT_PARTS * n;
    heap.fill(GUARD);
    for (let i = 0; i < m; i++) fill(heap.subarray(A + i * lda, A + i * lda + n), i + 1);
    fill(heap.subarray(x, x + n), 99);
    fill(heap.subarray(c, c + m), 3);
    fill(heap.subarray(y, y + n), 7);
    const before = heap.slice();
    // without c, v is u (the adjoint's AᵀA x̄)
    const [cAt, vAt] = withC ? [c * 8, v * 8] : [-1, u * 8];
    for (const part of [...parts, GEMV_GEMVT_PARTS]) k.gemvGemvT(A * 8, lda, x * 8, u * 8, cAt, vAt, y * 8, s * 8, m, n, part);
    return { lda, A, x, c, u, v: withC ? v : u, y, s, end, before, out: heap.slice() };
  };
  const inOrder = Array.from({ length: GEMV_GEMVT_PARTS }, (_, p) => p);

  it.each([[1, 1], [7, 5], [9, 8], [63, 33], [64, 17], [130, 31], [200, 1031], [517, 9]])('%i×%i: u = A x, v = u − c and y += Aᵀv as plain loops compute them, nothing else written', (m, n) => {
    for (const withC of [true, false]) {
      const r = run(m, n, withC, inOrder);
      let scale = 0;
      for (let i = 0; i < m; i++) {
        let sum = 0;
        for (let j = 0; j < n; j++) sum += r.before[r.A + i * r.lda + j]! * r.before[r.x + j]!;
        expect(Math.abs(r.out[r.u + i]! - sum)).toBeLessThan(1e-13 * n);
        const vi = withC ? sum - r.before[r.c + i]! : sum;
        expect(Math.abs(r.out[r.v + i]! - vi)).toBeLessThan(1e-13 * n);
        scale = Math.max(scale, Math.abs(vi));
      }
      for (let j = 0; j < n; j++) {
        let sum = r.before[r.y + j]!;
        for (let i = 0; i < m; i++) sum += r.before[r.A + i * r.lda + j]! * r.out[r.v + i]!;
        expect(Math.abs(r.out[r.y + j]! - sum)).toBeLessThan(1e-13 * m * Math.max(1, scale));
      }
      // A, x and c as they were; outside the buffers, the guards
      for (let i = 0; i < r.u; i++) expect(r.out[i]).toBe(r.before[i]);
      for (let i = r.end; i < r.end + 64; i++) expect(r.out[i]).toBe(GUARD);
    }
  });

  it.each([[1, 1], [7, 5], [9, 8], [63, 33], [130, 31], [200, 1031], [517, 9], [19, 2050]])('%i×%i: gemvGemvT2 (two vectors in one pass over A) writes the same bits as two gemvGemvT calls, parts in any order, and nothing else', (m, n) => {
    for (const [withC, withC2] of [[true, false], [false, true], [true, true]]) {
      const lda = n + 1;
      const A = 8, vecs = A + m * lda + 1;
      // x, c, u, v, y, s of each call, one after another with guards between
      const sizes = [n, m, m, m, n, GEMV_GEMVT_PARTS * n];
      const block = sizes.reduce((a, b) => a + b + 1, 0);
      const at = (call: number, which: number) => vecs + call * block + sizes.slice(0, which).reduce((a, b) => a + b + 1, 0);
      const args = (call: number, hasC: boolean) => [at(call, 0) * 8, at(call, 2) * 8, hasC ? at(call, 1) * 8 : -1, (hasC ? at(call, 3) : at(call, 2)) * 8, at(call, 4) * 8, at(call, 5) * 8];
      const setup = () => {
        heap.fill(GUARD);
        for (let i = 0; i < m; i++) fill(heap.subarray(A + i * lda, A + i * lda + n), i + 1);
        for (const call of [0, 1]) {
          fill(heap.subarray(at(call, 0), at(call, 0) + n), 99 + call);
          fill(heap.subarray(at(call, 1), at(call, 1) + m), 3 + call);
          fill(heap.subarray(at(call, 4), at(call, 4) + n), 7 + call);
        }
      };
      setup();
      const [a, b] = [args(0, withC), args(1, withC2)];
      for (const call of [a, b]) {
        for (let part = 0; part <= GEMV_GEMVT_PARTS; part++) k.gemvGemvT(A * 8, lda, call[0]!, call[1]!, call[2]!, call[3]!, call[4]!, call[5]!, m, n, part);
      }
      const two = heap.slice();
      setup();
      const order = [5, 2, 7, 0, 3, 6, 1, 4].map((p) => p % GEMV_GEMVT_PARTS);
      for (const part of [...order, GEMV_GEMVT_PARTS]) k.gemvGemvT2(A * 8, lda, ...(a as [number, number, number, number, number, number]), ...(b as [number, number, number, number, number, number]), m, n, part);
      expect(Buffer.from(heap.buffer).equals(Buffer.from(two.buffer))).toBe(true);
    }
  });

  it('the parts in any order (as worker threads finish them) give the same bits', () => {
    for (const [m, n] of [[200, 1031], [517, 9], [1000, 40]] as const) {
      const first = run(m, n, true, inOrder).out;
      const reversed = run(m, n, true, [...inOrder].reverse()).out;
      const shuffled = run(m, n, true, inOrder.map((p) => (p * 3 + 5) % GEMV_GEMVT_PARTS)).out;
      expect(Buffer.from(reversed.buffer).equals(Buffer.from(first.buffer))).toBe(true);
      expect(Buffer.from(shuffled.buffer).equals(Buffer.from(first.buffer))).toBe(true);
    }
  });
});

describe('products as kernel statements', () => {
  const kernelsOf = (seg: Segment | undefined): KernelCall[] => {
    const out: KernelCall[] = [];
    const visit = (body: readonly Stmt[]) => body.forEach((st) => (st.kind === 'kernel' ? out.push(st.call) : st.kind === 'for' && visit(st.body)));
    if (seg) visit(seg.body);
    return out;
  };
  const lowered = (spec: MapSpec, dims: Record<string, number> | null, kernels = true, K = 6) => {
    const dimValue = (name: string) => dims?.[name] ?? null;
    const passes: SegmentPass[] = [{ name: 'select-kernels', run: (seg) => selectKernels(seg, { kernels, dimValue }) }];
    return buildPlan(buildModel(inMemorySource(spec)), { mode: 'both', K, truncate: 0, dims, kernels, segmentPasses: passes });
  };
  const layer: MapSpec = { name: 'layer', state: { x: 'n' }, params: { theta: 'p', W: 'n,n' }, data: { U: 'n,p', c: 'n' }, update: { x: 'tanh(W * x + U * theta + c)' } };
  const ridge: MapSpec = { name: 'ridge', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' }, constants: { alpha: 0.1 }, update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" } };

  it('the lowering writes W x as gemv, Wᵀx̄ as gemvT and W̄ += x̄ xᵀ as ger, with the strides of the buffers', () => {
    const plan = lowered(layer, null);
    const step = kernelsOf(plan.segments.step);
    expect(step.map((c) => c.kernel)).toEqual(['gemv']);
    // U θ does not change during the iterations: it is hoisted, and a gemv too
    expect(kernelsOf(plan.segments.invariants).map((c) => c.kernel === 'gemv' && c.A.buffer)).toEqual(['U']);
    const gemv = step[0]!;
    expect(gemv.kernel === 'gemv' && [gemv.A.buffer, gemv.x.buffer, gemv.lda, gemv.m, gemv.n]).toEqual(['W', 'x', dim('n'), dim('n'), dim('n')]);
    const adjoint = kernelsOf(plan.segments.adjoint).map((c) => c.kernel).sort();
    expect(adjoint).toEqual(['gemvT', 'gemvT', 'ger']);
    const ger = kernelsOf(plan.segments.adjoint).find((c) => c.kernel === 'ger')!;
    expect(ger.kernel === 'ger' && [ger.B.buffer, ger.w.buffer, ger.incu]).toEqual(['W_bar', 'x', num(1)]);
  });

  it('a hoisted AᵀA is one symmetric gemm, read in place from A (no transposed copy)', () => {
    const plan = lowered(ridge, { m: 500, n: 500 }, true, 200);
    const [gram] = kernelsOf(plan.segments.invariants).filter((c) => c.kernel === 'gemm');
    expect(gram?.kernel === 'gemm' && [gram.symmetric, gram.A.buffer, gram.B.buffer, gram.ai, gram.al]).toEqual([true, 'A', 'A', num(1), dim('n')]);
  });

  it('without kernels, and for baked widths below the threshold, the products are their loops', () => {
    for (const plan of [lowered(layer, null, false), lowered(layer, { n: MIN_KERNEL_WIDTH - 1, p: 3 })]) {
      for (const seg of Object.values(plan.segments)) expect(kernelsOf(seg)).toEqual([]);
    }
    expect(kernelsOf(lowered(layer, { n: MIN_KERNEL_WIDTH, p: 3 }).segments.step).map((c) => c.kernel)).toEqual(['gemv']);
  });

  it('a product accumulated into its output stays loops where the kernel would overwrite it (θ̄ += U x̄ is no gemv)', () => {
    const spec: MapSpec = { name: 'acc', state: { x: 'n' }, params: { theta: 'n' }, data: { U: 'n,n' }, update: { x: 'tanh(U * x) + theta' } };
    const plan = lowered(spec, null);
    for (const call of kernelsOf(plan.segments.adjoint)) expect(call.kernel).not.toBe('gemv');
  });

  it('--dump lower shows the kernel statements that are emitted', () => {
    const text = printSegments([lowered(ridge, { m: 500, n: 500 }, true, 200).segments.invariants]);
    expect(text).toMatch(/gemm h\d* \+= A A .*symmetric/);
  });
});

describe('a module on the kernel path', () => {
  // A tanh layer big enough for every nest to be a kernel, with dims baked.
  const spec = defineMap({
    name: 'layer',
    state: { x: 'n' },
    params: { theta: 'p', W: 'n,n' },
    data: { U: 'n,p', c: 'n' },
    update: { x: 'tanh(W * x + U * theta + c)' },
  });
  const n = 37;
  const p = 11;
  const vec = (len: number, seed: number, scale = 1) => {
    const a = new Float64Array(len);
    fill(a, seed);
    return a.map((v) => v * scale);
  };
  const inputs = { theta: vec(p, 1), W: vec(n * n, 2, 0.8 / n), U: vec(n * p, 3), c: vec(n, 4) };

  it('calls gemv, gemvT and a deferred gemm, and agrees with the JavaScript path everywhere', async () => {
    const options = { mode: 'both' as const, K: 12, truncate: 3, dims: { n, p } };
    const wasm = await compile(spec, options);
    const js = await compile(spec, { ...options, kernels: 'js' });
    const code = wasm.files[0]!.contents;
    for (const kernel of ['gemv', 'gemvT']) expect(code).toContain(`kernels.${kernel}(`);
    // W̄ += δ xᵀ waits for a block of backward steps, then runs as one gemm over the taped x's
    // (a block's gemm may run on a worker thread while the sweep goes on; the sweep's last is waited for)
    expect(code).toContain('applyDeferred(count, k, observe !== undefined || k === T ? 1 : 0)');
    expect(code).toContain('kernels.deferredGemm(');
    // the tangent step's W ẋ runs as one product over all directions of a forward sweep
    expect(code).toContain('tangentProducts(count);');
    expect(js.files[0]!.contents).not.toContain('kernels.');
    const a = wasm.create();
    const b = js.create();
    // Alternate the entry points so the per-direction buffers are laid out again (and the memory grows) between calls.
    for (let round = 0; round < 2; round++) {
      expect(relativeMax(a.iterate(inputs).state.x!, b.iterate(inputs).state.x!)).toBeLessThan(1e-13);
      const Jr = [a.jacobianReverse!(inputs).jacobian.x!, b.jacobianReverse!(inputs).jacobian.x!];
      expect(relativeMax(Jr[0]!.W!.data, Jr[1]!.W!.data)).toBeLessThan(1e-12);
      const cot = { x: vec(n, 9) };
      const v = [a.vjp!(inputs, cot).gradient, b.vjp!(inputs, cot).gradient];
      expect(relativeMax(v[0]!.W!, v[1]!.W!)).toBeLessThan(1e-12);
      expect(relativeMax(v[0]!.theta!, v[1]!.theta!)).toBeLessThan(1e-12);
      const Jf = [a.jacobianForward!(inputs).jacobian.x!, b.jacobianForward!(inputs).jacobian.x!];
      expect(relativeMax(Jf[0]!.theta!.data, Jf[1]!.theta!.data)).toBeLessThan(1e-12);
      const dir = { theta: vec(p, 5), W: vec(n * n, 6) };
      expect(relativeMax(a.jvp!(inputs, dir).tangent.x!, b.jvp!(inputs, dir).tangent.x!)).toBeLessThan(1e-12);
      expect(relativeMax(a.partialX(inputs, { x: vec(n, 8) }).data, b.partialX(inputs, { x: vec(n, 8) }).data)).toBeLessThan(1e-13);
    }
    // another W: the batched products read it transposed, made again for every sweep
    const other = { ...inputs, W: vec(n * n, 7, 0.8 / n) };
    expect(relativeMax(a.jacobianForward!(other).jacobian.x!.W!.data, b.jacobianForward!(other).jacobian.x!.W!.data)).toBeLessThan(1e-12);
  });

  it('defers W̄ += δxᵀ over blocks of steps: the same gradients, per step when observed, and at a point (reverse-mode partials)', async () => {
    // K − t = 37 steps: two full blocks of 16 and a partial one
    const options = { mode: 'reverse' as const, K: 40, truncate: 3, dims: { n, p } };
    const wasm = await compile(spec, options);
    const js = await compile(spec, { ...options, kernels: 'js' });
    expect(wasm.files[0]!.contents).toContain('kernels.ger(');
    const [a, b] = [wasm.create(), js.create()];
    const cot = { x: vec(n, 11) };
    expect(relativeMax(a.vjp!(inputs, cot).gradient.W!, b.vjp!(inputs, cot).gradient.W!)).toBeLessThan(1e-12);
    const seen = (inst: typeof a) => {
      const steps: number[][] = [];
      inst.vjp!(inputs, cot, undefined, (o) => o.phase === 'backward' && steps.push(Array.from((o.gradient as Record<string, Float64Array>).W!.slice(0, 50))));
      return steps;
    };
    const [sa, sb] = [seen(a), seen(b)];
    expect(sa.length).toBe(37);
    sa.forEach((row, k) => expect(relativeMax(row, sb[k]!)).toBeLessThan(1e-12));
    const point = { x: vec(n, 12) };
    expect(relativeMax(a.partialTheta(inputs, point).data, b.partialTheta(inputs, point).data)).toBeLessThan(1e-12);
  });

  it('computes a hoisted AᵀA with the symmetric gemm and agrees with the JavaScript path', async () => {
    const ridge = defineMap({
      name: 'ridge',
      state: { x: 'n' },
      params: { theta: 'n' },
      data: { A: 'm,n', b: 'm' },
      update: { x: 'x - 0.01 * (transpose(A) * (A * x - b) + theta .* x)' },
    });
    for (const [m, nn] of [[21, 18], [70, 20]] as const) {
      const options = { mode: 'both' as const, K: 60, dims: { m, n: nn } };
      const wasm = await compile(ridge, options);
      // AᵀA is hoisted and computed as a symmetric product (the kernel falls back to the full one when n mod 4 ≠ 0)
      expect(wasm.files[0]!.contents).toMatch(/kernels\.gemm\(.*, 1\);/);
      const js = await compile(ridge, { ...options, kernels: 'js' });
      const data = { theta: vec(nn, 1).map(Math.abs), A: vec(m * nn, 2), b: vec(m, 3) };
      const Jf = [wasm.create().jacobianForward!(data).jacobian.x!.theta!, js.create().jacobianForward!(data).jacobian.x!.theta!];
      expect(relativeMax(Jf[0]!.data, Jf[1]!.data)).toBeLessThan(1e-12);
      const Jr = [wasm.create().jacobianReverse!(data).jacobian.x!.theta!, js.create().jacobianReverse!(data).jacobian.x!.theta!];
      expect(relativeMax(Jr[0]!.data, Jr[1]!.data)).toBeLessThan(1e-12);
    }
  });

  it('the cost model counts gemm at its speed: at m = n = 500, K = 200 AᵀA pays with the kernels, not with plain loops', async () => {
    const ridge = defineMap({
      name: 'ridge',
      state: { x: 'n' },
      params: { theta: 'n' },
      data: { A: 'm,n', b: 'm' },
      update: { x: 'x - 0.01 * (transpose(A) * (A * x - b) + theta .* x)' },
    });
    const options = { mode: 'reverse' as const, K: 200, dims: { m: 500, n: 500 } };
    const hoisted = (code: string) => /function invariants\([^)]*\) \{\s*\}/.test(code) === false;
    // 400 applications save 400·n² multiply-adds; AᵀA costs mn², at 0.4 of a matvec's per flop when symmetric
    expect(hoisted((await compile(ridge, options)).files[0]!.contents)).toBe(true);
    expect(hoisted((await compile(ridge, { ...options, kernels: 'js' })).files[0]!.contents)).toBe(false);
    // far fewer applications do not pay even for the kernels
    expect(hoisted((await compile(ridge, { ...options, K: 40 })).files[0]!.contents)).toBe(false);
  });

  it.each(['wasm', 'js'] as const)('holds exactly (K − t)·n·8 bytes of tape (%s kernels): truncation shows as less memory', async (kernels) => {
    const held = async (truncate: number) => (await compile(spec, { mode: 'reverse', K: 12, truncate, dims: { n, p }, kernels })).create().bufferBytes();
    expect((await held(0)) - (await held(4))).toBe(4 * n * 8);
    // the per-direction buffers are laid out by the first call that needs them
    const inst = (await compile(spec, { mode: 'reverse', K: 12, dims: { n, p }, kernels })).create();
    const before = inst.bufferBytes();
    inst.vjp!(inputs, { x: vec(n, 9) });
    expect(inst.bufferBytes()).toBeGreaterThan(before);
  });

  it('in an engine without WebAssembly SIMD, create() fails with a PhicError that says to compile with --kernels js', async () => {
    const compiled = await compile(spec, { mode: 'reverse', K: 5, dims: { n, p } });
    const original = WebAssembly.Module;
    // what V8 without SIMD says of the kernels' bytes
    (WebAssembly as { Module: unknown }).Module = function () {
      throw new WebAssembly.CompileError('Compiling function #0 failed: Wasm SIMD unsupported');
    };
    try {
      expect(() => compiled.create()).toThrow(expect.objectContaining({ name: 'PhicError', category: 'usage', message: expect.stringContaining('--kernels js') }));
    } finally {
      (WebAssembly as { Module: unknown }).Module = original;
    }
    expect(compiled.create().bufferBytes()).toBeGreaterThan(0);
  });

  it('gives byte-identical output for the same spec and options', async () => {
    const options = { mode: 'reverse' as const, K: 5, dims: { n, p } };
    expect((await compile(spec, options)).files[0]!.contents).toBe((await compile(spec, options)).files[0]!.contents);
  });
});
