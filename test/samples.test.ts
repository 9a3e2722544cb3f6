// Derivative checks on every sample under samples/: forward vs reverse, JVP/VJP vs Jacobian, finite differences, implicit limit.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, type MapInstance, type Matrix } from '../src/index.js';
import { readSpecFile } from '../compiler/spec/read-file.js';
import type { SpecSource } from '../compiler/spec/source.js';
import { buildModel } from '../compiler/model.js';
import { inferDims } from '../src/infer-dims.js';
import type { Mode } from '../compiler/plan.js';
import {
  finiteDifferenceJacobian,
  implicitJacobian,
  randomGenerator,
  relativeDifference,
  type DenseMatrix,
} from '../runtime/reference.js';
import { ROOT, cli, removeTempDirs, requireBuiltCli, tempDir } from './helpers/cli.js';

type Named<T> = Record<string, T>;
type Inputs = Named<unknown>;

interface SampleCase {
  name: string;
  /** Iterations for the forward/reverse checks (even, so that K/2 is an integer). */
  K: number;
  /** Iterations for the finite-difference check (small: FD error grows with K). */
  fdK: number;
  /** Contractive maps: the unrolled Jacobian tends to the implicit-function Jacobian. */
  contractive: boolean;
  /** The kernel calls the SIMD path must make (default: matrix-vector products); null when it has no product. */
  products?: RegExp | null;
  /** The map reads the iteration index k: a run of K − t steps from x_t is not the last K − t steps. */
  timeVarying?: boolean;
}

const CASES: SampleCase[] = [
  { name: 'ridge', K: 30, fdK: 5, contractive: true },
  { name: 'least_squares', K: 30, fdK: 5, contractive: true },
  { name: 'heavy_ball', K: 30, fdK: 5, contractive: false },
  { name: 'logistic', K: 30, fdK: 5, contractive: false },
  { name: 'pseudo_huber', K: 30, fdK: 5, contractive: false },
  { name: 'tanh_layer', K: 30, fdK: 5, contractive: true },
  // the update maps of the language issue: softmax, a squared hinge, soft-thresholding, log-domain Sinkhorn
  { name: 'softmax_regression', K: 30, fdK: 5, contractive: true, products: /kernels\.gemm\(/ },
  { name: 'svm', K: 30, fdK: 5, contractive: true },
  // away from its kinks the Lasso's solution path has the implicit Jacobian (the dead zone stays put)
  { name: 'ista', K: 30, fdK: 5, contractive: true },
  // the potentials are defined up to a shift (f + s, g − s): I − ∂ₓΦ is singular at the fixed point
  { name: 'sinkhorn', K: 30, fdK: 5, contractive: false, products: null },
  // maps that change from step to step: a step size α/(1 + γk), FISTA's momentum k/(k + 3)
  { name: 'gd_schedule', K: 30, fdK: 5, contractive: false, timeVarying: true },
  { name: 'fista', K: 30, fdK: 5, contractive: false, timeVarying: true },
  // SGD over mini-batches: step k reads batch k mod B
  { name: 'hyper_cleaning', K: 30, fdK: 5, contractive: false, timeVarying: true, products: /kernels\.gemvT?\(/ },
  // dw_K/dμ tends to 0 (μ moves no fixed point) by cancellation: by K = 30 its column is rounding-dominated at 1e-12
  { name: 'newton', K: 10, fdK: 5, contractive: true },
  // the second bilevel sample: logistic regression with a penalty e^θᵢ per feature
  { name: 'logistic_bilevel', K: 30, fdK: 5, contractive: true },
];

interface Block {
  name: string;
  size: number;
}

interface Layout {
  state: Block[];
  params: Block[];
  S: number;
  P: number;
}

interface Loaded {
  source: SpecSource;
  inputs: Inputs;
  x0: Inputs | undefined;
  dims: Named<number>;
  layout: Layout;
}

async function loadSample(name: string): Promise<Loaded> {
  const source = await readSpecFile(join(ROOT, 'samples', name, `${name}.phi.ts`));
  const data = JSON.parse(readFileSync(join(ROOT, 'samples', name, 'data.json'), 'utf8')) as Named<unknown>;
  const { x0, ...inputs } = data;
  const model = buildModel(source);
  const dims = inferDims(model, inputs, x0 as Inputs | undefined);
  const size = (shape: readonly string[]) => shape.reduce((p, d) => p * dims[d]!, 1);
  const state = model.state.map((s) => ({ name: s.name, size: size(s.shape) }));
  const params = model.params.map((p) => ({ name: p.name, size: size(p.shape) }));
  const total = (bs: Block[]) => bs.reduce((t, b) => t + b.size, 0);
  return { source, inputs, x0: x0 as Inputs | undefined, dims, layout: { state, params, S: total(state), P: total(params) } };
}

/** Both CPU code paths: matrix-vector nests in the WebAssembly SIMD kernels (the default), and plain JavaScript loops. */
const KERNEL_PATHS = ['wasm', 'js'] as const;
type Kernels = (typeof KERNEL_PATHS)[number];

/**
 * Compiles a sample and instantiates it. The JavaScript path bakes the dims in; the kernel path
 * binds them at create(), where every matrix-vector nest becomes a kernel call (with baked dims
 * the samples' small matrices would stay JavaScript).
 */
async function compiledInstance(s: Loaded, K: number, truncate = 0, mode: Mode = 'both', kernels: Kernels = 'wasm'): Promise<MapInstance> {
  if (kernels === 'wasm') return (await compile(s.source, { mode, K, truncate })).create(s.dims);
  const compiled = await compile(s.source, { mode, K, truncate, dims: s.dims, kernels });
  expect(compiled.files[0]!.contents).not.toMatch(/instantiateKernels/);
  return compiled.create();
}

/** The per-(state, param) Jacobian blocks as one dense matrix: rows over the states, columns over the params. */
function assemble(jacobian: Named<Named<Matrix>>, layout: Layout): DenseMatrix {
  const out: DenseMatrix = { rows: layout.S, cols: layout.P, data: new Float64Array(layout.S * layout.P) };
  let r0 = 0;
  for (const s of layout.state) {
    let c0 = 0;
    for (const p of layout.params) {
      const block = jacobian[s.name]![p.name]!;
      expect([block.rows, block.cols]).toEqual([s.size, p.size]);
      for (let r = 0; r < s.size; r++) for (let c = 0; c < p.size; c++) out.data[(r0 + r) * layout.P + c0 + c] = block.data[r * p.size + c]!;
      c0 += p.size;
    }
    r0 += s.size;
  }
  return out;
}

/** The state components concatenated in layout order. */
function concatState(state: Named<Float64Array>, layout: Layout): Float64Array {
  const out = new Float64Array(layout.S);
  let off = 0;
  for (const s of layout.state) {
    out.set(state[s.name]!, off);
    off += s.size;
  }
  return out;
}

/** A flat vector over the concatenated params, split by param. */
function splitParams(flat: Float64Array, layout: Layout): Named<Float64Array> {
  const out: Named<Float64Array> = {};
  let off = 0;
  for (const p of layout.params) {
    out[p.name] = flat.slice(off, off + p.size);
    off += p.size;
  }
  return out;
}

/** The params of the data file as one flat vector. */
function flatParams(inputs: Inputs, layout: Layout): Float64Array {
  const out = new Float64Array(layout.P);
  let off = 0;
  for (const p of layout.params) {
    const value = inputs[p.name];
    const flat = typeof value === 'number' ? [value] : (value as unknown[]).flat(1);
    expect(flat.length).toBe(p.size);
    out.set(flat as number[], off);
    off += p.size;
  }
  return out;
}

const column = (m: DenseMatrix, c: number) => Float64Array.from({ length: m.rows }, (_, r) => m.data[r * m.cols + c]!);

describe.each(KERNEL_PATHS.flatMap((kernels) => CASES.map((c) => ({ ...c, kernels }))))('sample $name ($kernels kernels)', (c) => {
  let s: Loaded;
  beforeAll(async () => {
    s = await loadSample(c.name);
  });
  const instance = (sample: Loaded, K: number, truncate = 0, mode: Mode = 'both') => compiledInstance(sample, K, truncate, mode, c.kernels);

  const products = c.products === undefined ? /kernels\.gemvT?\(/ : c.products;
  if (c.kernels === 'wasm' && products) {
    it('runs its products in the SIMD kernels', async () => {
      const compiled = await compile(s.source, { mode: 'both', K: 3 });
      expect(compiled.files[0]!.contents).toMatch(products);
    });
  }

  it('has a data.json whose dims the spec accepts', () => {
    expect(Object.values(s.dims).every((d) => Number.isInteger(d) && d >= 1)).toBe(true);
    expect(s.layout.S).toBeGreaterThan(0);
    expect(s.layout.P).toBeGreaterThan(0);
  });

  const truncations = (K: number) => [0, 1, K / 2, K - 1, K];

  it.each(truncations(c.K))('forward Jacobian equals reverse Jacobian at truncate t = %i', async (t) => {
    const inst = await instance(s, c.K, t);
    const fwd = inst.jacobianForward!(s.inputs as never, s.x0 as never);
    const rev = inst.jacobianReverse!(s.inputs as never, s.x0 as never);
    const plain = inst.iterate(s.inputs as never, s.x0 as never);
    const Jf = assemble(fwd.jacobian, s.layout);
    const Jr = assemble(rev.jacobian, s.layout);
    // All three runs take the same K steps.
    expect(relativeDifference(concatState(fwd.state, s.layout), concatState(plain.state, s.layout))).toBeLessThanOrEqual(1e-14);
    expect(relativeDifference(concatState(rev.state, s.layout), concatState(plain.state, s.layout))).toBeLessThanOrEqual(1e-14);
    if (t === c.K) {
      // No iteration is differentiated: the Jacobian is exactly zero both ways.
      expect(Jf.data.every((v) => v === 0)).toBe(true);
      expect(Jr.data.every((v) => v === 0)).toBe(true);
    } else {
      expect(Jf.data.some((v) => v !== 0)).toBe(true);
      expect(relativeDifference(Jf.data, Jr.data)).toBeLessThanOrEqual(1e-12);
    }
  });

  if (!c.timeVarying) it('truncated derivatives are those of the last K - t steps started at x_t', async () => {
    const t = c.K / 2;
    const truncated = await instance(s, c.K, t);
    const Jt = assemble(truncated.jacobianReverse!(s.inputs as never, s.x0 as never).jacobian, s.layout);
    // x_t, then a K - t step run from it, differentiated over every step.
    const xt = (await instance(s, t, 0, 'forward')).iterate(s.inputs as never, s.x0 as never).state;
    const tail = await instance(s, c.K - t, 0, 'forward');
    const Jtail = assemble(tail.jacobianForward!(s.inputs as never, xt as never).jacobian, s.layout);
    expect(relativeDifference(Jt.data, Jtail.data)).toBeLessThanOrEqual(1e-12);
    // ... which differs from the untruncated Jacobian.
    const full = assemble((await instance(s, c.K, 0)).jacobianReverse!(s.inputs as never, s.x0 as never).jacobian, s.layout);
    expect(relativeDifference(Jt.data, full.data)).toBeGreaterThan(1e-8);
  });

  it.each([0, c.K / 2])('the forward Jacobian equals its JVP columns (truncate t = %i)', async (t) => {
    const inst = await instance(s, c.K, t, 'forward');
    const J = assemble(inst.jacobianForward!(s.inputs as never, s.x0 as never).jacobian, s.layout);
    for (let col = 0; col < s.layout.P; col++) {
      const unit = new Float64Array(s.layout.P);
      unit[col] = 1;
      const { tangent } = inst.jvp!(s.inputs as never, splitParams(unit, s.layout), s.x0 as never);
      expect(relativeDifference(concatState(tangent, s.layout), column(J, col))).toBeLessThanOrEqual(1e-12);
    }
  });

  it.each([0, c.K / 2])('the reverse gradient for a random cotangent equals cotangentᵀ · Jacobian (truncate t = %i)', async (t) => {
    const inst = await instance(s, c.K, t, 'reverse');
    const J = assemble(inst.jacobianReverse!(s.inputs as never, s.x0 as never).jacobian, s.layout);
    const rng = randomGenerator(1234 + t);
    const cot = rng.vector(s.layout.S, 'normal');
    const cotangent: Named<Float64Array> = {};
    let off = 0;
    for (const st of s.layout.state) {
      cotangent[st.name] = cot.slice(off, off + st.size);
      off += st.size;
    }
    const { gradient } = inst.vjp!(s.inputs as never, cotangent, s.x0 as never);
    const expected = new Float64Array(s.layout.P);
    for (let r = 0; r < J.rows; r++) for (let col = 0; col < J.cols; col++) expected[col]! += cot[r]! * J.data[r * J.cols + col]!;
    const got = new Float64Array(s.layout.P);
    off = 0;
    for (const p of s.layout.params) {
      got.set(gradient[p.name]!, off);
      off += p.size;
    }
    expect(relativeDifference(got, expected)).toBeLessThanOrEqual(1e-12);
  });

  it('dx_K/dθ matches central finite differences of iterate', async () => {
    const inst = await instance(s, c.fdK, 0, 'forward');
    const J = assemble(inst.jacobianForward!(s.inputs as never, s.x0 as never).jacobian, s.layout);
    const theta0 = flatParams(s.inputs, s.layout);
    const f = (theta: Float64Array) =>
      concatState(inst.iterate({ ...s.inputs, ...splitParams(theta, s.layout) } as never, s.x0 as never).state, s.layout);
    const fd = finiteDifferenceJacobian(f, theta0);
    expect(relativeDifference(J.data, fd.data)).toBeLessThan(1e-5);
  });

  // Only where Φ is a contraction near the fixed point (not momentum, logistic or pseudo-Huber here).
  if (c.contractive) it('the unrolled Jacobian approaches the implicit-function Jacobian as K grows', async () => {
    // A tightly converged fixed point: restart a long run from its own end until it stops moving.
    const long = await instance(s, 400, 0, 'forward');
    let point = long.iterate(s.inputs as never, s.x0 as never).state;
    for (let round = 0; round < 20; round++) {
      const next = long.iterate(s.inputs as never, point as never).state;
      const moved = relativeDifference(concatState(next, s.layout), concatState(point, s.layout));
      point = next;
      if (moved <= 1e-15) break;
    }
    const again = long.iterate(s.inputs as never, point as never).state;
    expect(relativeDifference(concatState(again, s.layout), concatState(point, s.layout))).toBeLessThan(1e-13);

    const Jstar = implicitJacobian(long.partialX(s.inputs as never, point as never), long.partialTheta(s.inputs as never, point as never));
    expect([Jstar.rows, Jstar.cols]).toEqual([s.layout.S, s.layout.P]);
    const error = async (K: number) => {
      const inst = await instance(s, K, 0, 'reverse');
      return relativeDifference(assemble(inst.jacobianReverse!(s.inputs as never, s.x0 as never).jacobian, s.layout).data, Jstar.data);
    };
    const e20 = await error(20);
    const e400 = await error(400);
    expect(e400).toBeLessThan(1e-6);
    expect(e400).toBeLessThan(1e-3 * e20);
  });

  it('builds ∂Φ/∂x and ∂Φ/∂θ the same way from the tangent and the adjoint step', async () => {
    const fwd = await instance(s, 4, 0, 'forward');
    const rev = await instance(s, 4, 0, 'reverse');
    const point = fwd.iterate(s.inputs as never, s.x0 as never).state;
    for (const partial of ['partialX', 'partialTheta'] as const) {
      const a = fwd[partial](s.inputs as never, point as never);
      const b = rev[partial](s.inputs as never, point as never);
      expect([a.rows, a.cols]).toEqual([b.rows, b.cols]);
      expect(relativeDifference(a.data, b.data)).toBeLessThanOrEqual(1e-13);
    }
  });
});

describe('heavy-ball state', () => {
  it('adds an x_prev component that starts at x and trails it by one step', async () => {
    const s = await loadSample('heavy_ball');
    expect(s.layout.state.map((b) => b.name)).toEqual(['x', 'x_prev']);
    const K = 12;
    const inst = await compiledInstance(s, K);
    expect(inst.meta.state).toEqual([
      { name: 'x', shape: ['n'] },
      { name: 'x_prev', shape: ['n'], initialFrom: 'x' },
    ]);
    const { state } = inst.iterate(s.inputs as never);
    const before = (await compiledInstance(s, K - 1)).iterate(s.inputs as never).state;
    expect(Array.from(state.x_prev!)).toEqual(Array.from(before.x!));
    // Both state components get Jacobian blocks for both params.
    const { jacobian } = inst.jacobianReverse!(s.inputs as never);
    expect(Object.keys(jacobian).sort()).toEqual(['x', 'x_prev']);
    expect(Object.keys(jacobian.x_prev!).sort()).toEqual(['c', 'mu']);
    // One step of x_prev: x_prev starts equal to x, so after one iteration it is x_0 and has no derivative.
    const one = (await compiledInstance(s, 1)).jacobianForward!(s.inputs as never).jacobian;
    expect(one.x_prev!.c!.data.every((v) => v === 0)).toBe(true);
    expect(one.x!.c!.data.some((v) => v !== 0)).toBe(true);
  });
});

describe('the damped Newton program (samples/newton/main.mjs)', () => {
  afterAll(removeTempDirs);

  it('compiles with the CLI as samples/build.mjs does, runs, and its checks pass: converged, three dw/dθ agree, dw/dμ = 0', async () => {
    requireBuiltCli();
    // the program beside its data and its generated module, with `phic` resolving to this package
    const dir = tempDir('phic-newton-');
    for (const f of ['main.mjs', 'data.json']) copyFileSync(join(ROOT, 'samples', 'newton', f), join(dir, f));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'phic'), 'dir');
    const compiled = await cli(['compile', join(ROOT, 'samples', 'newton', 'newton.phi.ts'), '--mode', 'both', '-K', '60', '--dims', 'm=16,n=3', '-o', join(dir, 'generated')]);
    expect(compiled.status, compiled.stderr).toBe(0);
    const run = spawnSync(process.execPath, [join(dir, 'main.mjs')], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr + run.stdout).toBe(0);
    const checks = run.stdout.split('\n').filter((l) => / [≤>] \d/.test(l));
    expect(checks.map((l) => l.trim().split(':')[0])).toEqual(['‖∇f(w_K)‖ (converged)', 'unrolled vs implicit dw/dθ', 'implicit vs closed-form dw/dθ', '‖implicit dw/dμ‖ (μ moves no fixed point)']);
    expect(checks.every((l) => l.includes(' ≤ '))).toBe(true);
  }, 60_000);
});
