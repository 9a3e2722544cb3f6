// The precedence table both emitters print with (JavaScript and gpu.js kernels share their
// operators), and the printing and constant folding of loop-IR index expressions.

import { foldIndex, type IndexExpr } from '../lower/loop-ir.js';

export { foldIndex };

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
  /** A comparison's boolean form (`a < b`), which a conditional tests instead of `text !== 0`. */
  readonly test?: string;
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
      // a + (-1)·b prints as a - b
      if (e.b.k === 'mul' && e.b.a.k === 'num' && e.b.a.v === -1) return { text: `${wrap(printIndex(e.a, p), Level.Sum)} - ${wrap(printIndex(e.b.b, p), Level.Product)}`, level: Level.Sum };
      return { text: `${wrap(printIndex(e.a, p), Level.Sum)} + ${wrap(printIndex(e.b, p), Level.Sum)}`, level: Level.Sum };
    case 'mul':
      return { text: `${wrap(printIndex(e.a, p), Level.Product)} * ${wrap(printIndex(e.b, p), Level.Product)}`, level: Level.Product };
  }
}

/** An index expression as code: constants folded, a baked dim as its number, else its identifier. */
export function indexCode(e: IndexExpr, dimValue: (name: string) => number | null, dimName: (name: string) => string): string {
  return printIndex(foldIndex(e, dimValue), { dim: (d) => String(dimValue(d) ?? dimName(d)) }).text;
}
