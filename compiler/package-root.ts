// The phic package root, found by walking up from this file (in the sources or in dist/).

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'phic') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the phic package root');
    dir = up;
  }
}
