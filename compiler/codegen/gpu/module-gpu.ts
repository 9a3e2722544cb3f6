// The GPU module: header, meta, the kernel table (gpu.js source strings generated from the
// same loop IR as the CPU code), the segment programs, the buffer layout and the host glue.
// `create(gpu, dims?, options?)` takes the app's gpu.js GPU instance. K, T and (when baked)
// the dims are literal constants; unbaked dims reach kernels as gpu.js constants.

import CodeBlockWriter from 'code-block-writer';
import type { Plan } from '../../plan.js';
import type { IndexExpr, ScalarExpr, Segment } from '../../lower/loop-ir.js';
import { sizeOf } from '../../lower/loop-ir.js';
import { PhicError } from '../../errors.js';
import { topoSort } from '../../ir/nodes.js';
import { getOp } from '../../ops/registry.js';
import { JS_RUNTIME, JS_RUNTIME_TS } from '../runtime-js.js';
import { headerLines, type HeaderInfo } from '../header.js';
import { metaObject } from '../meta.js';
import { kernelizeSegment, type GpuKernel, type KernelizeContext } from './kernels.js';
import { emitKernel, type EmittedKernel } from './emit-kernel.js';
import { foldIndex } from '../precedence.js';
import { GPU_HELPERS } from './templates.js';
import { GPU_RUNTIME as GPU_RUNTIME_TEXT, GPU_RUNTIME_TS } from './runtime-gpu.js';
import { typedName } from '../typed.js';
import { topLevelNames } from '../top-level.js';
import { buildSchedule } from '../../schedule/build.js';
import type { EntryName, Schedule, Step } from '../../schedule/schedule.js';

/** Names the GPU module declares at its top level: its runtime's, and those the emitter writes. */
export const GPU_TOP_LEVEL: readonly string[] = [
  ...topLevelNames(JS_RUNTIME), ...topLevelNames(GPU_RUNTIME_TEXT), 'K', 'T', 'BAKED', 'meta', 'HELPERS', 'KERNELS', 'SEGMENTS', 'SCHEDULE', 'STATE', 'PARAMS', 'DATA', 'OUTER', 'create',
];

/** The largest texture side any WebGL implementation offers; beyond it no GPU can hold a buffer. */
export const TEXTURE_SIDE_CEILING = 16384;

/** The segments the GPU module runs, by the names its runtime uses. */
const SEGMENT_KEYS = ['invariants', 'step', 'stepForTangent', 'tangent', 'forwardStep', 'tangentInvariants', 'adjointPrep', 'adjoint', 'outerGradient'] as const;

export interface GpuKernelSet {
  readonly kernels: readonly GpuKernel[];
  readonly segments: Readonly<Record<string, readonly string[]>>;
  readonly scalars: ReadonlySet<string>;
  readonly inline: ReadonlyMap<string, ScalarExpr>;
  size(buffer: string): IndexExpr;
}

/**
 * Refuses a map that calls ops the GPU kernels cannot express (their registry entries say why),
 * naming each op, and the first formula that calls one. Derivatives of such ops use only such
 * ops and products, so the user's own formulas are where they appear first.
 */
function refuseCpuOnlyOps(plan: Plan) {
  const { model } = plan;
  const formulas = model.update.map((node, i) => ({ node, field: model.spec.update ? `update.${model.state[i]!.name}` : 'objective' }));
  if (model.outer) formulas.push({ node: model.outer, field: 'outer.objective' });
  const refused = new Map<string, { reason: string; field: string }>();
  for (const { node, field } of formulas) {
    for (const n of topoSort([node])) {
      const def = n.kind === 'op' ? getOp(n.op) : null;
      if (def?.kind === 'structural' && def.gpuRefusal && !refused.has(def.name)) refused.set(def.name, { reason: def.gpuRefusal, field });
    }
  }
  if (refused.size === 0) return;
  const message = [...refused].map(([op, { reason }]) => `${op} is not supported by the GPU backend: ${reason}`).join('; ');
  throw new PhicError('usage', message, { field: [...refused.values()][0]!.field });
}

/** Every segment of the plan as gpu.js kernels, in run order. */
export function planKernels(plan: Plan): GpuKernelSet {
  refuseCpuOnlyOps(plan);
  const dimsOf = new Map<string, readonly string[]>();
  for (const s of plan.state) for (const b of [s.current, s.next, s.dot, s.dotNext, s.bar, s.barNext]) dimsOf.set(b, s.dims);
  for (const p of plan.params) for (const b of [p.value, p.dot, p.bar]) dimsOf.set(b, p.dims);
  for (const d of plan.data) dimsOf.set(d.value, d.dims);
  for (const t of plan.temporaries) dimsOf.set(t.name, t.dims);
  const scalars = new Set<string>();
  const size = (buffer: string): IndexExpr => {
    const dims = dimsOf.get(buffer);
    return dims ? sizeOf(dims) : { k: 'num', v: 1 };
  };
  const ctx: KernelizeContext = {
    size: (b) => (dimsOf.has(b) ? size(b) : undefined),
    batched: new Set([...plan.state.flatMap((s) => [s.dot, s.dotNext, s.bar, s.barNext]), ...plan.params.flatMap((p) => [p.dot, p.bar])]),
    scalars,
    inline: new Map(),
  };
  const ids = new Map<string, number>();
  const kernels: GpuKernel[] = [];
  const segments: Record<string, string[]> = {};
  const byKey: Record<(typeof SEGMENT_KEYS)[number], Segment | undefined> = {
    invariants: plan.segments.invariants, step: plan.segments.step, stepForTangent: plan.segments.stepForTangent, tangent: plan.segments.tangent, forwardStep: plan.segments.forwardStep, tangentInvariants: plan.segments.tangentInvariants,
    adjointPrep: plan.segments.adjointPrep, adjoint: plan.segments.adjoint, outerGradient: plan.segments.outerGradient,
  };
  for (const key of SEGMENT_KEYS) {
    const seg = byKey[key];
    if (!seg) continue;
    const ks = kernelizeSegment(seg, ctx, ids);
    kernels.push(...ks);
    segments[key] = ks.map((k) => k.id);
  }
  return { kernels, segments, scalars, inline: ctx.inline, size };
}

/** The module's JavaScript, or with `types` its TypeScript (the typed runtime, the tables and create() annotated). */
export function emitGpuModule(plan: Plan, info: HeaderInfo, types = false): string {
  const { options } = plan;
  if (plan.iteration) throw new PhicError('usage', 'the GPU backend does not support the iteration index k yet: compile this map with --backend cpu');
  if (plan.model.batches) throw new PhicError('usage', 'the GPU backend does not support mini-batches (batches) yet: compile this map with --backend cpu');
  const code = dimsCode(plan);
  const set = planKernels(plan);
  const emitted = new Map(set.kernels.map((k) => [k.id, emitKernel(k, { dimValue: code.dimValue, size: set.size, scalars: set.scalars, inline: set.inline })]));
  if (options.dims) checkCeiling(plan, set, (e) => Number(code.size(e)));

  const w = new CodeBlockWriter({ indentNumberOfSpaces: 2, useSingleQuote: true, newLine: '\n' });
  headerLines(info).forEach((l) => w.writeLine(l));
  w.writeLine('/* eslint-disable */').blankLine();
  w.writeLine('// gpu.js kernels generated from the same loop IR as the CPU module: one kernel per buffer a');
  w.writeLine('// loop nest writes, one thread per entry (per entry and direction when batched). Results are');
  w.writeLine('// float32, returned as Float64Array copies. create(gpu) takes the app\'s gpu.js GPU instance.');
  w.writeLine(`const K = ${options.K};`);
  w.writeLine(`const T = ${options.truncate};`);
  w.writeLine(`const BAKED = ${options.dims ? 'true' : 'false'};`).blankLine();
  w.writeLine(`export const ${typedName(types, 'meta', ': Meta')} = Object.freeze(${JSON.stringify(metaObject(plan, info, { backend: 'gpu', precision: 'float32' }))}${types ? ' as const' : ''});`).blankLine();
  writeKernelTables(w, set, emitted, code, types);
  writeSchedule(w, buildSchedule(plan), types);
  writeBufferTables(w, plan, code, types);
  w.writeLine(types ? JS_RUNTIME_TS : JS_RUNTIME).blankLine();
  w.writeLine(types ? GPU_RUNTIME_TS : GPU_RUNTIME_TEXT).blankLine();
  writeCreate(w, plan, types);
  return w.toString();
}

/** Code over the dims object D (literals when baked): sizes, shapes and functions of D. */
interface DimsCode {
  dimValue(name: string): number | null;
  size(e: IndexExpr): string;
  /** `(D) => body`, or `() => body` when the body does not read D. */
  fn(body: string): string;
  shape(dims: readonly string[]): string;
}

function dimsCode(plan: Plan): DimsCode {
  const baked = plan.options.dims;
  const dimValue = (name: string) => (baked ? baked[name]! : null);
  const dimCode = (name: string) => (baked ? String(baked[name]) : `D.${name}`);
  const size = (e: IndexExpr): string => {
    const f = foldIndex(e, dimValue);
    const print = (x: IndexExpr): string =>
      x.k === 'num' ? String(x.v) : x.k === 'dim' ? dimCode(x.name) : x.k === 'var' ? x.name : x.k === 'add' ? `(${print(x.a)} + ${print(x.b)})` : `${print(x.a)} * ${print(x.b)}`;
    return print(f);
  };
  const fn = (body: string) => `(${baked || !body.includes('D.') ? '' : 'D'}) => ${body}`;
  return { dimValue, size, fn, shape: (dims) => fn(`[${dims.map(dimCode).join(', ')}]`) };
}

/** HELPERS, KERNELS and SEGMENTS: the kernels' helper sources, the kernels, and what each segment runs. */
function writeKernelTables(w: CodeBlockWriter, set: GpuKernelSet, emitted: ReadonlyMap<string, EmittedKernel>, code: DimsCode, types: boolean): void {
  const { fn } = code;
  const helpers = [...new Set(set.kernels.flatMap((k) => emitted.get(k.id)!.helpers))].sort();
  w.writeLine('/** Helper functions kernels call (gpu.js translates them with the kernel). */');
  w.writeLine(`const ${typedName(types, 'HELPERS', ': Readonly<Record<string, string>>')} = {`);
  for (const h of helpers) w.writeLine(`  ${h}: \`${checkTemplate(GPU_HELPERS[h]!)}\`,`);
  w.writeLine('};').blankLine();

  w.writeLine('/** Kernels: the buffer each writes, entries per copy, whether it holds a copy per direction, its arguments. */');
  w.writeLine(`const ${typedName(types, 'KERNELS', ': Readonly<Record<string, KernelSpec>>')} = {`);
  for (const k of set.kernels) {
    const e = emitted.get(k.id)!;
    const loop = e.loops.length === 0 ? '0' : e.loops.length === 1 ? code.size(e.loops[0]!) : `Math.max(${[...new Set(e.loops.map(code.size))].join(', ')})`;
    w.writeLine(`  ${k.id}: {`);
    w.writeLine(`    writes: '${k.writes}', batched: ${k.batched}, size: ${fn(code.size(k.size))}, loop: ${fn(loop)},`);
    w.writeLine(`    params: ${list(k.params)}, helpers: ${list(e.helpers)},`);
    w.writeLine(`    source: \`${checkTemplate(e.source.split('\n').map((l, i) => (i === 0 ? l : `    ${l}`)).join('\n'))}\`,`);
    w.writeLine('  },');
  }
  w.writeLine('};').blankLine();

  w.writeLine('/** What each segment of one iteration runs, in order. */');
  w.writeLine(`const ${typedName(types, 'SEGMENTS', ': HostModule[\'SEGMENTS\']')} = {`);
  for (const [key, ids] of Object.entries(set.segments)) w.writeLine(`  ${key}: [${ids.map((id) => `'${id}'`).join(', ')}],`);
  w.writeLine('};').blankLine();
}

/** The entry points the GPU module offers (the partial Jacobians at a point and ℓ alone are the CPU module's). */
const GPU_ENTRIES: readonly EntryName[] = ['iterate', 'jvp', 'jacobianForward', 'vjp', 'jacobianReverse', 'hypergradient'];

/** SCHEDULE: the schedule the CPU module prints as its drivers, as data the host runtime runs. */
function writeSchedule(w: CodeBlockWriter, schedule: Schedule, types: boolean): void {
  w.writeLine('/** What each entry point runs, step by step, and the sweeps the entries share (compiler/schedule/). */');
  w.writeLine(`const ${typedName(types, 'SCHEDULE', ': HostSchedule')} = {`);
  w.writeLine('  procedures: {');
  // the host checks finiteness on the results only (reading back every step would stall the device): no sparse checks
  const dense = (steps: readonly Step[]): Step[] => steps.map((s) => (s.kind === 'iterations' ? (({ sparseChecks: _, ...rest }) => ({ ...rest, body: dense(rest.body) }))(s) : s));
  for (const [name, body] of Object.entries(schedule.procedures)) w.writeLine(`    ${name}: ${literal(dense(body))},`);
  w.writeLine('  },');
  w.writeLine('  entries: {');
  for (const e of schedule.entries.filter((e) => GPU_ENTRIES.includes(e.name))) w.writeLine(`    ${e.name}: ${literal(e)},`);
  w.writeLine('  },');
  w.writeLine('};').blankLine();
}

/** Schedule data as a JavaScript literal: its strings are the schedule's own words, never a user's. */
function literal(x: unknown): string {
  if (Array.isArray(x)) return `[${x.map(literal).join(', ')}]`;
  if (x !== null && typeof x === 'object') return `{ ${Object.entries(x).map(([k, v]) => `${k}: ${literal(v)}`).join(', ')} }`;
  return typeof x === 'string' ? `'${x}'` : String(x);
}

/** STATE, PARAMS, DATA and OUTER: the buffers of each variable and of the outer objective. */
function writeBufferTables(w: CodeBlockWriter, plan: Plan, code: DimsCode, types: boolean): void {
  const { fn } = code;
  const q = (s: string) => `'${s}'`;
  w.writeLine('/** Buffers of the state (iterate, next, tangent, adjoint), the params and the data. */');
  w.writeLine(`const ${typedName(types, 'STATE', ': readonly StateSpec[]')} = [`);
  for (const s of plan.state) {
    w.writeLine(`  { name: ${q(s.name)}, current: ${q(s.current)}, next: ${q(s.next)}, dot: ${q(s.dot)}, dotNext: ${q(s.dotNext)}, bar: ${q(s.bar)}, barNext: ${q(s.barNext)}, size: ${fn(code.size(sizeOf(s.dims)))}, shape: ${code.shape(s.dims)}${s.initialFrom ? `, initialFrom: ${q(s.initialFrom)}` : ''} },`);
  }
  w.writeLine('];');
  w.writeLine(`const ${typedName(types, 'PARAMS', ': readonly ParamSpec[]')} = [`);
  for (const p of plan.params) w.writeLine(`  { name: ${q(p.name)}, value: ${q(p.value)}, dot: ${q(p.dot)}, bar: ${q(p.bar)}, size: ${fn(code.size(sizeOf(p.dims)))}, shape: ${code.shape(p.dims)} },`);
  w.writeLine('];');
  w.writeLine(`const ${typedName(types, 'DATA', ': readonly DataSpec[]')} = [`);
  for (const d of plan.data) w.writeLine(`  { name: ${q(d.name)}, value: ${q(d.value)}, size: ${fn(code.size(sizeOf(d.dims)))}, shape: ${code.shape(d.dims)}, outer: ${d.outer} },`);
  w.writeLine('];');
  const outer = plan.outer;
  w.writeLine(`const ${typedName(types, 'OUTER', ': OuterSpec | null')} = ${outer ? `{ loss: ${q(outer.loss)}, stateGradient: [${outer.stateGradient.map(q).join(', ')}], paramGradient: [${outer.paramGradient.map(q).join(', ')}] }` : 'null'};`).blankLine();
}

/** create(gpu, dims, options): the dims checked (against the baked ones), then the runtime's instantiate. */
function writeCreate(w: CodeBlockWriter, plan: Plan, types: boolean): void {
  const baked = plan.options.dims;
  const t = (name: string, annotation: string) => typedName(types, name, annotation);
  w.writeLine('/** Instantiates the module on the app\'s gpu.js GPU: kernels are built on first use and reused. */');
  w.write(`export function create(${t('gpu', ': GPULike')}, ${t('dims', baked ? '?: Dims | null' : ': Dims')}, ${t('options', '?: Options')})${types ? ': Instance' : ''} `).block(() => {
    const names = plan.model.dims;
    if (baked) {
      if (names.length) w.writeLine(`// dims are baked in: ${names.map((d) => `${d} = ${baked[d]}`).join(', ')}`);
      w.write('if (dims !== undefined && dims !== null) ').block(() => {
        w.writeLine(`checkKeys(dims, ${list(names)}, 'dims');`);
        for (const d of names) w.writeLine(`if (dims.${d} !== undefined && dims.${d} !== ${baked[d]}) fail('data', 'this module was compiled for ${d} = ${baked[d]}, got ' + dims.${d});`);
      });
      w.writeLine(`const D = Object.freeze({ ${names.map((d) => `${d}: ${baked[d]}`).join(', ')} });`);
    } else {
      w.writeLine(`checkKeys(dims, ${list(names)}, 'dims');`);
      for (const d of names) w.writeLine(`if (!Number.isInteger(dims.${d}) || dims.${d} < 1) fail('data', 'dim ${d} must be a positive integer, got ' + dims.${d});`);
      w.writeLine(`const D = Object.freeze({ ${names.map((d) => `${d}: dims.${d}`).join(', ')} });`);
    }
    const tables = '{ K, T, BAKED, meta, HELPERS, KERNELS, SEGMENTS, SCHEDULE, STATE, PARAMS, DATA, OUTER, fail, checkKeys, toFlat, nonFinite, matrix }';
    if (!types) w.writeLine(`return instantiate(${tables}, gpu, D, options);`);
    else {
      // the boundary: GPULike (the public type) promises only that createKernel exists, the host
      // declares the part of gpu.js it calls (GpuLike); instantiate checks the instance and builds
      // the object of entry points that Instance describes
      w.writeLine(`return instantiate(${tables}, gpu as unknown as GpuLike, D, options) as Instance;`);
    }
  });
}

const list = (xs: readonly string[]) => `[${xs.map((x) => `'${x}'`).join(', ')}]`;

/** Text that goes inside a template literal must not end it or interpolate. */
function checkTemplate(text: string): string {
  if (/[`\\]|\$\{/.test(text)) throw new Error(`generated kernel text cannot sit in a template literal: ${text.slice(0, 80)}`);
  return text;
}

/** Baked dims: a buffer no WebGL texture can hold is an error at compile time. */
function checkCeiling(plan: Plan, set: GpuKernelSet, entries: (e: IndexExpr) => number) {
  const limit = TEXTURE_SIDE_CEILING * TEXTURE_SIDE_CEILING;
  const check = (what: string, n: number) => {
    if (n > limit) {
      throw new PhicError('usage', `the GPU backend cannot hold ${what}: ${n} float32 entries need a ${Math.ceil(Math.sqrt(n))}² texture, beyond the ${TEXTURE_SIDE_CEILING}×${TEXTURE_SIDE_CEILING} that the largest GPUs offer (use smaller dims or --backend cpu)`);
    }
  };
  for (const k of set.kernels) check(`${k.writes} (kernel ${k.id})`, entries(k.size));
  for (const v of [...plan.state, ...plan.params, ...plan.data]) check(v.name, entries(sizeOf(v.dims)));
}
