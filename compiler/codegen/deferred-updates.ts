// Rank-1 gradient updates of the backward sweep, W̄ += u xᵀ with x the taped state, deferred
// over blocks of DEFER_STEPS steps and applied as one gemm. A rank-1 update reads and writes
// all of W̄ for 2 flops an entry; a block of R of them is a matrix product that passes over W̄
// once. The x's need no copy (a block is R consecutive tape rows); the u's are copied into a
// per-direction buffer, newest step last, so its rows line up with the tape rows.

import type CodeBlockWriter from 'code-block-writer';
import type { Plan, StateBuffers } from '../plan.js';
import type { IndexExpr, KernelCall, Segment, Stmt } from '../lower/loop-ir.js';
import type { NameScope } from '../names.js';
import { indexCode } from './precedence.js';

/** Steps per block: W̄ is passed over once per block instead of once per step. */
export const DEFER_STEPS = 16;

export interface DeferredUpdate {
  /** The adjoint segment's nest this replaces. */
  readonly nest: Stmt;
  readonly call: Extract<KernelCall, { kernel: 'ger' }>;
  /** The state whose taped rows are x. */
  readonly state: StateBuffers;
  /** The per-direction buffer of the u's: DEFER_STEPS rows of m. */
  readonly buffer: string;
  /** Rows of W̄ (entries of u), columns (entries of x) and its row stride, as code. */
  readonly m: string;
  readonly n: string;
  readonly ldb: string;
}

type DimValue = (name: string) => number | null;

/** The module-level names these functions print: the deferred-step counter, the function that applies a block, T and the kernels. */
export interface DeferNames {
  readonly deferredSteps: string;
  readonly applyDeferred: string;
  readonly T: string;
  readonly kernels: string;
}

/**
 * The nests of the adjoint step that can wait: a ger into a parameter's gradient whose x is a
 * state's current value (restored from the tape) and whose u is an unbatched contiguous vector.
 */
export function deferredUpdates(plan: Plan, dimValue: DimValue, size: (v: { readonly dims: readonly string[] }) => string): DeferredUpdate[] {
  const seg = plan.segments.adjoint;
  if (!seg || plan.options.K === plan.options.truncate) return [];
  const int = (e: IndexExpr) => indexCode(e, dimValue, (d) => plan.dimNames.get(d)!);
  const bars = new Set(plan.params.map((p) => p.bar));
  const out: DeferredUpdate[] = [];
  for (const nest of seg.body) {
    const call = nest.kind === 'kernel' ? nest.call : null;
    if (call?.kernel !== 'ger' || !bars.has(call.B.buffer) || seg.batched.includes(call.u.buffer)) continue;
    const state = plan.state.find((s) => s.current === call.w.buffer);
    if (!state || int(call.B.base) !== '0' || int(call.u.base) !== '0' || int(call.w.base) !== '0' || int(call.incu) !== '1') continue;
    // x is a whole state row: its length is the number of columns
    if (int(call.n) !== size(state)) continue;
    out.push({ nest, call, state, buffer: plan.names.fresh(`${call.B.buffer}_defer`), m: int(call.m), n: int(call.n), ldb: int(call.ldb) });
  }
  return out;
}

/** In the adjoint step `seg` (its direction is its batch index): u into its row of the block (the statement that replaces the ger). */
export function deferLine(u: DeferredUpdate, seg: Segment, n: DeferNames): string {
  const i = seg.loopNames[0]!;
  return `for (let ${i} = 0; ${i} < ${u.m}; ${i}++) ${u.buffer}[(${seg.batchIndex} * ${DEFER_STEPS} + ${DEFER_STEPS - 1} - ${n.deferredSteps}) * ${u.m} + ${i}] = ${u.call.u.buffer}[${i}];`;
}

/** applyDeferred(count, k): the block of steps k .. k + deferredSteps − 1 as one gemm per direction. */
export function emitApplyDeferred(w: CodeBlockWriter, updates: readonly DeferredUpdate[], n: DeferNames, locals: NameScope, stride: (buffer: string) => string) {
  const { count, k, d } = locals.child().table(['count', 'k', 'd']);
  w.writeLine(`/** The deferred updates ${updates.map((u) => `${u.call.B.buffer} += ${u.call.u.buffer} ${u.state.current}ᵀ`).join(', ')} of steps k .. k + ${n.deferredSteps} − 1, as one product per direction. */`);
  w.write(`function ${n.applyDeferred}(${count}, ${k}) `).block(() => {
    w.write(`for (let ${d} = 0; ${d} < ${count}; ${d}++) `).block(() => {
      for (const u of updates) {
        w.writeLine(
          `${n.kernels}.gemm(${u.call.B.buffer}.byteOffset + 8 * ${d} * ${stride(u.call.B.buffer)}, ${u.ldb}, ${u.buffer}.byteOffset + 8 * (${d} * ${DEFER_STEPS} + ${DEFER_STEPS} - ${n.deferredSteps}) * ${u.m}, 1, ${u.m}, ` +
            `${u.state.tape}.byteOffset + 8 * (${k} - ${n.T}) * ${u.n}, ${u.n}, ${u.m}, ${u.n}, ${n.deferredSteps}, 0);`,
        );
      }
    });
    w.writeLine(`${n.deferredSteps} = 0;`);
  }).blankLine();
}

/** partialX/partialTheta run the adjoint step at a point, off the tape: apply each update at once, x being the point; `d` is a free local. */
export function emitApplyNow(w: CodeBlockWriter, updates: readonly DeferredUpdate[], kernels: string, stride: (buffer: string) => string, count: string, d: string) {
  w.write(`for (let ${d} = 0; ${d} < ${count}; ${d}++) `).block(() => {
    for (const u of updates) {
      w.writeLine(
        `${kernels}.ger(${u.call.B.buffer}.byteOffset + 8 * ${d} * ${stride(u.call.B.buffer)}, ${u.ldb}, ${u.buffer}.byteOffset + 8 * (${d} * ${DEFER_STEPS} + ${DEFER_STEPS - 1}) * ${u.m}, 1, ${u.state.current}.byteOffset, ${u.m}, ${u.n});`,
      );
    }
  });
}
