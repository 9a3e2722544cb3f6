// Whole sweeps as WebAssembly (compiler/codegen/wasm/sweep-wasm.ts): the encoder's bytes, the
// sweeps each kind of map gets, results the same bits as the JavaScript loops (an observed call
// runs those) on every sample's update map, errors naming the same iteration, and the
// constructs that keep a sweep JavaScript.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile, type MapInstance, type MapSpec } from '../src/index.js';
import { readSpecFile } from '../compiler/spec/read-file.js';
import { buildModel } from '../compiler/model.js';
import { Code, encodeModule, F64, I32, signedLeb, toBase64, unsignedLeb } from '../compiler/codegen/wasm/encode.js';
import { ROOT } from './helpers/cli.js';
import { errorOf } from './helpers/errors.js';

/** Every number of a result tree as hex bytes (so −0, NaN payloads and the last bit count). */
function bytesOf(value: unknown): string {
  const parts: string[] = [];
  const visit = (v: unknown) => {
    if (typeof v === 'number') parts.push(Buffer.from(Float64Array.of(v).buffer).toString('hex'));
    else if (v instanceof Float64Array) parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex'));
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.entries(v).forEach(([k, x]) => (parts.push(k), visit(x)));
  };
  visit(value);
  return parts.join('|');
}

/** The sweeps a module runs as WebAssembly, from its source (`sweeps.record(...)`). */
const wasmSweepsOf = (source: string) => [...new Set([...source.matchAll(/\.(idle|record|forwardSweep|unitSweep|backwardSweep)\((?:from|T), /g)].map((m) => m[1]))].sort();

describe('the WebAssembly encoder', () => {
  it('writes LEB128 integers as the specification does', () => {
    expect(unsignedLeb(0)).toEqual([0]);
    expect(unsignedLeb(127)).toEqual([127]);
    expect(unsignedLeb(128)).toEqual([0x80, 1]);
    expect(unsignedLeb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(unsignedLeb(0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
    expect(signedLeb(0)).toEqual([0]);
    expect(signedLeb(63)).toEqual([63]);
    expect(signedLeb(64)).toEqual([0xc0, 0]);
    expect(signedLeb(-1)).toEqual([0x7f]);
    expect(signedLeb(-64)).toEqual([0x40]);
    expect(signedLeb(-65)).toEqual([0xbf, 0x7f]);
    expect(signedLeb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(signedLeb(-0x80000000)).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
    expect(() => unsignedLeb(-1)).toThrow();
    expect(() => signedLeb(2 ** 31)).toThrow();
  });

  it('base64 matches Node\'s for every length mod 3', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 100, 257]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 255);
      expect(toBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    }
  });

  it('a module of loads, arithmetic, a loop, an import call and memory.copy validates and runs, on a plain and a shared memory', () => {
    // f(from, to, at): for k in [from, to): mem[at + 8k] = sqrt(k) * 2 + Math.hypot(k, 1); then copies 16 bytes to the front
    const body = () => {
      const c = new Code(3);
      const k = c.local(I32);
      const tmp = c.local(F64);
      c.op('local.get', 0).op('local.set', k);
      c.structured('block', () =>
        c.structured('loop', () => {
          c.op('local.get', k).op('local.get', 1).op('i32.ge_s').op('br_if', 1);
          c.op('local.get', 2).op('local.get', k).i32(8).op('i32.mul').op('i32.add');
          c.op('local.get', k).op('f64.convert_i32_s').op('f64.sqrt').f64(2).op('f64.mul').op('local.set', tmp);
          c.op('local.get', tmp).op('local.get', k).op('f64.convert_i32_s').f64(1).op('call', 0).op('f64.add');
          c.memory('f64.store');
          c.op('local.get', k).i32(1).op('i32.add').op('local.set', k).op('br', 0);
        }),
      );
      c.i32(0).op('local.get', 2).i32(16).copy();
      return c;
    };
    for (const shared of [false, true]) {
      const bytes = encodeModule({ imports: [{ module: 'Math', name: 'hypot', type: { params: [F64, F64], results: [F64] } }], sharedMemory: shared, functions: [{ name: 'f', type: { params: [I32, I32, I32], results: [] }, code: body() }] });
      expect(WebAssembly.validate(bytes)).toBe(true);
      const memory = shared ? new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true }) : new WebAssembly.Memory({ initial: 1 });
      const { f } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { Math: { hypot: Math.hypot }, env: { memory } }).exports as { f: (...a: number[]) => void };
      f(0, 5, 64);
      const view = new Float64Array(memory.buffer, 0, 16);
      for (let k = 0; k < 5; k++) expect(view[8 + k]).toBe(Math.sqrt(k) * 2 + Math.hypot(k, 1));
      expect([view[0], view[1]]).toEqual([view[8], view[9]]);
    }
  });
});

describe('sweeps in WebAssembly', () => {
  const ridge: MapSpec = { name: 'ridge', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' }, constants: { alpha: 0.05 }, update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" } };

  it('a ridge map with baked dims and kernels runs every sweep in WebAssembly; unbaked dims and JS loops none, a tanh layer those its tanh calls do not outweigh', async () => {
    const dims = { m: 24, n: 20 };
    const baked = await compile(ridge, { mode: 'both', K: 50, truncate: 5, dims });
    expect(wasmSweepsOf(baked.files[0]!.contents)).toEqual(['backwardSweep', 'forwardSweep', 'idle', 'record', 'unitSweep']);
    // the tape is pushed in place: it lives in the kernels' memory
    expect(baked.files[0]!.contents).not.toMatch(/only copied: outside the kernels' memory/);
    expect(wasmSweepsOf((await compile(ridge, { mode: 'both', K: 50, truncate: 5 })).files[0]!.contents)).toEqual([]);
    expect(wasmSweepsOf((await compile(ridge, { mode: 'both', K: 50, dims, kernels: 'js' })).files[0]!.contents)).toEqual([]);
    // a Math.tanh call from WebAssembly costs more than the loads and stores the idle and taped steps save; the tangent and adjoint steps read more
    const layer: MapSpec = { name: 'layer', state: { x: 'n' }, params: { c: 'n' }, data: { W: 'n,n' }, update: { x: 'tanh(W * x + c)' } };
    const tanh = (await compile(layer, { mode: 'both', K: 20, dims: { n: 40 } })).files[0]!.contents;
    expect(wasmSweepsOf(tanh)).toEqual(['backwardSweep', 'forwardSweep', 'unitSweep']);
  });

  it('the cost of an import is its function\'s: exp, which V8 calls from WebAssembly faster than JavaScript does, keeps no loop JavaScript, where tanh keeps the idle and taped steps', async () => {
    const spec = (f: string): MapSpec => ({ name: 'layer', state: { x: 'n' }, params: { c: 'n' }, data: { W: 'n,n' }, update: { x: `${f}(-(W * x + c) .^ 2)` } });
    const compileWith = async (f: string) => compile(spec(f), { mode: 'both', K: 20, dims: { n: 40 } });
    const compiled = await compileWith('exp');
    expect(wasmSweepsOf(compiled.files[0]!.contents)).toEqual(['backwardSweep', 'forwardSweep', 'idle', 'record', 'unitSweep']);
    expect(wasmSweepsOf((await compileWith('tanh')).files[0]!.contents)).toEqual(['backwardSweep', 'forwardSweep', 'unitSweep']);
    // the exp map's sweeps give the bits of its JavaScript loops (an observed call runs those)
    const data = { W: Float64Array.from({ length: 1600 }, (_, i) => Math.sin(i) * 0.05), c: Float64Array.from({ length: 40 }, (_, i) => Math.cos(i) * 0.1) };
    const m = compiled.create(undefined, { threads: 1 });
    const cot = { x: Float64Array.from({ length: 40 }, (_, i) => 1 - i / 40) };
    expect(bytesOf(m.vjp!(data, cot))).toBe(bytesOf(m.vjp!(data, cot, undefined, () => undefined)));
  });

  it('a backward sweep with deferred rank-1 updates (W̄ += δ xᵀ, 16 steps a gemm) gives the same bits as the JavaScript loop (dims bound at create(), unobserved: an observed call applies each step\'s update at once)', async () => {
    const layer: MapSpec = { name: 'layer', state: { x: 'n' }, params: { W: 'n,n', c: 'n' }, data: { U: 'n,p', deferredSteps: 'p' }, update: { x: 'tanh(W * x + U * deferredSteps + c)' } };
    const dims = { n: 40, p: 8 };
    // 37 − 3 = 34 steps: two blocks of 16 and one of 2
    const compiled = await compile(layer, { mode: 'reverse', K: 37, truncate: 3, dims });
    expect(compiled.files[0]!.contents).toMatch(/applyDeferred/);
    expect(wasmSweepsOf(compiled.files[0]!.contents)).toContain('backwardSweep');
    let s = 3;
    const random = (k: number, scale: number) => Float64Array.from({ length: k }, () => scale * ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5));
    const data = { W: random(1600, 0.3), c: random(40, 1), U: random(320, 1), deferredSteps: random(8, 1) };
    const js = (await compile(layer, { mode: 'reverse', K: 37, truncate: 3 })).create(dims) as MapInstance;
    const u = { x: random(40, 1) };
    for (const threads of [1, 2]) {
      const m = compiled.create(undefined, { threads }) as MapInstance;
      expect(bytesOf(m.vjp!(data, u))).toBe(bytesOf(js.vjp!(data, u)));
      expect(bytesOf(m.jacobianReverse!(data))).toBe(bytesOf(js.jacobianReverse!(data)));
      m.release();
    }
    js.release();
  });

  it.each([17, 60])('K = %i: a loop that checks every step (tanh hides a bad value) checks in WebAssembly, and names the same iteration and entry', async (K) => {
    // x = 0 stays 0 (tanh(0) = 0, so 1 − x² = 1) while the tangent along ċ grows ×g a step: it overflows mid-run
    const layer: MapSpec = { name: 'layer', state: { due: 'n' }, params: { checked: 'n' }, data: { sweeps: 'n,n' }, update: { due: 'tanh(sweeps * due + checked)' } };
    const n = 40;
    const compiled = await compile(layer, { mode: 'both', K, dims: { n } });
    expect(wasmSweepsOf(compiled.files[0]!.contents)).toEqual(['backwardSweep', 'forwardSweep', 'unitSweep']);
    const m = compiled.create() as MapInstance;
    const g = 10 ** (616 / K);
    const inputs = { checked: new Float64Array(n), sweeps: Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? g : 0)) };
    const unit = (at: number) => Float64Array.from({ length: n }, (_, i) => (i === at ? 1 : 0));
    const observed = () => undefined;
    for (const [name, call] of [
      ['jvp', (o?: () => undefined) => m.jvp!(inputs, { checked: unit(9) }, undefined, o)],
      ['jacobianForward', (o?: () => undefined) => m.jacobianForward!(inputs, undefined, o)],
      ['vjp', (o?: () => undefined) => m.vjp!(inputs, { due: unit(4) }, undefined, o)],
    ] as const) {
      const fast = errorOf(() => call());
      expect(fast, name).toBe(errorOf(() => call(observed)));
      const at = Number(/became non-finite \(entry \d+\) at iteration (\d+) of \d+/.exec(fast)?.[1]);
      expect(at > 1 && at < K, `${name}: ${fast}`).toBe(true);
    }
    m.release();
  });

  it('a product the kernels may split over threads is called through their JavaScript, which splits it; small ones directly', async () => {
    // the imports' module names are in the bytes: 'kernels' (the exports) and 'threaded' (the JavaScript functions)
    const imported = (source: string) => {
      const bytes = Buffer.from(/\.sweeps\('([^']+)'/.exec(source)![1]!, 'base64').toString('latin1');
      return ['kernels', 'threaded'].filter((m) => bytes.includes(m));
    };
    // 200 × 200 = 40000 multiply-adds: at or above the threads' threshold (32768)
    const big = await compile(ridge, { mode: 'reverse', K: 5, dims: { m: 200, n: 200 } });
    expect(imported(big.files[0]!.contents)).toEqual(['threaded']);
    expect(imported((await compile(ridge, { mode: 'reverse', K: 5, dims: { m: 20, n: 20 } })).files[0]!.contents)).toEqual(['kernels']);
    let s = 5;
    const random = (k: number) => Float64Array.from({ length: k }, () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5);
    const data = { theta: random(200).map(Math.abs), A: random(40000).map((v) => v * 0.1), b: random(200) };
    const m = big.create(undefined, { threads: 2 }) as MapInstance;
    await m.ready();
    const u = { x: random(200) };
    expect(bytesOf(m.vjp!(data, u))).toBe(bytesOf(m.vjp!(data, u, undefined, () => undefined)));
    m.release();
  });

  it('a tape past 256 MiB stays outside the kernels\' memory, and its sweeps JavaScript', async () => {
    // K·n·8 = 4·10⁵ · 100 · 8 bytes = 320 MB
    const source = (await compile(ridge, { mode: 'reverse', K: 400000, dims: { m: 100, n: 100 } })).files[0]!.contents;
    expect(wasmSweepsOf(source)).toEqual(['idle']);
    expect(source).toMatch(/only copied: outside the kernels' memory/);
  });

  it.each([1, 2])('ridge (threads: %i): every entry point gives the same bits as the JavaScript loops, and equals --kernels js to 1e-12', async (threads) => {
    const dims = { m: 24, n: 20 };
    let s = 7;
    const random = (k: number) => Float64Array.from({ length: k }, () => (s = (s * 16807) % 2147483647) / 2147483647 - 0.5);
    const data = { theta: random(20).map(Math.abs), A: random(24 * 20), b: random(24) };
    const x0 = { x: random(20) };
    const m = (await compile(ridge, { mode: 'both', K: 60, truncate: 7, dims })).create(undefined, { threads }) as MapInstance;
    const js = (await compile(ridge, { mode: 'both', K: 60, truncate: 7, dims, kernels: 'js' })).create() as MapInstance;
    const observe = () => undefined;
    const dir = { theta: random(20) };
    const u = { x: random(20) };
    const calls: [string, (i: MapInstance, o?: () => undefined) => unknown][] = [
      ['iterate', (i, o) => i.iterate(data, x0, o)],
      ['jvp', (i, o) => i.jvp!(data, dir, x0, o)],
      ['vjp', (i, o) => i.vjp!(data, u, x0, o)],
      ['jacobianForward', (i, o) => i.jacobianForward!(data, x0, o)],
      ['jacobianReverse', (i, o) => i.jacobianReverse!(data, x0, o)],
    ];
    for (const [name, call] of calls) {
      expect(bytesOf(call(m)), name).toBe(bytesOf(call(m, observe)));
      const a = call(m) as { state: { x: Float64Array } };
      const b = call(js) as { state: { x: Float64Array } };
      a.state.x.forEach((v, i) => expect(Math.abs(v - b.state.x[i]!)).toBeLessThan(1e-12));
    }
    m.release();
  });

  it.each([17, 40, 100])('K = %i: a non-finite value is named at the same iteration and entry as a check every step', async (K) => {
    // x⁺ = M x + θ, each step ×12 to ×12.4 (names against the drivers' own): the iterate, its tangent and its adjoint overflow mid-run
    const linear: MapSpec = { name: 'linear', state: { checked: 'n' }, params: { due: 'n' }, data: { sweeps: 'n,n' }, update: { checked: 'sweeps * checked + due' } };
    const n = 40;
    const M = Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 12 : 0.01));
    const inputs = { due: new Float64Array(n), sweeps: M };
    const compiled = await compile(linear, { mode: 'both', K, dims: { n } });
    expect(wasmSweepsOf(compiled.files[0]!.contents)).toEqual(['backwardSweep', 'forwardSweep', 'idle', 'record', 'unitSweep']);
    const m = compiled.create() as MapInstance;
    const observed = () => undefined;
    const big = 10 ** (308 - Math.floor(0.5 * K * Math.log10(12.4)));
    const unit = (at: number, v: number) => Float64Array.from({ length: n }, (_, i) => (i === at ? v : 0));
    const calls: [string, (observe?: () => void) => unknown][] = [
      ['iterate', (o) => m.iterate(inputs, { checked: unit(3, big) }, o)],
      ['jvp', (o) => m.jvp!(inputs, { due: unit(5, big) }, undefined, o)],
      ['vjp', (o) => m.vjp!(inputs, { checked: unit(7, big) }, undefined, o)],
    ];
    // every direction at once (the unit-direction sweep, the backward sweep of n adjoints): from
    // unit seeds, a step ×10^(616/K) makes the tangents and adjoints overflow mid-run while the iterate stays 0
    const steep = { due: new Float64Array(n), sweeps: M.map((v) => (v === 12 ? 10 ** (616 / K) : v)) };
    calls.push(['jacobianForward', (o) => m.jacobianForward!(steep, undefined, o)], ['jacobianReverse', (o) => m.jacobianReverse!(steep, undefined, o)]);
    for (const [name, call] of calls) {
      const sparse = errorOf(() => call());
      expect(sparse, name).toBe(errorOf(() => call(observed)));
      const at = Number(/became non-finite \(entry \d+\) at iteration (\d+) of \d+/.exec(sparse)?.[1]);
      expect(at > 1 && at < K, `${name}: ${sparse}`).toBe(true);
    }
    // the instance still works after the error, in WebAssembly
    expect(Array.from(m.iterate(inputs, { checked: new Float64Array(n) }).state.checked!).every((v) => v === 0)).toBe(true);
    m.release();
  });

  // Every sample's update map, at dims large enough for kernel calls: whatever sweeps it gets, the same bits as the JavaScript loops.
  const SAMPLES = ['ridge', 'least_squares', 'heavy_ball', 'logistic', 'pseudo_huber', 'tanh_layer', 'softmax_regression', 'svm', 'ista', 'sinkhorn', 'gd_schedule', 'fista', 'newton', 'logistic_bilevel', 'maml'];
  it.each(SAMPLES)('sample %s: sparse-checked calls give the same bits as observed ones', async (name) => {
    const source = await readSpecFile(join(ROOT, 'samples', name, `${name}.phi.ts`));
    const model = buildModel(source);
    // distinct dims of 24 and more, so the products are kernel calls and a transposed index shows
    const dims = Object.fromEntries(model.dims.map((d, i) => [d, 24 + i]));
    let s = 11;
    const random = (shape: readonly string[], scale: number) => Float64Array.from({ length: shape.reduce((p, d) => p * dims[d]!, 1) }, () => scale * ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5));
    const inputs = Object.fromEntries([...model.params, ...model.data, ...model.outerData].map((v) => [v.name, random(v.shape, 0.2)]));
    // positive scalars (step sizes, penalties) and positive parameters keep the maps defined
    for (const v of [...model.params, ...model.data]) if (v.shape.length === 0 || model.params.includes(v)) (inputs[v.name] as Float64Array).forEach((x, i, a) => (a[i] = Math.abs(x) + 0.01));
    const x0 = Object.fromEntries(model.state.map((v) => [v.name, random(v.shape, 0.5)]));
    const compiled = await compile(source, { mode: 'both', K: 24, truncate: 3, dims });
    // Sinkhorn has no product for a kernel; Newton solves, which has no WebAssembly form
    expect(wasmSweepsOf(compiled.files[0]!.contents).length > 0).toBe(!['sinkhorn', 'newton'].includes(name));
    const m = compiled.create() as MapInstance;
    const observe = () => undefined;
    const dir = Object.fromEntries(model.params.map((v) => [v.name, random(v.shape, 1)]));
    const u = Object.fromEntries(model.state.map((v) => [v.name, random(v.shape, 1)]));
    const run = (f: () => unknown) => {
      try {
        return bytesOf(f());
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(run(() => m.iterate(inputs, x0))).toBe(run(() => m.iterate(inputs, x0, observe)));
    expect(run(() => m.jvp!(inputs, dir, x0))).toBe(run(() => m.jvp!(inputs, dir, x0, observe)));
    expect(run(() => m.vjp!(inputs, u, x0))).toBe(run(() => m.vjp!(inputs, u, x0, observe)));
    expect(run(() => m.jacobianForward!(inputs, x0))).toBe(run(() => m.jacobianForward!(inputs, x0, observe)));
    expect(run(() => m.jacobianReverse!(inputs, x0))).toBe(run(() => m.jacobianReverse!(inputs, x0, observe)));
    if (m.hypergradient) expect(run(() => m.hypergradient!(inputs, x0))).toBe(run(() => m.hypergradient!(inputs, x0, observe)));
    m.release();
  });
});
