// Algebraic rewrite rules, one small entry each with its algebra on one line. The builder
// applies them at construction, so every graph it builds is already at a fixed point.
// A rule returns null when it does not apply; its result must keep the op's shape.

import { sameShape, type Node, type OpNode, type Shape } from '../ir/nodes.js';
import type { Builder } from '../ir/builder.js';
import { getOp, isMultilinear } from '../ops/registry.js';

export interface RewriteRule {
  readonly name: string;
  /** The algebra, for readers and for the rule's test. */
  readonly law: string;
  apply(b: Builder, op: string, args: readonly Node[], shape: Shape): Node | null;
}

const isConst = (n: Node | undefined, v?: number): boolean =>
  !!n && n.kind === 'const' && (v === undefined || n.value === v);
const isSelect = (n: Node | undefined): n is OpNode => !!n && n.kind === 'op' && n.op === 'select';
const constValue = (n: Node) => (n.kind === 'const' ? n.value : NaN);
/** `x` itself when it already has `shape`, otherwise x broadcast to it. */
const as = (b: Builder, x: Node, shape: Shape) => (sameShape(x.shape, shape) ? x : b.broadcastTo(x, shape));
const zero = (b: Builder, shape: Shape) => b.constant(0, shape);

const rule = (name: string, law: string, apply: RewriteRule['apply']): RewriteRule => ({ name, law, apply });

export const rewriteRules: readonly RewriteRule[] = [
  rule('fold-constants', 'f(c1, c2) = c for constant arguments', (b, op, args, shape) => {
    const def = getOp(op);
    if (def.kind !== 'elementwise' || !args.every((a) => isConst(a))) return null;
    const value = def.scalar(...args.map(constValue));
    return Number.isFinite(value) ? b.constant(value, shape) : null;
  }),
  rule('add-zero', 'x + 0 = 0 + x = x', (b, op, [x, y], shape) => {
    if (op !== 'add') return null;
    if (isConst(y, 0)) return as(b, x!, shape);
    if (isConst(x, 0)) return as(b, y!, shape);
    return null;
  }),
  rule('sub-zero', 'x - 0 = x, 0 - x = -x', (b, op, [x, y], shape) => {
    if (op !== 'sub') return null;
    if (isConst(y, 0)) return as(b, x!, shape);
    if (isConst(x, 0)) return as(b, b.neg(y!), shape);
    return null;
  }),
  rule('sub-self', 'x - x = 0', (b, op, [x, y], shape) => (op === 'sub' && x === y ? zero(b, shape) : null)),
  rule('add-neg', 'x + (-y) = x - y', (b, op, [x, y]) =>
    op === 'add' && y!.kind === 'op' && y!.op === 'neg' ? b.sub(x!, y!.args[0]!) : null,
  ),
  rule('sub-neg', 'x - (-y) = x + y', (b, op, [x, y]) =>
    op === 'sub' && y!.kind === 'op' && y!.op === 'neg' ? b.add(x!, y!.args[0]!) : null,
  ),
  rule('mul-zero', 'x * 0 = 0 * x = 0', (b, op, [x, y], shape) =>
    op === 'mul' && (isConst(x, 0) || isConst(y, 0)) ? zero(b, shape) : null,
  ),
  rule('mul-one', 'x * 1 = 1 * x = x', (_b, op, [x, y], shape) => {
    if (op !== 'mul') return null;
    if (isConst(y, 1) && sameShape(x!.shape, shape)) return x!;
    if (isConst(x, 1) && sameShape(y!.shape, shape)) return y!;
    return null;
  }),
  rule('mul-minus-one', '(-1) * x = -x', (b, op, [x, y], shape) => {
    if (op !== 'mul') return null;
    if (isConst(x, -1) && x!.shape.length === 0) return as(b, b.neg(y!), shape);
    if (isConst(y, -1) && y!.shape.length === 0) return as(b, b.neg(x!), shape);
    return null;
  }),
  rule('mul-const-first', 'x * c = c * x (constants lead, so they can merge)', (b, op, [x, y]) =>
    op === 'mul' && isConst(y) && !isConst(x) && y!.shape.length === 0 ? b.mul(y!, x!) : null,
  ),
  rule('mul-const-const', 'c1 * (c2 * x) = (c1 c2) * x', (b, op, [x, y]) => {
    if (op !== 'mul' || !isConst(x) || x!.shape.length !== 0) return null;
    if (y!.kind !== 'op' || y!.op !== 'mul' || !isConst(y!.args[0]) || y!.args[0]!.shape.length !== 0) return null;
    return b.mul(b.constant(constValue(x!) * constValue(y!.args[0]!)), y!.args[1]!);
  }),
  rule('mul-const-neg', 'c * (-x) = (-c) * x', (b, op, [x, y]) =>
    op === 'mul' && isConst(x) && x!.shape.length === 0 && y!.kind === 'op' && y!.op === 'neg' ? b.mul(b.constant(-constValue(x!)), y!.args[0]!) : null,
  ),
  rule('neg-const-mul', '-(c * x) = (-c) * x', (b, op, [x]) =>
    op === 'neg' && x!.kind === 'op' && x!.op === 'mul' && isConst(x!.args[0]) && x!.args[0]!.shape.length === 0
      ? b.mul(b.constant(-constValue(x!.args[0]!)), x!.args[1]!)
      : null,
  ),
  rule('div-one', 'x / 1 = x', (_b, op, [x, y], shape) =>
    op === 'div' && isConst(y, 1) && sameShape(x!.shape, shape) ? x! : null,
  ),
  rule('div-zero-numerator', '0 / x = 0', (b, op, [x], shape) => (op === 'div' && isConst(x, 0) ? zero(b, shape) : null)),
  rule('neg-neg', '-(-x) = x', (_b, op, [x]) => (op === 'neg' && x!.kind === 'op' && x!.op === 'neg' ? x!.args[0]! : null)),
  rule('pow-one', 'x^1 = x', (_b, op, [x, p]) => (op === 'pow' && isConst(p, 1) ? x! : null)),
  rule('pow-zero', 'x^0 = 1', (b, op, [, p], shape) => (op === 'pow' && isConst(p, 0) ? b.constant(1, shape) : null)),
  rule('pow-two', 'x^2 = x * x', (b, op, [x, p]) => (op === 'pow' && isConst(p, 2) ? b.mul(x!, x!) : null)),
  rule('square', 'square(x) = x * x (as x.^2)', (b, op, [x]) => (op === 'square' ? b.mul(x!, x!) : null)),
  rule('cube', 'cube(x) = x * x * x', (b, op, [x]) => (op === 'cube' ? b.mul(b.mul(x!, x!), x!) : null)),
  rule('select-const-condition', '(c ? x : y) = x for a constant c ≠ 0, y for c = 0', (b, op, [c, x, y], shape) =>
    op === 'select' && c!.kind === 'const' ? as(b, c!.value !== 0 ? x! : y!, shape) : null,
  ),
  rule('select-same', '(c ? x : x) = x', (b, op, [, x, y], shape) => (op === 'select' && x === y ? as(b, x!, shape) : null)),
  // A conditional's derivative terms are (c ? 1 : 0) · ẋ: as a select, the tangent of the
  // branch not taken is not multiplied by 0, so a non-finite one there does not give NaN.
  rule('mul-select', '(c ? p : q) * t = c ? p t : q t when t, or p and q, are constants', (b, op, args) => {
    if (op !== 'mul') return null;
    const i = args.findIndex((a, k) => isSelect(a) && (isConst(args[1 - k]) || (isConst(a.args[1]) && isConst(a.args[2]))));
    if (i < 0) return null;
    const [c, p, q] = (args[i] as OpNode).args as [Node, Node, Node];
    const t = args[1 - i]!;
    return b.op('select', c, b.mul(p, t), b.mul(q, t));
  }),
  rule('add-select', '(c ? a : b) ± (c ? d : e) = c ? a ± d : b ± e', (b, op, [x, y]) => {
    if ((op !== 'add' && op !== 'sub') || !isSelect(x) || !isSelect(y) || x.args[0] !== y.args[0]) return null;
    return b.op('select', x.args[0]!, b.op(op, x.args[1]!, y.args[1]!), b.op(op, x.args[2]!, y.args[2]!));
  }),
  rule('transpose-transpose', '(Mᵀ)ᵀ = M', (_b, op, [m]) =>
    op === 'transpose' && m!.kind === 'op' && m!.op === 'transpose' ? m!.args[0]! : null,
  ),
  rule('transpose-const', 'cᵀ = c for a filled matrix', (b, op, [m], shape) =>
    op === 'transpose' && m!.kind === 'const' ? b.constant(m!.value, shape) : null,
  ),
  rule('filled-const-to-scalar', 'c[n] ∘ x = c ∘ x when x already has the result shape', (b, op, args, shape) => {
    if (getOp(op).kind !== 'elementwise' || args.length < 2) return null;
    const filled = (a: Node) => isConst(a) && a.shape.length > 0;
    // Some other argument keeps the result shape.
    const i = args.findIndex((a, k) => filled(a) && args.some((o, l) => l !== k && !filled(o) && sameShape(o.shape, shape)));
    if (i < 0) return null;
    return b.op(op, ...args.map((a, k) => (k === i ? b.constant(constValue(a)) : a)));
  }),
  rule('add-self', 'x + x = 2 x', (b, op, [x, y]) => (op === 'add' && x === y ? b.mul(b.constant(2), x!) : null)),
  rule('linear-of-zero', 'M 0 = 0 M = 0, Σ 0 = 0, u·0 = 0, u 0ᵀ = 0: a multilinear op of a zero argument', (b, op, args, shape) =>
    isMultilinear(op) && args.some((a) => isConst(a, 0)) ? zero(b, shape) : null,
  ),
];
