// Deferred rank-1 updates (a Plan → Plan pass of the CPU back end with kernels). In the
// backward sweep, a gradient update W̄ += u xᵀ with x the taped state reads and writes all of
// W̄ for 2 flops an entry; a block of R of them is one matrix product that passes over W̄ once.
// This pass finds those updates in the adjoint step and writes a variant that copies u into
// its row of a per-direction block buffer instead, newest step last, so the block's rows line
// up with R consecutive tape rows (the x's need no copy). The driver counts the waiting steps
// in `counter` and applies a block as one gemm every DEFER_STEPS steps, at the sweep's end,
// and whenever an observer must see each step's gradient.

import type { Plan, StateBuffers } from '../plan.js';
import { stillBatched } from './batched-buffers.js';
import { buffersOf, iadd, imul, ivar, num, sameFolded, sizeOf, type IndexExpr, type KernelCall, type Segment, type Stmt } from '../lower/loop-ir.js';

/** Steps per block: W̄ is passed over once per block instead of once per step. */
export const DEFER_STEPS = 16;

export interface DeferredUpdate {
  /** W̄ += u xᵀ, the ger the deferred step no longer calls. */
  readonly call: Extract<KernelCall, { kernel: 'ger' }>;
  /** The state whose taped rows are x. */
  readonly state: StateBuffers;
  /** The per-direction block of u's: DEFER_STEPS rows of m. */
  readonly buffer: string;
}

export interface Deferral {
  /** The adjoint step with the updates deferred. */
  readonly segment: Segment;
  readonly updates: readonly DeferredUpdate[];
  /** The module-level counter of steps whose updates wait (0 to DEFER_STEPS). */
  readonly counter: string;
  /**
   * Whether a block's gemms may run on another thread while the sweep goes on: nothing else in
   * the backward step (the adjoint step and its prep) reads or writes their outputs (the
   * params' adjoints) or the tape they read.
   */
  readonly concurrent: boolean;
}

export function deferRankOneUpdates(plan: Plan): Plan {
  const seg = plan.segments.adjoint;
  if (!seg || plan.options.K === plan.options.truncate) return plan;
  const dimValue = (name: string) => plan.options.dims?.[name] ?? null;
  const same = (a: IndexExpr, b: IndexExpr) => sameFolded(a, b, dimValue);
  const zero = num(0);
  const bars = new Set(plan.params.map((p) => p.bar));
  const updates: DeferredUpdate[] = [];
  let counter: string | null = null;
  const body = seg.body.map((st): Stmt => {
    const call = st.kind === 'kernel' ? st.call : null;
    if (call?.kernel !== 'ger' || !bars.has(call.B.buffer) || seg.batched.includes(call.u.buffer)) return st;
    const state = plan.state.find((s) => s.current === call.w.buffer);
    if (!state || ![call.B.base, call.u.base, call.w.base].every((b) => same(b, zero)) || !same(call.incu, num(1))) return st;
    // x is a whole state row: its length is the number of columns
    if (!same(call.n, sizeOf(state.dims))) return st;
    counter ??= plan.names.fresh('deferredSteps');
    const u: DeferredUpdate = { call, state, buffer: plan.names.fresh(`${call.B.buffer}_defer`) };
    updates.push(u);
    // block[d, DEFER_STEPS − 1 − counter, i] = u[i]
    const i = seg.loopNames[0]!;
    const row = iadd(num(DEFER_STEPS - 1), imul(num(-1), ivar(counter)));
    return { kind: 'for', index: i, extent: call.m, body: [{ kind: 'store', buffer: u.buffer, index: iadd(imul(row, call.m), ivar(i)), value: { kind: 'load', buffer: call.u.buffer, index: ivar(i) }, accumulate: false }] };
  });
  if (!counter) return plan;
  const segment: Segment = { ...seg, body, batched: stillBatched(seg, body, updates.map((u) => u.buffer)) };
  const touched = buffersOf([...body, ...(plan.segments.adjointPrep?.body ?? [])]);
  const concurrent = updates.every((u) => !touched.has(u.call.B.buffer) && !touched.has(u.state.tape));
  return { ...plan, deferral: { segment, updates, counter, concurrent } };
}
