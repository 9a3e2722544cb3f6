// The lab's commands on the command line (curse, truncation, bilevel, paper): their options
// only. Each action first checks that the lab's optional packages are installed (one usage
// error naming the missing ones otherwise), then loads its command, so neither the lab nor
// its packages are loaded when phic starts or compiles.

import { Option, type Command } from 'commander';
import { usageError } from '../../compiler/errors.js';
import { integerArg, integerListArg, nonNegativeArg, positiveArg } from '../cli-args.js';
import type { CliIo } from '../cli-io.js';
import { LAB_PACKAGES, requirePackages } from '../optional-packages.js';

type Options = Record<string, unknown>;

/** Checks what every lab command needs: its packages, and an output folder rather than `-`. */
function labReady(command: string, o: Options): void {
  requirePackages(`phic ${command}`, LAB_PACKAGES);
  if (o.out === '-') throw usageError(`phic ${command} writes several files: -o names a folder, not standard output`);
}

/** The options curse and truncation share, after their own. */
const tracingOptions = (cmd: Command) =>
  cmd
    .addOption(new Option('--measure <measure>', 'spectral norms of full Jacobians, or JVP/VJP norms along random directions (default: spectral when small)').choices(['spectral', 'directions']))
    .option('--directions <r>', 'random directions for --measure directions', integerArg('--directions'), 3)
    .option('--seed <s>', 'seed of the random directions', integerArg('--seed'), 1)
    .option('-o, --out <dir>', 'output folder', 'curse-out');

/** A command on a spec and its data, with the options they all start with. */
const specCommand = (program: Command, name: string, description: string, what: string, data: string) =>
  program
    .command(name)
    .description(description)
    .argument('<spec>', what)
    .option('--map <name>', 'which map, when the file has several')
    .requiredOption('--data <file>', data);

/** What every command on a spec passes on as given. */
const common = (o: Options) => ({
  map: o.map as string | undefined, data: o.data as string, K: o.iterations as number, seed: o.seed as number, out: o.out as string, name: o.name as string,
});

const DATA = 'JSON: { "<param or data name>": array, "x0": { "<state>": array } }';

function registerCurse(program: Command, io: CliIo): void {
  const cmd = specCommand(program, 'curse', 'trace the curse of unrolling: iterate, forward- and reverse-mode errors against k, with the bounds of Theorems 7–8', 'spec file (.json or .ts)', DATA);
  cmd
    .requiredOption('-K, --iterations <K>', 'number of iterations K', integerArg('K'))
    .option('--truncate <t>', 'truncation index t: late start of forward mode, stop of the reverse sweep', integerArg('--truncate'), 0)
    .addOption(new Option('--mode <mode>', 'which derivative errors to trace').choices(['forward', 'reverse', 'both']).default('both'))
    .option('--equal-cost <list>', 'also compare full and truncated unrolling at equal cost (1+ω)E for these budgets E, e.g. 20,40,80', integerListArg('--equal-cost'));
  tracingOptions(cmd)
    .option('--name <base>', 'base name of the output files', 'curse')
    .action(async (spec: string, o: Options) => {
      labReady('curse', o);
      const { curseCommand } = await import('./curse.js');
      await curseCommand(spec, {
        ...common(o), truncate: o.truncate as number, mode: o.mode as 'forward' | 'reverse' | 'both', measure: o.measure as never, directions: o.directions as number,
        equalCost: o.equalCost as number[] | undefined,
      }, io);
    });
}

function registerTruncation(program: Command, io: CliIo): void {
  const cmd = specCommand(program, 'truncation', 'compare truncation indices under a fixed budget (1+ω)K: measured final errors against the bound φ(Δ) and its minimiser', 'spec file (.json or .ts)', DATA);
  cmd
    .requiredOption('-K, --iterations <K>', 'iterations of the untruncated run (the budget is (1+ω)K)', integerArg('K'))
    .option('--omega <ω>', 'cost of one derivative step relative to one map evaluation', nonNegativeArg('--omega'), 2)
    .option('--deltas <list>', 'derivative iterations cut, Δ, e.g. 0,20,40 (default: 6 evenly spaced; the bound-optimal Δ is added)', integerListArg('--deltas'));
  tracingOptions(cmd)
    .option('--name <base>', 'base name of the output files', 'truncation')
    .action(async (spec: string, o: Options) => {
      labReady('truncation', o);
      const { truncationCommand } = await import('./truncation.js');
      await truncationCommand(spec, {
        ...common(o), omega: o.omega as number, deltas: o.deltas as number[] | undefined, measure: o.measure as never, directions: o.directions as number,
      }, io);
    });
}

function registerBilevel(program: Command, io: CliIo): void {
  const cmd = specCommand(program, 'bilevel', 'bilevel gradient descent on θ (Algorithm 1): hypergradients by reverse mode, cold against warm starts, compared with the implicit hypergradient', 'spec file (.json or .ts) with an outer objective', 'JSON: inner data, outer data, initial params, optional x0');
  cmd
    .requiredOption('-K, --iterations <K>', 'inner iterations K per outer step', integerArg('K'))
    .option('--truncate <t>', 'truncation index t of the backward sweep', integerArg('--truncate'), 0)
    .requiredOption('--steps <N>', 'outer steps N', integerArg('--steps'))
    .requiredOption('--eta <η>', 'outer step size η', positiveArg('--eta'))
    .option('--seed <s>', 'seed for params the data does not give', integerArg('--seed'), 1)
    .option('-o, --out <dir>', 'output folder', '.')
    .option('--name <base>', 'base name of the output files', 'bilevel')
    .option('--compare', 'also run warm-started descent once per hypergradient method at equal cost: full and truncated unrolling (t: --truncate, else bound-optimal) and --method implicit with each solver (warm-started adjoint, K − t VJPs); writes <name>-methods.*')
    .action(async (spec: string, o: Options) => {
      labReady('bilevel', o);
      const { bilevelCommand } = await import('./bilevel.js');
      await bilevelCommand(spec, { ...common(o), truncate: o.truncate as number, steps: o.steps as number, eta: o.eta as number, compare: !!o.compare }, io);
    });
}

function registerPaper(program: Command, io: CliIo): void {
  program
    .command('paper')
    .description("reproduce the paper's Appendix C experiment (least squares, u = (A, b)): figures, report.md with claims C1–C11, results.json")
    .option('-o, --out <dir>', 'output folder', 'paper')
    .option('--quick', 'a much smaller configuration (seconds), for tests')
    .action(async (o: Options) => {
      labReady('paper', o);
      const { paperCommand } = await import('./paper.js');
      await paperCommand({ out: o.out as string, quick: !!o.quick }, io);
    });
}

/** Adds the lab's commands to the program. */
export function registerLab(program: Command, io: CliIo): void {
  for (const register of [registerCurse, registerTruncation, registerBilevel, registerPaper]) register(program, io);
}
