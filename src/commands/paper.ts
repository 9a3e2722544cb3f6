// `phic paper [-o dir] [--quick]`: runs the Appendix C experiment (src/lab/paper-run.ts) and writes
// report.md, results.json and the figures (vega-lite spec, SVG, PNG) into one folder.

import { processIo, type CliIo } from '../cli-io.js';
import { progress, writeOutputs } from './output.js';
import { FULL_CONFIG, QUICK_CONFIG } from '../lab/paper-config.js';
import { paperFiles } from '../lab/paper-report.js';
import { paperProgress, runPaper, taskCount, type PaperResults } from '../lab/paper-run.js';

export interface PaperOptions {
  readonly out: string;
  readonly quick?: boolean;
  /** Show progress on standard error (default true). */
  readonly progress?: boolean;
}

/** Runs the experiment and writes its files; returns the results and the paths written. */
export async function paperCommand(options: PaperOptions, io: CliIo = processIo()): Promise<{ results: PaperResults; written: string[] }> {
  const config = options.quick ? QUICK_CONFIG : FULL_CONFIG;
  const started = performance.now();
  const bar = options.progress === false ? undefined : progress(`phic paper (${config.label})`, taskCount(config), io);
  const counter = paperProgress(config, bar ? (done) => bar.tick(done) : undefined);
  try {
    const run = await runPaper(config, counter);
    const { files, results } = await paperFiles(run, { progress: counter, started });
    bar?.stop();
    const written = writeOutputs(options.out, files, io.cwd);
    if (options.progress !== false) {
      io.stderr(`phic paper: wrote ${written.length} files to ${options.out} in ${results.wallSeconds.toFixed(1)} s\n`);
      for (const c of results.claims) io.stderr(`  ${c.claim}: ${c.verdict}\n`);
    }
    return { results, written };
  } finally {
    bar?.stop();
  }
}

