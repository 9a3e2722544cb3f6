// Elementwise ops, one entry each: scalar function, partial derivatives, valid domain, whether
// formulas call it by name, and the code the CPU (js) and GPU (gpu) back ends print for it.
// Scalars broadcast against tensors; two tensors must have the same shape. The smooth ops are
// here; the piecewise ones (sign, maximum, comparisons, the conditional) in piecewise.ts.

import { ShapeError, formatShape, sameShape, type Node, type Shape } from '../ir/nodes.js';
import type { Builder } from '../ir/builder.js';
import { defineOp, type ElementwiseOp } from './registry.js';
import { defineHelper, helperFunction } from './helpers.js';
import { binary, helper, integerPower, math, prefix, selfProduct, type EmitTemplates } from './templates.js';

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

interface ElementwiseSpec extends EmitTemplates {
  readonly arity: number;
  /** The scalar function (float64): the reference interpreter's, and constant folding's. */
  readonly scalar: (...x: number[]) => number;
  readonly partials: Partials;
  readonly domain?: ElementwiseOp['domain'];
  /** Formulas call it by name (`exp(x)`); default false (an operator, or generated only). */
  readonly callable?: boolean;
  readonly keepsNonFinite?: readonly number[];
}

/** Defines an elementwise op in the registry; its shape rule is broadcastShapes. */
export function elementwise(name: string, spec: ElementwiseSpec): ElementwiseOp {
  const { arity, scalar, partials, domain = 'any', callable = false, js, gpu, keepsNonFinite } = spec;
  return defineOp({ kind: 'elementwise', name, arity, scalar, partials, domain, callable, emit: { js, gpu }, shape: broadcastShapes, ...(keepsNonFinite ? { keepsNonFinite } : {}) });
}

export const one = (b: Builder) => b.constant(1);
// An op computed by a scalar helper, given by its source text: the CPU module declares that
// text, GPU kernels call it as phic_<name>, and the interpreter runs it (compiler/ops/helpers.ts).
const byHelper = (source: string) => {
  const name = defineHelper(source);
  return { scalar: helperFunction(name), js: helper(name), gpu: helper(name) };
};
// An op computed by a Math function on both back ends.
export const byMath = (fn: string) => ({ scalar: (Math as unknown as Record<string, (x: number) => number>)[fn]!, js: math(fn), gpu: math(fn) });

// d(a+b) = da + db
elementwise('add', {
  arity: 2, keepsNonFinite: [0, 1], scalar: (a, b) => a + b, partials: (b) => [one(b), one(b)],
  js: binary('+', 'sum', true), gpu: binary('+', 'sum', true),
});
// d(a-b) = da - db
elementwise('sub', {
  arity: 2, keepsNonFinite: [0, 1], scalar: (a, b) => a - b, partials: (b) => [one(b), b.constant(-1)],
  js: binary('-', 'sum', false), gpu: binary('-', 'sum', false),
});
// d(ab) = b da + a db
elementwise('mul', {
  arity: 2, keepsNonFinite: [0, 1], scalar: (a, b) => a * b, partials: (_b, [x, y]) => [y!, x!],
  js: binary('*', 'product', true), gpu: binary('*', 'product', true),
});
// d(a/b) = da/b - (a/b) db/b
elementwise('div', {
  arity: 2, keepsNonFinite: [0], scalar: (a, b) => a / b, partials: (b, [, y], out) => [b.div(one(b), y!), b.neg(b.div(out, y!))], domain: 'nonzero',
  js: binary('/', 'product', false), gpu: binary('/', 'product', false),
});
// d(-a) = -da
elementwise('neg', { arity: 1, keepsNonFinite: [0], scalar: (a) => -a, partials: (b) => [b.constant(-1)], js: prefix('-'), gpu: prefix('-') });
// d(a^p) = p a^(p-1) da + a^p log(a) dp; the second term only when p varies.
// GLSL's pow is undefined for a negative base: on the GPU, integer exponents go through
// |a|^p with the sign put back (a^2 as a product).
elementwise('pow', {
  arity: 2,
  scalar: (a, p) => Math.pow(a, p),
  partials: (b, [x, p], out) => [
    b.mul(p!, b.pow(x!, b.sub(p!, one(b)))),
    p!.kind === 'const' ? null : b.mul(out, b.op('log', x!)),
  ],
  domain: 'positive',
  js: math('pow'),
  gpu: integerPower({ square: 'sq', even: 'pow_even', odd: 'pow_odd' }, math('pow')),
});
// d exp(a) = exp(a) da
elementwise('exp', { arity: 1, ...byMath('exp'), partials: (_b, _a, out) => [out], callable: true });
// d log(1 + a) = da / (1 + a); on the GPU the float32 helper (gpu.js's log1p is log(1 + a))
elementwise('log1p', {
  arity: 1, keepsNonFinite: [0], scalar: Math.log1p, partials: (b, [x]) => [b.div(one(b), b.add(one(b), x!))], domain: 'positive', callable: true,
  js: math('log1p'), gpu: helper('log1p'),
});
// d (e^a - 1) = e^a da; on the GPU a helper, as e^a - 1 cancels for small a in float32
elementwise('expm1', {
  arity: 1, scalar: Math.expm1, partials: (b, [x]) => [b.op('exp', x!)], callable: true,
  js: math('expm1'), gpu: helper('expm1'),
});
// d a² = 2a da and d a³ = 3a² da, printed as products (simplification rewrites them so: rules.ts)
elementwise('square', {
  arity: 1, keepsNonFinite: [0], scalar: (a) => a * a, partials: (b, [x]) => [b.mul(b.constant(2), x!)], callable: true,
  js: selfProduct(2), gpu: selfProduct(2),
});
elementwise('cube', {
  arity: 1, keepsNonFinite: [0], scalar: (a) => a * a * a, partials: (b, [x]) => [b.mul(b.constant(3), b.mul(x!, x!))], callable: true,
  js: selfProduct(3), gpu: selfProduct(3),
});
// d log(a) = da / a
elementwise('log', { arity: 1, keepsNonFinite: [0], ...byMath('log'), partials: (b, [x]) => [b.div(one(b), x!)], domain: 'positive', callable: true });
// d sqrt(a) = da / (2 sqrt(a))
elementwise('sqrt', { arity: 1, keepsNonFinite: [0], ...byMath('sqrt'), partials: (b, _a, out) => [b.div(b.constant(0.5), out)], domain: 'positive', callable: true });
// d |a| = sign(a) da (a ≠ 0)
elementwise('abs', { arity: 1, keepsNonFinite: [0], ...byMath('abs'), partials: (b, [x]) => [b.op('sign', x!)], domain: 'nonzero', callable: true });
// d tanh(a) = (1 - tanh(a)^2) da; on the GPU a helper (gpu.js's tanh is NaN past |a| ≈ 44)
elementwise('tanh', {
  arity: 1, scalar: Math.tanh, partials: (b, _a, out) => [b.sub(one(b), b.mul(out, out))], callable: true,
  js: math('tanh'), gpu: helper('tanh'),
});
// d σ(a) = σ(a)(1 - σ(a)) da; σ computed through e^-|a| only, so no exp overflows
elementwise('sigmoid', {
  arity: 1,
  ...byHelper(`function sigmoid(v) {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}`),
  partials: (b, _a, out) => [b.mul(out, b.sub(one(b), out))],
  callable: true,
});
// d softplus(a) = σ(a) da; in GPU kernels its Math.log1p is the float32 helper log1p
elementwise('softplus', {
  arity: 1,
  ...byHelper(`function softplus(v) {
  // log(1 + e^v) without overflow for large |v|
  return Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
}`),
  partials: (b, [x]) => [b.op('sigmoid', x!)],
  callable: true,
});
// d sin(a) = cos(a) da
elementwise('sin', { arity: 1, keepsNonFinite: [0], ...byMath('sin'), partials: (b, [x]) => [b.op('cos', x!)], callable: true });
// d cos(a) = -sin(a) da
elementwise('cos', { arity: 1, keepsNonFinite: [0], ...byMath('cos'), partials: (b, [x]) => [b.neg(b.op('sin', x!))], callable: true });
