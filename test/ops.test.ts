// Checks every registered op (generated from the registry): JVP vs finite differences, VJP by the dot-product test, structural evaluations, shape rules, JS and GPU templates in each elementwise entry, and the scalar helpers' one source.

import { describe, expect, it } from 'vitest';
import { allOps } from '../compiler/ops/index.js';
import type { ElementwiseOp, OpDef, StructuralOp, Tensor } from '../compiler/ops/registry.js';
import { Builder } from '../compiler/ir/builder.js';
import { ShapeError, type InputNode, type Node, type Shape } from '../compiler/ir/nodes.js';
import { evaluate } from '../compiler/ir/evaluate.js';
import { jvp } from '../compiler/diff/jvp.js';
import { vjp } from '../compiler/diff/vjp.js';
import { JS_HELPERS, JS_SCALAR_HELPERS, printOp } from '../compiler/codegen/js-templates.js';
import { helperFunction, helperNames, helperSource } from '../compiler/ops/helpers.js';
import { templateHelpers } from '../compiler/ops/templates.js';
import { topLevelNames } from '../compiler/codegen/top-level.js';
import { FORMULA_FUNCTIONS } from '../compiler/spec/identifiers.js';
import { centralDifference, randomGenerator, relativeDifference } from '../runtime/reference.js';
import {
  apartArgs,
  concat,
  conditionArg,
  drawValue,
  innerProduct,
  invertibleArg,
  keyOf,
  randomDirection,
  randomTensor,
  relativeScalar,
  sizeOf,
  split,
  tensor,
  valueOf,
  type Domain,
} from './helpers/ir.js';

const DIMS = { n: 4, m: 3, k: 2 };
const OPS = allOps();
const ELEMENTWISE = OPS.filter((o): o is ElementwiseOp => o.kind === 'elementwise');
const STRUCTURAL = OPS.filter((o): o is StructuralOp => o.kind === 'structural');

/** An argument of a test graph: a (possibly differentiated) input of some shape, or a constant. */
type ArgSpec = { shape: Shape; varies: boolean } | { constant: number };

interface DiffCase {
  label: string;
  args: ArgSpec[];
}

/** Argument shapes of the structural ops, from their shape rules; a new structural op needs an entry. */
const STRUCTURAL_SHAPES: Record<string, { args: Shape[]; out: Shape }[]> = {
  matvec: [{ args: [['m', 'n'], ['n']], out: ['m'] }],
  matmul: [{ args: [['m', 'k'], ['k', 'n']], out: ['m', 'n'] }],
  transpose: [{ args: [['m', 'n']], out: ['n', 'm'] }],
  sum: [
    { args: [['n']], out: [] },
    { args: [['m', 'n']], out: [] },
  ],
  dot: [{ args: [['n'], ['n']], out: [] }],
  outer: [{ args: [['m'], ['n']], out: ['m', 'n'] }],
  rowsum: [{ args: [['m', 'n']], out: ['m'] }],
  rowmax: [{ args: [['m', 'n']], out: ['m'] }],
  rowmin: [{ args: [['m', 'n']], out: ['m'] }],
  maxall: [{ args: [['n']], out: [] }, { args: [['m', 'n']], out: [] }],
  minall: [{ args: [['n']], out: [] }, { args: [['m', 'n']], out: [] }],
  lusolve: [
    { args: [['n', 'n'], ['n']], out: ['n'] },
    { args: [['n', 'n'], ['n', 'k']], out: ['n', 'k'] },
  ],
  inv: [{ args: [['n', 'n']], out: ['n', 'n'] }],
  diag: [
    { args: [['n']], out: ['n', 'n'] },
    { args: [['n', 'n']], out: ['n'] },
  ],
};

/** Shapes each structural op's rule must refuse. */
const STRUCTURAL_BAD_SHAPES: Record<string, Shape[][]> = {
  matvec: [[['m', 'n'], ['m']], [['n'], ['n']], [['m', 'n'], ['m', 'n']]],
  matmul: [[['m', 'k'], ['n', 'k']], [['m', 'k'], ['k']]],
  transpose: [[['n']], [[]]],
  sum: [],
  dot: [[['n'], ['m']], [['m', 'n'], ['n']]],
  outer: [[['m', 'n'], ['n']], [[], ['n']]],
  rowsum: [[['n']], [[]]],
  rowmax: [[['n']], [[]]],
  rowmin: [[['n']], [[]]],
  maxall: [[[]]],
  minall: [[[]]],
  lusolve: [[['m', 'n'], ['m']], [['n', 'n'], ['m']], [['n', 'n'], ['m', 'k']], [['n'], ['n']], [['n', 'n'], []], [[], ['n']]],
  inv: [[['m', 'n']], [['n']], [[]]],
  diag: [[[]], [['m', 'n']]],
};

/** One fixed small case per structural op, with the answer computed by hand. */
const STRUCTURAL_FIXED: Record<string, { args: Tensor[]; expected: Tensor }[]> = {
  matvec: [
    {
      args: [tensor([2, 3], [1, 2, 3, 4, 5, 6]), tensor([3], [1, 0, -1])],
      expected: tensor([2], [-2, -2]),
    },
  ],
  matmul: [
    {
      args: [tensor([3, 2], [1, 2, 3, 4, 5, 6]), tensor([2, 3], [1, 0, 2, 0, 1, 3])],
      expected: tensor([3, 3], [1, 2, 8, 3, 4, 18, 5, 6, 28]),
    },
  ],
  transpose: [{ args: [tensor([2, 3], [1, 2, 3, 4, 5, 6])], expected: tensor([3, 2], [1, 4, 2, 5, 3, 6]) }],
  sum: [
    { args: [tensor([4], [1, 2, 3, 4.5])], expected: tensor([], [10.5]) },
    { args: [tensor([2, 2], [1, -2, 3, 4])], expected: tensor([], [6]) },
  ],
  dot: [{ args: [tensor([3], [1, 2, 3]), tensor([3], [4, -5, 6])], expected: tensor([], [12]) }],
  outer: [
    {
      args: [tensor([2], [1, 2]), tensor([3], [3, 4, -5])],
      expected: tensor([2, 3], [3, 4, -5, 6, 8, -10]),
    },
  ],
  rowsum: [{ args: [tensor([2, 3], [1, 2, 3, 4, -5, 6])], expected: tensor([2], [6, 5]) }],
  rowmax: [{ args: [tensor([2, 3], [1, 2, 3, 4, -5, 6])], expected: tensor([2], [3, 6]) }],
  rowmin: [{ args: [tensor([2, 3], [1, 2, 3, 4, -5, 6])], expected: tensor([2], [1, -5]) }],
  maxall: [{ args: [tensor([2, 2], [1, -2, 7, 4])], expected: tensor([], [7]) }],
  minall: [{ args: [tensor([3], [1, -2, 7])], expected: tensor([], [-2]) }],
  // the zero in the corner makes partial pivoting swap the rows
  lusolve: [
    { args: [tensor([2, 2], [0, 2, 1, 1]), tensor([2], [2, 3])], expected: tensor([2], [2, 1]) },
    { args: [tensor([2, 2], [2, 0, 0, 4]), tensor([2, 2], [2, 4, 4, 8])], expected: tensor([2, 2], [1, 2, 1, 2]) },
  ],
  inv: [{ args: [tensor([2, 2], [0, 2, 1, 1])], expected: tensor([2, 2], [-0.5, 1, 0.5, 0]) }],
  diag: [
    { args: [tensor([2], [1, -2])], expected: tensor([2, 2], [1, 0, 0, -2]) },
    { args: [tensor([2, 2], [1, 2, 3, 4])], expected: tensor([2], [1, 4]) },
  ],
};

/** The derivative-test cases of an op: all arguments varying, one broadcast scalar, one argument at a time, a constant argument. */
function diffCases(op: OpDef): DiffCase[] {
  const cases: DiffCase[] = [];
  const withMasks = (label: string, shapes: Shape[]) => {
    cases.push({ label: `${label}, all arguments vary`, args: shapes.map((shape) => ({ shape, varies: true })) });
    if (shapes.length > 1) {
      shapes.forEach((_, i) =>
        cases.push({ label: `${label}, only argument ${i} varies`, args: shapes.map((shape, k) => ({ shape, varies: k === i })) }),
      );
    }
  };
  if (op.kind === 'elementwise') {
    const vec: Shape = ['n'];
    withMasks('vectors [n]', Array.from({ length: op.arity }, () => vec));
    for (let i = 0; i < op.arity; i++) {
      const shapes = Array.from({ length: op.arity }, (_, k): Shape => (k === i ? [] : vec));
      cases.push({
        label: op.arity === 1 ? 'scalar argument' : `argument ${i} a scalar broadcast`,
        args: shapes.map((shape) => ({ shape, varies: true })),
      });
    }
    if (op.arity === 2) cases.push({ label: 'constant second argument', args: [{ shape: vec, varies: true }, { constant: 1.5 }] });
  } else {
    const shapes = STRUCTURAL_SHAPES[op.name];
    if (!shapes) throw new Error(`no test shapes for structural op '${op.name}': add it to STRUCTURAL_SHAPES`);
    for (const s of shapes) withMasks(`shapes ${s.args.map((a) => `[${a.join(',')}]`).join(' × ')}`, s.args);
  }
  return cases;
}

interface Built {
  b: Builder;
  out: Node;
  inputs: InputNode[];
  varying: InputNode[];
  env: Map<string, Tensor>;
}

/** The graph `op(args)` with a non-simplifying builder, and random argument values in the op's domain. */
function buildCase(op: OpDef, c: DiffCase, seed: number): Built {
  const rng = randomGenerator(seed);
  const b = new Builder(false);
  const domain: Domain = op.domain ?? 'any';
  // Arguments of an op with a kink where they tie are drawn together, apart from each other.
  const apart = domain === 'apart' ? apartArgs(rng, c.args.map((a) => ('constant' in a ? a.constant : a.shape)), DIMS) : null;
  const env = new Map<string, Tensor>();
  const inputs: InputNode[] = [];
  const varying: InputNode[] = [];
  const args = c.args.map((a, i) => {
    if ('constant' in a) return b.constant(a.constant);
    const role = a.varies ? 'param' : 'data';
    const node = b.input(`a${i}`, role, a.shape) as InputNode;
    const value = apart?.[i] ?? argValue(rng, domain, i, a.shape, a.varies);
    env.set(keyOf(role, node.name), value);
    inputs.push(node);
    if (a.varies) varying.push(node);
    return node;
  });
  const out = b.op(op.name, ...args);
  expect(out.kind === 'op' && out.op === op.name, 'non-simplifying builder keeps the op').toBe(true);
  return { b, out, inputs, varying, env };
}

/** A random argument `i` of an op with this domain (not `apart`: those are drawn together). */
function argValue(rng: ReturnType<typeof randomGenerator>, domain: Domain, i: number, shape: Shape, varies: boolean): Tensor {
  if (domain === 'condition') return i === 0 ? conditionArg(rng, shape, DIMS, varies) : randomTensor(rng, shape, DIMS);
  if (domain === 'invertible') return i === 0 ? invertibleArg(rng, shape, DIMS) : randomTensor(rng, shape, DIMS);
  return randomTensor(rng, shape, DIMS, domain);
}

const describeOp = <T extends OpDef>(op: T) => ({ name: op.name, kind: op.kind, op });

describe.each(OPS.map(describeOp))('op $name ($kind)', ({ op }) => {
  const cases = diffCases(op);

  it.each(cases.map((c, i) => ({ ...c, seed: 1000 + 37 * i })))('JVP matches central differences: $label', ({ args, label, seed }) => {
    const { b, out, varying, env } = buildCase(op, { label, args }, seed);
    const rng = randomGenerator(seed + 1);
    const tangentOf = new Map(varying.map((v) => [v.id, b.input(v.name, 'tangent', v.shape)]));
    const [dot] = jvp(b, [out], (input) => tangentOf.get(input.id) ?? null);
    if (dot) expect(dot.shape).toEqual(out.shape);

    const directions = varying.map((v) => randomDirection(rng, v.shape, DIMS));
    const tangentEnv = new Map(env);
    varying.forEach((v, i) => tangentEnv.set(keyOf('tangent', v.name), directions[i]!));
    const analytic = valueOf(dot ?? null, out.shape, tangentEnv, DIMS);

    const lengths = varying.map((v) => sizeOf(v.shape, DIMS));
    const f = (flat: Float64Array) => {
      const e = new Map(env);
      split(flat, lengths).forEach((part, i) => e.set(keyOf('param', varying[i]!.name), { shape: env.get(keyOf('param', varying[i]!.name))!.shape, data: part }));
      return evaluate([out], e, DIMS)[0]!.data;
    };
    const x0 = concat(varying.map((v) => env.get(keyOf('param', v.name))!.data));
    const numeric = centralDifference(f, x0, concat(directions.map((d) => d.data)));

    expect(analytic.length).toBe(numeric.length);
    expect(analytic.every(Number.isFinite)).toBe(true);
    expect(relativeDifference(analytic, numeric)).toBeLessThan(1e-6);
  });

  it.each(cases.map((c, i) => ({ ...c, seed: 5000 + 41 * i })))('VJP passes the dot-product test: $label', ({ args, label, seed }) => {
    const { b, out, varying, env } = buildCase(op, { label, args }, seed);
    const rng = randomGenerator(seed + 1);
    const tangentOf = new Map(varying.map((v) => [v.id, b.input(v.name, 'tangent', v.shape)]));
    const [dot] = jvp(b, [out], (input) => tangentOf.get(input.id) ?? null);
    const seedNode = b.input('out', 'cotangent', out.shape);
    const bars = vjp(b, [out], [seedNode], varying);
    expect(bars.length).toBe(varying.length);
    bars.forEach((bar, i) => {
      if (bar) expect(bar.shape).toEqual(varying[i]!.shape);
    });

    const e = new Map(env);
    const directions = varying.map((v) => randomDirection(rng, v.shape, DIMS));
    varying.forEach((v, i) => e.set(keyOf('tangent', v.name), directions[i]!));
    const ubar = randomDirection(rng, out.shape, DIMS);
    e.set(keyOf('cotangent', 'out'), ubar);

    const jv = valueOf(dot ?? null, out.shape, e, DIMS);
    const lhs = innerProduct(ubar.data, jv);
    const rhs = varying.reduce((s, v, i) => s + innerProduct(valueOf(bars[i] ?? null, v.shape, e, DIMS), directions[i]!.data), 0);
    expect(Number.isFinite(lhs) && Number.isFinite(rhs)).toBe(true);
    expect(relativeScalar(lhs, rhs)).toBeLessThan(1e-10);
    // Not vacuous: a derivative that is not exactly zero (sign's and comparisons' are) is nonzero here.
    if (dot) expect(Math.abs(lhs)).toBeGreaterThan(0);
  });
});

describe('elementwise ops', () => {
  it('the registry has the expected elementwise and structural ops', () => {
    const names = OPS.map((o) => o.name);
    const smooth = ['add', 'sub', 'mul', 'div', 'neg', 'pow', 'exp', 'log', 'sqrt', 'abs', 'tanh', 'sigmoid', 'softplus', 'sin', 'cos', 'log1p', 'expm1', 'square', 'cube'];
    for (const n of [...smooth, 'sign', 'maximum', 'minimum', 'lt', 'gt', 'le', 'ge', 'select']) {
      expect(ELEMENTWISE.map((o) => o.name)).toContain(n);
    }
    for (const n of ['matvec', 'matmul', 'transpose', 'sum', 'dot', 'outer', 'lusolve', 'inv', 'diag']) expect(STRUCTURAL.map((o) => o.name)).toContain(n);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(ELEMENTWISE.map(describeOp))('$name broadcasts scalars and refuses mismatched tensors', ({ op }) => {
    const vec: Shape = ['n'];
    expect(op.shape(Array.from({ length: op.arity }, () => vec))).toEqual(vec);
    expect(op.shape(Array.from({ length: op.arity }, (): Shape => []))).toEqual([]);
    if (op.arity === 2) {
      expect(op.shape([[], ['m', 'n']])).toEqual(['m', 'n']);
      expect(op.shape([['n'], []])).toEqual(['n']);
      expect(() => op.shape([['n'], ['m']])).toThrow(ShapeError);
      expect(() => op.shape([['n'], ['m', 'n']])).toThrow(ShapeError);
    }
  });

  it('sign has an exactly zero derivative: null partials, null JVP, no VJP contribution', () => {
    const sign = ELEMENTWISE.find((o) => o.name === 'sign')!;
    const b = new Builder(false);
    const x = b.input('x', 'param', ['n']) as InputNode;
    const out = b.op('sign', x);
    expect(sign.partials(b, [x], out)).toEqual([null]);
    const [dot] = jvp(b, [out], (i) => (i.id === x.id ? b.input('x', 'tangent', ['n']) : null));
    expect(dot).toBeNull();
    expect(vjp(b, [out], [b.input('out', 'cotangent', ['n'])], [x])).toEqual([null]);
    // and the finite difference agrees away from zero
    const rng = randomGenerator(7);
    const v = randomTensor(rng, ['n'], DIMS, 'nonzero');
    const f = (flat: Float64Array) => evaluate([out], new Map([[keyOf('param', 'x'), { shape: [4], data: flat }]]), DIMS)[0]!.data;
    expect(Array.from(centralDifference(f, v.data, rng.vector(4, 'normal')))).toEqual([0, 0, 0, 0]);
  });

  it('pow with a constant exponent has no exponent partial; with an input exponent it has one', () => {
    const b = new Builder(false);
    const x = b.input('x', 'param', ['n']);
    const p = b.input('p', 'param', ['n']);
    const pow = ELEMENTWISE.find((o) => o.name === 'pow')!;
    const c = b.constant(2.5);
    expect(pow.partials(b, [x, c], b.op('pow', x, c))[1]).toBeNull();
    expect(pow.partials(b, [x, p], b.op('pow', x, p))[1]).not.toBeNull();
  });

  it.each(ELEMENTWISE.map(describeOp))('$name has a JS template that computes its scalar function with correct parentheses', ({ op }) => {
    const rng = randomGenerator(op.name.length * 97 + 3);
    const domain: Domain = op.domain ?? 'any';
    // Each argument printed at every precedence level (atom, unary, product, sum) with the same value.
    const levels = [
      (i: number) => ({ text: `a${i}`, level: 4 }),
      (i: number) => ({ text: `-m${i}`, level: 3 }),
      (i: number) => ({ text: `1 * a${i}`, level: 2 }),
      (i: number) => ({ text: `0 + a${i}`, level: 1 }),
    ];
    // every combination of levels, one per argument
    let combos: number[][] = [[]];
    for (let k = 0; k < op.arity; k++) combos = combos.flatMap((c) => levels.map((_, l) => [...c, l]));
    for (const combo of combos) {
      const values = Array.from({ length: op.arity }, () => drawValue(rng, domain));
      const printed = printOp(op.name, combo.map((l, i) => levels[l]!(i)) as never);
      const params = values.flatMap((_, i) => [`a${i}`, `m${i}`]);
      const fn = new Function(...params, `${JS_HELPERS}\nreturn ${printed.text};`) as (...v: number[]) => number;
      const got = fn(...values.flatMap((v) => [v, -v]));
      const want = op.scalar(...values);
      expect(got, `${op.name} printed as ${printed.text}`).toBeCloseTo(want, 12);
    }
  });

  it.each(ELEMENTWISE.map(describeOp))('$name has a js and a gpu template in its entry, calling only helpers that exist', ({ op }) => {
    expect(op.emit.js, `${op.name} has no js template`).toBeTypeOf('object');
    expect(op.emit.gpu, `${op.name} has no gpu template`).toBeTypeOf('object');
    for (const h of [...templateHelpers(op.emit.js), ...templateHelpers(op.emit.gpu)]) expect(helperNames(), `${op.name} calls helper ${h}`).toContain(h);
    for (const h of templateHelpers(op.emit.js)) expect(JS_SCALAR_HELPERS).toContain(h);
  });

  it('ops formulas call by name are reserved names, and printing an op outside the registry is an error naming it', () => {
    for (const op of ELEMENTWISE.filter((o) => o.callable)) expect(FORMULA_FUNCTIONS, `FORMULA_FUNCTIONS (compiler/spec/identifiers.ts) lacks '${op.name}'`).toContain(op.name);
    expect(() => printOp('erf', [{ text: 'x', level: 4 }])).toThrow(/no template for op 'erf'/);
  });

  it('scalar functions are stable where naive formulas overflow', () => {
    const byName = (n: string) => ELEMENTWISE.find((o) => o.name === n)!.scalar;
    expect(byName('sigmoid')(-800)).toBe(0);
    expect(byName('sigmoid')(800)).toBe(1);
    expect(byName('sigmoid')(0)).toBe(0.5);
    expect(byName('softplus')(800)).toBe(800);
    expect(byName('softplus')(-800)).toBe(0);
    expect(byName('softplus')(0)).toBeCloseTo(Math.LN2, 15);
  });

  it('each scalar helper has one source: the JS module declares that text at its top level, and it computes what the interpreter does', () => {
    // The text generated modules carry, evaluated on its own (as a module would run it).
    const emitted = new Function(`${JS_HELPERS}\nreturn { ${JS_SCALAR_HELPERS.join(', ')} };`)() as Record<string, (v: number) => number>;
    expect(JS_SCALAR_HELPERS).toEqual(['sigmoid', 'softplus']);
    const harvested = topLevelNames(JS_HELPERS);
    const extremes = [1000, -1000, 1e-300, -1e-300, 0, -0, 1e-16, -1e-16, 1e-8, -1e-8, 0.5, -0.5, 1, -1, 20, -20, 36.7, -36.7, 37, -37, 709, -709, 710, -710, 745, -745, 1e300, -1e300, Infinity, -Infinity, NaN];
    const rng = randomGenerator(11);
    const values = [...extremes, ...Array.from({ length: 2000 }, () => (rng.uniform() - 0.5) * 10 ** (8 * rng.uniform() - 4))];
    for (const name of JS_SCALAR_HELPERS) {
      expect(JS_HELPERS).toContain(helperSource(name));
      expect(harvested, `'${name}' is declared at the top level as function ${name}`).toContain(name);
      const interpreter = ELEMENTWISE.find((o) => o.name === name)!.scalar;
      expect(interpreter).toBe(helperFunction(name));
      for (const v of values) expect(Object.is(emitted[name]!(v), interpreter(v)), `${name}(${v}): emitted ${emitted[name]!(v)}, interpreter ${interpreter(v)}`).toBe(true);
    }
    expect(helperFunction('sigmoid')(-1000)).toBe(0);
    expect(helperFunction('sigmoid')(1000)).toBe(1);
    expect(helperFunction('softplus')(1000)).toBe(1000);
    expect(helperFunction('softplus')(-1000)).toBe(0);
    expect(helperFunction('softplus')(-700)).toBe(Math.exp(-700));
  });
});

describe('structural ops', () => {
  it('every structural op has test shapes, bad shapes and a fixed evaluation case', () => {
    for (const op of STRUCTURAL) {
      expect(STRUCTURAL_SHAPES[op.name], `STRUCTURAL_SHAPES lacks '${op.name}'`).toBeDefined();
      expect(STRUCTURAL_BAD_SHAPES[op.name], `STRUCTURAL_BAD_SHAPES lacks '${op.name}'`).toBeDefined();
      expect(STRUCTURAL_FIXED[op.name], `STRUCTURAL_FIXED lacks '${op.name}'`).toBeDefined();
    }
  });

  it.each(STRUCTURAL.map(describeOp))('$name: shape rule', ({ op }) => {
    for (const s of STRUCTURAL_SHAPES[op.name] ?? []) {
      expect(s.args.length).toBe(op.arity);
      expect(op.shape(s.args)).toEqual(s.out);
    }
    for (const bad of STRUCTURAL_BAD_SHAPES[op.name] ?? []) expect(() => op.shape(bad), JSON.stringify(bad)).toThrow(ShapeError);
  });

  it.each(STRUCTURAL.map(describeOp))('$name: evaluate matches a hand-computed case', ({ op }) => {
    for (const { args, expected } of STRUCTURAL_FIXED[op.name] ?? []) {
      const got = op.evaluate(args);
      expect(got.shape).toEqual(expected.shape);
      expect(Array.from(got.data)).toEqual(Array.from(expected.data));
    }
  });

  it.each(STRUCTURAL.map(describeOp))('$name: the interpreter agrees with a naive computation on random inputs', ({ op }) => {
    const rng = randomGenerator(op.name.length * 13 + 1);
    for (const s of STRUCTURAL_SHAPES[op.name] ?? []) {
      const args = s.args.map((shape) => randomTensor(rng, shape, DIMS));
      const b = new Builder(false);
      const inputs = s.args.map((shape, i) => b.input(`a${i}`, 'data', shape));
      const env = new Map(args.map((t, i) => [keyOf('data', `a${i}`), t] as const));
      const [got] = evaluate([b.op(op.name, ...inputs)], env, DIMS);
      const want = naive(op.name, args);
      expect(got!.shape).toEqual(want.shape);
      expect(relativeDifference(got!.data, want.data)).toBeLessThan(1e-14);
    }
  });
});

/** Entry (i, j) of a row-major matrix tensor. */
const at = (t: Tensor, i: number, j: number) => t.data[i * t.shape[1]! + j]!;

/** Straightforward loops, written independently of the ops' evaluate functions. */
function naive(name: string, [a, b]: Tensor[]): Tensor {
  switch (name) {
    case 'matvec': {
      const rows = a!.shape[0]!;
      const out = Array.from({ length: rows }, (_, i) => b!.data.reduce((s, v, j) => s + at(a!, i, j) * v, 0));
      return tensor([rows], out);
    }
    case 'matmul': {
      const [r, k] = a!.shape as [number, number];
      const c = b!.shape[1]!;
      const out: number[] = [];
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out.push(Array.from({ length: k }, (_, l) => at(a!, i, l) * at(b!, l, j)).reduce((p, q) => p + q, 0));
      return tensor([r, c], out);
    }
    case 'transpose': {
      const [r, c] = a!.shape as [number, number];
      const out: number[] = [];
      for (let j = 0; j < c; j++) for (let i = 0; i < r; i++) out.push(at(a!, i, j));
      return tensor([c, r], out);
    }
    case 'sum':
      return tensor([], [Array.from(a!.data).reduce((p, q) => p + q, 0)]);
    case 'dot':
      return tensor([], [Array.from(a!.data).reduce((p, q, i) => p + q * b!.data[i]!, 0)]);
    case 'outer': {
      const out: number[] = [];
      for (const u of a!.data) for (const v of b!.data) out.push(u * v);
      return tensor([a!.data.length, b!.data.length], out);
    }
    case 'rowsum':
    case 'rowmax':
    case 'rowmin': {
      const [r, c] = a!.shape as [number, number];
      const rows = Array.from({ length: r }, (_, i) => Array.from({ length: c }, (_, j) => at(a!, i, j)));
      const pick = name === 'rowsum' ? (xs: number[]) => xs.reduce((p, q) => p + q, 0) : name === 'rowmax' ? (xs: number[]) => Math.max(...xs) : (xs: number[]) => Math.min(...xs);
      return tensor([r], rows.map(pick));
    }
    case 'maxall':
      return tensor([], [Math.max(...a!.data)]);
    case 'minall':
      return tensor([], [Math.min(...a!.data)]);
    case 'lusolve':
      return cramer(a!, b!);
    case 'inv': {
      const n = a!.shape[0]!;
      return cramer(a!, tensor([n, n], Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? 1 : 0))));
    }
    case 'diag': {
      const n = a!.shape[0]!;
      if (a!.shape.length === 2) return tensor([n], Array.from({ length: n }, (_, i) => at(a!, i, i)));
      return tensor([n, n], Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? a!.data[k % n]! : 0)));
    }
    default:
      throw new Error(`no naive computation for structural op '${name}': add one to naive()`);
  }
}

/** The determinant by cofactor expansion along the first row (small matrices only). */
function determinant(rows: number[][]): number {
  if (rows.length === 1) return rows[0]![0]!;
  return rows[0]!.reduce((s, v, j) => s + (j % 2 === 0 ? 1 : -1) * v * determinant(rows.slice(1).map((r) => r.filter((_, c) => c !== j))), 0);
}

/** A⁻¹B by Cramer's rule: column j of A replaced by the right-hand side, no elimination at all. */
function cramer(a: Tensor, b: Tensor): Tensor {
  const n = a.shape[0]!;
  const nrhs = b.shape.length === 1 ? 1 : b.shape[1]!;
  const rows = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => at(a, i, j)));
  const det = determinant(rows);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < nrhs; c++) out.push(determinant(rows.map((r, k) => r.map((v, j) => (j === i ? b.data[k * nrhs + c]! : v)))) / det);
  }
  return tensor([...b.shape], out);
}

// keepsNonFinite (registry.ts): sparse finiteness checks are sound only if a bad value in a
// listed argument can never vanish, and the list should hold every argument that keeps one.
describe('keepsNonFinite: the arguments through which NaN or ±Inf always reach the result', () => {
  const BAD = [NaN, Infinity, -Infinity];
  const OTHERS = [0, 1, -2.5, 1e308, -1e-308, 0.5, NaN, Infinity, -Infinity];
  const combos = (k: number): number[][] => (k === 0 ? [[]] : combos(k - 1).flatMap((c) => OTHERS.map((o) => [...c, o])));

  it.each(ELEMENTWISE.map(describeOp))('$name: listed arguments keep a bad value for every other argument; unlisted ones have an input that hides it', ({ op }) => {
    const e = op as ElementwiseOp;
    const listed = new Set(e.keepsNonFinite ?? []);
    for (let a = 0; a < e.arity; a++) {
      const hiding: number[][] = [];
      for (const bad of BAD) for (const rest of combos(e.arity - 1)) {
        const args = [...rest.slice(0, a), bad, ...rest.slice(a)];
        if (Number.isFinite(e.scalar(...args))) hiding.push(args);
      }
      if (listed.has(a)) expect(hiding, `${e.name}(${hiding[0]?.join(', ')}) is finite`).toEqual([]);
      else expect(hiding.length, `no input of ${e.name} hides a bad argument ${a}: list it in keepsNonFinite`).toBeGreaterThan(0);
    }
  });

  it.each(STRUCTURAL.filter((o) => o.keepsNonFinite?.length).map(describeOp))('$name: a bad entry anywhere in a listed argument makes some entry of the result bad', ({ op }) => {
    const rng = randomGenerator(op.name.length * 7 + 3);
    const s = op as StructuralOp;
    for (const shapes of STRUCTURAL_SHAPES[s.name]!) {
      for (const a of s.keepsNonFinite!) {
        const size = randomTensor(rng, shapes.args[a]!, DIMS).data.length;
        for (let entry = 0; entry < size; entry++) {
          for (const bad of BAD) {
            // the other arguments hold zeros: 0 · Inf is NaN, so even they cannot hide it
            const args = shapes.args.map((shape, i) => {
              const t = randomTensor(rng, shape, DIMS);
              if (i !== a) t.data.fill(0);
              return t;
            });
            args[a]!.data[entry] = bad;
            expect(Array.from(s.evaluate(args).data).some((v) => !Number.isFinite(v)), `${s.name}: entry ${entry} of argument ${a} = ${bad}`).toBe(true);
          }
        }
      }
    }
  });
});
