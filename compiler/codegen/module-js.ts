// The CPU module: header, helpers, and `create(dims)`, which allocates every buffer once
// and returns the iteration, forward-mode, reverse-mode and partial-Jacobian functions.
// K, the truncation index T and (when baked) the dims are literal constants. When a segment
// calls a SIMD kernel, every buffer is a view into the kernels' WebAssembly memory.
//
// Names: the top level's are fixed (the runtime's functions, K, T, meta, create) and a user
// name equal to one gets a suffix on its buffer; everything in create() is allocated from the
// plan's module scope after the user's names, the drivers' locals from a child scope of it.

import CodeBlockWriter from 'code-block-writer';
import type { Plan } from '../plan.js';
import { imul, num, type IndexExpr, type Segment } from '../lower/loop-ir.js';
import { emitSegment, segmentCall, type SegmentEmitContext } from './emit-segment-js.js';
import { callsKernels, callsPaired, callsSolve } from '../optimise/select-kernels.js';
import { KERNELS_RUNTIME, KERNELS_RUNTIME_TS, PAIRED_KERNELS_RUNTIME } from './wasm/runtime-kernels.js';
import { bufferSet, emitBufferBytes, emitBufferDeclarations, emitThreadFunctions, type BufferSet } from './buffers-js.js';
import { emitApplyDeferred } from './deferred-updates.js';
import { emitBatchedProducts } from './batched-tangents.js';
import { DEFER_STEPS } from '../optimise/defer-updates.js';
import { indexCode } from './precedence.js';
import { JS_HELPERS, JS_HELPERS_TS } from './js-templates.js';
import { JS_BATCH_RUNTIME, JS_BATCH_RUNTIME_TS, JS_RUNTIME, JS_RUNTIME_TS, SOLVE_RUNTIME, SOLVE_RUNTIME_TS } from './runtime-js.js';
import { SOLVER_RUNTIME, SOLVER_RUNTIME_TS } from './runtime-solvers.js';
import { REVOLVE_RUNTIME, REVOLVE_RUNTIME_TS } from './runtime-revolve.js';
import { emitSolves, solveBuffers } from './implicit-js.js';
import { headerLines, type HeaderInfo } from './header.js';
import { metaObject } from './meta.js';
import { typedName } from './typed.js';
import { topLevelNames } from './top-level.js';
import { emitDrivers, type DriverContext, type Sized } from './drivers-js.js';
import { buildSchedule } from '../schedule/build.js';
import type { SegmentKey } from '../schedule/schedule.js';
import { emitChecks, emitDims, emitDirectionCheck, emitLoaders, emitMemoryCheck } from './create-js.js';
import { wasmSweeps, type WasmSweeps } from './wasm/sweep-wasm.js';
import { toBase64 } from './wasm/encode.js';
import { PARALLEL_MIN_WORK } from './wasm/runtime-wasm-typed.js';

/**
 * A tape of more bytes stays outside the kernels' memory, and its sweeps JavaScript: a tape
 * inside counts against the 4 GiB of a WebAssembly memory, and at this size the per-step cost
 * the WebAssembly sweeps save is small beside the products.
 */
const TAPE_IN_KERNELS_MAX = 256 * 2 ** 20;

/** Names the CPU module declares at its top level: its runtime's, and the four the emitter writes. */
export const CPU_TOP_LEVEL: readonly string[] = [...topLevelNames(JS_RUNTIME), ...topLevelNames(JS_BATCH_RUNTIME), ...topLevelNames(JS_HELPERS), ...topLevelNames(KERNELS_RUNTIME), ...topLevelNames(PAIRED_KERNELS_RUNTIME), ...topLevelNames(SOLVE_RUNTIME), ...topLevelNames(SOLVER_RUNTIME), ...topLevelNames(REVOLVE_RUNTIME), 'K', 'T', 'meta', 'create'];

/** Names create() declares (parameters, state, functions), allocated after the user's. */
const CREATE_NAMES = [
  'dims', 'options', 'kernels', 'fixedEntries', 'tangentCount', 'adjointCount', 'outerDataLoaded', 'layout', 'instance',
  'loadInputs', 'loadState', 'advance', 'snapshot', 'checkNext', 'checkState', 'checkTangents', 'checkAdjoints', 'useTangents', 'useAdjoints',
  'idle', 'iterate', 'setParamDirection', 'setStateDirection', 'forwardSweep', 'unitSweep', 'jvp', 'jacobianForward', 'record', 'backwardSweep', 'vjp',
  'jacobianReverse', 'partialRows', 'partialX', 'partialTheta', 'outerAt', 'hypergradient', 'bufferBytes', 'threads', 'ready', 'release',
  'applyDeferred', 'sweeps', 'transposeForProducts', 'tangentProducts', 'solveTangents', 'solveAdjoints', 'chainSteps', 'storedSteps', 'chainCursor',
  'fusedSweep', 'fusedGradient', 'vjpFused',
] as const;
export type CreateNames = Readonly<Record<(typeof CREATE_NAMES)[number], string>> & { readonly T: string; readonly K: string };

/** Locals of the driver functions (each function declares those it uses). */
const DRIVER_LOCALS = [
  'inputs', 'x0', 'observe', 'k', 'd', 'count', 'unit', 'direction', 'cotangent', 'point', 'given', 'index', 'value', 'rows', 'cols', 'out',
  'c', 'r', 'i', 'j', 'jacobian', 'state', 'dx', 'dtheta', 'from', 'to', 'x0Jacobian', 'sparse', 'checked', 'failed', 'due',
] as const;
export type DriverLocals = Readonly<Record<(typeof DRIVER_LOCALS)[number], string>>;

/**
 * The annotation of each driver local where it is declared, printed only in TypeScript: the
 * type names are the module's own declarations (dts.ts), which no user name can shadow (user
 * names are values). Locals whose type TypeScript infers have none.
 */
const DRIVER_TYPES: Readonly<Partial<Record<(typeof DRIVER_LOCALS)[number], string>>> = {
  inputs: ': Inputs', x0: '?: InitialState', observe: '?: Observer', point: ': InitialState', direction: ': Direction', cotangent: ': Cotangent',
  given: ': InitialState', jacobian: ': Record<string, Record<string, Matrix>>', x0Jacobian: ': Record<string, Record<string, Matrix>>', k: ': number', d: ': number', count: ': number', index: ': number', value: ': number', from: ': number', to: ': number',
};

/** Plans already emitted: emission allocates names in the plan's scopes, so a second emission would differ. */
const emitted = new WeakSet<Plan>();

/** The module's text; `types`: TypeScript (`--emit ts`), the same code with its annotations. */
export function emitJsModule(plan: Plan, info: HeaderInfo, types = false): string {
  if (emitted.has(plan)) throw new Error('a plan is emitted once: build a new plan to emit again');
  emitted.add(plan);
  const { options } = plan;
  const baked = options.dims;
  const dimValue = (name: string) => (baked ? baked[name]! : null);
  const dimName = (name: string) => plan.dimNames.get(name)!;
  const size = (v: Sized) => {
    if (v.dims.length === 0) return '1';
    if (baked) return String(v.dims.reduce((p, d) => p * baked[d]!, 1));
    return v.dims.map(dimName).join(' * ');
  };
  const code = (e: IndexExpr) => indexCode(e, dimValue, dimName);
  const batch = plan.tangentBatch;
  const deferred = plan.deferral;
  const stride = strides(plan, size, code);

  // the segments as the drivers run them: the adjoint step with its updates deferred, when the pass deferred any
  const segs = { ...plan.segments, ...(deferred ? { adjoint: deferred.segment } : {}) };
  const segments = [segs.invariants, segs.step, segs.stepForTangent, segs.tangent, segs.forwardStep, segs.tangentInvariants, segs.adjointPrep, segs.adjoint, segs.outerGradient, segs.reverseStep, segs.paramAdjoint, batch?.segment].filter((seg) => seg !== undefined);
  const n: CreateNames = { ...plan.names.table(CREATE_NAMES), K: 'K', T: 'T' };
  const drivers = plan.names.child();
  const v: DriverLocals = drivers.table(DRIVER_LOCALS);
  const kernels = segments.some(callsKernels) ? n.kernels : undefined;
  // a module that solves catches errors in its iteration loops, to add the iteration
  const solveError = segments.some(callsSolve) ? drivers.fresh('error') : null;
  const segCtx: SegmentEmitContext = { dimValue, dimName, batchStride: (b) => stride.get(b)!, ...(kernels ? { kernels } : {}), types };
  const deferral = kernels && deferred ? { deferral: deferred, kernels, stride: (b: string) => stride.get(b)!, code } : null;
  const segmentOf: Readonly<Partial<Record<SegmentKey, Segment>>> = { ...segs, tangentBatched: batch?.segment };
  const segmentCallOf = (key: SegmentKey, d: string) => {
    const seg = segmentOf[key];
    if (!seg) throw new Error(`phic internal error: the schedule runs segment ${key}, which the plan does not have`);
    return segmentCall(seg, d);
  };
  const total = (vs: readonly Sized[]) => {
    if (baked) return String(vs.reduce((p, v) => p + Number(size(v)), 0));
    return vs.map((v) => (v.dims.length > 1 ? `(${size(v)})` : size(v))).join(' + ');
  };

  const paired = segments.some(callsPaired);
  const w = prelude(plan, info, !!kernels, paired, solveError !== null, types);
  const schedule = buildSchedule(plan);
  const solves = options.implicit ? solveBuffers(plan, total) : null;
  const moreFixed = [...(batch?.products ?? []).flatMap((b) => (b.transposed ? [{ name: b.transposed, size: `${code(b.call.m)} * ${code(b.call.n)}` }] : [])), ...(solves?.fixed ?? [])];
  // entries of the buffers that are not per direction, once the dims are baked (their sizes are then products of numbers)
  const fixedEntries = new Map(bufferSet(plan, size, { fixed: moreFixed }).fixed.map((b) => [b.name, b.size.split(' * ').reduce((p, f) => p * Number(f), 1)]));
  // whole sweeps as WebAssembly where every statement has a form there (dims baked, kernels on)
  const sweeps = kernels && baked ? wasmSweeps({ plan, schedule, segmentOf: (key) => segmentOf[key], dimValue: (d) => baked[d]!, size: (dims) => dims.reduce((p, d) => p * baked[d]!, 1), splitWork: PARALLEL_MIN_WORK, tapeBytesMax: TAPE_IN_KERNELS_MAX, stride: (b) => (stride.has(b) ? Number(stride.get(b)) : null), entries: (b) => fixedEntries.get(b) ?? null, ...(batch ? { batch } : {}), ...(deferred ? { deferral: deferred } : {}) }) : null;

  const dimCode = (d: string) => (baked ? String(baked[d]!) : dimName(d));
  const param = (key: keyof DriverLocals) => typedName(types, v[key], DRIVER_TYPES[key] ?? '');
  const cast = (expr: string, type: string) => (types ? `${expr} as ${type}` : expr);
  const ctx: DriverContext = { w, plan, size, total, dimCode, n, v, types, param, cast, drivers, segmentCall: segmentCallOf, deferral, solveError, solves: solves?.names ?? null, sweeps: sweeps ? { instance: n.sweeps, of: sweeps.of } : null };
  const buffers = bufferSet(plan, size, {
    adjoints: (deferred?.updates ?? []).map((u) => [u.buffer, stride.get(u.buffer)!] as const),
    tangents: (batch?.products ?? []).map((b) => [b.products, code(b.call.m)] as const),
    fixed: moreFixed,
    tapeInKernels: !!sweeps?.usesTape,
  });

  w.writeLine('/** Allocates all buffers once; the returned functions reuse them on every call. */');
  // TypeScript: the signature the declarations give create() (dts.ts), dims optional when baked
  w.write(`export function create(${typedName(types, n.dims, baked ? '?: Dims' : ': Dims')}, ${typedName(types, n.options, '?: CreateOptions')})${types ? ': Instance' : ''} `).block(() => {
    emitDims(ctx);
    emitMemoryCheck(ctx, buffers);
    // With no outer data there is nothing to wait for.
    emitBufferDeclarations(w, buffers, n, plan.outer ? `let ${n.outerDataLoaded} = ${plan.data.every((d) => !d.outer)};` : undefined, kernels ? (paired ? 'paired' : 'kernels') : null, types);
    if (options.checkpoints && plan.segments.adjoint) w.writeLine('// checkpointing: the chain of steps the first sweep keeps, the step each slot holds, the next slot').writeLine(`let ${typedName(types, n.chainSteps, ': number[]')} = [], ${typedName(types, n.storedSteps, ': number[]')} = [], ${n.chainCursor} = 0;`);
    if (sweeps) emitSweepsInstance(w, sweeps, n);
    if (deferred) w.writeLine(`// steps whose rank-1 gradient updates wait in ${deferred.updates.map((u) => u.buffer).join(', ')} (at most ${DEFER_STEPS})`).writeLine(`let ${deferred.counter} = 0;`);
    w.blankLine();

    for (const seg of segments) {
      emitSegment(w, seg, segCtx);
      w.blankLine();
    }
    if (deferred) emitApplyDeferred(w, deferred, n, plan.names, (b) => stride.get(b)!, code, types);
    if (batch) emitBatchedProducts(w, batch, n, plan.names, code, types);

    emitLoaders(ctx);
    emitChecks(ctx);

    emitCoreDrivers(ctx, buffers, !!kernels);
    if (solves) emitSolves(ctx, solves.names);

    emitDrivers(ctx, schedule);
    emitBufferBytes(w, buffers, n, drivers, !!kernels);
    emitThreadFunctions(w, n, !!kernels);

    emitInstance(ctx, !!segs.tangent, !!segs.adjoint, kernels);
  });
  return w.toString();
}


/** Entries per direction of every per-direction buffer, as code. */
function strides(plan: Plan, size: (v: Sized) => string, code: (e: IndexExpr) => string): Map<string, string> {
  const stride = new Map<string, string>();
  for (const s of plan.state) for (const b of [s.dot, s.dotNext, s.bar, s.barNext]) stride.set(b, size(s));
  for (const p of plan.params) stride.set(p.bar, size(p));
  for (const b of plan.tangentBatch?.products ?? []) stride.set(b.products, code(b.call.m));
  for (const u of plan.deferral?.updates ?? []) stride.set(u.buffer, code(imul(num(DEFER_STEPS), u.call.m)));
  return stride;
}

/** The module's top level: header, K, T, meta and the runtime. */
function prelude(plan: Plan, info: HeaderInfo, kernels: boolean, paired: boolean, solves: boolean, types: boolean): CodeBlockWriter {
  const w = new CodeBlockWriter({ indentNumberOfSpaces: 2, useSingleQuote: true, newLine: '\n' });
  headerLines(info).forEach((l) => w.writeLine(l));
  w.writeLine('/* eslint-disable */').blankLine();
  w.writeLine(`const K = ${plan.options.K};`);
  w.writeLine(`const T = ${plan.options.truncate};`).blankLine();
  // TypeScript: `as const` keeps the literals (K, the dims) that the declared Meta has
  w.writeLine(`export const ${typedName(types, 'meta', ': Meta')} = Object.freeze(${JSON.stringify(metaObject(plan, info, { backend: 'cpu', precision: 'float64' }))}${types ? ' as const' : ''});`).blankLine();
  w.writeLine(types ? JS_RUNTIME_TS : JS_RUNTIME).blankLine();
  if (plan.model.batches) w.writeLine(types ? JS_BATCH_RUNTIME_TS : JS_BATCH_RUNTIME).blankLine();
  w.writeLine(types ? JS_HELPERS_TS : JS_HELPERS).blankLine();
  if (kernels) w.writeLine(types ? KERNELS_RUNTIME_TS : KERNELS_RUNTIME).blankLine();
  if (paired) w.writeLine(PAIRED_KERNELS_RUNTIME).blankLine();
  if (solves) w.writeLine(types ? SOLVE_RUNTIME_TS : SOLVE_RUNTIME).blankLine();
  if (plan.options.implicit) w.writeLine(types ? SOLVER_RUNTIME_TS : SOLVER_RUNTIME).blankLine();
  if (plan.options.checkpoints && plan.segments.adjoint) w.writeLine(types ? REVOLVE_RUNTIME_TS : REVOLVE_RUNTIME).blankLine();
  return w;
}

/** The buffers' direction counts: resized when the count changes, zeroed for every call. */
function emitCoreDrivers(ctx: DriverContext, buffers: BufferSet, kernels: boolean) {
  const { w, plan, n, v } = ctx;
  const counter = plan.deferral?.counter;
  w.write(`function ${n.useTangents}(${ctx.param('count')}) `).block(() => {
    w.write(`if (${n.tangentCount} !== ${v.count}) `).block(() => emitResizeCall(ctx, buffers, 'tangent', kernels));
    for (const s of plan.state) w.writeLine(`${s.dot}.fill(0);`);
  }).blankLine();
  w.write(`function ${n.useAdjoints}(${ctx.param('count')}) `).block(() => {
    w.write(`if (${n.adjointCount} !== ${v.count}) `).block(() => emitResizeCall(ctx, buffers, 'adjoint', kernels));
    for (const s of plan.state) w.writeLine(`${s.bar}.fill(0);`);
    for (const p of plan.params) w.writeLine(`${p.bar}.fill(0);`);
    if (counter) w.writeLine(`${counter} = 0;`);
  }).blankLine();

}

/** The instance create() returns (registered to stop the worker threads when it is collected). */
function emitInstance(ctx: DriverContext, forward: boolean, reverse: boolean, kernels: string | undefined) {
  const { w, plan, n } = ctx;
  type Api = keyof CreateNames;
  const api: Api[] = ['iterate', ...(forward ? (['jvp', 'jacobianForward'] as const) : []), ...(reverse ? (['vjp', 'jacobianReverse'] as const) : []), 'partialX', 'partialTheta', 'bufferBytes', 'threads', 'ready', 'release', ...(plan.outer ? (['outerAt', ...(reverse ? (['hypergradient'] as const) : [])] as const) : [])];
  const entry = (key: string, value: string) => (key === value ? key : `${key}: ${value}`);
  const dimsObject = `Object.freeze({ ${plan.model.dims.map((d) => entry(d, plan.dimNames.get(d)!)).join(', ')} })`;
  const instance = `Object.freeze({ meta, dims: ${dimsObject}, ${api.map((a) => entry(a, n[a])).join(', ')} })`;
  if (!kernels) w.writeLine(`return ${instance};`);
  else {
    w.writeLine(`const ${n.instance} = ${instance};`);
    w.writeLine('// an instance dropped without release() stops its worker threads when it is collected');
    w.writeLine(`releaseWhenCollected?.register(${n.instance}, ${kernels}.release);`);
    w.writeLine(`return ${n.instance};`);
  }
}

function emitResizeCall(ctx: DriverContext, buffers: BufferSet, which: 'tangent' | 'adjoint', kernels: boolean) {
  const { w, n, v } = ctx;
  const counter = which === 'tangent' ? n.tangentCount : n.adjointCount;
  emitDirectionCheck(ctx, buffers, which);
  if (kernels) {
    w.writeLine(`${counter} = ${v.count};`).writeLine(`${n.layout}();`);
    return;
  }
  for (const [name, sz] of which === 'tangent' ? buffers.tangents : buffers.adjoints) w.writeLine(`${name} = new Float64Array(${v.count} * ${sz});`);
  w.writeLine(`${counter} = ${v.count};`);
}

/** The WebAssembly sweeps' instance, on the kernels and their memory, with the Math functions and helpers it imports. */
function emitSweepsInstance(w: CodeBlockWriter, sweeps: WasmSweeps, n: CreateNames) {
  const imports = [
    ...(sweeps.math.length ? [`Math: { ${sweeps.math.map((f) => `${f}: Math.${f}`).join(', ')} }`] : []),
    ...(sweeps.helpers.length ? [`helpers: { ${sweeps.helpers.join(', ')} }`] : []),
  ];
  const splits = new Map([...sweeps.of.values()].flatMap((s) => (s.split ? [[s.name, `${s.name}: [${[s.split.work, s.split.checked ? 1 : 0, ...s.split.buffers].join(', ')}]`] as const] : [])));
  w.writeLine(`// unobserved calls run these sweeps whole in WebAssembly (${[...new Set([...sweeps.of.values()].map((s) => s.name))].join(', ')}); null where the engine cannot`);
  if (splits.size) w.writeLine(`// the directions of ${[...splits.keys()].join(', ')} may run in parts on the worker threads: per sweep, its work per direction and step, whether it checks each step, then each buffer's kind (sweep-wasm.ts, DirectionSplit)`);
  w.writeLine(`const ${n.sweeps} = ${n.kernels}.sweeps('${toBase64(sweeps.plain)}', '${toBase64(sweeps.shared)}', {${imports.length ? ` ${imports.join(', ')} ` : ''}}${splits.size ? `, { ${[...splits.values()].join(', ')} }` : ''});`);
}
