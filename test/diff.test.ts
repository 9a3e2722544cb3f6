// Checks symbolic JVP/VJP of whole update maps (buildModel) and the compiled partialX/partialTheta against finite differences of the interpreter.

import { describe, expect, it } from 'vitest';
import { buildModel, type MapModel } from '../compiler/model.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { differentiateStep } from '../compiler/diff/derivatives.js';
import { jvp } from '../compiler/diff/jvp.js';
import { vjp } from '../compiler/diff/vjp.js';
import { evaluate } from '../compiler/ir/evaluate.js';
import type { InputNode, Node } from '../compiler/ir/nodes.js';
import type { Tensor } from '../compiler/ops/registry.js';
import { compile, type MapSpec } from '../src/index.js';
import { centralDifference, finiteDifferenceJacobian, randomGenerator, relativeDifference, type RandomGenerator } from '../runtime/reference.js';
import { concat, innerProduct, keyOf, relativeScalar, sizeOf, split, valueOf, type Dims } from './helpers/ir.js';

interface Case {
  label: string;
  spec: MapSpec;
  dims: Dims;
  /** Values of the state, params and data, by name (flat, row-major). */
  values: (rng: RandomGenerator, dims: Dims) => Record<string, Float64Array>;
}

const normal = (rng: RandomGenerator, n: number, scale = 1) => rng.vector(n, 'normal').map((v) => v * scale);
const positive = (rng: RandomGenerator, n: number) => rng.vector(n).map((v) => 0.5 + v);
const labels = (rng: RandomGenerator, n: number) => rng.vector(n).map((v) => (v < 0.5 ? -1 : 1));

const logisticObjective = 'sum(softplus(-y .* (X*w))) + 0.5*lam*sum(w.^2)';
const logisticValues = (rng: RandomGenerator, d: Dims) => ({
  w: normal(rng, d.d!, 0.5),
  w_prev: normal(rng, d.d!, 0.5),
  lam: positive(rng, 1),
  eta: positive(rng, 1).map((v) => 0.2 * v),
  X: normal(rng, d.m! * d.d!),
  y: labels(rng, d.m!),
});

const CASES: Case[] = [
  {
    label: 'ridge: x - alpha (Aᵀ(Ax - b) + θ∘x)',
    spec: {
      name: 'ridge',
      state: { x: 'n' },
      params: { theta: 'n' },
      data: { A: 'm,n', b: 'm' },
      constants: { alpha: 0.1 },
      update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" },
    },
    dims: { m: 5, n: 3 },
    values: (rng, d) => ({ x: normal(rng, d.n!), theta: positive(rng, d.n!), A: normal(rng, d.m! * d.n!), b: normal(rng, d.m!) }),
  },
  {
    label: 'tanh layer: tanh(Wx + Uθ + c)',
    spec: {
      name: 'layer',
      state: { x: 'n' },
      params: { theta: 'p' },
      data: { W: 'n,n', U: 'n,p', c: 'n' },
      update: { x: 'tanh(W*x + U*theta + c)' },
    },
    dims: { n: 4, p: 2 },
    values: (rng, d) => ({
      x: normal(rng, d.n!),
      theta: normal(rng, d.p!),
      W: normal(rng, d.n! * d.n!, 0.5),
      U: normal(rng, d.n! * d.p!),
      c: normal(rng, d.n!, 0.3),
    }),
  },
  {
    label: 'logistic regression, gd with a parameter step',
    spec: {
      name: 'logistic',
      state: { w: 'd' },
      params: { lam: '', eta: '' },
      data: { X: 'm,d', y: 'm' },
      objective: logisticObjective,
      method: { name: 'gd', step: 'eta' },
    },
    dims: { m: 6, d: 3 },
    values: logisticValues,
  },
  {
    label: 'logistic regression, heavy-ball (two state components)',
    spec: {
      name: 'logisticHb',
      state: { w: 'd' },
      params: { lam: '', eta: '' },
      data: { X: 'm,d', y: 'm' },
      objective: logisticObjective,
      method: { name: 'heavy-ball', step: 'eta', momentum: 0.6 },
    },
    dims: { m: 6, d: 3 },
    values: logisticValues,
  },
  {
    label: 'pseudo-Huber regression with a helper function, nesterov',
    spec: {
      name: 'huber',
      state: { x: 'n' },
      params: { theta: 'n', s: '' },
      data: { A: 'm,n', b: 'm' },
      functions: { pseudo: { args: ['r', 'k'], body: 'k^2 * (sqrt(1 + (r / k)^2) - 1)' } },
      objective: "sum(pseudo(A*x - b, s)) + 0.5 * dot(theta, x .* x)",
      method: { name: 'nesterov', step: 0.05, momentum: 0.4 },
    },
    dims: { m: 4, n: 3 },
    values: (rng, d) => ({
      x: normal(rng, d.n!),
      x_prev: normal(rng, d.n!),
      theta: positive(rng, d.n!),
      s: positive(rng, 1),
      A: normal(rng, d.m! * d.n!),
      b: normal(rng, d.m!),
    }),
  },
];

/** The model, its inputs' values and evaluators of Φ over flat state / params. */
function setup(c: Case, seed: number) {
  const model = buildModel(inMemorySource(c.spec));
  const values = c.values(randomGenerator(seed), c.dims);
  const tensorOf = (v: { name: string; shape: readonly string[] }): Tensor => {
    const data = values[v.name];
    if (!data) throw new Error(`case '${c.label}' has no value for ${v.name}`);
    const shape = v.shape.map((d) => c.dims[d]!);
    expect(data.length).toBe(sizeOf(v.shape, c.dims));
    return { shape, data };
  };
  const env = new Map<string, Tensor>();
  for (const s of model.state) env.set(keyOf('state', s.name), tensorOf(s));
  for (const p of model.params) env.set(keyOf('param', p.name), tensorOf(p));
  for (const d of model.data) env.set(keyOf('data', d.name), tensorOf(d));

  const stateLengths = model.state.map((s) => sizeOf(s.shape, c.dims));
  const paramLengths = model.params.map((p) => sizeOf(p.shape, c.dims));
  const x0 = concat(model.state.map((s) => env.get(keyOf('state', s.name))!.data));
  const theta0 = concat(model.params.map((p) => env.get(keyOf('param', p.name))!.data));

  /** Φ(x, θ), all components flattened, with state and params replaced. */
  const phi = (x: Float64Array, theta: Float64Array): Float64Array => {
    const e = new Map(env);
    split(x, stateLengths).forEach((part, i) => {
      const s = model.state[i]!;
      e.set(keyOf('state', s.name), { shape: env.get(keyOf('state', s.name))!.shape, data: part });
    });
    split(theta, paramLengths).forEach((part, i) => {
      const p = model.params[i]!;
      e.set(keyOf('param', p.name), { shape: env.get(keyOf('param', p.name))!.shape, data: part });
    });
    return concat(evaluate(model.update, e, c.dims).map((t) => t.data));
  };
  return { model, values, env, stateLengths, paramLengths, x0, theta0, phi };
}

const modelTensors = (model: MapModel, nodes: readonly (Node | null)[], vars: readonly { shape: readonly string[] }[], env: Map<string, Tensor>, dims: Dims) =>
  concat(nodes.map((n, i) => valueOf(n, vars[i]!.shape, env, dims)));

describe.each(CASES.map((c, i) => ({ ...c, seed: 100 + i })))('$label', (c) => {
  it('builds Φ with one component of the right shape per state', () => {
    const { model, x0, phi, theta0 } = setup(c, c.seed);
    expect(model.update.length).toBe(model.state.length);
    model.update.forEach((u, i) => expect(u.shape).toEqual(model.state[i]!.shape));
    const out = phi(x0, theta0);
    expect(out.length).toBe(x0.length);
    expect(out.every(Number.isFinite)).toBe(true);
  });

  it('symbolic JVP (ẋ, θ̇) ↦ ∂ₓΦ ẋ + ∂θΦ θ̇ matches central differences', () => {
    const { model, env, stateLengths, paramLengths, x0, theta0, phi } = setup(c, c.seed);
    const d = differentiateStep(model);
    const rng = randomGenerator(c.seed + 7);
    const xdot = rng.vector(x0.length, 'normal');
    const tdot = rng.vector(theta0.length, 'normal');
    const e = new Map(env);
    split(xdot, stateLengths).forEach((part, i) => e.set(keyOf('tangent', model.state[i]!.name), { shape: env.get(keyOf('state', model.state[i]!.name))!.shape, data: part }));
    split(tdot, paramLengths).forEach((part, i) => e.set(keyOf('tangent', model.params[i]!.name), { shape: env.get(keyOf('param', model.params[i]!.name))!.shape, data: part }));

    const analytic = modelTensors(model, d.tangent, model.state, e, c.dims);
    const xt = concat([x0, theta0]);
    const numeric = centralDifference((v) => phi(v.slice(0, x0.length), v.slice(x0.length)), xt, concat([xdot, tdot]));
    expect(Math.max(...numeric.map(Math.abs))).toBeGreaterThan(1e-3);
    expect(relativeDifference(analytic, numeric)).toBeLessThan(1e-6);

    // State and parameter directions separately, through jvp() directly.
    for (const which of ['state', 'param'] as const) {
      const tangentOf = (input: InputNode) => (input.role === which ? model.builder.input(input.name, 'tangent', input.shape) : null);
      const partial = jvp(model.builder, model.update, tangentOf);
      const got = modelTensors(model, partial, model.state, e, c.dims);
      const dir = which === 'state' ? concat([xdot, new Float64Array(theta0.length)]) : concat([new Float64Array(x0.length), tdot]);
      const want = centralDifference((v) => phi(v.slice(0, x0.length), v.slice(x0.length)), xt, dir);
      expect(relativeDifference(got, want), which).toBeLessThan(1e-6);
    }
  });

  it('symbolic VJP x̄ ↦ (x̄ ∂ₓΦ, x̄ ∂θΦ) matches the finite-difference Jacobian, and is the JVP transposed', () => {
    const { model, env, stateLengths, paramLengths, x0, theta0, phi } = setup(c, c.seed);
    const d = differentiateStep(model);
    const rng = randomGenerator(c.seed + 11);
    const ubar = rng.vector(x0.length, 'normal');
    const e = new Map(env);
    split(ubar, stateLengths).forEach((part, i) => e.set(keyOf('cotangent', model.state[i]!.name), { shape: env.get(keyOf('state', model.state[i]!.name))!.shape, data: part }));

    const xt = concat([x0, theta0]);
    const J = finiteDifferenceJacobian((v) => phi(v.slice(0, x0.length), v.slice(x0.length)), xt);
    expect(J.rows).toBe(x0.length);
    expect(J.cols).toBe(xt.length);
    const uJ = new Float64Array(J.cols);
    for (let j = 0; j < J.cols; j++) for (let i = 0; i < J.rows; i++) uJ[j]! += ubar[i]! * J.data[i * J.cols + j]!;

    const stateBar = modelTensors(model, d.stateAdjoint, model.state, e, c.dims);
    const paramBar = modelTensors(model, d.paramAdjoint, model.params, e, c.dims);
    expect(relativeDifference(stateBar, uJ.slice(0, x0.length))).toBeLessThan(1e-6);
    expect(relativeDifference(paramBar, uJ.slice(x0.length))).toBeLessThan(1e-6);

    // Exact duality with the symbolic JVP: ⟨ū, J v⟩ = ⟨Jᵀū, v⟩.
    const v = rng.vector(xt.length, 'normal');
    split(v.slice(0, x0.length), stateLengths).forEach((part, i) => e.set(keyOf('tangent', model.state[i]!.name), { shape: env.get(keyOf('state', model.state[i]!.name))!.shape, data: part }));
    split(v.slice(x0.length), paramLengths).forEach((part, i) => e.set(keyOf('tangent', model.params[i]!.name), { shape: env.get(keyOf('param', model.params[i]!.name))!.shape, data: part }));
    const jv = modelTensors(model, d.tangent, model.state, e, c.dims);
    const lhs = innerProduct(ubar, jv);
    const rhs = innerProduct(concat([stateBar, paramBar]), v);
    expect(relativeScalar(lhs, rhs)).toBeLessThan(1e-10);

    // vjp() directly with respect to the params only gives the same θ̄.
    const only = vjp(model.builder, model.update, d.stateCotangents, model.params.map((p) => p.node));
    expect(relativeDifference(modelTensors(model, only, model.params, e, c.dims), paramBar)).toBeLessThan(1e-12);
  });

  it('compiled partialX / partialTheta match finite differences of the interpreter', async () => {
    const { model, values, x0, theta0, phi } = setup(c, c.seed);
    const compiled = await compile(c.spec, { mode: 'both', K: 3, dims: c.dims });
    const instance = compiled.create();
    const inputs = Object.fromEntries([...model.params, ...model.data].map((v) => [v.name, values[v.name]!]));
    const point = Object.fromEntries(model.state.map((s) => [s.name, values[s.name]!]));

    const px = instance.partialX(inputs, point);
    const wantX = finiteDifferenceJacobian((x) => phi(x, theta0), x0);
    expect([px.rows, px.cols]).toEqual([wantX.rows, wantX.cols]);
    expect(relativeDifference(px.data, wantX.data)).toBeLessThan(1e-6);

    const pt = instance.partialTheta(inputs, point);
    const wantT = finiteDifferenceJacobian((t) => phi(x0, t), theta0);
    expect([pt.rows, pt.cols]).toEqual([wantT.rows, wantT.cols]);
    expect(relativeDifference(pt.data, wantT.data)).toBeLessThan(1e-6);

    // A second call at another point must not reuse stale state.
    const rng = randomGenerator(c.seed + 13);
    const x1 = x0.map((v) => v + 0.3 * rng.normal());
    const lengths = model.state.map((s) => sizeOf(s.shape, c.dims));
    const point1 = Object.fromEntries(split(x1, lengths).map((part, i) => [model.state[i]!.name, part]));
    const px1 = instance.partialX(inputs, point1);
    expect(relativeDifference(px1.data, finiteDifferenceJacobian((x) => phi(x, theta0), x1).data)).toBeLessThan(1e-6);
    const pt1 = instance.partialTheta(inputs, point1);
    expect(relativeDifference(pt1.data, finiteDifferenceJacobian((t) => phi(x1, t), theta0).data)).toBeLessThan(1e-6);
  });
});
