// File input and output for the CLI: JSON files read with errors that name the file and
// position, and output written atomically (a temporary file renamed into place), so a
// failure never leaves a half-written file behind.

import { mkdirSync, readFileSync, renameSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { parse, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { dataError, usageError } from '../compiler/errors.js';

export function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw usageError(`cannot read ${what} file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  const errors: ParseError[] = [];
  const value: unknown = parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  if (errors.length) {
    const { error, offset } = errors[0]!;
    const lines = text.slice(0, offset).split('\n');
    const location = { file, line: lines.length, column: lines[lines.length - 1]!.length + 1 };
    throw dataError(`malformed JSON in ${what} file: ${printParseErrorCode(error)}`, { location });
  }
  return value;
}

/** Writes every file or none: all contents go to temporaries first, then are renamed into place. */
export function writeFilesAtomically(dir: string, files: readonly { name: string; contents: string | Buffer }[]): string[] {
  mkdirSync(dir, { recursive: true });
  const staged: [string, string][] = [];
  try {
    for (const f of files) {
      const target = join(dir, f.name);
      const temp = join(dir, `.${basename(f.name)}.${process.pid}.tmp`);
      writeFileSync(temp, f.contents);
      staged.push([temp, target]);
    }
  } catch (e) {
    for (const [temp] of staged) rmSync(temp, { force: true });
    throw usageError(`cannot write to ${dir}: ${(e as Error).message}`);
  }
  for (const [temp, target] of staged) renameSync(temp, target);
  return staged.map(([, target]) => target);
}

export function writeFileAtomically(file: string, contents: string): void {
  writeFilesAtomically(dirname(file) || '.', [{ name: basename(file), contents }]);
}
