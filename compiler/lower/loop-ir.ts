// The loop IR: scalar index arithmetic over flat Float64 buffers, shared by every backend.
// A segment is a straight-line list of statements (loops, locals, stores) that one step of
// the algorithm runs; buffers are declared once per module instance and never allocated in
// a segment. Batched buffers hold one copy per direction and are indexed from an offset.

import type { NameScope } from '../names.js';

export type IndexExpr =
  | { readonly k: 'num'; readonly v: number }
  | { readonly k: 'var'; readonly name: string }
  | { readonly k: 'dim'; readonly name: string }
  | { readonly k: 'add'; readonly a: IndexExpr; readonly b: IndexExpr }
  | { readonly k: 'mul'; readonly a: IndexExpr; readonly b: IndexExpr };

export type ScalarExpr =
  | { readonly kind: 'num'; readonly value: number }
  | { readonly kind: 'load'; readonly buffer: string; readonly index: IndexExpr }
  | { readonly kind: 'local'; readonly name: string }
  /** An elementwise op from the registry, by name. */
  | { readonly kind: 'call'; readonly op: string; readonly args: readonly ScalarExpr[] };

/** An operand of a kernel: a buffer and the index of its first entry used. */
export interface Operand {
  readonly buffer: string;
  readonly base: IndexExpr;
}

/**
 * A matrix product as one statement: what the lowering knows a product to be, kept whole so
 * a back end can call a kernel for it (compiler/optimise/select-kernels.ts expands it into
 * loops where none runs it). Indices are in the segment's frame: a batched buffer's direction
 * offset is added by the emitter. A solve has no loop form (LU with partial pivoting branches
 * on the data): every CPU path calls the runtime's routine for it, and the GPU refuses it.
 */
export type KernelCall =
  | Gemv
  /** y[j] += Σ_i A[i·lda + j] v[i] */
  | { readonly kernel: 'gemvT'; readonly A: Operand; readonly lda: IndexExpr; readonly v: Operand; readonly y: Operand; readonly m: IndexExpr; readonly n: IndexExpr }
  | GemvGemvT
  /**
   * Two gemvGemvT on the same A (and lda, m, n), in one pass over it (optimise/pair-products.ts):
   * the fused reverse sweep's step and adjoint step. Each has scratch of its own.
   */
  | { readonly kernel: 'gemvGemvT2'; readonly first: GemvGemvT; readonly second: GemvGemvT }
  /** Two gemv on the same A (and lda, m, n), in one pass over it (optimise/pair-products.ts). */
  | { readonly kernel: 'gemv2'; readonly first: Gemv; readonly second: Gemv }
  /** B[i·ldb + j] += u[i·incu] w[j] */
  | { readonly kernel: 'ger'; readonly B: Operand; readonly ldb: IndexExpr; readonly u: Operand; readonly incu: IndexExpr; readonly w: Operand; readonly m: IndexExpr; readonly n: IndexExpr }
  /** C[i·ldc + j] += Σ_l A[i·ai + l·al] B[l·ldb + j]; symmetric when A and B are one X read as XᵀX */
  | { readonly kernel: 'gemm'; readonly C: Operand; readonly ldc: IndexExpr; readonly A: Operand; readonly ai: IndexExpr; readonly al: IndexExpr; readonly B: Operand; readonly ldb: IndexExpr; readonly m: IndexExpr; readonly n: IndexExpr; readonly k: IndexExpr; readonly symmetric: boolean }
  /**
   * X = A⁻¹B (A⁻ᵀB when transposed) for an n×n A and an n×nrhs B, the identity when B is null;
   * `lu` is the routine's n×n scratch (the factors), `op` the formula function it reports errors as.
   */
  | { readonly kernel: 'solve'; readonly op: string; readonly A: Operand; readonly B: Operand | null; readonly X: Operand; readonly lu: Operand; readonly n: IndexExpr; readonly nrhs: IndexExpr; readonly transposed: boolean };

/** y[i] = Σ_j A[i·lda + j] x[j] */
export interface Gemv { readonly kernel: 'gemv'; readonly A: Operand; readonly lda: IndexExpr; readonly x: Operand; readonly y: Operand; readonly m: IndexExpr; readonly n: IndexExpr }

/**
 * u = A x, v = u − c (v is u when c is null), y[j] += Σ_i A[i·lda + j] v[i]: a gemv and a
 * gemvT on one A, fused (optimise/fuse-gemv-pairs.ts) so A is read once; s is scratch of
 * GEMV_GEMVT_PARTS rows of n (runtime-wasm-typed.ts; the kernel sums its fixed parts there).
 */
export interface GemvGemvT { readonly kernel: 'gemvGemvT'; readonly A: Operand; readonly lda: IndexExpr; readonly x: Operand; readonly u: Operand; readonly c: Operand | null; readonly v: Operand; readonly y: Operand; readonly s: Operand; readonly m: IndexExpr; readonly n: IndexExpr }

export type Stmt =
  | { readonly kind: 'for'; readonly index: string; readonly extent: IndexExpr; readonly body: readonly Stmt[] }
  /**
   * A loop by `step` (unrolled: its body covers `step` iterations), then the remainder loop
   * over the original body, in a block that first declares the `zeroed` lane locals and ends
   * with `after` (optimise/unroll.ts writes it).
   */
  | { readonly kind: 'strided'; readonly index: string; readonly extent: IndexExpr; readonly step: number; readonly zeroed: readonly (readonly string[])[]; readonly body: readonly Stmt[]; readonly remainder: readonly Stmt[]; readonly after: readonly Stmt[] }
  /** A product a kernel may compute; `loops` is the same product as loops, for a back end that runs none (empty for a solve). */
  | { readonly kind: 'kernel'; readonly call: KernelCall; readonly loops: readonly Stmt[] }
  | { readonly kind: 'let'; readonly name: string; readonly value: ScalarExpr; readonly mutable: boolean }
  /** `name += value`, or with `combine` (an elementwise op of two arguments) `name = combine(name, value)`: a running max, say. */
  | { readonly kind: 'add-to-local'; readonly name: string; readonly value: ScalarExpr; readonly combine?: string }
  | { readonly kind: 'store'; readonly buffer: string; readonly index: IndexExpr; readonly value: ScalarExpr; readonly accumulate: boolean }
  | { readonly kind: 'comment'; readonly text: string };

export interface BufferDecl {
  readonly name: string;
  /** Entries per copy, as dims. Empty for a scalar (one entry). */
  readonly dims: readonly string[];
  /** Batched buffers hold one copy per direction; the copy count is chosen at run time. */
  readonly batched: boolean;
  /** Copies of the dims' entries it holds (a kernel's scratch rows); 1 when absent. */
  readonly copies?: number;
}

export interface Segment {
  readonly name: string;
  /** The scope of the segment's locals (loop indices, accumulators, the batch index): a child of the module scope. */
  readonly scope: NameScope;
  /** The batch index's name (the direction a batched segment works on). */
  readonly batchIndex: string;
  /** Loop indices by nesting depth; a loop the emitter adds at the top of the body may use the first. */
  readonly loopNames: readonly string[];
  /** What the segment computes, one line. */
  readonly doc: string;
  readonly body: readonly Stmt[];
  /** Batched buffers the segment touches (it then takes the batch index as a parameter). */
  readonly batched: readonly string[];
}

export const num = (v: number): IndexExpr => ({ k: 'num', v });

/** The value a reduction statement assigns when it combines (`combine(name, value)`), or null for `+=`. */
export function combinedValue(s: Extract<Stmt, { kind: 'add-to-local' }>): ScalarExpr | null {
  return s.combine ? { kind: 'call', op: s.combine, args: [{ kind: 'local', name: s.name }, s.value] } : null;
}
export const ivar = (name: string): IndexExpr => ({ k: 'var', name });
export const dim = (name: string): IndexExpr => ({ k: 'dim', name });
export function iadd(a: IndexExpr, b: IndexExpr): IndexExpr {
  if (a.k === 'num' && a.v === 0) return b;
  if (b.k === 'num' && b.v === 0) return a;
  return { k: 'add', a, b };
}
export function imul(a: IndexExpr, b: IndexExpr): IndexExpr {
  if (a.k === 'num' && a.v === 1) return b;
  if (b.k === 'num' && b.v === 1) return a;
  if ((a.k === 'num' && a.v === 0) || (b.k === 'num' && b.v === 0)) return num(0);
  return { k: 'mul', a, b };
}
/** Structural equality of two index expressions. */
export const sameIndex = (a: IndexExpr, b: IndexExpr): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Equality after folding constants and baked dims (`n` and `4` when n = 4). */
export const sameFolded = (a: IndexExpr, b: IndexExpr, dimValue: (name: string) => number | null): boolean => sameIndex(foldIndex(a, dimValue), foldIndex(b, dimValue));

/** Visits every statement of a block, nested loops' bodies included, in order. */
export function walk(stmts: readonly Stmt[], visit: (s: Stmt) => void) {
  for (const s of stmts) {
    visit(s);
    if (s.kind === 'for') walk(s.body, visit);
    if (s.kind === 'strided') [s.body, s.remainder, s.after].forEach((b) => walk(b, visit));
  }
}

/** Buffers the statements store into. */
export function writesOf(stmts: readonly Stmt[]): Set<string> {
  const out = new Set<string>();
  walk(stmts, (s) => {
    if (s.kind === 'store') out.add(s.buffer);
    if (s.kind === 'kernel') out.add(kernelOutput(s.call).buffer);
    if (s.kind === 'kernel' && s.call.kernel === 'solve') out.add(s.call.lu.buffer);
    if (s.kind === 'kernel' && s.call.kernel === 'gemvGemvT') [s.call.u, s.call.v, s.call.s].forEach((o) => out.add(o.buffer));
    if (s.kind === 'kernel' && s.call.kernel === 'gemvGemvT2') for (const c of [s.call.first, s.call.second]) [c.u, c.v, c.s, c.y].forEach((o) => out.add(o.buffer));
    if (s.kind === 'kernel' && s.call.kernel === 'gemv2') [s.call.first.y, s.call.second.y].forEach((o) => out.add(o.buffer));
  });
  return out;
}

/** Buffers the statements read or write. */
export function buffersOf(stmts: readonly Stmt[]): Set<string> {
  const used = new Set<string>();
  const scalar = (e: ScalarExpr) => {
    if (e.kind === 'load') used.add(e.buffer);
    else if (e.kind === 'call') e.args.forEach(scalar);
  };
  walk(stmts, (s) => {
    if (s.kind === 'store') {
      used.add(s.buffer);
      scalar(s.value);
    } else if (s.kind === 'let' || s.kind === 'add-to-local') scalar(s.value);
    else if (s.kind === 'kernel') [kernelOutput(s.call), ...kernelInputs(s.call)].forEach((o) => used.add(o.buffer));
  });
  return used;
}

/** The operand a kernel writes. */
export function kernelOutput(call: KernelCall): Operand {
  switch (call.kernel) {
    case 'gemv':
    case 'gemvT':
    case 'gemvGemvT':
      return call.y;
    case 'gemvGemvT2':
    case 'gemv2':
      return call.first.y;
    case 'ger':
      return call.B;
    case 'gemm':
      return call.C;
    case 'solve':
      return call.X;
  }
}

/** The operands a kernel reads (its output too, when it accumulates: all but gemv and solve; a solve's scratch and gemvGemvT's too). */
export function kernelInputs(call: KernelCall): Operand[] {
  switch (call.kernel) {
    case 'gemv':
      return [call.A, call.x];
    case 'gemvT':
      return [call.A, call.v, call.y];
    case 'gemvGemvT':
      // u, v and s are written too (writesOf): listed so every buffer of the call is seen
      return [call.A, call.x, ...(call.c ? [call.c] : []), call.u, call.v, call.y, call.s];
    case 'gemvGemvT2':
      // the second's y is written too (writesOf)
      return [...kernelInputs(call.first), ...kernelInputs(call.second)];
    case 'gemv2':
      // the second's y is written too (writesOf)
      return [...kernelInputs(call.first), ...kernelInputs(call.second), call.second.y];
    case 'ger':
      return [call.u, call.w, call.B];
    case 'gemm':
      return [call.A, call.B, call.C];
    case 'solve':
      return [call.A, ...(call.B ? [call.B] : []), call.lu];
  }
}

/** Number of entries of a buffer with these dims. */
export const sizeOf = (dims: readonly string[]): IndexExpr => dims.map(dim).reduce(imul, num(1));

/** Folds constant index arithmetic when dims are baked (`i * 40 + j`, `0 * 40` -> `0`). */
export function foldIndex(e: IndexExpr, dimValue: (name: string) => number | null): IndexExpr {
  if (e.k === 'dim') {
    const v = dimValue(e.name);
    return v === null ? e : { k: 'num', v };
  }
  if (e.k === 'add' || e.k === 'mul') {
    const a = foldIndex(e.a, dimValue);
    const b = foldIndex(e.b, dimValue);
    if (a.k === 'num' && b.k === 'num') return { k: 'num', v: e.k === 'add' ? a.v + b.v : a.v * b.v };
    if (e.k === 'add' && a.k === 'num' && a.v === 0) return b;
    if (e.k === 'add' && b.k === 'num' && b.v === 0) return a;
    if (e.k === 'mul' && ((a.k === 'num' && a.v === 0) || (b.k === 'num' && b.v === 0))) return { k: 'num', v: 0 };
    if (e.k === 'mul' && a.k === 'num' && a.v === 1) return b;
    if (e.k === 'mul' && b.k === 'num' && b.v === 1) return a;
    return { k: e.k, a, b };
  }
  return e;
}
