// Reports of the curse-of-unrolling lab, as pure functions: from a trace (or a truncation
// sweep), the estimated constants and the fixed-point solve to the JSON record, the Markdown
// report, the stdout summary and the Figure (rendered by plot.ts). The commands `phic curse`
// and `phic truncation` only load, compute and write.
//
// Bounds (MATH.md): (21) forward with late start t, ‖ẋ_t^k − J*‖ ≤ ρ^{k−t}‖J*‖ + C(k−t)ρ^{k−1}‖x⁰ − x*‖
// (t = 0 is (17)); (18) reverse stopped at k, ‖X̄_k − J*‖ ≤ ρ^{K−k}‖J*‖ + C(K−k)ρ^{K−1}‖x⁰ − x*‖;
// (22) φ(Δ), the bound at the end of a budgeted run. They are drawn only when they apply:
// the fixed-point solve converged and the estimated ρ is below 1.

import { forwardBound, reverseBound, type ConstantKind, type Constants } from './bounds.js';
import { DENSE_REFERENCE_LIMIT } from './fixed-point.js';
import type { CostSeries } from './equal-cost.js';
import type { FixedPoint } from './fixed-point.js';
import { markdownTable } from './output.js';
import type { Figure, Series } from './plot.js';
import type { CurseTrace, Measure, Point } from './trace.js';
import type { BudgetRun, TruncationSweep } from './truncation.js';

/** What every lab report states about the problem. */
export interface LabContext {
  /** The spec file as given on the command line. */
  readonly spec: string;
  /** The map's name. */
  readonly map: string;
  readonly dims: Readonly<Record<string, number>>;
  readonly stateSize: number;
  readonly paramSize: number;
  readonly fixedPoint: Pick<FixedPoint, 'residual' | 'converged' | 'iterations'>;
  readonly constants: Constants;
  /** How J* (or J*v, uᵀJ*) was obtained, and the largest relative residual of its solves. */
  readonly jStar?: { readonly method: 'dense LU' | 'GMRES'; readonly residual: number };
}

/** One line on how J* was obtained, for the reports. */
export function jStarText(ctx: LabContext): string {
  if (!ctx.jStar) return '';
  return ctx.jStar.method === 'GMRES'
    ? `- J*: no dense Jacobians above ${DENSE_REFERENCE_LIMIT} entries (here ${ctx.stateSize * ctx.paramSize}): every J*v and uᵀJ* is a matrix-free GMRES solve of (I − ∂ₓΦ) or its transpose with the generated one-step jvp/vjp, to a relative residual of 1e-12; largest residual reached ${fmt(ctx.jStar.residual)}.`
    : '- J* = (I − ∂ₓΦ)⁻¹∂θΦ from the dense partial Jacobians at x* and one LU solve.';
}

export interface CurseOptions {
  readonly K: number;
  readonly truncate: number;
  readonly mode: 'forward' | 'reverse' | 'both';
  readonly measure: Measure;
  readonly directions: number;
  readonly seed: number;
}

export interface CurseReportInput extends LabContext {
  readonly options: CurseOptions;
  readonly trace: CurseTrace;
  /** The equal-cost comparison (phic curse --equal-cost), when asked for. */
  readonly equalCost?: readonly CostSeries[];
}

/** The equal-cost section: one row per (method, budget). */
function equalCostLines(series: readonly CostSeries[] | undefined): string[] {
  if (!series?.length) return [];
  return [
    '## Equal cost',
    '',
    'Each method gets the budget (1 + ω)E map evaluations (ω = 2: a one-step VJP costs two map evaluations), spent as forward steps and VJPs; errors ‖g − uᵀJ*‖/‖uᵀJ*‖ along one seeded unit cotangent u; wall time is the median of three calls after a warm-up (this machine); bufferBytes of a fresh reverse-mode instance after the calls.',
    '',
    markdownTable(['method', 'E', 'run', 'forward steps', 'VJPs', 'cost', 'relative error', 'wall ms', 'bufferBytes'],
      series.flatMap((s) => s.points.map((p) => [s.method, p.budget, p.setting, p.steps, p.vjps, p.cost, fmt(p.relativeError), p.wallMs.toPrecision(3), p.bufferBytes]))),
    '',
    'The implicit rows are `--method implicit` modules: E steps to x_K, then the adjoint solve with at most E VJPs (its own count: a Krylov solver that converges early spends fewer), and no tape. A converged solve gives the implicit derivative at x_K, so its error at larger E falls only because x_K is closer to x* (in the figure `<name>-equal-cost.png`, the Krylov points stack at one VJP count).',
    ...series.filter((s) => s.skipped).map((s) => `- **${s.method}: not applicable here.** ${s.skipped}`),
    '',
  ];
}

export interface TruncationOptions {
  readonly K: number;
  readonly omega: number;
  readonly deltas: readonly number[];
  readonly measure: Measure;
  readonly directions: number;
  readonly seed: number;
}

export interface TruncationReportInput extends LabContext {
  readonly options: TruncationOptions;
  readonly sweep: TruncationSweep;
}

/** One row of the curse trace: null where a quantity is not defined at k (or bounds are off). */
export interface CurseRow {
  readonly k: number;
  readonly iterate: number | null;
  readonly forward: number | null;
  readonly reverse: number | null;
  readonly forwardBound: number | null;
  readonly reverseBound: number | null;
}

export interface CurseSummary {
  readonly kMax: number | null;
  readonly kMin: number | null;
  /** Forward error at the start of the derivative recursion (k = t: ẋ_t^t = 0, so ‖J*‖), its peak and its final value. */
  readonly forwardStart: number | null;
  readonly forwardPeak: number | null;
  readonly forwardFinal: number | null;
  /** The forward error rises above its starting value (k_max > t). */
  readonly cursePresent: boolean | null;
  /** Reverse error of the sweep stopped at t (the full sweep when t = 0), and its least value. */
  readonly reverseAtT: number | null;
  readonly reverseMin: number | null;
  /** Where the bound curves peak (21) and are least (18), when drawn. */
  readonly boundKMax: number | null;
  readonly boundKMin: number | null;
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/** A number for reports: 4 significant digits, exponent notation when very small or large. */
export function fmt(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined || Number.isNaN(x)) return '—';
  if (!Number.isFinite(x)) return x > 0 ? '∞' : '−∞';
  if (x === 0) return '0';
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e5 ? x.toPrecision(digits) : x.toExponential(digits - 1);
}

/** Whether the bounds of Theorems 7–8 may be drawn: x* found and the map a contraction (ρ < 1). */
export function boundsApply(ctx: Pick<LabContext, 'fixedPoint' | 'constants'>): boolean {
  return ctx.fixedPoint.converged && ctx.constants.contractive && Number.isFinite(ctx.constants.C);
}

/** Why the bounds are not drawn, one line each (empty when they apply). */
export function labWarnings(ctx: Pick<LabContext, 'fixedPoint' | 'constants'>): string[] {
  const out: string[] = [];
  const { fixedPoint: fp, constants: c } = ctx;
  if (!fp.converged) {
    out.push(
      `the fixed-point solve did not converge (relative residual ${fmt(fp.residual)} after ${fp.iterations} iterations): ` +
        'x*, J* and every error measured against them are unreliable; bound curves are skipped',
    );
  }
  const norms = `‖∂ₓΦ(x*)‖₂ = ${fmt(c.rhoStar, 6)}, largest ‖∂ₓΦ(x_k)‖₂ along the iterates = ${fmt(c.rhoAlongIterates, 6)}`;
  if (!c.contractive && c.convergent) {
    // Momentum methods: not a 2-norm contraction, yet convergent (MATH.md Remark 1(i), §5.1).
    out.push(
      `the spectral radius sr(∂ₓΦ(x*)) = ${fmt(c.spectralRadius, 6)} < 1, so the iteration converges at that rate, but in the 2-norm ρ = ${fmt(c.rho, 6)} ≥ 1 (${norms}): ` +
        'the error may grow for a while before it falls (as for momentum methods); Theorems 7–8 assume ‖∂ₓΦ‖ ≤ ρ < 1, so bound curves are skipped',
    );
  } else if (!c.contractive) {
    out.push(
      `the spectral radius sr(∂ₓΦ(x*)) = ${fmt(c.spectralRadius, 6)} ≥ 1 and ρ = ${fmt(c.rho, 6)} ≥ 1 (${norms}): ` +
        'the map is not a contraction here, so Theorems 7–8 do not apply; bound curves are skipped',
    );
  } else if (fp.converged && !Number.isFinite(c.C)) {
    out.push(`the curse constant C = ${fmt(c.C)} is not finite; bound curves are skipped`);
  }
  return out;
}

/** About `count` indices evenly spread over [from, to], with the `extra` ones (inside the range) added. */
export function sampleKs(from: number, to: number, count: number, extra: readonly (number | null | undefined)[] = []): number[] {
  const out = new Set<number>();
  if (to <= from) out.add(from);
  else for (let i = 0; i < count; i++) out.add(Math.round(from + ((to - from) * i) / Math.max(1, count - 1)));
  for (const k of extra) if (k !== null && k !== undefined && k >= from && k <= to) out.add(k);
  return [...out].sort((a, b) => a - b);
}

/**
 * At most about `max` points of a curve for drawing: every s-th point, the last one, and the
 * largest and smallest (so peaks and minima survive). The data files keep every point.
 */
export function thin<T extends { x: number; y: number }>(points: readonly T[], max = 600): T[] {
  if (points.length <= max) return [...points];
  const step = Math.ceil(points.length / max);
  const keep = new Set<number>([points.length - 1]);
  for (let i = 0; i < points.length; i += step) keep.add(i);
  let hi = 0;
  let lo = 0;
  points.forEach((p, i) => {
    if (p.y > points[hi]!.y) hi = i;
    if (p.y < points[lo]!.y) lo = i;
  });
  keep.add(hi).add(lo);
  return [...keep].sort((a, b) => a - b).map((i) => points[i]!);
}

const xy = (pts: readonly Point[]) => pts.map((p) => ({ x: p.k, y: p.error }));
const dimsText = (dims: Readonly<Record<string, number>>) =>
  Object.entries(dims).map(([d, v]) => `${d} = ${v}`).join(', ') || 'none';
const measureText = (measure: Measure, directions: number, seed: number) =>
  measure === 'spectral'
    ? 'spectral norms of full Jacobian errors'
    : `norms of JVP/VJP errors along ${directions} random unit direction${directions === 1 ? '' : 's'} (seed ${seed}), averaged`;

const kindText = (k: ConstantKind) => (k === 'estimate' ? 'secant estimate, a lower bound' : k);

function constantsTable(c: Constants): string {
  return markdownTable(
    ['constant', 'value', 'meaning'],
    [
      ['sr(∂ₓΦ(x*))', fmt(c.spectralRadius, 6), 'spectral radius: the contraction factor (asymptotic rate) of the iteration'],
      ['ρ', fmt(c.rho, 6), `Lipschitz modulus in the 2-norm, used by the bounds (they need ρ < 1) (${c.kinds.rho})`],
      ['‖∂ₓΦ(x*)‖₂', fmt(c.rhoStar, 6), 'contraction at the fixed point'],
      ['max ‖∂ₓΦ(x_k)‖₂', fmt(c.rhoAlongIterates, 6), 'largest along the sampled iterates'],
      ['L_A', fmt(c.LA), `Lipschitz constant of x ↦ ∂ₓΦ (${kindText(c.kinds.LA)})`],
      ['L_B', fmt(c.LB), `Lipschitz constant of x ↦ ∂θΦ (${kindText(c.kinds.LB)})`],
      ['‖B*‖', fmt(c.normBStar), '‖∂θΦ(x*)‖₂, in place of M_B'],
      ['‖J*‖', fmt(c.normJStar), 'norm of the implicit Jacobian (I − A*)⁻¹B*'],
      ['‖x⁰ − x*‖', fmt(c.e0), 'initial iterate error'],
      ['C', fmt(c.C), 'curse constant L_A‖J*‖ + L_B (Lemma 6)'],
    ],
  );
}

function constantsJson(c: Constants) {
  return {
    rho: c.rho, rhoStar: c.rhoStar, rhoAlongIterates: c.rhoAlongIterates, spectralRadius: c.spectralRadius, LA: c.LA, LB: c.LB,
    normBStar: c.normBStar, normJStar: c.normJStar, e0: c.e0, C: c.C, contractive: c.contractive, convergent: c.convergent, kinds: c.kinds, notes: c.notes,
  };
}

function contextJson(ctx: LabContext) {
  return {
    spec: ctx.spec,
    map: ctx.map,
    dims: ctx.dims,
    stateSize: ctx.stateSize,
    paramSize: ctx.paramSize,
    fixedPoint: { residual: ctx.fixedPoint.residual, converged: ctx.fixedPoint.converged, iterations: ctx.fixedPoint.iterations },
    jStar: ctx.jStar ?? null,
    constants: constantsJson(ctx.constants),
  };
}

function warningsMarkdown(warnings: readonly string[]): string[] {
  return warnings.length ? ['', ...warnings.map((w) => `> **WARNING:** ${w}`)] : [];
}

// ---------------------------------------------------------------------------
// phic curse
// ---------------------------------------------------------------------------

/** Every k in 0..K with the errors and (when they apply) the bounds (21) and (18). */
export function curseRows(input: CurseReportInput): CurseRow[] {
  const { trace, constants } = input;
  const { K, truncate: t } = trace;
  const bounds = boundsApply(input);
  const at = (pts: readonly Point[] | undefined) => {
    const m = new Map<number, number>();
    for (const p of pts ?? []) m.set(p.k, p.error);
    return m;
  };
  const it = at(trace.iterate);
  const fw = at(trace.forward);
  const rv = at(trace.reverse);
  const rows: CurseRow[] = [];
  for (let k = 0; k <= K; k++) {
    const inRange = k >= t;
    rows.push({
      k,
      iterate: it.get(k) ?? null,
      forward: fw.get(k) ?? null,
      reverse: rv.get(k) ?? null,
      forwardBound: bounds && inRange && trace.forward ? forwardBound(constants, k, t) : null,
      reverseBound: bounds && inRange && trace.reverse ? reverseBound(constants, k, K) : null,
    });
  }
  return rows;
}

export function curseSummary(input: CurseReportInput, rows = curseRows(input)): CurseSummary {
  const { trace } = input;
  const fw = trace.forward;
  const rv = trace.reverse;
  const argBest = (key: 'forwardBound' | 'reverseBound', better: (a: number, b: number) => boolean) => {
    let best: CurseRow | undefined;
    for (const r of rows) if (r[key] !== null && (best === undefined || better(r[key]!, best[key]!))) best = r;
    return best ? best.k : null;
  };
  const peak = fw ? Math.max(...fw.map((p) => p.error)) : null;
  return {
    kMax: trace.kMax ?? null,
    kMin: trace.kMin ?? null,
    forwardStart: fw ? fw[0]!.error : null,
    forwardPeak: peak,
    forwardFinal: fw ? fw[fw.length - 1]!.error : null,
    cursePresent: fw ? trace.kMax! > trace.truncate && peak! > fw[0]!.error * (1 + 1e-12) : null,
    reverseAtT: rv ? rv[0]!.error : null,
    reverseMin: rv ? Math.min(...rv.map((p) => p.error)) : null,
    boundKMax: argBest('forwardBound', (a, b) => a > b),
    boundKMin: argBest('reverseBound', (a, b) => a < b),
  };
}

export function curseJson(input: CurseReportInput, warnings: readonly string[]): object {
  const rows = curseRows(input);
  const summary = curseSummary(input, rows);
  return {
    command: 'curse',
    ...contextJson(input),
    options: input.options,
    boundsApplied: boundsApply(input),
    warnings,
    kMax: summary.kMax,
    kMin: summary.kMin,
    summary,
    equalCost: input.equalCost ?? null,
    rows,
  };
}

function curseIndicatorLines(input: CurseReportInput, s: CurseSummary): string[] {
  const t = input.trace.truncate;
  const lines: string[] = [];
  if (s.kMax !== null && !input.constants.convergent) {
    lines.push(`- **k_max = ${s.kMax}**: the forward error goes from ${fmt(s.forwardStart)} at k = ${t} to ${fmt(s.forwardFinal)} at k = ${input.trace.K}; the spectral radius is ≥ 1, so this is divergence rather than the curse of unrolling.`);
  } else if (s.kMax !== null) {
    lines.push(
      s.cursePresent
        ? `- **k_max = ${s.kMax}**: the forward error rises from ${fmt(s.forwardStart)} at k = ${t} to ${fmt(s.forwardPeak)} (×${fmt(s.forwardPeak! / s.forwardStart!, 3)}) before it decays to ${fmt(s.forwardFinal)} at k = ${input.trace.K}: the curse of unrolling is present.`
        : `- **k_max = ${s.kMax}**: the forward error never rises above its starting value ${fmt(s.forwardStart)}: no curse on this run (final error ${fmt(s.forwardFinal)}).`,
    );
  }
  if (s.kMin !== null) {
    lines.push(
      `- **k_min = ${s.kMin}**: the reverse sweep is closest to J* when stopped at k = ${s.kMin} (${fmt(s.reverseMin)}), against ${fmt(s.reverseAtT)} for the full sweep to k = ${t}` +
        (s.kMin > t ? `: truncating there improves the reverse-mode estimate ×${fmt(s.reverseAtT! / s.reverseMin!, 3)}.` : '.'),
    );
  }
  if (s.boundKMax !== null) lines.push(`- The bound (21) peaks at k = ${s.boundKMax}.`);
  if (s.boundKMin !== null) lines.push(`- The bound (18) is least at k = ${s.boundKMin}.`);
  return lines;
}

export function curseMarkdown(input: CurseReportInput, warnings: readonly string[]): string {
  const { options: o, trace, constants: c } = input;
  const rows = curseRows(input);
  const s = curseSummary(input, rows);
  const bounds = boundsApply(input);
  const picks = sampleKs(trace.truncate, trace.K, 12, [s.kMax, s.kMin]);
  const byK = new Map(rows.map((r) => [r.k, r]));
  const header = ['k', '‖x_k − x*‖'];
  if (trace.forward) header.push('forward error', ...(bounds ? ['bound (21)'] : []));
  if (trace.reverse) header.push('reverse error', ...(bounds ? ['bound (18)'] : []));
  const table = picks.map((k) => {
    const r = byK.get(k)!;
    const note = k === s.kMax && k === s.kMin ? ' (k_max, k_min)' : k === s.kMax ? ' (k_max)' : k === s.kMin ? ' (k_min)' : '';
    const cells: string[] = [`${k}${note}`, fmt(r.iterate)];
    if (trace.forward) cells.push(fmt(r.forward), ...(bounds ? [fmt(r.forwardBound)] : []));
    if (trace.reverse) cells.push(fmt(r.reverse), ...(bounds ? [fmt(r.reverseBound)] : []));
    return cells;
  });
  return [
    `# Curse of unrolling: \`${input.map}\``,
    '',
    `Spec \`${input.spec}\`, dims ${dimsText(input.dims)} (${input.stateSize} state entries, ${input.paramSize} parameters). ` +
      `K = ${o.K} iterations, truncation index t = ${o.truncate}, mode ${o.mode}. Errors are ${measureText(trace.measure, trace.directions, o.seed)}.`,
    ...warningsMarkdown(warnings),
    '',
    '## Constants',
    '',
    constantsTable(c),
    '',
    'How they were estimated:',
    '',
    ...c.notes.map((n) => `- ${n}`),
    `- x* from the fixed-point solve: relative residual ${fmt(input.fixedPoint.residual)} after ${input.fixedPoint.iterations} iteration${input.fixedPoint.iterations === 1 ? '' : 's'} (${input.fixedPoint.converged ? 'converged' : 'NOT converged'}).`,
    ...(input.jStar ? [jStarText(input)] : []),
    '',
    bounds
      ? `Bounds drawn: (21) ρ^{k−t}‖J*‖ + C(k−t)ρ^{k−1}‖x⁰ − x*‖ for the forward error (t = ${o.truncate}${o.truncate === 0 ? ', i.e. (17)' : ''}) and (18) ρ^{K−k}‖J*‖ + C(K−k)ρ^{K−1}‖x⁰ − x*‖ for the reverse sweep stopped at k.`
      : 'Bounds not drawn (see the warnings).',
    '',
    `Figure: one normalisation for both panels, ${relativeErrorLabel(trace.measure)}; bounds are divided by the same scale. The tables give absolute errors.`,
    '',
    '## The curse',
    '',
    ...curseIndicatorLines(input, s),
    '',
    `## Errors at sampled k`,
    '',
    markdownTable(header, table),
    '',
    ...equalCostLines(input.equalCost),
  ].join('\n');
}

/** The divisor of a relative error: the scale when positive, else 1 (J* = 0 or x⁰ = x*: absolute errors). */
const divisor = (scale: number | undefined) => (scale !== undefined && scale > 0 && Number.isFinite(scale) ? scale : 1);

/** What the figure's y axis shows: one normalisation for both panels. */
export function relativeErrorLabel(measure: Measure): string {
  return measure === 'spectral'
    ? 'relative error: ‖ẋ − J*‖₂ / ‖J*‖₂ and ‖x̄ − J*‖₂ / ‖J*‖₂; iterates ‖x_k − x*‖ / ‖x⁰ − x*‖'
    : 'relative error: ‖(ẋ − J*)v‖ / ‖J*v‖ (forward), ‖uᵀ(x̄ − J*)‖ / ‖uᵀJ*‖ (reverse); iterates ‖x_k − x*‖ / ‖x⁰ − x*‖';
}

/**
 * Forward and reverse panels: derivative error solid, iterate error dashed, bound dotted with
 * markers. Both panels show relative errors (the forward error over ‖J*v‖, the reverse error
 * over ‖uᵀJ*‖, the bounds over the same scale), so the same quantity has the same size in both.
 */
export function curseFigure(input: CurseReportInput): Figure {
  const { trace } = input;
  const rows = curseRows(input);
  const s = curseSummary(input, rows);
  const t = trace.truncate;
  const xyOver = (pts: readonly Point[], scale: number) => pts.map((p) => ({ x: p.k, y: p.error / scale }));
  const iterate: Series = { name: 'iterate error', points: thin(xyOver(trace.iterate, divisor(trace.iterate[0]?.error))), stroke: 'dashed' };
  const boundPoints = (key: 'forwardBound' | 'reverseBound', scale: number) => {
    const picks = sampleKs(t, trace.K, 31);
    return rows.filter((r) => picks.includes(r.k) && r[key] !== null).map((r) => ({ x: r.k, y: r[key]! / scale }));
  };
  const panels = [];
  if (trace.forward) {
    const f = divisor(trace.forwardScale);
    const series: Series[] = [iterate, { name: 'forward error', points: thin(xyOver(trace.forward, f)) }];
    if (boundsApply(input)) series.push({ name: 'bound (21)', points: boundPoints('forwardBound', f), stroke: 'dotted', markers: true });
    if (s.kMax !== null) series.push({ name: 'k_max', points: [{ x: s.kMax, y: s.forwardPeak! / f }], markers: true });
    panels.push({ title: t > 0 ? `forward mode (late start t = ${t})` : 'forward mode', series });
  }
  if (trace.reverse) {
    const r = divisor(trace.reverseScale);
    const series: Series[] = [iterate, { name: 'reverse error', points: thin(xyOver(trace.reverse, r)) }];
    if (boundsApply(input)) series.push({ name: 'bound (18)', points: boundPoints('reverseBound', r), stroke: 'dotted', markers: true });
    if (s.kMin !== null) series.push({ name: 'k_min', points: [{ x: s.kMin, y: s.reverseMin! / r }], markers: true });
    panels.push({ title: t > 0 ? `reverse mode (stopped at k ≥ ${t})` : 'reverse mode (stopped at k)', series });
  }
  return {
    title: `Curse of unrolling: ${input.map}, K = ${trace.K}${t > 0 ? `, t = ${t}` : ''}`,
    xLabel: 'k',
    // Short, so the axis does not stretch the figure; the report says what is divided by what.
    yLabel: trace.measure === 'spectral' ? 'relative error (÷ ‖J*‖₂)' : 'relative error (÷ ‖J*v‖, ‖uᵀJ*‖)',
    logY: true,
    panels,
  };
}

/** A few lines for the terminal: constants, k_max / k_min, and a short table. */
export function curseStdout(input: CurseReportInput): string {
  const { trace, constants: c } = input;
  const rows = curseRows(input);
  const s = curseSummary(input, rows);
  const picks = sampleKs(trace.truncate, trace.K, 8, [s.kMax, s.kMin]);
  const byK = new Map(rows.map((r) => [r.k, r]));
  const cols: [string, (r: CurseRow) => number | null][] = [['‖x_k − x*‖', (r) => r.iterate]];
  if (trace.forward) cols.push(['forward', (r) => r.forward], ['bound (21)', (r) => r.forwardBound]);
  if (trace.reverse) cols.push(['reverse', (r) => r.reverse], ['bound (18)', (r) => r.reverseBound]);
  const line = (cells: string[]) => cells.map((x, i) => (i === 0 ? x.padStart(6) : x.padStart(12))).join(' ');
  const out = [
    `curse of unrolling: ${input.map} (${dimsText(input.dims)}), K = ${trace.K}, t = ${trace.truncate}, ${trace.measure} measure`,
    `constants: sr(∂ₓΦ(x*)) = ${fmt(c.spectralRadius, 6)}, ρ = ${fmt(c.rho, 6)} (2-norm), C = ${fmt(c.C)} (L_A = ${fmt(c.LA)}, L_B = ${fmt(c.LB)}), ‖J*‖ = ${fmt(c.normJStar)}, ‖x⁰ − x*‖ = ${fmt(c.e0)}`,
  ];
  if (s.kMax !== null) out.push(`k_max = ${s.kMax}: forward error ${fmt(s.forwardStart)} → peak ${fmt(s.forwardPeak)} → ${fmt(s.forwardFinal)} (${c.convergent ? `curse ${s.cursePresent ? 'present' : 'absent'}` : 'spectral radius ≥ 1: the errors grow'})`);
  if (s.kMin !== null) out.push(`k_min = ${s.kMin}: reverse error ${fmt(s.reverseMin)} (sweep to k = ${trace.truncate}: ${fmt(s.reverseAtT)})`);
  out.push(line(['k', ...cols.map(([h]) => h)]));
  for (const k of picks) out.push(line([String(k), ...cols.map(([, f]) => fmt(f(byK.get(k)!)))]));
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// phic truncation
// ---------------------------------------------------------------------------

const runLabel = (r: BudgetRun) => `t = ${r.t}`;

/** The run at the bound-optimal Δ, when it was measured. */
function predictedRun(sweep: TruncationSweep): BudgetRun | undefined {
  return sweep.runs.find((r) => r.delta === sweep.predicted.delta);
}

function bestRun(sweep: TruncationSweep): BudgetRun {
  return sweep.runs.find((r) => r.delta === sweep.measured.delta)!;
}

/**
 * What `phic truncation` recommends. A user tuning t has no J*, so the recommendation is the
 * minimiser of the bound φ(Δ) built from the estimated constants, and only when the bounds
 * apply. The measured best needs J*: it is shown beside the recommendation, as a check of it,
 * only when J* is available (the fixed-point solve converged, so errors against it mean
 * something).
 */
export interface TruncationChoice {
  readonly recommended: { readonly delta: number; readonly t: number; readonly iterations: number; readonly bound: number; readonly continuous: number; readonly measuredForward: number | null } | null;
  readonly measured: { readonly delta: number; readonly t: number; readonly iterations: number; readonly error: number; readonly finalReverse: number } | null;
  /** Why nothing is recommended (null when something is). */
  readonly noRecommendation: string | null;
}

export function truncationChoice(input: TruncationReportInput): TruncationChoice {
  const { sweep } = input;
  const jStar = input.fixedPoint.converged;
  const best = bestRun(sweep);
  const recommended = boundsApply(input)
    ? { ...sweep.predicted, iterations: sweep.K + sweep.omega * sweep.predicted.delta, measuredForward: predictedRun(sweep)?.finalForward ?? null }
    : null;
  return {
    recommended,
    measured: jStar ? { ...sweep.measured, iterations: best.iterations, finalReverse: best.finalReverse } : null,
    noRecommendation: recommended ? null : 'the bounds do not apply here (see the warnings), so there is no bound-optimal t to recommend',
  };
}

export function truncationJson(input: TruncationReportInput, warnings: readonly string[]): object {
  const { sweep } = input;
  const bounds = boundsApply(input);
  const choice = truncationChoice(input);
  return {
    command: 'truncation',
    ...contextJson(input),
    options: input.options,
    boundsApplied: bounds,
    warnings,
    budget: (1 + sweep.omega) * sweep.K,
    runs: sweep.runs.map((r) => ({
      delta: r.delta,
      t: r.t,
      iterations: r.iterations,
      cost: r.cost,
      finalForward: r.finalForward,
      finalReverse: r.finalReverse,
      phi: bounds ? r.bound : null,
      resources: r.resources ?? null,
      kMax: r.trace.kMax ?? null,
      kMin: r.trace.kMin ?? null,
      iterate: r.trace.iterate.map((p) => p.error),
      forward: { from: r.t, errors: (r.trace.forward ?? []).map((p) => p.error) },
      reverse: { from: r.t, errors: (r.trace.reverse ?? []).map((p) => p.error) },
    })),
    recommended: choice.recommended,
    noRecommendation: choice.noRecommendation,
    measured: choice.measured,
  };
}

const compileLine = (K: number, omega: number, delta: number) =>
  `feed it to \`phic compile --truncate ${(1 + omega) * delta} -K ${K + omega * delta}\``;

const VACUOUS = 'φ at the recommended Δ is no smaller than ‖J*‖, the error of not differentiating at all, so the bound guarantees nothing here and the recommendation follows only its shape';

/** Whether the bound at its minimiser is no better than the zero derivative (φ(K) = ‖J*‖). */
const vacuous = (input: TruncationReportInput) => input.sweep.predicted.bound >= input.constants.normJStar;

/** The recommended t (bound-optimal) and, when J* is available, the measured best beside it. */
function recommendationSection(input: TruncationReportInput): string[] {
  const { sweep, options: o } = input;
  const { recommended: rec, measured, noRecommendation } = truncationChoice(input);
  const best = bestRun(sweep);
  const rows: (string | number)[][] = [];
  if (rec) rows.push([`recommended: bound-optimal (minimiser of φ from the estimated constants; continuous Δ = ${fmt(rec.continuous)})`, rec.delta, rec.t, rec.iterations, rec.measuredForward === null ? 'not measured' : fmt(rec.measuredForward), fmt(rec.bound)]);
  if (measured) rows.push(['measured best (needs J*)', measured.delta, measured.t, measured.iterations, fmt(measured.error), rec ? fmt(best.bound) : '—']);
  const lines = ['## Recommended truncation', ''];
  if (rows.length) lines.push(markdownTable(['', 'Δ', 't', 'iterations', 'final forward error', 'φ(Δ)'], rows), '');
  if (rec) lines.push(`**Recommended: Δ = ${rec.delta}, t = ${rec.t}**: ${compileLine(o.K, o.omega, rec.delta)}. It needs only the estimated constants, not J*.`, '');
  if (rec && vacuous(input)) lines.push(`Note: ${VACUOUS}.`, '');
  else lines.push(`No recommended t: ${noRecommendation}.`, '');
  if (measured) {
    const atRec = rec?.measuredForward;
    lines.push(
      `The measured best, Δ = ${measured.delta}, t = ${measured.t}, is known here only because the lab computed J* from x*; it checks the recommendation` +
        (atRec ? `: the recommended t ends with ${fmt(atRec)}, ×${fmt(atRec / measured.error, 3)} the measured best error.` : '.'),
      '',
    );
  } else {
    lines.push('No measured best: the fixed-point solve did not converge, so J* and the errors measured against it are unreliable.', '');
  }
  return lines;
}

export function truncationMarkdown(input: TruncationReportInput, warnings: readonly string[]): string {
  const { sweep, options: o } = input;
  const bounds = boundsApply(input);
  const jStar = input.fixedPoint.converged;
  const best = bestRun(sweep);
  const note = (r: BudgetRun) => [jStar && r === best ? 'best measured' : '', bounds && r.delta === sweep.predicted.delta ? 'recommended (bound-optimal)' : ''].filter(Boolean).join(', ');
  const perDelta = markdownTable(
    ['Δ', 't = (1+ω)Δ', 'iterations K+ωΔ', 'cost', 'final forward error', 'final reverse error', 'φ(Δ)', 'bufferBytes fwd / rev', 'jvp / vjp ms (median)', ''],
    sweep.runs.map((r) => [
      r.delta, r.t, r.iterations, fmt(r.cost), fmt(r.finalForward), fmt(r.finalReverse), bounds ? fmt(r.bound) : '—',
      r.resources ? `${r.resources.forwardBytes} / ${r.resources.reverseBytes}` : '—',
      r.resources ? `${r.resources.jvpMs.toPrecision(3)} / ${r.resources.vjpMs.toPrecision(3)}` : '—',
      note(r),
    ]),
  );
  return [
    `# Truncation under a fixed budget: \`${input.map}\``,
    '',
    `Spec \`${input.spec}\`, dims ${dimsText(input.dims)}. K = ${o.K}, ω = ${o.omega}: each run does K + ωΔ iterations, unrolls the last K − Δ (truncation index t = (1 + ω)Δ), ` +
      `and costs (K + ωΔ) + ω(K − Δ) = (1 + ω)K = ${fmt((1 + o.omega) * o.K)} map evaluations. Errors are ${measureText(o.measure, o.directions, o.seed)}; ` +
      `final errors are taken at k = K + ωΔ (forward, late start) and at k = t (reverse, truncated sweep).`,
    ...warningsMarkdown(warnings),
    '',
    '## Constants',
    '',
    constantsTable(input.constants),
    '',
    ...input.constants.notes.map((n) => `- ${n}`),
    '',
    '## Runs',
    '',
    perDelta,
    '',
    `Beside the ω cost model (every Δ costs (1 + ω)K map evaluations), each Δ's compiled modules are measured: bufferBytes() of the forward-mode and of the reverse-mode instance (the reverse tape holds the K − Δ states it differentiates through) and the median wall time of ${sweep.runs[0]?.resources?.calls ?? 0} jvp and vjp calls along one unit direction, after a warm-up call (this machine, for comparison between rows only).`,
    '',
    ...recommendationSection(input),
  ].join('\n');
}

/**
 * MATH.md §7.4: forward panel with one solid curve per t over k, the iterate error dashed, the
 * final errors (at k = K + ωΔ) connected dashed with markers and φ(Δ) at the same k dotted
 * with markers; reverse panel with the truncated sweeps and their final errors (at k = t).
 */
export function truncationFigure(input: TruncationReportInput): Figure {
  const { sweep } = input;
  const longest = sweep.runs.reduce((p, r) => (r.iterations > p.iterations ? r : p), sweep.runs[0]!);
  const iterate: Series = { name: 'iterate error', points: thin(xy(longest.trace.iterate)), stroke: 'dashed' };
  const byT = [...sweep.runs].sort((a, b) => a.t - b.t);
  const forward: Series[] = [
    iterate,
    ...byT.map((r) => ({ name: runLabel(r), points: thin(xy(r.trace.forward ?? [])) })),
    { name: 'final error', points: byT.map((r) => ({ x: r.iterations, y: r.finalForward })).sort((a, b) => a.x - b.x), stroke: 'dashed', markers: true },
  ];
  if (boundsApply(input)) forward.push({ name: 'bound φ(Δ)', points: byT.map((r) => ({ x: r.iterations, y: r.bound })).sort((a, b) => a.x - b.x), stroke: 'dotted', markers: true });
  const reverse: Series[] = [
    iterate,
    ...byT.map((r) => ({ name: runLabel(r), points: thin(xy(r.trace.reverse ?? [])) })),
    { name: 'final error', points: byT.map((r) => ({ x: r.t, y: r.finalReverse })), stroke: 'dashed', markers: true },
  ];
  return {
    title: `Truncation under a fixed budget: ${input.map}, K = ${sweep.K}, ω = ${sweep.omega}`,
    xLabel: 'k',
    yLabel: input.options.measure === 'spectral' ? 'error (spectral norm)' : `error (mean over ${input.options.directions} directions)`,
    logY: true,
    panels: [
      { title: 'forward mode (late start at t)', series: forward },
      { title: 'reverse mode (sweep stopped at k)', series: reverse },
    ],
  };
}

export function truncationStdout(input: TruncationReportInput): string {
  const { sweep } = input;
  const bounds = boundsApply(input);
  const line = (cells: string[]) => cells.map((x) => x.padStart(12)).join(' ');
  const out = [
    `truncation under a fixed budget: ${input.map} (${dimsText(input.dims)}), K = ${sweep.K}, ω = ${sweep.omega}, budget (1+ω)K = ${fmt((1 + sweep.omega) * sweep.K)}`,
    line(['Δ', 't', 'iterations', 'final fwd', 'final rev', 'φ(Δ)']),
    ...sweep.runs.map((r) => line([String(r.delta), String(r.t), String(r.iterations), fmt(r.finalForward), fmt(r.finalReverse), bounds ? fmt(r.bound) : '—'])),
  ];
  const { recommended: rec, measured, noRecommendation } = truncationChoice(input);
  if (rec) out.push(`recommended (bound-optimal, minimiser of φ from the estimated constants): Δ = ${rec.delta}, t = ${rec.t}${vacuous(input) ? ` (${VACUOUS})` : ''}`);
  else out.push(`no recommended t: ${noRecommendation}`);
  if (measured) out.push(`measured best (needs J*, computed here from x*): Δ = ${measured.delta}, t = ${measured.t}`);
  if (rec) out.push(compileLine(sweep.K, sweep.omega, rec.delta));
  return out.join('\n') + '\n';
}
