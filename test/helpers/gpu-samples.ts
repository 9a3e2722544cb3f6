// Test helper for the GPU backend: every sample (spec + data.json), compiled for the CPU
// (float64, the reference) and the GPU (gpu.js, float32), run forward and reverse on both,
// and compared. Shared by the webasm suite, the headlessgl suite and docs/gpu.md's numbers.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile, type GpuMapInstance, type MapInstance } from '../../src/index.js';
import { readSpecFile } from '../../compiler/spec/read-file.js';
import type { SpecSource } from '../../compiler/spec/source.js';
import { buildModel } from '../../compiler/model.js';
import { inferDims } from '../../src/infer-dims.js';
import { randomGenerator, relativeDifference } from '../../runtime/reference.js';
import type { GpuInstance } from '../../runtime/gpu.js';
import { ROOT } from './cli.js';

type Named<T> = Record<string, T>;

export interface GpuSample {
  /** Folder under samples/. */
  readonly folder: string;
  /** The spec file in it. */
  readonly spec: string;
  /** Whether Φ is a contraction near its fixed point (then errors stay bounded in K). */
  readonly contractive: boolean;
}

/** Every sample with a data.json; bilevel has an outer objective (hypergradient). */
export const GPU_SAMPLES: readonly GpuSample[] = [
  { folder: 'ridge', spec: 'ridge.phi.ts', contractive: true },
  { folder: 'least_squares', spec: 'least_squares.phi.ts', contractive: true },
  { folder: 'heavy_ball', spec: 'heavy_ball.phi.ts', contractive: false },
  { folder: 'logistic', spec: 'logistic.phi.ts', contractive: false },
  { folder: 'pseudo_huber', spec: 'pseudo_huber.phi.ts', contractive: false },
  { folder: 'tanh_layer', spec: 'tanh_layer.phi.ts', contractive: true },
  { folder: 'bilevel', spec: 'ridge-bilevel.phi.json', contractive: true },
  { folder: 'curse', spec: 'lsq.phi.json', contractive: true },
];

export interface LoadedSample {
  readonly source: SpecSource;
  readonly inputs: Named<unknown>;
  readonly x0: Named<unknown> | undefined;
  readonly dims: Named<number>;
  /** The largest dim: dot products have at most this many terms (× another dim for A'A). */
  readonly maxDim: number;
}

/** Loads a sample; `root` is the repository root (default: found from this file under test/helpers). */
export async function loadGpuSample(s: GpuSample, root = ROOT): Promise<LoadedSample> {
  const source = await readSpecFile(join(root, 'samples', s.folder, s.spec));
  const data = JSON.parse(readFileSync(join(root, 'samples', s.folder, 'data.json'), 'utf8')) as Named<unknown>;
  const { x0, ...inputs } = data;
  const dims = inferDims(buildModel(source), inputs, x0 as Named<unknown> | undefined);
  return { source, inputs, x0: x0 as Named<unknown> | undefined, dims, maxDim: Math.max(1, ...Object.values(dims)) };
}

/**
 * The float32 tolerance, as a relative 2-norm error against the float64 CPU result.
 *
 * u = 2⁻²⁴ is float32's unit roundoff. One step of Φ rounds each entry once per flop of a
 * dot product of length ≤ n (the largest dim), so its relative error is ≤ n·u in the worst
 * case (Higham, Accuracy and Stability, §3.1); inputs are rounded to float32 too (u each).
 * Through K steps of a map with contraction factor ρ < 1 these errors are damped: the
 * accumulated error is ≤ n·u·(1 − ρᴷ)/(1 − ρ), bounded in K. Tangents and adjoints follow
 * the same linear recursion, plus the state's error times ∂²Φ, which adds at most a factor
 * growing linearly in K. Our samples converge slowly (ρ near 1) and some are not contractive
 * in every direction, so the bound we test is 16·n·u·(1 + K/30): a constant of 16 for the
 * extra roundings per entry (elementwise chains, the hoisted A'A), growing mildly with K.
 * Measured errors are 10–100× below it (docs/gpu.md); a wrong index or a lost term gives
 * errors of order 1.
 */
export function float32Tolerance(maxDim: number, K: number): number {
  const u = 2 ** -24;
  return 16 * maxDim * u * (1 + K / 30);
}

export interface Comparison {
  /** What was compared: `iterate x`, `jvp x`, `vjp theta`, `jacobianForward x/theta`, ... */
  readonly what: string;
  readonly error: number;
}

export interface SampleRun {
  readonly comparisons: Comparison[];
  /** The backends the GPU results reported. */
  readonly backends: Set<string>;
  readonly precisions: Set<string>;
}

/** Runs a sample on CPU and GPU (all entry points) and returns the relative differences. */
export async function compareSample(s: LoadedSample, gpu: GpuInstance, options: { K: number; truncate: number; executor?: 'auto' | 'pipeline' | 'kernels'; bakeDims?: boolean; jacobians?: boolean }): Promise<SampleRun> {
  const base = { mode: 'both' as const, K: options.K, truncate: options.truncate };
  const cpu: MapInstance = (await compile(s.source, { ...base, dims: s.dims })).create();
  const bake = options.bakeDims ?? true;
  const compiled = await compile(s.source, { ...base, ...(bake ? { dims: s.dims } : {}), backend: 'gpu', gpu, executor: options.executor ?? 'auto' });
  const g: GpuMapInstance = compiled.create(bake ? undefined : s.dims);
  const comparisons: Comparison[] = [];
  const backends = new Set<string>();
  const precisions = new Set<string>();
  const note = (r: { backend: string; precision: string }) => {
    backends.add(r.backend);
    precisions.add(r.precision);
  };
  const cmp = (what: string, a: ArrayLike<number>, b: ArrayLike<number>) => comparisons.push({ what, error: relativeDifference(a, b) });
  const inputs = s.inputs as never;
  const x0 = s.x0 as never;
  try {
    const it = await g.iterate(inputs, x0);
    note(it);
    const ci = cpu.iterate(inputs, x0);
    for (const k of Object.keys(ci.state)) cmp(`iterate ${k}`, it.state[k]!, ci.state[k]!);

    // A random direction and cotangent, the same for both backends.
    const rng = randomGenerator(20_250 + options.K);
    const meta = cpu.meta as { params: { name: string; shape: string[] }[]; state: { name: string; shape: string[] }[] };
    const size = (shape: readonly string[]) => shape.reduce((p, d) => p * s.dims[d]!, 1);
    const direction: Named<Float64Array> = Object.fromEntries(meta.params.map((p) => [p.name, rng.vector(size(p.shape), 'normal')]));
    const cotangent: Named<Float64Array> = Object.fromEntries(meta.state.map((v) => [v.name, rng.vector(size(v.shape), 'normal')]));
    const gj = await g.jvp!(inputs, direction as never, x0);
    note(gj);
    const cj = cpu.jvp!(inputs, direction as never, x0);
    for (const k of Object.keys(cj.tangent)) cmp(`jvp ${k}`, gj.tangent[k]!, cj.tangent[k]!);
    const gv = await g.vjp!(inputs, cotangent as never, x0);
    note(gv);
    const cv = cpu.vjp!(inputs, cotangent as never, x0);
    for (const k of Object.keys(cv.gradient)) cmp(`vjp ${k}`, gv.gradient[k]!, cv.gradient[k]!);
    if (options.jacobians ?? true) {
      const gf = await g.jacobianForward!(inputs, x0);
      const gr = await g.jacobianReverse!(inputs, x0);
      note(gf);
      note(gr);
      const cf = cpu.jacobianForward!(inputs, x0);
      for (const st of Object.keys(cf.jacobian)) {
        for (const p of Object.keys(cf.jacobian[st]!)) {
          cmp(`jacobianForward ${st}/${p}`, gf.jacobian[st]![p]!.data, cf.jacobian[st]![p]!.data);
          cmp(`jacobianReverse ${st}/${p}`, gr.jacobian[st]![p]!.data, cf.jacobian[st]![p]!.data);
        }
      }
    }
    if (g.hypergradient) {
      const cpuOuter = cpu as MapInstance & { hypergradient(i: never, x: never): { loss: number; gradient: Named<Float64Array> } };
      const gh = await g.hypergradient(inputs, x0);
      note(gh);
      const ch = cpuOuter.hypergradient(inputs, x0);
      cmp('hypergradient loss', [gh.loss], [ch.loss]);
      for (const k of Object.keys(ch.gradient)) cmp(`hypergradient ${k}`, gh.gradient[k]!, ch.gradient[k]!);
    }
  } finally {
    await g.destroy();
  }
  return { comparisons, backends, precisions };
}
