// The equal-cost comparison of hypergradient methods. Each run counts its one-step evaluations:
// forward map steps and VJPs, cost = steps + ω · VJPs in map evaluations (MATH.md §4.4), and the
// x-axis is the budget E: the cost of full unrolling with E steps, (1 + ω)E. Each run reports
// its error against uᵀJ* (relative to ‖uᵀJ*‖), its median wall time and its bufferBytes. Full
// and truncated (bound-optimal Δ under the same budget) unrolling are the two series here;
// another method (an implicit solver) is one more CostMethod in the list compareAtEqualCost takes.

import { performance } from 'node:perf_hooks';
import { randomGenerator } from '../../runtime/reference.js';
import { minimisePhi, type Constants } from './bounds.js';
import type { Reference } from './fixed-point.js';
import { concat, split, type LabProblem } from './problem.js';
import { distance, median, norm, unitVector } from './stats.js';

/** One run of a method: what it costs and how accurate it is. */
export interface CostPoint {
  /** The budget E the run was given (the x-axis): it may cost (1 + ω)E map evaluations. */
  readonly budget: number;
  /** One-step map evaluations (forward steps) and one-step VJPs it spent. */
  readonly steps: number;
  readonly vjps: number;
  /** steps + ω · vjps, at most (1 + ω)E. */
  readonly cost: number;
  /** ‖g − uᵀJ*‖ / ‖uᵀJ*‖ for the cotangent u. */
  readonly relativeError: number;
  /** Median wall time of one call, in milliseconds. */
  readonly wallMs: number;
  readonly bufferBytes: number;
  /** What the method was run with (K and t, or a solver's iterations). */
  readonly setting: string;
}

export interface CostSeries {
  readonly method: string;
  readonly points: readonly CostPoint[];
}

/** What a method needs to run once at a budget of `evaluations` VJPs. */
export interface CostContext {
  readonly problem: LabProblem;
  readonly ref: Reference;
  readonly constants: Constants;
  /** The unit cotangent u (concatenated state) and uᵀJ*. */
  readonly u: Float64Array;
  readonly uJ: Float64Array;
  readonly timingCalls: number;
  /** The cost of one VJP in map evaluations. */
  readonly omega: number;
}

/**
 * A method of computing uᵀ ∂x*(θ): its name, and one run within a budget E. The hook for new
 * series: an implicit solver's run spends steps to reach x_K and vjps on its adjoint solve
 * (Neumann or GMRES iterations) with steps + ω · vjps ≤ (1 + ω)E, and calls `measure` with its
 * gradient and its instance's bufferBytes, which times and scores it like the others.
 */
export interface CostMethod {
  readonly name: string;
  run(ctx: CostContext, evaluations: number): Promise<CostPoint>;
}

/** Times `call` (median of ctx.timingCalls calls after a warm-up) and scores its gradient. */
export function measure(ctx: CostContext, budget: number, spent: { steps: number; vjps: number }, setting: string, bufferBytes: () => number, call: () => Float64Array): CostPoint {
  const g = call();
  const ms: number[] = [];
  for (let i = 0; i < ctx.timingCalls; i++) {
    const start = performance.now();
    call();
    ms.push(performance.now() - start);
  }
  return { budget, ...spent, cost: spent.steps + ctx.omega * spent.vjps, relativeError: distance(g, ctx.uJ) / norm(ctx.uJ), wallMs: median(ms), bufferBytes: bufferBytes(), setting };
}

/** Reverse-mode unrolling of K iterations with truncation index t: K steps and K − t VJPs. */
async function unrolled(ctx: CostContext, budget: number, K: number, t: number): Promise<CostPoint> {
  const { problem } = ctx;
  const inst = await problem.freshInstance(K, t, 'reverse');
  const cot = split(ctx.u, problem.model.state, problem.dims);
  return measure(ctx, budget, { steps: K, vjps: K - t }, `K = ${K}, t = ${t}`, () => inst.bufferBytes(), () => concat(inst.vjp!(problem.inputs as never, cot as never, problem.x0 as never).gradient, problem.model.params));
}

/** Full unrolling: E steps, all differentiated. */
export const FULL_UNROLLING: CostMethod = { name: 'full unrolling (t = 0)', run: (ctx, e) => unrolled(ctx, e, e, 0) };

/**
 * Truncated unrolling at the same cost (1 + ω)E: the bound-optimal Δ (minimiser of φ over
 * Δ ≤ E − 1, from the constants; Δ = 0 where the bounds do not apply), E + ωΔ steps, t = (1 + ω)Δ.
 */
export const TRUNCATED_UNROLLING: CostMethod = {
  name: 'truncated unrolling (bound-optimal Δ)',
  run: (ctx, e) => {
    const delta = ctx.constants.contractive && Number.isInteger(ctx.omega) ? minimisePhi(ctx.constants, e, ctx.omega, e - 1).delta : 0;
    return unrolled(ctx, e, e + ctx.omega * delta, (1 + ctx.omega) * delta);
  },
};

export const UNROLLING_METHODS: readonly CostMethod[] = [FULL_UNROLLING, TRUNCATED_UNROLLING];

/** Every method at every budget, along one seeded unit cotangent u. */
export async function compareAtEqualCost(
  problem: LabProblem,
  ref: Reference,
  constants: Constants,
  budgets: readonly number[],
  options: { methods?: readonly CostMethod[]; seed?: number; timingCalls?: number; omega?: number } = {},
): Promise<CostSeries[]> {
  const u = unitVector(randomGenerator(options.seed ?? 1), problem.stateSize);
  const ctx: CostContext = { problem, ref, constants, u, uJ: ref.uJ(u), timingCalls: options.timingCalls ?? 3, omega: options.omega ?? 2 };
  const out: CostSeries[] = [];
  for (const m of options.methods ?? UNROLLING_METHODS) {
    const points: CostPoint[] = [];
    for (const e of budgets) points.push(await m.run(ctx, e));
    out.push({ method: m.name, points });
  }
  return out;
}
