// Loads generated module text as an ES module in this process. The text is written to a
// content-addressed file in the OS temp folder and imported from there: generated code is
// loaded as a module, never evaluated from spec text.

import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, existsSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export async function importGenerated<T>(code: string): Promise<T> {
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 32);
  const dir = join(tmpdir(), 'phic-modules');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${hash}.mjs`);
  if (!existsSync(file)) {
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, code);
    renameSync(partial, file);
  }
  return (await import(pathToFileURL(file).href)) as T;
}
