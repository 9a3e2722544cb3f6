// `phic compile`: spec files -> generated module files (or a dump of one compiler stage).
// Every spec is compiled before anything is written, so a bad spec leaves the output folder
// as it was; files whose bytes would not change are not rewritten. `-o -` prints the one
// module to standard output. The header names the spec by its path inside its project (the
// nearest folder above it with a package.json), or by its file name outside any project,
// never relative to the working folder: the same spec gives the same bytes whatever folder
// phic runs in.

import { existsSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { compileSpec, dumpStage, type CompileOptions, type CompileResult, type GeneratedFile, type Stage } from '../../compiler/pipeline.js';
import { readSpecFile } from '../../compiler/spec/read-file.js';
import { usageError } from '../../compiler/errors.js';
import { checkOutputDir, writeChangedFiles } from '../io.js';
import { processIo, type CliIo } from '../cli-io.js';
import type { Mode } from '../../compiler/plan.js';
import { implicitFromCli, type ImplicitCliOptions } from '../implicit-cli.js';

export interface CompileCommandOptions extends ImplicitCliOptions {
  map?: string;
  mode: Mode;
  K: number;
  truncate: number;
  dims?: Record<string, number>;
  /** Output folder; `-` prints the module to standard output. */
  out?: string;
  emit: 'js' | 'ts';
  dump?: Stage;
  backend?: 'cpu' | 'gpu';
  kernels?: 'wasm' | 'js';
  checkpoints?: number;
}

/** `-o -`: standard output rather than a folder. */
export const STDOUT = '-';

/**
 * How the generated header names the spec (`specFile` as given, relative to `cwd`): its path
 * from the nearest folder above it that holds a package.json, else its file name.
 */
export function sourceNameOf(specFile: string, cwd: string): string {
  const abs = resolve(cwd, specFile);
  for (let dir = dirname(abs); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return relative(dir, abs).split('\\').join('/');
    if (dirname(dir) === dir) return basename(abs);
  }
}

/** The compiler's options from the command's. */
export function compileOptions(opts: Omit<CompileCommandOptions, 'map' | 'out' | 'dump'>, sourceName: string): CompileOptions {
  return {
    mode: opts.mode, K: opts.K, truncate: opts.truncate, dims: opts.dims, emit: opts.emit,
    ...(opts.backend === 'gpu' ? { backend: 'gpu' as const } : {}),
    ...(opts.kernels === 'js' ? { kernels: 'js' as const } : {}),
    ...implicitFromCli(opts),
    ...(opts.checkpoints !== undefined ? { checkpoints: opts.checkpoints } : {}),
    sourceName,
  };
}

/** The module itself among a result's files: the .js or the .ts, not the declarations. */
export const moduleFile = (files: readonly GeneratedFile[]): GeneratedFile => files.find((f) => !f.name.endsWith('.d.ts'))!;

/** Fails when two specs would write the same file (two maps of one name). */
function checkDistinctNames(compiled: readonly { spec: string; result: CompileResult }[]): void {
  const owner = new Map<string, string>();
  for (const { spec, result } of compiled) {
    for (const f of result.files) {
      const first = owner.get(f.name);
      if (first !== undefined) throw usageError(`${first} and ${spec} both define a map named '${result.model.name}': both would write ${f.name}`);
      owner.set(f.name, spec);
    }
  }
}

function checkCommandLine(specs: readonly string[], opts: CompileCommandOptions): void {
  if (specs.length > 1 && opts.map !== undefined) throw usageError('--map picks a map of one spec file: give one spec file with --map, or list the maps in a config file (phic generate)');
  if (opts.out === STDOUT && specs.length > 1) throw usageError(`-o - prints one module to standard output: give one spec file, not ${specs.length}`);
  if (opts.out === STDOUT && opts.dump) throw usageError('--dump and -o - both print to standard output: give -o a folder, or leave it out');
}

export async function compileCommand(specFiles: string | readonly string[], opts: CompileCommandOptions, io: CliIo = processIo()): Promise<void> {
  const specs = typeof specFiles === 'string' ? [specFiles] : specFiles;
  checkCommandLine(specs, opts);
  const writes = opts.out !== STDOUT && (opts.out !== undefined || !opts.dump);
  if (writes) checkOutputDir(opts.out ?? '.', io.cwd);
  const compiled: { spec: string; result: CompileResult }[] = [];
  for (const spec of specs) {
    const source = await readSpecFile(spec, opts.map, io.cwd);
    compiled.push({ spec, result: compileSpec(source, compileOptions(opts, sourceNameOf(spec, io.cwd))) });
  }
  checkDistinctNames(compiled);
  if (opts.dump) for (const { result } of compiled) io.stdout(dumpStage(result, opts.dump) + '\n');
  if (opts.out === STDOUT) io.stdout(moduleFile(compiled[0]!.result.files).contents);
  if (writes) {
    const { written, unchanged } = writeChangedFiles(opts.out ?? '.', compiled.flatMap(({ result }) => result.files), io.cwd);
    for (const f of written) io.stderr(`wrote ${f}\n`);
    for (const f of unchanged) io.stderr(`unchanged ${f}\n`);
  }
}
