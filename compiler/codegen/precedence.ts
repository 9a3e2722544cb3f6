// The precedence table both emitters print with (JavaScript and gpu.js kernels share their
// operators), and the printing and constant folding of loop-IR index expressions.

import type { IndexExpr } from '../lower/loop-ir.js';

/** Precedence levels: higher binds tighter. */
export const enum Level {
  Sum = 1,
  Product = 2,
  Unary = 3,
  Atom = 4,
}

export interface Printed {
  readonly text: string;
  readonly level: Level;
}

/** `p` in parentheses when it binds more loosely than `min`. */
export const wrap = (p: Printed, min: Level) => (p.level < min ? `(${p.text})` : p.text);

export function printIndex(e: IndexExpr, p: { dim(name: string): string }): Printed {
  switch (e.k) {
    case 'num':
      return { text: String(e.v), level: Level.Atom };
    case 'var':
      return { text: e.name, level: Level.Atom };
    case 'dim':
      return { text: p.dim(e.name), level: Level.Atom };
    case 'add':
      return { text: `${wrap(printIndex(e.a, p), Level.Sum)} + ${wrap(printIndex(e.b, p), Level.Sum)}`, level: Level.Sum };
    case 'mul':
      return { text: `${wrap(printIndex(e.a, p), Level.Product)} * ${wrap(printIndex(e.b, p), Level.Product)}`, level: Level.Product };
  }
}

/** Folds constant index arithmetic when dims are baked (`i * 40 + j`, `0 * 40` -> `0`). */
export function foldIndex(e: IndexExpr, dimValue: (name: string) => number | null): IndexExpr {
  if (e.k === 'dim') {
    const v = dimValue(e.name);
    return v === null ? e : { k: 'num', v };
  }
  if (e.k === 'add' || e.k === 'mul') {
    const a = foldIndex(e.a, dimValue);
    const b = foldIndex(e.b, dimValue);
    if (a.k === 'num' && b.k === 'num') return { k: 'num', v: e.k === 'add' ? a.v + b.v : a.v * b.v };
    if (e.k === 'add' && a.k === 'num' && a.v === 0) return b;
    if (e.k === 'add' && b.k === 'num' && b.v === 0) return a;
    if (e.k === 'mul' && ((a.k === 'num' && a.v === 0) || (b.k === 'num' && b.v === 0))) return { k: 'num', v: 0 };
    if (e.k === 'mul' && a.k === 'num' && a.v === 1) return b;
    if (e.k === 'mul' && b.k === 'num' && b.v === 1) return a;
    return { k: e.k, a, b };
  }
  return e;
}

/** An index expression as code: constants folded, a baked dim as its number, else its identifier. */
export function indexCode(e: IndexExpr, dimValue: (name: string) => number | null, dimName: (name: string) => string): string {
  return printIndex(foldIndex(e, dimValue), { dim: (d) => String(dimValue(d) ?? dimName(d)) }).text;
}
