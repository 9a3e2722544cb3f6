// The hand-written baseline for every workload, in the style of ../handwritten-ridge.ts
// (which P5 reuses as it is): plain Float64Array loops, matrices row-major and read with unit
// stride, every buffer allocated once per instance, nothing allocated inside the loops. Dims,
// K, t and α are ordinary run-time values (nothing is specialised).

import { createHandwrittenRidge, matTVec, matVec } from '../handwritten-ridge.js';
import type { Arrays, WorkloadMeta } from './workloads.js';

export interface Outputs {
  /** x_K (absent where a peer gives only the loss). */
  state?: ArrayLike<number>;
  /** ½‖x_K‖² (P1). */
  loss?: number;
  /** The derivative, flattened as workloads.ts describes. */
  deriv: ArrayLike<number>;
}



/** P1: ridge GD, hypergradient of ½‖x_K‖² with the first t iterations idle. */
function ridgeHypergradient(meta: WorkloadMeta, arrays: Arrays): () => Outputs {
  const { m, n } = meta.dims as { m: number; n: number };
  const { K, t, alpha } = meta;
  const { A, b, theta } = arrays as { A: Float64Array; b: Float64Array; theta: Float64Array };
  const x = new Float64Array(n);
  const xBar = new Float64Array(n);
  const thetaBar = new Float64Array(n);
  const r = new Float64Array(m);
  const g = new Float64Array(n);
  const tape = new Float64Array((K - t) * n); // x_t … x_{K−1}
  const step = () => {
    matVec(A, x, r, m, n);
    for (let i = 0; i < m; i++) r[i] = r[i]! - b[i]!;
    matTVec(A, r, g, m, n);
    for (let j = 0; j < n; j++) x[j] = x[j]! - alpha * (g[j]! + theta[j]! * x[j]!);
  };
  return () => {
    x.fill(0);
    for (let k = 0; k < t; k++) step();
    for (let k = t; k < K; k++) {
      tape.set(x, (k - t) * n);
      step();
    }
    const xK = x.slice();
    let loss = 0;
    for (let j = 0; j < n; j++) loss += 0.5 * xK[j]! * xK[j]!;
    xBar.set(xK);
    thetaBar.fill(0);
    for (let k = K - 1; k >= t; k--) {
      const at = (k - t) * n;
      for (let j = 0; j < n; j++) thetaBar[j] = thetaBar[j]! - alpha * xBar[j]! * tape[at + j]!;
      matVec(A, xBar, r, m, n);
      matTVec(A, r, g, m, n);
      for (let j = 0; j < n; j++) xBar[j] = xBar[j]! - alpha * (g[j]! + theta[j]! * xBar[j]!);
    }
    return { state: xK, loss, deriv: thetaBar.slice() };
  };
}

/** P2: least-squares GD x ← x − α Aᵀ(Ax − b), JVP along (Ȧ, ḃ). */
function leastSquaresJvp(meta: WorkloadMeta, arrays: Arrays): () => Outputs {
  const { m, n } = meta.dims as { m: number; n: number };
  const { K, alpha } = meta;
  const { A, b, Adot, bdot } = arrays as { A: Float64Array; b: Float64Array; Adot: Float64Array; bdot: Float64Array };
  const x = new Float64Array(n);
  const xDot = new Float64Array(n);
  const r = new Float64Array(m);
  const rDot = new Float64Array(m);
  const tmp = new Float64Array(m);
  const g = new Float64Array(n);
  const gDot = new Float64Array(n);
  const gTmp = new Float64Array(n);
  return () => {
    x.fill(0);
    xDot.fill(0);
    for (let k = 0; k < K; k++) {
      matVec(A, x, r, m, n);
      for (let i = 0; i < m; i++) r[i] = r[i]! - b[i]!;
      matVec(Adot, x, rDot, m, n); // ṙ = Ȧx + Aẋ − ḃ
      matVec(A, xDot, tmp, m, n);
      for (let i = 0; i < m; i++) rDot[i] = rDot[i]! + tmp[i]! - bdot[i]!;
      matTVec(A, r, g, m, n);
      matTVec(Adot, r, gDot, m, n); // ġ = Ȧᵀr + Aᵀṙ
      matTVec(A, rDot, gTmp, m, n);
      for (let j = 0; j < n; j++) {
        x[j] = x[j]! - alpha * g[j]!;
        xDot[j] = xDot[j]! - alpha * (gDot[j]! + gTmp[j]!);
      }
    }
    return { state: x.slice(), deriv: xDot.slice() };
  };
}

/** P3: ridge GD, full Jacobian dx_K/dθ in forward mode: Ẋ ← Ẋ − α(Aᵀ(AẊ) + θ∘Ẋ + diag x). */
function ridgeJacobian(meta: WorkloadMeta, arrays: Arrays): () => Outputs {
  const { m, n } = meta.dims as { m: number; n: number };
  const p = n;
  const { K, alpha } = meta;
  const { A, b, theta } = arrays as { A: Float64Array; b: Float64Array; theta: Float64Array };
  const x = new Float64Array(n);
  const r = new Float64Array(m);
  const g = new Float64Array(n);
  const J = new Float64Array(n * p);
  const Y = new Float64Array(m * p); // A Ẋ
  const Z = new Float64Array(n * p); // Aᵀ A Ẋ
  return () => {
    x.fill(0);
    J.fill(0);
    for (let k = 0; k < K; k++) {
      // Y = A J: row i of Y is Σ_l A[i,l] · row l of J.
      Y.fill(0);
      for (let i = 0; i < m; i++) {
        const yi = i * p;
        for (let l = 0; l < n; l++) {
          const a = A[i * n + l]!;
          const jl = l * p;
          for (let j = 0; j < p; j++) Y[yi + j] += a * J[jl + j]!;
        }
      }
      // Z = Aᵀ Y: row l of Z is Σ_i A[i,l] · row i of Y.
      Z.fill(0);
      for (let i = 0; i < m; i++) {
        const yi = i * p;
        for (let l = 0; l < n; l++) {
          const a = A[i * n + l]!;
          const zl = l * p;
          for (let j = 0; j < p; j++) Z[zl + j] += a * Y[yi + j]!;
        }
      }
      for (let l = 0; l < n; l++) {
        const row = l * p;
        const th = theta[l]!;
        for (let j = 0; j < p; j++) J[row + j] = J[row + j]! - alpha * (Z[row + j]! + th * J[row + j]!);
        J[row + l] = J[row + l]! - alpha * x[l]!;
      }
      matVec(A, x, r, m, n);
      for (let i = 0; i < m; i++) r[i] = r[i]! - b[i]!;
      matTVec(A, r, g, m, n);
      for (let j = 0; j < n; j++) x[j] = x[j]! - alpha * (g[j]! + theta[j]! * x[j]!);
    }
    return { state: x.slice(), deriv: J.slice() };
  };
}

/** P4: x ← tanh(Wx + Uθ + c), VJP with respect to W and c (Uθ is computed once per call). */
function tanhVjp(meta: WorkloadMeta, arrays: Arrays): () => Outputs {
  const { n, p } = meta.dims as { n: number; p: number };
  const { K } = meta;
  const { W, U, theta, c, cotangent } = arrays as Record<string, Float64Array>;
  const u = new Float64Array(n);
  const z = new Float64Array(n);
  const tape = new Float64Array((K + 1) * n); // x_0 … x_K
  const xBar = new Float64Array(n);
  const delta = new Float64Array(n);
  const WBar = new Float64Array(n * n);
  const cBar = new Float64Array(n);
  return () => {
    matVec(U!, theta!, u, n, p);
    tape.fill(0, 0, n);
    for (let k = 0; k < K; k++) {
      const xk = tape.subarray(k * n, (k + 1) * n);
      matVec(W!, xk, z, n, n);
      const next = (k + 1) * n;
      for (let i = 0; i < n; i++) tape[next + i] = Math.tanh(z[i]! + u[i]! + c![i]!);
    }
    xBar.set(cotangent!);
    WBar.fill(0);
    cBar.fill(0);
    for (let k = K - 1; k >= 0; k--) {
      const next = (k + 1) * n;
      const at = k * n;
      for (let i = 0; i < n; i++) {
        const y = tape[next + i]!;
        delta[i] = xBar[i]! * (1 - y * y);
        cBar[i] += delta[i]!;
      }
      xBar.fill(0);
      for (let i = 0; i < n; i++) {
        const d = delta[i]!;
        const row = i * n;
        for (let j = 0; j < n; j++) {
          WBar[row + j] += d * tape[at + j]!;
          xBar[j] += W![row + j]! * d;
        }
      }
    }
    const deriv = new Float64Array(n * n + n);
    deriv.set(WBar);
    deriv.set(cBar, n * n);
    return { state: tape.slice(K * n), deriv };
  };
}

/** P5: ridge VJP, through ../handwritten-ridge.ts (t = 0). */
function ridgeVjp(meta: WorkloadMeta, arrays: Arrays): () => Outputs {
  const { m, n } = meta.dims as { m: number; n: number };
  const hand = createHandwrittenRidge(m, n, meta.K, meta.alpha);
  const problem = { A: arrays.A!, b: arrays.b!, theta: arrays.theta! };
  const cotangent = arrays.cotangent!;
  return () => {
    const r = hand.vjp(problem, cotangent);
    return { state: r.x, deriv: r.thetaBar };
  };
}

export function handwritten(meta: WorkloadMeta, arrays: Arrays): () => Outputs {
  if (meta.problem === 'ridge' && meta.derivative === 'hypergradient') return ridgeHypergradient(meta, arrays);
  if (meta.problem === 'least_squares') return leastSquaresJvp(meta, arrays);
  if (meta.problem === 'ridge' && meta.derivative === 'jacobian') return ridgeJacobian(meta, arrays);
  if (meta.problem === 'tanh') return tanhVjp(meta, arrays);
  if (meta.problem === 'ridge' && meta.derivative === 'vjp' && meta.t === 0) return ridgeVjp(meta, arrays);
  throw new Error(`no hand-written code for ${meta.id}`);
}
