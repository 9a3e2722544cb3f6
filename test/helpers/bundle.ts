// Test helper: bundles a module for the browser with esbuild (platform browser, format esm,
// in memory), and lists every Node built-in the bundle's inputs import, so a test can assert
// there is none.

import { builtinModules } from 'node:module';
import { build, type Metafile } from 'esbuild';

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

export interface Bundle {
  readonly code: string;
  readonly metafile: Metafile;
  /** Each import of a Node built-in: who imports it, and what esbuild made of it ('(disabled):x' where the package's browser field turns it off). */
  readonly builtinImports: readonly { importer: string; builtin: string; resolved: string }[];
}

export async function bundleForBrowser(entry: string): Promise<Bundle> {
  const result = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent', minify: false });
  const metafile = result.metafile!;
  const builtinImports = Object.entries(metafile.inputs).flatMap(([file, input]) =>
    input.imports.filter((i) => BUILTINS.has(i.original ?? i.path) || i.path.startsWith('node:')).map((i) => ({ importer: file, builtin: i.original ?? i.path, resolved: i.path })),
  );
  return { code: result.outputFiles![0]!.text, metafile, builtinImports };
}
