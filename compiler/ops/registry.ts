// The op registry: each primitive is defined once, with its shape rule, its derivative
// rules and its reference evaluation side by side. Elementwise ops give partial derivatives
// (JVP and VJP follow generically) and the code each back end prints for them (templates.ts);
// structural ops (matvec, transpose, sum, ...) give a JVP and a transpose (VJP) rule.

import type { Node, Shape } from '../ir/nodes.js';
import type { Builder } from '../ir/builder.js';
import type { EmitTemplates } from './templates.js';

/** A dense float64 tensor for the reference interpreter: shape in numbers, row-major data. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

interface OpBase {
  readonly name: string;
  readonly arity: number;
  /** Output shape from argument shapes; throws ShapeError with a user-facing message. */
  shape(args: readonly Shape[]): Shape;
  /**
   * Domain for generated derivative tests: where the op is smooth. `apart`: wherever its
   * arguments differ (no ties), as for maximum and the comparisons; `condition`: wherever its
   * first argument, a condition, is nonzero (the conditional; held fixed, it may be 0).
   */
  readonly domain?: 'any' | 'positive' | 'nonzero' | 'apart' | 'condition';
}

export interface ElementwiseOp extends OpBase {
  readonly kind: 'elementwise';
  /** The scalar function, used by the reference interpreter and constant folding. */
  readonly scalar: (...x: number[]) => number;
  /**
   * ∂out/∂arg_i as IR nodes (scalars or the out shape); null is an exact zero. Ops whose
   * derivative is zero almost everywhere (sign, comparisons) return nulls, not an error.
   */
  partials(b: Builder, args: readonly Node[], out: Node): (Node | null)[];
  /** What the CPU (JavaScript) and GPU (gpu.js) back ends print for it. */
  readonly emit: EmitTemplates;
  /** Formulas call it by its name, `exp(x)`; other ops are operators or only generated. */
  readonly callable: boolean;
}

export interface StructuralOp extends OpBase {
  readonly kind: 'structural';
  /** Tangent of the output from argument tangents (null = zero tangent). */
  jvp(b: Builder, args: readonly Node[], tangents: readonly (Node | null)[], out: Node): Node | null;
  /** Cotangents of the arguments from the output cotangent (the transpose rule). */
  vjp(b: Builder, args: readonly Node[], cotangent: Node, out: Node): (Node | null)[];
  evaluate(args: readonly Tensor[]): Tensor;
}

export type OpDef = ElementwiseOp | StructuralOp;

const registry = new Map<string, OpDef>();

export function defineOp<T extends OpDef>(def: T): T {
  if (registry.has(def.name)) throw new Error(`op ${def.name} defined twice`);
  registry.set(def.name, def);
  return def;
}

export function getOp(name: string): OpDef {
  const def = registry.get(name);
  if (!def) throw new Error(`no op named '${name}' in the registry`);
  return def;
}

/** The op named `name`, or undefined. */
export const findOp = (name: string): OpDef | undefined => registry.get(name);

export const allOps = (): OpDef[] => [...registry.values()];

/** Structural ops a formula calls by their own name (sum(x), dot(u, v), transpose(M), outer(u, v)). */
export const FORMULA_STRUCTURAL_OPS = ['sum', 'dot', 'transpose', 'outer'] as const;

/**
 * mathjs' max and min: of scalars (and anything inside a scalar helper) they are the ops
 * maximum and minimum; on tensors their meaning is ambiguous and formulas are refused.
 */
export const FORMULA_SCALAR_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['max', 'maximum'],
  ['min', 'minimum'],
]);

/** Every function name a formula may call: the callable elementwise ops, the structural ones, max and min. */
export function formulaFunctions(): string[] {
  return [
    ...allOps().flatMap((op) => (op.kind === 'elementwise' && op.callable ? [op.name] : [])),
    ...FORMULA_STRUCTURAL_OPS,
    ...FORMULA_SCALAR_FUNCTIONS.keys(),
  ];
}
