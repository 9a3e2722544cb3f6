// `phic paper`: the Appendix C experiment of "Understanding the Curse of Unrolling" (MATH.md §7),
// run end to end with the code phic generates. Least squares ½‖Ax − b‖² by gradient descent,
// differentiated with respect to u = (A, b), for six n at a fixed m and two step sizes; the
// budgeted truncation sweep K + ωΔ, t = (1 + ω)Δ; median curves across repetitions; one figure
// per (step, n); a warm- versus cold-start bilevel comparison; and every claim C1–C11 of
// MATH.md §9.2 evaluated from the run's numbers (src/lab/claims.ts) into report.md and
// results.json.

import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type * as vegaLite from 'vega-lite';
import { inMemorySource } from '../../compiler/spec/source.js';
import type { MapSpec } from '../../compiler/spec/types.js';
import { denseMatrix, randomGenerator, spectralNorm, type RandomGenerator } from '../../runtime/reference.js';
import { estimateConstants, forwardBound, minimisePhi, type Constants } from './bounds.js';
import {
  asConstants, curseFactorDeviation, evaluateC1, evaluateC10, evaluateC11, evaluateC2, evaluateC3, evaluateC4, evaluateC5, evaluateC6, evaluateC7, evaluateC8, evaluateC9,
  fmt, formatValue, bestDelta,
  type BoundCheck, type BudgetCheck, type BudgetOutcome, type ClaimResult, type ContractionCheck, type CurveShape, type JacobianCheck, type LipschitzPair,
  type PairingCheck, type PhiConstants, type StepComparison, type StepKind, type WarmStartRun,
} from './claims.js';
import { reference } from './fixed-point.js';
import { markdownTable, type OutputFile } from './output.js';
import { renderSvg, svgToPng } from './plot.js';
import { concat, makeProblem, split, type LabProblem } from './problem.js';
import { sweepTruncation } from './truncation.js';

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

export interface BilevelConfig {
  /** Features of the ridge problem (training rows are the main m). */
  readonly n: number;
  /** Inner GD iterations per outer step (the same for warm and cold starts). */
  readonly K: number;
  readonly outerSteps: number;
  readonly validationRows: number;
  /** Standard deviation of the label noise in training and validation data. */
  readonly noise: number;
  /** Initial ridge penalty λ₀ and the interval λ is projected onto. */
  readonly lambda0: number;
  readonly lambdaRange: readonly [number, number];
  /** The outer step η is chosen so that the first step changes λ by this fraction of λ₀. */
  readonly firstStepFraction: number;
}

export interface PaperConfig {
  readonly label: 'full' | 'quick';
  readonly m: number;
  readonly ns: readonly number[];
  readonly K: number;
  readonly omega: number;
  readonly deltas: readonly number[];
  readonly reps: number;
  /** Random unit directions per JVP/VJP error (averaged), as in trace.ts. */
  readonly directions: number;
  readonly seed: number;
  /** The suboptimal step is this / L. */
  readonly suboptimalFactor: number;
  /** Iterates sampled by estimateConstants. */
  readonly constantSamples: number;
  readonly bilevel: BilevelConfig;
  /** α·L values of the contraction grid (C11), plus 2L/(L + μ) and 1 ± 1% around it. */
  readonly contractionGrid: readonly number[];
}

export const FULL_CONFIG: PaperConfig = {
  label: 'full',
  m: 50,
  ns: [5, 10, 20, 30, 35, 40],
  K: 300,
  omega: 2,
  deltas: [0, 50, 100, 150, 200, 250],
  reps: 5,
  directions: 4,
  seed: 20260223,
  suboptimalFactor: 1,
  constantSamples: 12,
  bilevel: { n: 30, K: 100, outerSteps: 30, validationRows: 100, noise: 0.5, lambda0: 1, lambdaRange: [0.01, 10], firstStepFraction: 0.1 },
  contractionGrid: [0.25, 0.5, 1, 1.5, 1.9, 1.99, 2.01, 2.1, 2.5],
};

export const QUICK_CONFIG: PaperConfig = {
  label: 'quick',
  m: 12,
  ns: [3, 6, 9],
  K: 40,
  omega: 2,
  deltas: [0, 10, 20, 30],
  reps: 2,
  directions: 2,
  seed: 20260223,
  suboptimalFactor: 1,
  constantSamples: 6,
  bilevel: { n: 6, K: 15, outerSteps: 5, validationRows: 20, noise: 0.5, lambda0: 1, lambdaRange: [0.01, 10], firstStepFraction: 0.1 },
  contractionGrid: [0.5, 1, 1.9, 2.1],
};

const STEPS: readonly StepKind[] = ['optimal', 'suboptimal'];

export function lsqSpec(alpha: number): MapSpec {
  return { name: 'lsq', state: { x: 'n' }, params: { A: 'm,n', b: 'm' }, constants: { alpha }, objective: '0.5*sum((A*x - b).^2)', method: { name: 'gd', step: 'alpha' } };
}

/** Ridge regression with a scalar penalty λ and a validation loss: the bilevel problem of C10. */
export function ridgeSpec(alpha: number): MapSpec {
  return {
    name: 'ridge_warm', state: { x: 'n' }, params: { lam: '' }, data: { A: 'm,n', b: 'm' }, constants: { alpha },
    objective: '0.5*sum((A*x - b).^2) + 0.5*lam*sum(x.^2)', method: { name: 'gd', step: 'alpha' },
    outer: { objective: '0.5*sum((Av*x - bv).^2)', data: { Av: 'p,n', bv: 'p' } },
  };
}

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

/** One (step, n) configuration, medians across repetitions. */
export interface ConfigurationSummary {
  readonly step: StepKind;
  readonly n: number;
  readonly kappa: number;
  readonly alphaL: number;
  readonly rho: number;
  readonly LBEstimate: number;
  readonly LBTrue: number;
  readonly normJ: number;
  readonly e0: number;
  readonly kMax: number;
  readonly kMin: number;
  readonly deltas: readonly number[];
  readonly finalForward: readonly number[];
  readonly finalReverse: readonly number[];
  readonly finalIterate: readonly number[];
  readonly phiEstimated: readonly number[];
  readonly phiTrue: readonly number[];
  readonly bestDelta: number;
  /** argmin of the median φ (estimated constants) over the Δ set, and minimisePhi over 0..K (median). */
  readonly predictedDelta: number;
  readonly continuousDelta: number;
}

export interface PaperResults {
  readonly config: PaperConfig;
  readonly wallSeconds: number;
  readonly configurations: readonly ConfigurationSummary[];
  readonly claims: readonly ClaimResult[];
  readonly bilevel: { readonly alpha: number; readonly eta: number[]; readonly runs: readonly BilevelRun[] };
  readonly contraction: readonly ContractionCheck[];
  readonly lipschitz: readonly LipschitzPair[];
  readonly constantNotes: readonly string[];
}

/** One repetition of Algorithm 1, with the error of a hypergradient started at x*(λ_j) itself (the floor a warm start can reach). */
export interface BilevelRun extends WarmStartRun {
  readonly lambda: readonly number[];
  readonly outerLoss: readonly number[];
  readonly exactStartErrors: readonly number[];
}

/** A figure in memory: its three files are produced by paperFigureFiles. */
export interface PaperFigure {
  readonly base: string;
  readonly step: StepKind;
  readonly n: number;
  readonly title: string;
  readonly series: readonly PlotSeries[];
}

export interface PlotSeries {
  readonly name: string;
  readonly panel: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
  readonly color: string;
  readonly dash: 'solid' | 'dashed' | 'none';
  readonly marker?: 'circle' | 'cross';
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((p, x) => p + x * x, 0));
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((p, x, i) => p + x * b[i]!, 0);
export const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
};
const medianCurve = (curves: readonly (readonly number[])[]) => curves[0]!.map((_, i) => median(curves.map((c) => c[i]!)));
const argMax = (xs: readonly number[]) => xs.reduce((b, v, i) => (v > xs[b]! ? i : b), 0);
const argMin = (xs: readonly number[]) => xs.reduce((b, v, i) => (v < xs[b]! ? i : b), 0);
const unit = (rng: RandomGenerator, n: number) => {
  const v = rng.vector(n, 'normal');
  const s = norm(v);
  return v.map((x) => x / s);
};

function seedFor(config: PaperConfig, n: number, rep: number, salt = 0): number {
  return (config.seed + 7919 * n + 104_729 * rep + 15_485_863 * salt) >>> 0;
}

interface LsqData {
  readonly A: number[][];
  readonly b: number[];
  readonly x0: number[];
  readonly L: number;
  readonly mu: number;
}

/** A ~ U[0,1)^{m×n}, b ~ N(0,1)^m, x⁰ ~ N(0,1)^n, seeded per (n, repetition); L, μ of AᵀA. */
export function lsqData(config: PaperConfig, n: number, rep: number): LsqData {
  const rng = randomGenerator(seedFor(config, n, rep));
  const A = Array.from({ length: config.m }, () => Array.from({ length: n }, () => rng.uniform()));
  const b = Array.from({ length: config.m }, () => rng.normal());
  const x0 = Array.from({ length: n }, () => rng.normal());
  const { L, mu } = extremeEigenvalues(A);
  return { A, b, x0, L, mu };
}

export function extremeEigenvalues(A: number[][]): { L: number; mu: number } {
  const M = new Matrix(A);
  const ev = new EigenvalueDecomposition(M.transpose().mmul(M), { assumeSymmetric: true }).realEigenvalues;
  return { L: Math.max(...ev), mu: Math.min(...ev) };
}

export function stepLabel(config: PaperConfig, step: StepKind): string {
  return step === 'optimal' ? '2/(L+μ)' : config.suboptimalFactor === 1 ? '1/L' : `${config.suboptimalFactor}/L`;
}

export function stepSize(config: PaperConfig, step: StepKind, L: number, mu: number): number {
  return step === 'optimal' ? 2 / (L + mu) : config.suboptimalFactor / L;
}

// ---------------------------------------------------------------------------------------------
// One (n, repetition, step): the budgeted sweep and every check on it
// ---------------------------------------------------------------------------------------------

interface RepRun {
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
}

interface Collected {
  pairings: PairingCheck[];
  jacobians: JacobianCheck[];
  boundsTrue: BoundCheck[];
  boundsEstimated: BoundCheck[];
  budget: BudgetCheck[];
  phiSets: PhiConstants[];
  factorDeviation: number;
}

async function runRep(config: PaperConfig, data: LsqData, n: number, rep: number, step: StepKind, out: Collected, tick: () => void): Promise<RepRun> {
  const { K, omega, deltas } = config;
  const alpha = stepSize(config, step, data.L, data.mu);
  const problem = makeProblem(inMemorySource(lsqSpec(alpha)), { A: data.A, b: data.b }, { x: data.x0 });
  const ref = await reference(problem);
  const constants = await estimateConstants(problem, ref, { K, samples: config.constantSamples });
  tick();
  const rho = Math.max(Math.abs(1 - alpha * data.mu), Math.abs(1 - alpha * data.L));
  const trueConstants: PhiConstants = { label: `true ${step} n=${n} rep ${rep}`, rho, C: 2 * alpha * Math.sqrt(data.L), a: ref.jNorm, e0: constants.e0, K, omega };
  const estimatedPhi: PhiConstants = { label: `estimated ${step} n=${n} rep ${rep}`, rho: constants.rho, C: constants.C, a: constants.normJStar, e0: constants.e0, K, omega };
  out.phiSets.push(trueConstants, estimatedPhi);
  const sweep = await sweepTruncation(problem, ref, constants, { K, omega, deltas, measure: 'directions', directions: config.directions, seed: seedFor(config, n, rep, 1), onRun: () => tick() });
  const trueK = asConstants(trueConstants);
  const rng = randomGenerator(seedFor(config, n, rep, 2));
  const run: RepRun = {
    step, n, rep, alpha, L: data.L, mu: data.mu, constants, trueConstants, estimatedPhi,
    predictedContinuous: minimisePhi(constants, K, omega).delta,
    forward: [], reverse: [], iterate: [], finalForward: [], finalReverse: [], finalIterate: [], phiEstimated: [], phiTrue: [],
    iterateMonotone: true, samePointLB: 0,
  };
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
    for (let k = 1; k < it.length; k++) if (it[k]! > it[k - 1]! * (1 + 1e-12) + 1e-15) run.iterateMonotone = false;
    // C5: (21) at every measured index, forward (truncation t) and reverse (truncation k, end K').
    for (const [checks, c] of [[out.boundsTrue, trueK], [out.boundsEstimated, constants]] as const) {
      checks.push({ step, n, rep, delta: r.delta, mode: 'forward', errors: fwd, bounds: tr.forward!.map((p) => forwardBound(c, p.k, r.t)) });
      checks.push({ step, n, rep, delta: r.delta, mode: 'reverse', errors: rev, bounds: tr.reverse!.map((p) => forwardBound(c, Kp, p.k)) });
    }
    for (const p of tr.forward!) if (p.k > r.t) out.factorDeviation = Math.max(out.factorDeviation, curseFactorDeviation(rho, p.k, r.t));
    // C1/C2 and C6: one generated jvp and one generated vjp of this (K', t) instance.
    const inst = await problem.instance(Kp, r.t, 'both');
    const v = unit(rng, problem.paramSize);
    const u = unit(rng, problem.stateSize);
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

// ---------------------------------------------------------------------------------------------
// C10: warm- versus cold-started hypergradients along Algorithm 1
// ---------------------------------------------------------------------------------------------

async function runBilevel(config: PaperConfig, rep: number, tick: () => void): Promise<{ alpha: number; eta: number; run: BilevelRun }> {
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
    for (let i = 0; i < gx.length; i++) g += gx[i]! * ref.J.data[i * ref.J.cols]!;
    return { g, xStar: ref.fixedPoint.vector, loss: o.loss };
  };
  const distance = (x: ArrayLike<number>, y: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((p, v, i) => p + (v - y[i]!) ** 2, 0));
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

// ---------------------------------------------------------------------------------------------
// C11: ρ(α) on a grid of step sizes, from the generated ∂ₓΦ
// ---------------------------------------------------------------------------------------------

async function contractionGrid(config: PaperConfig): Promise<ContractionCheck[]> {
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

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

export function taskCount(config: PaperConfig): number {
  return config.ns.length * config.reps * STEPS.length * (config.deltas.length + 1) + config.reps + 1 + config.ns.length * STEPS.length;
}

export interface PaperProgress {
  tick(): void;
}

/** Counts finished tasks (taskCount in all, the figures included) for a progress display. */
export function paperProgress(config: PaperConfig, onProgress?: (done: number, total: number) => void): PaperProgress {
  const total = taskCount(config);
  let done = 0;
  return { tick: () => onProgress?.(++done, total) };
}

export async function runPaper(config: PaperConfig, progress: PaperProgress = paperProgress(config)): Promise<{ results: PaperResults; figures: PaperFigure[] }> {
  validateConfig(config);
  const started = performance.now();
  const tick = () => progress.tick();
  const collected: Collected = { pairings: [], jacobians: [], boundsTrue: [], boundsEstimated: [], budget: [], phiSets: [], factorDeviation: 0 };
  const reps = new Map<string, RepRun[]>();
  const lipschitz: LipschitzPair[] = [];
  for (const n of config.ns) {
    for (let rep = 0; rep < config.reps; rep++) {
      const data = lsqData(config, n, rep);
      const byStep = {} as Record<StepKind, RepRun>;
      for (const step of STEPS) {
        const r = await runRep(config, data, n, rep, step, collected, tick);
        byStep[step] = r;
        const key = `${step}/${n}`;
        reps.set(key, [...(reps.get(key) ?? []), r]);
      }
      const o = byStep.optimal;
      const s = byStep.suboptimal;
      lipschitz.push({ n, rep, alphaRatio: o.alpha / s.alpha, estimateRatio: o.constants.LB / s.constants.LB, samePointRatio: o.samePointLB / s.samePointLB, LAOptimal: o.constants.LA, LASuboptimal: s.constants.LA });
    }
  }
  // C10
  const bilevelRuns: BilevelRun[] = [];
  const etas: number[] = [];
  let bilevelAlpha = NaN;
  for (let rep = 0; rep < config.reps; rep++) {
    const b = await runBilevel(config, rep, tick);
    bilevelRuns.push(b.run);
    etas.push(b.eta);
    if (rep === 0) bilevelAlpha = b.alpha;
  }
  // C11 grid
  const contraction = await contractionGrid(config);
  tick();

  const configurations: ConfigurationSummary[] = [];
  const shapes: CurveShape[] = [];
  const outcomes: BudgetOutcome[] = [];
  const figures: PaperFigure[] = [];
  const zero = config.deltas.indexOf(0);
  for (const step of STEPS) {
    for (const n of config.ns) {
      const rs = reps.get(`${step}/${n}`)!;
      const fwd = config.deltas.map((_, i) => medianCurve(rs.map((r) => r.forward[i]!)));
      const rev = config.deltas.map((_, i) => medianCurve(rs.map((r) => r.reverse[i]!)));
      const longest = argMax(config.deltas);
      const iterate = medianCurve(rs.map((r) => r.iterate[longest]!));
      const finalForward = config.deltas.map((_, i) => median(rs.map((r) => r.finalForward[i]!)));
      const finalReverse = config.deltas.map((_, i) => median(rs.map((r) => r.finalReverse[i]!)));
      const finalIterate = config.deltas.map((_, i) => median(rs.map((r) => r.finalIterate[i]!)));
      const phiEstimated = config.deltas.map((_, i) => median(rs.map((r) => r.phiEstimated[i]!)));
      const phiTrue = config.deltas.map((_, i) => median(rs.map((r) => r.phiTrue[i]!)));
      const kappa = median(rs.map((r) => r.L / r.mu));
      const f0 = fwd[zero]!;
      const r0 = rev[zero]!;
      const shape: CurveShape = {
        step, n, kappa, K: config.K, kMax: argMax(f0), forwardStart: f0[0]!, forwardPeak: Math.max(...f0),
        iterateMonotone: rs.every((r) => r.iterateMonotone), kMin: argMin(r0), reverseAtKMin: Math.min(...r0), reverseAtZero: r0[0]!,
      };
      const outcome: BudgetOutcome = { step, n, kappa, deltas: config.deltas, finalForward, predictedDelta: config.deltas[argMin(phiEstimated)]! };
      shapes.push(shape);
      outcomes.push(outcome);
      configurations.push({
        step, n, kappa, alphaL: median(rs.map((r) => r.alpha * r.L)), rho: median(rs.map((r) => r.trueConstants.rho)),
        LBEstimate: median(rs.map((r) => r.constants.LB)), LBTrue: median(rs.map((r) => r.trueConstants.C)),
        normJ: median(rs.map((r) => r.trueConstants.a)), e0: median(rs.map((r) => r.trueConstants.e0)),
        kMax: shape.kMax, kMin: shape.kMin, deltas: config.deltas, finalForward, finalReverse, finalIterate, phiEstimated, phiTrue,
        bestDelta: bestDelta(outcome), predictedDelta: outcome.predictedDelta!, continuousDelta: median(rs.map((r) => r.predictedContinuous)),
      });
      figures.push(buildFigure(config, step, n, kappa, fwd, rev, iterate, finalForward, finalReverse, finalIterate, phiEstimated));
    }
  }
  const comparisons: StepComparison[] = config.ns.map((n) => {
    const pick = (step: StepKind) => ({
      shape: shapes.find((s) => s.step === step && s.n === n)!,
      outcome: outcomes.find((o) => o.step === step && o.n === n)!,
      rho: configurations.find((c) => c.step === step && c.n === n)!.rho,
    });
    return { n, optimal: pick('optimal'), suboptimal: pick('suboptimal') };
  });
  const claims: ClaimResult[] = [
    evaluateC1(collected.pairings, collected.jacobians),
    evaluateC2(collected.pairings, collected.jacobians),
    evaluateC3(shapes),
    evaluateC4(shapes),
    evaluateC5(collected.boundsTrue, collected.boundsEstimated, collected.factorDeviation),
    evaluateC6(collected.budget),
    evaluateC7(collected.phiSets),
    evaluateC8(outcomes),
    evaluateC9(comparisons),
    evaluateC10(bilevelRuns),
    evaluateC11(lipschitz, contraction),
  ];
  const anyRun = reps.values().next().value![0]!;
  const results: PaperResults = {
    config,
    wallSeconds: (performance.now() - started) / 1000,
    configurations,
    claims,
    bilevel: { alpha: bilevelAlpha, eta: etas, runs: bilevelRuns },
    contraction,
    lipschitz,
    constantNotes: anyRun.constants.notes.filter((s) => !s.startsWith('WARNING')).map((s) => s.replace(/ = [0-9.e+-]+/g, '')),
  };
  return { results, figures };
}

function validateConfig(c: PaperConfig): void {
  const bad = (why: string) => {
    throw new Error(`invalid paper configuration: ${why}`);
  };
  if (!c.deltas.includes(0)) bad('the Δ set must contain 0');
  for (const d of c.deltas) if (!Number.isInteger(d) || d < 0 || d >= c.K || !Number.isInteger(c.omega * d)) bad(`Δ = ${d}`);
  for (const n of c.ns) if (n >= c.m) bad(`n = ${n} must be < m = ${c.m} (μ > 0)`);
  if (c.reps < 1 || c.ns.length < 1) bad('at least one n and one repetition');
}

// ---------------------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------------------

const PALETTE = ['#d62728', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];
const BLUE = '#1f77b4';
export const FORWARD_PANEL = 'forward mode: ‖ẋ_t^k − J*‖ (JVP)';
export const REVERSE_PANEL = 'reverse mode: ‖x̄_k − J*‖ (VJP)';
export const SERIES = {
  iterate: '‖x_k − x*‖ (algorithm)',
  iterateEnd: '‖x − x*‖ at the end of each run (circles)',
  final: 'final derivative error (circles)',
  bound: 'bound φ(Δ), estimated constants (crosses)',
  truncation: (t: number, delta: number) => `t = ${t} (Δ = ${delta})`,
};

/**
 * At most about `max` points of a curve (always its ends and extremes), y rounded to 6 digits.
 * The stride is even, so a period-2 oscillation (GD with a step near 2/L) is not aliased.
 */
function thin(points: readonly { x: number; y: number }[], max = 300): { x: number; y: number }[] {
  const round = (p: { x: number; y: number }) => ({ x: p.x, y: Number(p.y.toPrecision(6)) });
  if (points.length <= max) return points.map(round);
  const stride = 2 * Math.ceil(points.length / (2 * max));
  const keep = new Set([0, points.length - 1, argMax(points.map((p) => p.y)), argMin(points.map((p) => p.y))]);
  for (let i = 0; i < points.length; i += stride) keep.add(i);
  return [...keep].sort((a, b) => a - b).map((i) => round(points[i]!));
}

function buildFigure(
  config: PaperConfig, step: StepKind, n: number, kappa: number, fwd: number[][], rev: number[][], iterate: number[],
  finalForward: number[], finalReverse: number[], finalIterate: number[], phiEstimated: number[],
): PaperFigure {
  const { K, omega, deltas } = config;
  const series: PlotSeries[] = [];
  const ends = deltas.map((d) => K + omega * d);
  const ts = deltas.map((d) => (1 + omega) * d);
  for (const panel of [FORWARD_PANEL, REVERSE_PANEL]) {
    series.push({ name: SERIES.iterate, panel, points: thin(iterate.map((y, k) => ({ x: k, y }))), color: BLUE, dash: 'dashed' });
    series.push({ name: SERIES.iterateEnd, panel, points: ends.map((x, i) => ({ x, y: finalIterate[i]! })), color: BLUE, dash: 'none', marker: 'circle' });
    deltas.forEach((d, i) => {
      const curve = (panel === FORWARD_PANEL ? fwd : rev)[i]!;
      series.push({ name: SERIES.truncation(ts[i]!, d), panel, points: thin(curve.map((y, j) => ({ x: ts[i]! + j, y }))), color: PALETTE[i % PALETTE.length]!, dash: 'solid' });
    });
    const finals = panel === FORWARD_PANEL ? ends.map((x, i) => ({ x, y: finalForward[i]! })) : ts.map((x, i) => ({ x, y: finalReverse[i]! }));
    series.push({ name: SERIES.final, panel, points: [...finals].sort((a, b) => a.x - b.x), color: '#000000', dash: 'dashed', marker: 'circle' });
  }
  series.push({ name: SERIES.bound, panel: FORWARD_PANEL, points: ends.map((x, i) => ({ x, y: phiEstimated[i]! })), color: '#7f7f7f', dash: 'dashed', marker: 'cross' });
  const stepText = `α = ${stepLabel(config, step)}`;
  return {
    base: `fig-${step}-n${n}`, step, n, series,
    title: `Least squares m = ${config.m}, n = ${n} (κ ≈ ${fmt(kappa)}), ${stepText}: median of ${config.reps} runs, K = ${K}, ω = ${omega}`,
  };
}

const DASHES = { solid: [1, 0], dashed: [6, 4], none: [1, 0] } as const;
const CROSS = 'M-1,-1L1,1M-1,1L1,-1';

/** The vega-lite spec of a paper figure: forward and reverse panels, log-scale errors. */
export function paperFigureSpec(fig: PaperFigure): vegaLite.TopLevelSpec {
  const names = [...new Set(fig.series.map((s) => s.name))];
  const first = new Map<string, PlotSeries>();
  for (const s of fig.series) if (!first.has(s.name)) first.set(s.name, s);
  const rows = fig.series.flatMap((s) =>
    s.points.filter((p) => Number.isFinite(p.y) && p.y > 0).map((p) => ({ panel: s.panel, series: s.name, x: p.x, y: p.y, line: s.dash !== 'none', marker: s.marker ?? '' })),
  );
  const color = { field: 'series', type: 'nominal', sort: names, title: null, scale: { domain: names, range: names.map((n) => first.get(n)!.color) }, legend: { orient: 'bottom', columns: 2, labelLimit: 0, symbolType: 'stroke', symbolStrokeWidth: 2 } } as const;
  const x = { field: 'x', type: 'quantitative', title: 'iteration k' } as const;
  const y = { field: 'y', type: 'quantitative', title: 'error', scale: { type: 'log' }, axis: { format: '.0e' } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: fig.title, fontSize: 13 },
    data: { values: rows },
    background: 'white',
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: [FORWARD_PANEL, REVERSE_PANEL] } },
    spec: {
      width: 380,
      height: 280,
      layer: [
        {
          transform: [{ filter: 'datum.line' }],
          mark: { type: 'line', clip: true, strokeWidth: 1.5 },
          encoding: {
            x, y, color, detail: { field: 'series' },
            strokeDash: { field: 'series', type: 'nominal', sort: names, title: null, scale: { domain: names, range: names.map((n) => [...DASHES[first.get(n)!.dash]]) }, legend: { orient: 'bottom', columns: 2, labelLimit: 0 } },
          },
        },
        { transform: [{ filter: "datum.marker === 'circle'" }], mark: { type: 'point', filled: true, size: 36, clip: true }, encoding: { x, y, color } },
        { transform: [{ filter: "datum.marker === 'cross'" }], mark: { type: 'point', shape: CROSS, filled: false, strokeWidth: 1.5, size: 60, clip: true }, encoding: { x, y, color } },
      ],
    },
    resolve: { scale: { y: 'shared' } },
  } as unknown as vegaLite.TopLevelSpec;
}

export async function paperFigureFiles(fig: PaperFigure): Promise<OutputFile[]> {
  const spec = paperFigureSpec(fig);
  const svg = await renderSvg(spec);
  return [
    { name: `${fig.base}.vl.json`, contents: JSON.stringify(spec) },
    { name: `${fig.base}.svg`, contents: svg },
    { name: `${fig.base}.png`, contents: svgToPng(svg) },
  ];
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

export function claimSection(c: ClaimResult): string {
  return [
    `### ${c.claim}: ${c.verdict}`,
    '',
    `**Claim.** ${c.statement}`,
    '',
    `**Criterion.** ${c.criterion}`,
    '',
    '| quantity | value |',
    '|---|---|',
    ...Object.entries(c.numbers).map(([k, v]) => `| ${k} | ${formatValue(v)} |`),
    '',
  ].join('\n');
}

export function renderReport(results: PaperResults, figures: readonly PaperFigure[]): string {
  const c = results.config;
  const b = c.bilevel;
  const step = (s: StepKind) => stepLabel(c, s);
  const lines: string[] = [];
  lines.push('# The curse of unrolling on least squares: Appendix C reproduced with phic', '');
  lines.push(`Generated by \`phic paper\` (${c.label} configuration) with a wall time of ${results.wallSeconds.toFixed(1)} s (experiments and figures, on the machine that ran it). Every number below is computed from this run by \`src/lab/claims.ts\`; the same numbers are in \`results.json\`. The paper's own numbers (m, the n, K, Δ, ω, repetitions, distributions, the suboptimal step) are not recoverable (MATH.md §7.3), so the choices below are ours.`, '');
  lines.push('## Configuration', '');
  lines.push(markdownTable(['setting', 'value'], [
    ['problem (24)', 'min_x ½‖Ax − b‖² by gradient descent x ← x − αAᵀ(Ax − b), differentiated with respect to u = (A, b)'],
    ['m (rows)', c.m],
    ['n (columns)', c.ns.join(', ')],
    ['data', 'A ~ U[0,1) entrywise, b ~ N(0,1), x⁰ ~ N(0,1) (one draw per (n, repetition), shared by both steps and all Δ); ẋ⁰ = 0'],
    ['step sizes', `optimal 2/(L+μ) and suboptimal ${step('suboptimal')}, with L, μ the extreme eigenvalues of AᵀA (ml-matrix)`],
    ['K, ω', `${c.K}, ${c.omega}`],
    ['Δ (budget: K + ωΔ steps, t = (1+ω)Δ)', c.deltas.join(', ')],
    ['repetitions', `${c.reps}, seeded from ${c.seed}; curves and final errors are medians across repetitions`],
    ['error measure', `JVP/VJP errors ‖(ẋ − J*)v‖, ‖uᵀ(x̄ − J*)‖ along random unit directions (${c.directions} per run, averaged), as in Appendix C`],
    ['bilevel (C10)', `ridge ½‖Ax − b‖² + ½λ‖x‖², m = ${c.m}, n = ${b.n}, validation loss ½‖A_v x − b_v‖² (${b.validationRows} rows), labels = rows·x_true + ${b.noise}·N(0,1), K = ${b.K} inner steps, ${b.outerSteps} outer steps from λ₀ = ${b.lambda0}, λ ∈ [${b.lambdaRange.join(', ')}]`],
  ], 4), '');
  lines.push('Why these numbers:', '');
  lines.push(`- **n** spans good to bad conditioning at fixed m: κ = L/μ grows from about ${fmt(results.configurations.find((x) => x.step === 'optimal' && x.n === c.ns[0])!.kappa)} (n = ${c.ns[0]}) to about ${fmt(results.configurations.find((x) => x.step === 'optimal' && x.n === c.ns[c.ns.length - 1])!.kappa)} (n = ${c.ns[c.ns.length - 1]}). The largest n is kept where GD still makes visible progress within K + ωΔ_max = ${c.K + c.omega * Math.max(...c.deltas)} steps (1/(1 − ρ) not far beyond that); closer to n = m the iterates and derivatives hardly move in K steps and the experiment says nothing.`);
  lines.push(`- **Suboptimal step ${step('suboptimal')}**: the textbook safe step (descent lemma), about half the optimal one, with ρ = 1 − μ/L instead of (κ − 1)/(κ + 1). L_B ∝ α halves, and for steps ≤ 1/L the Jacobian error of each eigencomponent decays without burn-in (MATH.md §8.2, Scieur et al.'s small-step regime).`);
  lines.push(`- **ω = ${c.omega}**: the author-code default (MATH.md §4.4). **Δ** runs from 0 in equal steps while leaving K − Δ ≥ ${c.K - Math.max(...c.deltas)} derivative steps.`);
  lines.push(`- **Bound φ in the figures**: φ(Δ) of (22) with constants estimated by \`estimateConstants\` from the generated code (ρ = largest ‖∂ₓΦ‖₂ at x* and at ${c.constantSamples} sampled iterates; L_A, L_B = largest secant ratios ‖∂Φ(x_k) − ∂Φ(x*)‖₂/‖x_k − x*‖ over those iterates, lower bounds of the true constants; C = L_A‖J*‖ + L_B; ‖J*‖ and ‖x⁰ − x*‖ exact), median across repetitions, plotted at k = K + ωΔ. C5 uses the true constants of the quadratic instead (L_A = 0, ρ = max|1 − αλ|, C = L_B = 2α‖A‖₂).`, '');

  lines.push('## Verdicts', '');
  lines.push(markdownTable(['claim', 'verdict'], results.claims.map((x) => [x.claim, x.verdict])), '');

  lines.push('## Per configuration', '');
  lines.push('Medians across repetitions. kMax/kMin from the untruncated (Δ = 0) curves; "best Δ" minimises the measured final forward error, "φ Δ" the median φ over the same Δ set, "φ Δ*" is minimisePhi over all Δ ∈ [0, K].', '');
  lines.push(markdownTable(
    ['step', 'n', 'κ', 'αL', 'ρ', 'L_B est.', 'L_B true', 'kMax', 'kMin', 'best Δ', 'φ Δ', 'φ Δ*', 'final error Δ=0', 'final error best Δ'],
    results.configurations.map((x) => [step(x.step), x.n, fmt(x.kappa), fmt(x.alphaL), fmt(x.rho), fmt(x.LBEstimate), fmt(x.LBTrue), x.kMax, x.kMin, x.bestDelta, x.predictedDelta, x.continuousDelta, fmt(x.finalForward[x.deltas.indexOf(0)]!), fmt(Math.min(...x.finalForward))]),
  ), '');
  lines.push('Final forward errors per Δ (median):', '');
  lines.push(markdownTable(['step', 'n', ...c.deltas.map((d) => `Δ = ${d}`)], results.configurations.map((x) => [step(x.step), x.n, ...x.finalForward.map(fmt)])), '');

  lines.push('## Figures', '');
  lines.push('Left: forward mode, right: reverse mode. Dashed blue: ‖x_k − x*‖ up to K + ωΔ_max (blue circles: its value at the end of each run); solid: the derivative error of each truncation index t over k = t..K + ωΔ; dashed black with circles: the final error of each run (forward at k = K + ωΔ, reverse at k = t); dashed grey with crosses (left): φ(Δ) at k = K + ωΔ.', '');
  for (const s of STEPS) {
    lines.push(`### Step ${step(s)}`, '');
    for (const f of figures.filter((x) => x.step === s)) lines.push(`![${f.title}](${f.base}.png)`, '', `*${f.title}* ([SVG](${f.base}.svg), [vega-lite](${f.base}.vl.json))`, '');
  }

  lines.push('## Claims', '');
  for (const x of results.claims) lines.push(claimSection(x));

  lines.push('## Warm start (C10) in detail', '');
  lines.push(`Inner step α = ${fmt(results.bilevel.alpha)} (repetition 0), outer step η = ${results.bilevel.eta.map(fmt).join(', ')} per repetition. Errors are |hypergradient − implicit hypergradient|; the implicit one is ∇ₓℓ(x*)ᵀ(I − ∂ₓΦ)⁻¹∂_λΦ at x*(λ_j), from the generated partial derivatives and outer gradient.`, '');
  const r0 = results.bilevel.runs[0]!;
  lines.push(`Repetition 0 below. "error from x*" starts the same K-step reverse-mode hypergradient at x*(λ_j) itself: what remains is the truncation of the derivative series after K steps (ρ^K‖J*‖-like), which no initialisation removes; a warm start can only remove the part that comes from ‖x⁰ − x*‖ (the curse term).`, '');
  lines.push(markdownTable(['outer step j', 'λ_j', 'validation loss at x*', 'error warm', 'error cold', 'error from x*', '‖x_init − x*‖ warm', '‖x_init − x*‖ cold'],
    r0.lambda.map((l, j) => [j, fmt(l), fmt(r0.outerLoss[j]!), fmt(r0.warmErrors[j]!), fmt(r0.coldErrors[j]!), fmt(r0.exactStartErrors[j]!), fmt(r0.warmInitialDistance[j]!), fmt(r0.coldInitialDistance[j]!)])), '');

  lines.push('## How the constants were estimated', '');
  for (const note of results.constantNotes) lines.push(`- ${note}`);
  lines.push('');
  return lines.join('\n');
}

/** results.json: everything the report states, as numbers. */
export function resultsJson(results: PaperResults): string {
  return JSON.stringify(results, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 1);
}

/**
 * Every output file of a run: three files per figure, then report.md and results.json. With
 * `started` (a performance.now() time), wallSeconds is replaced by the time from then to the
 * end of figure rendering, so the report states the wall time of the whole run.
 */
export async function paperFiles(run: { results: PaperResults; figures: readonly PaperFigure[] }, options: { progress?: PaperProgress; started?: number } = {}): Promise<{ files: OutputFile[]; results: PaperResults }> {
  const files: OutputFile[] = [];
  for (const f of run.figures) {
    files.push(...(await paperFigureFiles(f)));
    options.progress?.tick();
  }
  const results = options.started === undefined ? run.results : { ...run.results, wallSeconds: (performance.now() - options.started) / 1000 };
  files.push({ name: 'report.md', contents: renderReport(results, run.figures) });
  files.push({ name: 'results.json', contents: resultsJson(results) });
  return { files, results };
}
