// Checks the spec and formula errors of buildModel: PhicError category 'spec', field, formula, 0-based offset and message for each kind of mistake.

import { describe, expect, it } from 'vitest';
import { buildModel } from '../compiler/model.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { PhicError } from '../compiler/errors.js';

/** A valid spec the cases modify: state x [n]; params θ [n], s scalar; data A [m×n], B [n×n], C [k×m]. */
const BASE = {
  name: 'probe',
  state: { x: 'n' },
  params: { theta: 'n', s: '' },
  data: { A: 'm,n', B: 'n,n', C: 'k,m' },
  constants: { alpha: 0.1 },
  functions: { g: { args: ['r', 'q'], body: 'r * q' } },
  update: { x: "x - alpha * (A' * (A * x) + theta .* x)" },
} as const;

interface ErrorCase {
  label: string;
  /** The spec (a modified BASE). */
  spec: unknown;
  /** Substrings the message must contain. */
  message: string[];
  field: string;
  /** The formula in the error's context; undefined when the error is not about a formula. */
  formula?: string;
  /** Exact 0-based offset in the formula, or a [min, max] range, when the error points into it. */
  offset?: number | [number, number];
}

const update = (formula: string, extra: Record<string, unknown> = {}) => ({ ...BASE, ...extra, update: { x: formula } });
const withObjective = (extra: Record<string, unknown>) => {
  const { update: _u, ...rest } = BASE;
  return { ...rest, objective: 'sum(x .* x) + s * dot(theta, x)', method: { name: 'gd', step: 0.1 }, ...extra };
};
const F = (formula: string, offset: number | [number, number], message: string[], extra?: Record<string, unknown>): Omit<ErrorCase, 'label'> => ({
  spec: update(formula, extra),
  message,
  field: 'update.x',
  formula,
  offset,
});

const CASES: ErrorCase[] = [
  // --- unknown names -------------------------------------------------------------------
  { label: 'unknown symbol', ...F('x + x + zz', 8, ["unknown symbol 'zz'", 'known: x, theta, s, A, B, C, alpha']) },
  { label: 'unknown symbol inside a call', ...F('tanh(B*x + zz)', 11, ["unknown symbol 'zz'"]) },
  { label: 'a function used as a value', ...F('x + exp', 4, ["'exp' is a function: call it with arguments"]) },
  // --- shapes ---------------------------------------------------------------------------
  { label: 'shape mismatch on + (at the operator)', ...F('x + A*x', 2, ['shapes [n] and [m] do not match']) },
  { label: 'shape mismatch on + after a call', ...F('exp(x) + A*x', 7, ['shapes [n] and [m] do not match']) },
  { label: 'shape mismatch on + between parentheses', ...F('(x + theta) + (A * x)', 12, ['shapes [n] and [m] do not match']) },
  { label: 'shape mismatch on + after a number in e-notation', ...F('1e-3 * x + A*x', 9, ['shapes [n] and [m] do not match']) },
  { label: 'shape mismatch on + after implicit multiplication', ...F('2x + A*x', 3, ['shapes [n] and [m] do not match']) },
  { label: 'shape mismatch on .* (at the operator)', ...F('theta .* (A*x)', 6, ['shapes [n] and [m] do not match']) },
  { label: 'shape mismatch on ./', ...F('x + x ./ (A*x)', 6, ['shapes [n] and [m] do not match']) },
  { label: 'a column-length vector plus a matrix', ...F('A * x + A', 6, ['a vector of length m with an m×n matrix', 'write outer(v, ones(n))']) },
  {
    label: 'matrix * matrix with mismatched inner dims',
    ...F('x + alpha * (B * (B * A))', 20, ['matrix [n×n] times matrix [m×n]', 'inner dimensions n and m do not match']),
  },
  { label: 'non-finite constant points at the constant', ...F('x + Infinity', 4, ['only finite numbers', 'got Infinity']) },
  { label: 'string constant points at the string', ...F("x + 'a'", 4, ['only finite numbers', 'got "a"']) },
  { label: 'transposes are not mistaken for strings', ...F("A' * (A * x) + thetaa .* x", 15, ["unknown symbol 'thetaa'"]) },
  { label: 'matrix * vector with mismatched inner dims', ...F("A'*x + x", 2, ['matrix [n×m] times vector [n]', 'inner dimensions m and n do not match']) },
  { label: 'dot of vectors of different lengths', ...F('x + dot(x, A*x)', 4, ['dot product of [n] and [m]', 'do not match']) },
  { label: '^ on a vector', ...F('x - x^s', 5, ['^ is for scalars: use .^ for an elementwise power']) },
  { label: '^ with a vector exponent', ...F('x + s^x', 5, ['^ is for scalars']) },
  { label: '^ on a vector, nested right-associative', ...F('x + 2 ^ 3 ^ x', 10, ['^ is for scalars']) },
  { label: '/ by a vector', ...F('x ./ s / x', 7, ['division by a vector: use ./ for elementwise division']) },
  { label: '/ by a matrix', ...F('x / B', 2, ['division by a matrix']) },
  // --- functions ------------------------------------------------------------------------
  { label: 'floor is not differentiable', ...F('x + floor(x)', 4, ["'floor' is not differentiable", 'does not support it']) },
  // max and min: of scalars the elementwise maximum and minimum; on tensors refused
  { label: 'max of two vectors is ambiguous', ...F('max(x, theta)', 0, ['max of a vector is ambiguous', 'use maximum(a, b) for the elementwise maximum']) },
  { label: 'max of a vector and a non-literal scalar is refused, with maximum', ...F('x + max(x, s)', 4, ['the dimension of max(X, dim) must be the number 1', 'write maximum(X, c)']) },
  { label: 'min of a matrix is ambiguous', ...F('x + min(s, B) * x', 4, ['min of a matrix is ambiguous', 'use minimum(a, b)']) },
  { label: 'max along a third dimension', ...F('x + max(B, 3)', 4, ['must be the number 1', 'or 2']) },
  { label: 'max of a vector along dimension 2', ...F('x + max(x, 2)', 4, ['max(v, 2): a vector has one dimension']) },
  { label: 'max used as a value', ...F('x + max', 4, ["'max' is a function: call it with arguments"]) },
  { label: 'wrong arity of maximum', ...F('x + maximum(x)', 4, ['maximum takes 2 arguments, got 1']) },
  { label: 'maximum of mismatched vectors (at the call)', ...F('x + maximum(x, A*x)', 4, ['shapes [n] and [m] do not match']) },
  { label: 'unsupported function', ...F('x + foo(x)', 4, ["unsupported function 'foo'"]) },
  { label: 'wrong arity of a unary function', ...F('exp(x, x)', 0, ['exp takes 1 argument, got 2']) },
  { label: 'a unary function with no arguments', ...F('x + exp()', 4, ['exp takes 1 argument, got 0']) },
  { label: 'wrong arity of dot', ...F('x + dot(x)', 4, ['dot takes 2 arguments, got 1']) },
  { label: 'a tensor as the dimension of sum', ...F('sum(x, x) + x', 0, ['the dimension of sum(X, dim) must be the number 1']) },
  { label: 'wrong arity of sum', ...F('sum(B, 1, 2) + x', 0, ['sum takes 1 or 2 arguments']) },
  { label: 'wrong arity of a helper', ...F('x + g(x)', 4, ['g takes 2 arguments, got 1']) },
  // --- unsupported syntax ---------------------------------------------------------------
  { label: 'indexing', ...F('x[1]', 0, ['indexing is not supported']) },
  { label: 'indexing after an operator', ...F('theta + x[2]', 8, ['indexing is not supported']) },
  { label: 'matrix literal', ...F('x + [1, 2, 3]', [4, 5], ['matrix literals are not supported', 'declare the matrix as data']) },
  // comparisons and the conditional
  { label: 'comparison of mismatched vectors (at the operator)', ...F('x + (x > A*x)', 7, ['shapes [n] and [m] do not match']) },
  { label: 'equality is refused', ...F('x + (x == 1)', 7, ["'==' is not supported", 'tolerance', 'use <, <=, > or >=']) },
  { label: 'inequality is refused', ...F('x .* (x != theta)', 8, ["'!=' is not supported"]) },
  { label: 'logical and is refused', ...F('x + ((x > 0) and (x < 1))', 12, ["'and' is not supported", '(a < b) .* (c < d)']) },
  { label: 'logical not is refused', ...F('x + not (x > 0)', 4, ["'not' is not supported"]) },
  { label: 'chained comparison is refused', ...F('x + (0 < x < 1)', 5, ['chained comparisons', '(a < b) .* (b < c)']) },
  { label: 'conditional with mismatched branches (at the ?)', ...F('x + (s > 0 ? x : A*x)', 11, ['shapes [n] and [m] do not match']) },
  { label: 'conditional with a mismatched condition', ...F('x > theta ? A*x : x', 10, ['shapes [n] and [m] do not match']) },
  { label: 'assignment', ...F('a = 1', 0, ['unsupported expression (assignment)']) },
  // --- syntax errors (offsets from mathjs) ----------------------------------------------
  { label: 'syntax error: missing operand', ...F('x + * 2', 4, ['cannot parse formula', 'Value expected']) },
  { label: 'syntax error: unclosed parenthesis', ...F('x + (theta', 10, ['cannot parse formula', 'Parenthesis ) expected']) },
  { label: 'syntax error: unexpected end', ...F('x +', 3, ['cannot parse formula', 'Unexpected end of expression']) },
  // --- updates --------------------------------------------------------------------------
  { label: 'missing update', spec: { ...BASE, update: {} }, message: ["missing update for state 'x'"], field: 'update' },
  {
    label: 'update for a non-state',
    spec: { ...BASE, update: { x: 'x', y: 'x' } },
    message: ["update for 'y', which is not a state", 'states: x'],
    field: 'update.y',
  },
  {
    label: 'update for a param',
    spec: { ...BASE, update: { x: 'x', theta: 'theta' } },
    message: ["update for 'theta', which is not a state"],
    field: 'update.theta',
  },
  { label: 'update shape mismatch', spec: update('A*x'), message: ["the update of 'x' has shape [m] but the state is [n]"], field: 'update.x', formula: 'A*x' },
  {
    label: 'update that is a matrix',
    spec: update('outer(x, x)'),
    message: ["the update of 'x' has shape [n×n] but the state is [n]"],
    field: 'update.x',
    formula: 'outer(x, x)',
  },
  { label: 'update that is not a string', spec: { ...BASE, update: { x: 3 } }, message: ['an update must be a formula string'], field: 'update.x' },
  // --- helper functions -----------------------------------------------------------------
  {
    label: 'recursive helper',
    spec: update('f(x)', { functions: { f: { args: ['r'], body: 'f(r) + 1' } } }),
    message: ["function 'f' calls itself", 'recursion is not supported'],
    field: 'functions.f.body',
    formula: 'f(r) + 1',
    offset: 0,
  },
  {
    label: 'mutually recursive helpers',
    spec: update('f(x)', { functions: { f: { args: ['r'], body: 'h(r)' }, h: { args: ['r'], body: '2 * f(r)' } } }),
    message: ["function 'f' calls itself"],
    field: 'functions.h.body',
    formula: '2 * f(r)',
    offset: 4,
  },
  {
    label: 'helper body using a matrix',
    spec: update('f(x)', { functions: { f: { args: ['r'], body: 'r + B' } } }),
    message: ["helper functions are scalar: 'B' is a matrix", 'pass it as an argument instead'],
    field: 'functions.f.body',
    formula: 'r + B',
    offset: 4,
  },
  {
    label: 'helper body using a matrix inside sum',
    spec: update('f(x)', { functions: { f: { args: ['r'], body: 'r + sum(B)' } } }),
    message: ["helper functions are scalar: 'B' is a matrix"],
    field: 'functions.f.body',
    formula: 'r + sum(B)',
    offset: 8,
  },
  {
    label: 'helper body using a state vector',
    spec: update('f(theta)', { functions: { f: { args: ['r'], body: 'r + x' } } }),
    message: ["helper functions are scalar: 'x' is a vector"],
    field: 'functions.f.body',
    formula: 'r + x',
    offset: 4,
  },
  {
    label: 'helper body calling sum on its argument',
    spec: update('f(x)', { functions: { f: { args: ['r'], body: 'r + sum(r)' } } }),
    message: ['helper functions are scalar: sum is not allowed in them'],
    field: 'functions.f.body',
    formula: 'r + sum(r)',
    offset: 4,
  },
  {
    label: 'helper body with an unknown symbol',
    spec: update('f(theta)', { functions: { f: { args: ['r'], body: 'r + zz' } } }),
    message: ["unknown symbol 'zz'"],
    field: 'functions.f.body',
    formula: 'r + zz',
    offset: 4,
  },
  {
    label: 'helper body with a syntax error',
    spec: update('f(theta)', { functions: { f: { args: ['r'], body: 'r +' } } }),
    message: ['cannot parse formula'],
    field: 'functions.f.body',
    formula: 'r +',
    offset: 3,
  },
  {
    label: 'helper with repeated argument names',
    spec: update('x', { functions: { f: { args: ['r', 'r'], body: 'r' } } }),
    message: ['argument names must be distinct'],
    field: 'functions.f.args',
  },
  {
    label: 'helper without a body',
    spec: update('x', { functions: { f: { args: ['r'] } } }),
    message: ['a function must look like'],
    field: 'functions.f',
  },
  // --- names ----------------------------------------------------------------------------
  {
    label: "state named 'constructor'",
    spec: { ...BASE, state: { constructor: 'n' }, update: { constructor: 'constructor' } },
    message: ["name 'constructor' is reserved"],
    field: 'state.constructor',
  },
  {
    label: "param named '__proto__' (an own property, as JSON.parse makes it)",
    spec: { ...BASE, params: JSON.parse('{"__proto__": "n"}') },
    message: ["name '__proto__' is not a plain identifier"],
    field: 'params.__proto__',
  },
  {
    label: "helper argument named '__proto__'",
    spec: update('x', { functions: { f: { args: ['__proto__'], body: '1' } } }),
    message: ["argument '__proto__' is not a plain identifier"],
    field: 'functions.f.args.0',
  },
  { label: "param named 'class'", spec: { ...BASE, params: { class: 'n' } }, message: ["name 'class' is reserved", 'a JavaScript word'], field: 'params.class' },
  { label: "data named 'this'", spec: { ...BASE, data: { this: 'n' } }, message: ["name 'this' is reserved"], field: 'data.this' },
  { label: "constant named 'hasOwnProperty'", spec: { ...BASE, constants: { hasOwnProperty: 1 } }, message: ["name 'hasOwnProperty' is reserved"], field: 'constants.hasOwnProperty' },
  { label: "helper named 'toString'", spec: update('x', { functions: { toString: { args: ['r'], body: 'r' } } }), message: ["name 'toString' is reserved"], field: 'functions.toString' },
  { label: "data named 'exp' (a formula function)", spec: { ...BASE, data: { exp: 'n' } }, message: ["name 'exp' is reserved"], field: 'data.exp' },
  { label: "data named 'pi' (a formula constant)", spec: { ...BASE, data: { pi: '' } }, message: ["name 'pi' is reserved"], field: 'data.pi' },
  { label: "spec named 'class'", spec: { ...BASE, name: 'class' }, message: ["spec name 'class' is reserved"], field: 'name' },
  { label: "dim named 'constructor'", spec: { ...BASE, params: { theta: 'constructor' } }, message: ["dim 'constructor' is reserved"], field: 'params.theta' },
  { label: "name 'x-y'", spec: { ...BASE, params: { 'x-y': 'n' } }, message: ["name 'x-y' is not a plain identifier"], field: 'params.x-y' },
  { label: "name '1x'", spec: { ...BASE, data: { '1x': 'n' } }, message: ["name '1x' is not a plain identifier"], field: 'data.1x' },
  { label: 'empty name', spec: { ...BASE, params: { '': 'n' } }, message: ["name '' is not a plain identifier"], field: 'params.' },
  { label: "dim 'n-1'", spec: { ...BASE, state: { x: 'n-1' } }, message: ["dim 'n-1' is not a plain identifier"], field: 'state.x' },
  { label: 'a rank-3 shape', spec: { ...BASE, state: { x: 'a,b,c' } }, message: ["shape 'a,b,c' has more than two dims"], field: 'state.x' },
  // --- duplicates -----------------------------------------------------------------------
  { label: 'param with the name of a state', spec: { ...BASE, params: { x: 'n' } }, message: ["name 'x' is already used by state.x"], field: 'params.x' },
  { label: 'constant with the name of a data input', spec: { ...BASE, constants: { A: 1 } }, message: ["name 'A' is already used by data.A"], field: 'constants.A' },
  {
    label: 'helper with the name of a param',
    spec: update('x', { functions: { theta: { args: ['r'], body: 'r' } } }),
    message: ["name 'theta' is already used by params.theta"],
    field: 'functions.theta',
  },
  // --- update vs objective, methods -----------------------------------------------------
  {
    label: 'both update and objective',
    spec: { ...BASE, objective: 'sum(x)', method: { name: 'gd', step: 0.1 } },
    message: ['give either update (the map Φ) or objective together with method, not both and not neither'],
    field: 'objective',
  },
  {
    label: 'neither update nor objective',
    spec: (() => {
      const { update: _u, ...rest } = BASE;
      return rest;
    })(),
    message: ['give either update'],
    field: 'update',
  },
  { label: 'unknown method', spec: withObjective({ method: { name: 'adam', step: 0.1 } }), message: ['method name must be one of gd, heavy-ball, nesterov'], field: 'method.name' },
  { label: 'objective without a method', spec: withObjective({ method: undefined }), message: ["method must look like { name: 'gd', step: 0.1 }"], field: 'method' },
  { label: 'gd with a momentum', spec: withObjective({ method: { name: 'gd', step: 0.1, momentum: 0.5 } }), message: ['gd takes no momentum'], field: 'method.momentum' },
  { label: 'heavy-ball without a momentum', spec: withObjective({ method: { name: 'heavy-ball', step: 0.1 } }), message: ['heavy-ball needs a momentum'], field: 'method.momentum' },
  { label: 'non-finite step', spec: withObjective({ method: { name: 'gd', step: Infinity } }), message: ['step must be a finite number or a formula'], field: 'method.step' },
  { label: 'unknown method field', spec: withObjective({ method: { name: 'gd', step: 0.1, decay: 1 } }), message: ["unknown method field 'decay'"], field: 'method.decay' },
  { label: 'vector step', spec: withObjective({ method: { name: 'gd', step: 'theta' } }), message: ['step must be a scalar, got [n]'], field: 'method.step', formula: 'theta' },
  {
    label: 'vector momentum',
    spec: withObjective({ method: { name: 'nesterov', step: 0.1, momentum: 'x' } }),
    message: ['momentum must be a scalar, got [n]'],
    field: 'method.momentum',
    formula: 'x',
  },
  { label: 'step formula with a syntax error', spec: withObjective({ method: { name: 'gd', step: 'theta + ' } }), message: ['cannot parse formula'], field: 'method.step', formula: 'theta + ', offset: 8 },
  { label: 'vector objective', spec: withObjective({ objective: 'x .* x' }), message: ['the objective must be a scalar, got [n]'], field: 'objective', formula: 'x .* x' },
  { label: 'objective with an unknown symbol', spec: withObjective({ objective: 'sum(x) + zz' }), message: ["unknown symbol 'zz'"], field: 'objective', formula: 'sum(x) + zz', offset: 9 },
  {
    label: 'heavy-ball previous iterate clashing with a name',
    spec: withObjective({ data: { ...BASE.data, x_prev: 'n' }, method: { name: 'heavy-ball', step: 0.1, momentum: 0.5 } }),
    message: ["heavy-ball adds a state component 'x_prev'", "'x_prev' is already used"],
    field: 'method.name',
  },
  // --- outer objective ------------------------------------------------------------------
  { label: 'outer objective that is a vector', spec: { ...BASE, outer: { objective: 'x' } }, message: ['the outer objective must be a scalar, got [n]'], field: 'outer.objective', formula: 'x' },
  {
    label: 'outer objective with a shape mismatch',
    spec: { ...BASE, outer: { objective: 'sum(x - xs)', data: { xs: 'm' } } },
    message: ['shapes [n] and [m] do not match'],
    field: 'outer.objective',
    formula: 'sum(x - xs)',
    offset: 6,
  },
  // --- spec structure -------------------------------------------------------------------
  { label: 'unknown top-level field', spec: { ...BASE, solver: 'x' }, message: ["unknown field 'solver'"], field: 'solver' },
  { label: 'empty state', spec: { ...BASE, state: {} }, message: ['state must declare at least one entry'], field: 'state' },
  { label: 'spec that is not an object', spec: [BASE], message: ['a spec must be an object'], field: '' },
];

function errorOf(spec: unknown): PhicError {
  try {
    buildModel(inMemorySource(spec));
  } catch (e) {
    if (e instanceof PhicError) return e;
    throw new Error(`expected a PhicError, got ${String(e)}`);
  }
  throw new Error('expected buildModel to throw, but it built the model');
}

describe('buildModel reports spec mistakes as PhicError', () => {
  it('the base spec is valid', () => {
    expect(() => buildModel(inMemorySource(BASE))).not.toThrow();
  });

  it.each(CASES)('$label', (c) => {
    const e = errorOf(c.spec);
    expect(e.category).toBe('spec');
    expect(e.exitCode).toBe(1);
    for (const m of c.message) expect(e.message).toContain(m);
    expect(e.context.field).toBe(c.field);
    expect(e.context.formula).toBe(c.formula);
    if (c.offset === undefined) {
      expect(e.context.offset).toBeUndefined();
    } else if (typeof c.offset === 'number') {
      expect(e.context.offset).toBe(c.offset);
    } else {
      expect(e.context.offset).toBeGreaterThanOrEqual(c.offset[0]);
      expect(e.context.offset).toBeLessThanOrEqual(c.offset[1]);
    }
    // An in-memory spec has no file positions.
    expect(e.context.location).toBeUndefined();
  });

  it('has exact offsets for at least six cases', () => {
    expect(CASES.filter((c) => typeof c.offset === 'number').length).toBeGreaterThanOrEqual(6);
  });

  it('format() puts a caret under the offset', () => {
    const e = errorOf(update('x + x + zz'));
    const lines = e.format().split('\n');
    expect(lines[0]).toBe("spec error in update.x: unknown symbol 'zz' (known: x, theta, s, A, B, C, alpha)");
    expect(lines[1]).toBe('  x + x + zz');
    expect(lines[2]).toBe(`  ${' '.repeat(8)}^`);
  });

  it('helper arguments are in scope only inside the helper', () => {
    const e = errorOf(update('f(x) + r', { functions: { f: { args: ['r'], body: 'r' } } }));
    expect(e.message).toContain("unknown symbol 'r'");
    expect(e.context.field).toBe('update.x');
    expect(e.context.offset).toBe(7);
  });
});
