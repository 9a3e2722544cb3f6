// File output for the CLI, written atomically: every file goes to a temporary
// (`.<name>.<pid>.tmp` in the output folder) and is renamed into place, so a failure never
// leaves a half-written file. A file whose bytes are already the ones to write is left alone
// (not even its modification time changes), so watchers and build tools see no change.
// Output paths are checked first (a file where a folder should be, a folder where a file
// should be) and folders are made one level at a time, so a bad `-o` is one usage error and
// leaves nothing behind. Input: src/json-file.ts.

import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { usageError } from '../compiler/errors.js';

export { readJsonFile } from './json-file.js';

/** The temporary a file is staged in before it is renamed to `name` (in the same folder). */
export const tempName = (name: string): string => `.${basename(name)}.${process.pid}.tmp`;

/** Why a file-system call failed, in words. */
export function fsProblem(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  const words: Record<string, string> = {
    ENOENT: 'no such file or folder (or it cannot be created there)',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    ENOTDIR: 'a part of the path is not a folder',
    EISDIR: 'it is a folder',
    EEXIST: 'it already exists',
    ENAMETOOLONG: 'the name is too long',
    ELOOP: 'too many symbolic links',
  };
  if (code && words[code]) return words[code]!;
  return (e as Error)?.message ?? String(e);
}

const statOf = (path: string): Stats | undefined => {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
};

/** The nearest existing ancestor of `abs` (itself included) and the folders missing below it, top first. */
function existingAncestor(abs: string): { path: string; stats: Stats | undefined; missing: string[] } {
  const missing: string[] = [];
  let path = abs;
  for (;;) {
    const stats = statOf(path);
    if (stats) return { path, stats, missing };
    missing.unshift(path);
    const parent = dirname(path);
    if (parent === path) return { path, stats: undefined, missing };
    path = parent;
  }
}

/** An ancestor `abs` of the path the user gave (`userPath`, absolute `userAbs`), written as they would. */
const shown = (abs: string, userPath: string, userAbs: string): string => join(userPath, relative(userAbs, abs));

/**
 * Checks that `dir` (as given, resolved against `cwd`) is or can be a folder; nothing is
 * created. `target` is what messages say cannot be written (default: the folder).
 */
export function checkOutputDir(dir: string, cwd?: string, target = dir): void {
  const abs = resolve(cwd ?? '.', dir);
  const { path, stats } = existingAncestor(abs);
  if (stats && !stats.isDirectory()) {
    throw usageError(path === abs && target === dir ? `cannot write to ${dir}: it is a file, not a folder (-o names the output folder)` : `cannot write to ${target}: ${shown(path, dir, abs)} is a file, not a folder`);
  }
}

/** Checks that `file` (as given, resolved against `cwd`) can be an output file; nothing is created. */
export function checkOutputFile(file: string, cwd?: string): void {
  const abs = resolve(cwd ?? '.', file);
  const stats = statOf(abs);
  if (stats?.isDirectory()) throw usageError(`cannot write to ${file}: it is a folder (-o names the output file)`);
  if (stats && !stats.isFile()) throw usageError(`cannot write to ${file}: it is not a regular file`);
  if (!stats) checkOutputDir(dirname(file) || '.', cwd, file);
}

/** Makes `abs` and its missing parents one level at a time; returns the topmost folder made (to undo). */
function makeFolders(dir: string, abs: string): string | undefined {
  const { missing } = existingAncestor(abs);
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (e) {
      if (folder !== missing[0]) rmSync(missing[0]!, { recursive: true, force: true });
      throw usageError(`cannot create the output folder ${dir}: ${fsProblem(e)}`);
    }
  }
  return missing[0];
}

/** A file to write: its name in the output folder and its contents. */
export interface OutputFileContents {
  readonly name: string;
  readonly contents: string | Buffer;
}

/** True when the file at `abs` holds exactly `contents` (then it is not written again). */
export function sameBytes(abs: string, contents: string | Buffer): boolean {
  const stats = statOf(abs);
  const bytes = typeof contents === 'string' ? Buffer.from(contents, 'utf8') : contents;
  if (!stats?.isFile() || stats.size !== bytes.length) return false;
  try {
    return readFileSync(abs).equals(bytes);
  } catch {
    return false;
  }
}

/**
 * Writes the files of `files` that changed into `dir`, all of them or none: their contents go
 * to temporaries first, then are renamed into place. Files that already hold their contents
 * are left untouched. `dir` is the folder as the user gave it, resolved against `cwd`; the
 * paths returned are `dir`/name, as the user would write them.
 */
export function writeChangedFiles(dir: string, files: readonly OutputFileContents[], cwd?: string, target = dir): { written: string[]; unchanged: string[] } {
  const abs = resolve(cwd ?? '.', dir);
  checkOutputDir(dir, cwd, target);
  for (const f of files) {
    if (statOf(join(abs, f.name))?.isDirectory()) throw usageError(`cannot write ${join(dir, f.name)}: it is a folder`);
  }
  const changed = files.filter((f) => !sameBytes(join(abs, f.name), f.contents));
  const unchanged = files.filter((f) => !changed.includes(f)).map((f) => join(dir, f.name));
  if (changed.length > 0) stageAndRename(dir, abs, changed, target);
  return { written: changed.map((f) => join(dir, f.name)), unchanged };
}

/** Writes every file into `dir` or none (see writeChangedFiles); returns all their paths. */
export function writeFilesAtomically(dir: string, files: readonly OutputFileContents[], cwd?: string, target = dir): string[] {
  writeChangedFiles(dir, files, cwd, target);
  return files.map((f) => join(dir, f.name));
}

/** Stages every file as a temporary in `abs` (made if missing), then renames them all into place. */
function stageAndRename(dir: string, abs: string, files: readonly OutputFileContents[], target: string): void {
  const made = makeFolders(dir, abs);
  const staged: [string, string][] = [];
  const undo = () => {
    for (const [temp] of staged) rmSync(temp, { force: true });
    if (made) rmSync(made, { recursive: true, force: true });
  };
  try {
    for (const f of files) {
      const temp = join(abs, tempName(f.name));
      staged.push([temp, join(abs, f.name)]);
      writeFileSync(temp, f.contents);
    }
  } catch (e) {
    undo();
    throw usageError(`cannot write to ${target}: ${fsProblem(e)}`);
  }
  try {
    for (const [temp, target] of staged) renameSync(temp, target);
  } catch (e) {
    for (const [temp] of staged) rmSync(temp, { force: true });
    throw usageError(`cannot write to ${target}: ${fsProblem(e)}`);
  }
}

/** Writes one file atomically (`file` as given, resolved against `cwd`). */
export function writeFileAtomically(file: string, contents: string, cwd?: string): void {
  checkOutputFile(file, cwd);
  writeFilesAtomically(dirname(file) || '.', [{ name: basename(file), contents }], cwd, file);
}
