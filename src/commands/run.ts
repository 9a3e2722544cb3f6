// `phic run`: compile a spec for the dims found in the data, run forward or reverse mode,
// and print (or write) the result as JSON: state, tangent, gradient, jacobian, meta.
// Options, the output path and the memory the run needs are checked before anything is
// compiled or allocated.

import { constants as bufferConstants } from 'node:buffer';
import { dataError, usageError } from '../../compiler/errors.js';
import { compileSpec } from '../../compiler/pipeline.js';
import { implicitFromCli, type ImplicitCliOptions } from '../implicit-cli.js';
import { readSpecFile } from '../../compiler/spec/read-file.js';
import { buildModel, type MapModel } from '../../compiler/model.js';
import { importGenerated } from '../load-module.js';
import { checkOutputFile, readJsonFile, writeFileAtomically } from '../io.js';
import { processIo, type CliIo } from '../cli-io.js';
import { defaultRunLimits, runSizeProblem } from '../run-size.js';
import { inferDims } from '../infer-dims.js';
import { GPU_PACKAGES, requirePackages } from '../optional-packages.js';
import type { GpuMapInstance, MapInstance, Matrix } from '../index.js';
import { checkRequireGpu, createGpu, type GpuInstance, type GpuMode } from '../../runtime/gpu.js';

export interface RunCommandOptions extends ImplicitCliOptions {
  map?: string;
  data: string;
  mode: 'forward' | 'reverse';
  K: number;
  truncate: number;
  direction?: string;
  cotangent?: string;
  jacobian?: boolean;
  out?: string;
  /** cpu (default, float64) or gpu (gpu.js kernels, float32). */
  backend?: 'cpu' | 'gpu';
  gpuMode?: GpuMode;
  requireGpu?: boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Refuses a run whose buffers cannot be allocated, before anything is. */
function checkRunSize(model: MapModel, dims: Record<string, number>, opts: RunCommandOptions): void {
  const entries = (shape: readonly string[]) => shape.reduce((p, d) => p * (dims[d] ?? 1), 1);
  const problem = runSizeProblem(
    {
      state: model.state.map((v) => entries(v.shape)),
      stateNames: model.state.map((v) => v.name),
      params: model.params.map((v) => entries(v.shape)),
      data: [...model.data, ...model.outerData].map((v) => entries(v.shape)),
      K: opts.K, truncate: opts.truncate, mode: opts.mode, jacobian: !!opts.jacobian,
    },
    defaultRunLimits(bufferConstants.MAX_LENGTH),
  );
  if (problem) throw dataError(problem);
}

export async function runCommand(specFile: string, opts: RunCommandOptions, io: CliIo = processIo()): Promise<void> {
  if (opts.jacobian && opts.direction) throw usageError('--jacobian and --direction cannot be given together: --jacobian computes every direction');
  if (opts.jacobian && opts.cotangent) throw usageError('--jacobian and --cotangent cannot be given together: --jacobian computes every cotangent');
  if (opts.mode === 'forward' && !opts.jacobian && !opts.direction) throw usageError('forward mode needs --direction <file> or --jacobian');
  if (opts.mode === 'reverse' && !opts.jacobian && !opts.cotangent) throw usageError('reverse mode needs --cotangent <file> or --jacobian');
  if (opts.mode === 'forward' && opts.cotangent) throw usageError('--cotangent is for reverse mode');
  if (opts.mode === 'reverse' && opts.direction) throw usageError('--direction is for forward mode');
  if (opts.requireGpu && opts.backend !== 'gpu') throw usageError('--require-gpu needs --backend gpu');
  if (opts.backend === 'gpu') requirePackages('phic run --backend gpu', GPU_PACKAGES);
  if (opts.out !== undefined && opts.out !== '-') checkOutputFile(opts.out, io.cwd);

  const source = await readSpecFile(specFile, opts.map, io.cwd);
  const model = buildModel(source);
  const data = readJsonFile(opts.data, 'data', io.cwd);
  if (!isRecord(data)) throw dataError(`data file ${opts.data} must hold an object keyed by name`);
  const { x0, ...rest } = data;
  const inputs = rest as Record<string, never>;
  if (x0 !== undefined && !isRecord(x0)) throw dataError('x0 must be an object keyed by state name');
  const direction = opts.direction ? readJsonFile(opts.direction, 'direction', io.cwd) : undefined;
  const cotangent = opts.cotangent ? readJsonFile(opts.cotangent, 'cotangent', io.cwd) : undefined;

  // Outer data are optional here: a dim only they use is baked as 1 and not reported.
  const dims = inferDims(model, inputs, x0 as Record<string, unknown> | undefined, { optionalOuterDims: true });
  const compileDims = Object.fromEntries(model.dims.map((d) => [d, dims[d] ?? 1]));
  checkRunSize(model, compileDims, opts);
  const gpuBackend = opts.backend === 'gpu';
  const result = compileSpec(source, { mode: opts.mode, K: opts.K, truncate: opts.truncate, dims: compileDims, ...(gpuBackend ? { backend: 'gpu' as const } : {}), ...implicitFromCli(opts) });
  const args = [inputs, x0 as Record<string, never> | undefined] as const;
  type Out = {
    state: Record<string, Float64Array>; tangent?: Record<string, Float64Array>; gradient?: Record<string, Float64Array>; x0Gradient?: Record<string, Float64Array>;
    jacobian?: Record<string, Record<string, Matrix>>; x0Jacobian?: Record<string, Record<string, Matrix>>; backend?: string; precision?: string;
    solve?: { solver: string; products: number; residual: number };
  };
  let out: Out;
  if (gpuBackend) {
    const gpu = await createGpu(opts.gpuMode ?? 'gpu');
    try {
      if (opts.requireGpu) await checkRequireGpu(gpu);
      const mod = await importGenerated<{ create(gpu: GpuInstance, dims?: null, options?: object): GpuMapInstance }>(result.moduleCode);
      const instance = mod.create(gpu, null, { requireGpu: !!opts.requireGpu });
      if (opts.mode === 'forward') out = opts.jacobian ? await instance.jacobianForward!(...args) : await instance.jvp!(inputs, direction as never, args[1]);
      else out = opts.jacobian ? await instance.jacobianReverse!(...args) : await instance.vjp!(inputs, cotangent as never, args[1]);
      await instance.destroy();
    } finally {
      await gpu.destroy();
    }
  } else {
    const mod = await importGenerated<{ create(): MapInstance }>(result.moduleCode);
    const instance = mod.create();
    try {
      if (opts.mode === 'forward') out = opts.jacobian ? instance.jacobianForward!(...args) : instance.jvp!(inputs, direction as never, args[1]);
      else out = opts.jacobian ? instance.jacobianReverse!(...args) : instance.vjp!(inputs, cotangent as never, args[1]);
    } finally {
      instance.release?.();
    }
  }

  const shapeOf = (name: string) => [...model.state, ...model.params].find((v) => v.name === name)!.shape.map((d) => dims[d]!);
  const nest = (group: Record<string, Float64Array> | undefined) =>
    group && Object.fromEntries(Object.entries(group).map(([k, v]) => [k, nested(v, shapeOf(k))]));
  const blocks = (jacobian: Record<string, Record<string, Matrix>>) =>
    Object.fromEntries(Object.entries(jacobian).map(([s, byColumn]) => [s, Object.fromEntries(Object.entries(byColumn).map(([c, m]) => [c, nested(m.data, [m.rows, m.cols])]))]));
  const json = {
    state: nest(out.state),
    ...(out.tangent ? { tangent: nest(out.tangent) } : {}),
    ...(out.gradient ? { gradient: nest(out.gradient) } : {}),
    ...(out.x0Gradient ? { x0Gradient: nest(out.x0Gradient) } : {}),
    ...(out.jacobian ? { jacobian: blocks(out.jacobian) } : {}),
    ...(out.x0Jacobian ? { x0Jacobian: blocks(out.x0Jacobian) } : {}),
    ...(out.solve ? { solve: out.solve } : {}),
    meta: { K: opts.K, truncate: opts.truncate, mode: opts.mode, jacobian: !!opts.jacobian, dims, map: model.name, ...(gpuBackend ? { backend: out.backend, precision: out.precision } : {}) },
  };
  const text = JSON.stringify(json) + '\n';
  if (opts.out !== undefined && opts.out !== '-') writeFileAtomically(opts.out, text, io.cwd);
  else io.stdout(text);
}

/** A flat row-major array as a number, a list or a list of rows. */
function nested(data: Float64Array, shape: readonly number[]): number | number[] | number[][] {
  if (shape.length === 0) return data[0]!;
  if (shape.length === 1) return Array.from(data);
  const [rows, cols] = shape as [number, number];
  return Array.from({ length: rows }, (_, r) => Array.from(data.subarray(r * cols, (r + 1) * cols)));
}
