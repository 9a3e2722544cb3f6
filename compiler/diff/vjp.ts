// Reverse mode: the symbolic vector-Jacobian product of a graph. Cotangents flow from the
// outputs to the inputs in reverse topological order; each op contributes through its
// partials (elementwise: ā += unbroadcast(ȳ ∂y/∂a)) or its transpose rule (structural).
// Only nodes that depend on a requested input are visited.

import type { Builder } from '../ir/builder.js';
import { topoSort, type InputNode, type Node } from '../ir/nodes.js';
import { getOp } from '../ops/registry.js';

/**
 * Cotangents of `wrt` given the cotangent of each output (null = zero). Returns, for each
 * `wrt` input, the symbolic sum of its contributions, or null when it gets none.
 */
export function vjp(
  b: Builder,
  outputs: readonly Node[],
  cotangents: readonly (Node | null)[],
  wrt: readonly InputNode[],
): (Node | null)[] {
  const order = topoSort(outputs);
  const wanted = new Set(wrt.map((w) => w.id));
  const relevant = new Set<number>();
  for (const node of order) {
    if (wanted.has(node.id) || (node.kind === 'op' && node.args.some((a) => relevant.has(a.id)))) relevant.add(node.id);
  }

  const contributions = new Map<number, Node[]>();
  const push = (node: Node, c: Node | null) => {
    if (!c || !relevant.has(node.id)) return;
    const list = contributions.get(node.id);
    if (list) list.push(c);
    else contributions.set(node.id, [c]);
  };
  outputs.forEach((o, i) => push(o, cotangents[i] ?? null));

  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k]!;
    if (node.kind !== 'op') continue;
    const bar = b.addAll(contributions.get(node.id) ?? []);
    if (!bar) continue;
    const def = getOp(node.op);
    if (def.kind === 'structural') {
      def.vjp(b, node.args, bar, node).forEach((c, i) => push(node.args[i]!, c));
    } else {
      const partials = def.partials(b, node.args, node);
      node.args.forEach((arg, i) => {
        const p = partials[i];
        if (p && relevant.has(arg.id)) push(arg, b.unbroadcast(b.mul(bar, p), arg.shape));
      });
    }
  }
  return wrt.map((w) => b.addAll(contributions.get(w.id) ?? []));
}
