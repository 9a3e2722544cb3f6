// Tangent batching (a Plan → Plan pass of the CPU back end with kernels). In a forward sweep
// over P directions (jacobianForward: one per parameter entry) the tangent step runs P times
// per iteration, each time multiplying the same matrix by its direction's tangent: P gemv
// calls. This pass finds those products (y = A ẋ, A written by neither the iteration nor the
// tangent step: a hoisted invariant, a parameter or data) and writes a variant of the tangent
// step that reads its row of a per-direction `products` buffer instead; the driver computes
// all rows at once, before the directions, as one gemm (faster per flop, and large enough to
// split over worker threads). gemm reads A transposed, from a copy made once per sweep, unless
// A is symmetric (a hoisted XᵀX): then A is its own transpose and no copy is made.

import type { Plan, StateBuffers } from '../plan.js';
import { stillBatched } from './batched-buffers.js';
import { ivar, kernelOutput, num, sameFolded, sizeOf, writesOf, type IndexExpr, type KernelCall, type Segment, type Stmt } from '../lower/loop-ir.js';

export interface BatchedProduct {
  /** y = A ẋ, the gemv the batched step no longer calls. */
  readonly call: Extract<KernelCall, { kernel: 'gemv' }>;
  /** The state whose tangent ẋ is. */
  readonly state: StateBuffers;
  /** Per-direction buffer: m products per direction. */
  readonly products: string;
  /** The fixed buffer Aᵀ (n rows of m), or null when A is symmetric and read as it is. */
  readonly transposed: string | null;
}

export interface TangentBatch {
  /** The tangent step reading its products from the batch. */
  readonly segment: Segment;
  readonly products: readonly BatchedProduct[];
}

/** Whether the sweep must copy a matrix into its transpose first (a symmetric one is read as its own). */
export const needsTranspose = (batch: TangentBatch) => batch.products.some((b) => b.transposed !== null);

export function batchTangentProducts(plan: Plan): Plan {
  const seg = plan.segments.tangent;
  if (!seg) return plan;
  const dimValue = (name: string) => plan.options.dims?.[name] ?? null;
  const same = (a: IndexExpr, b: IndexExpr) => sameFolded(a, b, dimValue);
  const zero = num(0);
  const inTangentStep = writesOf(seg.body);
  const inIteration = writesOf([plan.segments.step, plan.segments.stepForTangent, plan.segments.forwardStep].flatMap((s) => s?.body ?? []));
  const symmetric = symmetricBuffers(plan.segments.invariants);
  // inputs the drivers rewrite every step (a mini-batch): a product with one changes within a sweep
  const perStep = new Set(plan.data.flatMap((d) => (d.batches ? [d.value] : [])));
  const products: BatchedProduct[] = [];
  const body = seg.body.map((st): Stmt => {
    const call = st.kind === 'kernel' ? st.call : null;
    if (call?.kernel !== 'gemv') return st;
    const state = plan.state.find((s) => s.dot === call.x.buffer);
    if (!state || !same(call.x.base, zero) || !same(call.n, sizeOf(state.dims))) return st;
    if (seg.batched.includes(call.A.buffer) || seg.batched.includes(call.y.buffer) || inTangentStep.has(call.A.buffer) || inIteration.has(call.A.buffer) || perStep.has(call.A.buffer)) return st;
    if (!same(call.A.base, zero) || !same(call.y.base, zero)) return st;
    const b: BatchedProduct = {
      call, state,
      products: plan.names.fresh(`${call.y.buffer}_all`),
      transposed: symmetric.has(call.A.buffer) ? null : plan.names.fresh(`${call.A.buffer}_t`),
    };
    products.push(b);
    // y[i] = products[d, i]: the row of this direction
    const i = seg.loopNames[0]!;
    return { kind: 'for', index: i, extent: call.m, body: [{ kind: 'store', buffer: call.y.buffer, index: ivar(i), value: { kind: 'load', buffer: b.products, index: ivar(i) }, accumulate: false }] };
  });
  if (!products.length) return plan;
  const segment: Segment = { ...seg, name: plan.names.fresh('tangentStepBatched'), body, batched: stillBatched(seg, body, products.map((p) => p.products)) };
  return { ...plan, tangentBatch: { segment, products } };
}

/**
 * Buffers that hold XᵀX and nothing else: a symmetric gemm writes them, and the only other
 * statements that do fill them with zeros. The kernel mirrors each block it computes, so they
 * equal their transpose bit for bit.
 */
function symmetricBuffers(seg: Segment): Set<string> {
  const grams = seg.body.flatMap((st) => (st.kind === 'kernel' && st.call.kernel === 'gemm' && st.call.symmetric ? [kernelOutput(st.call).buffer] : []));
  const zeroFill = (st: Stmt, buffer: string): boolean =>
    st.kind === 'for' ? st.body.every((b) => zeroFill(b, buffer)) : st.kind !== 'store' || st.buffer !== buffer || (!st.accumulate && st.value.kind === 'num' && st.value.value === 0);
  return new Set(grams.filter((buffer) => grams.filter((g) => g === buffer).length === 1 && seg.body.every((st) => (st.kind === 'kernel' ? kernelOutput(st.call).buffer !== buffer || (st.call.kernel === 'gemm' && st.call.symmetric) : zeroFill(st, buffer)))));
}
