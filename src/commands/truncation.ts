// `phic truncation`: budget reallocation (MATH.md §4.4–4.5). For each Δ the run does K + ωΔ
// iterations with truncation index t = (1 + ω)Δ, so all cost (1 + ω)K; measures the final
// forward and reverse errors, sets them beside the bound φ(Δ) of (22) and its minimiser, and
// writes <base>.json, <base>.md and the figure <base>.{vl.json,svg,png}.

import { InvalidArgumentError, Option, type Command } from 'commander';
import { usageError } from '../../compiler/errors.js';
import { minimisePhi } from '../lab/bounds.js';
import { defaultDeltas, sweepTruncation } from '../lab/truncation.js';
import type { Measure } from '../lab/trace.js';
import { progress, writeReport } from './output.js';
import { boundsApply, truncationFigure, truncationJson, truncationMarkdown, truncationStdout, type TruncationReportInput } from '../lab/curse-report.js';
import { checkBaseName, checkIterations, guardDivergence, integerOption, prepareLab, printWarnings } from './curse.js';
import { processIo, type CliIo } from '../cli-io.js';

export interface TruncationCommandOptions {
  map?: string;
  data: string;
  K: number;
  omega: number;
  deltas?: number[];
  measure?: Measure;
  directions: number;
  seed: number;
  out: string;
  name: string;
}

const nonNegativeNumber = (name: string) => (text: string) => {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${name} must be a non-negative number, got '${text}'`);
  return v;
};

const integerList = (name: string) => (text: string) => {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new InvalidArgumentError(`${name} must be a comma-separated list of non-negative integers, e.g. 0,20,40, got '${text}'`);
  return [...new Set(parts.map(Number))].sort((a, b) => a - b);
};

export async function truncationCommand(specFile: string, opts: TruncationCommandOptions, io: CliIo = processIo()): Promise<{ files: string[]; warnings: string[] }> {
  checkIterations(opts.K);
  const { K, omega } = opts;
  if (!(Number.isFinite(omega) && omega >= 0)) throw usageError(`--omega must be a non-negative number, got ${omega}`);
  if (!Number.isInteger(opts.directions) || opts.directions < 1) throw usageError(`--directions must be a positive integer, got ${opts.directions}`);
  const base = checkBaseName(opts.name);
  const deltas = [...(opts.deltas ?? defaultDeltas(K, omega))];
  for (const d of deltas) {
    if (!Number.isInteger(d) || d < 0 || d > K) throw usageError(`--deltas: Δ = ${d} must be an integer in [0, K = ${K}]`);
    if (!Number.isInteger(omega * d)) throw usageError(`--deltas: ωΔ = ${omega * d} must be an integer (ω = ${omega}, Δ = ${d}), so that K + ωΔ iterations can be run`);
  }

  // Constants over the longest run any Δ ≤ K can ask for.
  const lab = await prepareLab(specFile, opts.data, opts.map, K + Math.ceil(omega * K), io.cwd);
  printWarnings(lab.warnings, io);
  const bounds = boundsApply(lab.context);
  if (bounds) {
    // Measure the bound-optimal Δ too, so prediction and measurement can be compared.
    const predicted = minimisePhi(lab.constants, K, omega).delta;
    if (!deltas.includes(predicted)) deltas.push(predicted);
  }
  deltas.sort((a, b) => a - b);

  const bar = progress('truncation sweep', deltas.length, io);
  let sweep;
  try {
    sweep = await guardDivergence(
      `running the sweep (up to ${K + omega * Math.max(...deltas)} iterations)`,
      () => sweepTruncation(lab.problem, lab.ref, lab.constants, { K, omega, deltas, measure: opts.measure, directions: opts.directions, seed: opts.seed, onRun: (done) => bar.tick(done) }),
      lab.ref.rhoStar,
    );
  } finally {
    bar.stop();
  }
  const first = sweep.runs[0]!.trace;
  const input: TruncationReportInput = {
    ...lab.context,
    options: { K, omega, deltas, measure: first.measure, directions: first.directions, seed: opts.seed },
    sweep,
  };
  const files = await writeReport(opts.out, base, { json: truncationJson(input, lab.warnings), markdown: truncationMarkdown(input, lab.warnings), figure: truncationFigure(input), summary: truncationStdout(input) }, io);
  return { files, warnings: lab.warnings };
}

export function registerTruncation(program: Command, io: CliIo = processIo()): void {
  program
    .command('truncation')
    .description('compare truncation indices under a fixed budget (1+ω)K: measured final errors against the bound φ(Δ) and its minimiser')
    .argument('<spec>', 'spec file (.json or .ts)')
    .option('--map <name>', 'which map, when the file has several')
    .requiredOption('--data <file>', 'JSON: { "<param or data name>": array, "x0": { "<state>": array } }')
    .requiredOption('-K, --iterations <K>', 'iterations of the untruncated run (the budget is (1+ω)K)', integerOption('K'))
    .option('--omega <ω>', 'cost of one derivative step relative to one map evaluation', nonNegativeNumber('--omega'), 2)
    .option('--deltas <list>', 'derivative iterations cut, Δ, e.g. 0,20,40 (default: 6 evenly spaced; the bound-optimal Δ is added)', integerList('--deltas'))
    .addOption(new Option('--measure <measure>', 'spectral norms of full Jacobians, or JVP/VJP norms along random directions (default: spectral when small)').choices(['spectral', 'directions']))
    .option('--directions <r>', 'random directions for --measure directions', integerOption('--directions'), 3)
    .option('--seed <s>', 'seed of the random directions', integerOption('--seed'), 1)
    .option('-o, --out <dir>', 'output folder', 'curse-out')
    .option('--name <base>', 'base name of the output files', 'truncation')
    .action(async (spec: string, o: Record<string, unknown>) => {
      await truncationCommand(spec, {
        map: o.map as string | undefined, data: o.data as string, K: o.iterations as number, omega: o.omega as number,
        deltas: o.deltas as number[] | undefined, measure: o.measure as Measure | undefined, directions: o.directions as number,
        seed: o.seed as number, out: o.out as string, name: o.name as string,
      }, io);
    });
}
