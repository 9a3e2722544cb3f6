// The tensor functions of formulas (compiler/parse/tensor-functions.ts) end to end: each one's
// values in a compiled module against plain loops (dimension numbering as in mathjs
// expressions), stability at logits of 1000, broadcasting over rows, dims used as numbers, the
// errors for what is refused, and the derivatives of a map that uses them all (softmax
// regression with a per-class penalty) against finite differences on both CPU kernel paths, and
// the GPU module against the CPU.

import { describe, expect, it } from 'vitest';
import { compile, type MapSpec } from '../src/index.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { compileSpec } from '../compiler/pipeline.js';
import { centralDifference, randomGenerator, relativeDifference } from '../runtime/reference.js';
import { expectGpuMatchesCpu, webasmGpu } from './helpers/webasm-gpu.js';

const DIMS = { m: 5, n: 4 };
const rng = randomGenerator(11);
const X = Array.from({ length: DIMS.m }, () => Array.from(rng.vector(DIMS.n, 'normal')));
const v = Array.from(rng.vector(DIMS.n, 'normal'));
const col = (j: number) => X.map((row) => row[j]!);
const cols = Array.from({ length: DIMS.n }, (_, j) => col(j));
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const lse = (xs: number[]) => Math.max(...xs) + Math.log(sum(xs.map((x) => Math.exp(x - Math.max(...xs)))));
const softmax = (xs: number[]) => xs.map((x) => Math.exp(x - lse(xs)));

/** The value of `formula` (of X [m×n], v [n] and the dims) as one step of a map whose state has `shape`. */
async function valueOf(formula: string, shape: string, data = { X, v }): Promise<Float64Array> {
  const spec: MapSpec = { name: 'probe', state: { s: shape }, params: { p: '' }, data: { X: 'm,n', v: 'n' }, update: { s: `${formula} + 0 * p` } };
  const map = (await compile(inMemorySource(spec), { mode: 'forward', K: 1 })).create(DIMS);
  return map.iterate({ p: 0, ...data } as never).state.s as Float64Array;
}

describe('values, dimensions numbered as in mathjs expressions', () => {
  const cases: [string, string, () => number[]][] = [
    ['sum(X, 1)', 'n', () => cols.map(sum)],
    ['sum(X, 2)', 'm', () => X.map(sum)],
    ['sum(X)', '', () => [sum(X.flat())]],
    ['mean(X, 1)', 'n', () => cols.map((c) => sum(c) / DIMS.m)],
    ['mean(X, 2)', 'm', () => X.map((r) => sum(r) / DIMS.n)],
    ['mean(X)', '', () => [sum(X.flat()) / (DIMS.m * DIMS.n)]],
    ['max(X, 1)', 'n', () => cols.map((c) => Math.max(...c))],
    ['max(X, 2)', 'm', () => X.map((r) => Math.max(...r))],
    ['min(X, 1)', 'n', () => cols.map((c) => Math.min(...c))],
    ['min(X, 2)', 'm', () => X.map((r) => Math.min(...r))],
    ['max(X)', '', () => [Math.max(...X.flat())]],
    ['min(v)', '', () => [Math.min(...v)]],
    ['logsumexp(X, 1)', 'n', () => cols.map(lse)],
    ['logsumexp(X, 2)', 'm', () => X.map(lse)],
    ['logsumexp(v)', '', () => [lse(v)]],
    ['softmax(X, 2)', 'm,n', () => X.flatMap(softmax)],
    ['softmax(X, 1)', 'm,n', () => X.flatMap((_, i) => cols.map((c) => softmax(c)[i]!))],
    ['softmax(v)', 'n', () => softmax(v)],
    ['norm(v)', '', () => [Math.sqrt(sum(v.map((x) => x * x)))]],
    // a vector of the row length applies to every row; a dim is a number
    ['X + v', 'm,n', () => X.flatMap((r) => r.map((x, j) => x + v[j]!))],
    ['maximum(X, v) .* (X > v)', 'm,n', () => X.flatMap((r) => r.map((x, j) => (x > v[j]! ? x : 0)))],
    ['sum(X .^ 2, 2) / n', 'm', () => X.map((r) => sum(r.map((x) => x * x)) / DIMS.n)],
    ['outer(sum(X, 2), ones(n)) + zeros(m, n)', 'm,n', () => X.flatMap((r) => r.map(() => sum(r)))],
    ['X * (identity(n) + outer(v, v))', 'm,n', () => X.flatMap((r) => r.map((x, j) => x + sum(r.map((xi, i) => xi * v[i]!)) * v[j]!))],
  ];
  it.each(cases)('%s', async (formula, shape, expected) => {
    const got = await valueOf(formula, shape);
    expect(relativeDifference(got, expected())).toBeLessThan(1e-14);
  });

  it('log-sum-exp and softmax are max-shifted: logits of 1000 do not overflow', async () => {
    const big = { X: X.map((r) => r.map((x) => 1000 + x)), v: v.map((x) => 1000 * x) };
    const rows = await valueOf('logsumexp(X, 2)', 'm', big);
    expect(relativeDifference(rows, big.X.map(lse))).toBeLessThan(1e-14);
    const p = await valueOf('softmax(v)', 'n', big);
    expect(p.every(Number.isFinite)).toBe(true);
    expect(relativeDifference(p, softmax(big.v))).toBeLessThan(1e-12);
  });
});

describe('refused with the reason and the fix', () => {
  const refused = (update: string) => () => compileSpec(inMemorySource({ name: 'bad', state: { s: 'm,n' }, params: { p: '' }, data: { X: 'm,n', c: 'm' }, update: { s: update } }), { mode: 'forward', K: 1 });
  it.each([
    ['X + c', /a vector of length m with an m×n matrix: .* write outer\(v, ones\(n\)\)/],
    ['outer(sum(X, 3), ones(n))', /must be the number 1 .* or 2/],
    ['X + max(X, p)', /elementwise maximum of X and a number, write maximum\(X, c\)/],
    ['softmax(X)', /softmax\(Z, 2\) normalises each row/],
    ['X * norm(X)', /norm takes a vector .* sqrt\(sum\(X \.\^ 2\)\)/],
    ['ones(3, n)', /ones takes dims by name \(m, n\)/],
  ])('%s', (update, message) => {
    expect(refused(update)).toThrow(message);
  });
});

// Softmax regression, one gradient step on the mean cross-entropy plus a per-class L2 penalty:
// W ← W − α (Xᵀ(softmax(XW + b, 2) − Y)/m + W diag(λ)); the bias b and λ are the parameters.
const SOFTMAX: MapSpec = {
  name: 'softmax_regression',
  state: { W: 'd,c' },
  params: { lambda: 'c', b: 'c' },
  data: { A: 'm,d', Y: 'm,c' },
  constants: { alpha: 0.5 },
  update: { W: "W - alpha * (A' * (softmax(A * W + b, 2) - Y) / m + W .* lambda + 0.01 * (max(W, 1) - min(A * W, 1)) + 0.001 * logsumexp(A * W, 1))" },
};
const SDIMS = { m: 9, d: 5, c: 3 };
const A = Array.from({ length: SDIMS.m }, () => Array.from(rng.vector(SDIMS.d, 'normal')));
const Y = Array.from({ length: SDIMS.m }, (_, i) => Array.from({ length: SDIMS.c }, (_, j) => (j === i % SDIMS.c ? 1 : 0)));
const INPUTS = { lambda: [0.1, 0.2, 0.3], b: [0.5, -0.2, 0.1], A, Y };
const K = 8;

describe.each([['wasm', true], ['js', true], ['wasm', false]] as const)('softmax regression on the CPU (%s kernels, dims baked: %s)', (kernels, baked) => {
  it('jvp matches central differences and vjp is its transpose, in θ = (λ, b)', async () => {
    const map = (await compile(inMemorySource(SOFTMAX), { mode: 'both', K, kernels, ...(baked ? { dims: SDIMS } : {}) })).create(baked ? undefined : SDIMS);
    const run = (p: Float64Array) => map.iterate({ ...INPUTS, lambda: p.subarray(0, 3), b: p.subarray(3) } as never).state.W as Float64Array;
    const r = randomGenerator(5);
    const dir = r.vector(6, 'normal');
    const jv = map.jvp!(INPUTS as never, { lambda: dir.subarray(0, 3), b: dir.subarray(3) } as never).tangent.W as Float64Array;
    expect(relativeDifference(jv, centralDifference(run, Float64Array.from([...INPUTS.lambda, ...INPUTS.b]), dir))).toBeLessThan(1e-8);
    const u = r.vector(SDIMS.d * SDIMS.c, 'normal');
    const g = map.vjp!(INPUTS as never, { W: u } as never).gradient as unknown as { lambda: Float64Array; b: Float64Array };
    const lhs = u.reduce((s, x, i) => s + x * jv[i]!, 0);
    const rhs = [...g.lambda, ...g.b].reduce((s, x, i) => s + x * dir[i]!, 0);
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-12 * Math.abs(lhs));
  });
});

describe('softmax regression on the GPU (webasm, float32)', () => {
  const gpu = webasmGpu();
  it('iterate, jvp, vjp and both Jacobians match the float64 CPU module within float32 tolerance', async () => {
    await expectGpuMatchesCpu({ source: inMemorySource(SOFTMAX), inputs: INPUTS as never, x0: {} as never, dims: SDIMS, maxDim: SDIMS.m }, gpu(), K);
  });

  it('the reductions over all entries (softmax, max, min, norm, logsumexp of vectors) too', async () => {
    const spec: MapSpec = {
      name: 'vector_functions', state: { x: 'n' }, params: { theta: 'n' },
      update: { x: '0.5 * softmax(x + theta) + 0.1 * max(x) - 0.1 * min(theta) + 0.01 * norm(x) + 0.1 * logsumexp(theta) / n' },
    };
    await expectGpuMatchesCpu({ source: inMemorySource(spec), inputs: { theta: [0.1, -0.3, 0.5, 0.2, 0.9, -1] } as never, x0: { x: [1, 1, 1, 1, 1, 1] } as never, dims: { n: 6 }, maxDim: 6 }, gpu(), 5);
  });
});
