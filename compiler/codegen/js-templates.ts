// JavaScript for loop-IR scalar expressions: each op prints by the `js` template of its
// registry entry (compiler/ops/elementwise.ts) through the shared template printer, and
// JS_HELPERS is the module-level code generated modules carry: create()'s option checks and
// the scalar helpers the templates call, from their one source (compiler/ops/helpers.ts).

import type { IndexExpr, ScalarExpr } from '../lower/loop-ir.js';
import { allOps, findOp } from '../ops/index.js';
import { helperCalls, helperNames, helperSource } from '../ops/helpers.js';
import { templateHelpers } from '../ops/templates.js';
import { Level, type Printed } from './precedence.js';
import { numberLiteral, printTemplate, type Callees } from './print-template.js';
import { CREATE_OPTIONS } from './runtime-typed.generated.js';
import { CREATE_OPTIONS_TS } from './runtime-typed.js';

export { numberLiteral };

const JS_CALLEES: Callees = { math: (fn) => `Math.${fn}`, helper: (name) => name };

const called = new Set(
  allOps()
    .flatMap((op) => (op.kind === 'elementwise' ? templateHelpers(op.emit.js) : []))
    .flatMap((h) => [h, ...helperCalls(h)]),
);
/** The scalar helpers JavaScript templates call, and those these call, in definition order. */
export const JS_SCALAR_HELPERS: readonly string[] = helperNames().filter((n) => called.has(n));

/**
 * The scalar helpers typed: each takes numbers and returns a number (their contract, see
 * ops/helpers.ts), so the annotations go on the header line of their one JavaScript source.
 */
const typedHelper = (source: string) => source.replace(/^function (\w+)\(([^)]*)\) \{/, (_, name: string, params: string) => `function ${name}(${params.split(', ').map((p) => `${p}: number`).join(', ')}): number {`);

/** Module-level helpers: create()'s option checks, then the scalar helpers templates call (top-level `function name`). */
export const JS_HELPERS = `${CREATE_OPTIONS}

${JS_SCALAR_HELPERS.map(helperSource).join('\n\n')}`;
/** JS_HELPERS for `--emit ts`. */
export const JS_HELPERS_TS = `${CREATE_OPTIONS_TS}

${JS_SCALAR_HELPERS.map(helperSource).map(typedHelper).join('\n\n')}`;

export interface ExprPrinter {
  /** Print a dim: its literal size when baked, else its name. */
  dim(name: string): string;
  /** Print a load, given the printed index. */
  load(buffer: string, index: IndexExpr): string;
}

/** An op's JavaScript from its printed arguments, by its registry entry's `js` template. */
export function printOp(op: string, args: readonly Printed[]): Printed {
  const def = findOp(op);
  if (def?.kind !== 'elementwise') throw new Error(`the JavaScript emitter has no template for op '${op}'`);
  return printTemplate(def.emit.js, args, JS_CALLEES);
}

export function printScalar(e: ScalarExpr, p: ExprPrinter): Printed {
  switch (e.kind) {
    case 'num':
      return { text: numberLiteral(e.value), level: e.value < 0 ? Level.Unary : Level.Atom };
    case 'local':
      return { text: e.name, level: Level.Atom };
    case 'load':
      return { text: p.load(e.buffer, e.index), level: Level.Atom };
    case 'call':
      return printOp(e.op, e.args.map((a) => printScalar(a, p)));
  }
}
