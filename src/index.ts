// The public API: defineMap for specs, compile for in-process use, and the spec types.

import { compileSpec, type CompileOptions, type GeneratedFile } from '../compiler/pipeline.js';
import { inMemorySource, type SpecSource } from '../compiler/spec/source.js';
import type { MapSpec } from '../compiler/spec/types.js';
import { importGenerated } from './load-module.js';

export { defineMap } from '../compiler/spec/types.js';
export type { MapSpec, MethodSpec, FunctionSpec, OuterSpec, ShapeString } from '../compiler/spec/types.js';
export { PhicError } from '../compiler/errors.js';
export type { CompileOptions, GeneratedFile } from '../compiler/pipeline.js';

/** A dense row-major matrix, as generated modules return them. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** What an `observe` callback sees after each iteration (live buffers: copy what you keep). */
export type Observation =
  | { phase: 'idle' | 'record'; k: number; state: Record<string, Float64Array> }
  | { phase: 'forward'; k: number; state: Record<string, Float64Array>; tangent: Record<string, Float64Array> }
  | { phase: 'backward'; k: number; adjoint: Record<string, Float64Array>; gradient: Record<string, Float64Array> };
export type Observer = (observation: Observation) => void;

type Tensor = Float64Array | Float32Array | readonly number[] | readonly (readonly number[])[] | number;
type Named<T> = Record<string, T>;

/** What `create(dims)` of a generated CPU module returns. */
export interface MapInstance {
  readonly meta: Record<string, unknown>;
  readonly dims: Readonly<Record<string, number>>;
  iterate(inputs: Named<Tensor>, x0?: Named<Tensor>, observe?: Observer): { state: Named<Float64Array> };
  jvp?(inputs: Named<Tensor>, direction: Named<Tensor>, x0?: Named<Tensor>, observe?: Observer): { state: Named<Float64Array>; tangent: Named<Float64Array> };
  jacobianForward?(inputs: Named<Tensor>, x0?: Named<Tensor>, observe?: Observer): { state: Named<Float64Array>; jacobian: Named<Named<Matrix>> };
  vjp?(inputs: Named<Tensor>, cotangent: Named<Tensor>, x0?: Named<Tensor>, observe?: Observer): { state: Named<Float64Array>; gradient: Named<Float64Array> };
  jacobianReverse?(inputs: Named<Tensor>, x0?: Named<Tensor>, observe?: Observer): { state: Named<Float64Array>; jacobian: Named<Named<Matrix>> };
  partialX(inputs: Named<Tensor>, point: Named<Tensor>): Matrix;
  partialTheta(inputs: Named<Tensor>, point: Named<Tensor>): Matrix;
}

export interface CompiledMap {
  readonly meta: Record<string, unknown>;
  /** The files `phic compile` would write. */
  readonly files: readonly GeneratedFile[];
  /** Instantiates the module: allocates its buffers (dims are needed unless baked). */
  create(dims?: Readonly<Record<string, number>>): MapInstance;
}

/** Compiles a spec in-process and loads the generated CPU module. */
export async function compile(spec: MapSpec | SpecSource, options: CompileOptions): Promise<CompiledMap> {
  const source = isSource(spec) ? spec : inMemorySource(spec);
  const result = compileSpec(source, { ...options, emit: 'js' });
  const mod = await importGenerated<{ meta: Record<string, unknown>; create(dims?: Record<string, number>): MapInstance }>(result.moduleCode);
  return { meta: mod.meta, files: result.files, create: (dims) => mod.create(dims as Record<string, number>) };
}

function isSource(x: unknown): x is SpecSource {
  return typeof x === 'object' && x !== null && 'value' in x && typeof (x as SpecSource).locate === 'function';
}
