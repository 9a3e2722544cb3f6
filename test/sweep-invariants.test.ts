// Forward mode over hoisted invariants (compiler/optimise/sweep-invariants.ts): along one given
// direction the tangent of a hoisted G = MᵀM is formed once per sweep, and the step's products
// become n×n ones. The JVP must equal the unhoisted derivative (the JavaScript-loop module, which
// keeps the map as written), finite differences, and the multi-direction Jacobian.

import { describe, expect, it } from 'vitest';
import { compile, type MapInstance, type MapSpec } from '../src/index.js';
import { compileSpec } from '../compiler/pipeline.js';
import { inMemorySource } from '../compiler/spec/source.js';
import type { Stmt } from '../compiler/lower/loop-ir.js';

const leastSquares: MapSpec = { name: 'least_squares', state: { x: 'n' }, params: { A: 'm,n', b: 'm' }, constants: { alpha: 0.01 }, update: { x: "x - alpha * (A' * (A * x - b))" } };
// adversarial names: the generated buffers' prefixes (s, h, t, p), a dim `d`, and a parameter
// that enters the hoisted Gram matrix through a data matrix
const mixed: MapSpec = {
  name: 'tangentInvariants',
  state: { t: 'd' },
  params: { s: '', p: 'm' },
  data: { h: 'm,d', forwardStep: 'm,d' },
  constants: { alpha: 0.02 },
  update: { t: "t - alpha * ((h + s * forwardStep)' * ((h + s * forwardStep) * t - p))" },
};

let seed = 7;
const random = (n: number) => Float64Array.from({ length: n }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5);
/** The matrix of each matrix-vector product (a gemv2 pair counts as its two). */
const gemvMatrices = (body: readonly Stmt[]) => body.flatMap((st) => (st.kind !== 'kernel' ? [] : st.call.kernel === 'gemv' ? [st.call.A.buffer] : st.call.kernel === 'gemv2' ? [st.call.first.A.buffer, st.call.second.A.buffer] : []));
const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  const scale = Math.max(...Array.from(b, Math.abs), 1e-300);
  return Array.from(a).every((v, i) => Math.abs(v - b[i]!) <= tol * scale);
};

describe('tangents of hoisted invariants, once per sweep', () => {
  it('least squares, JVP in (A, b): Ġ = ȦᵀA + AᵀȦ and ċ once per sweep; the step multiplies n×n matrices only', () => {
    const { plan, moduleCode } = compileSpec(inMemorySource(leastSquares), { mode: 'forward', K: 200, truncate: 0, dims: { m: 30, n: 12 } });
    expect(plan.segments.tangentInvariants).toBeDefined();
    // the fused step reads G, Ġ (hoisted) but never A or Ȧ
    const read = gemvMatrices(plan.segments.forwardStep!.body);
    expect(read).toHaveLength(3);
    expect(read).not.toContain('A');
    expect(read).not.toContain('A_dot');
    expect(moduleCode).toMatch(/function forwardSweep\(count, observe\) \{\n\s+tangentInvariants\(/);
    // the multi-direction sweep keeps the tangent of the map as written (one Ġ per direction would not pay)
    expect(plan.segments.tangent).toBeDefined();
  });

  it.each([
    ['least squares', leastSquares, { m: 30, n: 12 }],
    ['a parameter inside the Gram matrix, adversarial names', mixed, { m: 25, d: 9 }],
  ] as const)('%s: the JVP equals the JavaScript-loop module, finite differences and the Jacobian', async (_label, spec, dims) => {
    const K = 150;
    const wasm = await compile(spec, { mode: 'forward', K, dims });
    const js = await compile(spec, { mode: 'forward', K, dims, kernels: 'js' });
    expect(wasm.files.find((f) => f.name.endsWith('.js'))!.contents).toMatch(/function tangentInvariants\d*\(/);
    expect(js.files.find((f) => f.name.endsWith('.js'))!.contents).not.toMatch(/function tangentInvariants\d*\(/);
    const a = wasm.create() as MapInstance, b = js.create() as MapInstance;
    const stateName = Object.keys(spec.state)[0]!;
    const size = (shape: string) => (shape === '' ? 1 : shape.split(',').reduce((p, d) => p * (dims as Record<string, number>)[d.trim()]!, 1));
    // scalars are passed as numbers
    const value = (shape: string) => (shape === '' ? random(1)[0]! : random(size(shape)));
    const inputs: Record<string, Float64Array | number> = {};
    const direction: Record<string, Float64Array | number> = {};
    for (const [name, shape] of Object.entries({ ...spec.params, ...spec.data })) inputs[name] = value(shape);
    for (const [name, shape] of Object.entries(spec.params!)) direction[name] = value(shape);
    const entries = (v: Float64Array | number) => (typeof v === 'number' ? [v] : Array.from(v));
    const x0 = { [stateName]: random(size(spec.state[stateName]!)) };
    const got = a.jvp!(inputs as never, direction as never, x0 as never).tangent[stateName] as Float64Array;
    const plain = b.jvp!(inputs as never, direction as never, x0 as never).tangent[stateName] as Float64Array;
    expect(close(got, plain, 1e-12)).toBe(true);
    // central differences of x_K along the direction
    const h = 1e-6;
    const at = (sign: number) => {
      const move = (k: string, v: Float64Array | number) => (typeof v === 'number' ? v + sign * h * (direction[k] as number) : v.map((e, i) => e + sign * h * (direction[k] as Float64Array)[i]!));
      const moved = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, k in direction ? move(k, v) : v]));
      return a.iterate(moved as never, x0 as never).state[stateName] as Float64Array;
    };
    const plus = at(1), minus = at(-1);
    expect(close(got, plus.map((v, i) => (v - minus[i]!) / (2 * h)), 1e-6)).toBe(true);
    // Σ over parameter entries of column · direction = the JVP
    const jac = a.jacobianForward!(inputs as never, x0 as never).jacobian as Record<string, { data: Float64Array; shape: readonly number[] }>;
    const fromJacobian = new Float64Array(got.length);
    for (const [name, dv] of Object.entries(direction)) {
      const v = entries(dv);
      const block = (jac[name] ?? (jac as unknown as Record<string, Record<string, { data: Float64Array }>>)[stateName]![name])!.data;
      for (let i = 0; i < got.length; i++) for (let j = 0; j < v.length; j++) fromJacobian[i] += block[i * v.length + j]! * v[j]!;
    }
    expect(close(got, fromJacobian, 1e-10)).toBe(true);
    a.release(); b.release();
  }, 60_000);

  it('is left out where it does not pay or cannot be costed: one step, dims not baked, a direction that misses G', () => {
    const planOf = (spec: MapSpec, options: object) => compileSpec(inMemorySource(spec), { mode: 'forward', K: 200, truncate: 0, dims: { m: 30, n: 12 }, ...options } as never).plan;
    expect(planOf(leastSquares, { K: 1 }).segments.tangentInvariants).toBeUndefined();
    expect(planOf(leastSquares, { dims: undefined }).segments.tangentInvariants).toBeUndefined();
    expect(planOf(leastSquares, { kernels: 'js' }).segments.tangentInvariants).toBeUndefined();
    // ridge: θ is a penalty, G = AᵀA does not move along it
    const ridge: MapSpec = { name: 'ridge', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' }, constants: { alpha: 0.1 }, update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" } };
    expect(planOf(ridge, {}).segments.tangentInvariants).toBeUndefined();
  });
});
