// The two kernel builds: create() picks the relaxed-SIMD one (fused multiply-adds) where the
// engine has relaxed SIMD and the plain one elsewhere, and either can be forced. In this
// process (Node 20 has no relaxed SIMD unless a flag turns it on) the fallback is checked; in
// a child `node --experimental-wasm-relaxed-simd` the relaxed kernels are: within a few ulps·n
// of the plain ones, fused where the CPU has FMA, the same bits on every call, and the same
// bits whichever rows or columns a part (a worker thread) gets, kernel by kernel and through a
// module on 1, 2 and 3 threads (the paired kernel of the fused reverse sweep included, which
// also gives the plain sweeps' bits).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ridgeSpec } from '../samples/bench/ridge-spec.js';
import { compile, defineMap } from '../src/index.js';
import { ROOT } from './helpers/cli.js';

/** f64x2.relaxed_madd in a module of its own (the probe the runtime uses). */
const PROBE = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2, 253, 135, 2, 11);
const RELAXED_HERE = WebAssembly.validate(PROBE);
const TIMEOUT_MS = 120_000;

const fill = (len: number, seed: number, scale = 1) => Float64Array.from({ length: len }, (_, i) => (((Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453) % 1) * scale));
const bytesOf = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

const layer = defineMap({ name: 'layer', state: { x: 'n' }, params: { W: 'n,n', c: 'n' }, data: {}, update: { x: 'tanh(W * x + c)' } });

describe('the kernel build create() picks, in this engine', () => {
  it(RELAXED_HERE ? 'has relaxed SIMD: the default is the relaxed build' : 'has no relaxed SIMD: the default is the plain build, and forcing relaxed is a usage error', async () => {
    const compiled = await compile(ridgeSpec(0.002), { mode: 'reverse', K: 30, dims: { m: 60, n: 48 } });
    const data = { theta: fill(48, 1).map(Math.abs), A: fill(60 * 48, 2, 0.3), b: fill(60, 3) };
    const cot = { x: fill(48, 4) };
    const run = (kernels?: 'simd' | 'relaxed') => compiled.create(undefined, { threads: 1, ...(kernels ? { kernels } : {}) }).vjp!(data, cot).gradient.theta!;
    if (RELAXED_HERE) {
      expect(bytesOf(run()).equals(bytesOf(run('relaxed')))).toBe(true);
    } else {
      expect(bytesOf(run()).equals(bytesOf(run('simd')))).toBe(true);
      expect(() => run('relaxed')).toThrow(expect.objectContaining({ name: 'PhicError', category: 'usage', message: expect.stringContaining('--experimental-wasm-relaxed-simd') }));
    }
  });

  it("checks options.kernels: 'simd' or 'relaxed'", async () => {
    const compiled = await compile(ridgeSpec(0.002), { mode: 'reverse', K: 3, dims: { m: 20, n: 16 } });
    expect(() => compiled.create(undefined, { kernels: 'fma' } as never)).toThrow(/options\.kernels must be 'simd' or 'relaxed', got "fma"/);
  });
});

/** What the child reports (see CHILD below). */
interface ChildReport {
  validates: boolean;
  fused: boolean | null;
  worstUlpsOverN: number;
  kernelPartsSame: boolean;
  repeatSame: boolean;
  defaultIsRelaxed: boolean;
  threadsSame: boolean[];
  fusedPlainSame: boolean;
  moduleRelative: number;
}

/** Run by `node --experimental-wasm-relaxed-simd`: the relaxed kernels checked against the plain ones. */
const CHILD = `
import { KERNELS_BASE64, KERNELS_RELAXED_BASE64 } from './kernels-binary.js';
import * as ridge from './ridge.mjs';
import * as layer from './layer.mjs';
import * as fusedRidge from './fused.mjs';
const report = {};
const probe = Uint8Array.of(${PROBE.join(', ')});
report.validates = WebAssembly.validate(probe);
const load = (b64) => {
  const memory = new WebAssembly.Memory({ initial: 64 });
  const k = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(b64, 'base64')), { env: { memory } }).exports;
  return { k, heap: new Float64Array(memory.buffer) };
};
const plain = load(KERNELS_BASE64), fused = load(KERNELS_RELAXED_BASE64), parted = load(KERNELS_RELAXED_BASE64);
const fill = (h, seed) => { for (let i = 0; i < h.length; i++) h[i] = ((Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453) % 1); };
// does relaxed_madd fuse here? -1 + (1 + 2^-30)(1 - 2^-30) is -2^-60 fused, 0 rounded first
{
  const h = fused.heap;
  h[0] = 1 + 2 ** -30; h[1] = 1 - 2 ** -30; h[2] = -1;
  fused.k.gemvT(0, 1, 8, 16, 1, 1);
  report.fused = h[2] === -(2 ** -60) ? true : h[2] === 0 ? false : null;
}
// gemv, gemvT, gemm at awkward sizes: relaxed against plain (in ulps of Σ|a·x|, over n), and whole
// calls against the same call cut into blocks of rows (columns for gemvT) at multiples of 4
let worst = 0, partsSame = true, repeatSame = true;
const A = 0, X = 8 * 70000, Y = 8 * 80000, C = 8 * 90000;
for (const [m, n] of [[37, 45], [64, 129], [203, 190]]) {
  for (const h of [plain.heap, fused.heap]) fill(h, m + n);
  const abs = new Float64Array(m);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) abs[i] += Math.abs(plain.heap[i * n + j] * plain.heap[70000 + j]);
  plain.k.gemv(A, n, X, Y, m, n); fused.k.gemv(A, n, X, Y, m, n);
  for (let i = 0; i < m; i++) worst = Math.max(worst, Math.abs(plain.heap[80000 + i] - fused.heap[80000 + i]) / (abs[i] * 2 ** -52) / n);
  const once = fused.heap.slice(80000, 80000 + m);
  fused.k.gemv(A, n, X, Y, m, n);
  repeatSame &&= fused.heap.slice(80000, 80000 + m).every((v, i) => Object.is(v, once[i]));
  const same = (call, whole, size) => {
    const cuts = [0, 4, 12, 24, size - (size % 4), size].filter((c, i, a) => c <= size && (i === 0 || c > a[i - 1]));
    for (const h of [fused.heap, parted.heap]) fill(h, 5 * m + n);
    whole(fused.k);
    for (let p = 0; p + 1 < cuts.length; p++) call(parted.k, cuts[p], cuts[p + 1] - cuts[p]);
    for (let i = 0; i < 140000; i++) if (!Object.is(fused.heap[i], parted.heap[i])) return false;
    return true;
  };
  partsSame &&= same((k, r0, rows) => k.gemv(A + 8 * r0 * n, n, X, Y + 8 * r0, rows, n), (k) => k.gemv(A, n, X, Y, m, n), m);
  partsSame &&= same((k, j0, cols) => k.gemvT(A + 8 * j0, n, X, Y + 8 * j0, m, cols), (k) => k.gemvT(A, n, X, Y, m, n), n);
  partsSame &&= same((k, r0, rows) => k.gemm(C + 8 * r0 * n, n, A + 8 * r0, 1, m, A, n, rows, n, 70, 0), (k) => k.gemm(C, n, A, 1, m, A, n, m, n, 70, 0), m);
  partsSame &&= same((k, r0, rows) => k.ger(A + 8 * r0 * n, n, X + 8 * r0, 1, Y, rows, n), (k) => k.ger(A, n, X, 1, Y, m, n), m);
}
report.worstUlpsOverN = worst;
report.kernelPartsSame = partsSame;
report.repeatSame = repeatSame;
// a module: default = relaxed, and the same bits on 1, 2 and 3 threads (vjp, jvp, Jacobian; ger and the deferred gemm in the layer)
const fillv = (len, seed, scale = 1) => Float64Array.from({ length: len }, (_, i) => ((Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453) % 1) * scale);
const data = { theta: fillv(200, 1).map(Math.abs), A: fillv(220 * 200, 2, 0.1), b: fillv(220, 3) };
const cot = { x: fillv(200, 4) };
const results = async (mod, inputs, cotangent, options) => {
  const inst = mod.create(undefined, options);
  await inst.ready();
  const out = [inst.vjp(inputs, cotangent).gradient];
  if (inst.jacobianForward) out.push({ J: inst.jacobianForward(inputs).jacobian.x.theta.data });
  inst.release();
  return out.flatMap((o) => Object.values(o));
};
const equal = (a, b) => a.length === b.length && a.every((v, i) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(Buffer.from(b[i].buffer, b[i].byteOffset, b[i].byteLength)));
const one = await results(ridge, data, cot, { threads: 1, kernels: 'relaxed' });
report.defaultIsRelaxed = equal(await results(ridge, data, cot, { threads: 1 }), one);
report.threadsSame = [];
for (const threads of [2, 3]) report.threadsSame.push(equal(await results(ridge, data, cot, { threads, kernels: 'relaxed' }), one));
const lin = { W: fillv(192 * 192, 1, 1.5 / 192), c: fillv(192, 2) };
const lone = await results(layer, lin, { x: fillv(192, 3) }, { threads: 1, kernels: 'relaxed' });
for (const threads of [2, 3]) report.threadsSame.push(equal(await results(layer, lin, { x: fillv(192, 3) }, { threads, kernels: 'relaxed' }), lone));
// ridge 310×300, K = 8: the fused reverse sweep (gemvGemvT2), against itself on 2 and 3 threads and against the plain sweeps (observed)
const fdata = { theta: fillv(300, 1).map(Math.abs), A: fillv(310 * 300, 2, 0.1), b: fillv(310, 3) };
const fone = await results(fusedRidge, fdata, { x: fillv(300, 4) }, { threads: 1, kernels: 'relaxed' });
for (const threads of [2, 3]) report.threadsSame.push(equal(await results(fusedRidge, fdata, { x: fillv(300, 4) }, { threads, kernels: 'relaxed' }), fone));
{
  const inst = fusedRidge.create(undefined, { threads: 2, kernels: 'relaxed' });
  await inst.ready();
  report.fusedPlainSame = equal(Object.values(inst.vjp(fdata, { x: fillv(300, 4) }).gradient), Object.values(inst.vjp(fdata, { x: fillv(300, 4) }, undefined, () => {}).gradient));
  inst.release();
}
const simd = await results(ridge, data, cot, { threads: 1, kernels: 'simd' });
let num = 0, den = 0;
one.forEach((v, k) => v.forEach((x, i) => { num = Math.max(num, Math.abs(x - simd[k][i])); den = Math.max(den, Math.abs(simd[k][i])); }));
report.moduleRelative = num / den;
console.log(JSON.stringify(report));
`;

describe('the relaxed kernels, in node --experimental-wasm-relaxed-simd', () => {
  it('are within a few ulps·n of the plain ones, fused where the CPU has FMA, and the same bits on every call, in every part and on 1, 2 or 3 threads', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phic-relaxed-'));
    writeFileSync(join(dir, 'ridge.mjs'), (await compile(ridgeSpec(0.002), { mode: 'both', K: 40, dims: { m: 220, n: 200 } })).files[0]!.contents);
    writeFileSync(join(dir, 'layer.mjs'), (await compile(layer, { mode: 'reverse', K: 40, dims: { n: 192 } })).files[0]!.contents);
    const fused = (await compile(ridgeSpec(0.002), { mode: 'reverse', K: 8, dims: { m: 310, n: 300 } })).files[0]!.contents;
    expect(fused).toContain('kernels.gemvGemvT2(');
    writeFileSync(join(dir, 'fused.mjs'), fused);
    writeFileSync(join(dir, 'kernels-binary.js'), readFileSync(join(ROOT, 'dist/compiler/codegen/wasm/kernels-binary.js')));
    writeFileSync(join(dir, 'main.mjs'), CHILD);
    const out = execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', pathToFileURL(join(dir, 'main.mjs')).pathname], { encoding: 'utf8', timeout: TIMEOUT_MS });
    const report = JSON.parse(out) as ChildReport;
    expect(report.validates).toBe(true);
    // x64 V8 emits vfmadd for relaxed_madd where the CPU has FMA3
    expect(report.fused).not.toBeNull();
    const cpuHasFma = arch() === 'x64' && existsSync('/proc/cpuinfo') && /\bfma\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
    if (cpuHasFma) expect(report.fused).toBe(true);
    expect(report.worstUlpsOverN).toBeLessThan(4);
    expect(report.kernelPartsSame).toBe(true);
    expect(report.repeatSame).toBe(true);
    expect(report.defaultIsRelaxed).toBe(true);
    expect(report.threadsSame).toEqual([true, true, true, true, true, true]);
    expect(report.fusedPlainSame).toBe(true);
    expect(report.moduleRelative).toBeLessThan(1e-12);
  }, TIMEOUT_MS);
});
