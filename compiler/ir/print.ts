// Text form of tensor IR, in the style of jaxpr: one numbered line per op node, inputs and
// constants inline. Used by `--dump` and by golden tests.

import { formatShape, topoSort, type Node } from './nodes.js';

export function printGraph(roots: readonly { label: string; node: Node }[]): string {
  const names = new Map<number, string>();
  const lines: string[] = [];
  const ref = (n: Node): string => {
    if (n.kind === 'const') return n.shape.length ? `${n.value}${formatShape(n.shape)}` : String(n.value);
    if (n.kind === 'input') return n.role === 'state' || n.role === 'param' || n.role === 'data' ? n.name : `${n.name}:${n.role}`;
    return names.get(n.id)!;
  };
  for (const node of topoSort(roots.map((r) => r.node))) {
    if (node.kind !== 'op') continue;
    const name = `%${names.size}`;
    names.set(node.id, name);
    lines.push(`  ${name}: ${formatShape(node.shape)} = ${node.op}(${node.args.map(ref).join(', ')})`);
  }
  for (const r of roots) lines.push(`  ${r.label} <- ${ref(r.node)}`);
  return lines.join('\n');
}
