// The equal-cost comparison: full unrolling, truncated unrolling and implicit differentiation
// (each solver) side by side, on one x-axis, the number of one-step derivative products a
// derivative costs (VJPs in reverse mode, JVPs in forward mode). Every point is a compiled
// module of the problem's spec: unrolled with t = K − B (B products), or `--method implicit`
// with a budget of B − 1 solver products (plus the one that gives θ̄ or the residual). Each is
// measured against J* (relative to ‖uᵀJ*‖ or ‖J*v‖, the same random unit directions for every
// method), with its median wall time and its buffers' bytes.

import { compileSpec } from '../../compiler/pipeline.js';
import type { Solver } from '../../compiler/implicit/options.js';
import { randomGenerator } from '../../runtime/reference.js';
import { importGenerated } from '../load-module.js';
import { concat, split, type LabInstance, type LabProblem, type Named } from './problem.js';
import { median, norm, unitVector } from './stats.js';
import type { Figure } from './plot.js';
import { markdownTable } from './output.js';

export type CostMethod = 'unrolled' | Solver;

export interface CostPoint {
  readonly method: CostMethod;
  /** The budget asked for: derivative iterations K − t (unrolled) or solver products + 1 (implicit). */
  readonly budget: number;
  /** One-step JVPs/VJPs one derivative ran (the x-axis). */
  readonly products: number;
  /** Mean over the directions of ‖uᵀJ − uᵀJ*‖ / ‖uᵀJ*‖ (reverse) or ‖Jv − J*v‖ / ‖J*v‖ (forward). */
  readonly error: number;
  /** Implicit: the solve's reported relative residual (largest over the directions). */
  readonly residual?: number;
  /** Median wall time of one call (ms), the K primal iterations included (the same for every method). */
  readonly ms: number;
  readonly bufferBytes: number;
  /** Unrolled: the truncation index. */
  readonly truncate?: number;
}

export interface EqualCost {
  readonly mode: 'forward' | 'reverse';
  readonly K: number;
  readonly directions: number;
  readonly points: readonly CostPoint[];
  /** Why a solver has no points (cg on a nonsymmetric ∂ₓΦ, say). */
  readonly skipped: readonly { readonly method: CostMethod; readonly reason: string }[];
  /** The bound-optimal t, when given: its unrolled point is marked in the report. */
  readonly boundOptimalT?: number;
}

export interface EqualCostOptions {
  readonly K: number;
  readonly mode: 'forward' | 'reverse';
  /** Budgets B (products); default 1, 2, 5, 10, 20, 50, … up to K. */
  readonly budgets?: readonly number[];
  readonly solvers?: readonly Solver[];
  readonly boundOptimalT?: number;
  readonly directions?: number;
  readonly seed?: number;
  /** Timed calls per point (the median is reported). */
  readonly repeats?: number;
  /** uᵀJ* for a state direction u (reverse) or J*v for a parameter direction v (forward). */
  readonly reference: (direction: Float64Array) => Float64Array;
}

export const DEFAULT_SOLVERS: readonly Solver[] = ['neumann', 'cg', 'gmres', 'bicgstab'];

/** 1, 2, 5, 10, 20, 50, … below K, then K. */
export function defaultBudgets(K: number): number[] {
  const out: number[] = [];
  for (let decade = 1; decade < K; decade *= 10) for (const m of [1, 2, 5]) if (m * decade < K) out.push(m * decade);
  return [...out, K];
}

type Call = (inst: LabInstance, direction: Float64Array) => { value: Float64Array; solve?: { products: number; residual: number } };

export async function equalCost(problem: LabProblem, options: EqualCostOptions): Promise<EqualCost> {
  const { K, mode } = options;
  const rng = randomGenerator(options.seed ?? 1);
  const count = options.directions ?? 3;
  const size = mode === 'reverse' ? problem.stateSize : problem.paramSize;
  const directions = Array.from({ length: count }, () => unitVector(rng, size));
  const expected = directions.map((d) => options.reference(d));
  const budgets = [...new Set([...(options.budgets ?? defaultBudgets(K)), ...(options.boundOptimalT !== undefined ? [K - options.boundOptimalT] : [])])].filter((b) => b >= 1 && b <= K).sort((a, b) => a - b);
  const call = callOf(problem, mode);
  const measure = (inst: LabInstance) => {
    const runs = directions.map((d, i) => {
      const r = call(inst, d);
      return { error: norm(r.value.map((v, j) => v - expected[i]![j]!)) / Math.max(norm(expected[i]!), Number.MIN_VALUE), solve: r.solve };
    });
    const times: number[] = [];
    for (let rep = 0; rep < (options.repeats ?? 3); rep++) {
      const start = performance.now();
      call(inst, directions[0]!);
      times.push(performance.now() - start);
    }
    return { error: runs.reduce((s, r) => s + r.error, 0) / runs.length, solve: runs[0]!.solve && { products: runs[0]!.solve.products, residual: Math.max(...runs.map((r) => r.solve!.residual)) }, ms: median(times), bufferBytes: inst.bufferBytes() };
  };

  const points: CostPoint[] = [];
  for (const budget of budgets) {
    const inst = await problem.instance(K, K - budget, mode);
    const m = measure(inst);
    points.push({ method: 'unrolled', budget, products: budget, error: m.error, ms: m.ms, bufferBytes: m.bufferBytes, truncate: K - budget });
  }
  const skipped: { method: CostMethod; reason: string }[] = [];
  for (const solver of options.solvers ?? DEFAULT_SOLVERS) {
    // a solve takes at least two products: one solver step and the final one
    for (const budget of budgets.filter((b) => b >= 2)) {
      const inst = await implicitInstance(problem, K, mode, solver, budget);
      let m: ReturnType<typeof measure>;
      try {
        m = measure(inst);
      } catch (e) {
        // a solver that does not apply here (cg on a nonsymmetric ∂ₓΦ): said, not hidden
        if (e instanceof Error && e.name === 'PhicError') {
          skipped.push({ method: solver, reason: e.message });
          break;
        }
        throw e;
      } finally {
        inst.release();
      }
      points.push({ method: solver, budget, products: m.solve!.products, error: m.error, residual: m.solve!.residual, ms: m.ms, bufferBytes: m.bufferBytes });
    }
  }
  return { mode, K, directions: count, points, skipped, ...(options.boundOptimalT !== undefined ? { boundOptimalT: options.boundOptimalT } : {}) };
}

/** The derivative along one direction, flat over the params (reverse) or the state (forward). */
function callOf(problem: LabProblem, mode: 'forward' | 'reverse'): Call {
  const { model, dims, inputs } = problem;
  if (mode === 'reverse') {
    return (inst, u) => {
      const r = inst.vjp!(inputs as never, split(u, model.state, dims) as never) as { gradient: Named; solve?: { products: number; residual: number } };
      return { value: concat(r.gradient, model.params), ...(r.solve ? { solve: r.solve } : {}) };
    };
  }
  return (inst, v) => {
    const r = inst.jvp!(inputs as never, split(v, model.params, dims) as never) as { tangent: Named; solve?: { products: number; residual: number } };
    return { value: concat(r.tangent, model.state), ...(r.solve ? { solve: r.solve } : {}) };
  };
}

/** A `--method implicit` module of the problem with B − 1 solver products (B ≥ 2; B = 1 leaves the one final product). */
async function implicitInstance(problem: LabProblem, K: number, mode: 'forward' | 'reverse', solver: Solver, budget: number): Promise<LabInstance> {
  // the final product (θ̄ and the residual in reverse mode, the residual in forward mode) is one of the B
  const steps = Math.max(1, budget - 1);
  const code = compileSpec(problem.source, { mode, K, dims: problem.dims, method: 'implicit', solver, solverSteps: steps, tolerance: solver === 'neumann' ? 0 : 1e-14 }).moduleCode;
  const mod = await importGenerated<{ create(): LabInstance }>(code);
  return mod.create();
}

const LABEL: Readonly<Record<CostMethod, string>> = { unrolled: 'unrolled (t = K − B)', neumann: 'implicit, Neumann', cg: 'implicit, CG', gmres: 'implicit, GMRES', bicgstab: 'implicit, BiCGSTAB' };

/** Error against products, one line per method, log–log. */
export function equalCostFigure(result: EqualCost, title: string): Figure {
  const methods = [...new Set(result.points.map((p) => p.method))];
  return {
    title,
    xLabel: `one-step ${result.mode === 'reverse' ? 'VJPs' : 'JVPs'} per derivative (log)`,
    yLabel: result.mode === 'reverse' ? 'relative error ‖uᵀJ − uᵀJ*‖ / ‖uᵀJ*‖' : 'relative error ‖Jv − J*v‖ / ‖J*v‖',
    logY: true,
    logX: true,
    panels: [{ title: `${result.mode} mode, K = ${result.K}`, series: methods.map((m) => ({ name: LABEL[m], points: result.points.filter((p) => p.method === m).map((p) => ({ x: p.products, y: p.error })), markers: true, ...(m === 'unrolled' ? {} : { stroke: 'dashed' as const }) })) }],
  };
}

/** The comparison as a Markdown section: a table per method, the bound-optimal t marked, what was skipped. */
export function equalCostMarkdown(result: EqualCost): string {
  const unit = result.mode === 'reverse' ? 'VJPs' : 'JVPs';
  const rows = result.points.map((p) => [
    LABEL[p.method] + (p.method === 'unrolled' && p.truncate === 0 ? ' (full)' : p.method === 'unrolled' && p.truncate === result.boundOptimalT ? ' (bound-optimal t)' : ''),
    p.method === 'unrolled' ? `t = ${p.truncate}` : `M = ${Math.max(1, p.budget - 1)}`,
    p.products, p.error, p.residual ?? '–', p.ms, p.bufferBytes,
  ]);
  const lines = [
    `Every derivative below is a compiled module of this spec after the same K = ${result.K} primal iterations. The x-axis is the number of one-step ${unit} a derivative ran: K − t for unrolling, the solver's reported products for \`--method implicit\` (its final product included). Errors are relative to ${result.mode === 'reverse' ? '‖uᵀJ*‖' : '‖J*v‖'}, averaged over ${result.directions} random unit directions, the same for every method. Times are medians of one call (the K primal iterations included, the same for every method); memory is the instance's \`bufferBytes()\` (the unrolled reverse tape holds K − t states; the implicit modules keep none).`,
    '',
    markdownTable(['method', 'setting', `${unit}`, 'relative error', 'solver residual', 'ms per call', 'bufferBytes'], rows, 3),
  ];
  for (const s of result.skipped) lines.push('', `- **${LABEL[s.method]}: not applicable here.** ${s.reason}`);
  return lines.join('\n');
}
