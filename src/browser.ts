// phic's compiler for the browser (`import { compile } from 'phic/browser'`): compiles a spec
// given as an object or as JSON text, and loads the generated module from a blob: URL. It
// imports no node: module, directly or through the compiler, so it bundles with esbuild or
// Vite for the web (test/browser-entry.test.ts bundles it and runs it in Chromium).
//
// `.phi.ts` specs are not read here: they are read statically with ts-morph, which runs only in
// Node. Compile them with the CLI (`phic compile`, `phic generate`) or phic's Node API.

import { parse } from 'mathjs/number';
import { compileSpec, type CompileOptions, type GeneratedFile } from '../compiler/pipeline.js';
import { provideMathParse } from '../compiler/parse/mathjs.js';
import { readJsonSpec, selectMap } from '../compiler/spec/read-json.js';
import { inMemorySource, type SpecSource } from '../compiler/spec/source.js';
import { usageError } from '../compiler/errors.js';
import type { MapSpec } from '../compiler/spec/types.js';
import { importGenerated } from './load-module.js';

export { PhicError } from '../compiler/errors.js';
export { PHIC_VERSION } from '../compiler/version.js';
export type { CompileOptions, GeneratedFile } from '../compiler/pipeline.js';
export type { MapSpec } from '../compiler/spec/types.js';

provideMathParse(parse);

export interface BrowserCompileOptions extends CompileOptions {
  /** Which map, when the JSON text defines several (`maps: [...]`). */
  readonly map?: string;
}

/** What `generate()` returns: the files `phic compile` would write, and the module's text. */
export interface Generated {
  readonly files: readonly GeneratedFile[];
  /** The JavaScript module text (what `compile()` loads). */
  readonly code: string;
}

/**
 * A loaded module. A CPU module's `create(dims?, options?)` gives an instance (iterate, jvp,
 * vjp, ... as phic's Node `compile()` does); a GPU module's `create(gpu, dims?)` takes the page's
 * gpu.js instance (`new GPU()` from gpu.js' browser build).
 */
export interface Compiled<Module = GeneratedModule> extends Generated {
  readonly meta: Readonly<Record<string, unknown>>;
  readonly module: Module;
}

export interface GeneratedModule {
  readonly meta: Readonly<Record<string, unknown>>;
  // Generated modules type themselves in their .d.ts; here the arguments depend on the backend.
  create(...args: never[]): unknown;
}

/** Compiles a spec (an object, or JSON text) to files, without loading anything. */
export function generate(spec: MapSpec | string, options: BrowserCompileOptions): Generated {
  const { map, ...compileOptions } = options;
  const result = compileSpec(specSource(spec, map), compileOptions);
  return { files: result.files, code: result.moduleCode };
}

/** Compiles a spec (an object, or JSON text) and loads the generated JavaScript module. */
export async function compile<Module extends GeneratedModule = GeneratedModule>(spec: MapSpec | string, options: BrowserCompileOptions): Promise<Compiled<Module>> {
  const generated = generate(spec, options);
  const module = await importGenerated<Module>(generated.code);
  return { ...generated, meta: module.meta, module };
}

const SPEC_NAME = '<spec>';

function specSource(spec: MapSpec | string, map: string | undefined): SpecSource {
  if (typeof spec !== 'string') return selectMap(inMemorySource(spec), map);
  const text = spec.startsWith('\uFEFF') ? spec.slice(1) : spec;
  if (!/^\s*[{[]/.test(text)) {
    throw usageError('the browser compiler reads a spec object or JSON text; a .phi.ts spec is read with ts-morph, which runs only in Node (compile it with `phic compile` or `phic generate`)');
  }
  return selectMap(readJsonSpec(text, SPEC_NAME), map);
}
