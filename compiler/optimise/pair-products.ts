// Paired products (a Plan → Plan pass of the CPU back end with kernels, after
// fuse-gemv-pairs): two products on the same matrix in one step, written as one call that
// reads the matrix once for both (kernels-paired.wat; the same bits as the two calls).
//
// - The forward step (forwardStep) runs an iteration and its tangent: A x and A ẋ (or, where
//   AᵀA is formed once, two gemv on it) become one gemv2.
// - The fused reverse sweep's step (reverseStep) runs an iteration and the state part of
//   another's adjoint, which for a least-squares or ridge map are two gemvGemvT calls on A, or
//   two gemv on AᵀA: one gemvGemvT2 or gemv2. The fused sweep is worth running only for that:
//   where no pair forms, the pass drops it (its segments, and the buffers only they used).

import type { Plan } from '../plan.js';
import { GEMV_GEMVT_PARTS, PARALLEL_MIN_WORK } from '../codegen/wasm/runtime-wasm-typed.js';
import { buffersOf, foldIndex, num, sameFolded, writesOf, type Gemv, type GemvGemvT, type IndexExpr, type KernelCall, type Operand, type Segment, type Stmt } from '../lower/loop-ir.js';

type Pairable = Gemv | GemvGemvT;
type KernelStmt = Extract<Stmt, { kind: 'kernel' }>;

export function pairProducts(plan: Plan): Plan {
  return pairReverse(pairForward(plan));
}

/**
 * The forward step (an iteration and its tangent in one segment, forwardStep): where the
 * iterate's product and the tangent's are on one matrix (A x and A ẋ, or AᵀA formed once), one
 * gemv2 call. Any size: the step is one call of a WebAssembly sweep either way, and the pair
 * reads the matrix once for both vectors.
 */
function pairForward(plan: Plan): Plan {
  const seg = plan.segments.forwardStep;
  if (!seg) return plan;
  const paired = pairWithin(plan, seg.body, () => true, false);
  return paired ? { ...plan, segments: { ...plan.segments, forwardStep: { ...seg, body: paired.body } } } : plan;
}

/** The fused reverse sweep's step: its pairs, or the plan without the fused sweep where none forms. */
function pairReverse(plan: Plan): Plan {
  const seg = plan.segments.reverseStep;
  if (!seg) return plan;
  const dimValue = (name: string) => plan.options.dims?.[name] ?? null;
  const paired = pairWithin(plan, seg.body, (call) => large(call, dimValue), true);
  if (!paired) return withoutFusedReverse(plan);
  return {
    ...plan,
    segments: { ...plan.segments, reverseStep: { ...seg, body: paired.body } },
    temporaries: [...plan.temporaries, ...paired.scratch.map(({ name, width }) => ({ name, dims: width, batched: false, copies: GEMV_GEMVT_PARTS }))],
  };
}

/**
 * The statements with each pair of products on one matrix as one call (gemv2, or with
 * `fused`, gemvGemvT2 too) where `worth` says the products are worth pairing, and the scratch
 * the second gemvGemvT of a pair needs; null where no pair forms.
 */
function pairWithin(plan: Plan, statements: readonly Stmt[], worth: (call: Pairable) => boolean, fused: boolean): { body: Stmt[]; scratch: { name: string; width: readonly string[] }[] } | null {
  const dimValue = (name: string) => plan.options.dims?.[name] ?? null;
  const same = (a: IndexExpr, b: IndexExpr) => sameFolded(a, b, dimValue);
  const body: Stmt[] = [...statements];
  const scratch: { name: string; width: readonly string[] }[] = [];
  const pairable = (s: Stmt): s is KernelStmt & { call: Pairable } => s.kind === 'kernel' && (s.call.kernel === 'gemv' || (fused && s.call.kernel === 'gemvGemvT')) && worth(s.call);
  let paired = false;
  for (let b = 0; b < body.length; b++) {
    const second = body[b]!;
    if (!pairable(second)) continue;
    const placeOf = (i: number) => (pairable(body[i]!) && body[i]!.call.kernel === second.call.kernel ? pairs((body[i] as KernelStmt).call as Pairable, second.call, body.slice(i + 1, b), same) : null);
    const a = body.findIndex((_, i) => i < b && placeOf(i) !== null);
    if (a < 0) continue;
    const at = placeOf(a)!;
    const first = body[a] as KernelStmt & { call: Pairable };
    let call: KernelCall;
    if (first.call.kernel === 'gemv') call = { kernel: 'gemv2', first: first.call, second: second.call as Gemv };
    else {
      // the second gemvGemvT keeps its sums apart from the first's: scratch of its own, as wide
      const name = plan.names.fresh('gemvParts');
      scratch.push({ name, width: plan.temporaries.find((t) => t.name === (first.call as GemvGemvT).s.buffer)!.dims });
      call = { kernel: 'gemvGemvT2', first: first.call, second: { ...(second.call as GemvGemvT), s: { buffer: name, base: num(0) } } };
    }
    const joined: Stmt = { kind: 'kernel', call, loops: [...first.loops, ...second.loops] };
    // at the second's place (the first moves down past what is between) or at the first's
    if (at === 'second') body.splice(b, 1, joined), body.splice(a, 1);
    else body.splice(b, 1), body.splice(a, 1, joined);
    b--;
    paired = true;
  }
  return paired ? { body, scratch } : null;
}

/**
 * Below the size that splits over threads, a product costs little beside the fused sweep's
 * JavaScript loop (the plain sweeps run whole in WebAssembly there); unbaked sizes are large.
 */
function large(call: Pairable, dimValue: (name: string) => number | null): boolean {
  const [m, n] = [foldIndex(call.m, dimValue), foldIndex(call.n, dimValue)];
  return m.k !== 'num' || n.k !== 'num' || m.v * n.v >= PARALLEL_MIN_WORK;
}

/** What a call reads (y too when it adds into it) and writes. */
function readsOf(c: Pairable): Operand[] {
  return c.kernel === 'gemv' ? [c.A, c.x] : [c.A, c.x, ...(c.c ? [c.c] : []), c.y];
}
function writesOfCall(c: Pairable): Operand[] {
  return c.kernel === 'gemv' ? [c.y] : [c.u, c.v, c.y];
}

/**
 * Where calls p and q of one kernel (q later, `between` them) can run as one call, or null:
 * they share A, lda, m and n, q reads nothing p writes and no output is shared; then at q's
 * place if nothing between touches what p writes or writes what p reads, else at p's place if
 * nothing between touches what q writes or writes what q reads. (A gemvGemvT's scratch is its
 * own; q gets new scratch.)
 */
function pairs(p: Pairable, q: Pairable, between: readonly Stmt[], same: (a: IndexExpr, b: IndexExpr) => boolean): 'first' | 'second' | null {
  if (p.A.buffer !== q.A.buffer || !same(p.A.base, q.A.base) || !same(p.lda, q.lda) || !same(p.m, q.m) || !same(p.n, q.n)) return null;
  const reads = (c: Pairable) => readsOf(c).map((o) => o.buffer);
  const writes = (c: Pairable) => writesOfCall(c).map((o) => o.buffer);
  if (reads(q).some((b) => writes(p).includes(b)) || writes(q).some((b) => writes(p).includes(b) || reads(p).includes(b))) return null;
  const written = writesOf(between);
  const used = buffersOf(between);
  const movable = (c: Pairable) => !writes(c).some((b) => used.has(b)) && !reads(c).some((b) => written.has(b));
  return movable(p) ? 'second' : movable(q) ? 'first' : null;
}

/** The plan without the fused reverse sweep: its segments, and the temporaries no other segment uses. */
function withoutFusedReverse(plan: Plan): Plan {
  const { reverseStep, paramAdjoint, ...segments } = plan.segments;
  const others: Segment[] = [...Object.values(segments), plan.tangentBatch?.segment, plan.deferral?.segment].filter((s): s is Segment => s !== undefined);
  const used = new Set(others.flatMap((s) => [...buffersOf(s.body)]));
  const own = new Set([reverseStep, paramAdjoint].flatMap((s) => (s ? [...buffersOf(s.body)] : [])).filter((b) => !used.has(b)));
  const { fusedReverse: _dropped, ...rest } = plan;
  return { ...rest, segments, temporaries: plan.temporaries.filter((t) => !own.has(t.name)) };
}
