// Checks each rewrite rule of simplify/rules.ts fires on a hand-written example with values preserved, and that simplified and unsimplified random expressions agree (fast-check).

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { rewriteRules } from '../compiler/simplify/rules.js';
import { Builder } from '../compiler/ir/builder.js';
import type { Node, Shape } from '../compiler/ir/nodes.js';
import { evaluate } from '../compiler/ir/evaluate.js';
import type { Tensor } from '../compiler/ops/registry.js';
import { randomGenerator } from '../runtime/reference.js';
import { keyOf, randomTensor, sexpr } from './helpers/ir.js';

const DIMS = { n: 3, m: 2, k: 4 };

/** Named inputs every example may use: vectors x, y of [n], scalar a, matrices M [m×n], N [n×k]. */
interface Leaves {
  x: Node;
  y: Node;
  z: Node;
  a: Node;
  M: Node;
  N: Node;
  c: (value: number, shape?: Shape) => Node;
}

const LEAF_SHAPES: Record<string, Shape> = { x: ['n'], y: ['n'], z: ['m'], a: [], M: ['m', 'n'], N: ['n', 'k'] };

/** `op(args)` as the raw (unsimplified) expression a rule sees, and the s-expression it must become. */
interface Fires {
  op: string;
  args: (l: Leaves) => Node[];
  expect: string;
}
/** A nearby expression the rule must leave alone. */
interface Ignores {
  op: string;
  args: (l: Leaves) => Node[];
}

/** Hand-written examples, one entry per rule name. A rule without an entry fails its test. */
const EXAMPLES: Record<string, { fires: Fires[]; ignores?: Ignores[] }> = {
  'fold-constants': {
    fires: [
      { op: 'add', args: ({ c }) => [c(2), c(3)], expect: '5' },
      { op: 'exp', args: ({ c }) => [c(0)], expect: '1' },
      { op: 'mul', args: ({ c }) => [c(2, ['n']), c(-1.5)], expect: '-3[n]' },
    ],
    ignores: [
      { op: 'log', args: ({ c }) => [c(0)] }, // -Infinity is not folded
      { op: 'div', args: ({ c }) => [c(1), c(0)] },
      { op: 'add', args: ({ x, c }) => [x, c(2)] },
    ],
  },
  'add-zero': {
    fires: [
      { op: 'add', args: ({ x, c }) => [x, c(0)], expect: 'x' },
      { op: 'add', args: ({ x, c }) => [c(0), x], expect: 'x' },
      { op: 'add', args: ({ x, c }) => [x, c(0, ['n'])], expect: 'x' },
      // a scalar plus a zero vector is the scalar broadcast
      { op: 'add', args: ({ a, c }) => [a, c(0, ['n'])], expect: '(mul a 1[n])' },
    ],
    ignores: [{ op: 'add', args: ({ x, c }) => [x, c(1)] }, { op: 'sub', args: ({ x, c }) => [x, c(0)] }],
  },
  'sub-zero': {
    fires: [
      { op: 'sub', args: ({ x, c }) => [x, c(0)], expect: 'x' },
      { op: 'sub', args: ({ x, c }) => [c(0), x], expect: '(neg x)' },
      { op: 'sub', args: ({ a, c }) => [c(0, ['n']), a], expect: '(mul (neg a) 1[n])' },
    ],
    ignores: [{ op: 'sub', args: ({ x, c }) => [x, c(2)] }],
  },
  'sub-self': {
    fires: [
      { op: 'sub', args: ({ x }) => [x, x], expect: '0[n]' },
      { op: 'sub', args: ({ a }) => [a, a], expect: '0' },
    ],
    ignores: [{ op: 'sub', args: ({ x, y }) => [x, y] }, { op: 'add', args: ({ x }) => [x, x] }],
  },
  'add-neg': {
    fires: [{ op: 'add', args: ({ x, y }) => [x, raw.neg(y)], expect: '(sub x y)' }],
    ignores: [{ op: 'add', args: ({ x, y }) => [raw.neg(x), y] }],
  },
  'sub-neg': {
    fires: [{ op: 'sub', args: ({ x, y }) => [x, raw.neg(y)], expect: '(add x y)' }],
    ignores: [{ op: 'sub', args: ({ x, y }) => [raw.neg(x), y] }],
  },
  'mul-zero': {
    fires: [
      { op: 'mul', args: ({ x, c }) => [x, c(0)], expect: '0[n]' },
      { op: 'mul', args: ({ x, c }) => [c(0), x], expect: '0[n]' },
      { op: 'mul', args: ({ a, c }) => [a, c(0, ['n'])], expect: '0[n]' },
    ],
    ignores: [{ op: 'add', args: ({ x, c }) => [x, c(0)] }],
  },
  'mul-one': {
    fires: [
      { op: 'mul', args: ({ x, c }) => [x, c(1)], expect: 'x' },
      { op: 'mul', args: ({ x, c }) => [c(1), x], expect: 'x' },
      { op: 'mul', args: ({ x, c }) => [x, c(1, ['n'])], expect: 'x' },
    ],
    // a scalar times a filled 1 vector is a broadcast: it must stay (the shape changes)
    ignores: [{ op: 'mul', args: ({ a, c }) => [a, c(1, ['n'])] }, { op: 'mul', args: ({ x, c }) => [x, c(2)] }],
  },
  'mul-minus-one': {
    fires: [
      { op: 'mul', args: ({ x, c }) => [c(-1), x], expect: '(neg x)' },
      { op: 'mul', args: ({ x, c }) => [x, c(-1)], expect: '(neg x)' },
      { op: 'mul', args: ({ a, c }) => [c(-1), a], expect: '(neg a)' },
    ],
    ignores: [{ op: 'mul', args: ({ x, c }) => [x, c(-1, ['n'])] }],
  },
  'mul-const-first': {
    fires: [{ op: 'mul', args: ({ x, c }) => [x, c(3)], expect: '(mul 3 x)' }],
    ignores: [
      { op: 'mul', args: ({ x, c }) => [c(3), x] },
      { op: 'mul', args: ({ a, c }) => [a, c(3, ['n'])] },
    ],
  },
  'mul-const-const': {
    fires: [
      { op: 'mul', args: ({ x, c }) => [c(2), raw.mul(c(3), x)], expect: '(mul 6 x)' },
      { op: 'mul', args: ({ M, c }) => [c(-0.5), raw.mul(c(4), M)], expect: '(mul -2 M)' },
    ],
    ignores: [
      { op: 'mul', args: ({ x, y, c }) => [c(2), raw.mul(y, x)] },
      { op: 'mul', args: ({ x, c }) => [c(2, ['n']), raw.mul(c(3), x)] },
    ],
  },
  'mul-const-neg': {
    fires: [
      { op: 'mul', args: ({ x, c }) => [c(3), raw.neg(x)], expect: '(mul -3 x)' },
      { op: 'mul', args: ({ a, c }) => [c(-0.5), raw.neg(a)], expect: '(mul 0.5 a)' },
      // (-1) * (-x) = 1 * x = x
      { op: 'mul', args: ({ x, c }) => [c(-1), raw.neg(x)], expect: 'x' },
    ],
    ignores: [
      { op: 'mul', args: ({ x, c }) => [raw.neg(x), c(3)] },
      { op: 'mul', args: ({ x, c }) => [c(3, ['n']), raw.neg(x)] },
      { op: 'mul', args: ({ x, y }) => [y, raw.neg(x)] },
    ],
  },
  'neg-const-mul': {
    fires: [
      { op: 'neg', args: ({ x, c }) => [raw.mul(c(3), x)], expect: '(mul -3 x)' },
      { op: 'neg', args: ({ M, c }) => [raw.mul(c(-2), M)], expect: '(mul 2 M)' },
      { op: 'neg', args: ({ x, c }) => [raw.mul(c(-1), x)], expect: 'x' },
    ],
    ignores: [
      { op: 'neg', args: ({ x, y }) => [raw.mul(y, x)] },
      { op: 'neg', args: ({ x, c }) => [raw.mul(x, c(3))] },
      { op: 'neg', args: ({ x, c }) => [raw.mul(c(3, ['n']), x)] },
    ],
  },
  'div-one': {
    fires: [{ op: 'div', args: ({ x, c }) => [x, c(1)], expect: 'x' }],
    ignores: [{ op: 'div', args: ({ a, c }) => [a, c(1, ['n'])] }, { op: 'div', args: ({ x, c }) => [c(1), x] }],
  },
  'div-zero-numerator': {
    fires: [
      { op: 'div', args: ({ x, c }) => [c(0), x], expect: '0[n]' },
      { op: 'div', args: ({ x, c }) => [c(0, ['n']), x], expect: '0[n]' },
    ],
    ignores: [{ op: 'div', args: ({ x, c }) => [x, c(2)] }],
  },
  'neg-neg': {
    fires: [{ op: 'neg', args: ({ x }) => [raw.neg(x)], expect: 'x' }],
    ignores: [{ op: 'neg', args: ({ x }) => [x] }],
  },
  'pow-one': {
    fires: [{ op: 'pow', args: ({ x, c }) => [x, c(1)], expect: 'x' }],
    ignores: [{ op: 'pow', args: ({ x, c }) => [x, c(3)] }],
  },
  'pow-zero': {
    fires: [
      { op: 'pow', args: ({ x, c }) => [x, c(0)], expect: '1[n]' },
      { op: 'pow', args: ({ a, c }) => [a, c(0)], expect: '1' },
    ],
    ignores: [{ op: 'pow', args: ({ x, c }) => [c(0), x] }],
  },
  'pow-two': {
    fires: [{ op: 'pow', args: ({ x, c }) => [x, c(2)], expect: '(mul x x)' }],
    ignores: [{ op: 'pow', args: ({ x, c }) => [x, c(2.5)] }],
  },
  square: {
    fires: [{ op: 'square', args: ({ x }) => [x], expect: '(mul x x)' }],
    ignores: [{ op: 'cube', args: ({ x }) => [x] }],
  },
  cube: {
    fires: [{ op: 'cube', args: ({ a }) => [a], expect: '(mul (mul a a) a)' }],
    ignores: [{ op: 'square', args: ({ x }) => [x] }],
  },
  'select-const-condition': {
    fires: [
      { op: 'select', args: ({ x, y, c }) => [c(1), x, y], expect: 'x' },
      { op: 'select', args: ({ x, y, c }) => [c(0), x, y], expect: 'y' },
      // a filled condition picks a branch for every entry; a scalar branch is broadcast
      { op: 'select', args: ({ a, x, c }) => [c(-2, ['n']), a, x], expect: '(mul a 1[n])' },
    ],
    ignores: [{ op: 'select', args: ({ a, x, y }) => [a, x, y] }],
  },
  'select-same': {
    fires: [
      { op: 'select', args: ({ a, x }) => [a, x, x], expect: 'x' },
      { op: 'select', args: ({ a, x }) => [x, a, a], expect: '(mul a 1[n])' },
    ],
    ignores: [{ op: 'select', args: ({ a, x, y }) => [a, x, y] }],
  },
  'mul-select': {
    fires: [
      // a conditional's partial (c ? 1 : 0) times a tangent: the tangent, or 0
      { op: 'mul', args: ({ a, x, c }) => [raw.op('select', a, c(1), c(0)), x], expect: '(select a x 0)' },
      { op: 'mul', args: ({ x, y, c }) => [y, raw.op('select', x, c(0), c(1))], expect: '(select x 0 y)' },
      // a constant factor goes into both branches
      { op: 'mul', args: ({ a, x, y, c }) => [c(3), raw.op('select', a, x, y)], expect: '(select a (mul 3 x) (mul 3 y))' },
    ],
    ignores: [
      { op: 'mul', args: ({ a, x, y }) => [raw.op('select', a, x, y), y] },
      { op: 'add', args: ({ a, x, c }) => [raw.op('select', a, c(1), c(0)), x] },
    ],
  },
  'add-select': {
    fires: [
      { op: 'add', args: ({ a, x, y }) => [raw.op('select', a, x, y), raw.op('select', a, y, x)], expect: '(select a (add x y) (add y x))' },
      { op: 'sub', args: ({ a, x, y }) => [raw.op('select', a, x, y), raw.op('select', a, y, y)], expect: '(select a (sub x y) 0)' },
    ],
    // different conditions
    ignores: [{ op: 'add', args: ({ a, x, y }) => [raw.op('select', a, x, y), raw.op('select', x, y, x)] }],
  },
  'transpose-transpose': {
    fires: [{ op: 'transpose', args: ({ M }) => [raw.transpose(M)], expect: 'M' }],
    ignores: [{ op: 'transpose', args: ({ M }) => [M] }],
  },
  'transpose-const': {
    fires: [{ op: 'transpose', args: ({ c }) => [c(2, ['m', 'n'])], expect: '2[n,m]' }],
    ignores: [{ op: 'transpose', args: ({ M }) => [M] }],
  },
  'filled-const-to-scalar': {
    fires: [
      { op: 'add', args: ({ x, c }) => [x, c(2, ['n'])], expect: '(add x 2)' },
      { op: 'sub', args: ({ x, c }) => [c(2, ['n']), x], expect: '(sub 2 x)' },
      { op: 'div', args: ({ x, c }) => [x, c(4, ['n'])], expect: '(div x 4)' },
      // any arity: the conditional's zero branch
      { op: 'select', args: ({ x, y, c }) => [x, y, c(0, ['n'])], expect: '(select x y 0)' },
    ],
    // the constant is the only [n] argument: turning it into a scalar would lose the shape
    ignores: [{ op: 'add', args: ({ a, c }) => [a, c(2, ['n'])] }, { op: 'add', args: ({ x, c }) => [x, c(2)] }],
  },
  'add-self': {
    fires: [
      { op: 'add', args: ({ x }) => [x, x], expect: '(mul 2 x)' },
      { op: 'add', args: ({ M }) => [M, M], expect: '(mul 2 M)' },
    ],
    ignores: [{ op: 'add', args: ({ x, y }) => [x, y] }],
  },
  'linear-of-zero': {
    fires: [
      { op: 'matvec', args: ({ M, c }) => [M, c(0, ['n'])], expect: '0[m]' },
      { op: 'matvec', args: ({ x, c }) => [c(0, ['m', 'n']), x], expect: '0[m]' },
      { op: 'matmul', args: ({ N, c }) => [c(0, ['m', 'n']), N], expect: '0[m,k]' },
      { op: 'sum', args: ({ c }) => [c(0, ['n'])], expect: '0' },
      { op: 'dot', args: ({ x, c }) => [x, c(0, ['n'])], expect: '0' },
      { op: 'outer', args: ({ x, c }) => [c(0, ['m']), x], expect: '0[m,n]' },
    ],
    ignores: [
      { op: 'matvec', args: ({ M, x }) => [M, x] },
      { op: 'sum', args: ({ c }) => [c(1, ['n'])] },
    ],
  },
};

/** The raw builder of the graph the examples are built in (set per test). */
let raw: Builder;

function setup() {
  const simplifying = new Builder(true);
  raw = simplifying.withSimplify(false);
  const leaves: Leaves = {
    x: raw.input('x', 'data', LEAF_SHAPES.x!),
    y: raw.input('y', 'data', LEAF_SHAPES.y!),
    z: raw.input('z', 'data', LEAF_SHAPES.z!),
    a: raw.input('a', 'data', LEAF_SHAPES.a!),
    M: raw.input('M', 'data', LEAF_SHAPES.M!),
    N: raw.input('N', 'data', LEAF_SHAPES.N!),
    c: (value, shape = []) => raw.constant(value, shape),
  };
  // Positive values keep every example (log, div, pow) finite.
  const rng = randomGenerator(20240611);
  const env = new Map<string, Tensor>(
    Object.entries(LEAF_SHAPES).map(([name, shape]) => [keyOf('data', name), randomTensor(rng, shape, DIMS, 'positive')] as const),
  );
  return { simplifying, leaves, env };
}

const valuesOf = (node: Node, env: Map<string, Tensor>) => evaluate([node], env, DIMS)[0]!;

describe.each(rewriteRules.map((rule) => ({ name: rule.name, rule })))('rewrite rule $name', ({ name, rule }) => {
  it('has a hand-written example in this file, fires on it and preserves values', () => {
    const example = EXAMPLES[name];
    expect(example, `rule '${name}' has no example in test/simplify.test.ts: add one`).toBeDefined();
    expect(rule.law.trim().length).toBeGreaterThan(0);
    expect(example!.fires.length).toBeGreaterThan(0);
    const { simplifying, leaves, env } = setup();
    for (const f of example!.fires) {
      const args = f.args(leaves);
      const before = raw.op(f.op, ...args);
      expect(before.kind, 'the example must be an op the raw builder keeps').toBe('op');
      const out = rule.apply(simplifying, f.op, args, before.shape);
      expect(out, `rule '${name}' did not fire on ${sexpr(before)}`).not.toBeNull();
      expect(sexpr(out!), `rule '${name}' on ${sexpr(before)}`).toBe(f.expect);
      expect(out!.shape).toEqual(before.shape);

      const want = valuesOf(before, env);
      const got = valuesOf(out!, env);
      expect(got.shape).toEqual(want.shape);
      expect(Array.from(got.data)).toEqual(Array.from(want.data).map((v) => expect.closeTo(v, 12)));

      // The simplifying builder, with every rule, gives the same values too.
      const built = simplifying.op(f.op, ...args);
      expect(built.shape).toEqual(before.shape);
      expect(Array.from(valuesOf(built, env).data)).toEqual(Array.from(want.data).map((v) => expect.closeTo(v, 12)));
    }
  });

  it('leaves nearby expressions alone', () => {
    const { simplifying, leaves } = setup();
    for (const g of EXAMPLES[name]?.ignores ?? []) {
      const args = g.args(leaves);
      const shape = raw.op(g.op, ...args).shape;
      const out = rule.apply(simplifying, g.op, args, shape);
      expect(out && sexpr(out), `rule '${name}' fired on ${g.op}(${args.map(sexpr).join(', ')})`).toBeNull();
    }
  });
});

describe('rewrite rules as a set', () => {
  it('every example names an existing rule and rule names are unique', () => {
    const names = rewriteRules.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    for (const key of Object.keys(EXAMPLES)) expect(names, `example for unknown rule '${key}'`).toContain(key);
  });

  it('the simplifying builder reaches a fixed point on the examples: no rule fires on its output', () => {
    const { simplifying, leaves } = setup();
    const check = (node: Node) => {
      if (node.kind !== 'op') return;
      node.args.forEach(check);
      for (const r of rewriteRules) {
        const out = r.apply(simplifying, node.op, node.args, node.shape);
        expect(out && sexpr(out), `rule '${r.name}' still fires on ${sexpr(node)}`).toBeNull();
      }
    };
    for (const example of Object.values(EXAMPLES)) for (const f of example.fires) check(simplifying.op(f.op, ...f.args(leaves)));
  });
});

// ---------------------------------------------------------------------------
// Property: simplification preserves values on random expression trees
// ---------------------------------------------------------------------------

type Expr =
  | { t: 'leaf'; name: 'x' | 'y' | 'a' }
  | { t: 'const'; value: number }
  | { t: 'unary'; op: string; arg: Expr }
  | { t: 'binary'; op: string; left: Expr; right: Expr }
  | { t: 'reduce'; op: 'sum' | 'dot'; left: Expr; right: Expr }
  | { t: 'select'; cond: Expr; yes: Expr; no: Expr };

const UNARY = ['neg', 'exp', 'log', 'sqrt', 'abs', 'sign', 'tanh', 'sigmoid', 'softplus', 'sin', 'cos', 'log1p', 'expm1', 'square', 'cube'];
const BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'lt', 'ge'];

const exprArb: fc.Arbitrary<Expr> = fc.letrec<{ expr: Expr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ t: fc.constant('leaf' as const), name: fc.constantFrom('x' as const, 'y' as const, 'a' as const) }),
    fc.record({
      t: fc.constant('const' as const),
      value: fc.oneof(fc.constantFrom(0, 1, -1, 2, 0.5, 3), fc.double({ min: -3, max: 3, noNaN: true })),
    }),
    fc.record({ t: fc.constant('unary' as const), op: fc.constantFrom(...UNARY), arg: tie('expr') }),
    fc.record({ t: fc.constant('binary' as const), op: fc.constantFrom(...BINARY), left: tie('expr'), right: tie('expr') }),
    // repeated subtrees make rules such as x - x, x + x and -(-x) fire often
    tie('expr').map((e): Expr => ({ t: 'binary', op: 'sub', left: e, right: e })),
    tie('expr').map((e): Expr => ({ t: 'binary', op: 'add', left: e, right: e })),
    tie('expr').map((e): Expr => ({ t: 'unary', op: 'neg', arg: { t: 'unary', op: 'neg', arg: e } })),
    fc.record({ t: fc.constant('reduce' as const), op: fc.constantFrom('sum' as const, 'dot' as const), left: tie('expr'), right: tie('expr') }),
    // conditionals on a comparison, sharing it between terms so the select rules fire
    fc.record({ l: tie('expr'), r: tie('expr'), yes: tie('expr'), no: tie('expr') }).map(({ l, r, yes, no }): Expr => {
      const cond: Expr = { t: 'binary', op: 'lt', left: l, right: r };
      const indicator: Expr = { t: 'select', cond, yes: { t: 'const', value: 1 }, no: { t: 'const', value: 0 } };
      // (c ? yes : no) + (c ? 1 : 0) * yes
      return { t: 'binary', op: 'add', left: { t: 'select', cond, yes, no }, right: { t: 'binary', op: 'mul', left: indicator, right: yes } };
    }),
  ),
})).expr;

/** Builds `e` with `b`; dot of a scalar falls back to a product so every tree is well-shaped. */
function buildExpr(b: Builder, e: Expr): Node {
  switch (e.t) {
    case 'leaf':
      return b.input(e.name, 'data', e.name === 'a' ? [] : ['n']);
    case 'const':
      return b.constant(e.value);
    case 'unary':
      return b.op(e.op, buildExpr(b, e.arg));
    case 'binary':
      return b.op(e.op, buildExpr(b, e.left), buildExpr(b, e.right));
    case 'reduce': {
      const l = buildExpr(b, e.left);
      if (e.op === 'sum') return b.sum(l);
      const r = buildExpr(b, e.right);
      return l.shape.length === 1 && r.shape.length === 1 ? b.dot(l, r) : b.mul(l, r);
    }
    case 'select':
      return b.op('select', buildExpr(b, e.cond), buildExpr(b, e.yes), buildExpr(b, e.no));
  }
}

const vec = fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 3, maxLength: 3 });

describe('simplification preserves values (property)', () => {
  it('random expressions over x, y ∈ R³ and a ∈ R agree with and without simplification', () => {
    let compared = 0;
    let rewritten = 0;
    fc.assert(
      fc.property(exprArb, vec, vec, fc.double({ min: -2, max: 2, noNaN: true }), (e, x, y, a) => {
        const plain = buildExpr(new Builder(false), e);
        const simple = buildExpr(new Builder(true), e);
        // Simplification never changes the shape.
        expect(simple.shape).toEqual(plain.shape);
        if (sexpr(simple) !== sexpr(plain)) rewritten++;

        const env = new Map<string, Tensor>([
          [keyOf('data', 'x'), { shape: [3], data: Float64Array.from(x) }],
          [keyOf('data', 'y'), { shape: [3], data: Float64Array.from(y) }],
          [keyOf('data', 'a'), { shape: [], data: Float64Array.of(a) }],
        ]);
        const want = valuesOf(plain, env);
        if (!want.data.every(Number.isFinite)) return; // skip non-finite
        const got = valuesOf(simple, env);
        expect(got.shape).toEqual(want.shape);
        want.data.forEach((w, i) => {
          const g = got.data[i]!;
          expect(Math.abs(g - w), `entry ${i}: ${g} vs ${w} for ${sexpr(plain)} -> ${sexpr(simple)}`).toBeLessThanOrEqual(
            1e-12 * Math.max(1, Math.abs(w), Math.abs(g)),
          );
        });
        compared++;
      }),
      { numRuns: 400, seed: 424242 },
    );
    // the property must actually exercise the rules
    expect(compared).toBeGreaterThan(100);
    expect(rewritten).toBeGreaterThan(50);
  });
});
