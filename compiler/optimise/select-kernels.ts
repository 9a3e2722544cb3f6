// Kernel choice (a loop-IR pass of the CPU back end): which products of a segment a SIMD
// kernel computes. The lowering writes every product of buffers as one kernel statement that
// carries its loops too; this pass keeps the statement where the back end has kernels and the
// call pays for itself, and puts the loops in its place everywhere else. It runs before loop
// fusion, so the loops of products no kernel computes fuse like any others. A solve has no
// loops to put in its place: it stays, and every CPU path calls its routine.

import { foldIndex, type KernelCall, type Segment, type Stmt } from '../lower/loop-ir.js';

/** Inner extents below this stay loops: the call costs more than the loop (measured on gemv). */
export const MIN_KERNEL_WIDTH = 8;

export interface KernelChoice {
  /** Whether the back end runs kernels at all. */
  readonly kernels: boolean;
  /** Literal size of a baked dim, else null (an unbaked width is taken to be wide). */
  dimValue(name: string): number | null;
}

export function selectKernels(seg: Segment, choice: KernelChoice): Segment {
  const keep = (s: Extract<Stmt, { kind: 'kernel' }>) => {
    if (!choice.kernels) return false;
    const width = foldIndex(s.call.kernel === 'gemvGemvT2' || s.call.kernel === 'gemv2' ? s.call.first.n : s.call.n, choice.dimValue);
    return !(width.k === 'num' && width.v < MIN_KERNEL_WIDTH);
  };
  const visit = (body: readonly Stmt[]): Stmt[] =>
    body.flatMap((s) => {
      if (s.kind === 'kernel') return s.call.kernel === 'solve' || keep(s) ? [s] : visit(s.loops);
      if (s.kind === 'for') return [{ ...s, body: visit(s.body) }];
      return [s];
    });
  return { ...seg, body: visit(seg.body) };
}

/** Whether any statement of the segment calls a SIMD kernel (a solve's routine is plain JavaScript). */
export const callsKernels = (seg: Segment): boolean => calls(seg.body, (k) => k !== 'solve');

/** Whether any statement of the segment calls the paired kernel (kernels-paired.wat). */
export const callsPaired = (seg: Segment): boolean => calls(seg.body, (k) => k === 'gemvGemvT2' || k === 'gemv2');

/** Whether any statement of the segment solves a linear system. */
export const callsSolve = (seg: Segment): boolean => calls(seg.body, (k) => k === 'solve');

function calls(body: readonly Stmt[], which: (kernel: KernelCall['kernel']) => boolean): boolean {
  return body.some((s) => (s.kind === 'kernel' && which(s.call.kernel)) || (s.kind === 'for' && calls(s.body, which)));
}
