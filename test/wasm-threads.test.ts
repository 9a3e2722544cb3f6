// The SIMD kernels split over worker threads: every kernel, cut into parts at awkward shapes,
// writes bitwise the same memory as on one thread, and the workers really ran parts of the
// calls; a module with threads gives bitwise the same results as one without through every
// entry point; create()'s options are checked; release() stops the workers; and a process
// whose workers are started still exits by itself.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KERNELS_RUNTIME } from '../compiler/codegen/wasm/runtime-kernels.js';
import { ridgeSpec } from '../samples/bench/ridge-spec.js';
import { compile, defineMap, type MapInstance } from '../src/index.js';

interface RuntimeKernels {
  gemv(A: number, lda: number, x: number, y: number, m: number, n: number): void;
  gemvT(A: number, lda: number, v: number, y: number, m: number, n: number): void;
  ger(B: number, ldb: number, u: number, incu: number, w: number, m: number, n: number): void;
  gemm(C: number, ldc: number, A: number, ai: number, al: number, B: number, ldb: number, m: number, n: number, k: number, sym: number): void;
  views(sizes: number[]): Float64Array[];
  threads(): number;
  release(): void;
  workerParts(): number;
}

/** The kernels' runtime as a generated module holds it, made importable on its own. */
async function importRuntime(): Promise<(threads: number) => RuntimeKernels> {
  const file = join(mkdtempSync(join(tmpdir(), 'phic-threads-')), 'kernels.mjs');
  writeFileSync(file, `function fail(category, message) { throw new Error(category + ': ' + message); }\n${KERNELS_RUNTIME}\nexport { instantiateKernels };\n`);
  return (await import(pathToFileURL(file).href)).instantiateKernels;
}

/** Calls `run` until the instance's workers are ready (they start with the first large call). */
async function whenThreaded(threads: () => number, run: () => void, want: number): Promise<void> {
  for (let tries = 0; threads() < want; tries++) {
    if (tries > 400) throw new Error(`worker threads not ready after ${tries} tries`);
    run();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Deterministic values in [-1, 1). */
const fill = (a: Float64Array, seed: number) => a.forEach((_, i) => (a[i] = ((Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453) % 1) * 1.0));
const maxAbs = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const bytesOf = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('kernel calls split over worker threads', () => {
  let one: RuntimeKernels;
  let two: RuntimeKernels;
  // one layout in both memories: a matrix, two vectors and an output, with room for strides
  const SIZES = [260 * 260, 600, 600, 260 * 260];
  let heaps: [Float64Array[], Float64Array[]];

  beforeAll(async () => {
    const instantiate = await importRuntime();
    one = instantiate(1);
    two = instantiate(2);
    heaps = [one.views(SIZES), two.views(SIZES)];
    const [M, , , C] = heaps[1];
    await whenThreaded(two.threads, () => two.gemv(M!.byteOffset, 200, C!.byteOffset, C!.byteOffset + 8 * 40000, 200, 200), 2);
  }, 20_000);
  afterAll(() => two?.release());

  /** Fills both memories alike, runs the call on each, and compares the whole layout byte for byte. */
  const same = (call: (k: RuntimeKernels, at: Float64Array[]) => void) => {
    for (const views of heaps) views.forEach((v, i) => fill(v, i + 1));
    call(one, heaps[0]);
    call(two, heaps[1]);
    heaps[0].forEach((v, i) => expect(bytesOf(v).equals(bytesOf(heaps[1][i]!)), `buffer ${i} differs`).toBe(true));
  };
  const off = (v: Float64Array, entry = 0) => v.byteOffset + 8 * entry;

  it.each([[200, 200], [203, 190], [257, 131], [129, 255]])('gemv %i×%i', (m, n) => {
    for (let round = 0; round < 5; round++) same((k, [A, x, , y]) => k.gemv(off(A!), n + 3, off(x!), off(y!), m, n));
  });

  it.each([[200, 200], [190, 203], [131, 257], [255, 129]])('gemvT %i×%i', (m, n) => {
    for (let round = 0; round < 5; round++) same((k, [A, v, , y]) => k.gemvT(off(A!), n + 1, off(v!), off(y!), m, n));
  });

  it.each([[200, 200], [181, 199], [255, 130]])('ger %i×%i (u strided)', (m, n) => {
    for (let round = 0; round < 5; round++) same((k, [B, u, w]) => k.ger(off(B!), n + 2, off(u!), 2, off(w!), m, n));
  });

  it.each([[64, 97, 101], [33, 130, 70], [16, 256, 256]])('gemm, depth %i, %i×%i, A read transposed', (depth, m, n) => {
    // C (m×n) += Aᵀ B with A stored depth×m: ai = 1, al = m
    for (let round = 0; round < 3; round++) same((k, [A, , , C]) => k.gemm(off(C!), n, off(A!), 1, m, off(A!, depth * m), n, m, n, depth, 0));
  });

  it.each([[200, 50], [256, 130], [202, 40], [100, 333]])('symmetric gemm XᵀX, n = %i, depth %i (cut by the triangle; n mod 4 ≠ 0 falls back)', (n, depth) => {
    for (let round = 0; round < 3; round++) same((k, [X, , , C]) => k.gemm(off(C!), n, off(X!), 1, n, off(X!), n, n, n, depth, 1));
  });

  it('the workers ran parts of the calls, and small calls stay on one thread', () => {
    const before = two.workerParts();
    const [A, x, , y] = heaps[1];
    for (let i = 0; i < 50; i++) two.gemv(off(A!), 200, off(x!), off(y!), 200, 200);
    expect(two.workerParts()).toBeGreaterThan(before);
    const after = two.workerParts();
    for (let i = 0; i < 50; i++) two.gemv(off(A!), 60, off(x!), off(y!), 60, 60);
    expect(two.workerParts()).toBe(after);
    expect(one.threads()).toBe(1);
    expect(two.threads()).toBe(2);
  });
});

describe('a module with worker threads', () => {
  const ridge = ridgeSpec(0.002);
  const layer = defineMap({
    name: 'layer',
    state: { x: 'n' },
    params: { W: 'n,n', c: 'n' },
    data: {},
    update: { x: 'tanh(W * x + c)' },
  });
  const vec = (len: number, seed: number, scale = 1) => {
    const a = new Float64Array(len);
    fill(a, seed);
    return a.map((v) => v * scale);
  };
  const equalBits = (a: Record<string, Float64Array>, b: Record<string, Float64Array>) => {
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
    for (const key of Object.keys(a)) expect(bytesOf(a[key]!).equals(bytesOf(b[key]!)), key).toBe(true);
  };

  it('ridge 200² (symmetric AᵀA hoisted, gemv each step): bitwise the same vjp, jvp and Jacobian on 2 threads as on 1; forward = reverse and finite differences on 2', async () => {
    const compiled = await compile(ridge, { mode: 'both', K: 60, dims: { m: 220, n: 200 } });
    expect(compiled.files[0]!.contents).toMatch(/kernels\.gemm\(.*, 1\);/);
    const data = { theta: vec(200, 1).map(Math.abs), A: vec(220 * 200, 2, 0.1), b: vec(220, 3) };
    const [single, threaded] = [compiled.create(undefined, { threads: 1 }), compiled.create(undefined, { threads: 2 })];
    await whenThreaded(threaded.threads, () => threaded.iterate(data), 2);
    const cot = { x: vec(200, 4) };
    equalBits(threaded.vjp!(data, cot).gradient, single.vjp!(data, cot).gradient);
    equalBits(threaded.jvp!(data, { theta: vec(200, 5) }).tangent, single.jvp!(data, { theta: vec(200, 5) }).tangent);
    equalBits({ J: threaded.jacobianForward!(data).jacobian.x!.theta!.data }, { J: single.jacobianForward!(data).jacobian.x!.theta!.data });
    // and on their own: forward = reverse, and a central finite difference of ⟨ū, x_K(θ)⟩
    const Jf = threaded.jacobianForward!(data).jacobian.x!.theta!.data;
    const Jr = threaded.jacobianReverse!(data).jacobian.x!.theta!.data;
    expect(maxAbs(Jf.map((v, i) => v - Jr[i]!)) / maxAbs(Jr)).toBeLessThan(1e-11);
    const direction = vec(200, 6);
    const along = (h: number) => {
      const theta = data.theta.map((v, i) => v + h * direction[i]!);
      return threaded.iterate({ ...data, theta }).state.x!.reduce((sum, v, i) => sum + v * cot.x[i]!, 0);
    };
    const fd = (along(1e-6) - along(-1e-6)) / 2e-6;
    const exact = threaded.vjp!(data, cot).gradient.theta!.reduce((sum, v, i) => sum + v * direction[i]!, 0);
    expect(Math.abs(fd - exact) / Math.abs(exact)).toBeLessThan(1e-6);
    expect(single.threads()).toBe(1);
    threaded.release();
    expect(threaded.threads()).toBe(1);
    // released, it goes on on one thread
    equalBits(threaded.vjp!(data, cot).gradient, single.vjp!(data, cot).gradient);
  }, 30_000);

  it('tanh layer n = 192 (W̄ deferred to a gemm over 16 taped steps): bitwise the same gradients on 2 threads', async () => {
    const compiled = await compile(layer, { mode: 'reverse', K: 40, dims: { n: 192 } });
    const inputs = { W: vec(192 * 192, 1, 1.5 / 192), c: vec(192, 2) };
    const [single, threaded] = [compiled.create(undefined, { threads: 1 }), compiled.create(undefined, { threads: 2 })];
    await whenThreaded(threaded.threads, () => threaded.iterate(inputs), 2);
    const cot = { x: vec(192, 3) };
    equalBits(threaded.vjp!(inputs, cot).gradient, single.vjp!(inputs, cot).gradient);
    threaded.release();
  }, 30_000);

  it("checks create()'s options", async () => {
    const compiled = await compile(ridge, { mode: 'reverse', K: 3, dims: { m: 20, n: 16 } });
    const plain = await compile(ridge, { mode: 'reverse', K: 3, dims: { m: 20, n: 16 }, kernels: 'js' });
    for (const c of [compiled, plain]) {
      for (const threads of [0, 1.5, 65, '2']) {
        expect(() => c.create(undefined, { threads } as never)).toThrow(/options\.threads must be an integer from 1 to 64/);
      }
      expect(() => c.create(undefined, { thread: 2 } as never)).toThrow(/options: unknown name 'thread'/);
      const inst: MapInstance = c.create(undefined, { threads: 3 });
      expect(inst.threads()).toBe(1);
      inst.release();
    }
  });

  it('a process with started worker threads exits by itself', async () => {
    const compiled = await compile(ridge, { mode: 'reverse', K: 20, dims: { m: 200, n: 200 } });
    const dir = mkdtempSync(join(tmpdir(), 'phic-exit-'));
    writeFileSync(join(dir, 'ridge.mjs'), compiled.files[0]!.contents);
    writeFileSync(
      join(dir, 'main.mjs'),
      [
        "import { create } from './ridge.mjs';",
        'const inst = create(undefined, { threads: 2 });',
        'const data = { theta: new Float64Array(200).fill(1), A: new Float64Array(40000).fill(0.01), b: new Float64Array(200).fill(1) };',
        'for (let i = 0; i < 400 && inst.threads() < 2; i++) { inst.iterate(data); await new Promise((r) => setTimeout(r, 10)); }',
        "console.log('threads', inst.threads());",
      ].join('\n'),
    );
    const started = Date.now();
    const out = execFileSync(process.execPath, [join(dir, 'main.mjs')], { encoding: 'utf8', timeout: 20_000 });
    expect(out.trim()).toBe('threads 2');
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);
});
