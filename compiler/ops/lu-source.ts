// The dense LU solve behind lusolve and inv, written once as JavaScript source text: CPU
// modules that solve declare it at their top level (both kernel paths call it; it needs no
// WebAssembly), and the reference interpreter runs the function the same text evaluates to.
// It is for the small systems of Newton-type steps: O(n³ + n²·nrhs) flops per call, and the
// factors are not kept between calls (every solve factors its matrix again).

/**
 * `luSolve(op, A, a, B, b, X, x, LU, n, nrhs, transposed)`: X = A⁻¹B, or A⁻ᵀB when transposed,
 * for an n×n A and an n×nrhs B (the identity when B is null), each row-major in its array from
 * its offset. Gaussian elimination with partial pivoting on LU, a copy of A, with the row swaps
 * and eliminations applied to X, a copy of B, then back substitution. A pivot no larger than
 * n·ε times A's largest entry (0 included) means A is singular to working precision: a numeric
 * error naming `op`, the formula function, as is a non-finite entry of A.
 */
/** The routine's name, which generated code calls. */
export const LU_SOLVE = 'luSolve';

export const LU_SOLVE_SOURCE = `/** X = A⁻¹B (A⁻ᵀB when transposed; B null: the identity) by LU with partial pivoting; LU is n×n scratch. */
function luSolve(op, A, a, B, b, X, x, LU, n, nrhs, transposed) {
  let scale = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = transposed ? A[a + j * n + i] : A[a + i * n + j];
      LU[i * n + j] = v;
      scale = Math.max(scale, Math.abs(v));
    }
    for (let c = 0; c < nrhs; c++) X[x + i * nrhs + c] = B === null ? (i === c ? 1 : 0) : B[b + i * nrhs + c];
  }
  if (scale - scale !== 0) fail('numeric', op + ': the matrix has a non-finite entry', { op });
  const tiny = n * 2.220446049250313e-16 * scale;
  for (let k = 0; k < n; k++) {
    // the row with the largest entry in column k (on or below the diagonal) becomes row k
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(LU[i * n + k]) > Math.abs(LU[p * n + k])) p = i;
    const pivot = LU[p * n + k];
    if (!(Math.abs(pivot) > tiny)) fail('numeric', op + ': the ' + n + '×' + n + ' matrix is singular to working precision (no pivot in column ' + (k + 1) + ')', { op });
    if (p !== k) {
      for (let j = k; j < n; j++) {
        const t = LU[k * n + j];
        LU[k * n + j] = LU[p * n + j];
        LU[p * n + j] = t;
      }
      for (let c = 0; c < nrhs; c++) {
        const t = X[x + k * nrhs + c];
        X[x + k * nrhs + c] = X[x + p * nrhs + c];
        X[x + p * nrhs + c] = t;
      }
    }
    for (let i = k + 1; i < n; i++) {
      const f = LU[i * n + k] / pivot;
      for (let j = k + 1; j < n; j++) LU[i * n + j] -= f * LU[k * n + j];
      for (let c = 0; c < nrhs; c++) X[x + i * nrhs + c] -= f * X[x + k * nrhs + c];
    }
  }
  // back substitution with the upper triangle U
  for (let k = n - 1; k >= 0; k--) {
    for (let c = 0; c < nrhs; c++) {
      let s = X[x + k * nrhs + c];
      for (let j = k + 1; j < n; j++) s -= LU[k * n + j] * X[x + j * nrhs + c];
      X[x + k * nrhs + c] = s / LU[k * n + k];
    }
  }
}`;

/** The routine's signature, as the interpreter calls it. */
export type LuSolve = (
  op: string,
  A: Float64Array, a: number,
  B: Float64Array | null, b: number,
  X: Float64Array, x: number,
  LU: Float64Array, n: number, nrhs: number, transposed: boolean,
) => void;

/** The function LU_SOLVE_SOURCE evaluates to, reporting through `fail` (generated modules have their own). */
export function luSolveFunction(fail: (category: string, message: string, details?: object) => never): LuSolve {
  return new Function('fail', `${LU_SOLVE_SOURCE}\nreturn luSolve;`)(fail) as LuSolve;
}
