// The GPU emitter's pieces and its errors: a template per elementwise op that computes it,
// accurate helpers, kernel splitting, clear errors for what it cannot express (naming the op
// or the segment) and for sizes beyond texture limits, --require-gpu on a CPU fallback, the
// CLI's --backend gpu, a golden GPU module and byte-for-byte determinism.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOps } from '../compiler/ops/index.js';
import type { ElementwiseOp } from '../compiler/ops/registry.js';
import { GPU_HELPERS, printOp, printScalar } from '../compiler/codegen/gpu/templates.js';
import { helperFunction, helperSource } from '../compiler/ops/helpers.js';
import { kernelizeSegment, type KernelizeContext } from '../compiler/codegen/gpu/kernels.js';
import { emitKernel } from '../compiler/codegen/gpu/emit-kernel.js';
import type { Segment } from '../compiler/lower/loop-ir.js';
import { testSegment } from './helpers/ir.js';
import { compileSpec } from '../compiler/pipeline.js';
import { PhicError } from '../compiler/errors.js';
import { readSpecFile } from '../compiler/spec/read-file.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { compile } from '../src/index.js';
import { createGpu, type GpuInstance } from '../runtime/gpu.js';
import { randomGenerator } from '../runtime/reference.js';
import { ROOT, STACK_TRACE, cli, removeTempDirs, requireBuiltCli, runCli, tempDir } from './helpers/cli.js';

let gpu: GpuInstance;
beforeAll(async () => {
  gpu = await createGpu('webasm');
});
afterAll(async () => {
  await gpu.destroy();
  removeTempDirs();
});

/** Evaluates printed template text as JavaScript, with the helpers defined. */
function evaluate(text: string, names: string[], values: number[]): number {
  const helpers = Object.values(GPU_HELPERS).join('\n');
  return new Function(...names, `${helpers}\nreturn ${text};`)(...values) as number;
}

const ELEMENTWISE = allOps().filter((o): o is ElementwiseOp => o.kind === 'elementwise');

describe('GPU templates', () => {
  it.each(ELEMENTWISE.map((op) => ({ name: op.name, op })))('$name has a gpu.js template that computes it', ({ op }) => {
    expect(op.emit.gpu, `'${op.name}' has no gpu template`).toBeTypeOf('object');
    const rng = randomGenerator(op.name.length * 31 + 7);
    for (let trial = 0; trial < 20; trial++) {
      const values = Array.from({ length: op.arity }, () => {
        const v = 6 * rng.uniform() - 3;
        return op.domain === 'positive' ? Math.abs(v) + 0.1 : op.domain === 'nonzero' && Math.abs(v) < 0.1 ? 0.5 : v;
      });
      // Integer exponents take the sign-safe path; try them on negative bases too.
      if (op.name === 'pow') values[1] = [2, 3, 1.5, -1][trial % 4]!;
      if (op.name === 'pow' && trial % 4 !== 2) values[0] = -Math.abs(values[0]!) - 0.1;
      if (op.name === 'pow' && trial % 4 === 2) values[0] = Math.abs(values[0]!) + 0.1;
      const names = values.map((_, i) => `a${i}`);
      const args = names.map((n, i) => (op.name === 'pow' && i === 1 ? { text: String(values[1]), level: 4 } : { text: n, level: 4 }));
      const text = printOp(op.name, args as never, new Set()).text;
      const want = op.scalar(...values);
      expect(evaluate(text, names, values), `${op.name}(${values.join(', ')}) printed as ${text}`).toBeCloseTo(want, 6);
    }
  });

  it('the helpers hold float32 accuracy where naive formulas overflow or cancel', () => {
    const f = (name: string) => new Function(`${Object.values(GPU_HELPERS).join('\n')}\nreturn ${name};`)() as (v: number) => number;
    const [tanh, sigmoid, softplus, expm1, log1p] = [f('phic_tanh'), f('phic_sigmoid'), f('phic_softplus'), f('phic_expm1'), f('phic_log1p')];
    const rel = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(b), 1e-300));
    for (const v of [-1000, -800, -50, -9.5, -3, -0.7, -0.1, -1e-4, -1e-300, -0, 0, 1e-300, 1e-6, 0.3, 0.62, 0.63, 2, 20, 800, 1000]) {
      expect(rel(tanh(v), Math.tanh(v)), `tanh(${v})`).toBeLessThan(3e-7);
      expect(rel(sigmoid(v), 1 / (1 + Math.exp(-v))), `sigmoid(${v})`).toBeLessThan(1e-12);
      const sp = Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
      expect(rel(softplus(v), sp), `softplus(${v})`).toBeLessThan(1e-7);
      expect(rel(expm1(v), Math.expm1(v)), `expm1(${v})`).toBeLessThan(1e-7);
    }
    // both sides of the series' cutoffs
    for (const v of [-0.5001, -0.4999, 0.4999, 0.5001, 1e-20, -1e-20]) expect(rel(expm1(v), Math.expm1(v)), `expm1(${v})`).toBeLessThan(1e-7);
    for (const v of [-0.9999, -0.5001, -0.4999, -1e-3, -1e-20, 0, 1e-20, 1e-5, 1e-3, 0.3, 0.9999, 1.0001, 5, 1e30]) expect(rel(log1p(v), Math.log1p(v)), `log1p(${v})`).toBeLessThan(1e-7);
  });

  it('GPU helpers are the one source of the scalar helpers, renamed phic_*, and agree with the interpreter on extremes', () => {
    // The same text as the CPU module's and the interpreter's, but for names: helpers and the
    // Math functions gpu.js gets wrong in float32 (tanh, log1p) are called by their phic_ names.
    expect(GPU_HELPERS.phic_sigmoid).toBe(helperSource('sigmoid').replace('function sigmoid(', 'function phic_sigmoid('));
    expect(GPU_HELPERS.phic_softplus).toBe(helperSource('softplus').replace('function softplus(', 'function phic_softplus(').replace('Math.log1p(', 'phic_log1p('));
    const helpers = new Set<string>();
    const printed = printOp('softplus', [{ text: 'x', level: 4 }], helpers);
    expect(printed.text).toBe('phic_softplus(x)');
    expect([...helpers].sort()).toEqual(['phic_log1p', 'phic_softplus']);
    const all = Object.values(GPU_HELPERS).join('\n');
    for (const name of ['sigmoid', 'softplus']) {
      const gpu = new Function(`${all}\nreturn phic_${name};`)() as (v: number) => number;
      const interpreter = ELEMENTWISE.find((o) => o.name === name)!.scalar;
      expect(interpreter).toBe(helperFunction(name));
      for (const v of [1000, -1000, 1e-300, -1e-300, 0, -0, 1e-8, -1e-8, 1, -1, 9.2, -9.2, 9.3, -9.3, 30, -30, 88, -88, 700, -700, 1e300, -1e300]) {
        const [got, want] = [gpu(v), interpreter(v)];
        expect(got === want || Math.abs(got - want) <= 1e-7 * Math.abs(want), `${name}(${v}): GPU ${got}, interpreter ${want}`).toBe(true);
      }
    }
  });

  it('a kernel calling every op a formula can call, helpers that call helpers included, runs on webasm and matches the CPU', async () => {
    const source = inMemorySource({
      name: 'all_ops',
      state: { x: 'n' },
      params: { theta: 'n' },
      data: { c: 'n' },
      update: {
        x:
          '0.3 * tanh(x) + 0.1 * softplus(theta - 30 * x) + 0.1 * sigmoid(c .* x) + 0.01 * (exp(-x.^4) + log(1 + x.^2) + sqrt(1 + abs(x)) + sin(x) + cos(theta) + x.^3)' +
          ' + 0.01 * (log1p(x.^2) + expm1(0.1 * x) + square(x) + cube(x) + sign(x) + maximum(x, theta) + minimum(x, c) + max(0.5, 0.2) + min(0.5, 0.2))' +
          ' + 0.01 * ((x > c ? theta : c) + (x < 0) + (x >= theta) + (c <= 0))',
      },
    });
    const options = { mode: 'forward' as const, K: 4, dims: { n: 5 } };
    const compiled = await compile(source, { ...options, backend: 'gpu', gpu });
    const module = compiled.files[0]!.contents;
    for (const h of ['phic_tanh', 'phic_softplus', 'phic_log1p', 'phic_sigmoid', 'phic_pow_even', 'phic_pow_odd', 'phic_expm1']) expect(module).toContain(`${h}: \`function ${h}(`);
    // comparisons give floats, conditionals test them directly
    expect(module).toMatch(/\(x\[i\] < 0 \? 1\.0 : 0\.0\)/);
    expect(module).toMatch(/\(x\[i\] > c\[i\] \? theta\[i\] : c\[i\]\)/);
    const inputs = { theta: [-1, -0.5, 0, 0.5, 1], c: [2, -1, 0.5, 3, -2] };
    const x0 = { x: [-1, -0.3, 0.1, 0.6, 1.2] };
    const g = compiled.create();
    const got = (await g.iterate(inputs as never, x0 as never)).state.x!;
    const want = (await compile(source, options)).create().iterate(inputs as never, x0 as never).state.x!;
    for (let i = 0; i < 5; i++) expect(Math.abs(got[i]! - want[i]!), `x[${i}]: GPU ${got[i]}, CPU ${want[i]}`).toBeLessThan(1e-5);
    await g.destroy();
  });
});

describe('the GPU instance', () => {
  it('has ready(), resolved before any call (kernels are built by the first), like the CPU instance', async () => {
    const compiled = await compile(inMemorySource({ name: 'r', state: { x: 'n' }, params: { theta: 'n' }, update: { x: '0.5 * x + theta' } }), { mode: 'forward', K: 2, dims: { n: 3 }, backend: 'gpu', gpu });
    const g = compiled.create();
    await expect(g.ready()).resolves.toBeUndefined();
    expect((await g.iterate({ theta: [1, 2, 3] } as never)).state.x).toEqual(new Float64Array([1.5, 3, 4.5]));
    await g.destroy();
  });
});

describe('GPU log1p and expm1 in float32', () => {
  it('stay accurate for small arguments on webasm, where log(1 + x) and e^x - 1 cancel', async () => {
    const source = inMemorySource({ name: 'small', state: { x: 'n', y: 'n' }, params: { theta: 'n' }, update: { x: 'log1p(theta)', y: 'expm1(theta)' } });
    const theta = [1e-3, -2e-4, 3e-5, -7e-3, 0.04, 0.3, -0.45, 0.9, 2];
    const options = { mode: 'forward' as const, K: 1, dims: { n: theta.length } };
    const g = (await compile(source, { ...options, backend: 'gpu', gpu })).create();
    const got = (await g.iterate({ theta } as never)).state;
    await g.destroy();
    for (const [k, fn] of [['x', Math.log1p], ['y', Math.expm1]] as const) {
      theta.forEach((v, i) => {
        const want = fn(v);
        expect(Math.abs(got[k]![i]! - want) / Math.abs(want), `${k === 'x' ? 'log1p' : 'expm1'}(${v}): GPU ${got[k]![i]}`).toBeLessThan(1e-6);
      });
    }
  });
});

const context = (): KernelizeContext => ({ size: () => ({ k: 'dim', name: 'n' }), batched: new Set(), scalars: new Set(), inline: new Map() });
const emitCtx = { dimValue: () => 4, size: () => ({ k: 'dim', name: 'n' }) as const, scalars: new Set<string>(), inline: new Map() };

describe('GPU kernels from loop IR', () => {
  it('turns an axpy-form Aᵀv (fill, then scatter-add) into one gather kernel', () => {
    const seg: Segment = testSegment({
      name: 'adjointStep', doc: '', batched: [],
      body: [
        { kind: 'for', index: 'i', extent: { k: 'dim', name: 'n' }, body: [{ kind: 'store', buffer: 'y', index: { k: 'var', name: 'i' }, value: { kind: 'num', value: 0 }, accumulate: false }] },
        {
          kind: 'for', index: 'i', extent: { k: 'dim', name: 'n' },
          body: [
            { kind: 'let', name: 's', value: { kind: 'load', buffer: 'v', index: { k: 'var', name: 'i' } }, mutable: false },
            { kind: 'for', index: 'j', extent: { k: 'dim', name: 'n' }, body: [{ kind: 'store', buffer: 'y', index: { k: 'var', name: 'j' }, value: { kind: 'call', op: 'mul', args: [{ kind: 'load', buffer: 'A', index: { k: 'add', a: { k: 'mul', a: { k: 'var', name: 'i' }, b: { k: 'dim', name: 'n' } }, b: { k: 'var', name: 'j' } } }, { kind: 'local', name: 's' }] }, accumulate: true }] },
          ],
        },
      ],
    });
    const kernels = kernelizeSegment(seg, context(), new Map());
    expect(kernels.map((k) => [k.id, k.writes, k.prev, k.params])).toEqual([['adjointStep_y', 'y', false, ['A', 'v']]]);
    const { source } = emitKernel(kernels[0]!, emitCtx);
    expect(source).toContain('const j = tid;');
    expect(source).toContain('for (let i = 0; i < 4; i++) {');
    expect(source).toContain('acc += A[i * 4 + j] * s;');
  });

  it('names an op the GPU emitter has no template for', () => {
    const expr = { kind: 'call' as const, op: 'erf', args: [{ kind: 'num' as const, value: 1 }] };
    expect(() => printScalar(expr, { dim: String, load: () => 'x', local: (n) => ({ text: n, level: 4 }) }, new Set())).toThrow(/cannot express op 'erf'/);
    try {
      printScalar(expr, { dim: String, load: () => 'x', local: (n) => ({ text: n, level: 4 }) }, new Set());
    } catch (e) {
      expect(e).toBeInstanceOf(PhicError);
      expect((e as PhicError).category).toBe('spec');
    }
  });

  it('names the segment when a loop structure cannot become kernels', () => {
    const seg: Segment = testSegment({
      name: 'step', doc: '', batched: [],
      body: [{ kind: 'for', index: 'i', extent: { k: 'dim', name: 'n' }, body: [{ kind: 'store', buffer: 'y', index: { k: 'add', a: { k: 'var', name: 'i' }, b: { k: 'num', v: 1 } }, value: { kind: 'num', value: 1 }, accumulate: false }] }],
    });
    expect(() => kernelizeSegment(seg, context(), new Map())).toThrow(/cannot express segment 'step'.*index/);
  });
});

describe('GPU limits and fallbacks', () => {
  const ridgeSpec = () => readSpecFile(join(ROOT, 'samples', 'ridge', 'ridge.phi.ts'));

  it('refuses at compile time a buffer no GPU texture can hold', async () => {
    const source = await ridgeSpec();
    expect(() => compileSpec(source, { mode: 'reverse', K: 2, dims: { m: 20000, n: 20000 }, backend: 'gpu' })).toThrow(/cannot hold .* entries need a .* texture, beyond the 16384×16384/);
  });

  it('refuses at run time what exceeds the device\'s texture limit, naming the buffer', async () => {
    const source = await ridgeSpec();
    const compiled = await compile(source, { mode: 'both', K: 3, dims: { m: 8, n: 4 }, backend: 'gpu', gpu });
    const mod = compiled.create();
    const small = (await import('../src/load-module.js')).importGenerated<{ create(g: unknown, d: unknown, o: object): { vjp(...a: unknown[]): Promise<unknown> } }>(compiled.files[0]!.contents);
    const inst = (await small).create(gpu, undefined, { maxTextureSize: 4 });
    const data = JSON.parse(readFileSync(join(ROOT, 'samples', 'ridge', 'data.json'), 'utf8'));
    await expect(inst.vjp({ theta: data.theta, A: data.A, b: data.b }, { x: [1, 1, 1, 1] })).rejects.toThrow(/needs 32 float32 entries, a 6×6 texture: beyond the texture limit of 4×4/);
    await mod.destroy();
  });

  it('requireGpu fails with a clear message on gpu.js\'s webasm fallback', async () => {
    const source = await ridgeSpec();
    const compiled = await compile(source, { mode: 'both', K: 3, dims: { m: 8, n: 4 }, backend: 'gpu', gpu, requireGpu: true });
    expect(() => compiled.create()).toThrow(/requireGpu: gpu.js runs this module on its webasm backend, a CPU fallback, not a GPU/);
  });

  it('create() without a gpu.js instance says what it needs', async () => {
    const source = await ridgeSpec();
    const { files } = compileSpec(source, { mode: 'both', K: 3, dims: { m: 8, n: 4 }, backend: 'gpu' });
    const mod = await (await import('../src/load-module.js')).importGenerated<{ create(g: unknown): unknown }>(files[0]!.contents);
    expect(() => mod.create(undefined)).toThrow(/needs the app's gpu.js GPU instance/);
  });
});

describe('GPU module files', () => {
  const ridgeOptions = { mode: 'both' as const, K: 10, truncate: 3, dims: { m: 6, n: 4 }, backend: 'gpu' as const, sourceName: 'samples/ridge/ridge.phi.ts' };

  it('golden GPU module for ridge (dims baked, K = 10, t = 3), byte-for-byte deterministic', async () => {
    const source = await readSpecFile(join(ROOT, 'samples', 'ridge', 'ridge.phi.ts'));
    const a = compileSpec(source, ridgeOptions);
    const b = compileSpec(source, ridgeOptions);
    expect(a.files.map((f) => f.name)).toEqual(['ridge.js', 'ridge.d.ts']);
    expect(a.files[0]!.contents).toBe(b.files[0]!.contents);
    await expect(a.files[0]!.contents).toMatchFileSnapshot('golden/ridge.gpu.js');
    const text = a.files[0]!.contents;
    expect(text.split('\n')[0]).toMatch(/^\/\/ Code generated by phic v\d+\.\d+\.\d+\. DO NOT EDIT\.$/);
    expect(text).toMatch(/^\/\/ options: mode=both K=10 truncate=3 dims=.* backend=gpu$/m);
    expect(text).toContain('const K = 10;');
    // Generated GPU code imports nothing (it runs in a browser page as it is).
    expect(text).not.toMatch(/^import /m);
    expect(text).not.toMatch(/require\(/);
    expect(a.files[1]!.contents).toContain('jvp(inputs: Inputs, direction: Direction, x0?: InitialState): Promise<');
  });

  it('--emit ts gives one TypeScript file', async () => {
    const source = await readSpecFile(join(ROOT, 'samples', 'ridge', 'ridge.phi.ts'));
    const { files } = compileSpec(source, { ...ridgeOptions, emit: 'ts' });
    expect(files.map((f) => f.name)).toEqual(['ridge.ts']);
    expect(files[0]!.contents).toContain('export function create(gpu: GPULike, dims?: Dims | null, options?: Options): Instance ');
  });
});

// One run of the built CLI in a child process (the smoke test); the other cases run
// in-process through runCli (paths relative to the repository root, as for the child).
describe('phic CLI with --backend gpu', () => {
  const spec = 'samples/ridge/ridge.phi.ts';
  const data = 'samples/ridge/data.json';

  it('compile --backend gpu writes a GPU module and its declarations (in a child process)', () => {
    requireBuiltCli();
    const out = tempDir();
    const r = runCli(['compile', spec, '-K', '10', '--dims', 'm=8,n=4', '--backend', 'gpu', '-o', out]);
    expect(r.status, r.stderr).toBe(0);
    const js = readFileSync(join(out, 'ridge.js'), 'utf8');
    expect(js).toContain('export function create(gpu, dims, options)');
    expect(js).toContain('"backend":"gpu","precision":"float32"');
  });

  it('run --backend gpu prints float32 results that match the CPU run, with the backend used', async () => {
    const dir = tempDir();
    const cot = join(dir, 'cot.json');
    writeFileSync(cot, JSON.stringify({ x: [1, -1, 0.5, 2] }));
    const g = await cli(['run', spec, '--data', data, '--mode', 'reverse', '-K', '30', '--cotangent', cot, '--backend', 'gpu', '--gpu-mode', 'webasm']);
    const c = await cli(['run', spec, '--data', data, '--mode', 'reverse', '-K', '30', '--cotangent', cot]);
    expect(g.status, g.stderr).toBe(0);
    expect(c.status, c.stderr).toBe(0);
    const gout = JSON.parse(g.stdout);
    const cout = JSON.parse(c.stdout);
    expect(gout.meta).toMatchObject({ backend: 'webasm', precision: 'float32' });
    const diff = gout.gradient.theta.map((v: number, i: number) => Math.abs(v - cout.gradient.theta[i]));
    expect(Math.max(...diff)).toBeLessThan(1e-4 * Math.max(...cout.gradient.theta.map(Math.abs)));
    // the gradient with respect to x0 too (t = 0)
    const x0Diff = gout.x0Gradient.x.map((v: number, i: number) => Math.abs(v - cout.x0Gradient.x[i]));
    expect(Math.max(...cout.x0Gradient.x.map(Math.abs))).toBeGreaterThan(0);
    expect(Math.max(...x0Diff)).toBeLessThan(1e-4 * Math.max(...cout.x0Gradient.x.map(Math.abs)));
  });

  it('run --require-gpu on a CPU fallback fails with a usage error and no stack trace', async () => {
    const r = await cli(['run', spec, '--data', data, '--mode', 'reverse', '-K', '5', '--jacobian', '--backend', 'gpu', '--gpu-mode', 'webasm', '--require-gpu']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--require-gpu: gpu.js would run on its webasm backend, a CPU fallback, not a GPU/);
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });

  it('compile --backend gpu with dims beyond texture limits fails with a usage error', async () => {
    const r = await cli(['compile', spec, '-K', '2', '--dims', 'm=20000,n=20000', '--backend', 'gpu', '-o', tempDir()]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/GPU backend cannot hold/);
    expect(r.stderr).not.toMatch(STACK_TRACE);
  });
});
