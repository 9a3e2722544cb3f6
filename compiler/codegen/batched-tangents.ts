// Printing the batched tangent products (compiler/optimise/batch-tangents.ts decides them):
// transposeForProducts(), once per sweep, copies each non-symmetric matrix into its transpose;
// tangentProducts(count), every iteration before the directions, computes every direction's
// products as one gemm.

import type CodeBlockWriter from 'code-block-writer';
import type { NameScope } from '../names.js';
import type { IndexExpr } from '../lower/loop-ir.js';
import type { TangentBatch } from '../optimise/batch-tangents.js';
import { typedName } from './typed.js';

/** The module-level names of the two functions emitBatchedProducts writes, and of the kernels. */
export interface BatchNames {
  readonly transposeForProducts: string;
  readonly tangentProducts: string;
  readonly kernels: string;
}

export function emitBatchedProducts(w: CodeBlockWriter, batch: TangentBatch, n: BatchNames, module: NameScope, code: (e: IndexExpr) => string, types = false) {
  const copies = batch.products.filter((b) => b.transposed !== null);
  if (copies.length) {
    const { i, j } = module.child().table(['i', 'j']);
    w.writeLine(`/** The matrices the tangent step multiplies, transposed for ${n.tangentProducts}. */`);
    w.write(`function ${n.transposeForProducts}() `).block(() => {
      for (const b of copies) {
        const [m, nn, lda] = [code(b.call.m), code(b.call.n), code(b.call.lda)];
        w.writeLine(`for (let ${i} = 0; ${i} < ${m}; ${i}++) for (let ${j} = 0; ${j} < ${nn}; ${j}++) ${b.transposed}[${j} * ${m} + ${i}] = ${b.call.A.buffer}[${i} * ${lda} + ${j}];`);
      }
    }).blankLine();
  }
  const { count } = module.child().table(['count']);
  w.writeLine(`/** ${batch.products.map((b) => `${b.products}[d, i] = Σ_j ${b.call.A.buffer}[i, j] ${b.state.dot}[d, j]`).join(', ')} for every direction d: one product, not count matvecs${copies.length < batch.products.length ? ' (a symmetric matrix is read as its own transpose)' : ''}. */`);
  w.write(`function ${n.tangentProducts}(${typedName(types, count, ': number')}) `).block(() => {
    for (const b of batch.products) {
      const [m, nn] = [code(b.call.m), code(b.call.n)];
      w.writeLine(`${b.products}.fill(0);`);
      w.writeLine(`${n.kernels}.gemm(${b.products}.byteOffset, ${m}, ${b.state.dot}.byteOffset, ${nn}, 1, ${b.transposed ?? b.call.A.buffer}.byteOffset, ${m}, ${count}, ${m}, ${nn}, 0);`);
    }
  }).blankLine();
}
