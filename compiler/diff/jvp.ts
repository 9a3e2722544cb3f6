// Forward mode: the symbolic Jacobian-vector product of a graph. Walks the DAG in
// topological order and builds each node's tangent from its arguments' tangents, with the
// registry's partials (elementwise ops) or JVP rules (structural ops). Null is an exact zero
// tangent, so parts that do not depend on the differentiated inputs cost nothing.

import type { Builder } from '../ir/builder.js';
import { topoSort, type InputNode, type Node } from '../ir/nodes.js';
import { getOp } from '../ops/registry.js';

/** Tangents of `outputs` given the tangent of each input (null when an input is held fixed). */
export function jvp(b: Builder, outputs: readonly Node[], tangentOf: (input: InputNode) => Node | null): (Node | null)[] {
  const tangent = new Map<number, Node | null>();
  for (const node of topoSort(outputs)) {
    if (node.kind === 'const') tangent.set(node.id, null);
    else if (node.kind === 'input') tangent.set(node.id, tangentOf(node));
    else {
      const argTangents = node.args.map((a) => tangent.get(a.id) ?? null);
      if (argTangents.every((t) => t === null)) {
        tangent.set(node.id, null);
        continue;
      }
      const def = getOp(node.op);
      if (def.kind === 'structural') {
        tangent.set(node.id, def.jvp(b, node.args, argTangents, node));
      } else {
        // ẏ = Σᵢ ∂y/∂aᵢ · ȧᵢ (scalars broadcast)
        const partials = def.partials(b, node.args, node);
        const terms = argTangents.map((t, i) => (t && partials[i] ? b.mul(partials[i]!, t) : null));
        const sum = b.addAll(terms);
        tangent.set(node.id, sum ? b.broadcastTo(sum, node.shape) : null);
      }
    }
  }
  return outputs.map((o) => tangent.get(o.id) ?? null);
}
