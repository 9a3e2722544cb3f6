// A lab problem: a spec with its data, and compiled instances on demand. Every number the
// lab reports comes from the code phic generates for this spec; instances are cached per
// (K, t, mode) so sweeps compile each variant once.

import { compileSpec } from '../../compiler/pipeline.js';
import type { Solver } from '../../compiler/implicit/options.js';
import { buildModel, type MapModel } from '../../compiler/model.js';
import type { Mode } from '../../compiler/plan.js';
import { readSpecFile } from '../../compiler/spec/read-file.js';
import type { SpecSource } from '../../compiler/spec/source.js';
import { dataError } from '../../compiler/errors.js';
import { importGenerated } from '../load-module.js';
import { readJsonFile } from '../json-file.js';
import { inferDims } from '../infer-dims.js';
import type { MapInstance } from '../index.js';

export type Named = Record<string, Float64Array>;

/** A generated instance with the outer-objective functions when the spec has them. */
export interface LabInstance extends MapInstance {
  outerAt?(inputs: object, point: object): { loss: number; stateGradient: Named; paramGradient: Named };
  hypergradient?(inputs: object, x0?: object, observe?: unknown): { state: Named; loss: number; gradient: Named };
}

export interface LabProblem {
  readonly source: SpecSource;
  readonly model: MapModel;
  /** Params and data by name, as given (nested arrays or typed arrays). */
  readonly inputs: Readonly<Record<string, unknown>>;
  readonly x0: Readonly<Record<string, unknown>> | undefined;
  readonly dims: Readonly<Record<string, number>>;
  /** Entries of the concatenated state and of the concatenated params. */
  readonly stateSize: number;
  readonly paramSize: number;
  instance(K: number, truncate: number, mode: Mode): Promise<LabInstance>;
  /** A new instance of the same compiled module (nothing shared with `instance`'s: buffers a call allocates lazily start empty). */
  freshInstance(K: number, truncate: number, mode: Mode): Promise<LabInstance>;
  /** The same problem with other inputs (e.g. another θ); shares nothing mutable. */
  withInputs(inputs: Record<string, unknown>, x0?: Record<string, unknown>): LabProblem;
}

export function makeProblem(
  source: SpecSource,
  inputs: Record<string, unknown>,
  x0?: Record<string, unknown>,
  cache = new Map<string, Promise<LabInstance>>(),
  modules = new Map<string, Promise<{ create(): LabInstance }>>(),
): LabProblem {
  const model = buildModel(source);
  const dims = inferDims(model, inputs, x0);
  const sizeOf = (shape: readonly string[]) => shape.reduce((p, d) => p * dims[d]!, 1);
  const problem: LabProblem = {
    source, model, inputs, x0, dims,
    stateSize: model.state.reduce((p, s) => p + sizeOf(s.shape), 0),
    paramSize: model.params.reduce((p, s) => p + sizeOf(s.shape), 0),
    instance(K, truncate, mode) {
      const key = `${K}/${truncate}/${mode}`;
      let hit = cache.get(key);
      if (!hit) {
        hit = problem.freshInstance(K, truncate, mode);
        cache.set(key, hit);
      }
      return hit;
    },
    freshInstance(K, truncate, mode) {
      const key = `${K}/${truncate}/${mode}`;
      let mod = modules.get(key);
      if (!mod) {
        const code = compileSpec(source, { mode, K, truncate, dims }).moduleCode;
        mod = importGenerated<{ create(): LabInstance }>(code);
        modules.set(key, mod);
      }
      return mod.then((m) => m.create());
    },
    withInputs: (next, nextX0) => makeProblem(source, next, nextX0, cache, modules),
  };
  return problem;
}

/**
 * A `--method implicit` instance of the problem (reverse mode): K steps to x_K, then the
 * adjoint solve with at most `steps` solver products. Krylov solvers run to 1e-14 (their
 * reported products are what they spent); Neumann runs all its steps.
 */
export async function implicitInstance(problem: LabProblem, K: number, solver: Solver, steps: number, warmStart = false): Promise<LabInstance> {
  const code = compileSpec(problem.source, { mode: 'reverse', K, dims: problem.dims, method: 'implicit', solver, solverSteps: steps, tolerance: solver === 'neumann' ? 0 : 1e-14, ...(warmStart ? { warmStart } : {}) }).moduleCode;
  return (await importGenerated<{ create(): LabInstance }>(code)).create();
}

/**
 * The message of a numeric failure raised by the generated code or the implicit solve (an
 * Error named PhicError with category 'numeric'); null for anything else, which is a bug
 * and must propagate.
 */
export function numericFailure(e: unknown): string | null {
  const err = e as Error & { category?: string };
  return err instanceof Error && err.name === 'PhicError' && err.category === 'numeric' ? err.message : null;
}

/**
 * The lab's warning for a map that reads the iteration index k: its theory (the fixed point, the
 * contraction constants, the bounds, J* from the implicit function theorem) is for a map that is
 * the same at every step, and the lab takes them for the map of step 0.
 */
export function timeVaryingWarnings(problem: LabProblem): string[] {
  const why = [
    ...(problem.model.iteration ? ['reads the iteration index k'] : []),
    ...(problem.model.batches ? [`reads its data as ${problem.model.batches.count} mini-batches`] : []),
  ];
  if (why.length === 0) return [];
  return [`the map ${why.join(' and ')}, so it changes from step to step: the fixed point, the contraction constants, the bounds and J* assume a time-invariant map; the lab takes them for the map of step k = 0`];
}

/** Reads a spec file and a data file (`{ ...inputs, x0?: {...} }`, as for `phic run`). */
/** Reads spec and data; relative paths are taken from `cwd` (default: the process's folder). */
export async function loadProblem(specFile: string, dataFile: string, mapName?: string, cwd?: string): Promise<LabProblem> {
  const source = await readSpecFile(specFile, mapName, cwd);
  const data = readJsonFile(dataFile, 'data', cwd);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw dataError(`data file ${dataFile} must hold an object keyed by name`);
  const { x0, ...inputs } = data as Record<string, unknown>;
  if (x0 !== undefined && (typeof x0 !== 'object' || x0 === null)) throw dataError('x0 must be an object keyed by state name');
  return makeProblem(source, inputs, x0 as Record<string, unknown> | undefined);
}

/** Concatenate named blocks in the model's order (state or params). */
export function concat(blocks: Named, order: readonly { name: string }[]): Float64Array {
  const parts = order.map((v) => blocks[v.name]!);
  const out = new Float64Array(parts.reduce((p, a) => p + a.length, 0));
  let at = 0;
  for (const a of parts) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** Split a concatenated vector into named blocks (copies). */
export function split(vector: ArrayLike<number>, order: readonly { name: string; shape: readonly string[] }[], dims: Readonly<Record<string, number>>): Named {
  const out: Named = {};
  let at = 0;
  for (const v of order) {
    const size = v.shape.reduce((p, d) => p * dims[d]!, 1);
    out[v.name] = Float64Array.from({ length: size }, (_, i) => vector[at + i]!);
    at += size;
  }
  return out;
}

/** x⁰ per state component as the generated code starts from it: given values, else zeros; a
 * previous-iterate component not given starts equal to its iterate. */
export function initialState(problem: Pick<LabProblem, 'model' | 'dims' | 'x0'>): Named {
  const out: Named = {};
  for (const s of problem.model.state) {
    const size = s.shape.reduce((p, d) => p * problem.dims[d]!, 1);
    const given = problem.x0?.[s.name];
    if (given === undefined) out[s.name] = new Float64Array(size);
    else if (ArrayBuffer.isView(given)) out[s.name] = Float64Array.from(given as Float64Array);
    else out[s.name] = Float64Array.from([given].flat(3) as number[]);
  }
  for (const s of problem.model.state) if (s.initialFrom && problem.x0?.[s.name] === undefined) out[s.name] = out[s.initialFrom]!.slice();
  return out;
}
