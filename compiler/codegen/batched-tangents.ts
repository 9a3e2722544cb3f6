// Matrix-vector products of the tangent step, batched over the directions of a forward sweep.
// With P directions (jacobianForward: one per parameter entry) the tangent step runs P times
// per iteration, each time multiplying the same matrix by its direction's tangent: P gemv
// calls of one row block each. Before the directions' loop, one gemm computes all P products
// at once (rows = directions), which runs faster per flop and is large enough to split over
// worker threads; each direction's step then copies its row instead of calling gemv.
//
// gemm wants its right operand row-major along the output, so the matrix is read transposed,
// from a copy Aᵀ made once per sweep: only a matrix the iteration does not write is batched.

import type CodeBlockWriter from 'code-block-writer';
import type { Plan, StateBuffers } from '../plan.js';
import { writesOf, type IndexExpr, type KernelCall, type Segment, type Stmt } from '../lower/loop-ir.js';
import type { NameScope } from '../names.js';
import { indexCode } from './precedence.js';

export interface BatchedProduct {
  /** The tangent segment's gemv nest this replaces. */
  readonly nest: Stmt;
  readonly call: Extract<KernelCall, { kernel: 'gemv' }>;
  /** The state whose tangent the matrix multiplies. */
  readonly state: StateBuffers;
  /** Per-direction buffer: one row of m products per direction. */
  readonly products: string;
  /** Fixed buffer of Aᵀ (n rows of m). */
  readonly transposed: string;
  /** Rows and columns of A and its row stride, as code. */
  readonly m: string;
  readonly n: string;
  readonly lda: string;
}

type DimValue = (name: string) => number | null;

/**
 * The gemv nests of the tangent step that can be batched: y = A ẋ with ẋ a whole state tangent,
 * A and y the same for every direction, and A written by neither the tangent step nor the
 * iteration (a hoisted invariant, a parameter or data).
 */
export function batchedProducts(plan: Plan, dimValue: DimValue, size: (v: { readonly dims: readonly string[] }) => string): BatchedProduct[] {
  const seg = plan.segments.tangent;
  if (!seg) return [];
  const int = (e: IndexExpr) => indexCode(e, dimValue, (d) => plan.dimNames.get(d)!);
  const inTangentStep = writesOf(seg.body);
  const inIteration = writesOf([plan.segments.step, plan.segments.stepForTangent, plan.segments.forwardStep].flatMap((s) => s?.body ?? []));
  const out: BatchedProduct[] = [];
  for (const nest of seg.body) {
    const call = nest.kind === 'kernel' ? nest.call : null;
    if (call?.kernel !== 'gemv') continue;
    const state = plan.state.find((s) => s.dot === call.x.buffer);
    if (!state || int(call.x.base) !== '0' || int(call.n) !== size(state)) continue;
    if (seg.batched.includes(call.A.buffer) || seg.batched.includes(call.y.buffer) || inTangentStep.has(call.A.buffer) || inIteration.has(call.A.buffer)) continue;
    if (int(call.A.base) !== '0' || int(call.y.base) !== '0') continue;
    out.push({
      nest, call, state,
      products: plan.names.fresh(`${call.y.buffer}_all`),
      transposed: plan.names.fresh(`${call.A.buffer}_t`),
      m: int(call.m), n: int(call.n), lda: int(call.lda),
    });
  }
  return out;
}

/** In the tangent step `seg` (its direction is its batch index): its row of the batch (the statement that replaces the gemv). */
export function productRowLine(b: BatchedProduct, seg: Segment): string {
  const d = seg.batchIndex;
  return `${b.call.y.buffer}.set(${b.products}.subarray(${d} * ${b.m}, (${d} + 1) * ${b.m}));`;
}

/** The module-level names of the two functions emitBatchedProducts writes, and of the kernels. */
export interface BatchNames {
  readonly transposeForProducts: string;
  readonly tangentProducts: string;
  readonly kernels: string;
}

/** transposeForProducts() (once per sweep) and tangentProducts(count) (every iteration, before the directions). */
export function emitBatchedProducts(w: CodeBlockWriter, batched: readonly BatchedProduct[], n: BatchNames, module: NameScope) {
  const { i, j } = module.child().table(['i', 'j']);
  w.writeLine(`/** The matrices the tangent step multiplies, transposed for ${n.tangentProducts}. */`);
  w.write(`function ${n.transposeForProducts}() `).block(() => {
    for (const b of batched) w.writeLine(`for (let ${i} = 0; ${i} < ${b.m}; ${i}++) for (let ${j} = 0; ${j} < ${b.n}; ${j}++) ${b.transposed}[${j} * ${b.m} + ${i}] = ${b.call.A.buffer}[${i} * ${b.lda} + ${j}];`);
  }).blankLine();
  const { count } = module.child().table(['count']);
  w.writeLine(`/** ${batched.map((b) => `${b.products}[d, i] = Σ_j ${b.call.A.buffer}[i, j] ${b.state.dot}[d, j]`).join(', ')} for every direction d: one product, not count matvecs. */`);
  w.write(`function ${n.tangentProducts}(${count}) `).block(() => {
    for (const b of batched) {
      w.writeLine(`${b.products}.fill(0);`);
      w.writeLine(`${n.kernels}.gemm(${b.products}.byteOffset, ${b.m}, ${b.state.dot}.byteOffset, ${b.n}, 1, ${b.transposed}.byteOffset, ${b.m}, ${count}, ${b.m}, ${b.n}, 0);`);
    }
  }).blankLine();
}
