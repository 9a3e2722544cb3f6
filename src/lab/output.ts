// Lab results as files and text: a figure's three files (vega-lite spec, SVG, PNG) and
// Markdown tables. Writing them and showing progress is the commands' job
// (src/commands/output.ts).

import { renderFigure, type Figure } from './plot.js';

export interface OutputFile {
  readonly name: string;
  readonly contents: string | Buffer;
}

/** The files of one figure: `<base>.vl.json`, `<base>.svg`, `<base>.png`. */
export async function figureFiles(base: string, figure: Figure): Promise<OutputFile[]> {
  const r = await renderFigure(figure);
  return [
    { name: `${base}.vl.json`, contents: r.spec },
    { name: `${base}.svg`, contents: r.svg },
    { name: `${base}.png`, contents: r.png },
  ];
}

/** A Markdown table; numbers are printed with `digits` significant digits. */
export function markdownTable(header: readonly string[], rows: readonly (readonly (string | number)[])[], digits = 4): string {
  const cell = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toPrecision(digits)) : v);
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}
