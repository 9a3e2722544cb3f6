// The command-line options of `--method implicit` (phic compile, phic run): one definition of
// the flags and of how they become compile options. The compiler checks the values
// (compiler/implicit/options.ts), so a bad combination gets the same message from every entry.

import { Option, type Command } from 'commander';
import { METHODS, SOLVERS, type Method, type Solver } from '../compiler/implicit/options.js';
import { integerArg, nonNegativeArg } from './cli-args.js';

export interface ImplicitCliOptions {
  method?: Method;
  solver?: Solver;
  solverSteps?: number;
  restart?: number;
  tolerance?: number;
  warmStart?: boolean;
}

export function addImplicitOptions(command: Command): Command {
  return command
    .addOption(new Option('--method <method>', 'unrolled: derivatives through the iterations; implicit: a linear solve at x_K with the one-step JVP/VJP').choices(METHODS))
    .addOption(new Option('--solver <solver>', 'implicit: the solver of (I − ∂ₓΦ)(ᵀ) (default gmres; cg needs a symmetric positive definite I − ∂ₓΦ)').choices(SOLVERS))
    .option('--solver-steps <M>', 'implicit: the most products with ∂ₓΦ per solve (default 100; neumann runs exactly M)', integerArg('--solver-steps'))
    .option('--restart <m>', 'implicit, gmres: restart length (default 30)', integerArg('--restart'))
    .option('--tolerance <tol>', 'implicit: stop at this relative residual (default 1e-12; neumann: 0, all M steps)', nonNegativeArg('--tolerance'))
    .option('--warm-start', 'implicit: start each single-direction solve from the previous call\'s solution');
}

/** The implicit options given on the command line (only those given). */
export function implicitFromCli(o: { readonly [K in keyof ImplicitCliOptions]?: unknown }): ImplicitCliOptions {
  const out: ImplicitCliOptions = {};
  if (o.method !== undefined) out.method = o.method as Method;
  if (o.solver !== undefined) out.solver = o.solver as Solver;
  if (o.solverSteps !== undefined) out.solverSteps = o.solverSteps as number;
  if (o.restart !== undefined) out.restart = o.restart as number;
  if (o.tolerance !== undefined) out.tolerance = o.tolerance as number;
  if (o.warmStart) out.warmStart = true;
  return out;
}
