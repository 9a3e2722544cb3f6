// What the lab commands write and show: report files written atomically into one folder
// (all or none), one report's files (JSON, Markdown, figure) together with its summary, and a
// progress bar for long runs. The lab itself only builds the files (src/lab/output.ts).

import cliProgress from 'cli-progress';
import { writeFilesAtomically } from '../io.js';
import { processIo, type CliIo } from '../cli-io.js';
import { figureFiles, type OutputFile } from '../lab/output.js';
import type { Figure } from '../lab/plot.js';

/** Writes the files into `dir` (relative to `cwd` when given), all or none. */
export function writeOutputs(dir: string, files: readonly OutputFile[], cwd?: string): string[] {
  return writeFilesAtomically(dir, files as { name: string; contents: string }[], cwd);
}

/** One report: `<base>.json`, `<base>.md`, its figure and any extra ones (`<base>-<suffix>.*`), written together; prints its summary and the files. */
export async function writeReport(dir: string, base: string, report: { json: unknown; markdown: string; figure: Figure; summary: string; extraFigures?: Readonly<Record<string, Figure>> }, io: CliIo = processIo()): Promise<string[]> {
  const extra = await Promise.all(Object.entries(report.extraFigures ?? {}).map(([suffix, fig]) => figureFiles(`${base}-${suffix}`, fig)));
  const files = writeOutputs(dir, [
    { name: `${base}.json`, contents: JSON.stringify(report.json, null, 1) + '\n' },
    { name: `${base}.md`, contents: report.markdown },
    ...(await figureFiles(base, report.figure)),
    ...extra.flat(),
  ], io.cwd);
  io.stdout(report.summary);
  io.stdout(`wrote ${files.join(', ')}\n`);
  return files;
}

/** A progress bar on a terminal; plain occasional lines otherwise (CI logs). */
export function progress(label: string, total: number, io: CliIo = processIo()): { tick(done: number): void; stop(): void } {
  if (!io.stderrIsTTY || process.env.CI) {
    let last = -1;
    return {
      tick(done) {
        const pct = Math.floor((100 * done) / total);
        if (pct >= last + 10 || done === total) {
          last = pct;
          io.stderr(`${label}: ${done}/${total} (${pct}%)\n`);
        }
      },
      stop() {},
    };
  }
  const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {value}/{total} {percentage}% | ETA {eta_formatted}`, stream: process.stderr }, cliProgress.Presets.shades_classic);
  bar.start(total, 0);
  return { tick: (done) => bar.update(done), stop: () => bar.stop() };
}
