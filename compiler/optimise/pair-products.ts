// Paired products of the fused reverse sweep (a Plan → Plan pass of the CPU back end with
// kernels, after fuse-gemv-pairs). Its step, reverseStep, runs an iteration and the state part
// of another's adjoint, which for a least-squares or ridge map are two gemvGemvT calls on the
// same A: this pass writes them as one call of gemvGemvT2, which reads A once for both
// (kernels.wat; the same bits as the two calls). The fused sweep is worth running only for
// that: where no pair forms, the pass drops it (its segments, and the buffers only they used).

import type { Plan } from '../plan.js';
import { GEMV_GEMVT_PARTS } from '../codegen/wasm/runtime-wasm-typed.js';
import { buffersOf, num, sameFolded, writesOf, type GemvGemvT, type IndexExpr, type Segment, type Stmt } from '../lower/loop-ir.js';

export function pairProducts(plan: Plan): Plan {
  const seg = plan.segments.reverseStep;
  if (!seg) return plan;
  const dimValue = (name: string) => plan.options.dims?.[name] ?? null;
  const same = (a: IndexExpr, b: IndexExpr) => sameFolded(a, b, dimValue);
  const body: Stmt[] = [...seg.body];
  const scratch: { name: string; width: readonly string[] }[] = [];
  for (let b = 0; b < body.length; b++) {
    const second = body[b]!;
    if (second.kind !== 'kernel' || second.call.kernel !== 'gemvGemvT') continue;
    const a = body.findIndex((s, i) => i < b && s.kind === 'kernel' && s.call.kernel === 'gemvGemvT' && pairs(s.call, second.call as GemvGemvT, body.slice(i + 1, b), same) !== null);
    if (a < 0) continue;
    const at = pairs((body[a] as Extract<Stmt, { kind: 'kernel' }>).call as GemvGemvT, second.call as GemvGemvT, body.slice(a + 1, b), same)!;
    const first = (body[a] as Extract<Stmt, { kind: 'kernel' }>).call as GemvGemvT;
    // the second call keeps its sums apart from the first's: scratch of its own, as wide
    const width = plan.temporaries.find((t) => t.name === first.s.buffer)!.dims;
    const name = plan.names.fresh('gemvParts');
    scratch.push({ name, width });
    const call = { kernel: 'gemvGemvT2' as const, first, second: { ...(second.call as GemvGemvT), s: { buffer: name, base: num(0) } } };
    const joined: Stmt = { kind: 'kernel', call, loops: [...(body[a] as Extract<Stmt, { kind: 'kernel' }>).loops, ...second.loops] };
    // at the second's place (the first moves down past what is between) or at the first's
    if (at === 'second') body.splice(b, 1, joined), body.splice(a, 1);
    else body.splice(b, 1), body.splice(a, 1, joined);
    b--;
  }
  if (!scratch.length) return withoutFusedReverse(plan);
  return {
    ...plan,
    segments: { ...plan.segments, reverseStep: { ...seg, body } },
    temporaries: [...plan.temporaries, ...scratch.map(({ name, width }) => ({ name, dims: width, batched: false, copies: GEMV_GEMVT_PARTS }))],
  };
}

/**
 * Where gemvGemvT calls p and q (q later, `between` them) can run as one call, or null: they
 * share A, lda, m and n, q reads nothing p writes and no output is shared; then at q's place
 * if nothing between touches what p writes or writes what p reads, else at p's place if
 * nothing between touches what q writes or writes what q reads. (y is read as well as written:
 * the call adds into it. The scratch s is each call's own; q gets new scratch.)
 */
function pairs(p: GemvGemvT, q: GemvGemvT, between: readonly Stmt[], same: (a: IndexExpr, b: IndexExpr) => boolean): 'first' | 'second' | null {
  if (p.A.buffer !== q.A.buffer || !same(p.A.base, q.A.base) || !same(p.lda, q.lda) || !same(p.m, q.m) || !same(p.n, q.n)) return null;
  const writes = (c: GemvGemvT) => [c.u, c.v, c.y].map((o) => o.buffer);
  const reads = (c: GemvGemvT) => [c.A, c.x, ...(c.c ? [c.c] : []), c.y].map((o) => o.buffer);
  if (reads(q).some((b) => writes(p).includes(b)) || writes(q).some((b) => writes(p).includes(b) || reads(p).includes(b))) return null;
  const written = writesOf(between);
  const used = buffersOf(between);
  const movable = (c: GemvGemvT) => !writes(c).some((b) => used.has(b)) && !reads(c).some((b) => written.has(b));
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
