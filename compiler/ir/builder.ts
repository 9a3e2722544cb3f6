// Typed constructors for tensor IR nodes. Every node is built through `op`, which checks
// shapes with the registry's rule and, when simplification is on, applies the rewrite rules
// of simplify/rules.ts until none fires (each rule builds its result through this builder).

import { Graph, sameShape, formatShape, type Node, type Shape, type InputRole } from './nodes.js';
import { getOp } from '../ops/registry.js';
import '../ops/index.js';
import { rewriteRules } from '../simplify/rules.js';

export class Builder {
  readonly graph: Graph;
  constructor(readonly simplify = true, graph?: Graph) {
    this.graph = graph ?? new Graph((op, args) => getOp(op).shape(args.map((a) => a.shape)));
  }

  /** A builder sharing this graph (and its hash-consing) with simplification switched on or off. */
  withSimplify(on: boolean): Builder {
    return new Builder(on, this.graph);
  }

  constant(value: number, shape: Shape = []): Node {
    return this.graph.constant(value, shape);
  }
  input(name: string, role: InputRole, shape: Shape): Node {
    return this.graph.input(name, role, shape);
  }

  op(name: string, ...args: Node[]): Node {
    const def = getOp(name);
    if (args.length !== def.arity) throw new Error(`op ${name} takes ${def.arity} arguments, got ${args.length}`);
    const shape = def.shape(args.map((a) => a.shape));
    if (this.simplify) {
      for (const rule of rewriteRules) {
        const out = rule.apply(this, name, args, shape);
        if (out) {
          if (!sameShape(out.shape, shape)) {
            throw new Error(`rewrite rule '${rule.name}' changed shape ${formatShape(shape)} to ${formatShape(out.shape)}`);
          }
          return out;
        }
      }
    }
    return this.graph.op(name, ...args);
  }

  add = (a: Node, b: Node) => this.op('add', a, b);
  sub = (a: Node, b: Node) => this.op('sub', a, b);
  mul = (a: Node, b: Node) => this.op('mul', a, b);
  div = (a: Node, b: Node) => this.op('div', a, b);
  neg = (a: Node) => this.op('neg', a);
  pow = (a: Node, b: Node) => this.op('pow', a, b);
  matvec = (m: Node, v: Node) => this.op('matvec', m, v);
  matmul = (m: Node, n: Node) => this.op('matmul', m, n);
  transpose = (m: Node) => this.op('transpose', m);
  sum = (x: Node) => this.op('sum', x);
  dot = (u: Node, v: Node) => this.op('dot', u, v);
  outer = (u: Node, v: Node) => this.op('outer', u, v);

  /** `x` broadcast to `shape` (x is a scalar or already has that shape). */
  broadcastTo(x: Node, shape: Shape): Node {
    if (sameShape(x.shape, shape)) return x;
    return this.mul(x, this.constant(1, shape));
  }

  /** The cotangent `x` summed down to `shape`: the transpose of broadcasting. */
  unbroadcast(x: Node, shape: Shape): Node {
    if (sameShape(x.shape, shape)) return x;
    if (shape.length === 0) return this.sum(x);
    throw new Error(`cannot unbroadcast ${formatShape(x.shape)} to ${formatShape(shape)}`);
  }

  /** Sum of possibly-null terms (null is zero); null when every term is. */
  addAll(terms: readonly (Node | null)[]): Node | null {
    let acc: Node | null = null;
    for (const t of terms) if (t) acc = acc ? this.add(acc, t) : t;
    return acc;
  }
}
