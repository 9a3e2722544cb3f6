// Loop-IR segment -> gpu.js kernels. A kernel computes one buffer, one entry per thread, so
// each top-level loop nest is split into one kernel per buffer it stores (program slicing:
// a kernel keeps only the statements its store depends on). The loops over the stored index
// become the thread index; other loops stay loops. A store that adds into an index inside a
// loop not over that index (Aᵀv in axpy form, matmul in k-i-j order) is turned into a
// gather: the thread owns the output entry and the loop accumulates into a local. A fill
// with zeros followed by such an accumulation becomes one kernel.
//
// Scalars computed at the top level of a segment: sums and dots (`s := 0; ... s += ...`)
// become kernels with a 1-entry output (one entry per direction when batched) that later
// kernels read; plain scalar `let`s are inlined into the kernels that use them (they are a
// few flops), unless a buffer they read is rewritten later in the segment.
//
// Batching: buffers holding one copy per direction (tangents, adjoints) are computed for all
// directions in one launch; a kernel that reads such a buffer is batched, and so is what it
// writes. Assumes locals are uniquely named (the lowering allocates them fresh).

import { walk, writesOf, type IndexExpr, type ScalarExpr, type Segment, type Stmt } from '../../lower/loop-ir.js';
import {
  checkNestReads, loadsThrough, pathTo, positions, sameIndex, scalarLoads, scalarLocals, slice, unsupportedStructure, updatedLocals, valueOf, type ForStmt, type StoreStmt,
} from './kernel-slice.js';

export type { ForStmt, StoreStmt };

export interface OutVar {
  readonly name: string;
  readonly extent: IndexExpr;
}

export type KernelBody =
  /** A store target inside a loop nest: `outVars` come from the thread index. */
  | { readonly kind: 'store'; readonly outVars: readonly OutVar[]; readonly stmts: readonly Stmt[]; readonly target: StoreStmt; readonly reduction: boolean }
  /** A top-level scalar reduction: `let local = init`, then the sliced statements. */
  | { readonly kind: 'scalar'; readonly local: string; readonly init: ScalarExpr; readonly stmts: readonly Stmt[] }
  /** A single value (a top-level store of a scalar, or a scalar `let` that must be kept). */
  | { readonly kind: 'value'; readonly value: ScalarExpr };

export interface GpuKernel {
  /** Unique within the module: `<segment>_<buffer>`. */
  id: string;
  readonly segment: string;
  /** The buffer (or top-level scalar) written: a new version of it. */
  readonly writes: string;
  /** One copy per direction: `count × size` entries. */
  readonly batched: boolean;
  /** Entries per copy. */
  readonly size: IndexExpr;
  /** The result adds onto the previous contents of `writes` (which is then a parameter). */
  prev: boolean;
  readonly body: KernelBody;
  /** Buffers read, in parameter order (sorted). */
  params: string[];
  /** The parameters that held one copy per direction when the kernel was made. */
  readonly batchedParams: ReadonlySet<string>;
}

export interface KernelizeContext {
  /** Entries per copy of a buffer, when known. */
  size(buffer: string): IndexExpr | undefined;
  /** Buffers with one copy per direction (grows as batched kernels are made). */
  readonly batched: Set<string>;
  /** Top-level scalars held in 1-entry buffers. */
  readonly scalars: Set<string>;
  /** Top-level scalar lets inlined into consumers. */
  readonly inline: Map<string, ScalarExpr>;
}

/** Dims and numbers multiplied in a size expression, sorted, or null when it is not a product. */
function factors(e: IndexExpr): string[] | null {
  if (e.k === 'num') return e.v === 1 ? [] : [String(e.v)];
  if (e.k === 'dim') return [e.name];
  if (e.k === 'mul') {
    const a = factors(e.a);
    const b = factors(e.b);
    return a && b ? [...a, ...b].sort() : null;
  }
  return null;
}

/** The loops whose variables make up a store's index, outermost first, for row-major indices. */
function outputVars(segment: string, st: StoreStmt, path: readonly ForStmt[]): OutVar[] {
  const ext = (v: string) => path.find((f) => f.index === v)?.extent;
  const ix = st.index;
  if (ix.k === 'num' && ix.v === 0) return [];
  if (ix.k === 'var') {
    const e = ext(ix.name);
    if (e) return [{ name: ix.name, extent: e }];
  }
  if (ix.k === 'add' && ix.a.k === 'mul' && ix.a.a.k === 'var' && ix.b.k === 'var') {
    const [a, b] = [ix.a.a.name, ix.b.name];
    const [ea, eb] = [ext(a), ext(b)];
    if (ea && eb && sameIndex(eb, ix.a.b)) return [{ name: a, extent: ea }, { name: b, extent: eb }];
  }
  throw unsupportedStructure(segment, `the store into ${st.buffer} has an index that is not a row-major loop index (${JSON.stringify(ix)})`);
}

function product(vars: readonly OutVar[]): IndexExpr {
  return vars.reduce<IndexExpr>((p, v) => (p.k === 'num' && p.v === 1 ? v.extent : { k: 'mul', a: p, b: v.extent }), { k: 'num', v: 1 });
}

/** What kernelizeSegment knows of the segment while it splits it. */
interface SegmentState {
  readonly seg: Segment;
  readonly ctx: KernelizeContext;
  /** The segment's statements, comments left out. */
  readonly body: readonly Stmt[];
  /** Kernels made so far, in run order. */
  readonly kernels: GpuKernel[];
  /** Initial values of the top-level mutable scalars. */
  readonly inits: ReadonlyMap<string, ScalarExpr>;
  /** The top-level statement that last updates each top-level mutable scalar. */
  readonly lastUpdate: ReadonlyMap<string, number>;
  /** Locals declared at the top level of the segment. */
  readonly topLevel: ReadonlySet<string>;
  /** Top-level scalars whose value is final. */
  readonly complete: Set<string>;
}

type KernelParts = Omit<GpuKernel, 'batched' | 'params' | 'id' | 'batchedParams'>;

/** Splits a segment into kernels, in the order they must run. */
export function kernelizeSegment(seg: Segment, ctx: KernelizeContext, ids: Map<string, number>): GpuKernel[] {
  const body = seg.body.filter((s) => s.kind !== 'comment');
  const inits = new Map<string, ScalarExpr>();
  const lastUpdate = new Map<string, number>();
  body.forEach((st, k) => {
    if (st.kind === 'let' && st.mutable) inits.set(st.name, st.value);
    // Locals declared inside a loop nest are updated there and stay inside its kernels.
    for (const name of updatedLocals([st])) if (inits.has(name)) lastUpdate.set(name, k);
  });
  const topLevel = new Set(body.flatMap((s) => (s.kind === 'let' ? [s.name] : [])));
  const state: SegmentState = { seg, ctx, body, kernels: [], inits, lastUpdate, topLevel, complete: new Set() };
  body.forEach((st, k) => {
    if (st.kind === 'let' && (!st.mutable || !lastUpdate.has(st.name))) kernelizeLet(state, st, k);
    else if (st.kind === 'store') kernelizeTopStore(state, st);
    else if (st.kind === 'for') kernelizeNest(state, st);
    // A top-level accumulation (add-to-local) is part of its scalar's kernel, made at its last update.
    for (const [local, last] of lastUpdate) if (last === k) kernelizeSum(state, local, k);
  });
  const merged = mergeZeroFills(state.kernels);
  for (const k of merged) {
    const base = `${seg.name}_${k.writes}`;
    const n = (ids.get(base) ?? 0) + 1;
    ids.set(base, n);
    k.id = n === 1 ? base : `${base}_${n}`;
  }
  return merged;
}

/** Adds a kernel: its parameters are what it reads (inlined scalars left out), batched when any of them is. */
function finishKernel(state: SegmentState, k: KernelParts, reads: Set<string>): GpuKernel {
  const { ctx } = state;
  for (const r of reads) {
    if (state.topLevel.has(r) && !state.complete.has(r) && !ctx.inline.has(r) && !ctx.scalars.has(r)) {
      throw unsupportedStructure(state.seg.name, `the scalar ${r} is read before it is complete`);
    }
  }
  const params = [...reads].filter((r) => !ctx.inline.has(r));
  if (k.prev && !params.includes(k.writes)) params.push(k.writes);
  params.sort();
  const batchedParams = new Set(params.filter((p) => ctx.batched.has(p)));
  const batched = ctx.batched.has(k.writes) || batchedParams.size > 0;
  if (batched) ctx.batched.add(k.writes);
  const kernel: GpuKernel = { ...k, id: '', batched, params, batchedParams };
  state.kernels.push(kernel);
  return kernel;
}

/** Buffers and scalars a kernel body reads (inlined scalars looked through). */
function readsOf(state: SegmentState, stmts: readonly Stmt[], extra: ScalarExpr[] = []): Set<string> {
  const { ctx } = state;
  const out = new Set<string>();
  const exprs = [...extra];
  walk(stmts, (s) => {
    const v = valueOf(s);
    if (v) exprs.push(v);
  });
  for (const e of exprs) {
    loadsThrough(e, ctx.inline, ctx.scalars, out);
    const ls = new Set<string>();
    scalarLocals(e, ls);
    for (const l of ls) if (state.topLevel.has(l) && !ctx.inline.has(l)) out.add(l);
  }
  return out;
}

/** A top-level scalar `let`: inlined into its readers, or a 1-entry kernel when a buffer it reads is rewritten later. */
function kernelizeLet(state: SegmentState, st: Extract<Stmt, { kind: 'let' }>, k: number): void {
  const { seg, ctx, body } = state;
  const reads = loadsThrough(st.value, ctx.inline, ctx.scalars);
  const later = new Set(body.slice(k + 1).flatMap((s) => [...writesOf([s])]));
  if ([...reads].some((r) => later.has(r))) {
    ctx.scalars.add(st.name);
    finishKernel(state, { segment: seg.name, writes: st.name, size: { k: 'num', v: 1 }, prev: false, body: { kind: 'value', value: st.value } }, readsOf(state, [], [st.value]));
  } else {
    ctx.inline.set(st.name, st.value);
  }
  state.complete.add(st.name);
}

/** A store outside any loop: a scalar buffer's value, or a zero fill of a whole buffer. */
function kernelizeTopStore(state: SegmentState, st: StoreStmt): void {
  const { seg, ctx } = state;
  if (!(st.index.k === 'num' && st.index.v === 0)) throw unsupportedStructure(seg.name, `a store into ${st.buffer} outside any loop`);
  const size = ctx.size(st.buffer);
  if (size && factors(size)?.length !== 0) {
    // The lowering writes a zero gradient as `g[0] = 0` into a buffer that starts (and
    // stays) all zeros on the CPU; here a buffer has no contents before a kernel writes
    // it, so the whole buffer is filled.
    if (st.accumulate || st.value.kind !== 'num' || st.value.value !== 0) throw unsupportedStructure(seg.name, `a single store into the non-scalar buffer ${st.buffer}`);
    finishKernel(state, { segment: seg.name, writes: st.buffer, size, prev: false, body: { kind: 'value', value: st.value } }, new Set());
  } else finishKernel(state, { segment: seg.name, writes: st.buffer, size: { k: 'num', v: 1 }, prev: st.accumulate, body: { kind: 'value', value: st.value } }, readsOf(state, [st]));
}

/** A top-level loop nest: one kernel per buffer it stores, each with the statements that store depends on. */
function kernelizeNest(state: SegmentState, st: ForStmt): void {
  const { seg, ctx } = state;
  const pos = positions([st]);
  const targets: StoreStmt[] = [];
  walk([st], (s) => {
    if (s.kind === 'store') targets.push(s);
  });
  const stored = targets.map((t) => t.buffer);
  if (new Set(stored).size !== stored.length) throw unsupportedStructure(seg.name, `one loop nest stores into ${stored.find((b, i) => stored.indexOf(b) !== i)} twice`);
  for (const target of targets) {
    const stmts = slice([st], (s) => s === target, state.topLevel);
    const path = pathTo(stmts, target)!;
    const outVars = outputVars(seg.name, target, path);
    const reduction = path.some((f) => !outVars.some((v) => v.name === f.index));
    if (reduction && !target.accumulate) throw unsupportedStructure(seg.name, `the store into ${target.buffer} overwrites inside a loop over another index`);
    const size = product(outVars);
    const declared = ctx.size(target.buffer);
    if (declared && JSON.stringify(factors(declared)) !== JSON.stringify(factors(size))) {
      throw unsupportedStructure(seg.name, `a loop nest writes only part of ${target.buffer}`);
    }
    checkNestReads(seg.name, [st], pos.get(target)!, stmts, pos);
    finishKernel(state, { segment: seg.name, writes: target.buffer, size, prev: target.accumulate, body: { kind: 'store', outVars, stmts, target, reduction } }, readsOf(state, stmts));
  }
}

/** A top-level sum or dot (`s := 0; ... s += ...`), at its last update: one kernel with every statement that adds to it. */
function kernelizeSum(state: SegmentState, local: string, k: number): void {
  const { seg, ctx, body } = state;
  const isTarget = (s: Stmt) => s.kind === 'add-to-local' && s.name === local;
  const parts: Stmt[] = [];
  body.slice(0, k + 1).forEach((s, j) => {
    if (!updatedLocals([s]).has(local)) return;
    const later = new Set(body.slice(j + 1, k).flatMap((t) => [...writesOf([t])]));
    const sliced = slice([s], isTarget, new Set([...state.topLevel].filter((l) => l !== local)));
    for (const r of readsOf(state, sliced)) if (later.has(r)) throw unsupportedStructure(seg.name, `${r} is rewritten while ${local} is being summed`);
    if (s.kind === 'for') checkNestReads(seg.name, [s], Number.POSITIVE_INFINITY, sliced, positions([s]));
    parts.push(...sliced);
  });
  ctx.scalars.add(local);
  const init = state.inits.get(local)!;
  const reads = readsOf(state, parts, [init]);
  reads.delete(local);
  state.complete.add(local);
  finishKernel(state, { segment: seg.name, writes: local, size: { k: 'num', v: 1 }, prev: false, body: { kind: 'scalar', local, init, stmts: parts } }, reads);
}

/** A fill with zeros followed by an accumulation into the same buffer becomes the accumulation alone. */
function mergeZeroFills(kernels: GpuKernel[]): GpuKernel[] {
  const dropped = new Set<GpuKernel>();
  kernels.forEach((fill, i) => {
    const b = fill.body;
    if (fill.prev || b.kind !== 'store' || b.reduction || b.target.value.kind !== 'num' || b.target.value.value !== 0) return;
    for (let j = i + 1; j < kernels.length; j++) {
      const next = kernels[j]!;
      if (next.writes === fill.writes) {
        if (next.prev) {
          dropped.add(fill);
          next.prev = false;
          next.params = next.params.filter((p) => p !== fill.writes || readsOwn(next));
        }
        return;
      }
      if (next.params.includes(fill.writes)) return;
    }
  });
  return kernels.filter((k) => !dropped.has(k));
}

/** Whether a kernel reads its own buffer other than as the accumulation's previous value. */
function readsOwn(k: GpuKernel): boolean {
  const out = new Set<string>();
  if (k.body.kind === 'value') scalarLoads(k.body.value, out);
  else walk(k.body.stmts, (s) => {
    const v = valueOf(s);
    if (v) scalarLoads(v, out);
  });
  return out.has(k.writes);
}
