#!/usr/bin/env node
// The phic command line: `compile` and `run`, and the lab's `curse`, `truncation`,
// `bilevel` and `paper`. Commands load their modules when they run, so `--help` is quick.
// Exit codes: 0 success, 1 spec, data or
// numeric errors, 2 usage errors, 3 internal errors (bugs). User mistakes never print a stack.

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { PhicError } from '../compiler/errors.js';
import { STAGES, MODES } from '../compiler/stages.js';
import { PHIC_VERSION } from '../compiler/version.js';
import { registerCurse } from './commands/curse.js';
import { registerTruncation } from './commands/truncation.js';
import { registerBilevel } from './commands/bilevel.js';
import { registerPaper } from './commands/paper.js';

const integer = (name: string) => (text: string) => {
  if (!/^[+-]?\d+$/.test(text.trim())) throw new InvalidArgumentError(`${name} must be an integer, got '${text}'`);
  return Number(text);
};

function parseDims(text: string): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const part of text.split(',')) {
    const m = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m) throw new InvalidArgumentError(`expected name=size pairs like m=100,n=40, got '${part}'`);
    dims[m[1]!] = Number(m[2]);
  }
  return dims;
}

export function buildProgram(): Command {
  const program = new Command('phic')
    .description('Compile update maps Φ(x, θ) into unrolled forward- and reverse-mode code')
    .version(PHIC_VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('compile')
    .description('write a module (.js + .d.ts, or .ts) specialised for K, the truncation index and the dims')
    .argument('<spec>', 'spec file (.json or .ts)')
    .option('--map <name>', 'which map, when the file has several')
    .addOption(new Option('--mode <mode>', 'derivative code to emit').choices(MODES).default('both'))
    .requiredOption('-K, --iterations <K>', 'number of iterations K', integer('K'))
    .option('--truncate <t>', 'truncation index t: derivatives over the last K - t iterations', integer('--truncate'), 0)
    .option('--dims <list>', 'bake dims in, e.g. m=100,n=40 (otherwise bound by create(dims))', parseDims)
    .option('-o, --out <dir>', 'output folder (default: current folder)')
    .addOption(new Option('--emit <kind>', 'output language').choices(['js', 'ts']).default('js'))
    .addOption(new Option('--backend <backend>', 'cpu: JavaScript, float64; gpu: gpu.js kernels, float32 (create(gpu) takes your GPU instance)').choices(['cpu', 'gpu']).default('cpu'))
    .addOption(new Option('--kernels <kind>', 'cpu backend: wasm runs matrix-vector products in embedded WebAssembly SIMD kernels; js keeps every loop JavaScript').choices(['wasm', 'js']).default('wasm'))
    .addOption(new Option('--dump <stage>', 'print the IR after a stage').choices(STAGES))
    .action(async (spec: string, o: Record<string, unknown>) => {
      const { compileCommand } = await import('./commands/compile.js');
      await compileCommand(spec, {
        map: o.map as string | undefined, mode: o.mode as never, K: o.iterations as number, truncate: o.truncate as number,
        dims: o.dims as Record<string, number> | undefined, out: o.out as string | undefined, emit: o.emit as 'js' | 'ts', dump: o.dump as never,
        backend: o.backend as 'cpu' | 'gpu', kernels: o.kernels as 'wasm' | 'js',
      });
    });

  program
    .command('run')
    .description('compile for the data, run, and print the result as JSON')
    .argument('<spec>', 'spec file (.json or .ts)')
    .option('--map <name>', 'which map, when the file has several')
    .requiredOption('--data <file>', 'JSON: { "<param or data name>": array, "x0": { "<state>": array } }')
    .addOption(new Option('--mode <mode>', 'forward (JVP) or reverse (VJP)').choices(['forward', 'reverse']).makeOptionMandatory())
    .requiredOption('-K, --iterations <K>', 'number of iterations K', integer('K'))
    .option('--truncate <t>', 'truncation index t', integer('--truncate'), 0)
    .option('--direction <file>', 'forward mode: JSON { "<param>": direction }')
    .option('--cotangent <file>', 'reverse mode: JSON { "<state>": cotangent on x_K }')
    .option('--jacobian', 'compute the full Jacobian dx_K/dθ')
    .option('-o, --out <file>', 'write the result here instead of standard output')
    .addOption(new Option('--backend <backend>', 'cpu (float64) or gpu (gpu.js kernels, float32)').choices(['cpu', 'gpu']).default('cpu'))
    .addOption(new Option('--gpu-mode <mode>', 'gpu.js mode for --backend gpu (gpu: let gpu.js choose)').choices(['gpu', 'headlessgl', 'webgl2', 'webgl', 'webgpu', 'webasm', 'cpu']).default('gpu'))
    .option('--require-gpu', 'with --backend gpu: fail instead of running on a CPU fallback (webasm, cpu)')
    .action(async (spec: string, o: Record<string, unknown>) => {
      const { runCommand } = await import('./commands/run.js');
      await runCommand(spec, {
        map: o.map as string | undefined, data: o.data as string, mode: o.mode as never, K: o.iterations as number,
        truncate: o.truncate as number, direction: o.direction as string | undefined, cotangent: o.cotangent as string | undefined,
        jacobian: !!o.jacobian, out: o.out as string | undefined,
        backend: o.backend as 'cpu' | 'gpu', gpuMode: o.gpuMode as never, requireGpu: !!o.requireGpu,
      });
    });
  for (const register of [registerCurse, registerTruncation, registerBilevel, registerPaper]) register(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof PhicError) {
      process.stderr.write(`phic: ${e.format()}\n`);
      return e.exitCode;
    }
    const err = e as Error & { category?: string };
    if (err?.name === 'PhicError' && err.category) {
      // Raised by generated code: bad data or non-finite iterates.
      process.stderr.write(`phic: ${err.category} error: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`phic: internal error (please report): ${err?.stack ?? String(e)}\n`);
    return 3;
  }
}

/** True when this file is the program being run (also through npm's bin symlink). */
function invokedDirectly(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
