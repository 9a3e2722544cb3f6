import { describe, expect, it } from 'vitest';
import { Matrix, SingularValueDecomposition } from 'ml-matrix';
import {
  centralDifference,
  finiteDifferenceJacobian,
  fromNested,
  frobeniusNorm,
  identity,
  implicitJacobian,
  matMul,
  matVec,
  maxAbsDifference,
  randomGenerator,
  relativeDifference,
  spectralNorm,
  spectralRadius,
  toNested,
  transpose,
  type DenseMatrix,
} from '../runtime/index.js';

function randomMatrix(rows: number, cols: number, seed: number): DenseMatrix {
  const rng = randomGenerator(seed);
  return { rows, cols, data: rng.vector(rows * cols, 'normal') };
}

function scale(m: DenseMatrix, s: number): DenseMatrix {
  return { rows: m.rows, cols: m.cols, data: m.data.map((v) => v * s) };
}

describe('small helpers', () => {
  it('matVec, matMul, transpose, identity and nested conversions agree with hand results', () => {
    const a = fromNested([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const b = fromNested([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    expect(Array.from(matVec(a, [1, 1, 1]))).toEqual([6, 15]);
    expect(toNested(matMul(a, b))).toEqual([
      [4, 5],
      [10, 11],
    ]);
    expect(toNested(transpose(a))).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ]);
    expect(toNested(matMul(identity(2), a))).toEqual(toNested(a));
    expect(() => matMul(a, a)).toThrow(/inner dimensions/);
    expect(() => fromNested([[1, 2], [3]])).toThrow(/row 1/);
  });

  it('frobeniusNorm, relativeDifference and maxAbsDifference', () => {
    expect(frobeniusNorm(fromNested([[3, 0], [0, 4]]))).toBeCloseTo(5, 14);
    expect(relativeDifference([3, 4], [3, 4])).toBe(0);
    expect(relativeDifference([0, 0], [0, 0])).toBe(0);
    // ‖(0,1)‖ / max(‖(3,4)‖, ‖(3,3)‖) = 1/5
    expect(relativeDifference([3, 4], [3, 3])).toBeCloseTo(0.2, 14);
    expect(maxAbsDifference([1, -2, 3], [1, 2, 2.5])).toBe(4);
    expect(() => relativeDifference([1], [1, 2])).toThrow(/lengths differ/);
  });
});

describe('implicitJacobian', () => {
  it('solves a hand-solvable 2×2 case', () => {
    // I − A = [[1, -0.5], [0, 0.5]]; (I − A)⁻¹ = [[1, 1], [0, 2]].
    const A = fromNested([
      [0, 0.5],
      [0, 0.5],
    ]);
    const B = fromNested([
      [1, 2],
      [3, 4],
    ]);
    const J = implicitJacobian(A, B);
    expect(J.rows).toBe(2);
    expect(J.cols).toBe(2);
    const expected = [
      [4, 6],
      [6, 8],
    ];
    expect(maxAbsDifference(J.data, fromNested(expected).data)).toBeLessThan(1e-14);
  });

  it('matches the Neumann series Σ Aᵏ B for a random contraction', () => {
    const n = 6;
    const p = 3;
    const raw = randomMatrix(n, n, 11);
    const A = scale(raw, 0.5 / spectralNorm(raw)); // ‖A‖₂ = 0.5
    expect(spectralNorm(A)).toBeCloseTo(0.5, 12);
    const B = randomMatrix(n, p, 12);
    let term = B;
    const sum = new Float64Array(n * p);
    for (let k = 0; k < 80; k++) {
      for (let i = 0; i < sum.length; i++) sum[i]! += term.data[i]!;
      term = matMul(A, term);
    }
    const J = implicitJacobian(A, B);
    expect(relativeDifference(J.data, sum)).toBeLessThan(1e-12);
    // Residual check: (I − A) J = B.
    const residual = matMul(A, J).data.map((v, i) => J.data[i]! - v);
    expect(maxAbsDifference(residual, B.data)).toBeLessThan(1e-12);
  });

  it('throws a clear error when I − ∂ₓΦ is singular', () => {
    const A = fromNested([
      [0, -1],
      [-1, 0],
    ]); // I − A = [[1, 1], [1, 1]]
    expect(() => implicitJacobian(A, identity(2))).toThrow(/singular/);
    expect(() => implicitJacobian(identity(3), fromNested([[1], [2], [3]]))).toThrow(/singular/);
  });

  it('rejects mismatched shapes', () => {
    expect(() => implicitJacobian(fromNested([[0.1, 0.2]]), fromNested([[1]]))).toThrow(/square/);
    expect(() => implicitJacobian(identity(2), fromNested([[1]]))).toThrow(/rows/);
  });
});

describe('spectralNorm', () => {
  it('is the largest |diagonal entry| of a diagonal matrix', () => {
    const d = fromNested([
      [1, 0, 0],
      [0, -7, 0],
      [0, 0, 3],
    ]);
    expect(spectralNorm(d)).toBeCloseTo(7, 12);
    // Wide matrix (autoTranspose path).
    expect(spectralNorm(fromNested([[3, 0, 0, 0], [0, 2, 0, 0]]))).toBeCloseTo(3, 12);
    expect(spectralNorm(fromNested([[0, 0], [0, 0]]))).toBe(0);
  });

  it('matches ml-matrix SVD at a size that uses power iteration (450×450)', () => {
    const n = 450;
    const m = randomMatrix(n, n, 2024);
    const fast = spectralNorm(m);
    const ml = new Matrix(n, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) ml.set(i, j, m.data[i * n + j]!);
    const svd = new SingularValueDecomposition(ml, {
      computeLeftSingularVectors: false,
      computeRightSingularVectors: false,
    });
    const exact = Math.max(...svd.diagonal);
    expect(Math.abs(fast - exact) / exact).toBeLessThan(1e-6);
    // Sanity: Gaussian n×n has ‖M‖₂ ≈ 2√n, so this is not a trivial value.
    expect(exact).toBeGreaterThan(1.8 * Math.sqrt(n));
  }, 60_000);

  it('handles a large rectangular matrix with a known norm via power iteration', () => {
    // 420×500 matrix with orthogonal-ish structure: scaled partial identity plus a rank-one spike.
    const rows = 420;
    const cols = 500;
    const m = { rows, cols, data: new Float64Array(rows * cols) };
    for (let i = 0; i < rows; i++) m.data[i * cols + i] = 1;
    m.data[5 * cols + 5] = 9; // singular values: 9 and 1 (×419)
    expect(spectralNorm(m)).toBeCloseTo(9, 8);
  });
});

describe('spectralRadius', () => {
  it('equals the scale of a rotation-scaling matrix (complex eigenvalues)', () => {
    const r = 0.8;
    const t = 0.7;
    const m = fromNested([
      [r * Math.cos(t), -r * Math.sin(t)],
      [r * Math.sin(t), r * Math.cos(t)],
    ]);
    expect(spectralRadius(m)).toBeCloseTo(r, 12);
    // Real parts alone would give r·cos(t) ≈ 0.61, so this distinguishes the complex modulus.
    expect(Math.abs(spectralRadius(m) - r * Math.cos(t))).toBeGreaterThan(0.1);
  });

  it('is smaller than the spectral norm for a non-normal matrix', () => {
    const m = fromNested([
      [0.5, 10],
      [0, 0.25],
    ]);
    expect(spectralRadius(m)).toBeCloseTo(0.5, 12);
    expect(spectralNorm(m)).toBeGreaterThan(10);
    expect(() => spectralRadius(fromNested([[1, 2]]))).toThrow(/square/);
  });
});

describe('finite differences', () => {
  it('centralDifference matches analytic derivatives of sin and exp to 1e-8', () => {
    const f = (x: Float64Array): Float64Array =>
      Float64Array.of(Math.sin(x[0]!) * Math.exp(x[1]!), Math.exp(x[0]! + 2 * x[1]!));
    const rng = randomGenerator(7);
    for (let trial = 0; trial < 5; trial++) {
      const x = Float64Array.of(rng.uniform() * 3 - 1.5, rng.uniform() * 2 - 1);
      const v = rng.vector(2, 'normal');
      const got = centralDifference(f, x, v);
      const [a, b] = [x[0]!, x[1]!];
      const expected = [
        Math.cos(a) * Math.exp(b) * v[0]! + Math.sin(a) * Math.exp(b) * v[1]!,
        Math.exp(a + 2 * b) * (v[0]! + 2 * v[1]!),
      ];
      expect(maxAbsDifference(got, expected)).toBeLessThan(1e-8);
    }
    // Zero direction gives a zero derivative of the right length.
    expect(Array.from(centralDifference(f, Float64Array.of(1, 2), Float64Array.of(0, 0)))).toEqual([0, 0]);
  });

  it('finiteDifferenceJacobian matches the analytic Jacobian', () => {
    const f = (x: Float64Array): Float64Array =>
      Float64Array.of(Math.sin(x[0]!) + x[1]! * x[2]!, Math.exp(x[2]!), x[0]! * x[0]!);
    const x = Float64Array.of(0.3, -1.2, 0.7);
    const J = finiteDifferenceJacobian(f, x);
    expect(J.rows).toBe(3);
    expect(J.cols).toBe(3);
    const expected = fromNested([
      [Math.cos(0.3), 0.7, -1.2],
      [0, 0, Math.exp(0.7)],
      [0.6, 0, 0],
    ]);
    expect(maxAbsDifference(J.data, expected.data)).toBeLessThan(1e-8);
  });
});

describe('randomGenerator', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = randomGenerator(42);
    const b = randomGenerator(42);
    const c = randomGenerator(43);
    const va = a.vector(100, 'normal');
    const vb = b.vector(100, 'normal');
    const vc = c.vector(100, 'normal');
    expect(Array.from(va)).toEqual(Array.from(vb));
    expect(maxAbsDifference(va, vc)).toBeGreaterThan(0.1);
    expect(a.uniform()).toBe(b.uniform());
  });

  it('produces uniform draws in [0, 1) and roughly standard normals', () => {
    const rng = randomGenerator(1);
    const u = rng.vector(20000);
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    const meanU = u.reduce((s, v) => s + v, 0) / u.length;
    expect(Math.abs(meanU - 0.5)).toBeLessThan(0.01);
    const z = rng.vector(20000, 'normal');
    const meanZ = z.reduce((s, v) => s + v, 0) / z.length;
    const varZ = z.reduce((s, v) => s + (v - meanZ) ** 2, 0) / z.length;
    expect(Math.abs(meanZ)).toBeLessThan(0.03);
    expect(Math.abs(varZ - 1)).toBeLessThan(0.05);
  });
});
