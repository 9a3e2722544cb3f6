// The constants of Assumptions 2.1–2.2 estimated from the problem's generated code, and the
// bounds of MATH.md built from them: Theorem 7 (17) forward and (18) reverse, Theorem 8 (21)
// truncated, and φ(Δ) of (22) with its minimiser over the budget.
//
// Estimates: ρ is the largest spectral norm of ∂ₓΦ seen at x* and at sampled iterates (the
// modulus of Assumption 2.1 in the 2-norm, which the bounds need); sr(∂ₓΦ(x*)), the spectral
// radius, is the local rate and decides convergence: for momentum methods ρ ≥ 1 while
// sr < 1 (MATH.md Remark 1(i), §5.1), and then the 2-norm error may grow before it falls. L_A and
// L_B are the largest ratios ‖∂ₓΦ(x_k) − ∂ₓΦ(x*)‖/‖x_k − x*‖ and ‖∂θΦ(x_k) − ∂θΦ(x*)‖/‖x_k − x*‖
// over the sampled iterates (secant estimates: lower bounds of the true constants along the
// path); ‖B*‖ stands in for M_B (Lemma 6 only needs it); C is the sharper C′ = L_A‖J*‖ + L_B.

import { denseMatrix, randomGenerator, spectralNorm, type DenseMatrix } from '../../runtime/reference.js';
import { concat, initialState, split, type LabProblem, type Named } from './problem.js';
import type { Reference } from './fixed-point.js';
import { norm, unitVector } from './stats.js';
import { exactConstants, exactnessObstacle } from './exact-constants.js';
import { operatorNorm, stepProducts } from './matrix-free.js';

export interface Constants {
  readonly rho: number;
  readonly rhoStar: number;
  readonly rhoAlongIterates: number;
  /** sr(∂ₓΦ(x*)): the contraction factor of the iteration near x* (its asymptotic rate). */
  readonly spectralRadius: number;
  readonly LA: number;
  readonly LB: number;
  readonly normBStar: number;
  readonly normJStar: number;
  /** ‖x⁰ − x*‖. */
  readonly e0: number;
  /** C′ = L_A‖J*‖ + L_B. */
  readonly C: number;
  /** ρ < 1: a contraction in the 2-norm along the sampled path, so Theorems 7–8 apply. */
  readonly contractive: boolean;
  /** sr(∂ₓΦ(x*)) < 1: the iterates converge to x* from nearby, even when ρ ≥ 1. */
  readonly convergent: boolean;
  /** How each number was obtained, for reports. */
  readonly notes: readonly string[];
  /** Which constants are exact and which are estimates (every report prints this). */
  readonly kinds: ConstantKinds;
}

/**
 * 'exact': the constant itself (for a map affine in x: ∂ₓΦ constant, ∂θΦ affine); 'upper bound':
 * a rigorous bound above it (the bounds built on it stay guaranteed); 'upper estimate': the
 * largest second derivative sampled over the region the iterates span (secondDerivativeBound),
 * at least every secant ratio along them but not a proof; 'estimate': secant ratios along
 * sampled iterates, lower bounds of the true constants (the bounds may then fail).
 */
export type ConstantKind = 'exact' | 'upper bound' | 'upper estimate' | 'estimate';
export interface ConstantKinds {
  readonly rho: ConstantKind;
  readonly LA: ConstantKind;
  readonly LB: ConstantKind;
  /** Why the exact path was not taken, when it was not. */
  readonly why?: string;
}

/** One line for reports: which constants are exact and which are estimates. */
export function describeKinds(k: ConstantKinds): string {
  const all = k.rho === 'exact' && k.LA === 'exact' && k.LB === 'exact';
  const text = `ρ: ${k.rho}; L_A: ${k.LA}; L_B: ${k.LB}; ‖J*‖, ‖x⁰ − x*‖: exact (from x*)`;
  if (all) return `${text}. The bounds are guaranteed.`;
  if (k.LB === 'upper bound') return `${text}. The bounds are guaranteed (L_B is a rigorous upper bound).`;
  if (k.LA === 'upper estimate') return `${text}${k.why ? ` (not exact: ${k.why})` : ''}. L_A and L_B are the largest second derivatives sampled over the region the iterates span: at least every secant ratio along them, but sampled, not proven, so the bounds are estimates.`;
  return `${text}${k.why ? ` (not exact: ${k.why})` : ''}. Estimates are lower bounds of the true constants, so the bounds may fail.`;
}

const minus = (a: DenseMatrix, b: DenseMatrix) => denseMatrix(a.rows, a.cols, a.data.map((v, i) => v - b.data[i]!));

/** Indices 0..K at which to sample iterates: dense early (where the curse lives), sparse late. */
export function sampleIndices(K: number, count: number): number[] {
  const out = new Set<number>([0]);
  for (let i = 1; i < count; i++) out.add(Math.min(K, Math.round(Math.expm1((Math.log1p(K) * i) / (count - 1)))));
  return [...out].sort((a, b) => a - b);
}

export async function estimateConstants(problem: LabProblem, ref: Reference, options: { K: number; samples?: number }): Promise<Constants> {
  const { model, inputs } = problem;
  const picks = new Set(sampleIndices(options.K, options.samples ?? 10));
  const states = new Map<number, Named>();
  const startInst = await problem.instance(options.K, 0, 'forward');
  // Only the observed iterates are kept; x_K itself is not needed.
  startInst.iterate(inputs as never, problem.x0 as never, (o) => {
    if (o.phase === 'idle' && picks.has(o.k)) states.set(o.k, Object.fromEntries(Object.entries(o.state).map(([k, v]) => [k, v.slice()])));
  });
  const one = await problem.instance(1, 0, 'forward');
  const x0 = initialState(problem);
  states.set(0, x0);
  const xStar = ref.fixedPoint.vector;
  const e0 = norm(concat(x0, model.state).map((v, i) => v - xStar[i]!));
  let rhoAlong = 0;
  let LA = 0;
  let LB = 0;
  const star = ref.A && ref.B ? null : await stepProducts(problem, ref.fixedPoint.state);
  for (const [, state] of [...states.entries()].sort((a, b) => a[0] - b[0])) {
    const dist = norm(concat(state, model.state).map((v, i) => v - xStar[i]!));
    const close = dist <= 1e-8 * Math.max(1, norm(xStar)); // too close: the ratio is rounding noise
    if (star) {
      // Matrix-free (no dense partials at this size): norms of products by power iteration.
      const k = await stepProducts(problem, state);
      rhoAlong = Math.max(rhoAlong, operatorNorm(k.ax, k.axT, k.S, 30, 1e-6));
      if (close) continue;
      const diff = (f: (z: Float64Array) => Float64Array, g: (z: Float64Array) => Float64Array) => (z: Float64Array) => { const a = f(z); const b = g(z); return a.map((v, i) => v - b[i]!); };
      LA = Math.max(LA, operatorNorm(diff(k.ax, star.ax), diff(k.axT, star.axT), k.S, 30, 1e-6) / dist);
      LB = Math.max(LB, operatorNorm(diff(k.bx, star.bx), diff(k.bxT, star.bxT), k.P, 30, 1e-6) / dist);
      continue;
    }
    const a = one.partialX(inputs as never, state as never);
    const Ak = denseMatrix(a.rows, a.cols, a.data);
    rhoAlong = Math.max(rhoAlong, spectralNorm(Ak));
    if (close) continue;
    LA = Math.max(LA, spectralNorm(minus(Ak, ref.A!)) / dist);
    const b = one.partialTheta(inputs as never, state as never);
    LB = Math.max(LB, spectralNorm(minus(denseMatrix(b.rows, b.cols, b.data), ref.B!)) / dist);
  }
  // Not affine in x, with dense partials: the largest second derivatives over the iterates' region (upper estimates)
  const curved = exactnessObstacle(problem) !== null && !star ? await secondDerivativeBound(problem, ref, [...states.values()]) : null;
  const secants = { LA, LB };
  if (curved) {
    LA = Math.max(LA, curved.LA);
    LB = Math.max(LB, curved.LB);
  }
  let rho = Math.max(ref.rhoStar, rhoAlong);
  const normBStar = star ? operatorNorm(star.bx, star.bxT, star.P, 30, 1e-6) : spectralNorm(ref.B!);
  // A map affine in x: the constants exactly (exact-constants.ts) instead of secant estimates.
  const why = exactnessObstacle(problem);
  let kinds: ConstantKinds = curved ? { rho: 'estimate', LA: 'upper estimate', LB: 'upper estimate', why: why ?? undefined } : { rho: 'estimate', LA: 'estimate', LB: 'estimate', why: why ?? undefined };
  let exactNote: string | null = null;
  if (why === null) {
    const secantLB = LB;
    const exact = await exactConstants(problem, ref);
    rho = exact.rho;
    LA = 0;
    LB = exact.LB;
    kinds = { rho: 'exact', LA: 'exact', LB: exact.LBExact ? 'exact' : 'upper bound' };
    exactNote = `Φ is affine in the state (symbolic degree 1): ∂ₓΦ is constant, so ρ = ‖∂ₓΦ‖₂ = ${rho.toPrecision(6)} and L_A = 0 hold exactly; ∂θΦ is affine in x with the constant second derivative D = ∂²Φ/∂x∂θ, so L_B = sup_{‖d‖=1} ‖D[d]‖₂ = ${exact.LBExact ? `${LB.toPrecision(6)} (exact: attained ${exact.LBAttained.toPrecision(12)}, upper bound ${exact.LBUpper.toPrecision(12)})` : `at most ${exact.LBUpper.toPrecision(6)} (upper bound used; attained ${exact.LBAttained.toPrecision(6)})`}; the secant estimate along the iterates was ${secantLB.toPrecision(6)}`;
  }
  const C = LA * ref.jNorm + LB;
  const notes = [
    `Constants: ${describeKinds(kinds)}`,
    ...(exactNote ? [exactNote] : [
      `ρ = max(‖∂ₓΦ(x*)‖₂ = ${ref.rhoStar.toPrecision(6)}, largest ‖∂ₓΦ(x_k)‖₂ over ${states.size} sampled iterates = ${rhoAlong.toPrecision(6)}) (estimate)`,
      curved
        ? `L_A, L_B: the largest ‖D∂ₓΦ(z)[h]‖₂ and ‖D∂θΦ(z)[h]‖₂ over ${curved.points} points z on the segments from x* to the sampled iterates and ${curved.directions} unit directions h per point (central differences of the generated partials): upper estimates, at least the secant ratios ${secants.LA.toPrecision(4)} and ${secants.LB.toPrecision(4)}, but sampled, not proven`
        : `L_A, L_B: largest secant ratios ‖∂Φ(x_k) − ∂Φ(x*)‖₂ / ‖x_k − x*‖ over the sampled iterates (estimates, lower bounds of the global constants)`,
    ]),
    `‖B*‖ = ‖∂θΦ(x*)‖₂ stands in for M_B; C = L_A‖J*‖ + L_B (the sharper constant of Lemma 6)`,
    ref.method === 'GMRES'
      ? `‖x⁰ − x*‖ is exact (x* from the fixed-point solve); ‖J*‖ by power iteration on J*ᵀJ*, each product J*v, uᵀJ* a GMRES solve of (I − ∂ₓΦ) or its transpose to a relative residual ≤ 1e-12 (no dense Jacobians at this size)`
      : `‖x⁰ − x*‖ and ‖J*‖ are computed exactly (x* from the fixed-point solve, J* = (I − ∂ₓΦ)⁻¹∂θΦ)`,
  ];
  notes.push(`sr(∂ₓΦ(x*)) = ${ref.srStar.toPrecision(6)}: the spectral radius (largest |eigenvalue|, dense eigen-solve), the asymptotic rate of the iteration`);
  if (rho >= 1 && ref.srStar < 1) {
    notes.push(`ρ = ${rho.toPrecision(6)} ≥ 1 in the 2-norm but sr(∂ₓΦ(x*)) < 1: the iteration converges (as momentum methods do), though the 2-norm error may grow for a while before it falls; the bounds, which assume ‖∂ₓΦ‖ ≤ ρ < 1, do not apply`);
  } else if (rho >= 1) {
    notes.push(`WARNING: sr(∂ₓΦ(x*)) = ${ref.srStar.toPrecision(6)} ≥ 1: the map is not a contraction here, so the bounds do not apply`);
  }
  return {
    rho, rhoStar: ref.rhoStar, rhoAlongIterates: rhoAlong, spectralRadius: ref.srStar, LA, LB, normBStar, normJStar: ref.jNorm, e0, C,
    contractive: rho < 1, convergent: ref.srStar < 1, notes, kinds,
  };
}


/** (21): ‖ẋ_t^k − J*‖ ≤ ρ^{k−t}‖J*‖ + C(k−t)ρ^{k−1}‖x⁰ − x*‖ (t = 0 gives (17)); ẋ⁰ = 0. */
export function forwardBound(c: Constants, k: number, t: number): number {
  return Math.pow(c.rho, k - t) * c.normJStar + c.C * (k - t) * Math.pow(c.rho, k - 1) * c.e0;
}

/** (18): the backward sweep stopped at k: ‖X̄_k − J*‖ ≤ ρ^{K−k}‖J*‖ + C(K−k)ρ^{K−1}‖x⁰ − x*‖. */
export function reverseBound(c: Constants, k: number, K: number): number {
  return Math.pow(c.rho, K - k) * c.normJStar + c.C * (K - k) * Math.pow(c.rho, K - 1) * c.e0;
}

/** (22): φ(Δ) = ρ^{K−Δ}‖J*‖ + C(K−Δ)ρ^{K+ωΔ−1}‖x⁰ − x*‖, the bound at the end of a budgeted run. */
export function phi(c: Constants, delta: number, K: number, omega: number): number {
  return Math.pow(c.rho, K - delta) * c.normJStar + c.C * (K - delta) * Math.pow(c.rho, K + omega * delta - 1) * c.e0;
}

/**
 * The minimiser of φ over Δ ∈ [0, maxDelta] (convex there, Lemma 11): golden-section search on
 * the reals, then the better of the nearest admissible integers on either side (ωΔ must be an
 * integer). maxDelta = K − 1 keeps one differentiated iteration: at Δ = K nothing is unrolled,
 * the derivative is ẋ⁰ = 0 and φ(K) = ‖J*‖, which a recommendation must not propose.
 */
export function minimisePhi(c: Constants, K: number, omega: number, maxDelta = K): { delta: number; t: number; value: number; continuous: number } {
  const f = (d: number) => phi(c, d, K, omega);
  const top = Math.min(K, maxDelta);
  let lo = 0;
  let hi = top;
  const g = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 200 && hi - lo > 1e-9 * Math.max(1, top); i++) {
    const a = hi - g * (hi - lo);
    const b = lo + g * (hi - lo);
    if (f(a) <= f(b)) hi = b;
    else lo = a;
  }
  const continuous = (lo + hi) / 2;
  const admissible = (d: number) => d >= 0 && d <= top && Number.isInteger(omega * d);
  // The nearest admissible Δ on each side of the real minimiser (φ is convex).
  let below = Math.floor(continuous);
  while (below > 0 && !admissible(below)) below--;
  let above = Math.ceil(continuous);
  while (above < top && !admissible(above)) above++;
  const candidates = [below, above, 0, top].filter(admissible);
  const best = candidates.reduce((p, d) => (f(d) < f(p) ? d : p), candidates[0]!);
  return { delta: best, t: (1 + omega) * best, value: f(best), continuous };
}

/**
 * Upper estimates of L_A and L_B for a map that is not affine in x: the largest second
 * derivative ‖D(∂Φ)(z)[h]‖₂ (central differences of the generated ∂ₓΦ and ∂θΦ) over points z on
 * the segments from x* to each sampled iterate (the region the iterates cross) and unit
 * directions h: the direction of the segment (so every secant ratio along it is at most the
 * value found, by the mean-value theorem) and a few seeded random ones. Sampled, so not a proof.
 */
async function secondDerivativeBound(problem: LabProblem, ref: Reference, iterates: readonly Named[]): Promise<{ LA: number; LB: number; points: number; directions: number }> {
  const { model, inputs, dims } = problem;
  const one = await problem.instance(1, 0, 'forward');
  const xStar = ref.fixedPoint.vector;
  const n = xStar.length;
  const rng = randomGenerator(7);
  const random = Array.from({ length: 4 }, () => unitVector(rng, n));
  const partials = (z: Float64Array) => {
    const point = split(z, model.state, dims);
    const a = one.partialX(inputs as never, point as never);
    const b = one.partialTheta(inputs as never, point as never);
    return { A: denseMatrix(a.rows, a.cols, a.data), B: denseMatrix(b.rows, b.cols, b.data) };
  };
  let LA = 0;
  let LB = 0;
  let points = 0;
  for (const it of iterates) {
    const x = concat(it, model.state);
    const d = x.map((v, i) => v - xStar[i]!);
    const dist = norm(d);
    if (!(dist > 1e-8 * Math.max(1, norm(xStar)))) continue;
    const along = d.map((v) => v / dist);
    for (const s of [0, 0.5, 1]) {
      const z = xStar.map((v, i) => v + s * d[i]!);
      points++;
      for (const h of [along, ...random]) {
        const eps = 1e-5 * Math.max(1, norm(z));
        const plus = partials(z.map((v, i) => v + eps * h[i]!));
        const minusP = partials(z.map((v, i) => v - eps * h[i]!));
        const scale = 1 / (2 * eps);
        LA = Math.max(LA, spectralNorm(minus(plus.A, minusP.A)) * scale);
        LB = Math.max(LB, spectralNorm(minus(plus.B, minusP.B)) * scale);
      }
    }
  }
  return { LA, LB, points, directions: 1 + random.length };
}
