// `phic compile`: spec file -> generated module files (or a dump of one compiler stage).

import { relative } from 'node:path';
import { compileSpec, dumpStage, type CompileOptions, type Stage } from '../../compiler/pipeline.js';
import { readSpecFile } from '../../compiler/spec/read-file.js';
import { writeFilesAtomically } from '../io.js';
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

export async function compileCommand(specFile: string, opts: CompileCommandOptions): Promise<void> {
  const source = await readSpecFile(specFile, opts.map);
  const options: CompileOptions = {
    mode: opts.mode, K: opts.K, truncate: opts.truncate, dims: opts.dims, emit: opts.emit, ...(opts.backend === 'gpu' ? { backend: 'gpu' as const } : {}),
    ...(opts.kernels === 'js' ? { kernels: 'js' as const } : {}),
    sourceName: relative(process.cwd(), specFile).split('\\').join('/'),
  };
  const result = compileSpec(source, options);
  if (opts.dump) process.stdout.write(dumpStage(result, opts.dump) + '\n');
  if (opts.out !== undefined || !opts.dump) {
    const written = writeFilesAtomically(opts.out ?? '.', result.files);
    for (const f of written) process.stderr.write(`wrote ${f}\n`);
  }
}
