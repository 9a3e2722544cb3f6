// The matrix products phic's generated code performs in one call of a workload, counted from
// the kernel calls the compiler emits for it (reverse ridge: samples/bench/peers/phic-compile.ts
// reports whether the module hoisted AᵀA and Aᵀb out of the loop). Each product is compared in
// docs/peers.md with the same-shaped BLAS call timed by numpy (roofline.py), so the roofline
// column divides the time those BLAS calls would take by phic's time, not nominal flops.

import type { WorkloadMeta } from './workloads.js';

/** One kind of product: gemv y = A x (matvec), y = Aᵀ x (matvecT), or C = A B (matmul: m×n · n×k). */
export interface Product {
  kind: 'matvec' | 'matvecT' | 'matmul';
  m: number;
  n: number;
  k?: number;
  /** How many times one call performs it. */
  count: number;
  what: string;
}

export const productFlops = (p: Product): number => 2 * p.m * p.n * (p.k ?? 1) * p.count;

/** The shape key shared with roofline.py's entries. */
export const shapeKey = (p: { kind: string; m: number; n: number; k?: number }): string => `${p.kind} ${p.m}×${p.n}${p.k === undefined ? '' : `·${p.k}`}`;

/**
 * The products one call performs, given whether the module hoisted the loop invariants
 * (AᵀA, Aᵀb; Uθ for the tanh layer, which every peer computes once) and whether its forward
 * sweep along one direction forms their tangents once (`swept`: Ġ = ȦᵀA + AᵀȦ, ċ = Ȧᵀb + Aᵀḃ).
 */
export function performedProducts(meta: Pick<WorkloadMeta, 'problem' | 'derivative' | 'dims' | 'K' | 't'>, hoisted: boolean, swept = false): Product[] {
  const { K, t } = meta;
  const live = K - t;
  if (meta.problem === 'tanh') {
    const { n, p } = meta.dims as { n: number; p: number };
    const deferred = 16; // W̄ += δ xᵀ is deferred over 16 steps and applied as one rank-16 product
    const out: Product[] = [
      { kind: 'matvec', m: n, n: p, count: 1, what: 'Uθ (once)' },
      { kind: 'matvec', m: n, n, count: K, what: 'W x (forward)' },
      { kind: 'matvecT', m: n, n, count: live, what: 'Wᵀδ (backward)' },
    ];
    if (live >= deferred) out.push({ kind: 'matmul', m: n, n: deferred, k: n, count: Math.floor(live / deferred), what: `W̄ += Δ Xᵀ, ${deferred} steps at once` });
    if (live % deferred) out.push({ kind: 'matmul', m: n, n: live % deferred, k: n, count: 1, what: 'W̄ += Δ Xᵀ, the remaining steps' });
    return out;
  }
  const { m, n } = meta.dims as { m: number; n: number };
  const invariants: Product[] = hoisted
    ? [
        { kind: 'matmul', m: n, n: m, k: n, count: 1, what: 'G = AᵀA (once)' },
        { kind: 'matvecT', m, n, count: 1, what: 'Aᵀb (once)' },
      ]
    : [];
  // the residual direction: G x (hoisted) or A x then Aᵀ r (not hoisted)
  const gradient = (count: number, what: string): Product[] =>
    hoisted ? [{ kind: 'matvec', m: n, n, count, what: `G ${what}` }] : [{ kind: 'matvec', m, n, count, what: `A ${what}` }, { kind: 'matvecT', m, n, count, what: `Aᵀ(A ${what})` }];
  if (meta.problem === 'least_squares' && hoisted && swept) {
    // forward mode, one direction: Ġ and ċ once per sweep, then G x, Ġ x and G ẋ per step
    return [
      ...invariants,
      { kind: 'matmul', m: n, n: m, k: n, count: 2, what: 'Ġ = ȦᵀA + AᵀȦ (once)' },
      { kind: 'matvecT', m, n, count: 2, what: 'ċ = Ȧᵀb + Aᵀḃ (once)' },
      ...gradient(K, 'x'),
      { kind: 'matvec', m: n, n, count: 2 * K, what: 'Ġ x, G ẋ (tangent)' },
    ];
  }
  if (meta.problem === 'least_squares') {
    // forward mode, one direction: the primal through G; the tangent Ȧᵀr + Aᵀ(Ȧx + Aẋ − ḃ) through A and Ȧ
    return [
      ...invariants,
      ...gradient(K, 'x'),
      { kind: 'matvec', m, n, count: 3 * K, what: 'A x, Ȧ x, A ẋ (tangent)' },
      { kind: 'matvecT', m, n, count: 2 * K, what: 'Ȧᵀ r, Aᵀ ṙ (tangent)' },
    ];
  }
  if (meta.derivative === 'jacobian') {
    // all n directions at once: one product with the tangent matrix per step
    const tangent: Product[] = hoisted
      ? [{ kind: 'matmul', m: n, n, k: n, count: live, what: 'G Ẋ (all directions)' }]
      : [
          { kind: 'matmul', m, n, k: n, count: live, what: 'A Ẋ (all directions)' },
          { kind: 'matmul', m: n, n: m, k: n, count: live, what: 'Aᵀ(A Ẋ) (all directions)' },
        ];
    return [...invariants, ...gradient(K, 'x'), ...tangent];
  }
  // reverse mode: K primal steps, K − t adjoint steps
  return [...invariants, ...gradient(K, 'x'), ...gradient(live, 'x̄ (backward)')];
}
