// Exact types, checked by the TypeScript compiler: small programs that use compile() with
// literal specs, generated .d.ts files and --emit ts modules are written into a temporary
// folder and type-checked under strict in one ts.Program. Correct uses must give no
// diagnostics, and every `@ts-expect-error` line must really be an error (an unused directive
// is itself a diagnostic, so a type that got looser fails the test).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSpec, type CompileOptions } from '../compiler/pipeline.js';
import { inMemorySource } from '../compiler/spec/source.js';
import type { MapSpec } from '../compiler/spec/types.js';
import type { SpecSource } from '../compiler/spec/source.js';
import { readSpecFile } from '../compiler/spec/read-file.js';
import { ROOT, removeTempDirs, tempDir } from './helpers/cli.js';
import { createGpu } from '../runtime/gpu.js';

const INDEX = JSON.stringify(join(ROOT, 'src', 'index.js'));

/** Programs that use compile() with literal specs, by file name. */
const API_PROGRAMS: Record<string, string> = {
  'api-ridge.ts': `
import { compile, defineMap, type Matrix } from ${INDEX};
const spec = defineMap({
  name: 'ridge',
  state: { x: 'n' },
  params: { theta: 'n', lambda: '' },
  data: { A: 'm,n', b: 'm' },
  update: { x: "x - 0.1 * (A' * (A * x - b) + lambda * theta .* x)" },
});
export async function run() {
  const ridge = await compile(spec, { mode: 'both', K: 200, truncate: 20 });
  const k: 200 = ridge.meta.K;
  const t: 20 = ridge.meta.truncate;
  const mode: 'both' = ridge.meta.mode;
  const dims: null = ridge.meta.dims;
  // @ts-expect-error: K is the literal 200
  const wrongK: 201 = ridge.meta.K;
  const map = ridge.create({ m: 3, n: 2 });
  const inputs = { A: [[1, 0.5], [0, 1], [0.2, 0.1]], b: new Float64Array(3), theta: [0.1, 0.2], lambda: 0.5 };
  const flat = { A: new Float64Array(6), b: [1, 2, 3], theta: new Float32Array(2), lambda: 1 };
  const { state, gradient, x0Gradient } = map.vjp(inputs, { x: [1, 1] });
  const g: Float64Array = gradient.theta;
  const l: Float64Array = gradient.lambda;
  const x: Float64Array = state.x;
  const x0: Float64Array = x0Gradient.x;
  const { tangent } = map.jvp(flat, { theta: [1, 0], x: new Float64Array(2) });
  const tx: Float64Array = tangent.x;
  const block: Matrix = map.jacobianReverse(inputs).jacobian.x.theta;
  const x0Block: Matrix = map.jacobianForward(inputs, { x: [0, 0] }).jacobian.x.lambda;
  map.iterate(inputs, undefined, (o) => { if (o.phase === 'backward') void o.gradient.theta; });
  // @ts-expect-error: a typo in a result name
  gradient.thetaa;
  // @ts-expect-error: an unknown input name
  map.iterate({ ...inputs, thetaa: [1, 2] });
  // @ts-expect-error: a matrix where a vector is expected
  map.iterate({ ...inputs, theta: [[1, 2]] });
  // @ts-expect-error: a vector where a scalar is expected
  map.iterate({ ...inputs, lambda: [1] });
  // @ts-expect-error: an input is missing
  map.iterate({ A: inputs.A, b: inputs.b, theta: inputs.theta });
  // @ts-expect-error: dims are needed when they are not baked in
  ridge.create();
  // @ts-expect-error: an unknown dim
  ridge.create({ m: 3, n: 2, p: 1 });
  return [k, t, mode, dims, wrongK, g, l, x, x0, tx, block, x0Block];
}
`,
  'api-implicit.ts': `
import { compile, type SolveReport } from ${INDEX};
export async function run() {
  const compiled = await compile(
    { name: 'f', state: { x: 'n' }, params: { theta: 'n' }, update: { x: 'x - 0.1 * (x - theta)' } },
    { mode: 'reverse', K: 50, method: 'implicit', solver: 'cg', dims: { n: 3 } },
  );
  const map = compiled.create();
  const r = map.vjp({ theta: [1, 2, 3] }, { x: [1, 0, 0] });
  const report: SolveReport = r.solve;
  const products: number = r.solve.products;
  const unrolled = (await compile({ name: 'g', state: { x: 'n' }, params: { theta: 'n' }, update: { x: 'x - 0.1 * (x - theta)' } }, { mode: 'reverse', K: 50, dims: { n: 3 } })).create();
  // @ts-expect-error: an unrolled module's results carry no solve report
  unrolled.vjp({ theta: [1, 2, 3] }, { x: [1, 0, 0] }).solve;
  return [report, products];
}
`,
  'api-forward.ts': `
import { compile } from ${INDEX};
export async function run() {
  const compiled = await compile(
    { name: 'f', state: { x: 'n' }, params: { theta: 'n' }, update: { x: 'x - 0.1 * (x - theta)' } },
    { mode: 'forward', K: 5, dims: { n: 3 } },
  );
  const dims: { readonly n: 3 } = compiled.meta.dims;
  const map = compiled.create();
  const t: Float64Array = map.jvp({ theta: [1, 2, 3] }, { theta: [1, 0, 0] }).tangent.x;
  // @ts-expect-error: a forward-only module has no vjp
  map.vjp({ theta: [1, 2, 3] }, { x: [1, 0, 0] });
  // @ts-expect-error: nor outerAt without an outer objective
  map.outerAt;
  return [dims, t];
}
`,
  'api-outer-batches.ts': `
import { compile, defineMap } from ${INDEX};
const spec = defineMap({
  name: 'hc',
  state: { w: 'd' },
  params: { Theta: 'B,b' },
  data: { X: 'b,d', y: 'b', onehot: 'B' },
  batches: { count: 'B', data: ['X', 'y'] },
  update: { w: "w - (X' * (sigmoid(Theta' * onehot) .* (sigmoid(X * w) - y)) / b)" },
  outer: { data: { yv: 'd' }, objective: 'sum((w - yv).^2)' },
});
export async function run() {
  const map = (await compile(spec, { mode: 'reverse', K: 4 })).create({ B: 2, b: 3, d: 2 });
  const inputs = { Theta: new Float64Array(6), X: [[[1, 0], [0, 1], [1, 1]], new Float64Array(6)], y: new Float64Array(6), onehot: [1, 0] };
  const h = map.hypergradient({ ...inputs, yv: [1, 2] });
  const loss: number = h.loss + map.outerAt(inputs, { w: [0, 0] }).loss;
  const g: Float64Array = h.gradient.Theta;
  // @ts-expect-error: a reverse-only module has no jvp
  map.jvp;
  // @ts-expect-error: 'X' is data, not a param: the gradient has no entry for it
  h.gradient.X;
  return [loss, g];
}
`,
  'api-gpu.ts': `
import { compile, defineMap, type GpuCompileOptions } from ${INDEX};
declare const gpu: NonNullable<GpuCompileOptions['gpu']>;
const spec = defineMap({ name: 'g', state: { x: 'n' }, params: { theta: 'n' }, update: { x: 'x - 0.1 * (x - theta)' } });
export async function run() {
  const compiled = await compile(spec, { mode: 'reverse', K: 7, backend: 'gpu', gpu, dims: { n: 2 } });
  const k: 7 = compiled.meta.K;
  const precision: 'float32' = compiled.meta.precision;
  const map = compiled.create();
  const r = await map.vjp({ theta: [1, 2] }, { x: [1, 0] });
  const g: Float64Array = r.gradient.theta;
  const backend: string = r.backend;
  // @ts-expect-error: a typo in a result name
  r.gradient.thetaa;
  // @ts-expect-error: a reverse-only module has no jvp
  map.jvp;
  return [k, precision, g, backend];
}
`,
  'api-loose.ts': `
import { compile, type MapSpec, type CompileOptions } from ${INDEX};
declare const spec: MapSpec;
declare const options: CompileOptions;
export async function run() {
  // a widened spec or mode: the loose types, as before
  const map = (await compile(spec, options)).create({ n: 2 });
  const g: Float64Array | undefined = map.vjp?.({ theta: [1, 2], anything: 1 }, { x: [1] }).gradient.whatever;
  const looseMode = (await compile({ name: 'f', state: { x: 'n' }, params: { theta: 'n' }, update: { x: 'x' } }, options)).create({ n: 1 });
  const t = looseMode.jvp?.({ theta: [1] }, { theta: [1] }).tangent.x;
  const meta: Record<string, unknown> = (await compile(spec, { mode: 'both', K: 3 })).meta;
  return [g, t, meta];
}
`,
};

/** Diagnostics of the given files (only theirs, not of the sources they import), one line each. */
function diagnostics(dir: string, files: Record<string, string>): string[] {
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  const paths = Object.entries(files).map(([name, text]) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  });
  const program = ts.createProgram(paths, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2023.d.ts'],
    types: ['node'],
    typeRoots: [join(ROOT, 'node_modules', '@types')],
    strict: true,
    noEmit: true,
    skipLibCheck: true,
  });
  return paths.flatMap((path) => {
    const file = program.getSourceFile(path);
    if (!file) return [`${path}: not in the program`];
    return [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)].map((d) => {
      const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : '?';
      return `${name(path)}:${line}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  });
}
const name = (path: string) => path.slice(path.lastIndexOf('/') + 1);

afterAll(() => removeTempDirs());

/** The spec of api-ridge.ts, for the generated modules: a scalar, vector and matrix input each. */
const RIDGE: MapSpec = {
  name: 'ridge',
  state: { x: 'n' },
  params: { theta: 'n', lambda: '' },
  data: { A: 'm,n', b: 'm' },
  update: { x: "x - 0.1 * (A' * (A * x - b) + lambda * theta .* x)" },
};

/** Uses a generated module through its declarations: ranks, names and meta's literals. */
const MODULE_USE = (module: string, K: number, mode: 'both' | 'forward') => `
import { meta, type Inputs, type Instance } from './${module}.js';
declare const inst: Instance;
const k: ${K} = meta.K;
const m: '${mode}' = meta.mode;
const t: 0 = meta.truncate;
const dims: { readonly m: 3; readonly n: 2 } = meta.dims;
// @ts-expect-error: K is a literal
const wrongK: ${K + 1} = meta.K;
const inputs: Inputs = { A: [[1, 0.5], [0, 1], [0.2, 0.1]], b: new Float64Array(3), theta: [0.1, 0.2], lambda: 0.5 };
// @ts-expect-error: a matrix where a vector is expected
const matrixForVector: Inputs = { ...inputs, theta: [[1], [2]] };
// @ts-expect-error: a vector where a scalar is expected
const vectorForScalar: Inputs = { ...inputs, lambda: new Float64Array(1) };
// @ts-expect-error: an unknown input name
const unknown: Inputs = { ...inputs, thetaa: [1, 2] };
export const use = () => [k, m, t, dims, wrongK, matrixForVector, vectorForScalar, unknown, inst.iterate(inputs)];
`;

/** Names the declarations themselves use (type names, meta, K, readonly, number) as the spec's names and dims. */
const ADVERSARIAL: MapSpec = {
  name: 'adv',
  state: { State: 'readonly' },
  params: { Matrix: 'readonly', number: '' },
  data: { Inputs: 'K,readonly', meta: 'K' },
  update: { State: "State - 0.1 * (Inputs' * (Inputs * State - meta) + number * Matrix)" },
};
const ADVERSARIAL_USE = (from: string) => `
  const inputs = { Matrix: [1, 2], number: 3, Inputs: [[1, 0], [0, 1], [1, 1]], meta: new Float64Array(3) };
  const r = inst.vjp(inputs, { State: [1, 0] });
  const g: Float64Array = r.gradient.Matrix;
  const s: Float64Array = r.gradient.number;
  const x: Float64Array = r.state.State;
  // @ts-expect-error: a vector where a scalar is expected
  inst.iterate({ ...inputs, number: [3] });
  // @ts-expect-error: a matrix where a vector is expected
  inst.iterate({ ...inputs, meta: [[1], [2], [3]] });
  // @ts-expect-error: 'Inputs' is data: the gradient has no entry for it
  r.gradient.Inputs;
  export const ${from} = [g, s, x];
`;

/**
 * `--emit ts` modules that must type-check as they are (no @ts-nocheck), by file name, with
 * their spec and options: JS loops with baked dims, SIMD kernels with free dims, a matrix input
 * with an outer objective, mini-batches, the implicit method, and the adversarial names.
 */
const emittedModules = async (): Promise<Record<string, { source: SpecSource; options: CompileOptions }>> => {
  const sample = (name: string) => readSpecFile(join(ROOT, 'samples', name, `${name}.phi.ts`));
  return {
    ridge_ts_baked: { source: inMemorySource({ ...RIDGE, name: 'ridge_ts_baked' }), options: { mode: 'both', K: 20, kernels: 'js', dims: { m: 3, n: 2 } } },
    ridge_ts_free: { source: inMemorySource({ ...RIDGE, name: 'ridge_ts_free' }), options: { mode: 'both', K: 20, truncate: 5 } },
    softmax_ts: { source: await sample('softmax_regression'), options: { mode: 'both', K: 6 } },
    hyper_cleaning_ts: { source: await sample('hyper_cleaning'), options: { mode: 'reverse', K: 6, kernels: 'js' } },
    ridge_ts_implicit: { source: inMemorySource({ ...RIDGE, name: 'ridge_ts_implicit' }), options: { mode: 'both', K: 20, kernels: 'js', method: 'implicit', solver: 'gmres', warmStart: true } },
    adv_ts: { source: inMemorySource({ ...ADVERSARIAL, name: 'adv_ts' }), options: { mode: 'both', K: 5, kernels: 'js' } },
    // reverse mode with binomial checkpointing (the revolve runtime), on the kernel path
    ridge_ts_checkpoints: { source: inMemorySource({ ...RIDGE, name: 'ridge_ts_checkpoints' }), options: { mode: 'reverse', K: 20, checkpoints: 3 } },
    // GPU modules: baked dims, free dims with truncation, and a matrix input with an outer objective
    ridge_gpu_ts: { source: inMemorySource({ ...RIDGE, name: 'ridge_gpu_ts' }), options: { mode: 'both', K: 20, backend: 'gpu', dims: { m: 3, n: 2 } } },
    ridge_gpu_ts_free: { source: inMemorySource({ ...RIDGE, name: 'ridge_gpu_ts_free' }), options: { mode: 'both', K: 20, truncate: 5, backend: 'gpu' } },
    logistic_bilevel_gpu_ts: { source: await sample('logistic_bilevel'), options: { mode: 'reverse', K: 6, backend: 'gpu' } },
    adv_gpu_ts: { source: inMemorySource({ ...ADVERSARIAL, name: 'adv_gpu_ts' }), options: { mode: 'both', K: 5, backend: 'gpu' } },
  };
};
let emitted: Awaited<ReturnType<typeof emittedModules>>;

/** The .ts text of an emitted module. */
const tsText = (file: string, o?: Partial<CompileOptions>) => {
  const { source, options } = emitted[file]!;
  return compileSpec(source, { ...options, ...o, emit: 'ts' }).files[0]!.contents;
};

/** Uses of the emitted modules: create() and the entry points through the module's own types. */
const EMITTED_USE = `
import { create as ridgeBaked, meta as ridgeMeta } from './ridge_ts_baked.js';
import { create as ridgeFree } from './ridge_ts_free.js';
import { create as createAdv } from './adv_ts.js';
import { create as ridgeImplicit } from './ridge_ts_implicit.js';
import { create as ridgeGpu, type GPULike } from './ridge_gpu_ts.js';
import { create as ridgeGpuFree } from './ridge_gpu_ts_free.js';
import { create as bilevelGpu } from './logistic_bilevel_gpu_ts.js';
const ridgeInputs = { A: [[1, 0.5], [0, 1], [0.2, 0.1]], b: new Float64Array(3), theta: [0.1, 0.2], lambda: 0.5 };
const k: 20 = ridgeMeta.K;
const gTheta: Float64Array = ridgeBaked().vjp(ridgeInputs, { x: [1, 0] }).gradient.theta;
const t: Float64Array = ridgeFree({ m: 3, n: 2 }, { threads: 1 }).jvp(ridgeInputs, { theta: [1, 0] }).tangent.x;
// @ts-expect-error: free dims must be given
ridgeFree();
// @ts-expect-error: a vector where a scalar is expected
ridgeBaked().iterate({ ...ridgeInputs, lambda: [1] });
const inst = createAdv({ K: 3, readonly: 2 });
${ADVERSARIAL_USE('fromEmitted')}
const solver: 'gmres' = ridgeImplicit({ m: 3, n: 2 }).vjp(ridgeInputs, { x: [1, 0] }).solve.solver;
export const emittedUse = [k, gTheta, t, solver];
export async function useGpuModules(gpu: GPULike) {
  const r = await ridgeGpu(gpu).vjp(ridgeInputs, { x: [1, 0] });
  const g: Float64Array = r.gradient.theta;
  const precision: 'float32' = r.precision;
  const tx: Float64Array = (await ridgeGpuFree(gpu, { m: 3, n: 2 }, { executor: 'pipeline' }).jvp(ridgeInputs, { theta: [1, 0] })).tangent.x;
  const h = await bilevelGpu(gpu, { m: 2, n: 2, v: 1 }).hypergradient({ theta: [0, 0], X: [[1, 0], [0, 1]], y: [1, 0], Xv: [[1, 1]], yv: [1] });
  const loss: number = h.loss;
  // @ts-expect-error: free dims must be given
  ridgeGpuFree(gpu);
  // @ts-expect-error: the GPU entry points are asynchronous
  const sync: Float64Array = ridgeGpu(gpu).iterate(ridgeInputs).state.x;
  // @ts-expect-error: a reverse-only module has no jvp
  void bilevelGpu(gpu, { m: 2, n: 2, v: 1 }).jvp;
  return [g, precision, tx, loss, sync];
}
`;

/** The test programs by group, each group's files by name (unique across groups). */
function programs(): Record<string, Record<string, string>> {
  const dts: Record<string, string> = {};
  const options: CompileOptions = { mode: 'both', K: 200, dims: { m: 3, n: 2 } };
  for (const [module, extra] of [['ridge', {}], ['ridge_gpu', { backend: 'gpu' }], ['ridge_fwd', { mode: 'forward', K: 4 }]] as const) {
    const o = { ...options, ...extra };
    dts[`${module}.d.ts`] = compileSpec(inMemorySource({ ...RIDGE, name: module }), o).files.find((f) => f.name.endsWith('.d.ts'))!.contents;
    dts[`use-${module}.ts`] = MODULE_USE(module, o.K, o.mode === 'forward' ? 'forward' : 'both');
  }
  dts['use-ridge_fwd.ts'] += `// @ts-expect-error: a forward-only module has no vjp\nvoid inst.vjp;\n`;
  // --method implicit: every derivative result reports its solve, and meta names the solver
  dts['ridge_implicit.d.ts'] = compileSpec(inMemorySource({ ...RIDGE, name: 'ridge_implicit' }), { ...options, method: 'implicit', solver: 'bicgstab' }).files.find((f) => f.name.endsWith('.d.ts'))!.contents;
  dts['use-ridge_implicit.ts'] = `import { meta, type Instance } from './ridge_implicit.js';\ndeclare const inst: Instance;\nconst solver: 'bicgstab' = meta.implicit.solver;\nconst r = inst.vjp({ A: [[1, 0], [0, 1], [1, 1]], b: [1, 2, 3], theta: [0.1, 0.2], lambda: 0.5 }, { x: [1, 0] });\nconst products: number = r.solve.products;\n// @ts-expect-error: the solver is the literal one compiled in\nconst other: 'cg' = r.solve.solver;\nexport const implicitUse = [solver, products, other];\n`;
  const adversarial = {
    'adv.d.ts': compileSpec(inMemorySource(ADVERSARIAL), { mode: 'both', K: 5, dims: { K: 3, readonly: 2 } }).files.find((f) => f.name === 'adv.d.ts')!.contents,
    'use-adv.ts': `import { meta, type Instance } from './adv.js';\ndeclare const inst: Instance;\nconst dims: { readonly K: 3; readonly readonly: 2 } = meta.dims;\nvoid dims;\n${ADVERSARIAL_USE('fromDts')}`,
    'api-adv.ts': `import { compile } from ${INDEX};\nconst inst = (await compile(${JSON.stringify(ADVERSARIAL)}, { mode: 'both', K: 5 })).create({ K: 3, readonly: 2 });\n${ADVERSARIAL_USE('fromApi')}`,
  };
  const emittedTs: Record<string, string> = Object.fromEntries(Object.keys(emitted).map((file) => [`${file}.ts`, tsText(file)]));
  emittedTs['use-emitted.ts'] = EMITTED_USE;
  return { dts, adversarial, api: API_PROGRAMS, emitted: emittedTs };
}

// One ts.Program for every group (the sources they import are read once), checked before the tests.
let groups: Record<string, Record<string, string>>;
let found: string[];
beforeAll(async () => {
  emitted = await emittedModules();
  groups = programs();
  found = diagnostics(tempDir('phic-types-'), Object.assign({}, ...Object.values(groups)));
}, 120_000);
/** The diagnostics of one group's files. */
const of = (group: string) => found.filter((d) => Object.keys(groups[group]!).includes(d.slice(0, d.indexOf(':'))));

describe('generated declarations', () => {
  it('a .d.ts types each input by its rank and meta with the literal K, mode, t and dims (CPU, GPU, forward only)', () => {
    expect(of('dts')).toEqual([]);
  });

  it("names that are also the declarations' own type names type-check, in the .d.ts and through compile()", () => {
    expect(of('adversarial')).toEqual([]);
  });
});

describe('--emit ts', () => {
  it('modules type-check under strict as they are, without @ts-nocheck, and a program using them does too', () => {
    for (const file of Object.keys(emitted)) expect(groups.emitted![`${file}.ts`]).not.toContain('@ts-nocheck');
    expect(of('emitted')).toEqual([]);
  });

  it('runs: the .ts module with its types stripped gives the results of the .js module bit for bit', async () => {
    const dir = tempDir('phic-emit-ts-');
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    type Vjp = { vjp(i: object, c: object): { state: Record<string, Float64Array>; gradient: Record<string, Float64Array> } };
    const load = async (file: string, text: string) => {
      writeFileSync(join(dir, file), text);
      return (await import(pathToFileURL(join(dir, file)).href)) as { create(dims?: object, o?: object): Vjp };
    };
    const { source, options } = emitted['ridge_ts_free']!;
    const js = compileSpec(source, { ...options, emit: 'js' }).files.find((f) => f.name.endsWith('.js'))!.contents;
    const ts_ = ts.transpileModule(tsText('ridge_ts_free'), { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
    const inputs = { A: [[1, 0.5], [0, 1], [0.2, 0.1]], b: [0.3, -1, 2], theta: [0.1, 0.2], lambda: 0.5 };
    const [fromJs, fromTs] = await Promise.all([load('ridge.js.mjs', js), load('ridge.ts.mjs', ts_)]).then((ms) => ms.map((m) => m.create({ m: 3, n: 2 }).vjp(inputs, { x: [1, -2] })));
    expect([...fromTs!.gradient.theta!, ...fromTs!.gradient.lambda!, ...fromTs!.state.x!]).toEqual([...fromJs!.gradient.theta!, ...fromJs!.gradient.lambda!, ...fromJs!.state.x!]);
    expect(Math.abs(fromJs!.gradient.theta![0]!)).toBeGreaterThan(0);
  });

  it('runs on the GPU: the GPU .ts module with its types stripped gives the results of the .js module on gpu.js webasm, bit for bit', async () => {
    const dir = tempDir('phic-emit-ts-gpu-');
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    type Vjp = { vjp(i: object, c: object): Promise<{ state: Record<string, Float64Array>; gradient: Record<string, Float64Array>; backend: string }>; destroy(): Promise<void> };
    const load = async (file: string, text: string) => {
      writeFileSync(join(dir, file), text);
      return (await import(pathToFileURL(join(dir, file)).href)) as { create(gpu: object, dims?: object): Vjp };
    };
    const { source, options } = emitted['ridge_gpu_ts_free']!;
    const js = compileSpec(source, { ...options, emit: 'js' }).files.find((f) => f.name.endsWith('.js'))!.contents;
    const ts_ = ts.transpileModule(tsText('ridge_gpu_ts_free'), { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
    const inputs = { A: [[1, 0.5], [0, 1], [0.2, 0.1]], b: [0.3, -1, 2], theta: [0.1, 0.2], lambda: 0.5 };
    const gpu = await createGpu('webasm');
    try {
      const results = [];
      for (const [file, text] of [['ridge_gpu.js.mjs', js], ['ridge_gpu.ts.mjs', ts_]] as const) {
        const instance = (await load(file, text)).create(gpu, { m: 3, n: 2 });
        results.push(await instance.vjp(inputs, { x: [1, -2] }));
        await instance.destroy();
      }
      const [fromJs, fromTs] = results;
      expect(fromTs!.backend).toBe('webasm');
      expect([...fromTs!.gradient.theta!, ...fromTs!.gradient.lambda!, ...fromTs!.state.x!]).toEqual([...fromJs!.gradient.theta!, ...fromJs!.gradient.lambda!, ...fromJs!.state.x!]);
      expect(Math.abs(fromJs!.gradient.theta![0]!)).toBeGreaterThan(0);
    } finally {
      await gpu.destroy();
    }
  }, 60_000);
});

describe('compile() typed from a literal spec', () => {
  it('correct names and ranks type-check, and every misuse marked @ts-expect-error is an error', () => {
    expect(of('api')).toEqual([]);
  });

  it('the check is not vacuous: a misuse outside @ts-expect-error is reported, with its file and line', () => {
    const wrong = diagnostics(tempDir('phic-types-'), { 'api-wrong.ts': `import { compile } from ${INDEX};\nconst m = (await compile({ name: 'w', state: { x: 'n' }, params: { theta: 'n' }, update: { x: 'x' } }, { mode: 'reverse', K: 2 })).create({ n: 1 });\nm.vjp({ theta: [1] }, {}).gradient.thetaa;\n` });
    expect(wrong).toEqual([expect.stringMatching(/^api-wrong\.ts:3: Property 'thetaa' does not exist/)]);
  });
});
