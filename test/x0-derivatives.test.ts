// Derivatives with respect to the initial point x⁰: jvp with a direction on the state,
// vjp's and hypergradient's x0Gradient, jacobianReverse's x0Jacobian. Forward = reverse for
// t = 0 and t > 0 (exact zeros then), central differences for t = 0 on both CPU kernel paths,
// a previous-iterate component, the GPU module on gpu.js's webasm backend against the float64
// CPU module, adversarial state names, and the MAML sample's meta-gradient.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, type GpuMapInstance, type MapInstance, type MapSpec, type Matrix } from '../src/index.js';
import { readSpecFile } from '../compiler/spec/read-file.js';
import { inMemorySource, type SpecSource } from '../compiler/spec/source.js';
import { createGpu, type GpuInstance } from '../runtime/gpu.js';
import { randomGenerator, relativeDifference } from '../runtime/reference.js';
import { float32Tolerance } from './helpers/gpu-samples.js';
import { ROOT } from './helpers/cli.js';

type Named<T> = Record<string, T>;
type Tensor = Float64Array | number[] | number[][] | number;
type Results = Named<Float64Array>;

// Two coupled state components, so x0Jacobian has off-diagonal blocks; n = 9 so that the
// matrix-vector nests run in the SIMD kernels on the wasm path.
const TWO: MapSpec = {
  name: 'two', state: { u: 'n', v: 'n' }, params: { p: 'n' }, data: { M: 'n,n', c: 'n' },
  update: { u: 'tanh(M * u + p) + 0.1 * v', v: '0.5 * v + c .* u' },
};
const N = 9;
const K = 6;
const rng = randomGenerator(1204);
const vector = (n: number, scale = 1) => Array.from(rng.vector(n, 'normal'), (v) => scale * v);
const INPUTS = { M: Array.from({ length: N }, () => vector(N, 0.3)), c: vector(N, 0.5), p: vector(N, 0.2) };
const X0 = { u: vector(N), v: vector(N) };
const STATES = ['u', 'v'] as const;

const unit = (n: number, j: number) => Array.from({ length: n }, (_, i) => (i === j ? 1 : 0));
const concat = (named: Results, names: readonly string[]) => Float64Array.from(names.flatMap((s) => [...named[s]!]));
const column = (m: Matrix, j: number) => Array.from({ length: m.rows }, (_, r) => m.data[r * m.cols + j]!);
const allZero = (xs: ArrayLike<number>) => Array.from(xs).every((v) => Object.is(v, 0));

async function cpu(spec: MapSpec | SpecSource, truncate: number, kernels: 'wasm' | 'js', dims: Named<number> = { n: N }, K_ = K): Promise<MapInstance> {
  return (await compile(spec, { mode: 'both', K: K_, truncate, dims, kernels })).create();
}

describe.each(['wasm', 'js'] as const)('CPU (%s kernels)', (kernels) => {
  it('t = 0: the directions on x0 (jvp) are the columns of x0Jacobian (jacobianReverse), and central differences agree', async () => {
    const m = await cpu(TWO, 0, kernels);
    const { x0Jacobian } = m.jacobianReverse!(INPUTS, X0);
    const h = 1e-6;
    for (const c of STATES) {
      for (let j = 0; j < N; j++) {
        const tangent = m.jvp!(INPUTS, { [c]: unit(N, j) }, X0).tangent;
        const reverse = concat({ u: Float64Array.from(column(x0Jacobian.u![c]!, j)), v: Float64Array.from(column(x0Jacobian.v![c]!, j)) }, STATES);
        expect(relativeDifference(concat(tangent, STATES), reverse), `${c}[${j}]`).toBeLessThanOrEqual(1e-12);
        const shifted = (d: number) => ({ ...X0, [c]: X0[c].map((v, i) => (i === j ? v + d : v)) });
        const up = concat(m.iterate(INPUTS, shifted(h)).state, STATES);
        const down = concat(m.iterate(INPUTS, shifted(-h)).state, STATES);
        expect(relativeDifference(up.map((v, i) => (v - down[i]!) / (2 * h)), reverse), `finite differences ${c}[${j}]`).toBeLessThanOrEqual(1e-7);
      }
    }
    m.release();
  });

  it('t = 0: vjp.x0Gradient is cotangentᵀ · x0Jacobian, and a mixed direction (θ, x0) is the sum of its parts', async () => {
    const m = await cpu(TWO, 0, kernels);
    const { x0Jacobian } = m.jacobianReverse!(INPUTS, X0);
    const cot = { u: vector(N), v: vector(N) };
    const { x0Gradient, gradient } = m.vjp!(INPUTS, cot, X0);
    for (const c of STATES) {
      const expected = Array.from({ length: N }, (_, j) => STATES.reduce((t, s) => t + column(x0Jacobian[s]![c]!, j).reduce((a, v, r) => a + v * cot[s][r]!, 0), 0));
      expect(relativeDifference(x0Gradient[c]!, expected), c).toBeLessThanOrEqual(1e-12);
    }
    expect(gradient.p).toHaveLength(N);
    const dp = vector(N);
    const du = vector(N);
    const both = m.jvp!(INPUTS, { p: dp, u: du }, X0).tangent;
    const [onlyP, onlyU] = [m.jvp!(INPUTS, { p: dp }, X0).tangent, m.jvp!(INPUTS, { u: du }, X0).tangent];
    expect(relativeDifference(concat(both, STATES), concat(onlyP, STATES).map((v, i) => v + concat(onlyU, STATES)[i]!))).toBeLessThanOrEqual(1e-12);
    m.release();
  });

  it('t > 0: the x0 derivative is exactly zero in both modes, the θ derivative unchanged, a misshapen direction still refused', async () => {
    const m = await cpu(TWO, 2, kernels);
    const du = vector(N);
    expect(allZero(concat(m.jvp!(INPUTS, { u: du, v: du }, X0).tangent, STATES))).toBe(true);
    // a direction on x0 adds nothing to the θ direction: bitwise the same tangent
    const dp = vector(N);
    expect(m.jvp!(INPUTS, { p: dp, u: du }, X0).tangent).toEqual(m.jvp!(INPUTS, { p: dp }, X0).tangent);
    const rev = m.vjp!(INPUTS, { u: vector(N), v: vector(N) }, X0);
    expect(allZero(concat(rev.x0Gradient, STATES))).toBe(true);
    expect(allZero(rev.gradient.p!)).toBe(false);
    const jr = m.jacobianReverse!(INPUTS, X0);
    for (const s of STATES) for (const c of STATES) expect(allZero(jr.x0Jacobian[s]![c]!.data), `${s}/${c}`).toBe(true);
    // forward = reverse for θ, as before
    const jf = m.jacobianForward!(INPUTS, X0);
    for (const s of STATES) expect(relativeDifference(jf.jacobian[s]!.p!.data, jr.jacobian[s]!.p!.data)).toBeLessThanOrEqual(1e-12);
    expect(() => m.jvp!(INPUTS, { u: [1, 2] }, X0)).toThrow(/direction\.u must be a vector of length 9/);
    expect(() => m.jvp!(INPUTS, { nope: [1] } as never, X0)).toThrow(/direction: unknown name 'nope' \(expected p, u, v\)/);
    m.release();
  });
});

describe('a previous-iterate component (heavy ball)', () => {
  it('x0Gradient treats x_prev as its own input: with x_prev starting at x, d/dx0.x is the sum of the two', async () => {
    const source = await readSpecFile(join(ROOT, 'samples', 'heavy_ball', 'heavy_ball.phi.ts'));
    const { x0: _x0, ...inputs } = JSON.parse(readFileSync(join(ROOT, 'samples', 'heavy_ball', 'data.json'), 'utf8')) as Named<Tensor>;
    const m = await cpu(source, 0, 'js', { n: 4 }, 8);
    const x = [0.3, -0.2, 0.5, 0.1];
    const cot = { x: [1, -0.5, 0.25, 2] };
    const { x0Gradient } = m.vjp!(inputs, cot, { x });
    const h = 1e-6;
    // only x given: x_prev starts equal to it and moves with it
    const differences = x.map((_, j) => {
      const at = (d: number) => m.iterate(inputs, { x: x.map((v, i) => (i === j ? v + d : v)) }).state.x!;
      const [up, down] = [at(h), at(-h)];
      return cot.x.reduce((t, c, i) => t + (c * (up[i]! - down[i]!)) / (2 * h), 0);
    });
    expect(relativeDifference(x0Gradient.x!.map((v, i) => v + x0Gradient.x_prev![i]!), differences)).toBeLessThanOrEqual(1e-7);
    // and x0Gradient.x alone is the derivative with x_prev held
    const held = x.map((_, j) => {
      const at = (d: number) => m.iterate(inputs, { x: x.map((v, i) => (i === j ? v + d : v)), x_prev: x }).state.x!;
      const [up, down] = [at(h), at(-h)];
      return cot.x.reduce((t, c, i) => t + (c * (up[i]! - down[i]!)) / (2 * h), 0);
    });
    expect(relativeDifference(x0Gradient.x!, held)).toBeLessThanOrEqual(1e-7);
    m.release();
  });
});

/** A spec with its names replaced (formulas included, by whole word). */
function renamed(spec: MapSpec, names: Named<string>): MapSpec {
  const word = (text: string) => text.replace(/[A-Za-z_][A-Za-z0-9_]*/g, (w) => names[w] ?? w);
  const keys = (o: Named<string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [names[k] ?? k, word(v)]));
  return { ...spec, state: keys(spec.state), params: keys(spec.params), data: keys(spec.data!), update: keys(spec.update!) };
}

describe('adversarial names: states called like the generated code and the results', () => {
  const variants: Named<string>[] = [
    { u: 'd', v: 'k', p: 'x0', M: 'state', c: 'gradient' },
    { u: 'x0', v: 'gradient', p: 'd', M: 'k', c: 'state' },
    { u: 'state', v: 'x0Gradient', p: 'x0Jacobian', M: 'direction', c: 'cotangent' },
  ];
  const rename = (o: Named<unknown>, names: Named<string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [names[k] ?? k, v]));

  it.each(variants)('%o: bitwise the results of the plain names, under the user names', async (names) => {
    for (const truncate of [0, 2]) {
      const plain = await cpu(TWO, truncate, 'wasm');
      const odd = await cpu(renamed(TWO, names), truncate, 'wasm');
      const [inputs, x0] = [rename(INPUTS, names) as never, rename(X0, names) as never];
      const direction = { u: unit(N, 3), p: unit(N, 1) };
      expect(odd.jvp!(inputs, rename(direction, names) as never, x0).tangent).toEqual(rename(plain.jvp!(INPUTS, direction, X0).tangent, names));
      const cot = { u: unit(N, 2), v: unit(N, 5) };
      const [a, b] = [plain.vjp!(INPUTS, cot, X0), odd.vjp!(inputs, rename(cot, names) as never, x0)];
      expect(b.x0Gradient).toEqual(rename(a.x0Gradient, names));
      expect(b.gradient).toEqual(rename(a.gradient, names));
      const [ja, jb] = [plain.jacobianReverse!(INPUTS, X0), odd.jacobianReverse!(inputs, x0)];
      for (const s of STATES) for (const c of STATES) expect(jb.x0Jacobian[names[s]!]![names[c]!]).toEqual(ja.x0Jacobian[s]![c]);
      plain.release();
      odd.release();
    }
  });
});

describe('the MAML sample: the meta-gradient through K inner steps and the outer loss', () => {
  let source: SpecSource;
  let inputs: Named<Tensor>;
  let x0: Named<Tensor>;
  const dims = { m: 10, d: 1, h: 8, q: 10 };
  const names = ['W1', 'b1', 'w2', 'b2'];
  beforeAll(async () => {
    source = await readSpecFile(join(ROOT, 'samples', 'maml', 'maml.phi.ts'));
    ({ x0, ...inputs } = JSON.parse(readFileSync(join(ROOT, 'samples', 'maml', 'data.json'), 'utf8')) as { x0: Named<Tensor> } & Named<Tensor>);
  });
  const flat = (x: Named<Tensor>) => Float64Array.from(names.flatMap((n) => [x[n]!].flat(2) as number[]));
  const sizes = [8, 8, 8, 1];
  const unflatten = (v: ArrayLike<number>) => Object.fromEntries(names.map((n, i) => [n, Array.from(v).slice(sizes.slice(0, i).reduce((a, b) => a + b, 0), sizes.slice(0, i + 1).reduce((a, b) => a + b, 0))]));
  type Outer = MapInstance & {
    outerAt(inputs: object, point: object): { loss: number; stateGradient: Results };
    hypergradient(inputs: object, x0?: object): { loss: number; gradient: Results; x0Gradient: Results };
  };

  it.each(['wasm', 'js'] as const)('hypergradient.x0Gradient = central differences = vjp from ∇ₓℓ(x_K) = jvp on x0 (t = 0, %s kernels)', async (kernels) => {
    const m = (await cpu(source, 0, kernels, dims, 5)) as Outer;
    const loss = (start: object) => m.outerAt(inputs, m.iterate(inputs, start).state).loss;
    const hyper = m.hypergradient(inputs, x0);
    const metaGradient = concat(hyper.x0Gradient, names);
    const point = flat(x0);
    const h = 1e-6;
    const differences = point.map((_, i) => {
      const shifted = (d: number) => unflatten(point.map((v, j) => (j === i ? v + d : v)));
      return (loss(shifted(h)) - loss(shifted(-h))) / (2 * h);
    });
    expect(relativeDifference(metaGradient, differences)).toBeLessThanOrEqual(1e-7);
    // the outer loss reads x_K only: its x0 gradient is the vjp from ∇ₓℓ(x_K), and forward mode gives its products
    const xK = m.iterate(inputs, x0).state;
    const seed = m.outerAt(inputs, xK).stateGradient;
    expect(relativeDifference(concat(m.vjp!(inputs, seed, x0).x0Gradient, names), metaGradient)).toBeLessThanOrEqual(1e-12);
    const direction = unflatten(rng.vector(point.length, 'normal'));
    const tangent = concat(m.jvp!(inputs, direction, x0).tangent, names);
    const seedFlat = concat(seed, names);
    const forward = tangent.reduce((t, v, i) => t + v * seedFlat[i]!, 0);
    const reverse = flat(direction).reduce((t, v, i) => t + v * metaGradient[i]!, 0);
    expect(Math.abs(forward - reverse)).toBeLessThanOrEqual(1e-12 * Math.abs(reverse));
    m.release();
  });

  it('with t > 0 the meta-gradient is exactly zero, and d/dalpha is still there', async () => {
    const m = (await cpu(source, 2, 'wasm', dims, 5)) as Outer;
    const hyper = m.hypergradient(inputs, x0);
    expect(allZero(concat(hyper.x0Gradient, names))).toBe(true);
    expect(hyper.gradient.alpha![0]).not.toBe(0);
    m.release();
  });
});

describe('GPU (webasm): the x0 derivatives within float32 tolerance of the CPU, exact zeros for t > 0', () => {
  let gpu: GpuInstance;
  beforeAll(async () => {
    gpu = await createGpu('webasm');
  });
  afterAll(async () => {
    await gpu.destroy();
  });
  const gpuModule = async (spec: MapSpec | SpecSource, truncate: number, dims: Named<number>, K_: number, executor: 'pipeline' | 'kernels' = 'pipeline') =>
    (await compile(spec, { mode: 'both', K: K_, truncate, dims, backend: 'gpu', gpu, executor })).create();

  it.each([
    [0, 'pipeline'],
    [0, 'kernels'],
    [2, 'pipeline'],
  ] as const)('t = %i (%s executor): jvp on x0, vjp.x0Gradient and x0Jacobian', async (truncate, executor) => {
    const g: GpuMapInstance = await gpuModule(TWO, truncate, { n: N }, K, executor);
    const c = await cpu(TWO, truncate, 'js');
    const tol = float32Tolerance(N, K);
    const direction = { u: vector(N), p: vector(N) };
    const cot = { u: vector(N), v: vector(N) };
    const [gj, cj] = [await g.jvp!(INPUTS, direction, X0), c.jvp!(INPUTS, direction, X0)];
    expect(relativeDifference(concat(gj.tangent, STATES), concat(cj.tangent, STATES))).toBeLessThanOrEqual(tol);
    const [gv, cv] = [await g.vjp!(INPUTS, cot, X0), c.vjp!(INPUTS, cot, X0)];
    const [gr, cr] = [await g.jacobianReverse!(INPUTS, X0), c.jacobianReverse!(INPUTS, X0)];
    if (truncate > 0) {
      expect(allZero(concat((await g.jvp!(INPUTS, { u: vector(N) }, X0)).tangent, STATES))).toBe(true);
      expect(allZero(concat(gv.x0Gradient, STATES))).toBe(true);
      for (const s of STATES) for (const x of STATES) expect(allZero(gr.x0Jacobian[s]![x]!.data)).toBe(true);
    } else {
      expect(relativeDifference(concat(gv.x0Gradient, STATES), concat(cv.x0Gradient, STATES))).toBeLessThanOrEqual(tol);
      expect(allZero(concat(gv.x0Gradient, STATES))).toBe(false);
      for (const s of STATES) for (const x of STATES) expect(relativeDifference(gr.x0Jacobian[s]![x]!.data, cr.x0Jacobian[s]![x]!.data), `${s}/${x}`).toBeLessThanOrEqual(tol);
    }
    await g.destroy();
    c.release();
  });

  it('the MAML meta-gradient (hypergradient.x0Gradient)', async () => {
    const source = await readSpecFile(join(ROOT, 'samples', 'maml', 'maml.phi.ts'));
    const { x0, ...inputs } = JSON.parse(readFileSync(join(ROOT, 'samples', 'maml', 'data.json'), 'utf8')) as Named<Tensor>;
    const dims = { m: 10, d: 1, h: 8, q: 10 };
    const g = await gpuModule(source, 0, dims, 5);
    const c = (await cpu(source, 0, 'js', dims, 5)) as MapInstance & { hypergradient(i: object, x0?: object): { x0Gradient: Results } };
    const names = ['W1', 'b1', 'w2', 'b2'];
    const [gh, ch] = [await g.hypergradient!(inputs, x0 as never), c.hypergradient(inputs, x0 as object)];
    expect(relativeDifference(concat(gh.x0Gradient, names), concat(ch.x0Gradient, names))).toBeLessThanOrEqual(float32Tolerance(10, 5));
    await g.destroy();
  });
});

describe('in-memory specs', () => {
  it('the schedule says which entries carry the x0 derivative, and how', async () => {
    const { buildSchedule } = await import('../compiler/schedule/build.js');
    const { compileSpec } = await import('../compiler/pipeline.js');
    const x0Of = (truncate: number) => Object.fromEntries(buildSchedule(compileSpec(inMemorySource(TWO), { mode: 'both', K, truncate, dims: { n: N } }).plan).entries.map((e) => [e.name, e.x0]));
    expect(x0Of(0)).toMatchObject({ iterate: 'none', jvp: 'exact', jacobianForward: 'none', vjp: 'exact', jacobianReverse: 'exact', partialX: 'none' });
    expect(x0Of(3)).toMatchObject({ jvp: 'zero', vjp: 'zero', jacobianReverse: 'zero' });
  });
});
