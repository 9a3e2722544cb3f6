// `phic truncation`: budget reallocation (MATH.md §4.4–4.5). For each Δ the run does K + ωΔ
// iterations with truncation index t = (1 + ω)Δ, so all cost (1 + ω)K; measures the final
// forward and reverse errors, sets them beside the bound φ(Δ) of (22) and its minimiser, and
// writes <base>.json, <base>.md and the figure <base>.{vl.json,svg,png}. It recommends the
// minimiser of φ over Δ ≤ K − 1 (estimated constants only: a user has no J*); the measured
// best, which needs J*, is shown beside it as a check.

import { usageError } from '../../compiler/errors.js';
import { minimisePhi } from '../lab/bounds.js';
import { defaultDeltas, sweepTruncation } from '../lab/truncation.js';
import type { Measure } from '../lab/trace.js';
import { progress, writeReport } from './output.js';
import { boundsApply, truncationFigure, truncationJson, truncationMarkdown, truncationStdout, type TruncationReportInput } from '../lab/curse-report.js';
import { checkBaseName, checkIterations, guardDivergence, prepareLab, printWarnings } from './curse.js';
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
    const predicted = minimisePhi(lab.constants, K, omega, K - 1).delta;
    if (!deltas.includes(predicted)) deltas.push(predicted);
  }
  deltas.sort((a, b) => a - b);

  const bar = progress('truncation sweep', deltas.length, io);
  let sweep;
  try {
    sweep = await guardDivergence(
      `running the sweep (up to ${K + omega * Math.max(...deltas)} iterations)`,
      () => sweepTruncation(lab.problem, lab.ref, lab.constants, { K, omega, deltas, maxPredictedDelta: K - 1, measure: opts.measure, directions: opts.directions, seed: opts.seed, onRun: (done) => bar.tick(done) }),
      lab.ref.srStar,
    );
  } finally {
    bar.stop();
  }
  const first = sweep.runs[0]!.trace;
  const input: TruncationReportInput = {
    ...lab.context,
    jStar: { method: lab.ref.method, residual: lab.ref.solveResidual() },
    options: { K, omega, deltas, measure: first.measure, directions: first.directions, seed: opts.seed },
    sweep,
  };
  const files = await writeReport(opts.out, base, { json: truncationJson(input, lab.warnings), markdown: truncationMarkdown(input, lab.warnings), figure: truncationFigure(input), summary: truncationStdout(input) }, io);
  return { files, warnings: lab.warnings };
}

