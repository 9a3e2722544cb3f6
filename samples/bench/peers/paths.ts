// Where things are: the package root, this folder's sources (the Python scripts are not
// compiled, so they are read from samples/bench/peers/), and the folder the JS peers are
// installed into on demand (kept out of the project's dependencies and lock file).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../../../compiler/package-root.js';

export { packageRoot };


export const ROOT = packageRoot();
export const SOURCE_DIR = join(ROOT, 'samples', 'bench', 'peers');
/**
 * The JS peers are installed with `npm install --no-save --prefix` into this folder, not into
 * the project's node_modules: a project `npm install` prunes packages it does not list, and
 * this folder (a dot-folder inside node_modules) survives it; package.json and the lock file
 * stay untouched.
 */
export const PEER_DEPS_DIR = join(ROOT, 'node_modules', '.cache', 'phic-peers');

/** require() rooted at the peers' folder (TF.js and jax-js both ship CommonJS builds). */
export function peerRequire(name: string): unknown {
  return createRequire(join(PEER_DEPS_DIR, 'package.json'))(name);
}

export function peerVersion(name: string): string | undefined {
  try {
    const file = join(PEER_DEPS_DIR, 'node_modules', ...name.split('/'), 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** The generated modules phic-compile.ts writes into a workload's folder: the default, and --kernels js. */
export const PHIC_MODULE = 'phic-module.mjs';
export const PHIC_JS_MODULE = 'phic-module-js.mjs';
