// Loop-IR scalar expressions as WebAssembly, bit for bit as the JavaScript back end computes
// them. Each op is read from its registry entry's `js` template (compiler/ops/templates.ts), the
// one definition both use, and evaluated in the order JavaScript evaluates the printed text:
// the printer leaves out parentheses an associative operator does not need (`a + (b - c)`
// prints as `a + b - c`, which JavaScript computes as `(a + b) - c`), so the tree is regrouped
// the same way here. Math functions are imports of JavaScript's own Math (the same results,
// except sqrt and abs, which WebAssembly computes exactly as Math does), helpers imports of
// the module's helper functions.

import type { ScalarExpr } from '../../lower/loop-ir.js';
import { findOp } from '../../ops/index.js';
import type { EmitTemplate } from '../../ops/templates.js';
import { Level } from '../precedence.js';
import type { Code, OpName } from './encode.js';

/** A construct the WebAssembly sweeps do not cover: the sweep stays JavaScript. */
export class NotInWasm extends Error {}

/** The evaluation tree of a printed expression, with the level the printer gave it. */
type Tree =
  | { readonly t: 'leaf'; readonly expr: ScalarExpr }
  | { readonly t: 'bin'; readonly op: '+' | '-' | '*' | '/'; readonly a: Tree; readonly b: Tree }
  | { readonly t: 'neg'; readonly a: Tree }
  | { readonly t: 'native'; readonly op: 'f64.sqrt' | 'f64.abs'; readonly a: Tree }
  | { readonly t: 'call'; readonly module: 'Math' | 'helpers'; readonly name: string; readonly args: readonly Tree[] }
  | { readonly t: 'compare'; readonly op: '<' | '>' | '<=' | '>='; readonly a: Tree; readonly b: Tree; readonly yes: number; readonly no: number }
  | { readonly t: 'conditional'; readonly test: Tree; readonly zero: number; readonly a: Tree; readonly b: Tree };

interface Printed {
  readonly tree: Tree;
  readonly level: Level;
}

const BINARY: Readonly<Record<string, '+' | '-' | '*' | '/'>> = { '+': '+', '-': '-', '*': '*', '/': '/' };
const ARITHMETIC: Readonly<Record<'+' | '-' | '*' | '/', OpName>> = { '+': 'f64.add', '-': 'f64.sub', '*': 'f64.mul', '/': 'f64.div' };
const COMPARE: Readonly<Record<'<' | '>' | '<=' | '>=', OpName>> = { '<': 'f64.lt', '>': 'f64.gt', '<=': 'f64.le', '>=': 'f64.ge' };
/** Math functions WebAssembly has as instructions with the same (exactly rounded) results. */
const NATIVE: Readonly<Record<string, 'f64.sqrt' | 'f64.abs'>> = { sqrt: 'f64.sqrt', abs: 'f64.abs' };

const levelOf = (op: '+' | '-' | '*' | '/') => (op === '+' || op === '-' ? Level.Sum : Level.Product);

/**
 * `a op b` as JavaScript parses the printed `a op b` when b's text is not parenthesised: a
 * chain at the operator's own level (`b1 op2 b2`) joins a first, `(a op b1) op2 b2`.
 */
function graft(a: Tree, op: '+' | '-' | '*' | '/', b: Tree): Tree {
  if (b.t === 'bin' && levelOf(b.op) === levelOf(op)) return { t: 'bin', op: b.op, a: graft(a, op, b.a), b: b.b };
  return { t: 'bin', op, a, b };
}

/** `a op b` by the printer's rule (print-template.ts): the right operand unparenthesised at `min` and above. */
function joined(a: Printed, op: '+' | '-' | '*' | '/', b: Printed, min: Level): Tree {
  return b.level >= min ? graft(a.tree, op, b.tree) : { t: 'bin', op, a: a.tree, b: b.tree };
}

function template(t: EmitTemplate, args: readonly Printed[]): Printed {
  switch (t.kind) {
    case 'binary': {
      const op = BINARY[t.operator];
      if (!op) throw new NotInWasm(`operator ${t.operator}`);
      const level = t.precedence === 'sum' ? Level.Sum : Level.Product;
      const tighter = t.precedence === 'sum' ? Level.Product : Level.Unary;
      return { tree: joined(args[0]!, op, args[1]!, t.associative ? level : tighter), level };
    }
    case 'prefix':
      if (t.operator !== '-') throw new NotInWasm(`prefix ${t.operator}`);
      return { tree: { t: 'neg', a: args[0]!.tree }, level: Level.Unary };
    case 'math': {
      const native = NATIVE[t.fn];
      if (native && args.length === 1) return { tree: { t: 'native', op: native, a: args[0]!.tree }, level: Level.Atom };
      return { tree: { t: 'call', module: 'Math', name: t.fn, args: args.map((a) => a.tree) }, level: Level.Atom };
    }
    case 'helper':
      return { tree: { t: 'call', module: 'helpers', name: t.name, args: args.map((a) => a.tree) }, level: Level.Atom };
    case 'self-product': {
      // `a * a * a`, each `a` parenthesised below a product
      let tree = args[0]!.tree;
      for (let i = 1; i < t.count; i++) tree = joined({ tree, level: Level.Product }, '*', args[0]!, Level.Product);
      return { tree, level: Level.Product };
    }
    case 'compare':
      return { tree: { t: 'compare', op: t.operator, a: args[0]!.tree, b: args[1]!.tree, yes: Number(t.yes), no: Number(t.no) }, level: Level.Atom };
    case 'conditional':
      return { tree: { t: 'conditional', test: args[0]!.tree, zero: Number(t.zero), a: args[1]!.tree, b: args[2]!.tree }, level: Level.Atom };
    case 'integer-power':
      // JavaScript templates call Math.pow; this form is the GPU's
      throw new NotInWasm('integer-power template');
  }
}

function printed(e: ScalarExpr): Printed {
  if (e.kind === 'call') {
    const def = findOp(e.op);
    if (def?.kind !== 'elementwise') throw new NotInWasm(`op ${e.op}`);
    return template(def.emit.js, e.args.map(printed));
  }
  // a negative literal prints as `-2`, a unary minus
  return { tree: { t: 'leaf', expr: e }, level: e.kind === 'num' && e.value < 0 ? Level.Unary : Level.Atom };
}

/** The evaluation tree of `e` as the JavaScript back end computes it (vector-wasm.ts walks it on pairs). */
export const treeOf = (e: ScalarExpr): Tree => printed(e).tree;
export type { Tree };

/** How the sweep's code reaches what an expression reads. */
export interface ScalarContext {
  readonly code: Code;
  /** Pushes a leaf's value: a literal, a local or a load. */
  leaf(e: ScalarExpr): void;
  /** The index of an imported function of `arity` f64 arguments returning f64 (each call of it printed is counted). */
  importIndex(module: 'Math' | 'helpers', name: string, arity: number): number;
}

/** Pushes the value of `e`, computed as the JavaScript back end computes it. */
export function emitScalar(e: ScalarExpr, ctx: ScalarContext) {
  emitTree(printed(e).tree, ctx);
}

function emitTree(tree: Tree, ctx: ScalarContext) {
  const c = ctx.code;
  switch (tree.t) {
    case 'leaf':
      return ctx.leaf(tree.expr);
    case 'bin':
      emitTree(tree.a, ctx);
      emitTree(tree.b, ctx);
      c.op(ARITHMETIC[tree.op]);
      return;
    case 'neg':
      emitTree(tree.a, ctx);
      c.op('f64.neg');
      return;
    case 'native':
      emitTree(tree.a, ctx);
      c.op(tree.op);
      return;
    case 'call':
      tree.args.forEach((a) => emitTree(a, ctx));
      c.op('call', ctx.importIndex(tree.module, tree.name, tree.args.length));
      return;
    case 'compare':
      // (a < b ? yes : no)
      c.f64(tree.yes).f64(tree.no);
      emitCondition(tree, ctx);
      c.op('select');
      return;
    case 'conditional':
      // (test ? a : b): both are computed (they cannot fail or write), one is kept
      emitTree(tree.a, ctx);
      emitTree(tree.b, ctx);
      emitCondition(tree.test, ctx, tree.zero);
      c.op('select');
      return;
  }
}

/** An i32 condition: a comparison tested as itself, any other value as `value !== zero`. */
function emitCondition(test: Tree, ctx: ScalarContext, zero = 0) {
  if (test.t === 'compare') {
    emitTree(test.a, ctx);
    emitTree(test.b, ctx);
    ctx.code.op(COMPARE[test.op]);
    return;
  }
  emitTree(test, ctx);
  ctx.code.f64(zero).op('f64.ne');
}
