// The emit-template vocabulary: how an elementwise op's registry entry says what code the CPU
// (JavaScript) and GPU (gpu.js) back ends print for it, as data. The emitters print these
// (compiler/codegen/print-template.ts); they hold no per-op tables of their own.

/** Operator precedence of a binary operator: a product binds tighter than a sum. */
export type Precedence = 'sum' | 'product';

export type EmitTemplate =
  /**
   * `a op b`. The left operand is parenthesised when it binds more loosely than the operator;
   * the right one also at the same precedence unless `associative` (then `a + (b + c)` prints
   * as `a + b + c`, which JavaScript sums left to right: the printing the emitters always had).
   */
  | { readonly kind: 'binary'; readonly operator: string; readonly precedence: Precedence; readonly associative: boolean }
  /** `op a`, the operand parenthesised unless it is an atom or a unary that does not start with `op`. */
  | { readonly kind: 'prefix'; readonly operator: string }
  /** `Math.fn(a, ...)`. */
  | { readonly kind: 'math'; readonly fn: string }
  /** A call of a scalar helper (compiler/ops/helpers.ts), by its helper name. */
  | { readonly kind: 'helper'; readonly name: string }
  /**
   * A power `a ^ e` printed by its exponent when that is an integer literal: `square(a)` for 2,
   * `even(a, e)` or `odd(a, e)` (helpers) for other integers, else `otherwise`.
   */
  | { readonly kind: 'integer-power'; readonly square: string; readonly even: string; readonly odd: string; readonly otherwise: EmitTemplate }
  /** `a * a * ...`, the operand `count` times: a small integer power as a product. */
  | { readonly kind: 'self-product'; readonly count: number }
  /**
   * A comparison as a number: `(a < b ? yes : no)`, with `yes` and `no` literals (gpu.js and
   * GLSL need floats there, `1.0`). A conditional consuming it tests `a < b` directly.
   */
  | { readonly kind: 'compare'; readonly operator: '<' | '>' | '<=' | '>='; readonly yes: string; readonly no: string }
  /** `(c !== zero ? a : b)` for arguments (c, a, b); a comparison argument is tested as itself. */
  | { readonly kind: 'conditional'; readonly zero: string };

/** An elementwise op's templates, one per back end. */
export interface EmitTemplates {
  readonly js: EmitTemplate;
  readonly gpu: EmitTemplate;
}

export const binary = (operator: string, precedence: Precedence, associative: boolean): EmitTemplate => ({ kind: 'binary', operator, precedence, associative });
export const prefix = (operator: string): EmitTemplate => ({ kind: 'prefix', operator });
export const math = (fn: string): EmitTemplate => ({ kind: 'math', fn });
export const helper = (name: string): EmitTemplate => ({ kind: 'helper', name });
export const selfProduct = (count: number): EmitTemplate => ({ kind: 'self-product', count });
export const compare = (operator: '<' | '>' | '<=' | '>=', yes: string, no: string): EmitTemplate => ({ kind: 'compare', operator, yes, no });
export const conditional = (zero: string): EmitTemplate => ({ kind: 'conditional', zero });
export const integerPower = (helpers: { square: string; even: string; odd: string }, otherwise: EmitTemplate): EmitTemplate => ({
  kind: 'integer-power',
  ...helpers,
  otherwise,
});

/** Helper names a template calls. */
export function templateHelpers(t: EmitTemplate): string[] {
  if (t.kind === 'helper') return [t.name];
  if (t.kind === 'integer-power') return [t.square, t.even, t.odd, ...templateHelpers(t.otherwise)];
  return [];
}
