// Budget reallocation (MATH.md §4.4): for K, ω and each Δ, run K + ωΔ iterations with
// truncation index t = (1 + ω)Δ, so every Δ costs (1 + ω)K. Measures the final derivative
// error per Δ and sets it beside the bound φ(Δ) and its minimiser, and what each Δ costs in
// memory (bufferBytes) and wall time (median of a few jvp and vjp calls).

import { usageError } from '../../compiler/errors.js';
import type { LabProblem } from './problem.js';
import type { Reference } from './fixed-point.js';
import { traceCurse, type CurseTrace, type Measure } from './trace.js';
import { minimisePhi, phi, type Constants } from './bounds.js';
import { measureResources, type RunResources } from './resources.js';

export interface BudgetRun {
  readonly delta: number;
  readonly t: number;
  /** K + ωΔ. */
  readonly iterations: number;
  /** (K + ωΔ) + ω(K − Δ): the same for every Δ. */
  readonly cost: number;
  readonly finalForward: number;
  readonly finalReverse: number;
  readonly bound: number;
  readonly trace: CurseTrace;
  /** What this Δ costs in memory and time, beside the ω cost model (measure.ts). */
  readonly resources?: RunResources;
}

export interface TruncationSweep {
  readonly K: number;
  readonly omega: number;
  readonly runs: readonly BudgetRun[];
  readonly predicted: { readonly delta: number; readonly t: number; readonly bound: number; readonly continuous: number };
  readonly measured: { readonly delta: number; readonly t: number; readonly error: number };
}

/** Evenly spaced Δ in [0, K − 1] (the last must leave one derivative iteration) with ωΔ an integer. */
export function defaultDeltas(K: number, omega: number, count = 6): number[] {
  const out = new Set<number>();
  for (let i = 0; i < count; i++) {
    let d = Math.round(((K - 1) * i) / (count - 1));
    while (d > 0 && !Number.isInteger(omega * d)) d--;
    out.add(d);
  }
  return [...out].sort((a, b) => a - b);
}

export async function sweepTruncation(
  problem: LabProblem,
  ref: Reference,
  constants: Constants,
  options: {
    K: number;
    omega: number;
    deltas?: readonly number[];
    /** The largest Δ the bound-optimal choice may take (default K; K − 1 keeps one differentiated iteration). */
    maxPredictedDelta?: number;
    measure?: Measure;
    directions?: number;
    seed?: number;
    /** Calls of jvp and of vjp per Δ whose median wall time is reported (default 3; 0: measure no resources). */
    timingCalls?: number;
    onRun?: (done: number, total: number) => void;
  },
): Promise<TruncationSweep> {
  const { K, omega } = options;
  if (!(omega >= 0)) throw usageError(`--omega must be non-negative, got ${omega}`);
  const deltas = options.deltas ?? defaultDeltas(K, omega);
  for (const d of deltas) {
    if (!Number.isInteger(d) || d < 0 || d > K) throw usageError(`Δ = ${d} must be an integer in [0, K = ${K}]`);
    if (!Number.isInteger(omega * d)) throw usageError(`ωΔ = ${omega * d} must be an integer (ω = ${omega}, Δ = ${d})`);
  }
  const runs: BudgetRun[] = [];
  for (const [i, delta] of deltas.entries()) {
    const iterations = K + omega * delta;
    const t = (1 + omega) * delta;
    const trace = await traceCurse(problem, ref, { K: iterations, truncate: t, mode: 'both', measure: options.measure, directions: options.directions, seed: options.seed });
    const resources = options.timingCalls === 0 ? undefined : await measureResources(problem, iterations, t, options.timingCalls);
    runs.push({
      delta, t, iterations, cost: iterations + omega * (K - delta), resources,
      finalForward: trace.forward![trace.forward!.length - 1]!.error,
      finalReverse: trace.reverse![0]!.error,
      bound: phi(constants, delta, K, omega),
      trace,
    });
    options.onRun?.(i + 1, deltas.length);
  }
  const best = runs.reduce((p, r) => (r.finalForward < p.finalForward ? r : p), runs[0]!);
  const predicted = minimisePhi(constants, K, omega, options.maxPredictedDelta);
  return {
    K, omega, runs,
    predicted: { delta: predicted.delta, t: predicted.t, bound: predicted.value, continuous: predicted.continuous },
    measured: { delta: best.delta, t: best.t, error: best.finalForward },
  };
}
