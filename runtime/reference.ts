// Reference numerics for phic: dense row-major matrices, the implicit-function
// Jacobian (I − ∂ₓΦ)⁻¹ ∂θΦ, spectral/Frobenius norms, spectral radius, finite
// differences and a seeded PRNG. These are deliberately simple and trusted
// (linear algebra via ml-matrix) so tests, the CLI and the curse-of-unrolling
// lab can check generated derivative code against them.

import {
  Matrix,
  LuDecomposition,
  SingularValueDecomposition,
  EigenvalueDecomposition,
} from 'ml-matrix';

/** Dense matrix stored row-major: entry (i, j) is `data[i * cols + j]`. */
export interface DenseMatrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Smallest denominator used to avoid division by zero. */
const TINY = 1e-300;

/** Above this minimum dimension, `spectralNorm` switches from SVD to power iteration. */
export const SPECTRAL_NORM_SVD_LIMIT = 400;

// ---------------------------------------------------------------------------
// Construction and small helpers
// ---------------------------------------------------------------------------

function checkDims(rows: number, cols: number): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new Error(`Invalid matrix dimensions ${rows}×${cols}`);
  }
}

/** Creates a rows×cols matrix, zero-filled or wrapping (not copying) `data`. */
export function denseMatrix(rows: number, cols: number, data?: Float64Array): DenseMatrix {
  checkDims(rows, cols);
  if (data === undefined) return { rows, cols, data: new Float64Array(rows * cols) };
  if (data.length !== rows * cols) {
    throw new Error(`Matrix data has length ${data.length}, expected ${rows}×${cols} = ${rows * cols}`);
  }
  return { rows, cols, data };
}

function checkMatrix(m: DenseMatrix, name: string): void {
  checkDims(m.rows, m.cols);
  if (m.data.length !== m.rows * m.cols) {
    throw new Error(`${name}: data length ${m.data.length} does not match ${m.rows}×${m.cols}`);
  }
}

/** n×n identity matrix. */
export function identity(n: number): DenseMatrix {
  const m = denseMatrix(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

/** Matrix–vector product m·v. */
export function matVec(m: DenseMatrix, v: ArrayLike<number>): Float64Array {
  checkMatrix(m, 'matVec');
  if (v.length !== m.cols) {
    throw new Error(`matVec: vector length ${v.length} does not match matrix ${m.rows}×${m.cols}`);
  }
  const { rows, cols, data } = m;
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    const off = i * cols;
    for (let j = 0; j < cols; j++) s += data[off + j]! * v[j]!;
    out[i] = s;
  }
  return out;
}

/** Matrix product a·b. */
export function matMul(a: DenseMatrix, b: DenseMatrix): DenseMatrix {
  checkMatrix(a, 'matMul');
  checkMatrix(b, 'matMul');
  if (a.cols !== b.rows) {
    throw new Error(`matMul: inner dimensions differ (${a.rows}×${a.cols} · ${b.rows}×${b.cols})`);
  }
  const n = a.rows;
  const k = a.cols;
  const p = b.cols;
  const out = new Float64Array(n * p);
  for (let i = 0; i < n; i++) {
    const outOff = i * p;
    for (let l = 0; l < k; l++) {
      const ail = a.data[i * k + l]!;
      if (ail === 0) continue;
      const bOff = l * p;
      for (let j = 0; j < p; j++) out[outOff + j]! += ail * b.data[bOff + j]!;
    }
  }
  return { rows: n, cols: p, data: out };
}

/** Transpose mᵀ. */
export function transpose(m: DenseMatrix): DenseMatrix {
  checkMatrix(m, 'transpose');
  const { rows, cols, data } = m;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) out[j * rows + i] = data[i * cols + j]!;
  }
  return { rows: cols, cols: rows, data: out };
}

/** Converts to a nested array of rows. */
export function toNested(m: DenseMatrix): number[][] {
  checkMatrix(m, 'toNested');
  const out: number[][] = [];
  for (let i = 0; i < m.rows; i++) out.push(Array.from(m.data.subarray(i * m.cols, (i + 1) * m.cols)));
  return out;
}

/** Builds a matrix from a nested array of rows (all rows must have equal length). */
export function fromNested(rows: number[][]): DenseMatrix {
  const r = rows.length;
  const c = r === 0 ? 0 : rows[0]!.length;
  const data = new Float64Array(r * c);
  for (let i = 0; i < r; i++) {
    const row = rows[i]!;
    if (row.length !== c) {
      throw new Error(`fromNested: row ${i} has length ${row.length}, expected ${c}`);
    }
    for (let j = 0; j < c; j++) data[i * c + j] = row[j]!;
  }
  return { rows: r, cols: c, data };
}

/** Converts to an ml-matrix `Matrix` (copy). */
export function toMlMatrix(m: DenseMatrix): Matrix {
  checkMatrix(m, 'toMlMatrix');
  const out = new Matrix(m.rows, m.cols);
  for (let i = 0; i < m.rows; i++) {
    for (let j = 0; j < m.cols; j++) out.set(i, j, m.data[i * m.cols + j]!);
  }
  return out;
}

/** Converts an ml-matrix `Matrix` to a DenseMatrix (copy). */
export function fromMlMatrix(m: Matrix): DenseMatrix {
  const rows = m.rows;
  const cols = m.columns;
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) data[i * cols + j] = m.get(i, j);
  }
  return { rows, cols, data };
}

// ---------------------------------------------------------------------------
// Implicit function theorem
// ---------------------------------------------------------------------------

/**
 * dx⋆/dθ = (I − ∂ₓΦ)⁻¹ ∂θΦ at a fixed point x⋆ = Φ(x⋆, θ), computed with one LU
 * factorisation of I − ∂ₓΦ solved against all columns of ∂θΦ at once.
 * Throws if I − ∂ₓΦ is singular (Φ has a unit eigenvalue at the fixed point).
 */
export function implicitJacobian(dPhiDx: DenseMatrix, dPhiDtheta: DenseMatrix): DenseMatrix {
  checkMatrix(dPhiDx, 'implicitJacobian(dPhiDx)');
  checkMatrix(dPhiDtheta, 'implicitJacobian(dPhiDtheta)');
  const n = dPhiDx.rows;
  if (dPhiDx.cols !== n) {
    throw new Error(`implicitJacobian: ∂ₓΦ must be square, got ${dPhiDx.rows}×${dPhiDx.cols}`);
  }
  if (dPhiDtheta.rows !== n) {
    throw new Error(
      `implicitJacobian: ∂θΦ has ${dPhiDtheta.rows} rows but ∂ₓΦ is ${n}×${n}`,
    );
  }
  const p = dPhiDtheta.cols;
  if (n === 0 || p === 0) return denseMatrix(n, p);

  const lhs = new Matrix(n, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) lhs.set(i, j, (i === j ? 1 : 0) - dPhiDx.data[i * n + j]!);
  }
  const lu = new LuDecomposition(lhs);
  if (lu.isSingular()) {
    throw new Error(
      'implicitJacobian: I − ∂ₓΦ is singular (∂ₓΦ has eigenvalue 1 at the fixed point); ' +
        'the implicit derivative does not exist',
    );
  }
  const result = fromMlMatrix(lu.solve(toMlMatrix(dPhiDtheta)));
  for (let k = 0; k < result.data.length; k++) {
    if (!Number.isFinite(result.data[k]!)) {
      throw new Error(
        'implicitJacobian: solving with I − ∂ₓΦ produced non-finite values ' +
          '(matrix is numerically singular or inputs are non-finite)',
      );
    }
  }
  return result;
}

// ---------------------------------------------------------------------------
// Norms and spectra
// ---------------------------------------------------------------------------

/** Overflow-safe Euclidean norm of a vector. */
function norm2(v: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]!);
    if (a > scale || Number.isNaN(a)) scale = a;
  }
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    const t = v[i]! / scale;
    s += t * t;
  }
  return scale * Math.sqrt(s);
}

function normInf(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]!);
    if (a > m || Number.isNaN(a)) m = a;
  }
  return m;
}

/** Frobenius norm √(Σ mᵢⱼ²). */
export function frobeniusNorm(m: DenseMatrix): number {
  checkMatrix(m, 'frobeniusNorm');
  return norm2(m.data);
}

/**
 * Largest singular value ‖m‖₂. Uses ml-matrix SVD when min(rows, cols) ≤ 400,
 * otherwise power iteration on mᵀm (relative tolerance 1e-10, at most 1000 iterations).
 */
export function spectralNorm(m: DenseMatrix): number {
  checkMatrix(m, 'spectralNorm');
  if (m.rows === 0 || m.cols === 0) return 0;
  if (Math.min(m.rows, m.cols) <= SPECTRAL_NORM_SVD_LIMIT) {
    const svd = new SingularValueDecomposition(toMlMatrix(m), {
      computeLeftSingularVectors: false,
      computeRightSingularVectors: false,
      autoTranspose: true,
    });
    return svd.diagonal.length === 0 ? 0 : Math.max(...svd.diagonal.map(Math.abs));
  }
  return powerIterationSpectralNorm(m, 1e-10, 1000);
}

/** Power iteration for ‖m‖₂ on Float64Arrays: v ← mᵀ(m v)/‖·‖, σ ≈ ‖m v‖. */
function powerIterationSpectralNorm(m: DenseMatrix, relTol: number, maxIter: number): number {
  const { rows, cols, data } = m;
  const scale = normInf(data);
  if (scale === 0) return 0;
  if (!Number.isFinite(scale)) return NaN;

  // Deterministic pseudo-random start (avoids being orthogonal to the top singular vector).
  const rng = randomGenerator(0x5eed);
  let v = rng.vector(cols, 'normal');
  normalizeInPlace(v);
  const mv = new Float64Array(rows);
  let w: Float64Array = new Float64Array(cols);
  let sigma = 0;
  for (let iter = 0; iter < maxIter; iter++) {
    // mv = m v
    for (let i = 0; i < rows; i++) {
      let s = 0;
      const off = i * cols;
      for (let j = 0; j < cols; j++) s += data[off + j]! * v[j]!;
      mv[i] = s;
    }
    const next = norm2(mv);
    // w = mᵀ (m v)
    w.fill(0);
    for (let i = 0; i < rows; i++) {
      const mvi = mv[i]!;
      if (mvi === 0) continue;
      const off = i * cols;
      for (let j = 0; j < cols; j++) w[j]! += data[off + j]! * mvi;
    }
    const wn = norm2(w);
    if (next === 0 || wn === 0) {
      // v happened to lie in the null space; restart from a fresh random vector.
      v = rng.vector(cols, 'normal');
      normalizeInPlace(v);
      continue;
    }
    const converged = Math.abs(next - sigma) <= relTol * next;
    sigma = next;
    if (converged) break;
    for (let j = 0; j < cols; j++) w[j] = w[j]! / wn;
    const tmp = v;
    v = w;
    w = tmp;
  }
  return sigma;
}

function normalizeInPlace(v: Float64Array): void {
  const n = norm2(v);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
}

/** Spectral radius max |λ| of a square matrix (complex eigenvalues included). */
export function spectralRadius(m: DenseMatrix): number {
  checkMatrix(m, 'spectralRadius');
  if (m.rows !== m.cols) {
    throw new Error(`spectralRadius: matrix must be square, got ${m.rows}×${m.cols}`);
  }
  if (m.rows === 0) return 0;
  const evd = new EigenvalueDecomposition(toMlMatrix(m));
  const re = evd.realEigenvalues;
  const im = evd.imaginaryEigenvalues;
  let r = 0;
  for (let i = 0; i < re.length; i++) {
    const a = Math.hypot(re[i]!, im[i] ?? 0);
    if (a > r || Number.isNaN(a)) r = a;
  }
  return r;
}

// ---------------------------------------------------------------------------
// Vector comparisons
// ---------------------------------------------------------------------------

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>, name: string): void {
  if (a.length !== b.length) {
    throw new Error(`${name}: lengths differ (${a.length} vs ${b.length})`);
  }
}

/** ‖a − b‖₂ / max(‖a‖₂, ‖b‖₂, tiny); 0 when both are zero. */
export function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength(a, b, 'relativeDifference');
  const diff = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) diff[i] = a[i]! - b[i]!;
  return norm2(diff) / Math.max(norm2(a), norm2(b), TINY);
}

/** max_i |a_i − b_i| (0 for empty inputs; NaN if any entry is NaN). */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength(a, b, 'maxAbsDifference');
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > m || Number.isNaN(d)) m = d;
  }
  return m;
}

// ---------------------------------------------------------------------------
// Finite differences
// ---------------------------------------------------------------------------

/** Default step: 1e-6 · max(1, ‖x‖∞) / max(‖v‖∞, tiny). */
function defaultStep(x: ArrayLike<number>, directionInf: number): number {
  return (1e-6 * Math.max(1, normInf(x))) / Math.max(directionInf, TINY);
}

/**
 * Directional derivative by central differences: (f(x + h v) − f(x − h v)) / 2h.
 * If `h` is omitted it defaults to 1e-6 · max(1, ‖x‖∞) / max(‖v‖∞, tiny); an explicit
 * `h` is used as given.
 */
export function centralDifference(
  f: (x: Float64Array) => Float64Array,
  x: Float64Array,
  direction: Float64Array,
  h?: number,
): Float64Array {
  checkSameLength(x, direction, 'centralDifference');
  const vInf = normInf(direction);
  if (vInf === 0) return new Float64Array(f(Float64Array.from(x)).length);
  const step = h ?? defaultStep(x, vInf);
  if (!(step > 0) || !Number.isFinite(step)) {
    throw new Error(`centralDifference: step must be positive and finite, got ${step}`);
  }
  const xp = new Float64Array(x.length);
  const xm = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    xp[i] = x[i]! + step * direction[i]!;
    xm[i] = x[i]! - step * direction[i]!;
  }
  const fp = f(xp);
  const fm = f(xm);
  checkSameLength(fp, fm, 'centralDifference (outputs of f)');
  const out = new Float64Array(fp.length);
  const denom = 2 * step;
  for (let i = 0; i < fp.length; i++) out[i] = (fp[i]! - fm[i]!) / denom;
  return out;
}

/**
 * Jacobian of f at x by central differences, one column per input entry
 * (column j = centralDifference(f, x, e_j, h)). The actual perturbation
 * (x_j + h) − (x_j − h) is used as the denominator to cancel representation error.
 */
export function finiteDifferenceJacobian(
  f: (x: Float64Array) => Float64Array,
  x: Float64Array,
  h?: number,
): DenseMatrix {
  const n = x.length;
  if (n === 0) return denseMatrix(f(new Float64Array(0)).length, 0);
  const step = h ?? defaultStep(x, 1);
  if (!(step > 0) || !Number.isFinite(step)) {
    throw new Error(`finiteDifferenceJacobian: step must be positive and finite, got ${step}`);
  }
  let out: DenseMatrix | undefined;
  const xp = Float64Array.from(x);
  const xm = Float64Array.from(x);
  for (let j = 0; j < n; j++) {
    const xj = x[j]!;
    xp[j] = xj + step;
    xm[j] = xj - step;
    const denom = xp[j]! - xm[j]!;
    const fp = f(xp);
    const fm = f(xm);
    xp[j] = xj;
    xm[j] = xj;
    checkSameLength(fp, fm, 'finiteDifferenceJacobian (outputs of f)');
    if (out === undefined) out = denseMatrix(fp.length, n);
    else if (fp.length !== out.rows) {
      throw new Error(
        `finiteDifferenceJacobian: f returned ${fp.length} outputs, previously ${out.rows}`,
      );
    }
    for (let i = 0; i < fp.length; i++) out.data[i * n + j] = (fp[i]! - fm[i]!) / denom;
  }
  return out!;
}

// ---------------------------------------------------------------------------
// Deterministic PRNG
// ---------------------------------------------------------------------------

export interface RandomGenerator {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Vector of n draws, uniform in [0, 1) (default) or standard normal. */
  vector(n: number, kind?: 'uniform' | 'normal'): Float64Array;
}

/** Seeded mulberry32 generator; identical seeds give identical streams. */
export function randomGenerator(seed: number): RandomGenerator {
  let state = seed >>> 0;
  let spare: number | undefined;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u1 = 1 - uniform(); // (0, 1]
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    spare = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  };
  const vector = (n: number, kind: 'uniform' | 'normal' = 'uniform'): Float64Array => {
    if (!Number.isInteger(n) || n < 0) throw new Error(`vector: invalid length ${n}`);
    const out = new Float64Array(n);
    const draw = kind === 'normal' ? normal : uniform;
    for (let i = 0; i < n; i++) out[i] = draw();
    return out;
  };
  return { uniform, normal, vector };
}
