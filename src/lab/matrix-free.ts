// Matrix-free linear algebra on the generated one-step products, for problems too large for
// dense partial Jacobians and LU: ∂ₓΦ z and ∂θΦ v from the one-step jvp (a direction on x⁰ and
// on θ), (∂ₓΦ)ᵀy and (∂θΦ)ᵀy from the one-step vjp (x0Gradient and gradient), GMRES(m) for
// (I − ∂ₓΦ)z = r and its transpose, and power iterations for norms and the spectral radius.

import { concat, split, type LabInstance, type LabProblem, type Named } from './problem.js';
import { dot, norm } from './stats.js';

/** The four products of the partial Jacobians of Φ at one point. */
export interface StepProducts {
  readonly S: number;
  readonly P: number;
  /** ∂ₓΦ z. */
  ax(z: Float64Array): Float64Array;
  /** (∂ₓΦ)ᵀ y. */
  axT(y: Float64Array): Float64Array;
  /** ∂θΦ v. */
  bx(v: Float64Array): Float64Array;
  /** (∂θΦ)ᵀ y. */
  bxT(y: Float64Array): Float64Array;
}

export async function stepProducts(problem: LabProblem, point: Named): Promise<StepProducts> {
  const { model, inputs, dims } = problem;
  const fwd: LabInstance = await problem.instance(1, 0, 'forward');
  const rev: LabInstance = await problem.instance(1, 0, 'reverse');
  const S = problem.stateSize;
  const P = problem.paramSize;
  const zerosX = () => split(new Float64Array(S), model.state, dims);
  const zerosT = () => split(new Float64Array(P), model.params, dims);
  const jvp = (dir: Named) => concat(fwd.jvp!(inputs as never, dir as never, point as never).tangent, model.state);
  const vjp = (y: Float64Array) => rev.vjp!(inputs as never, split(y, model.state, dims) as never, point as never);
  return {
    S, P,
    ax: (z) => jvp({ ...zerosT(), ...split(z, model.state, dims) }),
    bx: (v) => jvp({ ...zerosX(), ...split(v, model.params, dims) }),
    axT: (y) => concat(vjp(y).x0Gradient, model.state),
    bxT: (y) => concat(vjp(y).gradient, model.params),
  };
}

export interface SolveResult {
  readonly x: Float64Array;
  /** ‖b − M x‖ / ‖b‖ at the end (recomputed, not the recursion's estimate). */
  readonly residual: number;
  readonly iterations: number;
}

/**
 * Restarted GMRES(m) for M x = b (modified Gram–Schmidt, Givens rotations), from x = 0, until
 * the relative residual is ≤ tol or maxIterations products were spent.
 */
export function gmres(apply: (x: Float64Array) => Float64Array, b: Float64Array, options: { tol?: number; restart?: number; maxIterations?: number } = {}): SolveResult {
  const tol = options.tol ?? 1e-12;
  const m = options.restart ?? 50;
  const maxIterations = options.maxIterations ?? 5000;
  const n = b.length;
  const bNorm = norm(b);
  const x = new Float64Array(n);
  if (bNorm === 0) return { x, residual: 0, iterations: 0 };
  let iterations = 0;
  let residual = 1;
  while (iterations < maxIterations) {
    const Mx = apply(x);
    const r = b.map((v, i) => v - Mx[i]!);
    const beta = norm(r);
    residual = beta / bNorm;
    if (residual <= tol) break;
    const V: Float64Array[] = [r.map((v) => v / beta)];
    const H: number[][] = [];
    const cs: number[] = [];
    const sn: number[] = [];
    const g = [beta];
    let k = 0;
    for (; k < m && iterations < maxIterations; k++) {
      iterations++;
      const w = apply(V[k]!);
      const h = new Array<number>(k + 2).fill(0);
      for (let i = 0; i <= k; i++) {
        h[i] = dot(w, V[i]!);
        for (let q = 0; q < n; q++) w[q]! -= h[i]! * V[i]![q]!;
      }
      const wNorm = norm(w);
      h[k + 1] = wNorm;
      for (let i = 0; i < k; i++) {
        const t = cs[i]! * h[i]! + sn[i]! * h[i + 1]!;
        h[i + 1] = -sn[i]! * h[i]! + cs[i]! * h[i + 1]!;
        h[i] = t;
      }
      const d = Math.hypot(h[k]!, wNorm);
      cs[k] = d === 0 ? 1 : h[k]! / d;
      sn[k] = d === 0 ? 0 : wNorm / d;
      h[k] = d;
      h[k + 1] = 0;
      g[k + 1] = -sn[k]! * g[k]!;
      g[k] = cs[k]! * g[k]!;
      H.push(h);
      V.push(wNorm === 0 ? new Float64Array(n) : w.map((v) => v / wNorm));
      // Converged (the recursion's residual estimate; the restart recomputes it) or an exact breakdown.
      if (Math.abs(g[k + 1]!) / bNorm <= tol * 0.1 || wNorm === 0) {
        k++;
        break;
      }
    }
    // Back substitution on the k×k upper triangle, then x += V y.
    const y = new Array<number>(k).fill(0);
    for (let i = k - 1; i >= 0; i--) {
      let s = g[i]!;
      for (let j = i + 1; j < k; j++) s -= H[j]![i]! * y[j]!;
      y[i] = s / H[i]![i]!;
    }
    for (let j = 0; j < k; j++) for (let q = 0; q < n; q++) x[q]! += y[j]! * V[j]![q]!;
  }
  const Mx = apply(x);
  residual = norm(b.map((v, i) => v - Mx[i]!)) / bNorm;
  return { x, residual, iterations };
}

/** ‖M‖₂ by power iteration on MᵀM (a lower estimate that converges to it). */
export function operatorNorm(apply: (x: Float64Array) => Float64Array, applyT: (y: Float64Array) => Float64Array, cols: number, iterations = 100, tol = 1e-10): number {
  let v: Float64Array = Float64Array.from({ length: cols }, (_, i) => Math.sin(i + 1) + 0.5);
  let s = norm(v);
  if (s === 0) return 0;
  v = v.map((x) => x / s);
  let sigma = 0;
  for (let it = 0; it < iterations; it++) {
    const w = apply(v);
    const next = norm(w);
    const back = applyT(w);
    s = norm(back);
    if (s === 0) return next;
    v = back.map((x) => x / s);
    const done = Math.abs(next - sigma) <= tol * next;
    sigma = next;
    if (done) break;
  }
  return sigma;
}

/** sr(M) ≈ (‖M^{2k}z‖ / ‖M^k z‖)^{1/k}: robust to complex pairs of equal modulus, an estimate. */
export function spectralRadiusEstimate(apply: (x: Float64Array) => Float64Array, n: number, k = 100): number {
  let z: Float64Array = Float64Array.from({ length: n }, (_, i) => Math.cos(3 * i + 1) + 0.25);
  let logAt = 0;
  let logK = 0;
  for (let it = 1; it <= 2 * k; it++) {
    z = apply(z);
    const s = norm(z);
    if (s === 0) return 0;
    logAt += Math.log(s);
    z = z.map((x) => x / s);
    if (it === k) logK = logAt;
  }
  return Math.exp((logAt - logK) / k);
}
