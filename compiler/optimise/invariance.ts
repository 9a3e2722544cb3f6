// Which nodes are loop invariants: they depend only on parameters, data and constants,
// never on the iterate or on tangents/cotangents, so they can be computed once per call.
// `alsoFixed`: further inputs held fixed (the parameter tangents along one direction: what
// depends only on them and on invariants can be computed once per sweep).

import { topoSort, type Node } from '../ir/nodes.js';

export function invariantNodes(roots: readonly Node[], alsoFixed: ReadonlySet<number> = new Set()): Set<number> {
  const invariant = new Set<number>();
  for (const n of topoSort(roots)) {
    if (n.kind === 'const') invariant.add(n.id);
    else if (n.kind === 'input') {
      if (n.role === 'param' || n.role === 'data' || alsoFixed.has(n.id)) invariant.add(n.id);
    } else if (n.args.every((a) => invariant.has(a.id))) invariant.add(n.id);
  }
  return invariant;
}
