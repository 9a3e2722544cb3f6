// JavaScript templates for loop-IR scalar expressions: one entry per elementwise op; the
// precedence table that decides parentheses is shared with the GPU emitter (precedence.ts). The GPU emitter has a table of the same shape.

import type { IndexExpr, ScalarExpr } from '../lower/loop-ir.js';
import { Level, wrap, type Printed } from './precedence.js';


type Template = (args: readonly Printed[]) => Printed;

const call = (fn: string): Template => (args) => ({ text: `${fn}(${args.map((a) => a.text).join(', ')})`, level: Level.Atom });

/** Entry per registry op; a test checks that every elementwise op has one. */
export const JS_TEMPLATES: Readonly<Record<string, Template>> = {
  add: ([a, b]) => ({ text: `${wrap(a!, Level.Sum)} + ${wrap(b!, Level.Sum)}`, level: Level.Sum }),
  sub: ([a, b]) => ({ text: `${wrap(a!, Level.Sum)} - ${wrap(b!, Level.Product)}`, level: Level.Sum }),
  mul: ([a, b]) => ({ text: `${wrap(a!, Level.Product)} * ${wrap(b!, Level.Product)}`, level: Level.Product }),
  div: ([a, b]) => ({ text: `${wrap(a!, Level.Product)} / ${wrap(b!, Level.Unary)}`, level: Level.Product }),
  neg: ([a]) => ({ text: `-${a!.text.startsWith('-') ? `(${a!.text})` : wrap(a!, Level.Unary)}`, level: Level.Unary }),
  pow: call('Math.pow'),
  exp: call('Math.exp'),
  log: call('Math.log'),
  sqrt: call('Math.sqrt'),
  abs: call('Math.abs'),
  sign: call('Math.sign'),
  tanh: call('Math.tanh'),
  sin: call('Math.sin'),
  cos: call('Math.cos'),
  sigmoid: call('sigmoid'),
  softplus: call('softplus'),
};

/** Module-level helpers the templates call. */
export const JS_HELPERS = `/** create()'s options, checked: { threads } (1 to 64; 1: no worker threads) and { maxBytes } (a positive integer). */
function createOptions(options) {
  if (options === undefined) return {};
  checkKeys(options, ['threads', 'maxBytes'], 'options');
  const { threads, maxBytes } = options;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) fail('usage', 'options.threads must be an integer from 1 to 64, got ' + threads);
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 1)) fail('usage', 'options.maxBytes must be a positive integer up to 2^53, got ' + maxBytes);
  return options;
}

/** Refuses, before they are allocated, buffers of more than options.maxBytes (default 4 GiB) in all: entries are float64. */
function checkBytes(entries, what, options) {
  const limit = createOptions(options).maxBytes ?? 4294967296;
  const bytes = entries * 8;
  if (!(bytes <= limit)) fail('data', what + ' need ' + bytes + ' bytes, more than the ' + limit + ' an instance may hold: use smaller dims, K or truncation, or raise create(dims, { maxBytes })');
}

function sigmoid(v) {
  return v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
}

function softplus(v) {
  // log(1 + e^v) without overflow for large |v|
  return Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
}`;

/** A number literal that reads back to the same float64. */
export function numberLiteral(v: number): string {
  return Object.is(v, -0) ? '0' : String(v);
}

export interface ExprPrinter {
  /** Print a dim: its literal size when baked, else its name. */
  dim(name: string): string;
  /** Print a load, given the printed index. */
  load(buffer: string, index: IndexExpr): string;
}


export function printScalar(e: ScalarExpr, p: ExprPrinter): Printed {
  switch (e.kind) {
    case 'num':
      return { text: numberLiteral(e.value), level: e.value < 0 ? Level.Unary : Level.Atom };
    case 'local':
      return { text: e.name, level: Level.Atom };
    case 'load':
      return { text: p.load(e.buffer, e.index), level: Level.Atom };
    case 'call': {
      const template = JS_TEMPLATES[e.op];
      if (!template) throw new Error(`the JavaScript emitter has no template for op '${e.op}'`);
      return template(e.args.map((a) => printScalar(a, p)));
    }
  }
}
