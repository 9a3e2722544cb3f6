// A reference interpreter for tensor IR in float64: evaluates nodes with the registry's
// scalar functions and structural evaluations. Slow and simple; tests compare against it.

import { topoSort, type InputNode, type Node } from './nodes.js';
import { getOp, type Tensor } from '../ops/registry.js';

/** Values of inputs, keyed by `${role}:${name}`. */
export type Environment = ReadonlyMap<string, Tensor>;
export const inputKey = (n: Pick<InputNode, 'role' | 'name'>) => `${n.role}:${n.name}`;

export function evaluate(roots: readonly Node[], env: Environment, dims: Readonly<Record<string, number>>): Tensor[] {
  const values = new Map<number, Tensor>();
  const shapeOf = (n: Node) => n.shape.map((d) => {
    const v = dims[d];
    if (v === undefined) throw new Error(`no size for dim ${d}`);
    return v;
  });
  for (const n of topoSort(roots)) {
    if (n.kind === 'const') {
      const shape = shapeOf(n);
      values.set(n.id, { shape, data: new Float64Array(shape.reduce((p, d) => p * d, 1)).fill(n.value) });
    } else if (n.kind === 'input') {
      const v = env.get(inputKey(n));
      if (!v) throw new Error(`no value for input ${inputKey(n)}`);
      values.set(n.id, v);
    } else {
      const def = getOp(n.op);
      const args = n.args.map((a) => values.get(a.id)!);
      if (def.kind === 'structural') values.set(n.id, def.evaluate(args));
      else {
        const shape = shapeOf(n);
        const size = shape.reduce((p, d) => p * d, 1);
        const data = new Float64Array(size);
        for (let i = 0; i < size; i++) data[i] = def.scalar(...args.map((a) => (a.data.length === 1 && size !== 1 ? a.data[0]! : a.data[i]!)));
        values.set(n.id, { shape, data });
      }
    }
  }
  return roots.map((r) => values.get(r.id)!);
}
