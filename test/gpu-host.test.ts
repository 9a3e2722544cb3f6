// The GPU module's host runtime as embedded text (compiler/codegen/gpu/runtime-gpu.ts): the
// typed functions of compiler/codegen/gpu/host/*.ts, each by its own source text. The text
// declares the names other code relies on at column 0, refers to no name it does not declare
// but standard globals, runs on its own (outside the module's scope) to the same results bit
// for bit, and is the text the built compiler in dist/ embeds. Its kernel-by-kernel executor
// keeps GL textures by reference count: a stand-in GL backend checks each is deleted once, after
// its last use (test/gpu-gl.test.ts runs the real one where headlessgl is built).

import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPU_RUNTIME } from '../compiler/codegen/gpu/runtime-gpu.js';
import { topLevelNames } from '../compiler/codegen/top-level.js';
import { compileSpec } from '../compiler/pipeline.js';
import { createGpu, type GpuInstance } from '../runtime/gpu.js';
import { GPU_SAMPLES, loadGpuSample, type LoadedSample } from './helpers/gpu-samples.js';
import { fakeGl } from './helpers/fake-gl.js';
import { ROOT, removeTempDirs, tempDir } from './helpers/cli.js';

const NAMES = topLevelNames(GPU_RUNTIME);

describe('the GPU host runtime as text', () => {
  it('declares the names the module and its name scope rely on, each once, at column 0', () => {
    for (const n of ['CPU_BACKENDS', 'BACKEND_BY_CLASS', 'backendOf', 'requireGpuMessage', 'checkFloat32', 'instantiate']) expect(NAMES).toContain(n);
    expect(new Set(NAMES).size).toBe(NAMES.length);
    // every line at column 0 opens a declaration, closes one, or is a comment
    for (const line of GPU_RUNTIME.split('\n')) if (/^\S/.test(line)) expect(line).toMatch(/^(?:(?:async )?function \w+\(|const \w+ = |}$|\/\/ )/);
  });

  it('evaluates on its own, defining every name it declares', () => {
    const defined = new Function(`'use strict';\n${GPU_RUNTIME}\nreturn { ${NAMES.join(', ')} };`)() as Record<string, unknown>;
    expect(Object.keys(defined)).toEqual(NAMES);
    for (const n of NAMES) expect(defined[n]).toBeDefined();
  });

  it('refers to no name it does not declare, but standard globals', () => {
    const file = 'host-runtime.js';
    const options: ts.CompilerOptions = { allowJs: true, checkJs: true, noEmit: true, target: ts.ScriptTarget.ES2022, lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'], types: [] };
    const host = ts.createCompilerHost(options);
    const read = host.getSourceFile.bind(host);
    host.getSourceFile = (name, version, ...rest) => (name === file ? ts.createSourceFile(name, GPU_RUNTIME, version) : read(name, version, ...rest));
    const program = ts.createProgram([file], options, host);
    const unknown = program.getSemanticDiagnostics(program.getSourceFile(file))
      // Cannot find name 'x' (2304), ... Did you mean 'y'? (2552)
      .filter((d) => d.code === 2304 || d.code === 2552)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(unknown).toEqual([]);
  }, 60_000);

  it('is the text the built compiler embeds (tsc\'s output in dist/)', () => {
    const built = join(ROOT, 'dist', 'compiler', 'codegen', 'gpu', 'runtime-gpu.js');
    if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first`);
    // In a child process: vitest would transform the built file too.
    const script = `import { GPU_RUNTIME } from ${JSON.stringify(pathToFileURL(built).href)}; process.stdout.write(GPU_RUNTIME);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout, 'dist/ differs: rebuild with `npm run build` (or the tsc versions differ)').toBe(GPU_RUNTIME);
  });
});

type Variable = { name: string; shape: string[] };
type Instance = Record<string, (...args: unknown[]) => Promise<Record<string, unknown>>> & { meta: { state: Variable[]; params: Variable[] } };

/** Every entry point of a compiled module on `gpu`, in order, then destroy(). */
async function runEntries(file: string, gpu: unknown, sample: LoadedSample): Promise<Record<string, unknown>[]> {
  const { create } = (await import(pathToFileURL(file).href)) as { create(gpu: unknown, dims: unknown): Instance };
  const instance = create(gpu, sample.dims);
  const seeds = (vars: Variable[]) =>
    Object.fromEntries(vars.map((v, i) => [v.name, Array.from({ length: v.shape.reduce((n, d) => n * sample.dims[d]!, 1) }, (_, j) => ((i + 2 * j) % 7) / 7 - 0.4)]));
  const results = [
    await instance.iterate!(sample.inputs, sample.x0),
    await instance.jvp!(sample.inputs, seeds(instance.meta.params), sample.x0),
    await instance.jacobianForward!(sample.inputs, sample.x0),
    await instance.vjp!(sample.inputs, seeds(instance.meta.state), sample.x0),
    await instance.jacobianReverse!(sample.inputs, sample.x0),
    await instance.hypergradient!(sample.inputs, sample.x0),
  ];
  await instance.destroy!();
  return results;
}

/** Results as JSON, typed arrays as arrays. */
const asJson = (results: unknown) => JSON.stringify(results, (_, v: unknown) => (v instanceof Float64Array ? Array.from(v) : v));

/** Every number in the results, in order. */
function numbers(value: unknown, out: number[] = []): number[] {
  if (typeof value === 'number') out.push(value);
  else if (value instanceof Float64Array) out.push(...value);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) numbers(v, out);
  return out;
}

describe('the GPU host runtime run outside the module, and on a stand-in GL backend', () => {
  let gpu: GpuInstance;
  let sample: LoadedSample;
  let dir: string;
  let code: string;
  beforeAll(async () => {
    gpu = await createGpu('webasm');
    // bilevel has every entry point, hypergradient included
    sample = await loadGpuSample(GPU_SAMPLES.find((s) => s.folder === 'bilevel')!);
    code = compileSpec(sample.source, { mode: 'both', K: 6, truncate: 2, backend: 'gpu' }).moduleCode;
    dir = tempDir();
    writeFileSync(join(dir, 'module.mjs'), code);
  }, 60_000);
  afterAll(async () => {
    await gpu.destroy();
    removeTempDirs();
    delete (globalThis as { phicStandaloneHost?: unknown }).phicStandaloneHost;
  });

  it('gives the module\'s results bit for bit on every entry point when evaluated on its own', async () => {
    expect(code).toContain(GPU_RUNTIME);
    // The runtime evaluated in a function of its own: it cannot see the module's tables or helpers.
    (globalThis as { phicStandaloneHost?: unknown }).phicStandaloneHost = new Function(`'use strict';\n${GPU_RUNTIME}\nreturn instantiate;`)();
    const call = 'return instantiate({';
    expect(code.split(call)).toHaveLength(2);
    const standalone = code.replace(GPU_RUNTIME, '').replace(call, 'return globalThis.phicStandaloneHost({');
    expect(standalone).not.toMatch(/^function instantiate\(/m);
    writeFileSync(join(dir, 'standalone.mjs'), standalone);
    const want = asJson(await runEntries(join(dir, 'module.mjs'), gpu, sample));
    expect(want).toContain('"loss"');
    expect(asJson(await runEntries(join(dir, 'standalone.mjs'), gpu, sample))).toBe(want);
  }, 60_000);

  it('runs kernel by kernel on GL textures, deleting each exactly once, after its last use', async () => {
    const gl = fakeGl();
    const got = await runEntries(join(dir, 'module.mjs'), gl.gpu, sample);
    for (const r of got) expect(r).toMatchObject({ backend: 'headlessgl', executor: 'kernels', precision: 'float32' });
    // a read or a delete after the delete throws in the stand-in; none is left undeleted
    expect(gl.stats.created).toBeGreaterThan(100);
    expect(gl.stats.deleted).toBe(gl.stats.created);
    expect(gl.stats.live.size).toBe(0);
    const want = numbers(await runEntries(join(dir, 'module.mjs'), gpu, sample));
    const have = numbers(got);
    expect(have).toHaveLength(want.length);
    const scale = Math.max(...want.map(Math.abs));
    expect(Math.max(...have.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThan(1e-4 * scale);
  }, 60_000);
});
