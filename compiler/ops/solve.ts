// Small dense linear algebra: lusolve(A, b), inv(A) and diag, with exact derivative rules.
// lusolve and inv run a dense LU with partial pivoting (ops/lu-source.ts): O(n³) per solve,
// meant for the small systems of Newton-type steps. Its row swaps depend on the data, so a
// solve is one loop-IR statement that every CPU path runs as a call of that routine; the GPU
// backend refuses these ops. diag is linear: diag(v) is the n×n matrix with v on its
// diagonal, diag(M) the diagonal of a square M, and each is the other's transpose (VJP).

import { PhicError, type ErrorCategory } from '../errors.js';
import { ShapeError, formatShape, type Node, type OpNode, type Shape } from '../ir/nodes.js';
import { dim, num } from '../lower/loop-ir.js';
import { at, expectRank, tensor } from './linalg.js';
import { luSolveFunction } from './lu-source.js';
import { defineOp, type LoweringSite, type Tensor } from './registry.js';

const luSolve = luSolveFunction((category, message) => {
  throw new PhicError(category as ErrorCategory, message);
});

const SOLVE_ON_GPU = 'LU with partial pivoting chooses its row swaps from the data, which the GPU kernels (one output entry per thread) cannot express; compile for the CPU (--backend cpu)';

function expectSquare(s: Shape, what: string) {
  expectRank(s, 2, what);
  if (s[0] !== s[1]) throw new ShapeError(`${what} must be square, got ${formatShape(s)}`);
}

/** The matrix a solve reads: M for a transpose view Mᵀ (solved transposed, read in place), else the operand. */
const solvedMatrix = (site: LoweringSite, a: Node): Node => (site.isView(a, 'transpose') ? (a as OpNode).args[0]! : a);

/** The buffer `node` is read from; a value with none (a constant, an inlined expression) is copied into scratch first. */
function inBuffer(site: LoweringSite, node: Node): string {
  const buffer = site.bufferOf(node);
  if (buffer) return buffer;
  const copy = site.scratch(node.shape, 't');
  site.product(null, site.loops(node.shape, (idx) => [site.store(copy, site.flat(idx, node.shape), site.expr(node, idx), false)]));
  return copy;
}

/** `buffer` (+)= A⁻¹B (B null: the identity) as a solve statement; accumulated through a scratch result. */
function writeSolve(site: LoweringSite, op: string, a: Node, b: Node | null, out: Shape, buffer: string, accumulate: boolean) {
  const n = a.shape[0]!;
  const transposed = site.isView(a, 'transpose');
  const target = accumulate ? site.scratch(out, 't') : buffer;
  site.routine({
    kernel: 'solve', op, A: at(inBuffer(site, solvedMatrix(site, a))), B: b ? at(inBuffer(site, b)) : null, X: at(target),
    lu: at(site.scratch([n, n], 'lu')), n: dim(n), nrhs: out.length === 1 ? num(1) : dim(out[1]!), transposed,
  });
  if (accumulate) site.product(null, site.loops(out, (idx) => [site.store(buffer, site.flat(idx, out), { kind: 'load', buffer: target, index: site.flat(idx, out) }, true)]));
}

/** A⁻¹B in float64 by the routine generated modules run (B null: the identity). */
function solveTensors(op: string, a: Tensor, b: Tensor | null, shape: readonly number[]): Tensor {
  const n = a.shape[0]!;
  const out = tensor([...shape]);
  luSolve(op, a.data, 0, b ? b.data : null, 0, out.data, 0, new Float64Array(n * n), n, shape.length === 1 ? 1 : shape[1]!, false);
  return out;
}

// Y = A⁻¹B (B a vector or a matrix); Ẏ = A⁻¹(Ḃ − Ȧ Y); B̄ = A⁻ᵀ Ȳ (one solve with Aᵀ), Ā = −B̄ Yᵀ
defineOp({
  kind: 'structural',
  multilinear: false,
  name: 'lusolve',
  arity: 2,
  domain: 'invertible',
  gpuRefusal: SOLVE_ON_GPU,
  shape([a, b]) {
    expectSquare(a!, 'the matrix of lusolve');
    if (b!.length !== 1 && b!.length !== 2) throw new ShapeError(`the right-hand side of lusolve must be a vector or a matrix, got ${formatShape(b!)}`);
    if (b![0] !== a![0]) throw new ShapeError(`lusolve of a ${formatShape(a!)} matrix needs a right-hand side with ${a![0]} rows, got ${formatShape(b!)}`);
    return b!;
  },
  jvp(b, [a], [da, db], y) {
    const moved = da ? (y.shape.length === 1 ? b.matvec(da, y) : b.matmul(da, y)) : null;
    const rhs = moved ? (db ? b.sub(db, moved) : b.neg(moved)) : db;
    return rhs ? b.op('lusolve', a!, rhs) : null;
  },
  vjp(b, [a], ybar, y) {
    const bbar = b.op('lusolve', b.transpose(a!), ybar);
    return [b.neg(y.shape.length === 1 ? b.outer(bbar, y) : b.matmul(bbar, b.transpose(y))), bbar];
  },
  lowering: {
    form: 'product',
    mustLoad: (site, [a, b]) => [solvedMatrix(site, a!), b!],
    write: (site, [a, b], buffer, accumulate) => writeSolve(site, 'lusolve', a!, b!, b!.shape, buffer, accumulate),
  },
  evaluate: ([a, b]) => solveTensors('lusolve', a!, b!, b!.shape),
});

// Y = A⁻¹ (a solve with the identity); Ẏ = −Y Ȧ Y; Ā = −Yᵀ Ȳ Yᵀ: its derivatives need no solve
defineOp({
  kind: 'structural',
  multilinear: false,
  name: 'inv',
  arity: 1,
  domain: 'invertible',
  gpuRefusal: SOLVE_ON_GPU,
  shape([a]) {
    expectSquare(a!, 'the operand of inv');
    return a!;
  },
  jvp: (b, _a, [da], y) => (da ? b.neg(b.matmul(y, b.matmul(da, y))) : null),
  vjp(b, _a, ybar, y) {
    const yt = b.transpose(y);
    return [b.neg(b.matmul(yt, b.matmul(ybar, yt)))];
  },
  lowering: {
    form: 'product',
    mustLoad: (site, [a]) => [solvedMatrix(site, a!)],
    write: (site, [a], buffer, accumulate) => writeSolve(site, 'inv', a!, null, a!.shape, buffer, accumulate),
  },
  evaluate: ([a]) => solveTensors('inv', a!, null, a!.shape),
});

// diag(v) = the matrix with v on its diagonal, diag(M) = M's diagonal: linear, each the other's transpose
defineOp({
  kind: 'structural',
  multilinear: true,
  name: 'diag',
  arity: 1,
  gpuRefusal: 'diag(v) writes only the diagonal of its result, which the GPU kernels cannot express, and reverse mode turns diag(M) into diag(v); compile for the CPU (--backend cpu)',
  shape([x]) {
    if (x!.length === 1) return [x![0]!, x![0]!];
    if (x!.length === 2) {
      expectSquare(x!, 'the matrix of diag');
      return [x![0]!];
    }
    throw new ShapeError(`diag takes a vector or a square matrix, got ${formatShape(x!)}`);
  },
  jvp: (b, _a, [dx]) => (dx ? b.op('diag', dx) : null),
  vjp: (b, _a, ybar) => [b.op('diag', ybar)],
  lowering: {
    form: 'product',
    // each entry of the argument is read once
    mustLoad: () => [],
    write(site, [x], buffer, accumulate) {
      const n = x!.shape[0]!;
      const square = [n, n];
      if (x!.shape.length === 2) return site.product(null, site.loops([n], ([i]) => [site.store(buffer, i!, site.expr(x!, [i!, i!]), accumulate)]));
      if (!accumulate) site.fill(buffer, square, { kind: 'num', value: 0 });
      site.product(null, site.loops([n], ([i]) => [site.store(buffer, site.flat([i!, i!], square), site.expr(x!, [i!]), accumulate)]));
    },
  },
  evaluate([x]) {
    const n = x!.shape[0]!;
    const vector = x!.shape.length === 1;
    const out = tensor(vector ? [n, n] : [n]);
    for (let i = 0; i < n; i++) {
      if (vector) out.data[i * n + i] = x!.data[i]!;
      else out.data[i] = x!.data[i * n + i]!;
    }
    return out;
  },
});
