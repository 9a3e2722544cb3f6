// The fixed point x* = Φ(x*, θ) and the implicit-function Jacobian J* = (I − ∂ₓΦ)⁻¹ ∂θΦ
// there, computed with the problem's generated code: plain iteration in chunks, accelerated
// by Newton steps on the residual Φ(x) − x using the generated ∂ₓΦ (exact in one step for
// affine maps), then the partial Jacobians at x* and one LU solve.

import { denseMatrix, implicitJacobian, spectralNorm, type DenseMatrix } from '../../runtime/reference.js';
import { EigenvalueDecomposition, LuDecomposition, Matrix } from 'ml-matrix';
import { concat, initialState, split, type LabProblem, type Named } from './problem.js';
import { norm } from './stats.js';

export interface FixedPoint {
  /** x* per state component, and concatenated. */
  readonly state: Named;
  readonly vector: Float64Array;
  /** ‖Φ(x*) − x*‖ / max(1, ‖x*‖). */
  readonly residual: number;
  readonly converged: boolean;
  readonly iterations: number;
}

export interface Reference {
  readonly fixedPoint: FixedPoint;
  /** ∂ₓΦ and ∂θΦ at x* (dense, over the concatenated state and params). */
  readonly A: DenseMatrix;
  readonly B: DenseMatrix;
  /** J* = (I − A)⁻¹ B. */
  readonly J: DenseMatrix;
  readonly jNorm: number;
  /** ‖A‖₂: the Lipschitz modulus at the fixed point in the 2-norm (what Theorems 7–8 assume < 1). */
  readonly rhoStar: number;
  /** sr(A), the largest |eigenvalue|: the local convergence rate (Polyak 1987, Ch. 2, Thm 1). */
  readonly srStar: number;
}


export async function solveFixedPoint(problem: LabProblem, options: { tolerance?: number; maxIterations?: number } = {}): Promise<FixedPoint> {
  const tolerance = options.tolerance ?? 1e-13;
  const maxIterations = options.maxIterations ?? 100_000;
  const { model, inputs, dims } = problem;
  const one = await problem.instance(1, 0, 'forward');
  const chunk = 100;
  const many = await problem.instance(chunk, 0, 'forward');
  let x = initialState(problem);
  const residualOf = (state: Named) => {
    const next = one.iterate(inputs as never, state as never).state;
    const v = concat(state, model.state);
    const d = concat(next, model.state).map((y, i) => y - v[i]!);
    return { r: norm(d) / Math.max(1, norm(v)), step: d };
  };
  let { r, step } = residualOf(x);
  let iterations = 0;
  while (r > tolerance && iterations < maxIterations) {
    // Newton on F(x) = Φ(x) − x: x ← x + (I − ∂ₓΦ)⁻¹ F(x); kept only if it helps.
    const a = one.partialX(inputs as never, x as never);
    const candidate = newtonStep(concat(x, model.state), a, step);
    if (candidate) {
      const named = split(candidate, model.state, dims);
      const c = residualOf(named);
      if (c.r < r) {
        x = named;
        ({ r, step } = c);
        iterations++;
        if (r <= tolerance) break;
      }
    }
    x = many.iterate(inputs as never, x as never).state;
    iterations += chunk;
    ({ r, step } = residualOf(x));
  }
  return { state: x, vector: concat(x, model.state), residual: r, converged: r <= tolerance, iterations };
}


function newtonStep(x: Float64Array, a: { rows: number; cols: number; data: Float64Array }, f: Float64Array): Float64Array | null {
  const n = a.rows;
  const m = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) m.set(i, j, (i === j ? 1 : 0) - a.data[i * n + j]!);
  const lu = new LuDecomposition(m);
  if (lu.isSingular()) return null;
  const delta = lu.solve(Matrix.columnVector(Array.from(f)));
  const out = x.slice();
  for (let i = 0; i < n; i++) out[i] += delta.get(i, 0);
  return out.every(Number.isFinite) ? out : null;
}

/** x*, the partial Jacobians there and J*. */
export async function reference(problem: LabProblem, fixedPoint?: FixedPoint): Promise<Reference> {
  const fp = fixedPoint ?? (await solveFixedPoint(problem));
  const inst = await problem.instance(1, 0, 'forward');
  const a = inst.partialX(problem.inputs as never, fp.state as never);
  const b = inst.partialTheta(problem.inputs as never, fp.state as never);
  const A = denseMatrix(a.rows, a.cols, a.data);
  const B = denseMatrix(b.rows, b.cols, b.data);
  const J = implicitJacobian(A, B);
  return { fixedPoint: fp, A, B, J, jNorm: spectralNorm(J), rhoStar: spectralNorm(A), srStar: spectralRadius(A) };
}

/**
 * sr(A) = max |λ| over the eigenvalues of A. ∂ₓΦ is not symmetric for momentum methods, so
 * its eigenvalues may be complex and its 2-norm may exceed 1 while sr(A) < 1: a dense
 * real-Schur eigen-solve (ml-matrix) rather than power iteration, which stalls on complex
 * conjugate pairs of equal modulus.
 */
export function spectralRadius(a: DenseMatrix): number {
  if (a.rows === 0) return 0;
  const m = new Matrix(a.rows, a.cols);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) m.set(i, j, a.data[i * a.cols + j]!);
  const e = new EigenvalueDecomposition(m);
  return e.realEigenvalues.reduce((p, re, i) => Math.max(p, Math.hypot(re, e.imaginaryEigenvalues[i]!)), 0);
}
