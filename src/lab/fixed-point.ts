// The fixed point x* = Φ(x*, θ) and the implicit-function Jacobian J* = (I − ∂ₓΦ)⁻¹ ∂θΦ
// there, computed with the problem's generated code: plain iteration in chunks, accelerated
// by Newton steps on the residual Φ(x) − x using the generated ∂ₓΦ (exact in one step for
// affine maps), then the partial Jacobians at x* and one LU solve.

import { denseMatrix, implicitJacobian, matVec, spectralNorm, type DenseMatrix } from '../../runtime/reference.js';
import { EigenvalueDecomposition, LuDecomposition, Matrix } from 'ml-matrix';
import { concat, initialState, split, type LabProblem, type Named } from './problem.js';
import { norm } from './stats.js';
import { gmres, operatorNorm, spectralRadiusEstimate, stepProducts } from './matrix-free.js';

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
  /** How J* is obtained: dense partial Jacobians and one LU solve, or matrix-free GMRES solves. */
  readonly method: 'dense LU' | 'GMRES';
  /** ∂ₓΦ and ∂θΦ at x* (dense, over the concatenated state and params); absent for GMRES. */
  readonly A?: DenseMatrix;
  readonly B?: DenseMatrix;
  /** J* = (I − A)⁻¹ B; absent for GMRES (only its products are formed). */
  readonly J?: DenseMatrix;
  /** J*v and uᵀJ* (from J, or each by a GMRES solve of (I − ∂ₓΦ) or its transpose). */
  jv(v: Float64Array): Float64Array;
  uJ(u: Float64Array): Float64Array;
  /** The largest relative residual ‖r − (I − ∂ₓΦ)z‖/‖r‖ of the solves so far (0 for dense LU). */
  solveResidual(): number;
  readonly jNorm: number;
  /** ‖A‖₂: the Lipschitz modulus at the fixed point in the 2-norm (what Theorems 7–8 assume < 1). */
  readonly rhoStar: number;
  /** sr(A), the largest |eigenvalue|: the local convergence rate (Polyak 1987, Ch. 2, Thm 1). */
  readonly srStar: number;
}

/**
 * Above this many entries of J* (state size × param size) the lab forms no dense partial
 * Jacobians and no LU: J*v and uᵀJ* come from GMRES on the generated one-step products.
 */
export const DENSE_REFERENCE_LIMIT = 1_000_000;
/** Relative residual each GMRES solve for J* must reach. */
export const SOLVE_TOLERANCE = 1e-12;

export async function solveFixedPoint(problem: LabProblem, options: { tolerance?: number; maxIterations?: number; matrixFree?: boolean } = {}): Promise<FixedPoint> {
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
    // Matrix-free (large problems): the Newton system by GMRES on the generated products at x.
    const candidate = options.matrixFree
      ? await newtonKrylovStep(problem, x, step)
      : newtonStep(concat(x, model.state), one.partialX(inputs as never, x as never), step);
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


async function newtonKrylovStep(problem: LabProblem, x: Named, f: Float64Array): Promise<Float64Array | null> {
  const p = await stepProducts(problem, x);
  const { x: delta } = gmres((z) => { const a = p.ax(z); return z.map((v, i) => v - a[i]!); }, f, { tol: 1e-10, maxIterations: 500 });
  const out = concat(x, problem.model.state).map((v, i) => v + delta[i]!);
  return out.every(Number.isFinite) ? out : null;
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

/** x*, the partial Jacobians there and J* (dense LU), or their products (GMRES) above DENSE_REFERENCE_LIMIT. */
export async function reference(problem: LabProblem, fixedPoint?: FixedPoint, options: { method?: Reference['method'] } = {}): Promise<Reference> {
  const method = options.method ?? (problem.stateSize * problem.paramSize > DENSE_REFERENCE_LIMIT ? 'GMRES' : 'dense LU');
  const fp = fixedPoint ?? (await solveFixedPoint(problem, { matrixFree: method === 'GMRES' }));
  if (method === 'GMRES') return iterativeReference(problem, fp);
  const inst = await problem.instance(1, 0, 'forward');
  const a = inst.partialX(problem.inputs as never, fp.state as never);
  const b = inst.partialTheta(problem.inputs as never, fp.state as never);
  const A = denseMatrix(a.rows, a.cols, a.data);
  const B = denseMatrix(b.rows, b.cols, b.data);
  const J = implicitJacobian(A, B);
  return {
    fixedPoint: fp, method, A, B, J, jv: (v) => matVec(J, v), uJ: (u) => vecMat(u, J), solveResidual: () => 0,
    jNorm: spectralNorm(J), rhoStar: spectralNorm(A), srStar: spectralRadius(A),
  };
}

/** J*v = (I − A)⁻¹Bv and uᵀJ* = ((I − A)⁻ᵀu)ᵀB by GMRES on the generated products at x*. */
async function iterativeReference(problem: LabProblem, fp: FixedPoint): Promise<Reference> {
  const p = await stepProducts(problem, fp.state);
  let worst = 0;
  const solve = (apply: (z: Float64Array) => Float64Array, r: Float64Array) => {
    const out = gmres((z) => { const a = apply(z); return z.map((v, i) => v - a[i]!); }, r, { tol: SOLVE_TOLERANCE });
    worst = Math.max(worst, out.residual);
    return out.x;
  };
  const jv = (v: Float64Array) => solve(p.ax, p.bx(v));
  const uJ = (u: Float64Array) => p.bxT(solve(p.axT, u));
  return {
    fixedPoint: fp, method: 'GMRES', jv, uJ, solveResidual: () => worst,
    jNorm: operatorNorm(jv, uJ, problem.paramSize, 30, 1e-8),
    rhoStar: operatorNorm(p.ax, p.axT, problem.stateSize),
    srStar: spectralRadiusEstimate(p.ax, problem.stateSize),
  };
}

/** uᵀM. */
export function vecMat(u: ArrayLike<number>, m: DenseMatrix): Float64Array {
  const out = new Float64Array(m.cols);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.cols; j++) out[j]! += u[i]! * m.data[i * m.cols + j]!;
  return out;
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
