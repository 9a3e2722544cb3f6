// Reads a spec file from disk: picks the reader by extension (JSON, or TypeScript read
// statically) and selects the requested map when the file defines several.

import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { usageError } from '../errors.js';
import { readJsonSpec, selectMap } from './read-json.js';
import type { SpecSource } from './source.js';

const SUPPORTED = ['.json', '.ts', '.mts'];

/** Why a file could not be read, in words. */
function readProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a directory';
  if (code === 'EACCES') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}

async function readText(file: string, path: string): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text.startsWith('\uFEFF') ? text.slice(1) : text;
  } catch (err) {
    throw usageError(`cannot read spec file ${file}: ${readProblem(err)}`);
  }
}

async function parseSpec(text: string, file: string, ext: string): Promise<SpecSource> {
  if (ext === '.json') return readJsonSpec(text, file);
  // ts-morph is slow to load: only pay for it when a TypeScript spec is read.
  const { readTsSpec } = await import('./read-ts.js');
  return readTsSpec(text, file);
}

/**
 * Reads the spec file at `file` (as the user wrote the path, and as messages name it;
 * relative to `cwd` when given), with every map it defines.
 */
export async function readSpecSource(file: string, cwd?: string): Promise<SpecSource> {
  const ext = extname(file).toLowerCase();
  if (!SUPPORTED.includes(ext)) {
    throw usageError(`unsupported spec file ${file}: expected one of ${SUPPORTED.join(', ')}`);
  }
  const text = await readText(file, cwd === undefined ? file : resolve(cwd, file));
  return parseSpec(text, file, ext);
}

/** Reads the spec file at `file` (see readSpecSource) and selects map `mapName`. */
export async function readSpecFile(file: string, mapName?: string, cwd?: string): Promise<SpecSource> {
  return selectMap(await readSpecSource(file, cwd), mapName);
}
