// The op registry: each primitive is defined once, with its shape rule, its derivative
// rules and its reference evaluation side by side. Elementwise ops give partial derivatives
// (JVP and VJP follow generically) and the code each back end prints for them (templates.ts);
// structural ops (matvec, transpose, sum, ...) give a JVP and a transpose (VJP) rule.

import type { Node, Shape } from '../ir/nodes.js';
import type { Builder } from '../ir/builder.js';
import type { IndexExpr, KernelCall, ScalarExpr, Stmt } from '../lower/loop-ir.js';
import type { EmitTemplates } from './templates.js';

/** A dense float64 tensor for the reference interpreter: shape in numbers, row-major data. */
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

interface OpBase {
  readonly name: string;
  readonly arity: number;
  /**
   * The arguments through which a non-finite value always reaches the result: NaN or ±Inf in any
   * entry of one of them makes some entry of the result NaN or ±Inf, whatever the other arguments
   * hold (a + Inf, 0 · Inf = NaN, Inf / Inf = NaN; not exp(−Inf) = 0, tanh(Inf) = 1, a / Inf = 0).
   * The drivers check finiteness every few steps only where every state's bad value provably
   * reaches the next state through such arguments (optimise/finite-checks.ts). Default: none.
   */
  readonly keepsNonFinite?: readonly number[];
  /** Output shape from argument shapes; throws ShapeError with a user-facing message. */
  shape(args: readonly Shape[]): Shape;
  /**
   * Domain for generated derivative tests: where the op is smooth. `apart`: wherever its
   * arguments differ (no ties), as for maximum and the comparisons; `condition`: wherever its
   * first argument, a condition, is nonzero (the conditional; held fixed, it may be 0);
   * `invertible`: wherever its first argument, a square matrix, is invertible (lusolve, inv).
   */
  readonly domain?: 'any' | 'positive' | 'nonzero' | 'apart' | 'condition' | 'invertible';
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

/**
 * What a structural op's lowering may use of the segment being lowered (compiler/lower/lower.ts
 * gives it): values as scalar expressions, loops, stores, the segment's names, and the choice
 * between loops and a kernel statement.
 */
export interface LoweringSite {
  /** The value of `node` at `idx`, as a scalar expression (loads, locals, inlined elementwise chains). */
  expr(node: Node, idx: readonly IndexExpr[]): ScalarExpr;
  /** Loops over `shape`, the body given the index per dim. */
  loops(shape: Shape, body: (idx: IndexExpr[]) => Stmt[]): Stmt[];
  /** `buffer[index] = value` (or `+=`), noting the buffer as touched. */
  store(buffer: string, index: IndexExpr, value: ScalarExpr, accumulate: boolean): Stmt;
  /** The row-major offset of `idx` in `shape`. */
  flat(idx: readonly IndexExpr[], shape: Shape): IndexExpr;
  /** Appends `buffer = value` over `shape`. */
  fill(buffer: string, shape: Shape, value: ScalarExpr): void;
  /** Appends the loops as one kernel statement when `call` is a product of distinct buffers, else as they are. */
  product(call: KernelCall | null, loops: Stmt[]): void;
  /** Appends a kernel statement that has no loop form (a solve): every CPU path calls its routine. */
  routine(call: KernelCall): void;
  /** A fresh buffer of the segment's own (one copy serves every direction: it is used within one call). */
  scratch(shape: Shape, base: string): string;
  /** The buffer `node` is read from, when it has one. */
  bufferOf(node: Node): string | null;
  /** Whether `node` is an op `op` not computed into a buffer: a view read in place. */
  isView(node: Node, op: string): boolean;
  /** The loop index of nesting depth 0, 1, 2. */
  loopVar(depth: number): string;
  /** A fresh local of the segment. */
  local(base: string): string;
}

/** How a structural op becomes loop IR and kernel statements (compiler/lower/lower.ts runs it). */
export type StructuralLowering =
  /** Read in place by index (transpose, outer): `at` gives an entry; `accumulate` may write `B += result` as a kernel. */
  | {
      readonly form: 'view';
      at(site: LoweringSite, args: readonly Node[], idx: readonly IndexExpr[]): ScalarExpr;
      /** Arguments read many times per result entry: they need a buffer of their own. */
      mustLoad?(site: LoweringSite, args: readonly Node[]): readonly Node[];
      /** `buffer += result` by a kernel, given the loops that would do it; false when it does not apply. */
      accumulate?(site: LoweringSite, args: readonly Node[], buffer: string, shape: Shape, loops: Stmt[]): boolean;
    }
  /**
   * A reduction to a scalar (sum, dot, the maximum of the entries): `term` is the summand at
   * `idx` over the first argument's shape; with `combine` (an elementwise op of two arguments)
   * the terms are combined by it from the first one on, not summed.
   */
  | {
      readonly form: 'scalar-reduction';
      readonly combine?: string;
      term(site: LoweringSite, args: readonly Node[], idx: readonly IndexExpr[]): ScalarExpr;
    }
  /** A product into a buffer of its own (matvec, matmul): `write` appends its loops or kernel statement. */
  | {
      readonly form: 'product';
      mustLoad(site: LoweringSite, args: readonly Node[]): readonly Node[];
      write(site: LoweringSite, args: readonly Node[], buffer: string, accumulate: boolean): void;
    };

export interface StructuralOp extends OpBase {
  readonly kind: 'structural';
  /** Linear in each argument (so a zero argument gives a zero result, which simplification uses). */
  readonly multilinear: boolean;
  readonly lowering: StructuralLowering;
  /** Why the GPU backend cannot run it, when it cannot: its emitter refuses the map, naming the op. */
  readonly gpuRefusal?: string;
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

/** Whether `op` is a structural op read in place by index (transpose, outer): consumers look through it. */
export const isViewOp = (op: string): boolean => {
  const def = registry.get(op);
  return def?.kind === 'structural' && def.lowering.form === 'view';
};

/** Whether `op` is linear in each of its arguments. */
export const isMultilinear = (op: string): boolean => {
  const def = registry.get(op);
  return def?.kind === 'structural' && def.multilinear;
};

/** The op named `name`, or undefined. */
export const findOp = (name: string): OpDef | undefined => registry.get(name);

export const allOps = (): OpDef[] => [...registry.values()];

/** Structural ops a formula calls by their own name (sum(x), dot(u, v), transpose(M), outer(u, v), lusolve(A, b), ...). */
export const FORMULA_STRUCTURAL_OPS = ['sum', 'dot', 'transpose', 'outer', 'lusolve', 'inv', 'diag'] as const;

/**
 * Formula functions built from several ops (compiler/parse/tensor-functions.ts): reductions
 * along a dimension, the stable log-sum-exp and softmax, the 2-norm and filled tensors.
 */
export const FORMULA_COMPOSITE_FUNCTIONS = ['mean', 'logsumexp', 'softmax', 'norm', 'ones', 'zeros', 'identity'] as const;

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
    ...FORMULA_COMPOSITE_FUNCTIONS,
  ];
}
