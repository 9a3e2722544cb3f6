// Finds and reads the config of `phic generate`: `--config <file>`, or the one phic.config.ts,
// phic.config.mts or phic.config.json in the working folder. JSON is read with positions (and
// may carry `$schema`); a .ts config is read statically like a spec, `export default
// defineConfig({...})`, and never run. Problems are usage errors (no config, two configs, an
// unreadable file) or config errors at file:line:col.

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, extname, relative, resolve } from 'node:path';
import { PhicError, usageError } from '../../compiler/errors.js';
import { readJsonSpec } from '../../compiler/spec/read-json.js';
import type { SpecSource } from '../../compiler/spec/source.js';
import { fsProblem } from '../io.js';
import { resolveConfig, type Target } from './validate-config.js';

export const CONFIG_NAMES = ['phic.config.ts', 'phic.config.mts', 'phic.config.json'] as const;

/** A config file: where it is, how messages name it, and its targets. */
export interface LoadedConfig {
  readonly path: string;
  readonly shown: string;
  /** Its folder: paths in it, and the specs' names in the generated headers, are relative to it. */
  readonly dir: string;
  readonly targets: readonly Target[];
  /** Where a field of the config sits in the file, for messages. */
  readonly locate: SpecSource['locate'];
}

/** The config file's absolute path: `given` (relative to `cwd`), or the one in `cwd`. */
export function findConfig(cwd: string, given?: string): string {
  if (given !== undefined) {
    const ext = extname(given).toLowerCase();
    if (!['.ts', '.mts', '.json'].includes(ext)) throw usageError(`--config ${given}: a config file is .ts, .mts or .json`);
    return resolve(cwd, given);
  }
  const found = CONFIG_NAMES.filter((name) => existsSync(resolve(cwd, name)));
  if (found.length === 0) throw usageError(`no config file here (${CONFIG_NAMES.join(', ')}): create one, or give --config <file>`);
  if (found.length > 1) throw usageError(`two config files here (${found.join(' and ')}): keep one, or choose with --config <file>`);
  return resolve(cwd, found[0]!);
}

/** A spec reader's error about the config file, as a config error. */
const asConfigError = (e: unknown): unknown => (e instanceof PhicError && e.category === 'spec' ? new PhicError('config', e.message, e.context) : e);

async function parseConfig(text: string, path: string, shown: string): Promise<SpecSource> {
  try {
    if (extname(path).toLowerCase() === '.json') return readJsonSpec(text, shown);
    // ts-morph is slow to load: only pay for it when the config is TypeScript.
    const { readTsSpec } = await import('../../compiler/spec/read-ts.js');
    return readTsSpec(text, shown, 'defineConfig');
  } catch (e) {
    throw asConfigError(e);
  }
}

/** Reads and checks the config at `path`; messages name it relative to `cwd`. */
export async function loadConfig(path: string, cwd: string): Promise<LoadedConfig> {
  const shown = relative(cwd, path) || basename(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw usageError(`cannot read the config file ${shown}: ${fsProblem(e)}`);
  }
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const dir = dirname(path);
  const src = await parseConfig(text, path, shown);
  return { path, shown, dir, targets: resolveConfig(src, dir), locate: (field) => src.locate(field) };
}
