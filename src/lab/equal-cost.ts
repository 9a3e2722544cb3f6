// The equal-cost comparison of hypergradient methods. Each run counts its one-step evaluations:
// forward map steps and VJPs, cost = steps + ω · VJPs in map evaluations (MATH.md §4.4), and the
// x-axis is the budget E: the cost of full unrolling with E steps, (1 + ω)E. Each run reports
// its error against uᵀJ* (relative to ‖uᵀJ*‖), its median wall time and its bufferBytes. Full
// and truncated (bound-optimal Δ under the same budget) unrolling, and implicit differentiation
// with each solver (`--method implicit`: E steps to x_K, then at most E VJPs in the adjoint
// solve), are the series; another method is one more CostMethod in the list compareAtEqualCost takes.

import { performance } from 'node:perf_hooks';
import type { Solver } from '../../compiler/implicit/options.js';
import { randomGenerator } from '../../runtime/reference.js';
import { minimisePhi, type Constants } from './bounds.js';
import type { Reference } from './fixed-point.js';
import { concat, implicitInstance, numericFailure, split, type LabProblem } from './problem.js';
import { distance, median, norm, unitVector } from './stats.js';
import type { Figure } from './plot.js';

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
  /** Why the method has no points here (CG on a nonsymmetric ∂ₓΦ, say): said, not hidden. */
  readonly skipped?: string;
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

/**
 * Implicit differentiation with `solver` at the same cost: the module of `--method implicit`
 * runs E steps to x_K, then its adjoint solve (I − ∂ₓΦ)ᵀ v = u with at most E − 1 solver VJPs
 * and the one that gives θ̄, so steps + ω · VJPs ≤ (1 + ω)E. It keeps no tape. The VJPs are
 * the solve's own count (a Krylov solver that converges early spends fewer).
 */
export function implicitMethod(solver: Solver): CostMethod {
  return {
    name: `implicit, ${solver}`,
    run: async (ctx, e) => {
      const { problem } = ctx;
      const steps = Math.max(1, e - 1);
      const inst = await implicitInstance(problem, e, solver, steps);
      const cot = split(ctx.u, problem.model.state, problem.dims);
      let vjps = 0;
      const call = () => {
        const r = inst.vjp!(problem.inputs as never, cot as never, problem.x0 as never) as { gradient: Record<string, Float64Array>; solve: { products: number } };
        vjps = r.solve.products;
        return concat(r.gradient, problem.model.params);
      };
      call();
      try {
        return measure(ctx, e, { steps: e, vjps }, `K = ${e}, ${solver}, at most ${steps} + 1 VJPs`, () => inst.bufferBytes(), call);
      } finally {
        inst.release();
      }
    },
  };
}

export const IMPLICIT_METHODS: readonly CostMethod[] = (['neumann', 'cg', 'gmres', 'bicgstab'] as const).map(implicitMethod);


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
  for (const m of options.methods ?? [...UNROLLING_METHODS, ...IMPLICIT_METHODS]) {
    const points: CostPoint[] = [];
    let skipped: string | null = null;
    for (const e of budgets) {
      try {
        points.push(await m.run(ctx, e));
      } catch (err) {
        // a numeric error of generated code (CG's symmetry check, a singular I − ∂ₓΦ): the method does not apply here
        skipped = numericFailure(err);
        if (skipped === null) throw err;
        break;
      }
    }
    out.push({ method: m.name, points, ...(skipped !== null ? { skipped } : {}) });
  }
  return out;
}

/** Error against VJPs per derivative, one line per method (log–log): the comparison at a glance. */
export function equalCostFigure(series: readonly CostSeries[], title: string): Figure {
  return {
    title,
    xLabel: 'one-step VJPs per hypergradient (log)',
    yLabel: '‖g − uᵀJ*‖ / ‖uᵀJ*‖',
    logX: true,
    logY: true,
    panels: [{ title: 'each method at budgets E: cost (1 + ω)E or less', series: series.filter((s) => s.points.length).map((s) => ({ name: s.method, points: s.points.map((p) => ({ x: p.vjps, y: p.relativeError })), markers: true, ...(s.method.startsWith('implicit') ? { stroke: 'dashed' as const } : {}) })) }],
  };
}
