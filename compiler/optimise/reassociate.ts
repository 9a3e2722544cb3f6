// Reassociation of chained matrix-vector products with a cost model:
//   M₁(M₂ v)      -> (M₁M₂) v
//   M₁(M₂ v ± w)  -> (M₁M₂) v ± M₁ w
// when M₁, M₂ (and w) are loop invariants, so M₁M₂ and M₁w are computed once per call
// (hoisted), and the product is cheaper over the run than the two matvecs it replaces.
// Assumes numeric dims; without them nothing is rewritten (the cost is unknown).

import type { Builder } from '../ir/builder.js';
import { topoSort, type Node } from '../ir/nodes.js';
import { invariantNodes } from './invariance.js';

export interface CostModel {
  /** Size of each dim. */
  readonly dims: Readonly<Record<string, number>>;
  /** How many times per call each root group is evaluated (e.g. K for the primal step). */
  readonly applications: number;
  /**
   * What a multiply-add of the hoisted product costs against one of a matrix-vector product:
   * 1 for plain loops; the SIMD kernels' gemm runs faster per flop than their gemv, and
   * twice as fast again for a symmetric AᵀA (measured: docs/benchmarks.md).
   */
  readonly productCost?: { readonly general: number; readonly symmetric: number };
}

const cost = (m: Node, dims: CostModel['dims']) => m.shape.reduce((p, d) => p * (dims[d] ?? NaN), 1);

/** Roots with reassociation applied where the model says it pays. */
export function reassociate(b: Builder, roots: readonly Node[], model: CostModel | null): Node[] {
  if (!model) return [...roots];
  const invariantIds = new Set<number>();
  const invariant = { has: (id: number) => invariantIds.has(id) };
  const note = (n: Node) => invariantNodes([n]).forEach((id) => invariantIds.add(id));
  const pays = (m1: Node, m2: Node) => {
    const [r1, c1] = m1.shape.map((d) => model.dims[d]!) as [number, number];
    const c2 = model.dims[m2.shape[1]!]!;
    const perApplicationSaving = cost(m1, model.dims) + cost(m2, model.dims) - r1 * c2;
    const symmetric = m1.kind === 'op' && m1.op === 'transpose' && m1.args[0]!.id === m2.id;
    const factor = model.productCost ? (symmetric ? model.productCost.symmetric : model.productCost.general) : 1;
    return model.applications * perApplicationSaving > factor * r1 * c1 * c2;
  };
  const memo = new Map<number, Node>();
  const rebuilt = (n: Node): Node => memo.get(n.id) ?? n;
  for (const n of topoSort(roots)) {
    if (n.kind !== 'op') continue;
    const args = n.args.map(rebuilt);
    args.forEach(note);
    let out = b.op(n.op, ...args);
    if (n.op === 'matvec' && invariant.has(args[0]!.id)) {
      const m1 = args[0]!;
      const inner = args[1]!;
      const chained = (x: Node) => x.kind === 'op' && x.op === 'matvec' && invariant.has(x.args[0]!.id) && pays(m1, x.args[0]!);
      if (chained(inner)) {
        const [m2, v] = (inner as { args: readonly Node[] }).args as [Node, Node];
        out = b.matvec(b.matmul(m1, m2), v);
      } else if (inner.kind === 'op' && (inner.op === 'sub' || inner.op === 'add')) {
        const [l, r] = inner.args as [Node, Node];
        if (chained(l) && invariant.has(r.id) && r.shape.length === 1) {
          const [m2, v] = (l as { args: readonly Node[] }).args as [Node, Node];
          out = b.op(inner.op, b.matvec(b.matmul(m1, m2), v), b.matvec(m1, r));
        }
      }
    }
    memo.set(n.id, out);
  }
  return roots.map(rebuilt);
}
