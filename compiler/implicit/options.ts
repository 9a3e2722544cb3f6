// The implicit method's options: which linear solver runs the adjoint (or tangent) equation at
// x_K, and its budget, all fixed at compile time like K and t. Checked here, once, for the
// command line, phic.config and compile() alike.

import { usageError } from '../errors.js';

export const METHODS = ['unrolled', 'implicit'] as const;
export type Method = (typeof METHODS)[number];

export const SOLVERS = ['neumann', 'cg', 'gmres', 'bicgstab'] as const;
export type Solver = (typeof SOLVERS)[number];

/** The solve of (I − ∂ₓΦ) ẋ = ∂θΦ θ̇, or of (I − ∂ₓΦ)ᵀ v = ū, at the final iterate x_K. */
export interface ImplicitOptions {
  readonly solver: Solver;
  /** The most products with ∂ₓΦ (one-step JVPs or VJPs) one solve may run; Neumann runs exactly this many. */
  readonly steps: number;
  /** GMRES(m): the Krylov basis is restarted after m products. */
  readonly restart: number;
  /** Stop once ‖b − (I − ∂ₓΦ)v‖ ≤ tolerance · ‖b‖ (0: run every step). */
  readonly tolerance: number;
  /** Start each single-direction solve from the previous call's solution instead of zero. */
  readonly warmStart: boolean;
}

/** What compile() and the command line accept (everything but the solver has a default). */
export interface ImplicitInput {
  readonly solver?: Solver;
  readonly steps?: number;
  readonly restart?: number;
  readonly tolerance?: number;
  readonly warmStart?: boolean;
}

export const DEFAULT_STEPS = 100;
export const DEFAULT_RESTART = 30;
/** Krylov solvers stop at this relative residual unless told otherwise; Neumann runs all its steps. */
export const DEFAULT_TOLERANCE = 1e-12;

/** The checked options of `method: 'implicit'`, or null for unrolling. `where` names the flags for messages. */
export function implicitOptions(method: Method | undefined, input: ImplicitInput | undefined, truncate: number): ImplicitOptions | null {
  if (method !== undefined && !METHODS.includes(method)) throw usageError(`--method must be one of ${METHODS.join(', ')}, got '${String(method)}'`);
  if (method !== 'implicit') {
    if (input !== undefined && Object.keys(input).length > 0) throw usageError(`--solver, --solver-steps, --restart, --tolerance and --warm-start need --method implicit`);
    return null;
  }
  const solver = input?.solver ?? 'gmres';
  if (!SOLVERS.includes(solver)) throw usageError(`--solver must be one of ${SOLVERS.join(', ')}, got '${String(solver)}'`);
  const steps = input?.steps ?? DEFAULT_STEPS;
  if (!Number.isInteger(steps) || steps < 1 || steps > 1e7) throw usageError(`--solver-steps must be an integer from 1 to 10000000, got ${String(steps)}`);
  const restart = input?.restart ?? DEFAULT_RESTART;
  if (!Number.isInteger(restart) || restart < 1 || restart > 1000) throw usageError(`--restart must be an integer from 1 to 1000, got ${String(restart)}`);
  if (input?.restart !== undefined && solver !== 'gmres') throw usageError(`--restart is GMRES's: it does not apply to --solver ${solver}`);
  const tolerance = input?.tolerance ?? (solver === 'neumann' ? 0 : DEFAULT_TOLERANCE);
  if (typeof tolerance !== 'number' || !(tolerance >= 0 && tolerance < 1)) throw usageError(`--tolerance must be a number in [0, 1), got ${String(tolerance)}`);
  if (truncate !== 0) throw usageError(`--truncate ${truncate} does not apply to --method implicit: the implicit derivative is taken at x_K, with no unrolled iterations to truncate`);
  return { solver, steps, restart, tolerance, warmStart: input?.warmStart ?? false };
}

/** The options as the header and the spec hash print them. */
export function describeImplicit(o: ImplicitOptions): string {
  return `method=implicit solver=${o.solver} steps=${o.steps}${o.solver === 'gmres' ? ` restart=${o.restart}` : ''} tolerance=${o.tolerance}${o.warmStart ? ' warm-start' : ''}`;
}

/** Float64 entries of solver workspace for an n-vector system (beyond b, v and the residual buffers). */
export function workEntries(o: ImplicitOptions, n: string): string {
  switch (o.solver) {
    case 'neumann': return `2 * ${n}`;
    case 'cg': return `4 * ${n}`;
    case 'bicgstab': return `6 * ${n}`;
    case 'gmres': return `${Math.min(o.restart, o.steps) + 2} * ${n} + ${(o.restart + 1) * (o.restart + 4)}`;
  }
}
