// `phic compile`: spec file -> generated module files (or a dump of one compiler stage).
// The header names the spec by its path inside its project (the nearest folder above it
// with a package.json), or by its file name outside any project, never relative to the
// working folder: the same spec gives the same bytes whatever folder phic runs in.

import { existsSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { compileSpec, dumpStage, type CompileOptions, type Stage } from '../../compiler/pipeline.js';
import { readSpecFile } from '../../compiler/spec/read-file.js';
import { checkOutputDir, writeFilesAtomically } from '../io.js';
import { processIo, type CliIo } from '../cli-io.js';
import type { Mode } from '../../compiler/plan.js';

export interface CompileCommandOptions {
  map?: string;
  mode: Mode;
  K: number;
  truncate: number;
  dims?: Record<string, number>;
  out?: string;
  emit: 'js' | 'ts';
  dump?: Stage;
  backend?: 'cpu' | 'gpu';
  kernels?: 'wasm' | 'js';
}

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

export async function compileCommand(specFile: string, opts: CompileCommandOptions, io: CliIo = processIo()): Promise<void> {
  const writes = opts.out !== undefined || !opts.dump;
  if (writes) checkOutputDir(opts.out ?? '.', io.cwd);
  const source = await readSpecFile(specFile, opts.map, io.cwd);
  const options: CompileOptions = {
    mode: opts.mode, K: opts.K, truncate: opts.truncate, dims: opts.dims, emit: opts.emit, ...(opts.backend === 'gpu' ? { backend: 'gpu' as const } : {}),
    ...(opts.kernels === 'js' ? { kernels: 'js' as const } : {}),
    sourceName: sourceNameOf(specFile, io.cwd),
  };
  const result = compileSpec(source, options);
  if (opts.dump) io.stdout(dumpStage(result, opts.dump) + '\n');
  if (writes) {
    const written = writeFilesAtomically(opts.out ?? '.', result.files, io.cwd);
    for (const f of written) io.stderr(`wrote ${f}\n`);
  }
}
