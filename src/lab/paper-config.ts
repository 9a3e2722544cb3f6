// `phic paper`'s configuration (full and quick) and the problems it defines: the least-squares
// and ridge specs, the seeded data of each (n, repetition), the two step sizes, and the
// checks a configuration must pass before anything runs.

import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { MapSpec } from '../../compiler/spec/types.js';
import { randomGenerator } from '../../runtime/reference.js';
import type { StepKind } from './claims.js';

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

export const STEPS: readonly StepKind[] = ['optimal', 'suboptimal'];

export function validateConfig(c: PaperConfig): void {
  const bad = (why: string) => {
    throw new Error(`invalid paper configuration: ${why}`);
  };
  if (!c.deltas.includes(0)) bad('the Δ set must contain 0');
  for (const d of c.deltas) if (!Number.isInteger(d) || d < 0 || d >= c.K || !Number.isInteger(c.omega * d)) bad(`Δ = ${d}`);
  for (const n of c.ns) if (n >= c.m) bad(`n = ${n} must be < m = ${c.m} (μ > 0)`);
  if (c.reps < 1 || c.ns.length < 1) bad('at least one n and one repetition');
}

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

/** The seed of one (n, repetition); `salt` separates the streams drawn for it. */
export function seedFor(config: PaperConfig, n: number, rep: number, salt = 0): number {
  return (config.seed + 7919 * n + 104_729 * rep + 15_485_863 * salt) >>> 0;
}

export interface LsqData {
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
