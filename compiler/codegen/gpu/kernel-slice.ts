// Program slicing over the loop IR, for splitting a loop nest into kernels: the statements a
// store or a sum depends on, the buffers and locals an expression reads, and the check that a
// split nest still reads what the loop read.

import { PhicError } from '../../errors.js';
import { walk, type IndexExpr, type ScalarExpr, type Stmt } from '../../lower/loop-ir.js';

export type ForStmt = Extract<Stmt, { kind: 'for' }>;
export type StoreStmt = Extract<Stmt, { kind: 'store' }>;

/** The error for a loop structure no set of gpu.js kernels computes. */
export function unsupportedStructure(segment: string, what: string): PhicError {
  return new PhicError('spec', `the GPU backend cannot express segment '${segment}': ${what} (use --backend cpu for this spec)`);
}

export function scalarLoads(e: ScalarExpr, out: Set<string>) {
  if (e.kind === 'load') out.add(e.buffer);
  else if (e.kind === 'call') e.args.forEach((a) => scalarLoads(a, out));
}

export function scalarLocals(e: ScalarExpr, out: Set<string>) {
  if (e.kind === 'local') out.add(e.name);
  else if (e.kind === 'call') e.args.forEach((a) => scalarLocals(a, out));
}

export const valueOf = (s: Stmt): ScalarExpr | null => (s.kind === 'let' || s.kind === 'add-to-local' || s.kind === 'store' ? s.value : null);

export function updatedLocals(stmts: readonly Stmt[]): Set<string> {
  const out = new Set<string>();
  walk(stmts, (s) => {
    if (s.kind === 'add-to-local') out.add(s.name);
  });
  return out;
}

export const sameIndex = (a: IndexExpr, b: IndexExpr) => JSON.stringify(a) === JSON.stringify(b);

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
export function slice(stmts: readonly Stmt[], isTarget: (s: Stmt) => boolean, outside: ReadonlySet<string>): Stmt[] {
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

/** The loops around `target` in `stmts`, outermost first, or null when it is not there. */
export function pathTo(stmts: readonly Stmt[], target: Stmt, path: ForStmt[] = []): ForStmt[] | null {
  for (const s of stmts) {
    if (s === target) return path;
    if (s.kind === 'for') {
      const p = pathTo(s.body, target, [...path, s]);
      if (p) return p;
    }
  }
  return null;
}

/** Pre-order positions of statements, to order kernels and check read-after-write within a nest. */
export function positions(stmts: readonly Stmt[]): Map<Stmt, number> {
  const pos = new Map<Stmt, number>();
  walk(stmts, (s) => pos.set(s, pos.size));
  return pos;
}

/** Checks that splitting `nest` keeps every read of a buffer stored in the same nest meaning the same value. */
export function checkNestReads(segment: string, nest: readonly Stmt[], readerEnd: number, readerStmts: readonly Stmt[], pos: Map<Stmt, number>) {
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
