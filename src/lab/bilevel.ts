// Bilevel optimisation with warm starting (MATH.md §6, Algorithm 1): gradient descent on θ
// for the outer loss ℓ(x_K(θ), θ), with the hypergradient from the generated reverse-mode
// code (K inner iterations, backward sweep truncated at t). Run twice: cold (x⁰ = the data's
// x0, or zeros, at every outer step) and warm (x⁰ ← x_K of the previous outer step). At every
// outer step the hypergradient g_j is compared with the implicit one at the fixed point,
//   g*_j = ∇θℓ + B*ᵀ (I − A*)⁻ᵀ ∇ₓℓ   at (x*(θ_j), θ_j),
// and ‖x⁰ − x*(θ_j)‖ is recorded: warm starting shrinks it, which acts as implicit
// truncation of the curse of unrolling (claim C10).

import { PhicError, dataError, specError, usageError } from '../../compiler/errors.js';
import { denseMatrix, implicitJacobian, randomGenerator, transpose } from '../../runtime/reference.js';
import { concat, numericFailure, split, type LabInstance, type LabProblem, type Named } from './problem.js';
import { solveFixedPoint } from './fixed-point.js';
import { distance, median, norm } from './stats.js';

export type Start = 'cold' | 'warm';

export interface BilevelOptions {
  /** Inner iterations per outer step. */
  readonly K: number;
  /** Truncation index t of the backward sweep (default 0). */
  readonly truncate?: number;
  /** Outer steps N. */
  readonly steps: number;
  /** Outer step size η. */
  readonly eta: number;
  /** Seeds the initial value of params the data does not give (default 1). */
  readonly seed?: number;
  /** Which runs to make (default both, cold first). */
  readonly starts?: readonly Start[];
  /** Called after every outer step of either run (done counts both runs). */
  readonly onStep?: (done: number, total: number) => void;
}

export interface BilevelStep {
  /** Outer step j = 0..N−1. */
  readonly step: number;
  /** θ_j (params concatenated in the model's order). */
  readonly theta: readonly number[];
  /** ℓ(x_K, θ_j): the outer loss the unrolled run sees. */
  readonly lossAtXK: number;
  /** ℓ(x*(θ_j), θ_j): the true outer loss at θ_j. */
  readonly lossAtStar: number;
  /** g_j: the unrolled (reverse-mode) hypergradient. */
  readonly hypergradient: readonly number[];
  /** g*_j: the implicit hypergradient at (x*(θ_j), θ_j). */
  readonly implicit: readonly number[];
  /** ‖g_j − g*_j‖ and ‖g_j − g*_j‖ / ‖g*_j‖. */
  readonly error: number;
  readonly relativeError: number;
  readonly implicitNorm: number;
  /** ‖x⁰ − x*(θ_j)‖: the initial error of this outer step's inner run. */
  readonly startDistance: number;
  /** ‖x_K − x*(θ_j)‖. */
  readonly finalDistance: number;
  /** Whether x*(θ_j) was found to the fixed-point tolerance. */
  readonly converged: boolean;
}

/** Where and why a run stopped early: the outer steps before `step` are in the trace. */
export interface BilevelStop {
  /** The outer step that failed (N: the final evaluation at θ_N). */
  readonly step: number;
  readonly reason: string;
}

export interface BilevelTrace {
  readonly start: Start;
  readonly steps: readonly BilevelStep[];
  /** θ after the last outer step done, and the true outer loss there (NaN when the run stopped). */
  readonly finalTheta: readonly number[];
  readonly finalLoss: number;
  /** Present when a numeric failure ended the run before its N outer steps. */
  readonly stopped?: BilevelStop;
}

export interface BilevelSummary {
  readonly medianError: { readonly cold: number; readonly warm: number };
  readonly medianRelativeError: { readonly cold: number; readonly warm: number };
  /** Median cold error / median warm error (> 1: warm starting helps). */
  readonly ratio: number;
  readonly medianStartDistance: { readonly cold: number; readonly warm: number };
  /** ℓ(x*(θ_N), θ_N) after the last outer step. */
  readonly finalLoss: { readonly cold: number; readonly warm: number };
  /** ℓ(x_K, θ_{N−1}) at the last outer step. */
  readonly finalLossAtXK: { readonly cold: number; readonly warm: number };
  readonly initialLoss: number;
  /** A computed sentence, e.g. "warm starting lowered the median hypergradient error by 12.3× (...)". */
  readonly sentence: string;
  /** A computed sentence on the final outer loss, warm against cold. */
  readonly lossSentence: string;
}

export interface BilevelResult {
  readonly K: number;
  readonly truncate: number;
  readonly steps: number;
  readonly eta: number;
  readonly seed: number;
  readonly paramSize: number;
  readonly stateSize: number;
  readonly cold?: BilevelTrace;
  readonly warm?: BilevelTrace;
  /** Present when both runs were made and completed. */
  readonly summary?: BilevelSummary;
}

/** A run that stopped early, as one line: which run, which outer step, why. */
export function stopMessage(trace: BilevelTrace): string | null {
  if (!trace.stopped) return null;
  const { step, reason } = trace.stopped;
  return `the ${trace.start}-start run stopped at outer step ${step} (${trace.steps.length} outer steps done): ${reason}`;
}

/** Throws the spec error every bilevel entry point gives for a spec without `outer`. */
export function requireOuter(problem: LabProblem): void {
  if (!problem.model.outer) {
    const location = problem.source.locate('name') ?? (problem.source.file ? { file: problem.source.file, line: 1, column: 1 } : undefined);
    throw specError('the spec has no outer objective: add outer: { objective, data }', location ? { location } : {});
  }
  const missing = problem.model.outerData.filter((d) => problem.inputs[d.name] === undefined).map((d) => d.name);
  if (missing.length) throw dataError(`the data file lacks the outer objective's data: ${missing.join(', ')}`);
}

export function validateBilevelOptions(options: { K: number; truncate?: number; steps: number; eta: number }): void {
  const { K, steps, eta } = options;
  const t = options.truncate ?? 0;
  if (!Number.isInteger(K) || K < 1) throw usageError(`K must be a positive integer, got ${K}`);
  if (!Number.isInteger(t) || t < 0 || t >= K) throw usageError(`the truncation index must be an integer in [0, K − 1 = ${K - 1}], got ${t}`);
  if (!Number.isInteger(steps) || steps < 1) throw usageError(`--steps must be a positive integer, got ${steps}`);
  if (!(eta > 0) || !Number.isFinite(eta)) throw usageError(`--eta must be a positive number, got ${eta}`);
}

/** The params of the problem concatenated; params the data does not give start at seeded draws 0.1·N(0, 1). */
export function initialTheta(problem: LabProblem, seed = 1): Float64Array {
  const rng = randomGenerator(seed);
  const parts: number[] = [];
  for (const p of problem.model.params) {
    const size = p.shape.reduce((q, d) => q * problem.dims[d]!, 1);
    const given = problem.inputs[p.name];
    const values = given === undefined ? Array.from(rng.vector(size, 'normal'), (x) => 0.1 * x) : flatten(given);
    if (values.length !== size) throw dataError(`param ${p.name} has ${values.length} entries, expected ${size}`);
    parts.push(...values);
  }
  return Float64Array.from(parts);
}

/** The problem's inputs with the params set to θ (nested arrays, as a data file gives them). */
export function inputsAt(problem: LabProblem, theta: ArrayLike<number>): Record<string, unknown> {
  const blocks = split(theta, problem.model.params, problem.dims);
  const out: Record<string, unknown> = { ...problem.inputs };
  for (const p of problem.model.params) out[p.name] = nested(blocks[p.name]!, p.shape.map((d) => problem.dims[d]!));
  return out;
}

/** x⁰ of a cold start: the data's x0, zeros otherwise (a previous-iterate component copies its iterate). */
export function coldStart(problem: LabProblem): Named {
  const out: Named = {};
  for (const s of problem.model.state) {
    const size = s.shape.reduce((p, d) => p * problem.dims[d]!, 1);
    const given = problem.x0?.[s.name];
    out[s.name] = given === undefined ? new Float64Array(size) : Float64Array.from(flatten(given));
  }
  for (const s of problem.model.state) if (s.initialFrom && problem.x0?.[s.name] === undefined) out[s.name] = out[s.initialFrom]!.slice();
  return out;
}

export interface ImplicitHypergradient {
  /** x*(θ) per state component and concatenated. */
  readonly state: Named;
  readonly vector: Float64Array;
  readonly converged: boolean;
  /** ℓ(x*, θ) and g* = ∇θℓ + B*ᵀ (I − A*)⁻ᵀ ∇ₓℓ there (params concatenated). */
  readonly loss: number;
  readonly gradient: Float64Array;
}

/**
 * The implicit hypergradient at θ: x*(θ) from solveFixedPoint (started from `guess`, e.g.
 * the latest x_K), the partial Jacobians A* = ∂ₓΦ and B* = ∂θΦ there from the generated code,
 * and one LU solve with (I − A*)ᵀ.
 */
export async function implicitHypergradient(problem: LabProblem, theta: ArrayLike<number>, guess?: Named): Promise<ImplicitHypergradient> {
  requireOuter(problem);
  const inputs = inputsAt(problem, theta);
  const at = problem.withInputs(inputs, guess ?? (problem.x0 as Record<string, unknown> | undefined));
  const fp = await solveFixedPoint(at);
  const inst = await at.instance(1, 0, 'forward');
  const a = inst.partialX(inputs as never, fp.state as never);
  const b = inst.partialTheta(inputs as never, fp.state as never);
  const outer = inst.outerAt!(inputs, fp.state);
  const gx = concat(outer.stateGradient, problem.model.state);
  const gTheta = concat(outer.paramGradient, problem.model.params);
  let w: Float64Array;
  try {
    // (I − Aᵀ)⁻¹ ∇ₓℓ, i.e. (I − A)⁻ᵀ ∇ₓℓ.
    w = implicitJacobian(transpose(denseMatrix(a.rows, a.cols, a.data)), denseMatrix(gx.length, 1, gx)).data;
  } catch (e) {
    throw new PhicError('numeric', `cannot form the implicit hypergradient: ${(e as Error).message.replace(/^implicitJacobian:\s*/, '')}`);
  }
  const S = b.rows;
  const P = b.cols;
  const gradient = Float64Array.from(gTheta);
  for (let i = 0; i < S; i++) for (let j = 0; j < P; j++) gradient[j]! += b.data[i * P + j]! * w[i]!;
  return { state: fp.state, vector: fp.vector, converged: fp.converged, loss: outer.loss, gradient };
}

/** The unrolled hypergradient d/dθ ℓ(x_K(θ), θ) from generated reverse-mode code, and x_K. */
export function unrolledHypergradient(problem: LabProblem, inst: LabInstance, theta: ArrayLike<number>, x0: Named): { state: Named; loss: number; gradient: Float64Array } {
  const r = inst.hypergradient!(inputsAt(problem, theta), x0);
  return { state: r.state, loss: r.loss, gradient: concat(r.gradient, problem.model.params) };
}

/** Algorithm 1, cold and warm. */
export async function runBilevel(problem: LabProblem, options: BilevelOptions): Promise<BilevelResult> {
  requireOuter(problem);
  validateBilevelOptions(options);
  const { K, steps, eta } = options;
  const t = options.truncate ?? 0;
  const seed = options.seed ?? 1;
  const starts = options.starts ?? (['cold', 'warm'] as const);
  const inst = await problem.instance(K, t, 'reverse');
  if (!inst.hypergradient) throw new PhicError('spec', 'the generated code has no hypergradient (reverse mode with an outer objective)');
  const total = steps * starts.length;
  let done = 0;
  const traces: Partial<Record<Start, BilevelTrace>> = {};
  for (const start of starts) {
    traces[start] = await runOne(problem, inst, start, { K, t, steps, eta, seed }, () => options.onStep?.(++done, total));
  }
  const { cold, warm } = traces;
  return {
    K, truncate: t, steps, eta, seed, paramSize: problem.paramSize, stateSize: problem.stateSize,
    ...(cold ? { cold } : {}),
    ...(warm ? { warm } : {}),
    ...(cold && warm && !cold.stopped && !warm.stopped ? { summary: summarise(cold, warm) } : {}),
  };
}

export interface RunSettings {
  readonly K: number;
  readonly t: number;
  readonly steps: number;
  readonly eta: number;
  readonly seed: number;
}

/**
 * One run of Algorithm 1. A numeric failure (non-finite iterates, a singular I − ∂ₓΦ at
 * x*(θ_j)) ends the run but keeps the outer steps done so far, with where and why it
 * stopped: a report of a failed run is how a user finds the η at which θ left the region
 * where the inner map contracts.
 */
export async function runOne(problem: LabProblem, inst: LabInstance, start: Start, o: RunSettings, tick: () => void): Promise<BilevelTrace> {
  const theta = initialTheta(problem, o.seed);
  const cold = coldStart(problem);
  let x0 = cold;
  let guess: Named | undefined;
  const out: BilevelStep[] = [];
  const stop = (step: number, reason: string): BilevelTrace => ({ start, steps: out, finalTheta: Array.from(theta), finalLoss: NaN, stopped: { step, reason } });
  for (let j = 0; j < o.steps; j++) {
    let step: { record: BilevelStep; next: Named; guess: Named };
    try {
      step = await outerStep(problem, inst, theta, x0, guess, j);
    } catch (e) {
      const message = numericFailure(e);
      if (message === null) throw e;
      return stop(j, message + (j > 0 ? ' (θ may have left the region where the map contracts: try a smaller --eta)' : ''));
    }
    out.push(step.record);
    guess = step.guess;
    const g = step.record.hypergradient;
    for (let i = 0; i < theta.length; i++) theta[i]! -= o.eta * g[i]!;
    x0 = start === 'warm' ? step.next : cold;
    tick();
    if (!theta.every(Number.isFinite)) return stop(j + 1, 'θ is not finite (try a smaller --eta)');
  }
  try {
    const last = await implicitHypergradient(problem, theta, guess);
    return { start, steps: out, finalTheta: Array.from(theta), finalLoss: last.loss };
  } catch (e) {
    const message = numericFailure(e);
    if (message === null) throw e;
    return stop(o.steps, `the outer loss at the final θ: ${message} (try a smaller --eta)`);
  }
}

/** Outer step j at θ from x⁰: the unrolled and the implicit hypergradient, compared. */
async function outerStep(problem: LabProblem, inst: LabInstance, theta: Float64Array, x0: Named, guess: Named | undefined, j: number) {
  const unrolled = unrolledHypergradient(problem, inst, theta, x0);
  const g = unrolled.gradient;
  if (!g.every(Number.isFinite) || !Number.isFinite(unrolled.loss)) {
    throw new PhicError('numeric', 'the hypergradient is not finite: the inner map may have stopped contracting (try a smaller --eta)');
  }
  const star = await implicitHypergradient(problem, theta, guess ?? unrolled.state);
  const diff = g.map((x, i) => x - star.gradient[i]!);
  const error = norm(diff);
  const implicitNorm = norm(star.gradient);
  const record: BilevelStep = {
    step: j,
    theta: Array.from(theta),
    lossAtXK: unrolled.loss,
    lossAtStar: star.loss,
    hypergradient: Array.from(g),
    implicit: Array.from(star.gradient),
    error,
    relativeError: error / Math.max(implicitNorm, 1e-300),
    implicitNorm,
    startDistance: distance(concat(x0, problem.model.state), star.vector),
    finalDistance: distance(concat(unrolled.state, problem.model.state), star.vector),
    converged: star.converged,
  };
  return { record, next: unrolled.state, guess: star.state };
}

/** "12.3×", with more digits for ratios near 1. */
export function formatRatio(r: number): string {
  if (!Number.isFinite(r)) return String(r);
  return `${r >= 10 ? r.toFixed(1) : r >= 1.1 ? r.toFixed(2) : r.toFixed(3)}×`;
}

const fmt = (x: number) => x.toPrecision(3);

export function summarise(cold: BilevelTrace, warm: BilevelTrace): BilevelSummary {
  const med = (tr: BilevelTrace, f: (s: BilevelStep) => number) => median(tr.steps.map(f));
  const medianError = { cold: med(cold, (s) => s.error), warm: med(warm, (s) => s.error) };
  const ratio = medianError.warm > 0 ? medianError.cold / medianError.warm : medianError.cold > 0 ? Infinity : 1;
  let sentence: string;
  const between = `(median ‖g − g*‖ ${fmt(medianError.cold)} cold, ${fmt(medianError.warm)} warm)`;
  if (ratio >= 1.005) sentence = `warm starting lowered the median hypergradient error by ${formatRatio(ratio)} ${between}`;
  else if (ratio <= 1 / 1.005) sentence = `warm starting raised the median hypergradient error by ${formatRatio(1 / ratio)} ${between}`;
  else sentence = `warm starting left the median hypergradient error unchanged ${between}`;
  const lastAtXK = (tr: BilevelTrace) => tr.steps[tr.steps.length - 1]!.lossAtXK;
  const fc = cold.finalLoss;
  const fw = warm.finalLoss;
  const initialLoss = cold.steps[0]!.lossAtStar;
  const close = Math.abs(fw - fc) <= 1e-3 * Math.max(Math.abs(fw), Math.abs(fc));
  const ending = close ? 'both ended at about the same loss' : fw < fc ? 'warm starting ended lower' : 'warm starting ended higher';
  const lossSentence = `after ${cold.steps.length} outer steps the outer loss ℓ(x*(θ), θ) went from ${fmt(initialLoss)} to ${fmt(fw)} with warm starts and to ${fmt(fc)} with cold starts: ${ending}.`;
  return {
    medianError,
    medianRelativeError: { cold: med(cold, (s) => s.relativeError), warm: med(warm, (s) => s.relativeError) },
    ratio,
    medianStartDistance: { cold: med(cold, (s) => s.startDistance), warm: med(warm, (s) => s.startDistance) },
    finalLoss: { cold: fc, warm: fw },
    finalLossAtXK: { cold: lastAtXK(cold), warm: lastAtXK(warm) },
    initialLoss,
    sentence: `${sentence}.`,
    lossSentence,
  };
}

function flatten(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return value.flatMap((v) => flatten(v));
  throw usageError(`expected a number or an array of numbers, got ${typeof value}`);
}

function nested(data: Float64Array, shape: readonly number[]): number | number[] | number[][] {
  if (shape.length === 0) return data[0]!;
  if (shape.length === 1) return Array.from(data);
  const [rows, cols] = shape as [number, number];
  return Array.from({ length: rows }, (_, r) => Array.from(data.subarray(r * cols, (r + 1) * cols)));
}
