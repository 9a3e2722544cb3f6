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

export { numberLiteral };

const JS_CALLEES: Callees = { math: (fn) => `Math.${fn}`, helper: (name) => name };

const called = new Set(
  allOps()
    .flatMap((op) => (op.kind === 'elementwise' ? templateHelpers(op.emit.js) : []))
    .flatMap((h) => [h, ...helperCalls(h)]),
);
/** The scalar helpers JavaScript templates call, and those these call, in definition order. */
export const JS_SCALAR_HELPERS: readonly string[] = helperNames().filter((n) => called.has(n));

/** Module-level helpers: create()'s option checks, then the scalar helpers templates call (top-level `function name`). */
export const JS_HELPERS = `/** create()'s options, checked: { threads } (1 to 64; 1: no worker threads), { maxBytes } (a positive integer) and { kernels } ('simd' or 'relaxed'). */
function createOptions(options) {
  if (options === undefined) return {};
  checkKeys(options, ['threads', 'maxBytes', 'kernels'], 'options');
  const { threads, maxBytes, kernels } = options;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) fail('usage', 'options.threads must be an integer from 1 to 64, got ' + threads);
  if (kernels !== undefined && kernels !== 'simd' && kernels !== 'relaxed') fail('usage', "options.kernels must be 'simd' or 'relaxed', got " + JSON.stringify(kernels));
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 1)) fail('usage', 'options.maxBytes must be a positive integer up to 2^53, got ' + maxBytes);
  return options;
}

/** Refuses, before they are allocated, buffers of more than options.maxBytes (default 4 GiB) in all: entries are float64. */
function checkBytes(entries, what, options) {
  const limit = createOptions(options).maxBytes ?? 4294967296;
  const bytes = entries * 8;
  if (!(bytes <= limit)) fail('data', what + ' need ' + bytes + ' bytes, more than the ' + limit + ' an instance may hold: use smaller dims, K or truncation, or raise create(dims, { maxBytes })');
}

${JS_SCALAR_HELPERS.map(helperSource).join('\n\n')}`;

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
