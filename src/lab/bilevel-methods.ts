// Algorithm 1 (warm-started bilevel descent) with each way of taking the hypergradient side by
// side: full unrolling (t = 0), truncated unrolling at a given t (the bound-optimal one), and
// `--method implicit` with each solver, its adjoint solve warm-started from the previous outer
// step (as Paramancer does). The implicit solvers get the truncated run's budget of K − t
// products, so the comparison is at equal cost. Per method: the hypergradient error against
// the implicit one at x*(θ_j) at every outer step, the one-step VJPs a hypergradient ran, the
// median wall time of one, and the instance's bufferBytes.

import type { Solver } from '../../compiler/implicit/options.js';
import { requireOuter, runOne, validateBilevelOptions, type BilevelTrace } from './bilevel.js';
import { implicitInstance, type LabInstance, type LabProblem } from './problem.js';
import { median } from './stats.js';
import { markdownTable } from './output.js';
import type { Figure } from './plot.js';

export interface MethodRun {
  readonly label: string;
  readonly method: 'unrolled' | Solver;
  readonly truncate?: number;
  readonly solverSteps?: number;
  readonly trace: BilevelTrace;
  /** Median over the outer steps: one-step VJPs per hypergradient, and ms per hypergradient. */
  readonly products: number;
  readonly ms: number;
  readonly bufferBytes: number;
  readonly medianRelativeError: number;
}

export interface BilevelComparison {
  readonly K: number;
  readonly steps: number;
  readonly eta: number;
  readonly truncate: number;
  readonly runs: readonly MethodRun[];
}

export interface CompareOptions {
  readonly K: number;
  /** The truncated run's t (the bound-optimal one); the implicit solvers get K − t products. */
  readonly truncate: number;
  readonly steps: number;
  readonly eta: number;
  readonly seed?: number;
  readonly solvers?: readonly Solver[];
  readonly onStep?: (done: number, total: number) => void;
}

export async function compareBilevelMethods(problem: LabProblem, options: CompareOptions): Promise<BilevelComparison> {
  requireOuter(problem);
  validateBilevelOptions(options);
  const { K, truncate, steps, eta } = options;
  const budget = K - truncate;
  const plans: { label: string; method: MethodRun['method']; truncate?: number; solverSteps?: number; make: () => Promise<LabInstance> }[] = [
    { label: `unrolled, full (t = 0): ${K} VJPs`, method: 'unrolled', truncate: 0, make: () => problem.instance(K, 0, 'reverse') },
    ...(truncate > 0 ? [{ label: `unrolled, truncated (t = ${truncate}): ${budget} VJPs`, method: 'unrolled' as const, truncate, make: () => problem.instance(K, truncate, 'reverse') }] : []),
    ...(options.solvers ?? ['neumann', 'cg', 'gmres', 'bicgstab']).map((solver) => ({
      label: `implicit, ${solver}, warm-started adjoint: ≤ ${budget} VJPs`, method: solver, solverSteps: Math.max(1, budget - 1),
      make: () => implicitInstance(problem, K, solver, Math.max(1, budget - 1), true),
    })),
  ];
  const runs: MethodRun[] = [];
  let done = 0;
  for (const plan of plans) {
    const inst = await plan.make();
    const calls: { ms: number; products: number }[] = [];
    const metered: LabInstance = {
      ...inst,
      hypergradient(inputs, x0, observe) {
        const start = performance.now();
        const r = inst.hypergradient!(inputs, x0, observe) as ReturnType<NonNullable<LabInstance['hypergradient']>> & { solve?: { products: number } };
        calls.push({ ms: performance.now() - start, products: r.solve?.products ?? K - (plan.truncate ?? 0) });
        return r;
      },
    };
    const trace = await runOne(problem, metered, 'warm', { K, t: plan.truncate ?? 0, steps, eta, seed: options.seed ?? 1 }, () => options.onStep?.(++done, steps * plans.length));
    runs.push({
      label: plan.label, method: plan.method,
      ...(plan.truncate !== undefined ? { truncate: plan.truncate } : {}),
      ...(plan.solverSteps !== undefined ? { solverSteps: plan.solverSteps } : {}),
      trace,
      products: calls.length ? median(calls.map((c) => c.products)) : NaN,
      ms: calls.length ? median(calls.map((c) => c.ms)) : NaN,
      bufferBytes: inst.bufferBytes(),
      medianRelativeError: trace.steps.length ? median(trace.steps.map((s) => s.relativeError)) : NaN,
    });
    if (plan.method !== 'unrolled') inst.release();
  }
  return { K, steps, eta, truncate, runs };
}

/** The comparison as Markdown: one row per method, and the runs that stopped. */
export function comparisonMarkdown(c: BilevelComparison): string {
  const rows = c.runs.map((r) => [r.label, r.products, r.medianRelativeError, r.ms, r.bufferBytes, r.trace.stopped ? `stopped at outer step ${r.trace.stopped.step}` : String(r.trace.finalLoss.toPrecision(6))]);
  return [
    `Algorithm 1 with warm starts (x⁰ ← x_K of the previous outer step), K = ${c.K}, ${c.steps} outer steps, η = ${c.eta}, once per way of taking the hypergradient. The implicit solvers get the truncated run's budget of K − t = ${c.K - c.truncate} one-step VJPs, and their adjoint solve starts from the previous outer step's solution. The error is ‖g − g*‖ / ‖g*‖ against the implicit hypergradient at x*(θ_j) (dense LU), its median over the outer steps; VJPs and times are medians per hypergradient (the K primal iterations included in the time); memory is the instance's bufferBytes.`,
    '',
    markdownTable(['hypergradient', 'VJPs', 'median relative error', 'ms per hypergradient', 'bufferBytes', 'final ℓ(x*(θ), θ)'], rows, 3),
  ].join('\n');
}

/** The relative hypergradient error at every outer step, one line per method (short names: the table has the budgets; converged Krylov solvers overlap). */
export function comparisonFigure(c: BilevelComparison, title: string): Figure {
  return {
    title, xLabel: 'outer step j', yLabel: '‖g − g*‖ / ‖g*‖', logY: true,
    panels: [{ title: `warm-started bilevel descent, K = ${c.K}`, series: c.runs.map((r) => ({ name: r.method === 'unrolled' ? `unrolled, t = ${r.truncate}` : `implicit, ${r.method}`, points: r.trace.steps.map((s) => ({ x: s.step, y: s.relativeError })), ...(r.method === 'unrolled' ? {} : { stroke: 'dashed' as const }) })) }],
  };
}
