// Fused gemv pairs (a Plan → Plan pass of the CPU back end with kernels). A least-squares
// gradient Aᵀ(Ax − b), or AᵀA x̄ in its adjoint, lowers to a gemv u = A x, a loop v = u − c (or
// nothing, v being u) and a gemvT y += Aᵀ v: two kernel calls, each reading all of A. Where A
// is larger than the cache, the step's time is that reading (ridge VJP at n = 2000: 16 MB per
// product). This pass writes the three as one call of the kernel gemvGemvT, which walks A once,
// a block of rows at a time, so gemvT finds its rows in the cache (kernels.wat). Its sum runs
// in eight fixed parts, so it rounds differently from the two calls, and the same for any
// number of threads.

import type { Plan } from '../plan.js';
import { GEMV_GEMVT_PARTS, PARALLEL_MIN_WORK } from '../codegen/wasm/runtime-wasm-typed.js';
import { buffersOf, foldIndex, ivar, num, sameFolded, writesOf, type BufferDecl, type IndexExpr, type KernelCall, type Operand, type ScalarExpr, type Segment, type Stmt } from '../lower/loop-ir.js';

type Gemv = Extract<KernelCall, { kernel: 'gemv' }>;
type GemvT = Extract<KernelCall, { kernel: 'gemvT' }>;

export function fuseGemvPairs(plan: Plan): Plan {
  const dimValue = (name: string) => plan.options.dims?.[name] ?? null;
  const temporaries: BufferDecl[] = [];
  // one scratch per width, shared by every fused call of that width (the calls run one at a time)
  const scratch = new Map<string, string>();
  const scratchFor = (width: string): Operand => {
    let name = scratch.get(width);
    if (!name) {
      name = plan.names.fresh('gemvParts');
      scratch.set(width, name);
      temporaries.push({ name, dims: [width], batched: false, copies: GEMV_GEMVT_PARTS });
    }
    return { buffer: name, base: num(0) };
  };
  const rewrite = <S extends Segment | undefined>(seg: S): S => (seg ? (fuseSegment(seg, dimValue, scratchFor) as S) : seg);
  const segments = Object.fromEntries(Object.entries(plan.segments).map(([key, seg]) => [key, rewrite(seg)])) as unknown as Plan['segments'];
  if (!temporaries.length) return plan;
  return {
    ...plan,
    segments,
    temporaries: [...plan.temporaries, ...temporaries],
    ...(plan.deferral ? { deferral: { ...plan.deferral, segment: rewrite(plan.deferral.segment) } } : {}),
  };
}

/** The segment with each fusable gemv … gemvT pair of its top-level statements as one gemvGemvT. */
function fuseSegment(seg: Segment, dimValue: (name: string) => number | null, scratchFor: (width: string) => Operand): Segment {
  const same = (a: IndexExpr, b: IndexExpr) => sameFolded(a, b, dimValue);
  const body: (Stmt | null)[] = [...seg.body];
  let changed = false;
  for (let b = 0; b < body.length; b++) {
    const t = body[b];
    if (t?.kind !== 'kernel' || t.call.kernel !== 'gemvT') continue;
    const T = t.call;
    // the nearest gemv before it on the same A
    const a = body.findLastIndex((s, i) => i < b && s?.kind === 'kernel' && s.call.kernel === 'gemv' && sameOperand(s.call.A, T.A, same));
    if (a < 0) continue;
    const G = (body[a] as Extract<Stmt, { kind: 'kernel' }>).call as Gemv;
    const fused = pair(G, T, body.slice(a + 1, b), seg, same);
    const width = foldIndex(T.n, () => null);
    if (!fused || width.k !== 'dim' || !large(G, dimValue)) continue;
    const between = fused.between;
    const call: KernelCall = { kernel: 'gemvGemvT', A: G.A, lda: G.lda, x: G.x, u: G.y, c: fused.c, v: T.v, y: T.y, s: scratchFor(width.name), m: G.m, n: G.n };
    const loops = [...(body[a] as Extract<Stmt, { kind: 'kernel' }>).loops, ...fused.middle, ...t.loops];
    body.splice(a, b - a + 1, ...between, null);
    body[a + between.length] = { kind: 'kernel', call, loops };
    b = a + between.length;
    changed = true;
  }
  return changed ? { ...seg, body: body.filter((s): s is Stmt => s !== null) } : seg;
}

const sameOperand = (p: Operand, q: Operand, same: (a: IndexExpr, b: IndexExpr) => boolean) => p.buffer === q.buffer && same(p.base, q.base);

/** Where the work is below what splits over threads, A stays in the cache between the two calls (unbaked sizes are taken to be large). */
function large(G: Gemv, dimValue: (name: string) => number | null): boolean {
  const [m, n] = [foldIndex(G.m, dimValue), foldIndex(G.n, dimValue)];
  return m.k !== 'num' || n.k !== 'num' || m.v * n.v >= PARALLEL_MIN_WORK;
}

/**
 * Whether gemv G, the statements `between` and gemvT T can run as G's and T's fused call at T's
 * place: T reads A as G does and v = G's u, or v = u − c from a store of a loop between (taken
 * out of that loop); nothing else between reads u or v or writes what the fused call reads.
 * Returns the statements left between (in order), the middle's store as a loop, and c.
 */
function pair(G: Gemv, T: GemvT, between: readonly (Stmt | null)[], seg: Segment, same: (a: IndexExpr, b: IndexExpr) => boolean): { between: Stmt[]; middle: Stmt[]; c: Operand | null } | null {
  if (!same(G.lda, T.lda) || !same(G.m, T.m) || !same(G.n, T.n)) return null;
  const u = G.y;
  const zero = num(0);
  if (![u, T.v].every((o) => same(o.base, zero) && !seg.batched.includes(o.buffer))) return null;
  const rest = between.filter((s): s is Stmt => s !== null);
  let c: Operand | null = null;
  let middle: Stmt[] = [];
  let left = rest;
  if (T.v.buffer !== u.buffer) {
    const found = middleStore(rest, u.buffer, T.v.buffer, G.m, same);
    if (!found || seg.batched.includes(found.c)) return null;
    c = { buffer: found.c, base: zero };
    middle = [found.loop];
    left = found.rest;
  }
  // the fused call reads A, x and c and writes u, v, y at T's place: nothing left between may
  // write what it reads, or touch u and v; y must be none of its other operands
  const reads = [G.A.buffer, G.x.buffer, ...(c ? [c.buffer] : [])];
  const written = writesOf(left);
  const used = buffersOf(left);
  if (reads.some((r) => written.has(r)) || used.has(u.buffer) || used.has(T.v.buffer)) return null;
  const others = [G.A, G.x, u, T.v, ...(c ? [c] : [])].map((o) => o.buffer);
  if (others.includes(T.y.buffer) || G.x.buffer === u.buffer || (c && (c.buffer === u.buffer || c.buffer === T.v.buffer))) return null;
  // the kernel's blocks write u and v while later blocks still read x and A
  if ([u.buffer, T.v.buffer].some((w) => w === G.x.buffer || w === G.A.buffer)) return null;
  return { between: left, middle, c };
}

/**
 * The one loop among `stmts` (over i < m) that stores v[i] = u[i] − c[i], with no other
 * statement of `stmts` writing v: that store as a loop of its own, c, and `stmts` without it
 * (its loop kept for the loop's other statements, when they do not touch u or v).
 */
function middleStore(stmts: readonly Stmt[], u: string, v: string, m: IndexExpr, same: (a: IndexExpr, b: IndexExpr) => boolean): { loop: Stmt; c: string; rest: Stmt[] } | null {
  let found: { loop: Stmt; c: string; rest: Stmt[] } | null = null;
  for (const [at, s] of stmts.entries()) {
    if (s.kind !== 'for' || !same(s.extent, m)) continue;
    const i = ivar(s.index);
    const store = s.body.findIndex((st) => st.kind === 'store' && st.buffer === v);
    if (store < 0) continue;
    const st = s.body[store] as Extract<Stmt, { kind: 'store' }>;
    const c = differenceOf(st.value, u, i);
    if (found || st.accumulate || !same(st.index, i) || c === null || c === v) return null;
    const others = s.body.filter((_, k) => k !== store);
    const touched = buffersOf(others);
    if (touched.has(u) || touched.has(v)) return null;
    const rest = [...stmts.slice(0, at), ...(others.length ? [{ ...s, body: others }] : []), ...stmts.slice(at + 1)];
    found = { loop: { ...s, body: [st] }, c, rest };
  }
  return found;
}

/** c when the value is u[i] − c[i], else null. */
function differenceOf(value: ScalarExpr, u: string, i: IndexExpr): string | null {
  if (value.kind !== 'call' || value.op !== 'sub' || value.args.length !== 2) return null;
  const [p, q] = value.args as [ScalarExpr, ScalarExpr];
  const at = (e: ScalarExpr) => e.kind === 'load' && JSON.stringify(e.index) === JSON.stringify(i);
  return p.kind === 'load' && p.buffer === u && at(p) && q.kind === 'load' && at(q) && q.buffer !== u ? q.buffer : null;
}
