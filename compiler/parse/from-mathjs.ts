// Formula text -> tensor IR. mathjs parses the text; we translate its node tree into IR
// through the builder, giving mathjs' operators their tensor meaning (A*x is a
// matrix-vector product, .* is elementwise, ' transposes). Errors quote the formula and point
// at the offending position.

import type { MathNode } from 'mathjs';
import { PhicError, specError } from '../errors.js';
import type { Builder } from '../ir/builder.js';
import { ShapeError, formatShape, type InputNode, type Node } from '../ir/nodes.js';
import { allOps, getOp, FORMULA_SCALAR_FUNCTIONS, FORMULA_STRUCTURAL_OPS } from '../ops/index.js';
import type { SpecSource } from '../spec/source.js';
import { locateNodes, type Span } from './locate.js';
import { mathParse as parse } from './mathjs.js';
import { TENSOR_FUNCTIONS, broadcastRows, dimSize, filled, tensorFunction } from './tensor-functions.js';

/** Whether max or min with these arguments is a reduction: one tensor, alone or with a dimension. */
const isReduction = (args: readonly Node[]) => args[0] !== undefined && args[0].shape.length > 0 && (args.length === 1 || (args.length === 2 && args[1]!.shape.length === 0));

/** A user helper function, inlined at each call. */
export interface HelperFunction {
  readonly args: readonly string[];
  readonly body: string;
}

export interface Scope {
  readonly symbols: ReadonlyMap<string, Node>;
  readonly functions: ReadonlyMap<string, HelperFunction>;
  /** The spec's dims: a formula may use one as a number (its size) and in ones(n) / zeros(n). */
  readonly dims?: ReadonlySet<string>;
  /** The state components in update order, and whether they update in that order (`<name>_next`). */
  readonly state?: readonly string[];
  readonly sequential?: boolean;
}

/** The name of the iteration index in formulas, unless the spec gives the name to something else. */
export const ITERATION_SYMBOL = 'k';

/** Elementwise ops formulas call by name (`exp(x)`), from the registry, with their arity. */
const OP_FUNCTIONS = new Map(allOps().flatMap((op) => (op.kind === 'elementwise' && op.callable ? [[op.name, op.arity] as const] : [])));
const NON_DIFFERENTIABLE = new Set(['floor', 'ceil', 'round', 'fix', 'mod', 'heaviside', 'step']);
/** mathjs' comparison operators and the ops they are (exact comparisons giving 0 or 1). */
const COMPARISONS = new Map([
  ['smaller', 'lt'],
  ['larger', 'gt'],
  ['smallerEq', 'le'],
  ['largerEq', 'ge'],
]);
const EQUALITY = 'is not supported: mathjs tests equality with a tolerance, which generated code does not have; use <, <=, > or >=';
const LOGICAL = "is not supported: combine 0/1 comparisons instead, (a < b) .* (c < d) for 'and', maximum(p, q) for 'or', 1 - p for 'not'";
/** Operators refused with a reason, by mathjs function name. */
const REFUSED_OPERATORS = new Map([
  ['equal', EQUALITY],
  ['unequal', EQUALITY],
  ...['and', 'or', 'xor', 'not'].map((fn) => [fn, LOGICAL] as const),
]);
const NAMED_CONSTANTS = new Map([
  ['pi', Math.PI],
  ['e', Math.E],
]);

interface Where {
  field: string;
  formula: string;
}

/** A mathjs node's fields, by node type. */
type MathParts = MathNode & {
  args?: MathNode[];
  fn?: MathNode | string;
  op?: string;
  name?: string;
  value?: unknown;
  content?: MathNode;
  condition?: MathNode;
  trueExpr?: MathNode;
  falseExpr?: MathNode;
};

/** Translating one node: failing at its position, translating a child, building with shape errors reported there. */
interface NodeContext {
  readonly fail: (message: string) => PhicError;
  readonly sub: (n: MathNode) => Node;
  readonly build: (make: () => Node) => Node;
  readonly symbols: ReadonlyMap<string, Node>;
  /** Inside a helper function's body: scalars only. */
  readonly scalarOnly: boolean;
}

export class FormulaTranslator {
  private readonly parsed = new Map<string, { root: MathNode; spans: Map<MathNode, Span> }>();
  private readonly inlining: string[] = [];
  /** Argument nodes of the helper calls being inlined: the only tensors a helper body may use. */
  private readonly helperArgNodes = new Set<Node>();
  /** The iteration index k, once a formula has used it. */
  private iterationNode: InputNode | null = null;

  /** The builder the formulas are translated with. */
  get builder(): Builder {
    return this.b;
  }

  /** The iteration index's input node, when some formula translated so far uses k. */
  get iteration(): InputNode | null {
    return this.iterationNode;
  }

  constructor(
    private readonly b: Builder,
    private readonly scope: Scope,
    private readonly source: SpecSource,
  ) {}

  /** Translate the formula at spec field `field`. */
  translate(formula: string, field: string, extraSymbols?: ReadonlyMap<string, Node>): Node {
    const { root, spans } = this.parse(formula, field);
    const symbols = extraSymbols ? new Map([...this.scope.symbols, ...extraSymbols]) : this.scope.symbols;
    return this.node(root, { field, formula }, spans, symbols, false);
  }

  private error(message: string, where: Where, offset: number | undefined): PhicError {
    const location =
      (offset !== undefined ? this.source.locateInString?.(where.field, offset) : undefined) ?? this.source.locate(where.field);
    return specError(message, { field: where.field, formula: where.formula, offset, location });
  }

  private parse(formula: string, field: string) {
    const cached = this.parsed.get(field);
    if (cached) return cached;
    let root: MathNode;
    try {
      root = parse(formula);
    } catch (e) {
      const char = (e as { char?: number }).char;
      const offset = typeof char === 'number' ? Math.min(Math.max(char - 1, 0), formula.length) : undefined;
      const message = String((e as Error).message).replace(/\s*\(char \d+\)$/, '');
      throw this.error(`cannot parse formula: ${message}`, { field, formula }, offset);
    }
    const entry = { root, spans: locateNodes(formula, root) };
    this.parsed.set(field, entry);
    return entry;
  }

  private node(
    node: MathNode,
    where: Where,
    spans: Map<MathNode, Span>,
    symbols: ReadonlyMap<string, Node>,
    scalarOnly: boolean,
  ): Node {
    const at = spans.get(node)?.at;
    const fail = (message: string) => this.error(message, where, at);
    const ctx: NodeContext = {
      fail,
      sub: (n: MathNode) => this.node(n, where, spans, symbols, scalarOnly),
      build: (make: () => Node): Node => {
        try {
          return make();
        } catch (e) {
          if (e instanceof ShapeError) throw fail(e.message);
          throw e;
        }
      },
      symbols,
      scalarOnly,
    };
    const n = node as MathParts;
    switch (node.type) {
      case 'ConstantNode': {
        if (typeof n.value !== 'number' || !Number.isFinite(n.value)) throw fail(`only finite numbers are allowed here, got ${typeof n.value === 'number' ? String(n.value) : JSON.stringify(n.value)}`);
        return this.b.constant(n.value);
      }
      case 'SymbolNode':
        return this.symbol(n.name!, ctx);
      case 'ParenthesisNode':
        return ctx.sub(n.content!);
      case 'OperatorNode':
        return this.operator(n, ctx);
      case 'FunctionNode':
        return this.call(n, ctx);
      case 'ConditionalNode': {
        // c ? a : b, elementwise: a where c ≠ 0, else b
        const parts = [n.condition!, n.trueExpr!, n.falseExpr!].map(ctx.sub);
        return ctx.build(() => this.b.op('select', ...broadcastRows(this.b, parts, ctx)));
      }
      case 'RelationalNode':
        throw fail('chained comparisons (a < b < c) are not supported: write (a < b) .* (b < c)');
      case 'AccessorNode':
      case 'IndexNode':
        throw fail('indexing is not supported: formulas work on whole vectors and matrices');
      case 'ArrayNode':
        throw fail('matrix literals are not supported: declare the matrix as data');
      default:
        throw fail(`unsupported expression (${node.type.replace(/Node$/, '').toLowerCase()})`);
    }
  }

  /** A name: a tensor in scope (in a helper, only its scalar arguments) or a named constant. */
  private symbol(name: string, ctx: NodeContext): Node {
    const { fail, symbols } = ctx;
    const found = symbols.get(name);
    if (found) {
      if (ctx.scalarOnly && found.shape.length > 0 && !this.helperArgNodes.has(found)) {
        throw fail(`helper functions are scalar: '${name}' is a ${found.shape.length === 1 ? 'vector' : 'matrix'}; pass it as an argument instead`);
      }
      return found;
    }
    if (this.scope.dims?.has(name)) return dimSize(this.b, name);
    if (name === ITERATION_SYMBOL) return (this.iterationNode ??= this.b.input(ITERATION_SYMBOL, 'iteration', []) as InputNode);
    const named = NAMED_CONSTANTS.get(name);
    if (named !== undefined) return this.b.constant(named);
    if (this.scope.functions.has(name) || OP_FUNCTIONS.has(name) || FORMULA_SCALAR_FUNCTIONS.has(name)) throw fail(`'${name}' is a function: call it with arguments`);
    const base = name.endsWith('_next') ? name.slice(0, -'_next'.length) : null;
    if (base !== null && this.scope.state?.includes(base)) {
      if (!this.scope.sequential) throw fail(`'${name}' is the new value of ${base}: set sequential: true to update the state components in order (${this.scope.state.join(', ')}), so that a later one may read it`);
      throw fail(`'${name}' is not known yet: the state components update in the order ${this.scope.state.join(', ')}, and a formula reads only the new values of those before it`);
    }
    throw fail(`unknown symbol '${name}' (known: ${[...symbols.keys()].join(', ') || 'none'})`);
  }

  /** An operator with its tensor meaning: * by shapes, .* ./ .^ elementwise, ' transposes; helpers are scalar. */
  private operator(n: MathParts, ctx: NodeContext): Node {
    const { fail, build, scalarOnly } = ctx;
    const b = this.b;
    const args = n.args!.map(ctx.sub);
    const [x, y] = args as [Node, Node];
    // elementwise: a vector applies to every row of a matrix
    const rows = () => broadcastRows(b, args, ctx) as [Node, Node];
    const shaped = (what: string) => {
      if (scalarOnly && args.some((a) => a.shape.length > 0)) throw fail(`helper functions are scalar: ${what} got ${args.map((a) => formatShape(a.shape)).join(' and ')}`);
    };
    switch (n.fn) {
      case 'add':
        return build(() => b.add(...rows()));
      case 'subtract':
        return build(() => b.sub(...rows()));
      case 'unaryMinus':
        return b.neg(x);
      case 'unaryPlus':
        return x;
      case 'dotMultiply':
        return build(() => b.mul(...rows()));
      case 'dotDivide':
        return build(() => b.div(...rows()));
      case 'dotPow':
        return build(() => b.pow(...rows()));
      case 'multiply':
        return build(() => (scalarOnly ? b.mul(x, y) : this.multiply(x, y)));
      case 'divide':
        if (scalarOnly) return build(() => b.div(x, y));
        if (y.shape.length > 0) throw fail(`division by a ${y.shape.length === 1 ? 'vector' : 'matrix'}: use ./ for elementwise division`);
        return build(() => b.div(x, y));
      case 'pow':
        if (scalarOnly) return build(() => b.pow(x, y));
        if (x.shape.length > 0 || y.shape.length > 0) throw fail(`^ is for scalars: use .^ for an elementwise power`);
        return b.pow(x, y);
      case 'ctranspose':
      case 'transpose':
        shaped('transpose');
        return x.shape.length === 2 ? b.transpose(x) : x;
      default: {
        const comparison = COMPARISONS.get(n.fn as string);
        if (comparison) return build(() => b.op(comparison, ...rows()));
        const refused = REFUSED_OPERATORS.get(n.fn as string);
        throw fail(refused ? `'${n.op}' ${refused}` : `unsupported operator '${n.op}'`);
      }
    }
  }

  /** A call: an elementwise op of the registry, a user helper (inlined), or a structural op (dot, sum, ...). */
  private call(n: MathParts, ctx: NodeContext): Node {
    const { fail, build, scalarOnly } = ctx;
    const b = this.b;
    const fnNode = n.fn as MathNode;
    if (typeof fnNode !== 'object' || fnNode.type !== 'SymbolNode') throw fail('only named functions can be called');
    const name = (fnNode as MathNode & { name: string }).name;
    if ((name === 'ones' || name === 'zeros' || name === 'identity') && !scalarOnly) {
      const names = n.args!.map((a) => (a.type === 'SymbolNode' ? (a as MathParts).name! : null));
      return filled(b, name, names, this.scope.dims ?? new Set(), ctx);
    }
    const args = n.args!.map(ctx.sub);
    const arity = (k: number) => {
      if (args.length !== k) throw fail(`${name} takes ${k} argument${k === 1 ? '' : 's'}, got ${args.length}`);
    };
    const opArity = OP_FUNCTIONS.get(name);
    if (opArity !== undefined) {
      arity(opArity);
      return build(() => b.op(name, ...broadcastRows(b, args, ctx)));
    }
    // max(X), max(X, dim) and the like reduce a tensor; max(a, b) of scalars is elementwise
    const reduction = TENSOR_FUNCTIONS.has(name) && !scalarOnly && (!FORMULA_SCALAR_FUNCTIONS.has(name) || isReduction(args));
    if (reduction) return build(() => tensorFunction(b, name, args, ctx));
    if (TENSOR_FUNCTIONS.has(name) && scalarOnly && !FORMULA_SCALAR_FUNCTIONS.has(name)) throw fail(`helper functions are scalar: ${name} is not allowed in them`);
    const op = FORMULA_SCALAR_FUNCTIONS.get(name);
    if (op) return this.scalarMaxMin(name, op, args, ctx);
    const helper = this.scope.functions.get(name);
    if (helper) {
      arity(helper.args.length);
      return this.inline(name, helper, args, fail);
    }
    if ((FORMULA_STRUCTURAL_OPS as readonly string[]).includes(name)) {
      if (scalarOnly) throw fail(`helper functions are scalar: ${name} is not allowed in them`);
      arity(getOp(name).arity);
      if (name === 'transpose') return args[0]!.shape.length === 2 ? b.transpose(args[0]!) : args[0]!;
      return build(() => b.op(name, ...args));
    }
    if (NON_DIFFERENTIABLE.has(name)) throw fail(`'${name}' is not differentiable, so phic does not support it`);
    throw fail(`unsupported function '${name}'`);
  }

  /**
   * max or min: of two or more scalars, or anywhere in a scalar helper, the elementwise op
   * (`max(a, b, c)` is maximum(maximum(a, b), c)); with a tensor argument, or one argument, a
   * reduction or ambiguous in mathjs, so refused.
   */
  private scalarMaxMin(name: string, op: string, args: readonly Node[], ctx: NodeContext): Node {
    if (args.length < 2) {
      throw ctx.fail(`${name} of one argument (a reduction over entries) is not supported: ${op}(a, b) is the elementwise ${op} of two arguments`);
    }
    const tensor = args.find((a) => a.shape.length > 0);
    if (tensor && !ctx.scalarOnly) {
      throw ctx.fail(
        `${name} of a ${tensor.shape.length === 1 ? 'vector' : 'matrix'} is ambiguous (in mathjs, ${name}(X, 1) reduces X along dim 1, and ${name}(A, B) of two tensors is an error): use ${op}(a, b) for the elementwise ${op}`,
      );
    }
    return args.slice(1).reduce((acc, a) => ctx.build(() => this.b.op(op, acc, a)), args[0]!);
  }

  /** mathjs' `*`: scaling by scalars, matrix-vector, vector-matrix, matrix-matrix, vector-vector (dot). */
  private multiply(x: Node, y: Node): Node {
    const b = this.b;
    if (x.shape.length === 0 || y.shape.length === 0) return b.mul(x, y);
    if (x.shape.length === 2 && y.shape.length === 1) return b.matvec(x, y);
    if (x.shape.length === 1 && y.shape.length === 2) return b.matvec(b.transpose(y), x);
    if (x.shape.length === 2 && y.shape.length === 2) return b.matmul(x, y);
    return b.dot(x, y);
  }

  private inline(name: string, helper: HelperFunction, args: Node[], fail: (m: string) => PhicError): Node {
    if (this.inlining.includes(name)) throw fail(`function '${name}' calls itself: recursion is not supported`);
    const field = `functions.${name}.body`;
    const { root, spans } = this.parse(helper.body, field);
    // Helpers are scalar functions applied entrywise: inline them on scalar placeholders'
    // shapes by substituting the (possibly tensor) arguments; their bodies may only use
    // elementwise operations, which broadcast.
    const symbols = new Map(this.scope.symbols);
    helper.args.forEach((a, i) => symbols.set(a, args[i]!));
    this.inlining.push(name);
    const added = args.filter((a) => !this.helperArgNodes.has(a));
    added.forEach((a) => this.helperArgNodes.add(a));
    try {
      return this.node(root, { field, formula: helper.body }, spans, symbols, true);
    } finally {
      this.inlining.pop();
      added.forEach((a) => this.helperArgNodes.delete(a));
    }
  }
}
