// Which finiteness checks may run every few steps instead of every step. The drivers stop at
// the first iteration whose values are NaN or ±Inf and name it. Scanning every buffer every step
// costs as much as a small map's step itself, but a check every CHECK_EVERY steps finds the same
// iteration only if a bad value cannot vanish in between (tanh(Inf) = 1, exp(−Inf) = 0, a
// comparison): it must reach the next iterate through arguments the registry marks
// `keepsNonFinite` (a + Inf, 0 · Inf = NaN, a matrix-vector product). Where it provably does,
// a failed sparse check rewinds to the last checked iterate and runs again checking every
// step, so the error names the same iteration as before (codegen/schedule-js.ts prints this).

import { topoSort, type Node } from '../ir/nodes.js';
import { getOp } from '../ops/registry.js';
import type { Plan } from '../plan.js';
import type { Carried } from '../schedule/schedule.js';

/** Steps between two sparse checks. */
export const CHECK_EVERY = 16;

/**
 * Whether a non-finite value in any of `inputs` always leaves one in some output: every input
 * reaches an output through `keepsNonFinite` arguments only. (Each input then has a successor
 * that is bad whenever it is, so a bad iterate has bad successors at every later step.)
 */
export function keepsNonFinite(outputs: readonly (Node | null)[], inputs: readonly Node[]): boolean {
  const roots = outputs.filter((o): o is Node => o !== null);
  if (!roots.length) return false;
  const order = topoSort(roots);
  return inputs.every((input) => {
    const bad = new Set<number>([input.id]);
    for (const n of order) {
      if (n.kind !== 'op') continue;
      const through = getOp(n.op).keepsNonFinite ?? [];
      if (through.some((i) => bad.has(n.args[i]!.id))) bad.add(n.id);
    }
    return roots.some((r) => bad.has(r.id));
  });
}

/** The carried values (iterate, tangents, adjoints) whose checks may be sparse in this plan. */
export function sparseCheckable(plan: Plan): ReadonlySet<Carried> {
  const { model, derivatives: d, graphs } = plan;
  const out = new Set<Carried>();
  if (keepsNonFinite(graphs.update, model.state.map((s) => s.node))) out.add('state');
  const tangents = [graphs.tangent, ...(graphs.sweptTangent ? [graphs.sweptTangent] : [])];
  if (tangents.every((t) => keepsNonFinite(t, d.stateTangents))) out.add('tangents');
  if (keepsNonFinite(graphs.adjoint.slice(0, model.state.length), d.stateCotangents)) out.add('adjoints');
  return out;
}
