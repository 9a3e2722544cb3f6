// Forward mode over hoisted invariants. Reassociation hoists products of parameters out of the
// loop (G = AᵀA, c = Aᵀb), but the tangent step is the derivative of the map as written, so a
// sweep along a direction that moves A still pays for Ȧx, Aẋ, Ȧᵀr and Aᵀṙ every step. Along one
// given direction the parameter tangents θ̇ do not change from step to step: the tangent of the
// reassociated step, ẋ⁺ = ẋ − α(Ġx + Gẋ − ċ), reads Ġ = ȦᵀA + AᵀȦ and ċ = Ȧᵀb + Aᵀḃ, which
// depend only on parameters, data and θ̇, and so can be formed once per sweep. This pass picks
// that tangent when the cost model says it is cheaper over the sweep.

import type { Builder } from '../ir/builder.js';
import { topoSort, type InputNode, type Node } from '../ir/nodes.js';
import { isViewOp } from '../ops/registry.js';
import { jvp } from '../diff/jvp.js';
import { invariantNodes } from './invariance.js';

export interface SweptTangent {
  /** ẋ⁺ per state component: the tangent of the reassociated step. */
  readonly tangent: readonly (Node | null)[];
  /** Nodes fixed along one direction (loop invariants and what depends only on them and θ̇). */
  readonly sweepInvariant: ReadonlySet<number>;
}

export interface SweepContext {
  readonly b: Builder;
  /** The step after reassociation (what the primal sweep computes). */
  readonly update: readonly Node[];
  /** The tangent step it replaces: the derivative of the map as written, reassociated. */
  readonly tangent: readonly (Node | null)[];
  /** Tangent input of each differentiated input: states first, then parameters. */
  readonly tangentOf: ReadonlyMap<number, InputNode>;
  readonly paramTangents: readonly InputNode[];
  readonly dims: Readonly<Record<string, number>>;
  /** Steps of one sweep (K − t). */
  readonly steps: number;
}

/** The tangent of the reassociated step, when forming the tangents of its invariants once per sweep pays; else null. */
export function sweptTangent(ctx: SweepContext): SweptTangent | null {
  const tangent = jvp(ctx.b, ctx.update, (input) => ctx.tangentOf.get(input.id) ?? null);
  const roots = (xs: readonly (Node | null)[]) => xs.filter((x): x is Node => x !== null);
  const invariant = invariantNodes([...ctx.update, ...roots(tangent), ...roots(ctx.tangent)]);
  const sweepInvariant = invariantNodes(roots(tangent), new Set(ctx.paramTangents.map((t) => t.id)));
  const onceBySweep = [...sweepInvariant].filter((id) => !invariant.has(id));
  if (!onceBySweep.length) return null;
  // what the primal step computes anyway: the fused forward step shares it
  const primal = new Set(topoSort(ctx.update).map((n) => n.id));
  const perStep = (xs: readonly (Node | null)[], fixed: ReadonlySet<number>) => graphCost(roots(xs), (n) => fixed.has(n.id) || primal.has(n.id), ctx.dims);
  const before = ctx.steps * perStep(ctx.tangent, invariant);
  const after = ctx.steps * perStep(tangent, sweepInvariant) + graphCost(roots(tangent), (n) => !sweepInvariant.has(n.id) || invariant.has(n.id), ctx.dims);
  return after < before ? { tangent, sweepInvariant } : null;
}

/**
 * Multiply-adds and elementwise operations of one evaluation of the op nodes under `roots` that
 * `skip` does not exclude (views cost nothing: their consumers read them in place).
 */
function graphCost(roots: readonly Node[], skip: (n: Node) => boolean, dims: Readonly<Record<string, number>>): number {
  const size = (n: Node) => n.shape.reduce((p, d) => p * (dims[d] ?? NaN), 1);
  let total = 0;
  for (const n of topoSort(roots)) {
    if (n.kind !== 'op' || skip(n) || isViewOp(n.op)) continue;
    if (n.op === 'matvec') total += size(n.args[0]!);
    else if (n.op === 'matmul') total += size(n.args[0]!) * (dims[n.args[1]!.shape[1]!] ?? NaN);
    else total += size(n);
  }
  return total;
}
