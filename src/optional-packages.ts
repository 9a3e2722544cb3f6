// The packages phic runs without: the lab's plotting and linear-algebra stack and gpu.js are
// optional peer dependencies (package.json), so `npm install phic` brings only what
// `phic compile` needs. A command that needs them checks first and, when some are missing,
// fails with one usage error (exit 2) that names every missing package and the npm command
// that installs them, before it loads any of them.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { usageError } from '../compiler/errors.js';
import { packageRoot } from '../compiler/package-root.js';

/** What the lab commands (curse, truncation, bilevel, paper) load: figures, the LU solve, the progress bar. */
export const LAB_PACKAGES = ['vega', 'vega-lite', '@resvg/resvg-js', 'dejavu-fonts-ttf', 'ml-matrix', 'cli-progress'] as const;
/** What running a GPU module from phic (`phic run --backend gpu`, compile() without a GPU instance) loads. */
export const GPU_PACKAGES = ['gpu.js'] as const;

const require = createRequire(import.meta.url);

/**
 * True when `name` can be found from phic's own files, as an import from them would find it.
 * The package folder is looked for rather than resolved, because some packages (fonts) have
 * no entry point.
 */
export function isInstalled(name: string): boolean {
  const folders = (require.resolve.paths(name) ?? []).filter((dir) => /node_modules$/.test(dir));
  return folders.some((dir) => existsSync(join(dir, name, 'package.json')));
}

/** The version range package.json asks for (peerDependencies), for the install command. */
function wanted(name: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { peerDependencies?: Record<string, string> };
    const range = pkg.peerDependencies?.[name];
    return range ? `${name}@${range}` : name;
  } catch {
    return name;
  }
}

/** The error for missing packages: `what` needs them, and how to install them. */
export function missingPackagesError(what: string, missing: readonly string[]) {
  const list = missing.join(', ');
  const install = `npm install ${missing.map(wanted).join(' ')}`;
  const noun = missing.length === 1 ? 'the optional package' : 'the optional packages';
  return usageError(`${what} needs ${noun} ${list}, not installed: install ${missing.length === 1 ? 'it' : 'them'} with \`${install}\``);
}

/** Fails with one error naming every package of `names` that is not installed. */
export function requirePackages(what: string, names: readonly string[], installed: (name: string) => boolean = isInstalled): void {
  const missing = names.filter((name) => !installed(name));
  if (missing.length > 0) throw missingPackagesError(what, missing);
}
