// The tensor IR: an immutable, hash-consed DAG of typed nodes. Every node carries its
// shape (rank 0, 1 or 2, dims are symbolic names such as 'n'). A Graph builds nodes and
// returns the existing node for a repeated (op, args) pair, so common subexpressions are
// shared by construction.

export type Dim = string;
export type Shape = readonly Dim[];

/** What an input node stands for; decides how it is lowered and whether it varies per step. */
export type InputRole =
  | 'state' // x_k, the iterate
  | 'param' // θ, differentiated
  | 'data' // fixed inputs, not differentiated
  | 'tangent' // ẋ or θ̇ in a JVP
  | 'cotangent' // x̄ seed in a VJP
  | 'iteration' // k, the index of the step (0-based): varies per step, not differentiated
  | 'batch'; // data split into mini-batches: step k reads batch k mod B, so it varies per step

export interface ConstNode {
  readonly kind: 'const';
  readonly id: number;
  readonly shape: Shape;
  /** Every entry equals `value` (a filled tensor). */
  readonly value: number;
}

export interface InputNode {
  readonly kind: 'input';
  readonly id: number;
  readonly shape: Shape;
  readonly name: string;
  readonly role: InputRole;
}

export interface OpNode {
  readonly kind: 'op';
  readonly id: number;
  readonly shape: Shape;
  readonly op: string;
  readonly args: readonly Node[];
}

export type Node = ConstNode | InputNode | OpNode;

export const shapeKey = (s: Shape) => s.join(',');
export const sameShape = (a: Shape, b: Shape) => shapeKey(a) === shapeKey(b);
export const formatShape = (s: Shape) => (s.length === 0 ? 'scalar' : `[${s.join('×')}]`);

/** Raised by shape rules; the parser turns it into a PhicError that points at the formula. */
export class ShapeError extends Error {}

/** Builds hash-consed nodes. Op semantics (shape rules) come from the op registry. */
export class Graph {
  private readonly cache = new Map<string, Node>();
  private nextId = 0;

  constructor(private readonly shapeOf: (op: string, args: readonly Node[]) => Shape) {}

  constant(value: number, shape: Shape = []): ConstNode {
    // -0 and 0 are one constant; NaN never reaches here (specs are validated).
    const v = Object.is(value, -0) ? 0 : value;
    return this.intern(`c|${v}|${shapeKey(shape)}`, (id) => ({ kind: 'const', id, shape, value: v }));
  }

  input(name: string, role: InputRole, shape: Shape): InputNode {
    return this.intern(`i|${role}|${name}|${shapeKey(shape)}`, (id) => ({ kind: 'input', id, shape, name, role }));
  }

  op(op: string, ...args: Node[]): OpNode {
    const key = `o|${op}|${args.map((a) => a.id).join(',')}`;
    const found = this.cache.get(key);
    if (found) return found as OpNode;
    const shape = this.shapeOf(op, args);
    return this.intern(key, (id) => ({ kind: 'op', id, shape, op, args }));
  }

  private intern<T extends Node>(key: string, make: (id: number) => T): T {
    const found = this.cache.get(key);
    if (found) return found as T;
    const node = make(this.nextId++);
    this.cache.set(key, node);
    return node;
  }
}

/**
 * Nodes reachable from `roots`, each after its arguments (a topological order). Nodes for
 * which `stop` holds are listed but not descended into.
 */
export function topoSort(roots: readonly Node[], stop?: (n: Node) => boolean): Node[] {
  const seen = new Set<number>();
  const order: Node[] = [];
  const visit = (root: Node) => {
    // Iterative post-order: formulas can be deep after differentiation.
    const stack: [Node, number][] = [[root, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [node, next] = top;
      if (seen.has(node.id)) {
        stack.pop();
        continue;
      }
      const args = node.kind === 'op' && !stop?.(node) ? node.args : [];
      if (next < args.length) {
        top[1] = next + 1;
        const arg = args[next]!;
        if (!seen.has(arg.id)) stack.push([arg, 0]);
      } else {
        seen.add(node.id);
        order.push(node);
        stack.pop();
      }
    }
  };
  roots.forEach(visit);
  return order;
}
