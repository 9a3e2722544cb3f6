// The experiments of one `phic paper` run, each on code phic generates: the budgeted
// truncation sweep of one (n, repetition, step) with every check made on it (C1, C2, C5, C6,
// C7, C11 at the same points), the warm- versus cold-started hypergradients along Algorithm 1
// (C10), and ρ(α) on a grid of step sizes (C11). paper-run.ts runs them and summarises.

import { inMemorySource } from '../../compiler/spec/source.js';
import { denseMatrix, randomGenerator, spectralNorm } from '../../runtime/reference.js';
import { estimateConstants, forwardBound, minimisePhi, type Constants } from './bounds.js';
import {
  asConstants, curseFactorDeviation,
  type BoundCheck, type BudgetCheck, type ContractionCheck, type JacobianCheck, type PairingCheck, type PhiConstants, type StepKind, type WarmStartRun,
} from './claims.js';
import { reference } from './fixed-point.js';
import { extremeEigenvalues, lsqData, lsqSpec, ridgeSpec, seedFor, stepSize, type LsqData, type PaperConfig } from './paper-config.js';
import { concat, makeProblem, split, type LabProblem } from './problem.js';
import { distance, dot, norm, unitVector } from './stats.js';
import { sweepTruncation } from './truncation.js';
import { traceCurse } from './trace.js';

/** One (n, repetition, step): per Δ of the sweep, the error curves and final errors. */
export interface RepRun {
  readonly step: StepKind;
  readonly n: number;
  readonly rep: number;
  readonly alpha: number;
  readonly L: number;
  readonly mu: number;
  readonly constants: Constants;
  readonly trueConstants: PhiConstants;
  readonly estimatedPhi: PhiConstants;
  readonly predictedContinuous: number;
  readonly forward: number[][];
  readonly reverse: number[][];
  readonly iterate: number[][];
  readonly finalForward: number[];
  readonly finalReverse: number[];
  readonly finalIterate: number[];
  readonly phiEstimated: number[];
  readonly phiTrue: number[];
  iterateMonotone: boolean;
  samePointLB: number;
  /** The untruncated forward error over the shape horizon (C3, C9), and whether ‖x_k − x*‖ is monotone there. */
  shapeForward: number[];
  shapeIterateMonotone: boolean;
  /** The figures' normalisation: mean ‖J*v‖ (forward), mean ‖uᵀJ*‖ (reverse) over this repetition's directions, and ‖x⁰ − x*‖. */
  forwardScale: number;
  reverseScale: number;
  iterateScale: number;
}

/** Iterations over which the untruncated curve is traced for C3/C9: K, or about 5/(−ln ρ) when longer (the curse term kρ^k falls below 10% of its peak there), at most 20K. */
export function shapeHorizon(K: number, rho: number): number {
  const settle = rho > 0 && rho < 1 ? Math.ceil(5 / -Math.log(rho)) : K;
  return Math.min(20 * K, Math.max(K, settle));
}

/** The contraction factor of GD with step α on ½‖Ax − b‖²: max(|1 − αμ|, |1 − αL|). */
export const gdRate = (alpha: number, data: Pick<LsqData, 'L' | 'mu'>) => Math.max(Math.abs(1 - alpha * data.mu), Math.abs(1 - alpha * data.L));

/** The checks every repetition adds to, for the claims. */
export interface Collected {
  pairings: PairingCheck[];
  jacobians: JacobianCheck[];
  boundsTrue: BoundCheck[];
  boundsEstimated: BoundCheck[];
  budget: BudgetCheck[];
  phiSets: PhiConstants[];
  factorDeviation: number;
}

/** One repetition of Algorithm 1, with the error of a hypergradient started at x*(λ_j) itself (the floor a warm start can reach). */
export interface BilevelRun extends WarmStartRun {
  readonly lambda: readonly number[];
  readonly outerLoss: readonly number[];
  readonly exactStartErrors: readonly number[];
}

export async function runRep(config: PaperConfig, data: LsqData, n: number, rep: number, step: StepKind, out: Collected, tick: () => void, horizon = config.K): Promise<RepRun> {
  const { K, omega, deltas } = config;
  const alpha = stepSize(config, step, data.L, data.mu);
  const problem = makeProblem(inMemorySource(lsqSpec(alpha)), { A: data.A, b: data.b }, { x: data.x0 });
  const ref = await reference(problem);
  const constants = await estimateConstants(problem, ref, { K, samples: config.constantSamples });
  tick();
  const rho = gdRate(alpha, data);
  const trueConstants: PhiConstants = { label: `true ${step} n=${n} rep ${rep}`, rho, C: 2 * alpha * Math.sqrt(data.L), a: ref.jNorm, e0: constants.e0, K, omega };
  const estimatedPhi: PhiConstants = { label: `estimated ${step} n=${n} rep ${rep}`, rho: constants.rho, C: constants.C, a: constants.normJStar, e0: constants.e0, K, omega };
  out.phiSets.push(trueConstants, estimatedPhi);
  const sweep = await sweepTruncation(problem, ref, constants, { K, omega, deltas, measure: 'directions', directions: config.directions, seed: seedFor(config, n, rep, 1), timingCalls: 0, onRun: () => tick() });
  const trueK = asConstants(trueConstants);
  const rng = randomGenerator(seedFor(config, n, rep, 2));
  const run: RepRun = {
    step, n, rep, alpha, L: data.L, mu: data.mu, constants, trueConstants, estimatedPhi,
    predictedContinuous: minimisePhi(constants, K, omega).delta,
    forward: [], reverse: [], iterate: [], finalForward: [], finalReverse: [], finalIterate: [], phiEstimated: [], phiTrue: [],
    iterateMonotone: true, samePointLB: 0, shapeForward: [], shapeIterateMonotone: true,
    // The same seed gives every Δ the same directions, so one scale serves the whole sweep.
    forwardScale: sweep.runs[0]!.trace.forwardScale!, reverseScale: sweep.runs[0]!.trace.reverseScale!, iterateScale: constants.e0,
  };
  // C3/C9: the untruncated forward curve over a horizon long enough to see its peak.
  const shape = await traceCurse(problem, ref, { K: horizon, truncate: 0, mode: 'forward', measure: 'directions', directions: config.directions, seed: seedFor(config, n, rep, 1) });
  run.shapeForward = shape.forward!.map((p) => p.error);
  run.shapeIterateMonotone = isMonotone(shape.iterate.map((p) => p.error));
  for (const r of sweep.runs) {
    const tr = r.trace;
    const Kp = r.iterations;
    const fwd = tr.forward!.map((p) => p.error);
    const rev = tr.reverse!.map((p) => p.error);
    const it = tr.iterate.map((p) => p.error);
    run.forward.push(fwd);
    run.reverse.push(rev);
    run.iterate.push(it);
    run.finalForward.push(r.finalForward);
    run.finalReverse.push(r.finalReverse);
    run.finalIterate.push(it[it.length - 1]!);
    run.phiEstimated.push(r.bound);
    run.phiTrue.push(forwardBound(trueK, Kp, r.t));
    if (!isMonotone(it)) run.iterateMonotone = false;
    // C5: (21) at every measured index, forward (truncation t) and reverse (truncation k, end K').
    for (const [checks, c] of [[out.boundsTrue, trueK], [out.boundsEstimated, constants]] as const) {
      checks.push({ step, n, rep, delta: r.delta, mode: 'forward', errors: fwd, bounds: tr.forward!.map((p) => forwardBound(c, p.k, r.t)) });
      checks.push({ step, n, rep, delta: r.delta, mode: 'reverse', errors: rev, bounds: tr.reverse!.map((p) => forwardBound(c, Kp, p.k)) });
    }
    for (const p of tr.forward!) if (p.k > r.t) out.factorDeviation = Math.max(out.factorDeviation, curseFactorDeviation(rho, p.k, r.t));
    // C1/C2 and C6: one generated jvp and one generated vjp of this (K', t) instance.
    const inst = await problem.instance(Kp, r.t, 'both');
    const v = unitVector(rng, problem.paramSize);
    const u = unitVector(rng, problem.stateSize);
    let algorithmSteps = 0;
    let derivativeSteps = 0;
    const jv = inst.jvp!(problem.inputs as never, split(v, problem.model.params, problem.dims) as never, problem.x0 as never, (o) => {
      if (o.phase === 'idle' || o.phase === 'forward') algorithmSteps++;
      if (o.phase === 'forward') derivativeSteps++;
    });
    const tangent = concat(jv.tangent, problem.model.state);
    const vj = inst.vjp!(problem.inputs as never, split(u, problem.model.state, problem.dims) as never, problem.x0 as never);
    const gradient = concat(vj.gradient, problem.model.params);
    out.pairings.push({ step, n, rep, t: r.t, forward: dot(u, tangent), reverse: dot(gradient, v), scale: Math.max(norm(tangent), norm(gradient)) });
    out.budget.push({ K, omega, delta: r.delta, t: r.t, algorithmSteps, derivativeSteps });
    if (rep === 0 && n === config.ns[0]) out.jacobians.push(compareJacobians(problem, inst, step, n, r.t));
  }
  // C11 (same points): ‖∂uΦ(x⁰) − ∂uΦ(x*)‖ / ‖x⁰ − x*‖ from the generated partialTheta.
  const one = await problem.instance(1, 0, 'forward');
  const B0 = one.partialTheta(problem.inputs as never, { x: Float64Array.from(data.x0) } as never);
  const Bs = one.partialTheta(problem.inputs as never, ref.fixedPoint.state as never);
  run.samePointLB = spectralNorm(denseMatrix(B0.rows, B0.cols, B0.data.map((x, i) => x - Bs.data[i]!))) / constants.e0;
  return run;
}

/** Non-increasing up to rounding. */
const isMonotone = (xs: readonly number[]) => xs.every((x, k) => k === 0 || x <= xs[k - 1]! * (1 + 1e-12) + 1e-15);

function compareJacobians(problem: LabProblem, inst: Awaited<ReturnType<LabProblem['instance']>>, step: StepKind, n: number, t: number): JacobianCheck {
  const f = inst.jacobianForward!(problem.inputs as never, problem.x0 as never).jacobian;
  const r = inst.jacobianReverse!(problem.inputs as never, problem.x0 as never).jacobian;
  let diff = 0;
  let size = 0;
  for (const s of Object.keys(f)) for (const p of Object.keys(f[s]!)) {
    const a = f[s]![p]!.data;
    const b = r[s]![p]!.data;
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      size = Math.max(size, Math.abs(a[i]!));
    }
  }
  return { step, n, t, maxAbsDifference: diff, maxAbsEntry: size };
}

/** C10: one repetition of Algorithm 1 on the ridge problem, warm- and cold-started hypergradients against the implicit one. */
export async function runBilevelRep(config: PaperConfig, rep: number, tick: () => void): Promise<{ alpha: number; eta: number; run: BilevelRun }> {
  const c = config.bilevel;
  const rng = randomGenerator(seedFor(config, c.n, rep, 3));
  const m = config.m;
  const xTrue = Array.from({ length: c.n }, () => rng.normal());
  const rows = (count: number) => Array.from({ length: count }, () => Array.from({ length: c.n }, () => rng.uniform()));
  const labels = (M: number[][]) => M.map((row) => dot(row, xTrue) + c.noise * rng.normal());
  const A = rows(m);
  const b = labels(A);
  const Av = rows(c.validationRows);
  const bv = labels(Av);
  const x0 = Array.from({ length: c.n }, () => rng.normal());
  const { L, mu } = extremeEigenvalues(A);
  const [lo, hi] = c.lambdaRange;
  // GD on ½‖Ax − b‖² + ½λ‖x‖² has Hessian AᵀA + λI: this α is optimal for the extreme
  // eigenvalues over λ ∈ [lo, hi], so the inner map contracts for every admissible λ.
  const alpha = 2 / (L + hi + mu + lo);
  const inputsAt = (lam: number) => ({ A, b, Av, bv, lam });
  const problem = makeProblem(inMemorySource(ridgeSpec(alpha)), inputsAt(c.lambda0), { x: x0 });
  const inst = await problem.instance(c.K, 0, 'reverse');
  const implicit = async (lam: number) => {
    const p = problem.withInputs(inputsAt(lam), { x: x0 });
    const ref = await reference(p);
    const one = await p.instance(1, 0, 'forward');
    const o = one.outerAt!(p.inputs, ref.fixedPoint.state);
    const gx = concat(o.stateGradient, p.model.state);
    let g = o.paramGradient.lam![0]!;
    const J = ref.J!; // small: dense LU
    for (let i = 0; i < gx.length; i++) g += gx[i]! * J.data[i * J.cols]!;
    return { g, xStar: ref.fixedPoint.vector, loss: o.loss };
  };
  let lam = c.lambda0;
  let xWarm = Float64Array.from(x0);
  const run = { rep, warmErrors: [] as number[], coldErrors: [] as number[], warmInitialDistance: [] as number[], coldInitialDistance: [] as number[], lambda: [] as number[], outerLoss: [] as number[], exactStartErrors: [] as number[] };
  let eta = NaN;
  for (let j = 0; j < c.outerSteps; j++) {
    const exact = await implicit(lam);
    if (j === 0) eta = (c.firstStepFraction * c.lambda0) / Math.max(Math.abs(exact.g), 1e-300);
    const warm = inst.hypergradient!(inputsAt(lam), { x: xWarm });
    const cold = inst.hypergradient!(inputsAt(lam), { x: x0 });
    run.warmErrors.push(Math.abs(warm.gradient.lam![0]! - exact.g));
    run.coldErrors.push(Math.abs(cold.gradient.lam![0]! - exact.g));
    const fromStar = inst.hypergradient!(inputsAt(lam), { x: exact.xStar });
    run.exactStartErrors.push(Math.abs(fromStar.gradient.lam![0]! - exact.g));
    run.warmInitialDistance.push(distance(xWarm, exact.xStar));
    run.coldInitialDistance.push(distance(x0, exact.xStar));
    run.lambda.push(lam);
    run.outerLoss.push(exact.loss);
    // Algorithm 1: outer GD step with the warm-started hypergradient, then warm start.
    lam = Math.min(hi, Math.max(lo, lam - eta * warm.gradient.lam![0]!));
    xWarm = Float64Array.from(warm.state.x!);
  }
  tick();
  return { alpha, eta, run };
}

/** C11: ρ(α) on a grid of step sizes, from the generated ∂ₓΦ, against max|1 − αλ|. */
export async function contractionGrid(config: PaperConfig): Promise<ContractionCheck[]> {
  const n = config.ns[Math.floor(config.ns.length / 2)]!;
  const data = lsqData(config, n, 0);
  const opt = (2 * data.L) / (data.L + data.mu);
  const grid = [...config.contractionGrid.map((g) => ({ alphaL: g, optimal: false })), { alphaL: opt, optimal: true }, { alphaL: 0.99 * opt, optimal: false }, { alphaL: 1.01 * opt, optimal: false }];
  const out: ContractionCheck[] = [];
  for (const g of grid.sort((a, b) => a.alphaL - b.alphaL)) {
    const alpha = g.alphaL / data.L;
    const problem = makeProblem(inMemorySource(lsqSpec(alpha)), { A: data.A, b: data.b }, { x: data.x0 });
    const inst = await problem.instance(1, 0, 'forward');
    const a = inst.partialX(problem.inputs as never, { x: Float64Array.from(data.x0) } as never);
    out.push({ alphaL: g.alphaL, optimal: g.optimal, rhoGenerated: spectralNorm(denseMatrix(a.rows, a.cols, a.data)), rhoFormula: Math.max(Math.abs(1 - alpha * data.mu), Math.abs(1 - alpha * data.L)) });
  }
  return out;
}
