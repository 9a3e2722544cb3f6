// Update maps from an objective f(x, θ) and a method. The gradient ∇ₓf is itself a symbolic
// reverse-mode derivative of the objective, so Φ is ordinary IR that can be differentiated
// again. Heavy-ball and Nesterov add a previous-iterate component `<x>_prev` to the state.
//   gd:          x⁺ = x − α∇f(x)
//   heavy-ball:  x⁺ = x − α∇f(x) + β(x − x_prev),   x_prev⁺ = x
//   nesterov:    y = x + β(x − x_prev),  x⁺ = y − α∇f(y),   x_prev⁺ = x

import { specError } from '../errors.js';
import type { Builder } from '../ir/builder.js';
import { formatShape, type InputNode, type Node } from '../ir/nodes.js';
import type { FormulaTranslator } from '../parse/from-mathjs.js';
import type { SpecSource } from '../spec/source.js';
import type { MapSpec } from '../spec/types.js';
import { identifierProblem } from '../spec/identifiers.js';
import { vjp } from '../diff/vjp.js';
import type { StateVariable } from '../model.js';

export function deriveUpdate(
  b: Builder,
  spec: MapSpec,
  userState: readonly StateVariable[],
  translator: FormulaTranslator,
  source: SpecSource,
): { state: StateVariable[]; update: Node[] } {
  const method = spec.method!;
  const objective = spec.objective!;
  const scalarOf = (value: number | string | undefined, field: string): Node => {
    if (typeof value === 'number') return b.constant(value);
    const node = translator.translate(value!, field);
    if (node.shape.length !== 0) {
      throw specError(`${field.split('.')[1]} must be a scalar, got ${formatShape(node.shape)}`, { field, formula: value, location: source.locate(field) });
    }
    return node;
  };
  const step = scalarOf(method.step, 'method.step');

  /** ∇ₓf, symbolically by reverse mode, evaluated at `at` (by substituting the state). */
  const gradientAt = (at: readonly Node[]): Node[] => {
    const f = translator.translate(objective, 'objective');
    if (f.shape.length !== 0) {
      throw specError(`the objective must be a scalar, got ${formatShape(f.shape)}`, { field: 'objective', formula: objective, location: source.locate('objective') });
    }
    const inputs = userState.map((s) => s.node);
    const grads = vjp(b, [f], [b.constant(1)], inputs).map((g, i) => g ?? b.constant(0, userState[i]!.shape));
    const replace = new Map(inputs.map((x, i) => [x.id, at[i]!]));
    return grads.map((g) => substitute(b, g, replace));
  };

  const xs = userState.map((s) => s.node as Node);
  if (method.name === 'gd') {
    const grads = gradientAt(xs);
    return { state: [...userState], update: xs.map((x, i) => b.sub(x, b.mul(step, grads[i]!))) };
  }

  const momentum = scalarOf(method.momentum, 'method.momentum');
  const taken = new Set([
    ...Object.keys(spec.state), ...Object.keys(spec.params), ...Object.keys(spec.data ?? {}),
    ...Object.keys(spec.constants ?? {}), ...Object.keys(spec.functions ?? {}),
  ]);
  const prevState: StateVariable[] = userState.map((s) => {
    const name = `${s.name}_prev`;
    const problem = identifierProblem(name) ?? (taken.has(name) ? `'${name}' is already used` : null);
    if (problem) throw specError(`${method.name} adds a state component '${name}': ${problem}`, { field: 'method.name', location: source.locate('method.name') });
    return { name, shape: s.shape, node: b.input(name, 'state', s.shape) as InputNode, initialFrom: s.name };
  });
  const prevs = prevState.map((p) => p.node as Node);
  const velocity = xs.map((x, i) => b.mul(momentum, b.sub(x, prevs[i]!)));

  let next: Node[];
  if (method.name === 'heavy-ball') {
    const grads = gradientAt(xs);
    next = xs.map((x, i) => b.add(b.sub(x, b.mul(step, grads[i]!)), velocity[i]!));
  } else {
    const ys = xs.map((x, i) => b.add(x, velocity[i]!));
    const grads = gradientAt(ys);
    next = ys.map((y, i) => b.sub(y, b.mul(step, grads[i]!)));
  }
  return { state: [...userState, ...prevState], update: [...next, ...xs] };
}

/** `node` with inputs replaced (by id), rebuilt through the builder. */
export function substitute(b: Builder, node: Node, replace: ReadonlyMap<number, Node>): Node {
  const memo = new Map<number, Node>();
  const visit = (n: Node): Node => {
    const hit = replace.get(n.id) ?? memo.get(n.id);
    if (hit) return hit;
    const out = n.kind === 'op' ? b.op(n.op, ...n.args.map(visit)) : n;
    memo.set(n.id, out);
    return out;
  };
  return visit(node);
}
