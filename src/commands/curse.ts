// `phic curse`: the curse-of-unrolling trace of a spec on its data. Runs the generated code
// for K iterations (late start / truncation t), measures the iterate, forward and reverse
// errors against x* and J*, estimates the constants of Assumptions 2.1–2.2, and writes
// <base>.json, <base>.md and the figure <base>.{vl.json,svg,png} into the output folder.
// A map that is not a contraction gets warnings instead of bounds; iterates that blow up
// are a numeric error (exit 1).

import { PhicError, usageError } from '../../compiler/errors.js';
import { processIo, type CliIo } from '../cli-io.js';
import { estimateConstants, type Constants } from '../lab/bounds.js';
import { reference, type Reference } from '../lab/fixed-point.js';
import { loadProblem, timeVaryingWarnings, type LabProblem } from '../lab/problem.js';
import { traceCurse, type Measure } from '../lab/trace.js';
import { compareAtEqualCost, equalCostFigure } from '../lab/equal-cost.js';
import { writeReport } from './output.js';
import { curseFigure, curseJson, curseMarkdown, curseStdout, labWarnings, type CurseReportInput, type LabContext } from '../lab/curse-report.js';

export interface CurseCommandOptions {
  map?: string;
  data: string;
  K: number;
  truncate: number;
  mode: 'forward' | 'reverse' | 'both';
  measure?: Measure;
  directions: number;
  seed: number;
  out: string;
  name: string;
  /** Budgets E of the equal-cost comparison of full and truncated unrolling (none: skipped). */
  equalCost?: number[];
}

/** A base name for output files: no folders, no leading dot. */
export function checkBaseName(name: string): string {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) throw usageError(`--name must be a plain file name (letters, digits, '_', '-', '.'), got '${name}'`);
  return name;
}

/** Generated code reports non-finite iterates as an Error named PhicError with category 'numeric'. */
function isNumericFailure(e: unknown): e is Error {
  return e instanceof Error && e.name === 'PhicError' && (e as Error & { category?: unknown }).category === 'numeric';
}

/**
 * Runs a lab step and turns divergence (non-finite iterates, a singular I − ∂ₓΦ) into a clear
 * numeric error: the map is not a contraction for these data and nothing can be measured.
 */
export async function guardDivergence<T>(what: string, step: () => Promise<T>, spectralRadius?: number): Promise<T> {
  try {
    return await step();
  } catch (e) {
    const hint = spectralRadius !== undefined ? ` (spectral radius of ∂ₓΦ(x*) = ${spectralRadius.toPrecision(4)})` : '';
    if (isNumericFailure(e)) {
      throw new PhicError('numeric', `the iterates diverged while ${what}: ${e.message}. The map is not a contraction for these data${hint}: try a smaller step size or fewer iterations.`);
    }
    if (e instanceof Error && !(e instanceof PhicError) && /^implicitJacobian:/.test(e.message)) {
      throw new PhicError('numeric', `no implicit Jacobian at the fixed point: ${e.message.replace(/^implicitJacobian:\s*/, '')}`);
    }
    throw e;
  }
}

export interface PreparedLab {
  problem: LabProblem;
  ref: Reference;
  constants: Constants;
  context: LabContext;
  warnings: string[];
}

/** Loads spec and data, solves for x* and J*, estimates the constants over `iterations` iterates. */
export async function prepareLab(specFile: string, dataFile: string, mapName: string | undefined, iterations: number, cwd?: string): Promise<PreparedLab> {
  const problem = await loadProblem(specFile, dataFile, mapName, cwd);
  const ref = await guardDivergence('solving for the fixed point', () => reference(problem));
  const constants = await guardDivergence(`iterating ${iterations} times`, () => estimateConstants(problem, ref, { K: iterations }), ref.srStar);
  const context: LabContext = {
    spec: specFile,
    map: problem.model.name,
    dims: problem.dims,
    stateSize: problem.stateSize,
    paramSize: problem.paramSize,
    fixedPoint: ref.fixedPoint,
    constants,
  };
  return { problem, ref, constants, context, warnings: [...timeVaryingWarnings(problem), ...labWarnings(context)] };
}

export function printWarnings(warnings: readonly string[], io: Pick<CliIo, 'stderr'> = processIo()): void {
  for (const w of warnings) io.stderr(`phic: WARNING: ${w}\n`);
}

export function checkIterations(K: number, truncate = 0): void {
  if (!Number.isInteger(K) || K < 1) throw usageError(`-K must be a positive integer, got ${K}`);
  if (!Number.isInteger(truncate) || truncate < 0) throw usageError(`--truncate must be a non-negative integer, got ${truncate}`);
  if (truncate >= K) throw usageError(`--truncate ${truncate} must be smaller than K = ${K} (at least one unrolled iteration)`);
}

export async function curseCommand(specFile: string, opts: CurseCommandOptions, io: CliIo = processIo()): Promise<{ files: string[]; warnings: string[] }> {
  checkIterations(opts.K, opts.truncate);
  if (!Number.isInteger(opts.directions) || opts.directions < 1) throw usageError(`--directions must be a positive integer, got ${opts.directions}`);
  const base = checkBaseName(opts.name);
  const lab = await prepareLab(specFile, opts.data, opts.map, opts.K, io.cwd);
  printWarnings(lab.warnings, io);
  const trace = await guardDivergence(
    `tracing K = ${opts.K} iterations`,
    () => traceCurse(lab.problem, lab.ref, { K: opts.K, truncate: opts.truncate, mode: opts.mode, measure: opts.measure, directions: opts.directions, seed: opts.seed }),
    lab.ref.srStar,
  );
  for (const e of opts.equalCost ?? []) if (!Number.isInteger(e) || e < 2) throw usageError(`--equal-cost: budget ${e} must be an integer ≥ 2`);
  const equalCost = opts.equalCost?.length
    ? await guardDivergence('comparing at equal cost', () => compareAtEqualCost(lab.problem, lab.ref, lab.constants, opts.equalCost!, { seed: opts.seed }), lab.ref.srStar)
    : undefined;
  const input: CurseReportInput = {
    ...lab.context,
    equalCost,
    jStar: { method: lab.ref.method, residual: lab.ref.solveResidual() },
    options: { K: opts.K, truncate: opts.truncate, mode: opts.mode, measure: trace.measure, directions: trace.directions, seed: opts.seed },
    trace,
  };
  const extraFigures = equalCost ? { 'equal-cost': equalCostFigure(equalCost, `equal cost: ${lab.problem.model.name}`) } : undefined;
  const files = await writeReport(opts.out, base, { json: curseJson(input, lab.warnings), markdown: curseMarkdown(input, lab.warnings), figure: curseFigure(input), summary: curseStdout(input), ...(extraFigures ? { extraFigures } : {}) }, io);
  return { files, warnings: lab.warnings };
}

