// Elementwise ops: scalar function, partial derivatives and valid domain, one entry each.
// Scalars broadcast against tensors; two tensors must have the same shape.

import { ShapeError, formatShape, sameShape, type Node, type Shape } from '../ir/nodes.js';
import type { Builder } from '../ir/builder.js';
import { defineOp, type ElementwiseOp } from './registry.js';

export function broadcastShapes(shapes: readonly Shape[]): Shape {
  let out: Shape = [];
  for (const s of shapes) {
    if (s.length === 0) continue;
    if (out.length === 0) out = s;
    else if (!sameShape(out, s)) throw new ShapeError(`shapes ${formatShape(out)} and ${formatShape(s)} do not match`);
  }
  return out;
}

type Partials = (b: Builder, a: readonly Node[], out: Node) => (Node | null)[];

function elementwise(
  name: string,
  arity: number,
  scalar: (...x: number[]) => number,
  partials: Partials,
  domain: ElementwiseOp['domain'] = 'any',
): ElementwiseOp {
  return defineOp({ kind: 'elementwise', name, arity, scalar, partials, domain, shape: broadcastShapes });
}

const one = (b: Builder) => b.constant(1);
const sigmoid = (v: number) => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
// softplus(v) = log(1 + e^v), written to stay finite for large |v|.
const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));

// d(a+b) = da + db
elementwise('add', 2, (a, b) => a + b, (b) => [one(b), one(b)]);
// d(a-b) = da - db
elementwise('sub', 2, (a, b) => a - b, (b) => [one(b), b.constant(-1)]);
// d(ab) = b da + a db
elementwise('mul', 2, (a, b) => a * b, (_b, [x, y]) => [y!, x!]);
// d(a/b) = da/b - (a/b) db/b
elementwise('div', 2, (a, b) => a / b, (b, [, y], out) => [b.div(one(b), y!), b.neg(b.div(out, y!))], 'nonzero');
// d(-a) = -da
elementwise('neg', 1, (a) => -a, (b) => [b.constant(-1)]);
// d(a^p) = p a^(p-1) da + a^p log(a) dp; the second term only when p varies
elementwise(
  'pow',
  2,
  (a, p) => Math.pow(a, p),
  (b, [x, p], out) => [
    b.mul(p!, b.pow(x!, b.sub(p!, one(b)))),
    p!.kind === 'const' ? null : b.mul(out, b.op('log', x!)),
  ],
  'positive',
);
// d exp(a) = exp(a) da
elementwise('exp', 1, Math.exp, (_b, _a, out) => [out]);
// d log(a) = da / a
elementwise('log', 1, Math.log, (b, [x]) => [b.div(one(b), x!)], 'positive');
// d sqrt(a) = da / (2 sqrt(a))
elementwise('sqrt', 1, Math.sqrt, (b, _a, out) => [b.div(b.constant(0.5), out)], 'positive');
// d |a| = sign(a) da (a ≠ 0)
elementwise('abs', 1, Math.abs, (b, [x]) => [b.op('sign', x!)], 'nonzero');
// sign is piecewise constant: its derivative is zero wherever it exists (a ≠ 0)
elementwise('sign', 1, Math.sign, () => [null], 'nonzero');
// d tanh(a) = (1 - tanh(a)^2) da
elementwise('tanh', 1, Math.tanh, (b, _a, out) => [b.sub(one(b), b.mul(out, out))]);
// d σ(a) = σ(a)(1 - σ(a)) da
elementwise('sigmoid', 1, sigmoid, (b, _a, out) => [b.mul(out, b.sub(one(b), out))]);
// d softplus(a) = σ(a) da
elementwise('softplus', 1, softplus, (b, [x]) => [b.op('sigmoid', x!)]);
// d sin(a) = cos(a) da
elementwise('sin', 1, Math.sin, (b, [x]) => [b.op('cos', x!)]);
// d cos(a) = -sin(a) da
elementwise('cos', 1, Math.cos, (b, [x]) => [b.neg(b.op('sin', x!))]);
