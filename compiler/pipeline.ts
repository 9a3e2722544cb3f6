// The compiler pipeline, stage by stage: read and check the spec into IR, differentiate,
// optimise and lower into an execution plan, emit. Options are checked first; nothing is
// written here (callers write the returned files). `dump` returns the text of one stage.

import { usageError } from './errors.js';
import { buildModel, type MapModel } from './model.js';
import { buildPlan, type Mode, type Plan, type PlanPass, type SegmentPass } from './plan.js';
import { batchTangentProducts } from './optimise/batch-tangents.js';
import { pairProducts } from './optimise/pair-products.js';
import { fuseGemvPairs } from './optimise/fuse-gemv-pairs.js';
import { deferRankOneUpdates } from './optimise/defer-updates.js';
import { selectKernels } from './optimise/select-kernels.js';
import { fuseLoops } from './optimise/fuse-loops.js';
import { unrollLoops } from './optimise/unroll.js';
import { printGraph } from './ir/print.js';
import { printSegments } from './lower/print.js';
import { buildSchedule } from './schedule/build.js';
import { printSchedule } from './schedule/print.js';
import { CPU_TOP_LEVEL, emitJsModule } from './codegen/module-js.js';
import { declarations } from './codegen/dts.js';
import { GPU_TOP_LEVEL, emitGpuModule } from './codegen/gpu/module-gpu.js';
import { gpuDeclarations } from './codegen/gpu/dts-gpu.js';
import type { HeaderInfo } from './codegen/header.js';
import type { SpecSource } from './spec/source.js';
import { PHIC_VERSION } from './version.js';
import { describeImplicit, implicitOptions, type ImplicitInput, type ImplicitOptions, type Method, type Solver } from './implicit/options.js';
import { sha256Hex } from './sha256.js';

import { STAGES, MODES, type Stage } from './stages.js';
export { STAGES, MODES, type Stage };

export interface CompileOptions {
  readonly mode: Mode;
  readonly K: number;
  readonly truncate?: number;
  readonly dims?: Readonly<Record<string, number>>;
  readonly emit?: 'js' | 'ts';
  /** 'cpu' (default): a float64 JavaScript module; 'gpu': gpu.js kernels (float32) with host glue. */
  readonly backend?: 'cpu' | 'gpu';
  /**
   * CPU backend: 'wasm' (default) runs matrix-vector products, their transposes and rank-1
   * updates in WebAssembly SIMD kernels embedded in the module; 'js' keeps every loop JavaScript.
   */
  readonly kernels?: 'wasm' | 'js';
  /** How the source is named in the header (a path relative to the project, usually). */
  readonly sourceName?: string;
  /**
   * 'unrolled' (default): derivatives through the last K − t iterations. 'implicit': the
   * derivative entries iterate to x_K, then solve (I − ∂ₓΦ) ẋ = ∂θΦ θ̇ (forward) or
   * (I − ∂ₓΦ)ᵀ v = x̄ (reverse) there, matrix-free, with `solver`. CPU backend only.
   */
  readonly method?: Method;
  /** The implicit method's linear solver (default gmres). */
  readonly solver?: Solver;
  /** The most products with ∂ₓΦ per solve (default 100); Neumann runs exactly this many. */
  readonly solverSteps?: number;
  /** GMRES(m)'s restart length (default 30). */
  readonly restart?: number;
  /** Relative residual at which a solve stops (default 1e-12; Neumann: 0, every step). */
  readonly tolerance?: number;
  /** Start each single-direction solve from the previous call's solution. */
  readonly warmStart?: boolean;
  /**
   * Reverse mode with binomial checkpointing: c state slots instead of a tape of K − t states,
   * the others recomputed in the backward sweep (memory O(c·n); see runtime-revolve.ts for the
   * number of forward steps). Has no effect when c ≥ K − t. CPU backend, unrolled method.
   */
  readonly checkpoints?: number;
}

/** The checkpoint count the plan uses: c when it is below the K − t states a tape would hold, else null. */
export function checkpointsOf(options: CompileOptions): number | null {
  const c = options.checkpoints;
  if (c === undefined) return null;
  return c < options.K - (options.truncate ?? 0) ? c : null;
}

/** The implicit options of compile options (undefined fields left out). */
function implicitInput(o: CompileOptions): ImplicitInput | undefined {
  const input = { solver: o.solver, steps: o.solverSteps, restart: o.restart, tolerance: o.tolerance, warmStart: o.warmStart };
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  return Object.keys(given).length ? (given as ImplicitInput) : undefined;
}

/** The checked implicit options, or null for unrolling. */
export function implicitOf(options: CompileOptions): ImplicitOptions | null {
  return implicitOptions(options.method, implicitInput(options), options.truncate ?? 0);
}

export interface GeneratedFile {
  readonly name: string;
  readonly contents: string;
}

export interface CompileResult {
  readonly model: MapModel;
  readonly plan: Plan;
  readonly files: readonly GeneratedFile[];
  /** The module text: JavaScript, or with --emit ts (CPU) the typed body of the .ts file. */
  readonly moduleCode: string;
}

export function checkOptions(options: CompileOptions): void {
  if (!MODES.includes(options.mode)) throw usageError(`--mode must be one of ${MODES.join(', ')}, got '${String(options.mode)}'`);
  if (!Number.isInteger(options.K) || options.K <= 0) throw usageError(`K must be a positive integer, got ${String(options.K)}`);
  const t = options.truncate ?? 0;
  if (!Number.isInteger(t) || t < 0) throw usageError(`--truncate must be a non-negative integer, got ${String(t)}`);
  if (t > options.K) throw usageError(`--truncate ${t} is larger than K = ${options.K}`);
  if (options.emit !== undefined && options.emit !== 'js' && options.emit !== 'ts') throw usageError(`--emit must be js or ts`);
  if (options.backend !== undefined && options.backend !== 'cpu' && options.backend !== 'gpu') throw usageError(`--backend must be cpu or gpu, got '${String(options.backend)}'`);
  if (options.kernels !== undefined && options.kernels !== 'wasm' && options.kernels !== 'js') throw usageError(`--kernels must be wasm or js, got '${String(options.kernels)}'`);
  if (options.checkpoints !== undefined) {
    if (!Number.isSafeInteger(options.checkpoints) || options.checkpoints < 1) throw usageError(`--checkpoints must be a positive integer, got ${String(options.checkpoints)}`);
    if (options.mode === 'forward') throw usageError('--checkpoints is for reverse mode: forward mode keeps no tape (use --mode reverse or both)');
    if (options.backend === 'gpu') throw usageError('--checkpoints runs on the CPU backend only; drop --backend gpu');
    if (options.method === 'implicit') throw usageError('--checkpoints does not apply to --method implicit: it keeps no tape');
  }
  if (implicitOf(options) && options.backend === 'gpu') throw usageError('--method implicit runs on the CPU backend only (the GPU host has no linear solvers yet); drop --backend gpu');
}

function checkDims(model: MapModel, dims: CompileOptions['dims']): Record<string, number> | null {
  if (!dims) return null;
  const out: Record<string, number> = {};
  for (const name of Object.keys(dims)) {
    if (!model.dims.includes(name)) throw usageError(`--dims names '${name}', which the spec does not use (dims: ${model.dims.join(', ') || 'none'})`);
  }
  for (const name of model.dims) {
    const v = dims[name];
    if (v === undefined) throw usageError(`--dims is missing ${name} (give all of ${model.dims.join(', ')}, or none)`);
    if (!Number.isInteger(v) || v < 1) throw usageError(`dim ${name} must be a positive integer, got ${v}`);
    out[name] = v;
  }
  return out;
}

/** A stable hash of the spec and every option that shapes the output. */
export function specHash(value: unknown, options: CompileOptions): string {
  const implicit = implicitOf(options);
  const checkpoints = checkpointsOf(options);
  const canonical = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canonical) : v && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])])) : v;
  const text = JSON.stringify(canonical({ spec: value, mode: options.mode, K: options.K, truncate: options.truncate ?? 0, dims: options.dims ?? null, emit: options.emit ?? 'js', ...(options.backend === 'gpu' ? { backend: 'gpu' } : {}), ...(options.kernels === 'js' ? { kernels: 'js' } : {}), ...(implicit ? { implicit } : {}), ...(checkpoints !== null ? { checkpoints } : {}) }));
  return sha256Hex(text);
}

export function compileSpec(source: SpecSource, options: CompileOptions): CompileResult {
  checkOptions(options);
  const model = buildModel(source);
  const dims = checkDims(model, options.dims);
  const gpu = options.backend === 'gpu';
  const kernels = !gpu && options.kernels !== 'js';
  const implicit = implicitOf(options);
  if (implicit) checkImplicitMap(model);
  const built = buildPlan(model, { mode: options.mode, K: options.K, truncate: options.truncate ?? 0, dims, segmentPasses: segmentPasses(gpu, kernels, dims), ...(gpu ? {} : { kernels, nextStateKnown: true }), implicit, checkpoints: checkpointsOf(options) }, gpu ? GPU_TOP_LEVEL : CPU_TOP_LEVEL);
  // the plan passes batch and defer work across the steps of a sweep, which the implicit method does not run;
  // deferred updates read the taped states in place, which checkpointing recomputes instead
  const plan = planPasses(kernels && !implicit, checkpointsOf(options) === null).reduce((p, pass) => pass.run(p), built);
  const formulas: [string, string][] = model.spec.update
    ? Object.entries(model.spec.update).map(([k, f]) => [`update ${k}`, f])
    : [['objective', model.spec.objective!], ['method', JSON.stringify(model.spec.method)]];
  const info: HeaderInfo = {
    version: PHIC_VERSION,
    source: options.sourceName ?? '<in-memory spec>',
    mapName: model.name,
    specHash: specHash(source.value, options),
    options: `mode=${options.mode} K=${options.K} truncate=${options.truncate ?? 0} dims=${dims ? Object.entries(dims).map(([k, v]) => `${k}=${v}`).join(',') : 'bound at create()'}${gpu ? ' backend=gpu' : ''}${!gpu && options.kernels === 'js' ? ' kernels=js' : ''}${implicit ? ` ${describeImplicit(implicit)}` : ''}${checkpointsOf(options) !== null ? ` checkpoints=${checkpointsOf(options)}` : ''}`,
    formulas,
  };
  const moduleCode = gpu ? emitGpuModule(plan, info, options.emit === 'ts') : emitJsModule(plan, info, options.emit === 'ts');
  if (gpu) {
    const header = headerOf(moduleCode);
    const files: GeneratedFile[] =
      options.emit === 'ts'
        ? [{ name: `${model.name}.ts`, contents: `${header}${gpuDeclarations(plan, false).replace(/^export const meta: Meta;\n/m, '')}\n${moduleCode.slice(header.length)}` }]
        : [
            { name: `${model.name}.js`, contents: moduleCode },
            { name: `${model.name}.d.ts`, contents: `${header}\n${gpuDeclarations(plan, true)}` },
          ];
    return { model, plan, files, moduleCode };
  }
  const files: GeneratedFile[] =
    options.emit === 'ts'
      ? [{ name: `${model.name}.ts`, contents: toTypeScript(moduleCode, plan) }]
      : [
          { name: `${model.name}.js`, contents: moduleCode },
          { name: `${model.name}.d.ts`, contents: declarationFile(moduleCode, plan) },
        ];
  return { model, plan, files, moduleCode };
}

/** The implicit method needs one map Φ(x, θ) with a fixed point: not one that changes with k or the mini-batch. */
function checkImplicitMap(model: MapModel) {
  if (model.iteration) throw usageError(`--method implicit needs a map with a fixed point, but this one reads the iteration index ${model.iteration.name} (it changes from step to step); use --method unrolled`);
  if (model.batches) throw usageError('--method implicit needs a map with a fixed point, but this one runs over mini-batches (it changes from step to step); use --method unrolled');
}

/**
 * The loop-IR passes per back end, in order. CPU: the kernel choice, loop fusion, unrolling. GPU:
 * every product as loops (gpu.js has no kernels of ours) and no fusion (its kernels compute
 * one buffer each: a fused loop would only be split again).
 */
function segmentPasses(gpu: boolean, kernels: boolean, dims: Readonly<Record<string, number>> | null): SegmentPass[] {
  const dimValue = (name: string) => dims?.[name] ?? null;
  const choose: SegmentPass = { name: 'select-kernels', run: (seg) => selectKernels(seg, { kernels, dimValue }) };
  return gpu ? [choose] : [choose, { name: 'fuse-loops', run: fuseLoops }, { name: 'unroll', run: unrollLoops }];
}

/**
 * The Plan → Plan passes per back end, in order: with the SIMD kernels, the tangent products of
 * multi-direction sweeps run as one gemm, rank-1 gradient updates wait for blocks of steps, a
 * gemv and gemvT on one A run as one call, and the fused reverse sweep's two products on one
 * matrix as one call (or the sweep is dropped). Without kernels (plain loops, GPU) there is
 * nothing to batch.
 */
function planPasses(kernels: boolean, defer: boolean): PlanPass[] {
  if (!kernels) return [];
  return [{ name: 'batch-tangents', run: batchTangentProducts }, ...(defer ? [{ name: 'defer-updates', run: deferRankOneUpdates }] : []), { name: 'fuse-gemv-pairs', run: fuseGemvPairs }, { name: 'pair-products', run: pairProducts }];
}

/** Header lines of the module (up to the eslint marker), reused by the other files. */
const headerOf = (code: string) => code.slice(0, code.indexOf('/* eslint-disable */'));

function declarationFile(code: string, plan: Plan): string {
  return `${headerOf(code)}\n${declarations(plan, true)}`;
}

/** The .ts module: declarations, then the body the emitter typed; it type-checks under strict as it is. */
function toTypeScript(code: string, plan: Plan): string {
  const header = headerOf(code);
  return `${header}${declarations(plan, false).replace(/^export const meta: Meta;\n/m, '')}\n${code.slice(header.length)}`;
}

/** The text of one stage, for `--dump`. */
export function dumpStage(result: CompileResult, stage: Stage): string {
  const { model, plan } = result;
  const label = (xs: readonly { name: string }[], suffix: string) => xs.map((x) => `${x.name}${suffix}`);
  switch (stage) {
    case 'parse':
      return printGraph(model.state.map((s, i) => ({ label: `${s.name}⁺`, node: model.update[i]! })));
    case 'diff': {
      const d = plan.derivatives;
      const roots = [
        ...d.tangent.map((t, i) => ({ label: label(model.state, '_dot⁺')[i]!, node: t })),
        ...d.stateAdjoint.map((t, i) => ({ label: label(model.state, '_bar')[i]!, node: t })),
        ...d.paramAdjoint.map((t, i) => ({ label: `${label(model.params, '_bar')[i]!} +=`, node: t })),
      ].filter((r): r is { label: string; node: NonNullable<typeof r.node> } => r.node !== null);
      return printGraph(roots);
    }
    case 'optimise': {
      const g = plan.graphs;
      const roots = [
        ...g.update.map((n, i) => ({ label: `${model.state[i]!.name}⁺`, node: n })),
        ...g.tangent.map((n, i) => ({ label: `${model.state[i]!.name}_dot⁺`, node: n })),
        // along one given direction: the tangent of the reassociated step (sweep-invariants.ts)
        ...(g.sweptTangent ?? []).map((n, i) => ({ label: `${model.state[i]!.name}_dot⁺ (one direction)`, node: n })),
        ...g.adjoint.map((n, i) => ({ label: i < model.state.length ? `${model.state[i]!.name}_bar` : `${model.params[i - model.state.length]!.name}_bar +=`, node: n })),
      ].filter((r): r is { label: string; node: NonNullable<typeof r.node> } => r.node !== null);
      return printGraph(roots);
    }
    case 'lower': {
      // the segments after the back end's passes, then what the plan passes wrote beside them
      const extra = [plan.tangentBatch?.segment, plan.deferral?.segment].filter((s) => s !== undefined);
      const passes = [plan.tangentBatch ? 'batch-tangents' : null, plan.deferral ? 'defer-updates' : null].filter(Boolean);
      const tail = extra.length ? `\n\n# written by the plan passes (${passes.join(', ')}):\n${printSegments(extra)}` : '';
      return printSegments(Object.values(plan.segments).filter((s) => s !== undefined)) + tail;
    }
    case 'schedule':
      return printSchedule(buildSchedule(plan));
    case 'emit':
      return result.moduleCode;
  }
}
