// Figures for the lab: a small description of log-scale line panels becomes a vega-lite
// spec, vega renders it to SVG without a browser, and resvg rasterises the SVG to PNG with a
// bundled font (so text renders on machines without fonts, and output is reproducible).

import { createRequire } from 'node:module';
import type * as vegaLite from 'vega-lite';

export interface Series {
  readonly name: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
  /** 'solid' (default), 'dashed' or 'dotted'. */
  readonly stroke?: 'solid' | 'dashed' | 'dotted';
  /** Draw a marker at every point (for sparse series such as final errors). */
  readonly markers?: boolean;
}

export interface Panel {
  readonly title: string;
  readonly series: readonly Series[];
}

export interface Figure {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly panels: readonly Panel[];
  readonly logY?: boolean;
  readonly logX?: boolean;
}

const DASH = { solid: [1, 0], dashed: [6, 4], dotted: [2, 3] } as const;

/** The vega-lite spec of a figure: panels side by side, one colour and dash per series. */
export function figureSpec(fig: Figure): vegaLite.TopLevelSpec {
  const names = [...new Set(fig.panels.flatMap((p) => p.series.map((s) => s.name)))];
  const strokeOf = new Map(fig.panels.flatMap((p) => p.series.map((s) => [s.name, s.stroke ?? 'solid'] as const)));
  const rows = fig.panels.flatMap((p) =>
    p.series.flatMap((s) =>
      s.points.filter((pt) => Number.isFinite(pt.y) && (!fig.logY || pt.y > 0) && (!fig.logX || pt.x > 0)).map((pt) => ({ panel: p.title, series: s.name, x: pt.x, y: pt.y, marker: !!s.markers })),
    ),
  );
  const color = { field: 'series', type: 'nominal', sort: names, title: null, legend: { orient: 'bottom', columns: 3, labelLimit: 400 } } as const;
  const y = { field: 'y', type: 'quantitative', title: fig.yLabel, scale: fig.logY ? { type: 'log' } : {}, axis: fig.logY ? { format: '.0e' } : {} } as const;
  const x = { field: 'x', type: 'quantitative', title: fig.xLabel, ...(fig.logX ? { scale: { type: 'log' } } : {}) } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: fig.title,
    data: { values: rows },
    background: 'white',
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: fig.panels.map((p) => p.title) } },
    spec: {
      width: 360,
      height: 260,
      layer: [
        {
          mark: { type: 'line', clip: true },
          encoding: {
            x, y, color,
            strokeDash: { field: 'series', type: 'nominal', sort: names, scale: { domain: names, range: names.map((n) => [...DASH[strokeOf.get(n)!]]) }, legend: null },
            detail: { field: 'series' },
          },
        },
        { transform: [{ filter: 'datum.marker' }], mark: { type: 'point', filled: true, size: 30 }, encoding: { x, y, color } },
      ],
    },
    resolve: { scale: { y: 'shared' } },
  } as unknown as vegaLite.TopLevelSpec;
}

export async function renderSvg(spec: vegaLite.TopLevelSpec): Promise<string> {
  // vega is loaded when a figure is drawn, not when the command line starts.
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const vegaLite = vl;
  const quiet = vega.logger(vega.Error);
  const compiled = vegaLite.compile(spec, { logger: quiet }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

const require = createRequire(import.meta.url);
const FONT = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf');

export function svgToPng(svg: string): Buffer {
  const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const resvg = new Resvg(svg, { fitTo: { mode: 'zoom', value: 2 }, font: { fontFiles: [FONT], loadSystemFonts: false, defaultFontFamily: 'DejaVu Sans' } });
  return resvg.render().asPng();
}

/** A figure as its vega-lite spec (JSON), SVG and PNG. */
export async function renderFigure(fig: Figure): Promise<{ spec: string; svg: string; png: Buffer }> {
  const spec = figureSpec(fig);
  const svg = await renderSvg(spec);
  return { spec: JSON.stringify(spec, null, 1), svg, png: svgToPng(svg) };
}
