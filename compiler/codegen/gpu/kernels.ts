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

import { PhicError } from '../../errors.js';
import { walk, writesOf, type IndexExpr, type ScalarExpr, type Segment, type Stmt } from '../../lower/loop-ir.js';

export type ForStmt = Extract<Stmt, { kind: 'for' }>;
export type StoreStmt = Extract<Stmt, { kind: 'store' }>;

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

export function unsupportedStructure(segment: string, what: string): PhicError {
  return new PhicError('spec', `the GPU backend cannot express segment '${segment}': ${what} (use --backend cpu for this spec)`);
}

// ---- small walkers over the loop IR ----

function scalarLoads(e: ScalarExpr, out: Set<string>) {
  if (e.kind === 'load') out.add(e.buffer);
  else if (e.kind === 'call') e.args.forEach((a) => scalarLoads(a, out));
}

function scalarLocals(e: ScalarExpr, out: Set<string>) {
  if (e.kind === 'local') out.add(e.name);
  else if (e.kind === 'call') e.args.forEach((a) => scalarLocals(a, out));
}


const valueOf = (s: Stmt): ScalarExpr | null => (s.kind === 'let' || s.kind === 'add-to-local' || s.kind === 'store' ? s.value : null);

function updatedLocals(stmts: readonly Stmt[]): Set<string> {
  const out = new Set<string>();
  walk(stmts, (s) => {
    if (s.kind === 'add-to-local') out.add(s.name);
  });
  return out;
}

const sameIndex = (a: IndexExpr, b: IndexExpr) => JSON.stringify(a) === JSON.stringify(b);

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

/** Buffers an expression reads, looking through inlined scalars. */
export function loadsThrough(e: ScalarExpr, inline: ReadonlyMap<string, ScalarExpr>, scalars: ReadonlySet<string>, out = new Set<string>()): Set<string> {
  scalarLoads(e, out);
  const locals = new Set<string>();
  scalarLocals(e, locals);
  for (const l of locals) {
    const v = inline.get(l);
    if (v) loadsThrough(v, inline, scalars, out);
    else if (scalars.has(l)) out.add(l);
  }
  return out;
}

/**
 * The statements of `stmts` that targets depend on: the targets, the locals they read
 * (transitively), and the loops around those. `outside` locals are resolved elsewhere.
 */
function slice(stmts: readonly Stmt[], isTarget: (s: Stmt) => boolean, outside: ReadonlySet<string>): Stmt[] {
  const all: Stmt[] = [];
  walk(stmts, (s) => all.push(s));
  const needed = new Set<string>();
  const need = (e: ScalarExpr | null) => {
    if (!e) return false;
    const ls = new Set<string>();
    scalarLocals(e, ls);
    let grew = false;
    for (const l of ls) {
      if (!outside.has(l) && !needed.has(l)) {
        needed.add(l);
        grew = true;
      }
    }
    return grew;
  };
  for (const s of all) if (isTarget(s)) need(valueOf(s));
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of all) if ((s.kind === 'let' || s.kind === 'add-to-local') && needed.has(s.name) && need(s.value)) changed = true;
  }
  const live = (list: readonly Stmt[]): boolean => list.some((s) => isTarget(s) || s.kind === 'add-to-local' || (s.kind === 'for' && live(s.body)));
  const filter = (list: readonly Stmt[]): Stmt[] =>
    list.flatMap((s): Stmt[] => {
      if (isTarget(s)) return [s];
      if (s.kind === 'let' || s.kind === 'add-to-local') return needed.has(s.name) ? [s] : [];
      if (s.kind === 'for') {
        const body = filter(s.body);
        return live(body) ? [{ ...s, body }] : [];
      }
      return [];
    });
  return filter(stmts);
}

function pathTo(stmts: readonly Stmt[], target: Stmt, path: ForStmt[] = []): ForStmt[] | null {
  for (const s of stmts) {
    if (s === target) return path;
    if (s.kind === 'for') {
      const p = pathTo(s.body, target, [...path, s]);
      if (p) return p;
    }
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

/** Pre-order positions of statements, to order kernels and check read-after-write within a nest. */
function positions(stmts: readonly Stmt[]): Map<Stmt, number> {
  const pos = new Map<Stmt, number>();
  walk(stmts, (s) => pos.set(s, pos.size));
  return pos;
}

/** Checks that splitting `nest` keeps every read of a buffer stored in the same nest meaning the same value. */
function checkNestReads(segment: string, nest: readonly Stmt[], readerEnd: number, readerStmts: readonly Stmt[], pos: Map<Stmt, number>) {
  const stores: StoreStmt[] = [];
  walk(nest, (s) => {
    if (s.kind === 'store') stores.push(s);
  });
  walk(readerStmts, (s) => {
    const v = valueOf(s);
    if (!v) return;
    const at = pos.get(s) ?? readerEnd;
    const loads: { buffer: string; index: IndexExpr }[] = [];
    const collect = (e: ScalarExpr) => {
      if (e.kind === 'load') loads.push({ buffer: e.buffer, index: e.index });
      else if (e.kind === 'call') e.args.forEach(collect);
    };
    collect(v);
    for (const l of loads) {
      for (const st of stores) {
        if (st.buffer !== l.buffer || st === s) continue;
        const p = pos.get(st)!;
        // A store later in the nest runs as a later kernel: the read sees the old value, as in the loop.
        if (p > readerEnd) continue;
        // A store earlier in the nest: only a read of the entry this iteration stored means the same.
        if (!(p < at && sameIndex(st.index, l.index))) {
          throw unsupportedStructure(segment, `a loop both writes ${l.buffer} and reads it at another index or before writing it`);
        }
      }
    }
  });
}

/** Splits a segment into kernels, in the order they must run. */
export function kernelizeSegment(seg: Segment, ctx: KernelizeContext, ids: Map<string, number>): GpuKernel[] {
  const body = seg.body.filter((s) => s.kind !== 'comment');
  const kernels: GpuKernel[] = [];
  const inits = new Map<string, ScalarExpr>();
  const lastUpdate = new Map<string, number>();
  body.forEach((st, k) => {
    if (st.kind === 'let' && st.mutable) inits.set(st.name, st.value);
    // Locals declared inside a loop nest are updated there and stay inside its kernels.
    for (const name of updatedLocals([st])) if (inits.has(name)) lastUpdate.set(name, k);
  });
  const topLevel = new Set(body.flatMap((s) => (s.kind === 'let' ? [s.name] : [])));
  const writesAfter = (k: number) => new Set(body.slice(k + 1).flatMap((s) => [...writesOf([s])]));
  const complete = new Set<string>();

  const finish = (k: Omit<GpuKernel, 'batched' | 'params' | 'id' | 'batchedParams'>, reads: Set<string>): GpuKernel => {
    for (const r of reads) {
      if (topLevel.has(r) && !complete.has(r) && !ctx.inline.has(r) && !ctx.scalars.has(r)) {
        throw unsupportedStructure(seg.name, `the scalar ${r} is read before it is complete`);
      }
    }
    const params = [...reads].filter((r) => !ctx.inline.has(r));
    if (k.prev && !params.includes(k.writes)) params.push(k.writes);
    params.sort();
    const batchedParams = new Set(params.filter((p) => ctx.batched.has(p)));
    const batched = ctx.batched.has(k.writes) || batchedParams.size > 0;
    if (batched) ctx.batched.add(k.writes);
    const kernel: GpuKernel = { ...k, id: '', batched, params, batchedParams };
    kernels.push(kernel);
    return kernel;
  };
  /** Buffers and scalars a kernel body reads (inlined scalars looked through). */
  const readsOf = (stmts: readonly Stmt[], extra: ScalarExpr[] = []) => {
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
      for (const l of ls) if (topLevel.has(l) && !ctx.inline.has(l)) out.add(l);
    }
    return out;
  };

  body.forEach((st, k) => {
    if (st.kind === 'let' && (!st.mutable || !lastUpdate.has(st.name))) {
      const reads = loadsThrough(st.value, ctx.inline, ctx.scalars);
      const later = writesAfter(k);
      if ([...reads].some((r) => later.has(r))) {
        ctx.scalars.add(st.name);
        finish({ segment: seg.name, writes: st.name, size: { k: 'num', v: 1 }, prev: false, body: { kind: 'value', value: st.value } }, readsOf([], [st.value]));
      } else {
        ctx.inline.set(st.name, st.value);
      }
      complete.add(st.name);
    } else if (st.kind === 'store') {
      if (!(st.index.k === 'num' && st.index.v === 0)) throw unsupportedStructure(seg.name, `a store into ${st.buffer} outside any loop`);
      const size = ctx.size(st.buffer);
      if (size && factors(size)?.length !== 0) {
        // The lowering writes a zero gradient as `g[0] = 0` into a buffer that starts (and
        // stays) all zeros on the CPU; here a buffer has no contents before a kernel writes
        // it, so the whole buffer is filled.
        if (st.accumulate || st.value.kind !== 'num' || st.value.value !== 0) throw unsupportedStructure(seg.name, `a single store into the non-scalar buffer ${st.buffer}`);
        finish({ segment: seg.name, writes: st.buffer, size, prev: false, body: { kind: 'value', value: st.value } }, new Set());
      } else finish({ segment: seg.name, writes: st.buffer, size: { k: 'num', v: 1 }, prev: st.accumulate, body: { kind: 'value', value: st.value } }, readsOf([st]));
    } else if (st.kind === 'for') {
      const pos = positions([st]);
      const targets: StoreStmt[] = [];
      walk([st], (s) => {
        if (s.kind === 'store') targets.push(s);
      });
      const stored = targets.map((t) => t.buffer);
      if (new Set(stored).size !== stored.length) throw unsupportedStructure(seg.name, `one loop nest stores into ${stored.find((b, i) => stored.indexOf(b) !== i)} twice`);
      for (const target of targets) {
        const stmts = slice([st], (s) => s === target, topLevel);
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
        finish({ segment: seg.name, writes: target.buffer, size, prev: target.accumulate, body: { kind: 'store', outVars, stmts, target, reduction } }, readsOf(stmts));
      }
    } else if (st.kind === 'add-to-local') {
      // A top-level accumulation: part of its scalar's kernel, made at its last update.
    }
    for (const [local, last] of lastUpdate) {
      if (last !== k) continue;
      const isTarget = (s: Stmt) => s.kind === 'add-to-local' && s.name === local;
      const parts: Stmt[] = [];
      body.slice(0, k + 1).forEach((s, j) => {
        if (!updatedLocals([s]).has(local)) return;
        const later = new Set(body.slice(j + 1, k).flatMap((t) => [...writesOf([t])]));
        const sliced = slice([s], isTarget, new Set([...topLevel].filter((l) => l !== local)));
        for (const r of readsOf(sliced)) if (later.has(r)) throw unsupportedStructure(seg.name, `${r} is rewritten while ${local} is being summed`);
        if (s.kind === 'for') checkNestReads(seg.name, [s], Number.POSITIVE_INFINITY, sliced, positions([s]));
        parts.push(...sliced);
      });
      ctx.scalars.add(local);
      const init = inits.get(local)!;
      const reads = readsOf(parts, [init]);
      reads.delete(local);
      complete.add(local);
      finish({ segment: seg.name, writes: local, size: { k: 'num', v: 1 }, prev: false, body: { kind: 'scalar', local, init, stmts: parts } }, reads);
    }
  });
  const merged = mergeZeroFills(kernels);
  for (const k of merged) {
    const base = `${seg.name}_${k.writes}`;
    const n = (ids.get(base) ?? 0) + 1;
    ids.set(base, n);
    k.id = n === 1 ? base : `${base}_${n}`;
  }
  return merged;
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
