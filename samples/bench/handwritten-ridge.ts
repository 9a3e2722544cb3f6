// The baseline for the benchmark: ridge-regression gradient descent
//   x_{k+1} = x_k − α (Aᵀ(A x_k − b) + θ ∘ x_k),   x_0 = 0,
// differentiated by hand with respect to θ, as a competent engineer writes it in one sitting:
// plain Float64Array loops, Aᵀ(Ax − b) as two matrix-vector products (Aᵀy in row order, so A
// is read with unit stride), every buffer allocated once per instance, nothing allocated
// inside the loops. Dims, K and α are ordinary run-time values (nothing is specialised).
//   forward:  ẋ_{k+1} = ẋ_k − α (AᵀA ẋ_k + θ ∘ ẋ_k + θ̇ ∘ x_k),   ẋ_0 = 0
//   reverse:  tape x_0 … x_{K−1}; from x̄_K = ū, for k = K−1 … 0:
//             θ̄ −= α x̄_{k+1} ∘ x_k,   x̄_k = x̄_{k+1} − α (AᵀA x̄_{k+1} + θ ∘ x̄_{k+1})

export interface RidgeProblem {
  /** Row-major m×n. */
  readonly A: Float64Array;
  readonly b: Float64Array;
  readonly theta: Float64Array;
}

export interface HandwrittenRidge {
  /** x_K and dx_K/dθ · thetaDot. */
  jvp(p: RidgeProblem, thetaDot: Float64Array): { x: Float64Array; xDot: Float64Array };
  /** x_K and cotangent · dx_K/dθ. */
  vjp(p: RidgeProblem, cotangent: Float64Array): { x: Float64Array; thetaBar: Float64Array };
}

/** out = A v (A is m×n row-major). */
export function matVec(A: Float64Array, v: Float64Array, out: Float64Array, m: number, n: number): void {
  for (let i = 0; i < m; i++) {
    let s = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) s += A[row + j]! * v[j]!;
    out[i] = s;
  }
}

/** out = Aᵀ u, accumulated row by row so A is read with unit stride. */
export function matTVec(A: Float64Array, u: Float64Array, out: Float64Array, m: number, n: number): void {
  out.fill(0);
  for (let i = 0; i < m; i++) {
    const ui = u[i]!;
    const row = i * n;
    for (let j = 0; j < n; j++) out[j] += A[row + j]! * ui;
  }
}

export function createHandwrittenRidge(m: number, n: number, K: number, alpha: number): HandwrittenRidge {
  const x = new Float64Array(n);
  const xDot = new Float64Array(n);
  const xBar = new Float64Array(n);
  const thetaBar = new Float64Array(n);
  const r = new Float64Array(m); // A x − b, or A ẋ, or A x̄
  const g = new Float64Array(n); // Aᵀ r
  const tape = new Float64Array(K * n);

  /** x ← Φ(x) in place; uses r and g. */
  function step(A: Float64Array, b: Float64Array, theta: Float64Array): void {
    matVec(A, x, r, m, n);
    for (let i = 0; i < m; i++) r[i] = r[i]! - b[i]!;
    matTVec(A, r, g, m, n);
    for (let j = 0; j < n; j++) x[j] = x[j]! - alpha * (g[j]! + theta[j]! * x[j]!);
  }

  return {
    jvp({ A, b, theta }, thetaDot) {
      x.fill(0);
      xDot.fill(0);
      for (let k = 0; k < K; k++) {
        // The tangent reads x_k, so it goes first; then the state moves on.
        matVec(A, xDot, r, m, n);
        matTVec(A, r, g, m, n);
        for (let j = 0; j < n; j++) xDot[j] = xDot[j]! - alpha * (g[j]! + theta[j]! * xDot[j]! + thetaDot[j]! * x[j]!);
        step(A, b, theta);
      }
      return { x: x.slice(), xDot: xDot.slice() };
    },

    vjp({ A, b, theta }, cotangent) {
      x.fill(0);
      for (let k = 0; k < K; k++) {
        tape.set(x, k * n);
        step(A, b, theta);
      }
      const xK = x.slice();
      xBar.set(cotangent);
      thetaBar.fill(0);
      for (let k = K - 1; k >= 0; k--) {
        const at = k * n;
        for (let j = 0; j < n; j++) thetaBar[j] = thetaBar[j]! - alpha * xBar[j]! * tape[at + j]!;
        matVec(A, xBar, r, m, n);
        matTVec(A, r, g, m, n);
        for (let j = 0; j < n; j++) xBar[j] = xBar[j]! - alpha * (g[j]! + theta[j]! * xBar[j]!);
      }
      return { x: xK, thetaBar: thetaBar.slice() };
    },
  };
}
