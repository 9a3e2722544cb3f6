// The derivative conventions of the piecewise ops at and around their kinks, on the IR with and
// without simplification: maximum and minimum take the branch and split a tie ½/½, sign' = 0,
// comparisons give 0 or 1 with derivative 0, the conditional routes the derivative to the
// branch it takes; and how their templates print (a conditional tests a comparison directly).

import { describe, expect, it } from 'vitest';
import { Builder } from '../compiler/ir/builder.js';
import type { InputNode, Node } from '../compiler/ir/nodes.js';
import { evaluate } from '../compiler/ir/evaluate.js';
import { jvp } from '../compiler/diff/jvp.js';
import { vjp } from '../compiler/diff/vjp.js';
import { printOp } from '../compiler/codegen/js-templates.js';
import { printOp as printGpuOp } from '../compiler/codegen/gpu/templates.js';
import { buildModel } from '../compiler/model.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { keyOf, sexpr, tensor, valueOf } from './helpers/ir.js';
import { WebGL2FunctionNode, WebGLFunctionNode } from 'gpu.js';

const DIMS = { n: 4 };

interface Derivatives {
  value: number[];
  /** The JVP along the given tangents. */
  tangent: number[];
  /** The VJP of the given cotangent, per argument (zeros for none). */
  cotangents: number[][];
}

/** op(args) at the given values (vectors of 4), differentiated along `tangents` and back from `cotangent`. */
function derivatives(simplify: boolean, op: string, values: number[][], tangents: number[][], cotangent: number[]): Derivatives {
  const b = new Builder(simplify);
  const args = values.map((_, i) => b.input(`a${i}`, 'param', ['n']) as InputNode);
  const out = b.op(op, ...args);
  const tangentOf = new Map(args.map((a) => [a.id, b.input(a.name, 'tangent', ['n'])]));
  const [dot] = jvp(b, [out], (i) => tangentOf.get(i.id) ?? null);
  const bars = vjp(b, [out], [b.input('out', 'cotangent', ['n'])], args);
  const env = new Map([
    ...values.map((v, i) => [keyOf('param', `a${i}`), tensor([4], v)] as const),
    ...tangents.map((v, i) => [keyOf('tangent', `a${i}`), tensor([4], v)] as const),
    [keyOf('cotangent', 'out'), tensor([4], cotangent)] as const,
  ]);
  const at = (n: Node | null) => Array.from(valueOf(n, ['n'], env, DIMS));
  return { value: Array.from(evaluate([out], env, DIMS)[0]!.data), tangent: at(dot ?? null), cotangents: bars.map(at) };
}

const ONES = [1, 1, 1, 1];
const ZEROS = [0, 0, 0, 0];

describe.each([true, false])('piecewise derivatives (simplify %s)', (simplify) => {
  it('maximum takes the larger argument and its derivative; at a tie each argument gets ½', () => {
    const a = [3, -1, 2, 0];
    const b = [1, 5, 2, 0];
    const d = derivatives(simplify, 'maximum', [a, b], [[10, 20, 30, 40], [1, 2, 3, 4]], [1, 2, 3, 4]);
    expect(d.value).toEqual([3, 5, 2, 0]);
    // branch taken: ȧ, ḃ; ties: (ȧ + ḃ)/2
    expect(d.tangent).toEqual([10, 2, 16.5, 22]);
    expect(d.cotangents).toEqual([
      [1, 0, 1.5, 2],
      [0, 2, 1.5, 2],
    ]);
  });

  it('minimum takes the smaller argument; at a tie each gets ½', () => {
    const d = derivatives(simplify, 'minimum', [[3, -1, 2, 7], [1, 5, 2, 7]], [ONES, ZEROS], [1, 1, 1, 4]);
    expect(d.value).toEqual([1, -1, 2, 7]);
    expect(d.tangent).toEqual([0, 1, 0.5, 0.5]);
    expect(d.cotangents).toEqual([
      [0, 1, 0.5, 2],
      [1, 0, 0.5, 2],
    ]);
  });

  it('sign has derivative 0, at 0 too', () => {
    const d = derivatives(simplify, 'sign', [[-2, 0, 3, -0]], [ONES], ONES);
    expect(d.value).toEqual([-1, 0, 1, -0]);
    expect(d.tangent).toEqual(ZEROS);
    expect(d.cotangents).toEqual([ZEROS]);
  });

  it.each([
    ['lt', [1, 0, 0, 0]],
    ['le', [1, 1, 0, 0]],
    ['gt', [0, 0, 1, 1]],
    ['ge', [0, 1, 1, 1]],
  ])('%s is exact (no tolerance), gives 0 or 1, and has derivative 0', (op, want) => {
    // 0.1 + 0.2 > 0.3 in float64: mathjs' evaluate would call them equal
    const d = derivatives(simplify, op, [[1, 2, 3, 0.1 + 0.2], [2, 2, 2, 0.3]], [ONES, ONES], ONES);
    expect(d.value).toEqual(want);
    expect(d.tangent).toEqual(ZEROS);
    expect(d.cotangents).toEqual([ZEROS, ZEROS]);
  });

  it('the conditional passes the derivative to the branch it takes only (true where c ≠ 0)', () => {
    const c = [1, 0, -2, 0];
    const d = derivatives(simplify, 'select', [c, [10, 20, 30, 40], [-1, -2, -3, -4]], [[7, 7, 7, 7], [1, 2, 3, 4], [5, 6, 7, 8]], [1, 2, 3, 4]);
    expect(d.value).toEqual([10, -2, 30, -4]);
    expect(d.tangent).toEqual([1, 6, 3, 8]);
    expect(d.cotangents).toEqual([ZEROS, [1, 0, 3, 0], [0, 2, 0, 4]]);
  });

  it('a non-finite tangent of the branch not taken does not leak into the forward derivative', () => {
    // sqrt'(x) at x < 0 is NaN; c ? 0 : sqrt(x) with c ≠ 0 there must still have a finite tangent.
    const b = new Builder(simplify);
    const x = b.input('x', 'param', ['n']) as InputNode;
    const c = b.op('lt', x, b.constant(0));
    const out = b.op('select', c, b.constant(0), b.op('sqrt', x));
    const [dot] = jvp(b, [out], (i) => (i.id === x.id ? b.input('x', 'tangent', ['n']) : null));
    const env = new Map([
      [keyOf('param', 'x'), tensor([4], [-1, 4, -9, 1])],
      [keyOf('tangent', 'x'), tensor([4], ONES)],
    ]);
    const got = Array.from(valueOf(dot!, ['n'], env, DIMS));
    // Unsimplified, the partial (c ? 0 : 1) multiplies the NaN: only the select rules avoid it.
    if (simplify) expect(got).toEqual([0, 0.25, 0, 0.5]);
    else expect(got.filter(Number.isNaN).length).toBe(2);
  });
});

describe('piecewise templates', () => {
  const a = { text: 'a', level: 4 as const };
  const b = { text: 'b + 1', level: 1 as const };
  it('comparisons print as numbers, floats on the GPU', () => {
    expect(printOp('lt', [a, b]).text).toBe('(a < b + 1 ? 1 : 0)');
    expect(printGpuOp('ge', [a, b], new Set()).text).toBe('(a >= b + 1 ? 1.0 : 0.0)');
  });

  it('a conditional tests a comparison argument directly, any other argument against 0', () => {
    const cmp = printOp('le', [a, b]);
    expect(printOp('select', [cmp, b, a]).text).toBe('(a <= b + 1 ? b + 1 : a)');
    expect(printOp('select', [b, a, a]).text).toBe('(b + 1 !== 0 ? a : a)');
    expect(printGpuOp('select', [b, a, a], new Set()).text).toBe('(b + 1 !== 0.0 ? a : a)');
    expect(printGpuOp('select', [printGpuOp('gt', [a, b], new Set()), a, b], new Set()).text).toBe('(a > b + 1 ? a : b + 1)');
  });

  it('gpu.js translates them to well-typed GLSL: float results, float comparisons with 0', () => {
    const x = { text: 'x[i]', level: 4 as const };
    const p = { text: 'p[i]', level: 4 as const };
    const gpu = (op: string, args: { text: string; level: 1 | 2 | 3 | 4 }[]) => printGpuOp(op, args, new Set());
    const terms = [
      gpu('select', [gpu('lt', [x, p]), x, { text: '0', level: 4 }]),
      gpu('select', [p, x, p]),
      gpu('le', [x, p]),
      gpu('maximum', [x, { text: '0', level: 4 }]),
      gpu('sign', [x]),
      gpu('cube', [x]),
    ];
    const source = `function (x, p) {\nconst i = this.thread.x;\nreturn ${terms.map((t) => t.text).join(' + ')};\n}`;
    // What a kernel's function node needs to translate on its own, without a GL context.
    const settings = {
      isRootKernel: true,
      output: [4],
      argumentTypes: ['Array', 'Array'],
      returnType: 'Number',
      lookupFunctionArgumentTypes: () => [],
      lookupReturnType: () => 'Number',
      lookupFunctionArgumentBitRatio: () => 4,
      needsArgumentType: () => false,
      assignArgumentType: () => {},
      triggerImplyArgumentType: () => {},
      triggerImplyArgumentBitRatio: () => {},
      onNestedFunction: () => {},
      lookupFunctionArgumentName: () => null,
    };
    for (const Node of [WebGLFunctionNode, WebGL2FunctionNode]) {
      const glsl = (new Node(source, settings as never) as unknown as { toString(): string }).toString();
      // the conditional tests the comparison itself; a bare condition is compared with 0.0
      expect(glsl).toMatch(/int\(user_i\)\)<get32\(user_p[^?]*\)\)\?get32\(user_x/);
      expect(glsl).toMatch(/\?1\.0:0\.0\)/);
      expect(glsl).toMatch(/!=0\.0\)\?/);
      expect(glsl).toContain('max(');
      expect(glsl).toContain('sign(');
      // no integer literal where GLSL needs a float
      expect(glsl).not.toMatch(/[?:]\d+[:)]/);
    }
  });

  it('maximum, minimum and sign are Math calls; square and cube products', () => {
    expect(printOp('maximum', [b, a]).text).toBe('Math.max(b + 1, a)');
    expect(printGpuOp('minimum', [b, a], new Set()).text).toBe('Math.min(b + 1, a)');
    expect(printOp('sign', [a]).text).toBe('Math.sign(a)');
    expect(printOp('square', [b]).text).toBe('(b + 1) * (b + 1)');
    expect(printGpuOp('cube', [a], new Set()).text).toBe('a * a * a');
  });
});

describe('piecewise formulas', () => {
  /** The update of x [n] (with a scalar param s and a vector param v) as an s-expression. */
  const parsed = (formula: string, functions: Record<string, { args: string[]; body: string }> = {}) => {
    const spec = { name: 'probe', state: { x: 'n' }, params: { s: '', v: 'n' }, functions, update: { x: formula } };
    return sexpr(buildModel(inMemorySource(spec)).update[0]!);
  };

  it('comparisons and c ? a : b are elementwise, a scalar broadcasting', () => {
    expect(parsed('x > 0 ? x : -x')).toBe('(select (gt x 0) x (neg x))');
    expect(parsed('(x <= v) .* x + (s >= 1) * v - (x < s)')).toBe('(sub (add (mul (le x v) x) (mul (ge s 1) v)) (lt x s))');
    expect(parsed('s > 0 ? x : v')).toBe('(select (gt s 0) x v)');
  });

  it('maximum and minimum are elementwise; max and min of scalars are the same ops, chained left to right', () => {
    expect(parsed('maximum(x, 0) + minimum(s, v)')).toBe('(add (maximum x 0) (minimum s v))');
    expect(parsed('max(s, 0.5, 2 * s) * x')).toBe('(mul (maximum (maximum s 0.5) (mul 2 s)) x)');
    expect(parsed('min(s, 1) * x')).toBe('(mul (minimum s 1) x)');
  });

  it('inside a scalar helper, max and min apply entrywise to a tensor argument', () => {
    const soft = { args: ['z', 'k'], body: 'sign(z) * max(abs(z) - k, 0)' };
    expect(parsed('soft(x, s)', { soft })).toBe('(mul (sign x) (maximum (sub (abs x) s) 0))');
  });

  it('square and cube are products, as .^2', () => {
    expect(parsed('square(x) + cube(s) * v')).toBe(parsed('x .^ 2 + s * s * s * v'));
  });
});
