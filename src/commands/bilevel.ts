// `phic bilevel`: Algorithm 1 (MATH.md §6.3) on a spec with an outer objective: outer gradient
// descent on θ with hypergradients from the generated reverse-mode code, cold-started and
// warm-started, each outer step compared with the implicit hypergradient at x*(θ). Writes
// <name>.json (both traces), <name>.md (summary and a table of sampled outer steps) and a
// figure <name>.vl.json / .svg / .png (hypergradient error and outer loss per outer step).
// A run stopped by a numeric failure still writes these with the outer steps done, then
// fails with one numeric error line (exit 1) saying which run stopped where and why.

import { basename } from 'node:path';
import { processIo, type CliIo } from '../cli-io.js';
import type * as vegaLite from 'vega-lite';
import { PhicError, usageError } from '../../compiler/errors.js';
import { PHIC_VERSION } from '../../compiler/version.js';
import { loadProblem, timeVaryingWarnings } from '../lab/problem.js';
import { requireOuter, runBilevel, stopMessage, validateBilevelOptions, type BilevelResult, type BilevelStep, type BilevelTrace } from '../lab/bilevel.js';
import { figureSpec, renderSvg, svgToPng, type Figure, type Series } from '../lab/plot.js';
import { markdownTable, type OutputFile } from '../lab/output.js';
import { progress, writeOutputs } from './output.js';
import { compareBilevelMethods, comparisonFigure, comparisonMarkdown } from '../lab/bilevel-methods.js';
import { reference } from '../lab/fixed-point.js';
import { estimateConstants, minimisePhi } from '../lab/bounds.js';
import { figureFiles } from '../lab/output.js';
import type { LabProblem } from '../lab/problem.js';
import { printWarnings } from './curse.js';

export interface BilevelCommandOptions {
  map?: string;
  data: string;
  K: number;
  truncate: number;
  steps: number;
  eta: number;
  seed: number;
  out: string;
  name: string;
  /** Rows of the Markdown table of outer steps (default 12). */
  rows?: number;
  /** Also run Algorithm 1 (warm) once per hypergradient method at equal cost (bilevel-methods.ts). */
  compare?: boolean;
}

export async function bilevelCommand(specFile: string, opts: BilevelCommandOptions, io: CliIo = processIo()): Promise<void> {
  validateBilevelOptions(opts);
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(opts.name)) throw usageError(`--name must be a plain file name (letters, digits, '_', '-', '.'), got '${opts.name}'`);
  const problem = await loadProblem(specFile, opts.data, opts.map, io.cwd);
  requireOuter(problem);
  printWarnings(timeVaryingWarnings(problem), io);
  const bar = progress('bilevel', 2 * opts.steps, io);
  let result: BilevelResult;
  try {
    result = await runBilevel(problem, { K: opts.K, truncate: opts.truncate, steps: opts.steps, eta: opts.eta, seed: opts.seed, onStep: (done) => bar.tick(done) });
  } finally {
    bar.stop();
  }
  const traces = [result.cold, result.warm].filter((tr): tr is BilevelTrace => tr !== undefined);
  const stops = traces.map(stopMessage).filter((m): m is string => m !== null);
  const meta = {
    phicVersion: PHIC_VERSION, spec: specFile, data: opts.data, map: problem.model.name, dims: problem.dims,
    K: result.K, truncate: result.truncate, steps: result.steps, eta: result.eta, seed: result.seed,
    stateSize: result.stateSize, paramSize: result.paramSize,
  };
  const title = `${problem.model.name}: warm against cold starts (K = ${result.K}${result.truncate ? `, t = ${result.truncate}` : ''}, η = ${result.eta})`;
  const figure = await bilevelFigure(result, title);
  const files: OutputFile[] = [
    { name: `${opts.name}.json`, contents: compactJson({ meta, stopped: stops, summary: result.summary ?? null, cold: result.cold, warm: result.warm }) },
    { name: `${opts.name}.md`, contents: bilevelMarkdown(result, { ...meta, figure: `${opts.name}.png`, rows: opts.rows ?? 12 }) },
    { name: `${opts.name}.vl.json`, contents: figure.spec },
    { name: `${opts.name}.svg`, contents: figure.svg },
    { name: `${opts.name}.png`, contents: figure.png },
  ];
  if (opts.compare) files.push(...(await comparisonFiles(problem, opts, io)));
  const written = writeOutputs(opts.out, files, io.cwd);
  for (const f of written) io.stderr(`wrote ${f}\n`);
  if (result.summary) io.stdout(`${result.summary.sentence}\n${capitalise(result.summary.lossSentence)}\n`);
  // The reports of a failed run are written first, then the failure is an error (exit 1).
  const stopped = traces.filter((tr) => tr.stopped);
  if (stopped.length) {
    const where = stopped.map((tr) => `the ${tr.start}-start run at outer step ${tr.stopped!.step}`).join(' and ');
    throw new PhicError('numeric', `bilevel stopped: ${where}: ${stopped[0]!.stopped!.reason}; the outer steps done so far are in ${written[0]}`);
  }
}

/** JSON indented by object, with arrays of numbers on one line each. */
export function compactJson(value: unknown): string {
  return JSON.stringify(value, null, 1).replace(/\[[-+\d.eE,\s]*\]/g, (m) => m.replace(/\s+/g, '')) + '\n';
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Series names of the figure (also what the SVG's legends show). */
export const SERIES = {
  coldError: 'cold: ‖g − g*‖',
  warmError: 'warm: ‖g − g*‖',
  coldStart: 'cold: ‖x⁰ − x*‖',
  warmStart: 'warm: ‖x⁰ − x*‖',
  coldLoss: 'cold: ℓ(x*(θ), θ)',
  warmLoss: 'warm: ℓ(x*(θ), θ)',
} as const;

const points = (trace: BilevelTrace, f: (s: BilevelStep) => number) => trace.steps.map((s) => ({ x: s.step, y: f(s) }));

/** ℓ(x*(θ_j), θ_j) per outer step and at θ_N (absent when the run stopped before it). */
const lossPoints = (trace: BilevelTrace) => [
  ...points(trace, (s) => s.lossAtStar),
  ...(Number.isFinite(trace.finalLoss) ? [{ x: trace.steps.length, y: trace.finalLoss }] : []),
];

/** Two panels: hypergradient error (and ‖x⁰ − x*‖) per outer step on a log scale, and the outer loss. */
export async function bilevelFigure(result: BilevelResult, title: string): Promise<{ spec: string; svg: string; png: Buffer }> {
  const cold = result.cold!;
  const warm = result.warm!;
  const errorSeries: Series[] = [
    { name: SERIES.coldError, points: points(cold, (s) => s.error) },
    { name: SERIES.warmError, points: points(warm, (s) => s.error), stroke: 'dashed' },
    { name: SERIES.coldStart, points: points(cold, (s) => s.startDistance) },
    { name: SERIES.warmStart, points: points(warm, (s) => s.startDistance), stroke: 'dashed' },
  ];
  const lossSeries: Series[] = [
    { name: SERIES.coldLoss, points: lossPoints(cold) },
    { name: SERIES.warmLoss, points: lossPoints(warm), stroke: 'dashed' },
  ];
  const panel = (fig: Figure) => {
    const { $schema: _s, title: _t, background: _b, ...rest } = figureSpec(fig) as unknown as Record<string, unknown>;
    return rest;
  };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    background: 'white',
    hconcat: [
      panel({ title: '', xLabel: 'outer step j', yLabel: 'hypergradient error, distance (log)', logY: true, panels: [{ title: 'hypergradient error ‖g − g*‖ and ‖x⁰ − x*(θ)‖', series: errorSeries }] }),
      panel({ title: '', xLabel: 'outer step j', yLabel: 'outer loss (log)', logY: true, panels: [{ title: 'outer loss ℓ(x*(θ_j), θ_j)', series: lossSeries }] }),
    ],
    resolve: { scale: { color: 'independent', strokeDash: 'independent' }, legend: { color: 'independent' } },
  } as unknown as vegaLite.TopLevelSpec;
  const svg = await renderSvg(spec);
  return { spec: JSON.stringify(spec, null, 1), svg, png: svgToPng(svg) };
}

/** Evenly spaced outer steps (first and last included). */
export function sampleSteps(count: number, rows: number): number[] {
  if (count <= rows) return Array.from({ length: count }, (_, i) => i);
  const out = new Set<number>();
  for (let i = 0; i < rows; i++) out.add(Math.round(((count - 1) * i) / (rows - 1)));
  return [...out];
}

export function bilevelMarkdown(result: BilevelResult, meta: { spec: string; data: string; map: string; figure: string; rows: number; dims: Readonly<Record<string, number>> }): string {
  const cold = result.cold!;
  const warm = result.warm!;
  const dims = Object.entries(meta.dims).map(([k, v]) => `${k} = ${v}`).join(', ');
  const lines = [
    `# Bilevel optimisation with warm starting: ${meta.map}`,
    '',
    `Spec \`${basename(meta.spec)}\`, data \`${basename(meta.data)}\` (${dims}); ${result.paramSize} params, ${result.stateSize} state entries.`,
    `K = ${result.K} inner iterations per outer step, backward sweep truncated at t = ${result.truncate}, N = ${result.steps} outer steps of size η = ${result.eta}.`,
    '',
    'Algorithm 1 (MATH.md §6.3): θ_{j+1} = θ_j − η g_j, where g_j is the hypergradient d/dθ ℓ(x_K(θ_j), θ_j) from the generated reverse-mode code.',
    'Cold: every outer step starts the inner iteration at the same x⁰ (the data\'s x0, or zeros). Warm: x⁰ is x_K of the previous outer step.',
    'Each g_j is compared with the implicit hypergradient g*_j = ∇θℓ + B*ᵀ (I − A*)⁻ᵀ ∇ₓℓ at (x*(θ_j), θ_j); ‖x⁰ − x*(θ_j)‖ is the initial error that multiplies the curse term (warm starting as implicit truncation, claim C10).',
    '',
    ...stoppedSection(cold, warm),
    ...summarySection(result),
  ];
  const unconverged = [cold, warm].flatMap((tr) => tr.steps.filter((st) => !st.converged).map((st) => `${tr.start} ${st.step}`));
  if (unconverged.length) lines.push(`Warning: x*(θ) did not reach the fixed-point tolerance at ${unconverged.length} outer steps (${unconverged.slice(0, 5).join(', ')}${unconverged.length > 5 ? ', …' : ''}); g* there is approximate.`, '');
  // Rows up to the longer run; a run that stopped earlier shows '—' after its last step.
  const done = Math.max(cold.steps.length, warm.steps.length);
  const cells = (st: BilevelStep | undefined) => (st ? [st.error, st.relativeError, st.startDistance, st.lossAtStar, st.lossAtXK] : ['—', '—', '—', '—', '—']);
  lines.push(
    `![hypergradient error and outer loss per outer step](${meta.figure})`,
    '',
    '## Outer steps (sampled)',
    '',
    markdownTable(
      ['step j', 'cold ‖g − g*‖', 'warm ‖g − g*‖', 'cold rel.', 'warm rel.', 'cold ‖x⁰ − x*‖', 'warm ‖x⁰ − x*‖', 'cold ℓ(x*)', 'warm ℓ(x*)', 'cold ℓ(x_K)', 'warm ℓ(x_K)'],
      sampleSteps(done, meta.rows).map((j) => {
        const [c, w] = [cells(cold.steps[j]), cells(warm.steps[j])];
        return [j, ...c.flatMap((x, i) => [x, w[i]!])];
      }),
      3,
    ),
    '',
  );
  return lines.join('\n');
}

/** Where and why each run stopped early (nothing when both completed). */
function stoppedSection(...traces: BilevelTrace[]): string[] {
  const stops = traces.map(stopMessage).filter((m): m is string => m !== null);
  if (!stops.length) return [];
  return ['## Stopped early', '', ...stops.map((m) => `- **${capitalise(m)}.**`), '', 'The tables and the figure show the outer steps done before the failure; there is no cold/warm summary.', ''];
}

/** The cold/warm comparison, when both runs completed. */
function summarySection(result: BilevelResult): string[] {
  const s = result.summary;
  if (!s) return [];
  const ratio = (a: number, b: number) => (b > 0 ? (a / b).toPrecision(3) : '—');
  return [
    '## Summary',
    '',
    markdownTable(
      ['', 'cold', 'warm', 'cold / warm'],
      [
        ['median ‖g − g*‖', s.medianError.cold, s.medianError.warm, ratio(s.medianError.cold, s.medianError.warm)],
        ['median ‖g − g*‖ / ‖g*‖', s.medianRelativeError.cold, s.medianRelativeError.warm, ratio(s.medianRelativeError.cold, s.medianRelativeError.warm)],
        ['median ‖x⁰ − x*(θ)‖', s.medianStartDistance.cold, s.medianStartDistance.warm, ratio(s.medianStartDistance.cold, s.medianStartDistance.warm)],
        ['final outer loss ℓ(x*(θ_N), θ_N)', s.finalLoss.cold, s.finalLoss.warm, ratio(s.finalLoss.cold, s.finalLoss.warm)],
        ['last ℓ(x_K, θ_{N−1}) (what the run saw)', s.finalLossAtXK.cold, s.finalLossAtXK.warm, ratio(s.finalLossAtXK.cold, s.finalLossAtXK.warm)],
      ],
    ),
    '',
    `**${capitalise(s.sentence)}** ${capitalise(s.lossSentence)}`,
    '',
  ];
}

/**
 * `--compare`: Algorithm 1 with warm starts once per hypergradient method at equal cost: full
 * unrolling, truncation at --truncate (or, when it is 0, the bound-optimal t from the constants
 * at the initial θ), and the implicit solvers with a warm-started adjoint and K − t VJPs.
 * Written as <name>-methods.md, .json and its figure.
 */
async function comparisonFiles(problem: LabProblem, opts: BilevelCommandOptions, io: CliIo): Promise<OutputFile[]> {
  let t = opts.truncate;
  let why = `--truncate ${t}`;
  if (t === 0) {
    const ref = await reference(problem);
    const constants = await estimateConstants(problem, ref, { K: opts.K });
    t = constants.contractive ? minimisePhi(constants, opts.K, 0, opts.K - 1).t : Math.floor(opts.K / 2);
    why = constants.contractive ? `the bound-optimal t at the initial θ` : `K/2: the map does not contract in the 2-norm at the initial θ, so no bound-optimal t`;
  }
  const bar = progress('bilevel methods', 6 * opts.steps, io);
  let c;
  try {
    c = await compareBilevelMethods(problem, { K: opts.K, truncate: t, steps: opts.steps, eta: opts.eta, seed: opts.seed, onStep: (done) => bar.tick(done) });
  } finally {
    bar.stop();
  }
  const md = `# ${problem.model.name}: hypergradient methods at equal cost\n\nThe truncated run's t = ${t} is ${why}.\n\n${comparisonMarkdown(c)}\n\n![error per outer step](${opts.name}-methods.png)\n`;
  return [
    { name: `${opts.name}-methods.json`, contents: compactJson({ K: c.K, truncate: c.truncate, why, steps: c.steps, eta: c.eta, runs: c.runs.map((r) => ({ label: r.label, method: r.method, products: r.products, ms: r.ms, bufferBytes: r.bufferBytes, medianRelativeError: r.medianRelativeError, stopped: r.trace.stopped ?? null, relativeErrors: r.trace.steps.map((s) => s.relativeError) })) }) },
    { name: `${opts.name}-methods.md`, contents: md },
    ...(await figureFiles(`${opts.name}-methods`, comparisonFigure(c, `${problem.model.name}: hypergradient methods at equal cost (K = ${c.K}, t = ${t})`))),
  ];
}
