// Exact constants for maps that are affine in the state (a gradient step of a quadratic, a
// linear recursion). If Φ(x, θ) = M(θ)x + c(θ), then ∂ₓΦ = M(θ) does not depend on x, so
// L_A = 0 and ρ = ‖M‖₂ hold globally, and ∂θΦ(x) is affine in x with the constant second
// derivative D = ∂²Φ/∂x∂θ: L_B = sup_{‖d‖=1} ‖D[d]‖₂, where D[d] = Σᵢ dᵢ Dᵢ is an S×P matrix.
//
// Whether Φ is affine in x is decided symbolically, from the degree of the map's IR in the
// state inputs (no sampling). Dᵢ = ∂θΦ(x* + eᵢ) − ∂θΦ(x*) from the generated partialTheta is
// exact up to rounding for such a map. L_B is then bracketed: a rigorous upper bound, the least
// spectral norm of the three unfoldings of the S×S×P tensor D (by state direction, by output
// and by parameter; each is ≥ the tensor norm), and an attained value from alternating power
// iteration on (d, w) ↦ ‖D[d]w‖. When the two agree the value is exact; otherwise the upper
// bound is used (the bound stays guaranteed) and labelled as such.

import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { isMultilinear } from '../../compiler/ops/registry.js';
import { topoSort, type Node } from '../../compiler/ir/nodes.js';
import type { MapModel } from '../../compiler/model.js';
import { split, type LabProblem } from './problem.js';
import { norm } from './stats.js';
import type { Reference } from './fixed-point.js';

/** Relative gap between the attained value and the upper bound below which L_B counts as exact. */
export const EXACT_GAP = 1e-9;
/** Entries of D (S · S · P) above which the exact computation is skipped (memory and time). */
export const EXACT_ENTRY_LIMIT = 2e7;

/**
 * The polynomial degree of each state component of Φ in the state (Infinity when Φ is not a
 * polynomial in x): inputs of role 'state' have degree 1, everything else that does not vary
 * with x has degree 0; sums take the maximum, products add, and a non-polynomial op of an
 * argument that depends on x has degree Infinity.
 */
export function stateDegree(model: Pick<MapModel, 'update'>): number {
  const deg = new Map<number, number>();
  const of = (n: Node) => deg.get(n.id)!;
  for (const n of topoSort(model.update)) {
    if (n.kind === 'const') deg.set(n.id, 0);
    else if (n.kind === 'input') deg.set(n.id, n.role === 'state' ? 1 : 0);
    else deg.set(n.id, opDegree(n.op, n.args.map(of), n.args));
  }
  return Math.max(0, ...model.update.map(of));
}

function opDegree(op: string, d: readonly number[], args: readonly Node[]): number {
  const constantArgs = d.every((x) => x === 0);
  switch (op) {
    case 'add': case 'sub': return Math.max(...d);
    case 'neg': return d[0]!;
    case 'mul': return d[0]! + d[1]!;
    case 'div': return d[1] === 0 ? d[0]! : Infinity;
    case 'square': return 2 * d[0]!;
    case 'cube': return 3 * d[0]!;
    case 'pow': {
      const p = args[1]!;
      if (constantArgs) return 0;
      return p.kind === 'const' && Number.isInteger(p.value) && p.value >= 0 ? d[0]! * p.value : Infinity;
    }
    default:
      // Linear in each argument (matvec, matmul, dot, transpose, sum, ...): degrees add.
      if (isMultilinear(op)) return d.reduce((p, x) => p + x, 0);
      return constantArgs ? 0 : Infinity;
  }
}

export interface ExactConstants {
  /** ‖∂ₓΦ‖₂, the same at every x. */
  readonly rho: number;
  readonly LA: 0;
  /** The L_B the bounds use: exact when `LBExact`, else the rigorous upper bound. */
  readonly LB: number;
  readonly LBExact: boolean;
  /** The attained lower value and the upper bound that bracket L_B. */
  readonly LBAttained: number;
  readonly LBUpper: number;
}

/** Why the exact path does not apply, or null when it does. */
export function exactnessObstacle(problem: LabProblem): string | null {
  if (problem.model.iteration || problem.model.batches) return 'the map changes from step to step';
  const degree = stateDegree(problem.model);
  if (degree > 1) return `Φ is ${Number.isFinite(degree) ? `of degree ${degree}` : 'not a polynomial'} in the state, so its partial derivatives vary with x`;
  const S = problem.stateSize;
  if (S * S * problem.paramSize > EXACT_ENTRY_LIMIT) return `∂²Φ/∂x∂θ would have ${S * S * problem.paramSize} entries (limit ${EXACT_ENTRY_LIMIT})`;
  return null;
}

/** The exact constants of a map affine in the state (check exactnessObstacle first). */
export async function exactConstants(problem: LabProblem, ref: Reference): Promise<ExactConstants> {
  const { model, inputs, dims } = problem;
  const S = problem.stateSize;
  const P = problem.paramSize;
  const one = await problem.instance(1, 0, 'forward');
  const xStar = ref.fixedPoint.vector;
  const at = (x: Float64Array) => one.partialTheta(inputs as never, split(x, model.state, dims) as never).data;
  const base = at(xStar);
  // Dᵢ = ∂θΦ(x* + eᵢ) − ∂θΦ(x*), one S×P slice per state entry.
  const D = Array.from({ length: S }, (_, i) => {
    const x = xStar.slice();
    x[i]! += 1;
    const b = at(x);
    return b.map((v, j) => v - base[j]!);
  });
  // Upper bound: the least of the spectral norms of the three unfoldings of D (each bounds the
  // tensor norm from above: ‖D[d]w‖ ≤ ‖unfolding‖ for unit d, w and a unit output direction).
  const mode1 = unfoldingNorm(S, S * P, (i, j) => dotRange(D[i]!, D[j]!, 0, S * P, 1));
  const mode2 = unfoldingNorm(S, S * P, (r, q) => {
    let s = 0;
    for (let i = 0; i < S; i++) s += dotRange(D[i]!, D[i]!, 0, P, 1, r * P, q * P);
    return s;
  });
  const mode3 = P <= S * S
    ? unfoldingNorm(P, S * S, (c, e) => {
      let s = 0;
      for (let i = 0; i < S; i++) for (let r = 0; r < S; r++) s += D[i]![r * P + c]! * D[i]![r * P + e]!;
      return s;
    })
    : unfoldingNorm(S * S, P, (a, b) => dotRange(D[Math.floor(a / S)]!, D[Math.floor(b / S)]!, 0, P, 1, (a % S) * P, (b % S) * P));
  const upper = Math.min(mode1.norm, mode2.norm, mode3.norm);
  let d = mode1.vector.length === S ? mode1.vector : Float64Array.from({ length: S }, (_, i) => (i === 0 ? 1 : 0));
  // Attained value: alternate d ← argmax over d of ‖D[d]w‖ given the top singular pair (u, w) of D[d].
  let attained = 0;
  for (let it = 0; it < 50 && upper > 0; it++) {
    const M = new Float64Array(S * P);
    for (let i = 0; i < S; i++) if (d[i] !== 0) for (let q = 0; q < S * P; q++) M[q]! += d[i]! * D[i]![q]!;
    const { sigma, u, w } = topSingular(M, S, P);
    const next = Float64Array.from({ length: S }, (_, i) => {
      let s = 0;
      const Di = D[i]!;
      for (let r = 0; r < S; r++) for (let c = 0; c < P; c++) s += u[r]! * Di[r * P + c]! * w[c]!;
      return s;
    });
    const len = norm(next);
    const done = sigma <= attained * (1 + 1e-15);
    attained = Math.max(attained, sigma);
    if (done || len === 0 || attained >= upper * (1 - EXACT_GAP)) break;
    d = next.map((x) => x / len);
  }
  const exact = upper === 0 || attained >= upper * (1 - EXACT_GAP);
  return { rho: ref.rhoStar, LA: 0, LB: exact ? Math.max(attained, upper) : upper, LBExact: exact, LBAttained: attained, LBUpper: upper };
}

/** Σ_q a[offA + q·step] · b[offB + q·step] for q in [from, to). */
function dotRange(a: Float64Array, b: Float64Array, from: number, to: number, step: number, offA = 0, offB = 0): number {
  let s = 0;
  for (let q = from; q < to; q++) s += a[offA + q * step]! * b[offB + q * step]!;
  return s;
}

/** Rows of a Gram matrix above which an unfolding's norm is not computed (a dense eigen-solve). */
export const GRAM_LIMIT = 600;

/**
 * The spectral norm of a rows × cols unfolding from its rows × rows Gram matrix (entry (i, j)
 * from `gram`), and the top eigenvector; Infinity when rows exceed GRAM_LIMIT.
 */
function unfoldingNorm(rows: number, _cols: number, gram: (i: number, j: number) => number): { norm: number; vector: Float64Array } {
  if (rows > GRAM_LIMIT) return { norm: Infinity, vector: new Float64Array(0) };
  const g = new Matrix(rows, rows);
  for (let i = 0; i < rows; i++) for (let j = 0; j <= i; j++) {
    const v = gram(i, j);
    g.set(i, j, v);
    g.set(j, i, v);
  }
  const e = new EigenvalueDecomposition(g, { assumeSymmetric: true });
  const k = e.realEigenvalues.reduce((b, v, i, all) => (v > all[b]! ? i : b), 0);
  // Rounding can make the Gram's top eigenvalue a hair small: pad it by a relative 1e-12.
  return { norm: Math.sqrt(Math.max(0, e.realEigenvalues[k] ?? 0)) * (1 + 1e-12), vector: Float64Array.from({ length: rows }, (_, i) => e.eigenvectorMatrix.get(i, k)) };
}

/** The top singular value of the S×P matrix M with its singular vectors (from the S×S matrix MMᵀ). */
function topSingular(M: Float64Array, S: number, P: number): { sigma: number; u: Float64Array; w: Float64Array } {
  const mmt = new Matrix(S, S);
  for (let i = 0; i < S; i++) for (let j = 0; j <= i; j++) {
    let s = 0;
    for (let c = 0; c < P; c++) s += M[i * P + c]! * M[j * P + c]!;
    mmt.set(i, j, s);
    mmt.set(j, i, s);
  }
  const e = new EigenvalueDecomposition(mmt, { assumeSymmetric: true });
  const k = e.realEigenvalues.reduce((b, v, i, all) => (v > all[b]! ? i : b), 0);
  const u = Float64Array.from({ length: S }, (_, i) => e.eigenvectorMatrix.get(i, k));
  const w = new Float64Array(P);
  for (let r = 0; r < S; r++) for (let c = 0; c < P; c++) w[c]! += u[r]! * M[r * P + c]!;
  const sigma = norm(w);
  return { sigma, u, w: sigma > 0 ? w.map((x) => x / sigma) : w };
}
