// Printing the deferred rank-1 updates (compiler/optimise/defer-updates.ts decides them): the
// function that applies a block of waiting steps as one gemm per direction, and the immediate
// application that the partial Jacobians need (they run the adjoint step at a point, off the
// tape).

import type CodeBlockWriter from 'code-block-writer';
import type { NameScope } from '../names.js';
import type { IndexExpr } from '../lower/loop-ir.js';
import { DEFER_STEPS, type Deferral } from '../optimise/defer-updates.js';
import { typedName } from './typed.js';

/** The module-level names these functions print: the function that applies a block, T and the kernels. */
export interface DeferNames {
  readonly applyDeferred: string;
  readonly T: string;
  readonly kernels: string;
}

type Code = (e: IndexExpr) => string;

/**
 * applyDeferred(count, k, wait): the block of steps k .. k + counter − 1 as one gemm per
 * direction. Where the deferral is concurrent, the kernels may run the block's gemms on a worker
 * thread while the sweep goes on (deferredGemm, flushDeferred; the sweep settles them as it
 * ends): `wait` (the sweep's last block, or an observed call, whose observer reads the
 * gradients each step) has them done before it returns.
 */
export function emitApplyDeferred(w: CodeBlockWriter, deferral: Deferral, n: DeferNames, module: NameScope, stride: (buffer: string) => string, code: Code, types = false) {
  const { count, k, d, wait } = module.child().table(['count', 'k', 'd', 'wait']);
  const steps = deferral.counter;
  const gemm = deferral.concurrent ? 'deferredGemm' : 'gemm';
  w.writeLine(`/** The deferred updates ${deferral.updates.map((u) => `${u.call.B.buffer} += ${u.call.u.buffer} ${u.state.current}ᵀ`).join(', ')} of steps k .. k + ${steps} − 1, as one product per direction. */`);
  w.write(`function ${n.applyDeferred}(${typedName(types, count, ': number')}, ${typedName(types, k, ': number')}, ${typedName(types, wait, ': number')}) `).block(() => {
    w.write(`for (let ${d} = 0; ${d} < ${count}; ${d}++) `).block(() => {
      for (const u of deferral.updates) {
        const [m, nn, ldb] = [code(u.call.m), code(u.call.n), code(u.call.ldb)];
        w.writeLine(
          `${n.kernels}.${gemm}(${u.call.B.buffer}.byteOffset + 8 * ${d} * ${stride(u.call.B.buffer)}, ${ldb}, ${u.buffer}.byteOffset + 8 * (${d} * ${DEFER_STEPS} + ${DEFER_STEPS} - ${steps}) * ${m}, 1, ${m}, ` +
            `${u.state.tape}.byteOffset + 8 * (${k} - ${n.T}) * ${nn}, ${nn}, ${m}, ${nn}, ${steps}, 0);`,
        );
      }
    });
    if (deferral.concurrent) w.writeLine(`${n.kernels}.flushDeferred(${wait});`);
    w.writeLine(`${steps} = 0;`);
  }).blankLine();
}

/** partialX/partialTheta run the adjoint step at a point, off the tape: apply each update at once, x being the point; `d` is a free local. */
export function emitApplyNow(w: CodeBlockWriter, deferral: Deferral, kernels: string, stride: (buffer: string) => string, count: string, d: string, code: Code) {
  w.write(`for (let ${d} = 0; ${d} < ${count}; ${d}++) `).block(() => {
    for (const u of deferral.updates) {
      const m = code(u.call.m);
      w.writeLine(
        `${kernels}.ger(${u.call.B.buffer}.byteOffset + 8 * ${d} * ${stride(u.call.B.buffer)}, ${code(u.call.ldb)}, ${u.buffer}.byteOffset + 8 * (${d} * ${DEFER_STEPS} + ${DEFER_STEPS - 1}) * ${m}, 1, ${u.state.current}.byteOffset, ${m}, ${code(u.call.n)});`,
      );
    }
  });
}
