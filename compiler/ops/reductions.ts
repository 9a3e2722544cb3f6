// Reductions along the rows of a matrix (row sums, row maxima and minima) and over all entries
// (maximum, minimum; the sum over all entries is `sum` in linalg.ts). Formulas reach them
// through sum, mean, max, min, logsumexp and softmax with mathjs' dimension argument
// (compiler/parse/tensor-functions.ts); a reduction along columns is the row reduction of the
// transpose, read in place. A maximum's derivative goes to the entries that attain it, split
// evenly between ties, as maximum(a, b) does (piecewise.ts).

import { ShapeError, formatShape, type Node, type Shape } from '../ir/nodes.js';
import type { Builder } from '../ir/builder.js';
import { dim, ivar, num, type Stmt } from '../lower/loop-ir.js';
import { defineOp, type LoweringSite, type Tensor } from './registry.js';

const tensor = (shape: number[]): Tensor => ({ shape, data: new Float64Array(shape.reduce((p, d) => p * d, 1)) });

function matrixShape(s: Shape, what: string): readonly [string, string] {
  if (s.length !== 2) throw new ShapeError(`${what} takes a matrix, got ${formatShape(s)}`);
  return [s[0]!, s[1]!];
}

/** Entry (i, j) of v(i) repeated along the rows' length n: outer(v, 1ₙ), a view never stored. */
const alongRows = (b: Builder, v: Node, n: string) => b.outer(v, b.constant(1, [n]));

/** y(i) = combine over j of X(i, j): a running value per row, written to its entry of the result. */
function rowReduction(site: LoweringSite, x: Node, buffer: string, accumulate: boolean, combine: string | null) {
  const [rows, cols] = x.shape as [string, string];
  const [i, j] = [site.loopVar(0), site.loopVar(1)];
  const acc = site.local('s');
  // a sum starts at 0, a maximum at the row's first entry (then met again: max(a, a) = a)
  const init = combine ? site.expr(x, [ivar(i), num(0)]) : { kind: 'num' as const, value: 0 };
  const loops: Stmt[] = [{
    kind: 'for', index: i, extent: dim(rows),
    body: [
      { kind: 'let', name: acc, value: init, mutable: true },
      { kind: 'for', index: j, extent: dim(cols), body: [{ kind: 'add-to-local', name: acc, value: site.expr(x, [ivar(i), ivar(j)]), ...(combine ? { combine } : {}) }] },
      site.store(buffer, ivar(i), { kind: 'local', name: acc }, accumulate),
    ],
  }];
  site.product(null, loops);
}

// y = X 1 (row sums) is linear: ẏ = Ẋ 1, X̄ = ȳ 1ᵀ
defineOp({
  kind: 'structural',
  name: 'rowsum',
  keepsNonFinite: [0],
  arity: 1,
  multilinear: true,
  shape: ([x]) => [matrixShape(x!, 'a row sum')[0]],
  jvp: (b, _a, [dx]) => (dx ? b.op('rowsum', dx) : null),
  vjp: (b, [x], y) => [alongRows(b, y, x!.shape[1]!)],
  lowering: { form: 'product', mustLoad: () => [], write: (site, [x], buffer, accumulate) => rowReduction(site, x!, buffer, accumulate, null) },
  evaluate: ([x]) => rowwise(x!, (a, v) => a + v, 0),
});

/**
 * The weights of a maximum's (or minimum's) derivative: 1/c on the c entries of each row that
 * attain it (`attains` compares an entry with the row's value), 0 elsewhere.
 */
function rowWeights(b: Builder, x: Node, y: Node, attains: 'ge' | 'le'): Node {
  const n = x.shape[1]!;
  const mask = b.op(attains, x, alongRows(b, y, n));
  return b.div(mask, alongRows(b, b.op('rowsum', mask), n));
}

// y(i) = max_j X(i, j): ẏ = Σ_j w(i, j) Ẋ(i, j) and X̄ = w ∘ ȳ 1ᵀ, w the attaining entries' shares
// each with its combining op, the comparison that finds the attaining entries, and its identity element
for (const [name, combine, attains, pick, identity] of [['rowmax', 'maximum', 'ge', Math.max, -Infinity], ['rowmin', 'minimum', 'le', Math.min, Infinity]] as const) {
  defineOp({
    kind: 'structural',
    name,
    arity: 1,
    multilinear: false,
    shape: ([x]) => [matrixShape(x!, `a row ${combine}`)[0]],
    jvp: (b, [x], [dx], y) => (dx ? b.op('rowsum', b.mul(rowWeights(b, x!, y, attains), dx)) : null),
    vjp: (b, [x], ybar, y) => [b.mul(rowWeights(b, x!, y, attains), alongRows(b, ybar, x!.shape[1]!))],
    lowering: { form: 'product', mustLoad: () => [], write: (site, [x], buffer, accumulate) => rowReduction(site, x!, buffer, accumulate, combine) },
    evaluate: ([x]) => rowwise(x!, pick, identity),
  });
}

// s = max of all entries: ṡ = Σ w ẋ, x̄ = w s̄, w = [x = s] / #{x = s}
for (const [name, combine, attains, pick, identity] of [['maxall', 'maximum', 'ge', Math.max, -Infinity], ['minall', 'minimum', 'le', Math.min, Infinity]] as const) {
  const weights = (b: Builder, x: Node, s: Node) => {
    const mask = b.op(attains, x, s);
    return b.div(mask, b.sum(mask));
  };
  defineOp({
    kind: 'structural',
    name,
    arity: 1,
    multilinear: false,
    shape: ([x]) => {
      if (x!.length === 0) throw new ShapeError(`the ${combine} of the entries takes a vector or a matrix, got a scalar`);
      return [];
    },
    jvp: (b, [x], [dx], s) => (dx ? b.sum(b.mul(weights(b, x!, s), dx)) : null),
    vjp: (b, [x], sbar, s) => [b.mul(weights(b, x!, s), sbar)],
    lowering: { form: 'scalar-reduction', combine, term: (site, [x], idx) => site.expr(x!, idx) },
    evaluate([x]) {
      const out = tensor([]);
      out.data[0] = x!.data.reduce((a, v) => pick(a, v), identity);
      return out;
    },
  });
}

/** The reference evaluation of a row reduction. */
function rowwise(x: Tensor, combine: (a: number, v: number) => number, init: number): Tensor {
  const [r, c] = x.shape as [number, number];
  const out = tensor([r]);
  for (let i = 0; i < r; i++) {
    let a = init;
    for (let j = 0; j < c; j++) a = combine(a, x.data[i * c + j]!);
    out.data[i] = a;
  }
  return out;
}
