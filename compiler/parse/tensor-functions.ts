// The formula functions over whole vectors and matrices that are built from several ops: sums,
// means, maxima and minima over all entries or along a dimension (numbered as in mathjs
// expressions: for an m×n X, dimension 1 runs over the rows, so sum(X, 1) has length n and
// sum(X, 2) gives the m row sums), the stable log-sum-exp and softmax, the 2-norm, filled
// vectors and matrices, and a dim's size as a number. Broadcasting a vector over a matrix's
// rows is here too. Each function gives IR nodes; shapes are checked by the ops' rules.

import type { Builder } from '../ir/builder.js';
import { formatShape, type Node } from '../ir/nodes.js';

/** What a function needs from the formula translator: failing at the call's position. */
export interface CallSite {
  readonly fail: (message: string) => Error;
}

/** The functions of this file, by formula name. */
export const TENSOR_FUNCTIONS: ReadonlySet<string> = new Set(['sum', 'mean', 'max', 'min', 'logsumexp', 'softmax', 'norm']);

/** A dim's size as a scalar: Σ 1 over the dim (hoisted with the invariants, computed once a call). */
export const dimSize = (b: Builder, dim: string): Node => b.sum(b.constant(1, [dim]));

/** The dimension argument of a reduction: the literal 1 or 2 (mathjs expressions count from 1). */
function dimension(name: string, x: Node, d: Node, site: CallSite): 1 | 2 {
  if (d.kind !== 'const' || d.shape.length !== 0 || (d.value !== 1 && d.value !== 2)) {
    const elementwise = name === 'max' || name === 'min' ? `; for the elementwise ${name}imum of X and a number, write ${name}imum(X, c)` : '';
    throw site.fail(`the dimension of ${name}(X, dim) must be the number 1 (along the columns: one value per column) or 2 (along the rows: one value per row)${elementwise}`);
  }
  if (x.shape.length === 1 && d.value === 2) throw site.fail(`${name}(v, 2): a vector has one dimension, so use ${name}(v) or ${name}(v, 1)`);
  if (x.shape.length === 0) throw site.fail(`${name} of a scalar: ${name} takes a vector or a matrix`);
  return d.value;
}

/** `x` as the matrix whose rows a reduction along `dim` runs over: X for dimension 2, Xᵀ (read in place) for 1. */
const rowsFor = (b: Builder, x: Node, dim: 1 | 2): Node => (dim === 2 ? x : b.transpose(x));

/**
 * A reduction of `x` by `all` (every entry) or `rows` (each row of a matrix), over all entries
 * or along a dimension: a vector for a matrix along a dimension, else a scalar.
 */
function reduce(b: Builder, name: string, args: readonly Node[], site: CallSite, all: (x: Node) => Node, rows: (m: Node) => Node): Node {
  if (args.length !== 1 && args.length !== 2) throw site.fail(`${name} takes 1 or 2 arguments (X, or X and a dimension), got ${args.length}`);
  const x = args[0]!;
  // as in mathjs, the sum, mean, maximum or minimum of one number is that number
  if (x.shape.length === 0 && args.length === 1 && ['sum', 'mean', 'max', 'min'].includes(name)) return x;
  if (x.shape.length === 0) throw site.fail(`${name} of a scalar: ${name} takes a vector or a matrix`);
  if (args.length === 1 || x.shape.length === 1) {
    if (args.length === 2) dimension(name, x, args[1]!, site);
    return all(x);
  }
  return rows(rowsFor(b, x, dimension(name, x, args[1]!, site)));
}

/** The number of entries a reduction of `x` along `dim` (or over all, when absent) takes together. */
function count(b: Builder, x: Node, dim: 1 | 2 | null): Node {
  if (dim === null) return x.shape.map((d) => dimSize(b, d)).reduce((p, q) => b.mul(p, q));
  return dimSize(b, x.shape[dim - 1]!);
}

/** log Σ exp along the rows of M, shifted by each row's maximum so that large entries do not overflow. */
function rowLogSumExp(b: Builder, m: Node): Node {
  const top = b.op('rowmax', m);
  const n = m.shape[1]!;
  const spread = (v: Node) => b.outer(v, b.constant(1, [n]));
  return b.add(top, b.op('log', b.op('rowsum', b.op('exp', b.sub(m, spread(top))))));
}

/** log Σ exp of every entry of x, shifted by their maximum. */
function logSumExp(b: Builder, x: Node): Node {
  const top = b.op('maxall', x);
  return b.add(top, b.op('log', b.sum(b.op('exp', b.sub(x, top)))));
}

/** Translates a call of one of TENSOR_FUNCTIONS on translated arguments. */
export function tensorFunction(b: Builder, name: string, args: readonly Node[], site: CallSite): Node {
  switch (name) {
    case 'sum':
      return reduce(b, name, args, site, (x) => b.sum(x), (m) => b.op('rowsum', m));
    case 'mean': {
      if (args[0]?.shape.length === 0) return reduce(b, name, args, site, (x) => x, (m) => m);
      const total = reduce(b, name, args, site, (x) => b.sum(x), (m) => b.op('rowsum', m));
      const along = args.length === 2 && args[0]!.shape.length === 2 ? dimension(name, args[0]!, args[1]!, site) : null;
      return b.div(total, count(b, args[0]!, along));
    }
    case 'max':
      return reduce(b, name, args, site, (x) => b.op('maxall', x), (m) => b.op('rowmax', m));
    case 'min':
      return reduce(b, name, args, site, (x) => b.op('minall', x), (m) => b.op('rowmin', m));
    case 'logsumexp':
      return reduce(b, name, args, site, (x) => logSumExp(b, x), (m) => rowLogSumExp(b, m));
    case 'softmax': {
      const x = args[0];
      if (x?.shape.length !== 2) return reduce(b, name, args, site, (v) => b.op('exp', b.sub(v, logSumExp(b, v))), (m) => m);
      if (args.length !== 2) throw site.fail('softmax of a matrix needs a dimension: softmax(Z, 2) normalises each row, softmax(Z, 1) each column');
      const dim = dimension(name, x, args[1]!, site);
      const m = rowsFor(b, x, dim);
      const out = b.op('exp', b.sub(m, b.outer(rowLogSumExp(b, m), b.constant(1, [m.shape[1]!]))));
      return dim === 2 ? out : b.transpose(out);
    }
    case 'norm': {
      if (args.length !== 1) throw site.fail(`norm takes 1 argument (a vector), got ${args.length}`);
      const v = args[0]!;
      if (v.shape.length !== 1) throw site.fail(`norm takes a vector (its 2-norm), got ${formatShape(v.shape)}; for a matrix's Frobenius norm write sqrt(sum(X .^ 2))`);
      return b.op('sqrt', b.dot(v, v));
    }
    default:
      throw new Error(`phic internal error: no tensor function ${name}`);
  }
}

/**
 * ones(n), zeros(n), ones(m, n), zeros(m, n): a filled vector or matrix whose sizes are dims,
 * given by name; identity(n), the n×n identity. `names` are the arguments' symbol names (null where an argument is not a name).
 */
export function filled(b: Builder, name: 'ones' | 'zeros' | 'identity', names: readonly (string | null)[], dims: ReadonlySet<string>, site: CallSite): Node {
  if (name === 'identity' && names.length !== 1) throw site.fail(`identity takes 1 dim (the n of an n×n identity), got ${names.length} arguments`);
  if (names.length !== 1 && names.length !== 2) throw site.fail(`${name} takes 1 or 2 dims (a vector or a matrix), got ${names.length} arguments`);
  for (const d of names) {
    if (d === null || !dims.has(d)) {
      throw site.fail(`${name} takes dims by name (${[...dims].join(', ') || 'the spec has none'}), got ${d === null ? 'an expression' : `'${d}'`}`);
    }
  }
  // the identity is the diagonal matrix of ones (diag, compiler/ops/solve.ts)
  if (name === 'identity') return b.op('diag', b.constant(1, names as string[]));
  return b.constant(name === 'ones' ? 1 : 0, names as string[]);
}

/**
 * Arguments of an elementwise op with a matrix among them: a vector whose length is the
 * matrix's row length is applied to every row (as numpy and mathjs broadcast), read in place as
 * outer(1, v). A vector as long as a column is refused with the form that applies it per column.
 */
export function broadcastRows(b: Builder, args: readonly Node[], site: CallSite): Node[] {
  const matrix = args.find((a) => a.shape.length === 2);
  if (!matrix) return [...args];
  const [m, n] = matrix.shape as [string, string];
  return args.map((a) => {
    if (a.shape.length !== 1) return a;
    if (a.shape[0] === n) return b.outer(b.constant(1, [m]), a);
    if (a.shape[0] === m) {
      throw site.fail(`a vector of length ${m} with an ${m}×${n} matrix: a vector applies to every row, so its length must be ${n}; to apply a vector v to every column, write outer(v, ones(${n}))`);
    }
    return a;
  });
}
