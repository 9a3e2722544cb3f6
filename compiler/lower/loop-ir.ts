// The loop IR: scalar index arithmetic over flat Float64 buffers, shared by every backend.
// A segment is a straight-line list of statements (loops, locals, stores) that one step of
// the algorithm runs; buffers are declared once per module instance and never allocated in
// a segment. Batched buffers hold one copy per direction and are indexed from an offset.

import type { NameScope } from '../names.js';

export type IndexExpr =
  | { readonly k: 'num'; readonly v: number }
  | { readonly k: 'var'; readonly name: string }
  | { readonly k: 'dim'; readonly name: string }
  | { readonly k: 'add'; readonly a: IndexExpr; readonly b: IndexExpr }
  | { readonly k: 'mul'; readonly a: IndexExpr; readonly b: IndexExpr };

export type ScalarExpr =
  | { readonly kind: 'num'; readonly value: number }
  | { readonly kind: 'load'; readonly buffer: string; readonly index: IndexExpr }
  | { readonly kind: 'local'; readonly name: string }
  /** An elementwise op from the registry, by name. */
  | { readonly kind: 'call'; readonly op: string; readonly args: readonly ScalarExpr[] };

export type Stmt =
  | { readonly kind: 'for'; readonly index: string; readonly extent: IndexExpr; readonly body: readonly Stmt[] }
  | { readonly kind: 'let'; readonly name: string; readonly value: ScalarExpr; readonly mutable: boolean }
  | { readonly kind: 'add-to-local'; readonly name: string; readonly value: ScalarExpr }
  | { readonly kind: 'store'; readonly buffer: string; readonly index: IndexExpr; readonly value: ScalarExpr; readonly accumulate: boolean }
  | { readonly kind: 'comment'; readonly text: string };

export interface BufferDecl {
  readonly name: string;
  /** Entries per copy, as dims. Empty for a scalar (one entry). */
  readonly dims: readonly string[];
  /** Batched buffers hold one copy per direction; the copy count is chosen at run time. */
  readonly batched: boolean;
}

export interface Segment {
  readonly name: string;
  /** The scope of the segment's locals (loop indices, accumulators, the batch index): a child of the module scope. */
  readonly scope: NameScope;
  /** The batch index's name (the direction a batched segment works on). */
  readonly batchIndex: string;
  /** Loop indices by nesting depth; a loop the emitter adds at the top of the body may use the first. */
  readonly loopNames: readonly string[];
  /** What the segment computes, one line. */
  readonly doc: string;
  readonly body: readonly Stmt[];
  /** Batched buffers the segment touches (it then takes the batch index as a parameter). */
  readonly batched: readonly string[];
}

export const num = (v: number): IndexExpr => ({ k: 'num', v });
export const ivar = (name: string): IndexExpr => ({ k: 'var', name });
export const dim = (name: string): IndexExpr => ({ k: 'dim', name });
export function iadd(a: IndexExpr, b: IndexExpr): IndexExpr {
  if (a.k === 'num' && a.v === 0) return b;
  if (b.k === 'num' && b.v === 0) return a;
  return { k: 'add', a, b };
}
export function imul(a: IndexExpr, b: IndexExpr): IndexExpr {
  if (a.k === 'num' && a.v === 1) return b;
  if (b.k === 'num' && b.v === 1) return a;
  if ((a.k === 'num' && a.v === 0) || (b.k === 'num' && b.v === 0)) return num(0);
  return { k: 'mul', a, b };
}
/** Structural equality of two index expressions. */
export const sameIndex = (a: IndexExpr, b: IndexExpr): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Visits every statement of a block, nested loops' bodies included, in order. */
export function walk(stmts: readonly Stmt[], visit: (s: Stmt) => void) {
  for (const s of stmts) {
    visit(s);
    if (s.kind === 'for') walk(s.body, visit);
  }
}

/** Buffers the statements store into. */
export function writesOf(stmts: readonly Stmt[]): Set<string> {
  const out = new Set<string>();
  walk(stmts, (s) => {
    if (s.kind === 'store') out.add(s.buffer);
  });
  return out;
}

/** Number of entries of a buffer with these dims. */
export const sizeOf = (dims: readonly string[]): IndexExpr => dims.map(dim).reduce(imul, num(1));
