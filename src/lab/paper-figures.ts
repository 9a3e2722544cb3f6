// The figures of `phic paper`, one per (step, n): the median error curves of every truncation
// of the budgeted sweep, forward and reverse panels side by side on log scales, with the
// iterate error, the final errors and the bound φ(Δ); as a vega-lite spec, SVG and PNG.

import type * as vegaLite from 'vega-lite';
import { fmt, type StepKind } from './claims.js';
import type { OutputFile } from './output.js';
import { stepLabel, type PaperConfig } from './paper-config.js';
import { renderSvg, svgToPng } from './plot.js';
import { argMax, argMin } from './stats.js';

/** A figure in memory: its three files are produced by paperFigureFiles. */
export interface PaperFigure {
  readonly base: string;
  readonly step: StepKind;
  readonly n: number;
  readonly title: string;
  readonly series: readonly PlotSeries[];
}

export interface PlotSeries {
  readonly name: string;
  readonly panel: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
  readonly color: string;
  readonly dash: 'solid' | 'dashed' | 'none';
  readonly marker?: 'circle' | 'cross';
}

/**
 * The median curves of one (step, n) that a figure draws; per Δ where an array is per Δ. All
 * relative: forward errors and φ over the repetition's mean ‖J*v‖, reverse errors over its mean
 * ‖uᵀJ*‖, iterate errors over ‖x⁰ − x*‖ (each repetition divided by its own scale, then medians).
 */
export interface FigureCurves {
  readonly kappa: number;
  readonly forward: readonly (readonly number[])[];
  readonly reverse: readonly (readonly number[])[];
  /** ‖x_k − x*‖ of the longest run. */
  readonly iterate: readonly number[];
  readonly finalForward: readonly number[];
  readonly finalReverse: readonly number[];
  readonly finalIterate: readonly number[];
  readonly phiEstimated: readonly number[];
}

const PALETTE = ['#d62728', '#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22'];
const BLUE = '#1f77b4';
// One normalisation for both panels: each error over the norm of what it approximates.
export const FORWARD_PANEL = 'forward mode: ‖(ẋ_t^k − J*)v‖ / ‖J*v‖ (JVP)';
export const REVERSE_PANEL = 'reverse mode: ‖uᵀ(x̄_k − J*)‖ / ‖uᵀJ*‖ (VJP)';
export const Y_TITLE = 'relative error (iterates: ‖x_k − x*‖ / ‖x⁰ − x*‖)';
export const SERIES = {
  iterate: '‖x_k − x*‖ (algorithm)',
  iterateEnd: '‖x − x*‖ at the end of each run (circles)',
  final: 'final derivative error (circles)',
  bound: 'bound φ(Δ) / ‖J*v‖, constants of estimateConstants (crosses)',
  truncation: (t: number, delta: number) => `t = ${t} (Δ = ${delta})`,
};

/**
 * At most about `max` points of a curve (always its ends and extremes), y rounded to 6 digits.
 * The stride is even, so a period-2 oscillation (GD with a step near 2/L) is not aliased.
 */
function thin(points: readonly { x: number; y: number }[], max = 300): { x: number; y: number }[] {
  const round = (p: { x: number; y: number }) => ({ x: p.x, y: Number(p.y.toPrecision(6)) });
  if (points.length <= max) return points.map(round);
  const stride = 2 * Math.ceil(points.length / (2 * max));
  const keep = new Set([0, points.length - 1, argMax(points.map((p) => p.y)), argMin(points.map((p) => p.y))]);
  for (let i = 0; i < points.length; i += stride) keep.add(i);
  return [...keep].sort((a, b) => a - b).map((i) => round(points[i]!));
}

export function buildFigure(config: PaperConfig, step: StepKind, n: number, curves: FigureCurves): PaperFigure {
  const { K, omega, deltas } = config;
  const { iterate, finalForward, finalReverse, finalIterate, phiEstimated } = curves;
  const series: PlotSeries[] = [];
  const ends = deltas.map((d) => K + omega * d);
  const ts = deltas.map((d) => (1 + omega) * d);
  for (const panel of [FORWARD_PANEL, REVERSE_PANEL]) {
    series.push({ name: SERIES.iterate, panel, points: thin(iterate.map((y, k) => ({ x: k, y }))), color: BLUE, dash: 'dashed' });
    series.push({ name: SERIES.iterateEnd, panel, points: ends.map((x, i) => ({ x, y: finalIterate[i]! })), color: BLUE, dash: 'none', marker: 'circle' });
    deltas.forEach((d, i) => {
      const curve = (panel === FORWARD_PANEL ? curves.forward : curves.reverse)[i]!;
      series.push({ name: SERIES.truncation(ts[i]!, d), panel, points: thin(curve.map((y, j) => ({ x: ts[i]! + j, y }))), color: PALETTE[i % PALETTE.length]!, dash: 'solid' });
    });
    const finals = panel === FORWARD_PANEL ? ends.map((x, i) => ({ x, y: finalForward[i]! })) : ts.map((x, i) => ({ x, y: finalReverse[i]! }));
    series.push({ name: SERIES.final, panel, points: [...finals].sort((a, b) => a.x - b.x), color: '#000000', dash: 'dashed', marker: 'circle' });
  }
  series.push({ name: SERIES.bound, panel: FORWARD_PANEL, points: ends.map((x, i) => ({ x, y: phiEstimated[i]! })), color: '#7f7f7f', dash: 'dashed', marker: 'cross' });
  const stepText = `α = ${stepLabel(config, step)}`;
  return {
    base: `fig-${step}-n${n}`, step, n, series,
    title: `Least squares m = ${config.m}, n = ${n} (κ ≈ ${fmt(curves.kappa)}), ${stepText}: median of ${config.reps} runs, K = ${K}, ω = ${omega}`,
  };
}

const DASHES = { solid: [1, 0], dashed: [6, 4], none: [1, 0] } as const;
const CROSS = 'M-1,-1L1,1M-1,1L1,-1';

/** The vega-lite spec of a paper figure: forward and reverse panels, log-scale errors. */
export function paperFigureSpec(fig: PaperFigure): vegaLite.TopLevelSpec {
  const names = [...new Set(fig.series.map((s) => s.name))];
  const first = new Map<string, PlotSeries>();
  for (const s of fig.series) if (!first.has(s.name)) first.set(s.name, s);
  const rows = fig.series.flatMap((s) =>
    s.points.filter((p) => Number.isFinite(p.y) && p.y > 0).map((p) => ({ panel: s.panel, series: s.name, x: p.x, y: p.y, line: s.dash !== 'none', marker: s.marker ?? '' })),
  );
  const color = { field: 'series', type: 'nominal', sort: names, title: null, scale: { domain: names, range: names.map((n) => first.get(n)!.color) }, legend: { orient: 'bottom', columns: 2, labelLimit: 0, symbolType: 'stroke', symbolStrokeWidth: 2 } } as const;
  const x = { field: 'x', type: 'quantitative', title: 'iteration k' } as const;
  const y = { field: 'y', type: 'quantitative', title: Y_TITLE, scale: { type: 'log' }, axis: { format: '.0e' } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: fig.title, fontSize: 13 },
    data: { values: rows },
    background: 'white',
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: [FORWARD_PANEL, REVERSE_PANEL] } },
    spec: {
      width: 380,
      height: 280,
      layer: [
        {
          transform: [{ filter: 'datum.line' }],
          mark: { type: 'line', clip: true, strokeWidth: 1.5 },
          encoding: {
            x, y, color, detail: { field: 'series' },
            strokeDash: { field: 'series', type: 'nominal', sort: names, title: null, scale: { domain: names, range: names.map((n) => [...DASHES[first.get(n)!.dash]]) }, legend: { orient: 'bottom', columns: 2, labelLimit: 0 } },
          },
        },
        { transform: [{ filter: "datum.marker === 'circle'" }], mark: { type: 'point', filled: true, size: 36, clip: true }, encoding: { x, y, color } },
        { transform: [{ filter: "datum.marker === 'cross'" }], mark: { type: 'point', shape: CROSS, filled: false, strokeWidth: 1.5, size: 60, clip: true }, encoding: { x, y, color } },
      ],
    },
    resolve: { scale: { y: 'shared' } },
  } as unknown as vegaLite.TopLevelSpec;
}

export async function paperFigureFiles(fig: PaperFigure): Promise<OutputFile[]> {
  const spec = paperFigureSpec(fig);
  const svg = await renderSvg(spec);
  return [
    { name: `${fig.base}.vl.json`, contents: JSON.stringify(spec) },
    { name: `${fig.base}.svg`, contents: svg },
    { name: `${fig.base}.png`, contents: svgToPng(svg) },
  ];
}
