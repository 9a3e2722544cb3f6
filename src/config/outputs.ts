// Compiles a config's targets into the files they generate, in config order; nothing is
// written here. Each header names its spec by the path from the config file's folder, so the
// bytes are the same from whatever folder phic runs in. Two targets that would write one
// file, or a file that would overwrite a spec or the config, are config errors.

import { join, relative, sep } from 'node:path';
import { configError } from '../../compiler/errors.js';
import { compileSpec } from '../../compiler/pipeline.js';
import { everyMap, selectMap } from '../../compiler/spec/read-json.js';
import { readSpecSource } from '../../compiler/spec/read-file.js';
import type { SpecSource } from '../../compiler/spec/source.js';
import { compileOptions } from '../commands/compile.js';
import type { LoadedConfig } from './read-config.js';
import type { Target } from './validate-config.js';

/** A file a target generates. */
export interface PlannedFile {
  /** Its output folder and name, and both joined (absolute). */
  readonly folder: string;
  readonly name: string;
  readonly path: string;
  readonly contents: string;
  /** The target it comes from (`generate.0`). */
  readonly field: string;
}

/** `path` as the user would type it in `cwd`. */
export const shownPath = (cwd: string, path: string): string => relative(cwd, path) || '.';

const mapName = (src: SpecSource): unknown => (src.value as { name?: unknown } | null)?.name;

/** The maps a target asks for, each checked to be in its spec file. */
function targetMaps(src: SpecSource, target: Target, config: LoadedConfig): SpecSource[] {
  if (!target.maps) return everyMap(src);
  const defined = everyMap(src).map(mapName);
  for (const name of target.maps) {
    if (!defined.includes(name)) {
      throw configError(`no map named '${name}' in ${target.spec} (it defines ${defined.join(', ')})`, { field: `${target.field}.maps`, location: config.locate(`${target.field}.maps`) });
    }
  }
  return target.maps.map((name) => selectMap(src, name));
}

/** One target's files. */
async function targetFiles(target: Target, config: LoadedConfig, cwd: string): Promise<PlannedFile[]> {
  const src = await readSpecSource(shownPath(cwd, target.specPath), cwd);
  const sourceName = relative(config.dir, target.specPath).split(sep).join('/');
  return targetMaps(src, target, config).flatMap((map) =>
    compileSpec(map, compileOptions(target.options, sourceName)).files.map((f) => ({
      folder: target.outPath, name: f.name, path: join(target.outPath, f.name), contents: f.contents, field: target.field,
    })),
  );
}

/** Fails when two targets write one file, or a target would overwrite an input. */
function checkPaths(files: readonly PlannedFile[], config: LoadedConfig, cwd: string): void {
  const inputs = new Set([config.path, ...config.targets.map((t) => t.specPath)]);
  const owner = new Map<string, string>();
  for (const f of files) {
    const at = { field: f.field, location: config.locate(f.field) };
    if (inputs.has(f.path)) throw configError(`${f.field} would overwrite its input ${shownPath(cwd, f.path)}: give it another out folder`, at);
    const first = owner.get(f.path);
    if (first !== undefined) throw configError(`${f.field} and ${first} would both write ${shownPath(cwd, f.path)} (two maps of one name in one folder): give one another out folder`, at);
    owner.set(f.path, f.field);
  }
}

/** Every file the config generates, in config order; messages name paths relative to `cwd`. */
export async function plannedFiles(config: LoadedConfig, cwd: string): Promise<PlannedFile[]> {
  const files: PlannedFile[] = [];
  for (const target of config.targets) files.push(...(await targetFiles(target, config, cwd)));
  checkPaths(files, config, cwd);
  return files;
}
