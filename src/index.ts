// The public API: defineMap for specs, defineConfig for phic.config.ts, compile for in-process
// use, and the spec and config types.

import { compileSpec, type CompileOptions, type GeneratedFile } from '../compiler/pipeline.js';
import { inMemorySource, type SpecSource } from '../compiler/spec/source.js';
import type { MapSpec } from '../compiler/spec/types.js';
import { importGenerated } from './load-module.js';
import { createGpu, type GpuInstance, type GpuMode } from '../runtime/gpu.js';
import { GPU_PACKAGES, requirePackages } from './optional-packages.js';
import type { BakedDims, GpuRunInfo, SolveReport, IsExactSpec, Matrix, SpecDims, SpecGpuMapInstance, SpecMapInstance, SpecMeta, TensorInput } from './typed-module.js';

export { defineMap } from '../compiler/spec/types.js';
export type { MapSpec, MethodSpec, FunctionSpec, OuterSpec, ShapeString } from '../compiler/spec/types.js';
export { defineConfig } from './config/types.js';
export type { PhicConfig, GenerateTarget, GenerateOptions } from './config/types.js';
export { PhicError } from '../compiler/errors.js';
export type { CompileOptions, GeneratedFile } from '../compiler/pipeline.js';

export type { Matrix, GpuRunInfo, SolveReport, SolveOf, ScalarInput, VectorInput, MatrixInput, TensorInput, InputOfShape, SpecInputs, SpecState, SpecGradient, SpecDirection, SpecInitialState, SpecDims, SpecMeta, SpecMapInstance, SpecGpuMapInstance } from './typed-module.js';

/** What an `observe` callback sees after each iteration (live buffers: copy what you keep). */
export type Observation =
  | { phase: 'idle' | 'record'; k: number; state: Record<string, Float64Array> }
  | { phase: 'forward'; k: number; state: Record<string, Float64Array>; tangent: Record<string, Float64Array> }
  | { phase: 'backward'; k: number; adjoint: Record<string, Float64Array>; gradient: Record<string, Float64Array> };
export type Observer = (observation: Observation) => void;

type Tensor = TensorInput;
type Named<T> = Record<string, T>;

/** What `create(dims)` of a generated CPU module returns. */
export interface MapInstance {
  readonly meta: Record<string, unknown>;
  readonly dims: Readonly<Record<string, number>>;
  iterate(inputs: Named<Tensor>, x0?: Named<Tensor>, observe?: Observer): { state: Named<Float64Array> };
  /** `direction` by param and by state name: a state's entry is a direction on x0 (zero when t > 0). */
  jvp?(inputs: Named<Tensor>, direction: Named<Tensor>, x0?: Named<Tensor>, observe?: Observer): { state: Named<Float64Array>; tangent: Named<Float64Array>; solve?: SolveReport };
  jacobianForward?(inputs: Named<Tensor>, x0?: Named<Tensor>, observe?: Observer): { state: Named<Float64Array>; jacobian: Named<Named<Matrix>>; solve?: SolveReport };
  /** `x0Gradient`: cotangent · dx_K/dx0 by state name (exactly zero when t > 0). */
  vjp?(inputs: Named<Tensor>, cotangent: Named<Tensor>, x0?: Named<Tensor>, observe?: Observer): { state: Named<Float64Array>; gradient: Named<Float64Array>; x0Gradient: Named<Float64Array>; solve?: SolveReport };
  /** `x0Jacobian[state][initial state]`: dx_K/dx0 (exactly zero when t > 0). */
  jacobianReverse?(inputs: Named<Tensor>, x0?: Named<Tensor>, observe?: Observer): { state: Named<Float64Array>; jacobian: Named<Named<Matrix>>; x0Jacobian: Named<Named<Matrix>>; solve?: SolveReport };
  partialX(inputs: Named<Tensor>, point: Named<Tensor>): Matrix;
  partialTheta(inputs: Named<Tensor>, point: Named<Tensor>): Matrix;
  /** Bytes held by the instance's buffers (see the generated .d.ts). */
  bufferBytes(): number;
  /** Threads the SIMD kernels run on now (1 until the worker threads are ready, or without them). */
  threads(): number;
  /** Starts the worker threads; resolves once they are ready (at once without them), so that a synchronous loop after it uses them. */
  ready(): Promise<void>;
  /** Stops the worker threads, if any; the instance goes on, on one thread. */
  release(): void;
}

/** create()'s options for a CPU module. */
export interface CreateOptions {
  /** How many threads the SIMD kernels may use (1: no worker threads); by default the cores Node reports, at most 4, each large call split only where that has been faster. */
  threads?: number;
  /** The most bytes all buffers together may take (default 4 GiB); create() refuses a larger instance before allocating it. */
  maxBytes?: number;
  /** Which SIMD kernels run: 'relaxed' (fused multiply-adds; needs WebAssembly relaxed SIMD) or 'simd'; by default 'relaxed' where the engine has it. */
  kernels?: 'simd' | 'relaxed';
}

/** A compiled CPU module: typed from the spec S and options O when both are literals (see typed-module.ts), loosely otherwise. */
export type CompiledMap<S = MapSpec, O = CompileOptions> = IsExactSpec<S> extends true ? ExactCompiledMap<S, O> : LooseCompiledMap;

interface LooseCompiledMap {
  readonly meta: Record<string, unknown>;
  /** The files `phic compile` would write. */
  readonly files: readonly GeneratedFile[];
  /** Instantiates the module: allocates its buffers (dims are needed unless baked). */
  create(dims?: Readonly<Record<string, number>>, options?: CreateOptions): MapInstance;
}

interface ExactCompiledMap<S, O> {
  readonly meta: SpecMeta<S, O>;
  readonly files: readonly GeneratedFile[];
  /** Instantiates the module: allocates its buffers (dims are needed unless baked). */
  create(...args: BakedDims<O> extends true ? [dims?: Partial<SpecDims<S>>, options?: CreateOptions] : [dims: SpecDims<S>, options?: CreateOptions]): SpecMapInstance<S, O>;
}

/** What `create(dims)` of a generated GPU module returns: asynchronous, float32 results as Float64Array copies. */
export interface GpuMapInstance {
  readonly meta: Record<string, unknown>;
  readonly dims: Readonly<Record<string, number>>;
  readonly precision: 'float32';
  /** The gpu.js backend of the last call (before any: the one gpu.js picked). */
  readonly backend: string;
  iterate(inputs: Named<Tensor>, x0?: Named<Tensor>): Promise<{ state: Named<Float64Array> } & GpuRunInfo>;
  jvp?(inputs: Named<Tensor>, direction: Named<Tensor>, x0?: Named<Tensor>): Promise<{ state: Named<Float64Array>; tangent: Named<Float64Array> } & GpuRunInfo>;
  jacobianForward?(inputs: Named<Tensor>, x0?: Named<Tensor>): Promise<{ state: Named<Float64Array>; jacobian: Named<Named<Matrix>> } & GpuRunInfo>;
  vjp?(inputs: Named<Tensor>, cotangent: Named<Tensor>, x0?: Named<Tensor>): Promise<{ state: Named<Float64Array>; gradient: Named<Float64Array>; x0Gradient: Named<Float64Array> } & GpuRunInfo>;
  jacobianReverse?(inputs: Named<Tensor>, x0?: Named<Tensor>): Promise<{ state: Named<Float64Array>; jacobian: Named<Named<Matrix>>; x0Jacobian: Named<Named<Matrix>> } & GpuRunInfo>;
  hypergradient?(inputs: Named<Tensor>, x0?: Named<Tensor>): Promise<{ state: Named<Float64Array>; loss: number; gradient: Named<Float64Array>; x0Gradient: Named<Float64Array> } & GpuRunInfo>;
  /** Resolves at once: kernels are built and the backend probed by the first call (there for code written for either backend). */
  ready(): Promise<void>;
  destroy(): Promise<void>;
}

export interface GpuCompileOptions extends CompileOptions {
  readonly backend: 'gpu';
  /** The app's gpu.js GPU instance (default: a new one in `gpuMode`). */
  readonly gpu?: GpuInstance;
  /** gpu.js mode when phic makes the GPU instance: 'gpu' (gpu.js chooses), 'headlessgl', 'webasm', ... */
  readonly gpuMode?: GpuMode;
  /** Fail instead of running on a CPU fallback (webasm, cpu). */
  readonly requireGpu?: boolean;
  /** How kernels are driven: 'auto' (default), 'pipeline' (gpu.createPipeline) or 'kernels'. */
  readonly executor?: 'auto' | 'pipeline' | 'kernels';
}

/** A compiled GPU module: typed from the spec S and options O when both are literals, loosely otherwise. */
export type GpuCompiledMap<S = MapSpec, O = GpuCompileOptions> = IsExactSpec<S> extends true ? ExactGpuCompiledMap<S, O> : LooseGpuCompiledMap;

interface LooseGpuCompiledMap {
  readonly meta: Record<string, unknown>;
  readonly files: readonly GeneratedFile[];
  /** The gpu.js GPU instance the module runs on. */
  readonly gpu: GpuInstance;
  create(dims?: Readonly<Record<string, number>> | null): GpuMapInstance;
}

interface ExactGpuCompiledMap<S, O> {
  readonly meta: SpecMeta<S, O>;
  readonly files: readonly GeneratedFile[];
  readonly gpu: GpuInstance;
  create(...args: BakedDims<O> extends true ? [dims?: Partial<SpecDims<S>> | null] : [dims: SpecDims<S>]): SpecGpuMapInstance<S, O>;
}

/**
 * Compiles a spec in-process and loads the generated module: CPU (float64) by default, gpu.js
 * (float32) with `backend: 'gpu'`. A literal spec (`defineMap({...})` or written inline) and
 * literal options type the module exactly: its input and result names, each input by its rank,
 * the mode's entry points and meta's K, t, mode and dims. A spec read from a file (a SpecSource)
 * or typed as MapSpec gives the loose types.
 */
export async function compile<const S extends MapSpec, const O extends GpuCompileOptions>(spec: S, options: O): Promise<GpuCompiledMap<S, O>>;
export async function compile<const S extends MapSpec, const O extends CompileOptions>(spec: S, options: O): Promise<CompiledMap<S, O>>;
export async function compile(spec: MapSpec | SpecSource, options: GpuCompileOptions): Promise<GpuCompiledMap>;
export async function compile(spec: MapSpec | SpecSource, options: CompileOptions): Promise<CompiledMap>;
export async function compile(spec: MapSpec | SpecSource, options: CompileOptions | GpuCompileOptions): Promise<unknown> {
  return load(spec, options);
}

/** compile()'s work, checked against the loose types (what the exact ones narrow). */
async function load(spec: MapSpec | SpecSource, options: CompileOptions | GpuCompileOptions): Promise<LooseCompiledMap | LooseGpuCompiledMap> {
  const source = isSource(spec) ? spec : inMemorySource(spec);
  if (options.backend === 'gpu') {
    const { gpu: given, gpuMode, requireGpu, executor, ...rest } = options as GpuCompileOptions;
    const result = compileSpec(source, { ...rest, emit: 'js' });
    type GpuModule = { meta: Record<string, unknown>; create(gpu: GpuInstance, dims?: Record<string, number> | null, o?: object): GpuMapInstance };
    const mod = await importGenerated<GpuModule>(result.moduleCode);
    if (!given) requirePackages('compile() with the GPU backend and no gpu instance', GPU_PACKAGES);
    const gpu = given ?? (await createGpu(gpuMode ?? 'gpu'));
    const createOptions = { ...(requireGpu ? { requireGpu } : {}), ...(executor ? { executor } : {}) };
    return { meta: mod.meta, files: result.files, gpu, create: (dims?: Readonly<Record<string, number>> | null) => mod.create(gpu, dims as Record<string, number> | undefined, createOptions) };
  }
  const result = compileSpec(source, { ...options, emit: 'js' });
  const mod = await importGenerated<{ meta: Record<string, unknown>; create(dims?: Record<string, number>, options?: CreateOptions): MapInstance }>(result.moduleCode);
  return { meta: mod.meta, files: result.files, create: (dims?: Readonly<Record<string, number>>, options?: CreateOptions) => mod.create(dims as Record<string, number>, options) };
}

function isSource(x: unknown): x is SpecSource {
  return typeof x === 'object' && x !== null && 'value' in x && typeof (x as SpecSource).locate === 'function';
}
