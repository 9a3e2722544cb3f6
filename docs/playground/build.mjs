// Builds the playground page's script (npm run playground:build, after tsc): bundles
// src/main.js with phic's browser build into build/playground.js, one classic script (an ES
// module would not load from file://), and copies gpu.js' browser build beside it when gpu.js
// is installed. The output is not committed: it follows every compiler change, so it is built
// (by this script, by prepack for the package, and by the playground's test), never kept stale.

import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/** Builds into `out` (default: build/ beside this file); returns what it wrote. */
export async function buildPlayground(out = join(here, 'build')) {
  if (!existsSync(join(here, '..', '..', 'dist', 'src', 'browser.js'))) throw new Error('dist/src/browser.js is missing: run `npx tsc -p tsconfig.json` (or npm run build) first');
  mkdirSync(out, { recursive: true });
  await build({
    entryPoints: [join(here, 'src', 'main.js')],
    outfile: join(out, 'playground.js'),
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    legalComments: 'none',
    // Whitespace and syntax only: identifiers keep their names, as the GPU host runtime is
    // embedded in generated modules by its functions' source text (see compiler/codegen/gpu/runtime-gpu.ts).
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: 'warning',
    // import.meta.url is read only on Node's path (compiler/parse/mathjs.ts requires mathjs there), never in a page.
    logOverride: { 'empty-import-meta': 'silent' },
  });
  const written = ['playground.js'];
  let gpuJs;
  try {
    gpuJs = join(dirname(createRequire(import.meta.url).resolve('gpu.js/package.json')), 'dist', 'gpu-browser.min.js');
  } catch {
    gpuJs = undefined;
  }
  if (gpuJs && existsSync(gpuJs)) {
    copyFileSync(gpuJs, join(out, 'gpu-browser.min.js'));
    written.push('gpu-browser.min.js');
  }
  return written.map((f) => join(out, f));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const file of await buildPlayground(process.argv[2])) console.log(`wrote ${relative(process.cwd(), file)}`);
}
