// Prints an elementwise op's emit template (its registry entry's, in the vocabulary of
// compiler/ops/templates.ts) from its printed arguments, with the precedence table both
// emitters share. The back end names the callees: `Math.exp` or a replacement, `sigmoid` or
// `phic_sigmoid`, and records the helpers it calls.

import type { EmitTemplate } from '../ops/templates.js';
import { Level, wrap, type Printed } from './precedence.js';

export interface Callees {
  /** The callee printed for `Math.<fn>`. */
  math(fn: string): string;
  /** The callee printed for a scalar helper (and a note that the code calls it). */
  helper(name: string): string;
}

/** A number literal that reads back to the same float64. */
export function numberLiteral(v: number): string {
  return Object.is(v, -0) ? '0' : String(v);
}

/** An integer literal, as printed (`2`, `-3`), or null. */
function integerLiteral(p: Printed): number | null {
  return /^-?\d+$/.test(p.text) ? Number(p.text) : null;
}

const call = (callee: string, args: readonly Printed[]): Printed => ({ text: `${callee}(${args.map((a) => a.text).join(', ')})`, level: Level.Atom });

export function printTemplate(t: EmitTemplate, args: readonly Printed[], callees: Callees): Printed {
  switch (t.kind) {
    case 'binary': {
      const level = t.precedence === 'sum' ? Level.Sum : Level.Product;
      const tighter = t.precedence === 'sum' ? Level.Product : Level.Unary;
      const [a, b] = args as [Printed, Printed];
      return { text: `${wrap(a, level)} ${t.operator} ${wrap(b, t.associative ? level : tighter)}`, level };
    }
    case 'prefix': {
      const a = args[0]!;
      return { text: `${t.operator}${a.text.startsWith(t.operator) ? `(${a.text})` : wrap(a, Level.Unary)}`, level: Level.Unary };
    }
    case 'math':
      return call(callees.math(t.fn), args);
    case 'helper':
      return call(callees.helper(t.name), args);
    case 'self-product': {
      const a = wrap(args[0]!, Level.Product);
      return { text: Array.from({ length: t.count }, () => a).join(' * '), level: Level.Product };
    }
    // Both are parenthesised whole, so their operands (any sum, product or call) need no parentheses.
    case 'compare': {
      const test = `${args[0]!.text} ${t.operator} ${args[1]!.text}`;
      return { text: `(${test} ? ${t.yes} : ${t.no})`, level: Level.Atom, test };
    }
    case 'conditional': {
      const [c, a, b] = args as [Printed, Printed, Printed];
      return { text: `(${c.test ?? `${c.text} !== ${t.zero}`} ? ${a.text} : ${b.text})`, level: Level.Atom };
    }
    case 'integer-power': {
      const k = integerLiteral(args[1]!);
      if (k === 2) return call(callees.helper(t.square), args.slice(0, 1));
      if (k !== null) return call(callees.helper(k % 2 === 0 ? t.even : t.odd), args);
      return printTemplate(t.otherwise, args, callees);
    }
  }
}
