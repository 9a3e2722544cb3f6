// Recognises the loop nests that the WebAssembly SIMD kernels (kernels.wat) compute: a
// matrix-vector product, a transposed one in axpy form, a rank-1 update, and a loop of rank-1
// updates (a matrix product, as the lowering writes AᵀA). A nest matches
// only in the exact shape the lowering produces and only when every index is affine in the
// two loop variables, with unit stride along the inner one; anything else stays JavaScript.

import type { IndexExpr, ScalarExpr, Stmt } from '../../lower/loop-ir.js';
import { iadd, imul, num, sameIndex } from '../../lower/loop-ir.js';
import { foldIndex } from '../precedence.js';

/** An operand: a buffer and the index of its first entry used. */
export interface Operand {
  readonly buffer: string;
  readonly base: IndexExpr;
}

export type KernelCall =
  /** y[i] = Σ_j A[i·lda + j] x[j] */
  | { readonly kernel: 'gemv'; readonly A: Operand; readonly lda: IndexExpr; readonly x: Operand; readonly y: Operand; readonly m: IndexExpr; readonly n: IndexExpr }
  /** y[j] += Σ_i A[i·lda + j] v[i] */
  | { readonly kernel: 'gemvT'; readonly A: Operand; readonly lda: IndexExpr; readonly v: Operand; readonly y: Operand; readonly m: IndexExpr; readonly n: IndexExpr }
  /** B[i·ldb + j] += u[i·incu] w[j] */
  | { readonly kernel: 'ger'; readonly B: Operand; readonly ldb: IndexExpr; readonly u: Operand; readonly incu: IndexExpr; readonly w: Operand; readonly m: IndexExpr; readonly n: IndexExpr }
  /** C[i·ldc + j] += Σ_l A[i·ai + l·al] B[l·ldb + j]; symmetric when A and B are one X read as XᵀX */
  | { readonly kernel: 'gemm'; readonly C: Operand; readonly ldc: IndexExpr; readonly A: Operand; readonly ai: IndexExpr; readonly al: IndexExpr; readonly B: Operand; readonly ldb: IndexExpr; readonly m: IndexExpr; readonly n: IndexExpr; readonly k: IndexExpr; readonly symmetric: boolean };

/** Inner extents below this stay JavaScript: the call costs more than the loop. */
export const MIN_KERNEL_WIDTH = 8;

type For = Extract<Stmt, { kind: 'for' }>;
type DimValue = (name: string) => number | null;

/** The kernel that computes this loop nest, or null. */
export function matchKernel(s: Stmt, dimValue: DimValue): KernelCall | null {
  if (s.kind !== 'for' || s.body.length === 0) return null;
  if (s.body.length === 1 && s.body[0]!.kind === 'for' && s.body[0]!.body.length <= 2) {
    const update = matchKernel(s.body[0]!, dimValue);
    if (update?.kernel === 'ger') return asProduct(update, s, dimValue);
  }
  // gemv's inner loop is followed by the store of its sum; the others end with theirs
  const inner = s.body.length === 3 && s.body[1]!.kind === 'for' ? s.body[1]! : s.body[s.body.length - 1]!;
  if (inner.kind !== 'for' || inner.index === s.index) return null;
  const n = foldIndex(inner.extent, dimValue);
  if (n.k === 'num' && n.v < MIN_KERNEL_WIDTH) return null;
  const call = matchGemv(s, inner, dimValue) ?? matchGemvT(s, inner, dimValue) ?? matchGer(s, inner, dimValue);
  return call && distinctOutput(call) ? call : null;
}

/** for i { let s = 0; for j { s += A[i·lda + j] x[j] }; y[i] = s } */
function matchGemv(s: For, inner: For, dimValue: DimValue): KernelCall | null {
  if (s.body.length !== 3) return null;
  const [init, , store] = s.body;
  if (init?.kind !== 'let' || !init.mutable || init.value.kind !== 'num' || init.value.value !== 0) return null;
  if (store?.kind !== 'store' || store.accumulate || store.value.kind !== 'local' || store.value.name !== init.name) return null;
  const sum = inner.body[0];
  if (inner.body.length !== 1 || sum?.kind !== 'add-to-local' || sum.name !== init.name) return null;
  const factors = productOf(sum.value);
  if (!factors) return null;
  const vars = [s.index, inner.index] as const;
  const y = unitStride(store.buffer, store.index, s.index, inner.index, dimValue);
  for (const [a, b] of [factors, [factors[1], factors[0]] as const]) {
    const A = rowMajor(a, vars, dimValue);
    const x = a.kind === 'load' && b.kind === 'load' ? unitStride(b.buffer, b.index, inner.index, s.index, dimValue) : null;
    if (A && x && y) return { kernel: 'gemv', A: A.operand, lda: A.stride, x, y, m: s.extent, n: inner.extent };
  }
  return null;
}

/** for i { const s = v[i]; for j { y[j] += A[i·lda + j] s } } */
function matchGemvT(s: For, inner: For, dimValue: DimValue): KernelCall | null {
  if (s.body.length !== 2) return null;
  const [bind] = s.body;
  if (bind?.kind !== 'let' || bind.mutable || bind.value.kind !== 'load') return null;
  const v = unitStride(bind.value.buffer, bind.value.index, s.index, inner.index, dimValue);
  const store = inner.body[0];
  if (!v || inner.body.length !== 1 || store?.kind !== 'store' || !store.accumulate) return null;
  const y = unitStride(store.buffer, store.index, inner.index, s.index, dimValue);
  const factors = productOf(store.value);
  if (!y || !factors) return null;
  for (const [a, b] of [factors, [factors[1], factors[0]] as const]) {
    const A = rowMajor(a, [s.index, inner.index], dimValue);
    if (A && b.kind === 'local' && b.name === bind.name) return { kernel: 'gemvT', A: A.operand, lda: A.stride, v, y, m: s.extent, n: inner.extent };
  }
  return null;
}

/** for i { [const s = u[i·incu];] for j { B[i·ldb + j] += u[i·incu] w[j] } } */
function matchGer(s: For, inner: For, dimValue: DimValue): KernelCall | null {
  const lets = s.body.slice(0, -1);
  if (!lets.every((l) => l.kind === 'let' && !l.mutable)) return null;
  const bound = new Map(lets.map((l) => [(l as Extract<Stmt, { kind: 'let' }>).name, (l as Extract<Stmt, { kind: 'let' }>).value]));
  const store = inner.body[0];
  if (inner.body.length !== 1 || store?.kind !== 'store' || !store.accumulate) return null;
  const B = rowMajor({ kind: 'load', buffer: store.buffer, index: store.index }, [s.index, inner.index], dimValue);
  const factors = productOf(store.value);
  if (!B || !factors) return null;
  for (const [a, b] of [factors, [factors[1], factors[0]] as const]) {
    const uLoad = a.kind === 'local' ? bound.get(a.name) : a;
    if (uLoad?.kind !== 'load' || b.kind !== 'load') continue;
    const u = affine(foldIndex(uLoad.index, dimValue), [s.index, inner.index]);
    const w = unitStride(b.buffer, b.index, inner.index, s.index, dimValue);
    if (u && w && !u.coeffs.has(inner.index)) {
      return { kernel: 'ger', B: B.operand, ldb: B.stride, u: { buffer: uLoad.buffer, base: u.rest }, incu: u.coeffs.get(s.index) ?? num(0), w, m: s.extent, n: inner.extent };
    }
  }
  return null;
}

/** for l { B += u_l w_lᵀ } with u_l = A[·, l], w_l = B[l, ·] and the output fixed: one matrix product. */
function asProduct(update: Extract<KernelCall, { kernel: 'ger' }>, s: For, dimValue: DimValue): KernelCall | null {
  const l = s.index;
  const out = affine(foldIndex(update.B.base, dimValue), [l]);
  const left = affine(foldIndex(update.u.base, dimValue), [l]);
  const right = affine(foldIndex(update.w.base, dimValue), [l]);
  if (!out || !left || !right || out.coeffs.has(l) || !right.coeffs.has(l)) return null;
  const A = { buffer: update.u.buffer, base: left.rest };
  const B = { buffer: update.w.buffer, base: right.rest };
  const al = left.coeffs.get(l) ?? num(0);
  const ldb = right.coeffs.get(l)!;
  // XᵀX: A[i + l·ld] and B[l·ld + j] are the same X, and C is square
  const symmetric = A.buffer === B.buffer && sameIndex(A.base, B.base) && isOne(update.incu) && sameIndex(al, ldb) && sameIndex(foldIndex(update.m, dimValue), foldIndex(update.n, dimValue));
  return { kernel: 'gemm', C: update.B, ldc: update.ldb, A, ai: update.incu, al, B, ldb, m: update.m, n: update.n, k: s.extent, symmetric };
}

/** The kernel writes one buffer: the nest's meaning depends on it not being an input too. */
function distinctOutput(call: KernelCall): boolean {
  switch (call.kernel) {
    case 'gemv':
      return call.y.buffer !== call.A.buffer && call.y.buffer !== call.x.buffer;
    case 'gemvT':
      return call.y.buffer !== call.A.buffer && call.y.buffer !== call.v.buffer;
    case 'ger':
      return call.B.buffer !== call.u.buffer && call.B.buffer !== call.w.buffer;
    case 'gemm':
      return call.C.buffer !== call.A.buffer && call.C.buffer !== call.B.buffer;
  }
}

function productOf(e: ScalarExpr): readonly [ScalarExpr, ScalarExpr] | null {
  return e.kind === 'call' && e.op === 'mul' && e.args.length === 2 ? [e.args[0]!, e.args[1]!] : null;
}

/** A load A[base + i·stride + j] with the stride free of both loop variables. */
function rowMajor(e: ScalarExpr, [i, j]: readonly [string, string], dimValue: DimValue): { operand: Operand; stride: IndexExpr } | null {
  if (e.kind !== 'load') return null;
  const f = affine(foldIndex(e.index, dimValue), [i, j]);
  const stride = f?.coeffs.get(i);
  if (!f || !stride || !isOne(f.coeffs.get(j))) return null;
  return { operand: { buffer: e.buffer, base: f.rest }, stride };
}

/** buffer[base + along] with no dependence on `other`: a contiguous vector. */
function unitStride(buffer: string, index: IndexExpr, along: string, other: string, dimValue: DimValue): Operand | null {
  const f = affine(foldIndex(index, dimValue), [along, other]);
  if (!f || !isOne(f.coeffs.get(along)) || f.coeffs.has(other)) return null;
  return { buffer, base: f.rest };
}

const isOne = (e: IndexExpr | undefined) => e?.k === 'num' && e.v === 1;

interface Affine {
  /** Coefficient of each loop variable that occurs (free of the loop variables). */
  readonly coeffs: ReadonlyMap<string, IndexExpr>;
  /** Everything else: free of the loop variables. */
  readonly rest: IndexExpr;
}

/** `e` as Σ coeff·var + rest over the given loop variables, or null when it is not affine in them. */
export function affine(e: IndexExpr, vars: readonly string[]): Affine | null {
  const zero = num(0);
  switch (e.k) {
    case 'var':
      return vars.includes(e.name) ? { coeffs: new Map([[e.name, num(1)]]), rest: zero } : { coeffs: new Map(), rest: e };
    case 'num':
    case 'dim':
      return { coeffs: new Map(), rest: e };
    case 'add': {
      const a = affine(e.a, vars);
      const b = affine(e.b, vars);
      if (!a || !b) return null;
      const coeffs = new Map(a.coeffs);
      for (const [v, c] of b.coeffs) coeffs.set(v, coeffs.has(v) ? foldIndex(iadd(coeffs.get(v)!, c), () => null) : c);
      return { coeffs, rest: iadd(a.rest, b.rest) };
    }
    case 'mul': {
      const a = affine(e.a, vars);
      const b = affine(e.b, vars);
      if (!a || !b) return null;
      if (a.coeffs.size && b.coeffs.size) return null;
      const [scale, f] = a.coeffs.size ? [e.b, a] : [e.a, b];
      return { coeffs: new Map([...f.coeffs].map(([v, c]) => [v, foldIndex(imul(scale, c), () => null)])), rest: imul(scale, f.rest) };
    }
  }
}
