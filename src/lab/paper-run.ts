// `phic paper`'s runner: the Appendix C experiment of "Understanding the Curse of Unrolling"
// (MATH.md §7), run end to end with the code phic generates. Least squares ½‖Ax − b‖² by
// gradient descent, differentiated with respect to u = (A, b), for several n at a fixed m and
// two step sizes (paper-config.ts); the budgeted truncation sweep K + ωΔ, t = (1 + ω)Δ and a
// warm- versus cold-start bilevel comparison (paper-experiments.ts); median curves across
// repetitions, one figure per (step, n) (paper-figures.ts), and every claim C1–C11 of MATH.md
// §9.2 evaluated from the run's numbers (claims.ts). paper-report.ts writes it all out.

import {
  bestDelta, evaluateC1, evaluateC10, evaluateC11, evaluateC2, evaluateC3, evaluateC4, evaluateC5, evaluateC6, evaluateC7, evaluateC8, evaluateC9,
  type BudgetOutcome, type ClaimResult, type ContractionCheck, type CurveShape, type LipschitzPair, type StepComparison, type StepKind,
} from './claims.js';
import { STEPS, lsqData, stepSize, validateConfig, type PaperConfig } from './paper-config.js';
import { contractionGrid, gdRate, runBilevelRep, runRep, shapeHorizon, type BilevelRun, type Collected, type RepRun } from './paper-experiments.js';
import { buildFigure, type PaperFigure } from './paper-figures.js';
import { argMax, argMin, median } from './stats.js';

/** One (step, n) configuration, medians across repetitions. */
export interface ConfigurationSummary {
  readonly step: StepKind;
  readonly n: number;
  readonly kappa: number;
  readonly alphaL: number;
  readonly rho: number;
  readonly LBEstimate: number;
  /** Whether the lab's L_B of repetition 0 is exact, a rigorous upper bound or an estimate. */
  readonly LBKind: string;
  readonly LBTrue: number;
  readonly normJ: number;
  readonly e0: number;
  /** Iterations of the untruncated curve kMax is taken over (≥ K: long enough to see the peak, C3). */
  readonly horizon: number;
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
  const sweeps = await runSweeps(config, tick);
  const bilevel = await runBilevelReps(config, tick);
  const contraction = await contractionGrid(config);
  tick();
  const summary = summarise(config, sweeps.reps);
  const { collected, lipschitz } = sweeps;
  const comparisons: StepComparison[] = config.ns.map((n) => {
    const pick = (step: StepKind) => ({
      shape: summary.shapes.find((s) => s.step === step && s.n === n)!,
      outcome: summary.outcomes.find((o) => o.step === step && o.n === n)!,
      rho: summary.configurations.find((c) => c.step === step && c.n === n)!.rho,
    });
    return { n, optimal: pick('optimal'), suboptimal: pick('suboptimal') };
  });
  const claims: ClaimResult[] = [
    evaluateC1(collected.pairings, collected.jacobians),
    evaluateC2(collected.pairings, collected.jacobians),
    evaluateC3(summary.shapes),
    evaluateC4(summary.shapes),
    evaluateC5(collected.boundsTrue, collected.boundsEstimated, collected.factorDeviation),
    evaluateC6(collected.budget),
    evaluateC7(collected.phiSets),
    evaluateC8(summary.outcomes),
    evaluateC9(comparisons),
    evaluateC10(bilevel.runs),
    evaluateC11(lipschitz, contraction),
  ];
  const anyRun = sweeps.reps.values().next().value![0]!;
  const results: PaperResults = {
    config,
    wallSeconds: (performance.now() - started) / 1000,
    configurations: summary.configurations,
    claims,
    bilevel,
    contraction,
    lipschitz,
    constantNotes: anyRun.constants.notes.filter((s) => !s.startsWith('WARNING')).map((s) => s.replace(/ = [0-9.e+-]+/g, '')),
  };
  return { results, figures: summary.figures };
}

/** Every (n, repetition, step) sweep: the runs keyed `step/n`, the checks, and the Lipschitz pairs (C11). */
async function runSweeps(config: PaperConfig, tick: () => void): Promise<{ collected: Collected; reps: Map<string, RepRun[]>; lipschitz: LipschitzPair[] }> {
  const collected: Collected = { pairings: [], jacobians: [], boundsTrue: [], boundsEstimated: [], budget: [], phiSets: [], factorDeviation: 0 };
  const reps = new Map<string, RepRun[]>();
  const lipschitz: LipschitzPair[] = [];
  for (const n of config.ns) {
    // One shape horizon per (step, n), the longest any repetition needs, so the median curve is over the same k.
    const all = Array.from({ length: config.reps }, (_, rep) => lsqData(config, n, rep));
    const horizons = Object.fromEntries(STEPS.map((step) => [step, Math.max(...all.map((d) => shapeHorizon(config.K, gdRate(stepSize(config, step, d.L, d.mu), d))))])) as Record<StepKind, number>;
    for (let rep = 0; rep < config.reps; rep++) {
      const data = lsqData(config, n, rep);
      const byStep = {} as Record<StepKind, RepRun>;
      for (const step of STEPS) {
        const r = await runRep(config, data, n, rep, step, collected, tick, horizons[step]);
        byStep[step] = r;
        const key = `${step}/${n}`;
        reps.set(key, [...(reps.get(key) ?? []), r]);
      }
      const o = byStep.optimal;
      const s = byStep.suboptimal;
      lipschitz.push({ n, rep, alphaRatio: o.alpha / s.alpha, estimateRatio: o.constants.LB / s.constants.LB, samePointRatio: o.samePointLB / s.samePointLB, LAOptimal: o.constants.LA, LASuboptimal: s.constants.LA });
    }
  }
  return { collected, reps, lipschitz };
}

/** C10: every repetition of Algorithm 1; α is repetition 0's inner step, η one per repetition. */
async function runBilevelReps(config: PaperConfig, tick: () => void): Promise<PaperResults['bilevel']> {
  const runs: BilevelRun[] = [];
  const eta: number[] = [];
  let alpha = NaN;
  for (let rep = 0; rep < config.reps; rep++) {
    const b = await runBilevelRep(config, rep, tick);
    runs.push(b.run);
    eta.push(b.eta);
    if (rep === 0) alpha = b.alpha;
  }
  return { alpha, eta, runs };
}

interface Summary {
  configurations: ConfigurationSummary[];
  shapes: CurveShape[];
  outcomes: BudgetOutcome[];
  figures: PaperFigure[];
}

const medianCurve = (curves: readonly (readonly number[])[]) => curves[0]!.map((_, i) => median(curves.map((c) => c[i]!)));

/** Per (step, n), in that order: medians across repetitions, the curve shape and budget outcome for the claims, and the figure. */
function summarise(config: PaperConfig, reps: ReadonlyMap<string, readonly RepRun[]>): Summary {
  const summary: Summary = { configurations: [], shapes: [], outcomes: [], figures: [] };
  const zero = config.deltas.indexOf(0);
  for (const step of STEPS) {
    for (const n of config.ns) {
      const rs = reps.get(`${step}/${n}`)!;
      const perDelta = (f: (r: RepRun) => readonly number[]) => config.deltas.map((_, i) => median(rs.map((r) => f(r)[i]!)));
      const rev = config.deltas.map((_, i) => medianCurve(rs.map((r) => r.reverse[i]!)));
      // The figures: every error relative to its repetition's scale (one normalisation for both panels), then medians.
      const scaled = (f: (r: RepRun) => readonly number[], scale: (r: RepRun) => number) => rs.map((r) => f(r).map((e) => e / scale(r)));
      const fScale = (r: RepRun) => r.forwardScale;
      const rScale = (r: RepRun) => r.reverseScale;
      const perDeltaRel = (f: (r: RepRun) => readonly number[], scale: (r: RepRun) => number) => config.deltas.map((_, i) => median(scaled(f, scale).map((c) => c[i]!)));
      const longest = argMax(config.deltas);
      const iterateRel = medianCurve(scaled((r) => r.iterate[longest]!, (r) => r.iterateScale));
      const finalForward = perDelta((r) => r.finalForward);
      const finalReverse = perDelta((r) => r.finalReverse);
      const finalIterate = perDelta((r) => r.finalIterate);
      const phiEstimated = perDelta((r) => r.phiEstimated);
      const phiTrue = perDelta((r) => r.phiTrue);
      const kappa = median(rs.map((r) => r.L / r.mu));
      const r0 = rev[zero]!;
      // C3/C9 read the untruncated forward curve over its (possibly longer) shape horizon.
      const long = medianCurve(rs.map((r) => r.shapeForward));
      const shape: CurveShape = {
        step, n, kappa, K: config.K, horizon: long.length - 1, kMax: argMax(long), forwardStart: long[0]!, forwardPeak: Math.max(...long),
        iterateMonotone: rs.every((r) => r.iterateMonotone && r.shapeIterateMonotone), kMin: argMin(r0), reverseAtKMin: Math.min(...r0), reverseAtZero: r0[0]!,
      };
      const outcome: BudgetOutcome = { step, n, kappa, deltas: config.deltas, finalForward, predictedDelta: config.deltas[argMin(phiEstimated)]! };
      summary.shapes.push(shape);
      summary.outcomes.push(outcome);
      summary.configurations.push({
        step, n, kappa, alphaL: median(rs.map((r) => r.alpha * r.L)), rho: median(rs.map((r) => r.trueConstants.rho)),
        LBEstimate: median(rs.map((r) => r.constants.LB)), LBKind: rs[0]!.constants.kinds.LB, LBTrue: median(rs.map((r) => r.trueConstants.C)),
        normJ: median(rs.map((r) => r.trueConstants.a)), e0: median(rs.map((r) => r.trueConstants.e0)),
        horizon: shape.horizon!, kMax: shape.kMax, kMin: shape.kMin, deltas: config.deltas, finalForward, finalReverse, finalIterate, phiEstimated, phiTrue,
        bestDelta: bestDelta(outcome), predictedDelta: outcome.predictedDelta!, continuousDelta: median(rs.map((r) => r.predictedContinuous)),
      });
      summary.figures.push(buildFigure(config, step, n, {
        kappa,
        forward: config.deltas.map((_, i) => medianCurve(scaled((r) => r.forward[i]!, fScale))),
        reverse: config.deltas.map((_, i) => medianCurve(scaled((r) => r.reverse[i]!, rScale))),
        iterate: iterateRel,
        finalForward: perDeltaRel((r) => r.finalForward, fScale),
        finalReverse: perDeltaRel((r) => r.finalReverse, rScale),
        finalIterate: perDeltaRel((r) => r.finalIterate, (r) => r.iterateScale),
        phiEstimated: perDeltaRel((r) => r.phiEstimated, fScale),
      }));
    }
  }
  return summary;
}
