#!/usr/bin/env node
// The phic command line: `compile`, `generate`, `run`, `doctor` and `playground`, and the lab's `curse`,
// `truncation`, `bilevel` and `paper`. `runCli(argv, io)` runs one command in-process and
// returns its exit code: it never calls process.exit and resolves paths against io.cwd, never
// process.cwd(). The bin at the bottom is a thin wrapper around it. Commands load their
// modules when they run, so `--help` is quick. Exit codes (src/report-error.ts): 0 success,
// 1 spec, data or numeric errors (or stale files for `generate --check`), 2 usage and config
// errors, 3 internal errors (bugs). User mistakes print one `phic: ...` line, never a stack.

import { addImplicitOptions, implicitFromCli } from './implicit-cli.js';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { STAGES, MODES } from '../compiler/stages.js';
import { PHIC_VERSION } from '../compiler/version.js';
import { integerArg, parseDims } from './cli-args.js';
import { processIo, type CliIo } from './cli-io.js';
import { registerLab } from './commands/lab-cli.js';
import { registerGenerate } from './commands/generate-cli.js';
import { reportError } from './report-error.js';

export { reportError } from './report-error.js';

/** Commander's `error: ...` text as one phic usage-error line. */
const usageLine = (text: string) => `phic: usage error: ${text.trim().replace(/^error:\s*/, '').replace(/\s*\n\s*/g, ' ')}\n`;

export function buildProgram(io: CliIo = processIo()): Command {
  const program = new Command('phic')
    .description('Compile update maps Φ(x, θ) into unrolled forward- and reverse-mode code')
    .version(PHIC_VERSION)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr, outputError: (text, write) => write(usageLine(text)) });

  const compile = program
    .command('compile')
    .description('write a module (.js + .d.ts, or .ts) specialised for K, the truncation index and the dims')
    .argument('<specs...>', 'spec files (.json or .ts)')
    .option('--map <name>', 'which map, when the file has several (one spec file only)')
    .addOption(new Option('--mode <mode>', 'derivative code to emit').choices(MODES).default('both'))
    .requiredOption('-K, --iterations <K>', 'number of iterations K', integerArg('K'))
    .option('--truncate <t>', 'truncation index t: derivatives over the last K - t iterations', integerArg('--truncate'), 0)
    .option('--dims <list>', 'bake dims in, e.g. m=100,n=40 (otherwise bound by create(dims))', parseDims)
    .option('-o, --out <dir>', 'output folder (default: current folder); - prints the module to standard output')
    .addOption(new Option('--emit <kind>', 'output language').choices(['js', 'ts']).default('js'))
    .addOption(new Option('--backend <backend>', 'cpu: JavaScript, float64; gpu: gpu.js kernels, float32 (create(gpu) takes your GPU instance)').choices(['cpu', 'gpu']).default('cpu'))
    .addOption(new Option('--kernels <kind>', 'cpu backend: wasm runs matrix-vector products in embedded WebAssembly SIMD kernels; js keeps every loop JavaScript').choices(['wasm', 'js']).default('wasm'))
    .addOption(new Option('--dump <stage>', 'print the IR after a stage').choices(STAGES))
    .option('--checkpoints <c>', 'reverse mode: keep c checkpoint states instead of a tape of K - t, recomputing the rest (binomial checkpointing)', integerArg('--checkpoints'));
  addImplicitOptions(compile)
    .action(async (specs: string[], o: Record<string, unknown>) => {
      const { compileCommand } = await import('./commands/compile.js');
      await compileCommand(specs, {
        map: o.map as string | undefined, mode: o.mode as never, K: o.iterations as number, truncate: o.truncate as number,
        dims: o.dims as Record<string, number> | undefined, out: o.out as string | undefined, emit: o.emit as 'js' | 'ts', dump: o.dump as never,
        backend: o.backend as 'cpu' | 'gpu', kernels: o.kernels as 'wasm' | 'js', ...implicitFromCli(o),
        ...(o.checkpoints !== undefined ? { checkpoints: o.checkpoints as number } : {}),
      }, io);
    });

  const run = program
    .command('run')
    .description('compile for the data, run, and print the result as JSON')
    .argument('<spec>', 'spec file (.json or .ts)')
    .option('--map <name>', 'which map, when the file has several')
    .requiredOption('--data <file>', 'JSON: { "<param or data name>": array, "x0": { "<state>": array } }')
    .addOption(new Option('--mode <mode>', 'forward (JVP) or reverse (VJP)').choices(['forward', 'reverse']).makeOptionMandatory())
    .requiredOption('-K, --iterations <K>', 'number of iterations K', integerArg('K'))
    .option('--truncate <t>', 'truncation index t', integerArg('--truncate'), 0)
    .option('--direction <file>', 'forward mode: JSON { "<param>": direction }')
    .option('--cotangent <file>', 'reverse mode: JSON { "<state>": cotangent on x_K }')
    .option('--jacobian', 'compute the full Jacobian dx_K/dθ (not with --direction or --cotangent)')
    .option('-o, --out <file>', 'write the result here instead of standard output (-: standard output)')
    .addOption(new Option('--backend <backend>', 'cpu (float64) or gpu (gpu.js kernels, float32)').choices(['cpu', 'gpu']).default('cpu'))
    .addOption(new Option('--gpu-mode <mode>', 'gpu.js mode for --backend gpu (gpu: let gpu.js choose)').choices(['gpu', 'headlessgl', 'webgl2', 'webgl', 'webgpu', 'webasm', 'cpu']).default('gpu'))
    .option('--require-gpu', 'with --backend gpu: fail instead of running on a CPU fallback (webasm, cpu)');
  addImplicitOptions(run)
    .action(async (spec: string, o: Record<string, unknown>) => {
      const { runCommand } = await import('./commands/run.js');
      await runCommand(spec, {
        map: o.map as string | undefined, data: o.data as string, mode: o.mode as never, K: o.iterations as number,
        truncate: o.truncate as number, direction: o.direction as string | undefined, cotangent: o.cotangent as string | undefined,
        jacobian: !!o.jacobian, out: o.out as string | undefined,
        backend: o.backend as 'cpu' | 'gpu', gpuMode: o.gpuMode as never, requireGpu: !!o.requireGpu, ...implicitFromCli(o),
      }, io);
    });
  program
    .command('doctor')
    .description('report which backends work here: WebAssembly SIMD, relaxed SIMD, worker threads, headless GL (gpu.js), WebGPU')
    .option('--json', 'print one JSON object: per backend, works (a boolean) and the reason when it does not')
    .action(async (o: { json?: boolean }) => {
      const { doctorCommand } = await import('./commands/doctor.js');
      await doctorCommand({ json: !!o.json }, io);
    });
  program
    .command('playground')
    .description('the playground page (type a spec, see the code, plot the curse, time CPU and GPU): prints its path, or serves it with --port')
    .option('--port <n>', 'serve the page on 127.0.0.1:<n> until stopped (0: any free port)', integerArg('--port'))
    .action(async (o: { port?: number }) => {
      const { playgroundCommand } = await import('./commands/playground.js');
      await playgroundCommand({ ...(o.port !== undefined ? { port: o.port } : {}) }, io);
    });
  registerGenerate(program, io);
  registerLab(program, io);
  return program;
}

/**
 * Runs one phic command (`argv` without `node` and the script) and returns its exit code.
 * Relative paths are resolved against `io.cwd`; output goes to `io.stdout` / `io.stderr`.
 * Parts of `io` left out are the process's own.
 */
export async function runCli(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const full: CliIo = {
    cwd: io.cwd ?? process.cwd(),
    stdout: io.stdout ?? ((text) => void process.stdout.write(text)),
    stderr: io.stderr ?? ((text) => void process.stderr.write(text)),
    stderrIsTTY: io.stderrIsTTY ?? (io.stderr ? false : !!process.stderr.isTTY),
    ...(io.signal ? { signal: io.signal } : {}),
  };
  try {
    await buildProgram(full).parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (e) {
    return reportError(e, full);
  }
}

/** The bin's entry: runCli on this process's arguments, folder and streams. */
export const main = (argv: readonly string[]): Promise<number> => runCli(argv, processIo());

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
  // a reader that stops early (`phic doctor | head -1`) closes the pipe: that ends the output
  // the way `head` meant, not with an EPIPE stack trace
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(process.exitCode ?? 0);
  });
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
