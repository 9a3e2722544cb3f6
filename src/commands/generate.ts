// `phic generate`: runs the config (phic.config.ts or .json): compiles every target, then
// writes the files whose bytes changed, each atomically, and leaves the others untouched.
// `--check` writes nothing: it lists the files that are missing or differ and exits 1 when
// there are any (0 when everything is up to date), for CI. `--watch`: src/commands/watch.ts.

import { existsSync } from 'node:fs';
import { usageError } from '../../compiler/errors.js';
import { findConfig, loadConfig, type LoadedConfig } from '../config/read-config.js';
import { plannedFiles, shownPath, type PlannedFile } from '../config/outputs.js';
import { processIo, type CliIo } from '../cli-io.js';
import { sameBytes, writeChangedFiles } from '../io.js';
import { CommandExit } from '../report-error.js';

export interface GenerateCommandOptions {
  /** The config file (default: the one in the working folder). */
  config?: string;
  check?: boolean;
  watch?: boolean;
}

/** Writes the files that changed, folder by folder; returns how many were written and left alone. */
export function writePlanned(files: readonly PlannedFile[], io: CliIo): { written: number; unchanged: number } {
  const byFolder = new Map<string, PlannedFile[]>();
  for (const f of files) byFolder.set(f.folder, [...(byFolder.get(f.folder) ?? []), f]);
  let written = 0;
  for (const [folder, inFolder] of byFolder) {
    const result = writeChangedFiles(shownPath(io.cwd, folder), inFolder, io.cwd);
    for (const path of result.written) io.stderr(`wrote ${path}\n`);
    written += result.written.length;
  }
  return { written, unchanged: files.length - written };
}

/** Generates once from a loaded config; the summary line goes to stderr. */
export async function generateFrom(config: LoadedConfig, io: CliIo): Promise<void> {
  const files = await plannedFiles(config, io.cwd);
  const { written, unchanged } = writePlanned(files, io);
  io.stderr(`phic generate: ${files.length} files from ${config.targets.length} spec file${config.targets.length === 1 ? '' : 's'}: ${written} written, ${unchanged} unchanged\n`);
}

/** `--check`: lists the stale files; exit 1 when there are any. */
async function check(configPath: string, io: CliIo): Promise<void> {
  const files = await plannedFiles(await loadConfig(configPath, io.cwd), io.cwd);
  const stale = files.filter((f) => !sameBytes(f.path, f.contents));
  if (stale.length === 0) {
    io.stderr(`phic generate --check: all ${files.length} generated files are up to date\n`);
    return;
  }
  for (const f of stale) io.stderr(`stale ${shownPath(io.cwd, f.path)} (${existsSync(f.path) ? 'differs' : 'missing'})\n`);
  io.stderr(`phic: check failed: ${stale.length} of ${files.length} generated files are stale: run phic generate\n`);
  throw new CommandExit(1);
}

export async function generateCommand(opts: GenerateCommandOptions, io: CliIo = processIo()): Promise<void> {
  if (opts.check && opts.watch) throw usageError('--check and --watch cannot be given together');
  const configPath = findConfig(io.cwd, opts.config);
  if (opts.check) return check(configPath, io);
  if (!opts.watch) return generateFrom(await loadConfig(configPath, io.cwd), io);
  const { watchConfig } = await import('./watch.js');
  return watchConfig(configPath, io);
}
