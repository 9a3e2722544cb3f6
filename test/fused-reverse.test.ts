// The fused reverse sweep (Plan.fusedReverse, optimise/pair-products.ts): where x̄ ← x̄ ∂ₓΦ
// reads no state, an unobserved VJP runs the adjoint chain beside the iterations, each step's
// two gemvGemvT calls on A as one gemvGemvT2 (or, with AᵀA formed once, its two gemv as one
// gemv2). Its results are the plain sweeps' bits (an observed call runs those), with one and
// two threads, under adversarial names and with two state components; a value that is not
// finite makes it give up, and the plain sweeps throw the usual error; where it cannot apply
// (the adjoint reads the state, the parameter adjoint has a product, the products are small)
// the module has no fused sweep.

import { describe, expect, it } from 'vitest';
import { relativeMax } from './helpers/ir.js';
import { compile, defineMap, type MapSpec } from '../src/index.js';

const vec = (len: number, seed: number, scale = 1) => Float64Array.from({ length: len }, (_, i) => Math.sin(seed * 7.3 + i * 1.7) * scale);
const bytes = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const noop = () => {};
/** What a module with the fused sweep has (the kernels' runtime mentions gemvGemvT2 in every module). */
const FUSED = /function vjpFused|kernels\.gemvGemvT2\(|const PAIRED_KERNELS/;

type Result = { state: Record<string, Float64Array>; gradient: Record<string, Float64Array>; x0Gradient: Record<string, Float64Array> };

/** Every array of two VJP results, bit for bit. */
function expectSameBits(a: Result, b: Result) {
  for (const part of ['state', 'gradient', 'x0Gradient'] as const) {
    expect(Object.keys(a[part]).sort()).toEqual(Object.keys(b[part]).sort());
    for (const key of Object.keys(a[part])) expect(bytes(a[part][key]!).equals(bytes(b[part][key]!)), `${part}.${key}`).toBe(true);
  }
}

/** The module's code, and its VJP unobserved (fused) and observed (the plain sweeps) on 1 and 2 threads, all the same bits; and plain loops to 1e-12. */
async function fusedAgrees(spec: MapSpec, dims: Record<string, number>, K: number, truncate: number, inputs: Record<string, Float64Array>, cotangent: Record<string, Float64Array>, x0: Record<string, Float64Array>) {
  const compiled = await compile(spec, { mode: 'reverse', K, truncate, dims });
  const loops = await compile(spec, { mode: 'reverse', K, truncate, dims, kernels: 'js' });
  const reference = loops.create().vjp!(inputs, cotangent, x0) as Result;
  for (const threads of [1, 2]) {
    const instance = compiled.create(undefined, { threads });
    await instance.ready();
    const fused = instance.vjp!(inputs, cotangent, x0) as Result;
    const steps: number[] = [];
    const plain = instance.vjp!(inputs, cotangent, x0, (e) => void steps.push(e.k)) as Result;
    expect(steps.length).toBe(2 * (K - truncate) + truncate);
    expectSameBits(fused, plain);
    for (const part of ['state', 'gradient', 'x0Gradient'] as const) {
      for (const key of Object.keys(reference[part])) {
        // (with t > 0 the x0 part is exactly zero)
        if (reference[part][key]!.every((v) => v === 0)) expect(fused[part][key]!.every((v) => v === 0), `${part}.${key}`).toBe(true);
        else expect(relativeMax(fused[part][key]!, reference[part][key]!), `${part}.${key}`).toBeLessThan(1e-12);
      }
    }
    instance.release();
  }
  return compiled.files[0]!.contents;
}

describe('the fused reverse sweep', () => {
  const ridge = defineMap({ name: 'ridge', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' }, constants: { alpha: 0.05 }, update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" } });
  const [m, n] = [230, 200];
  const data = { A: vec(m * n, 1, 0.1), b: vec(m, 2), theta: vec(n, 3, 0.5).map(Math.abs) };

  it.each([0, 3])('ridge 230×200, K = 9, t = %i: one gemvGemvT2 a step; the same bits as the plain sweeps, on 1 and 2 threads', async (t) => {
    const code = await fusedAgrees(ridge, { m, n }, 9, t, data, { x: vec(n, 4) }, { x: vec(n, 5) });
    expect(code).toMatch(/function vjpFused\(/);
    expect(code.match(/kernels\.gemvGemvT2\(/g)).toHaveLength(1);
    expect(code).toContain('const PAIRED_KERNELS = ');
    expect(code).toContain('kernelsFor(options, PAIRED_KERNELS)');
  });

  it('adversarial names (the state named like the adjoint tape, the matrix PAIRED_KERNELS, the data fusedSweep and gemvParts2, the param result, the dims d and k): fused, the same bits', async () => {
    const spec = defineMap({
      name: 'vjpFused',
      state: { x_bar_tape: 'k' },
      params: { result: 'k' },
      data: { PAIRED_KERNELS: 'd,k', fusedSweep: 'd', gemvParts2: 'k' },
      constants: { vjpFused: 0.05 },
      update: { x_bar_tape: "x_bar_tape - vjpFused * (PAIRED_KERNELS' * (PAIRED_KERNELS * x_bar_tape - fusedSweep) + result .* x_bar_tape + gemvParts2)" },
    });
    const inputs = { PAIRED_KERNELS: data.A, fusedSweep: data.b, result: data.theta, gemvParts2: vec(n, 8) };
    const code = await fusedAgrees(spec, { d: m, k: n }, 6, 1, inputs, { x_bar_tape: vec(n, 4) }, { x_bar_tape: vec(n, 5) });
    // the matrix's buffer is renamed away from the runtime's constant, the sweep's function from the data, the driver's local from the param
    expect(code).toMatch(/kernels\.gemvGemvT2\(PAIRED_KERNELS\d+\.byteOffset, /);
    expect(code).toContain('kernelsFor(options, PAIRED_KERNELS)');
    expect(code).toMatch(/function fusedSweep\d+\(/);
    expect(code).toMatch(/const result\d+ = vjpFused\d+\(/);
  });

  it('ridge 220×200, K = 60 (AᵀA formed once): the two gemv on it as one gemv2 a step, the same bits', async () => {
    const code = await fusedAgrees(ridge, { m: 220, n: 200 }, 60, 5, { ...data, A: vec(220 * 200, 1, 0.1), b: vec(220, 2) }, { x: vec(n, 4) }, { x: vec(n, 5) });
    expect(code).toMatch(/kernels\.gemm\(.*, 1\);/);
    expect(code.match(/kernels\.gemv2\(/g)).toHaveLength(1);
    expect(code).not.toContain('kernels.gemvGemvT2(');
  });

  it('two state components (heavy ball): one gemvGemvT2 a step, the same bits', async () => {
    const spec = defineMap({
      name: 'heavyBall',
      state: { x: 'n', v: 'n' },
      params: { theta: 'n' },
      data: { A: 'm,n', b: 'm' },
      constants: { alpha: 0.05, beta: 0.5 },
      update: { v: "beta * v - alpha * (A' * (A * x - b) + theta .* x)", x: "x + beta * v - alpha * (A' * (A * x - b) + theta .* x)" },
    });
    const code = await fusedAgrees(spec, { m, n }, 7, 0, data, { x: vec(n, 4), v: vec(n, 6) }, { x: vec(n, 5), v: vec(n, 7) });
    expect(code.match(/kernels\.gemvGemvT2\(/g)).toHaveLength(1);
  });

  it('gives up on a value that is not finite: the plain sweeps throw the error an observed call throws', async () => {
    const compiled = await compile(ridge, { mode: 'reverse', K: 9, dims: { m, n } });
    const instance = compiled.create(undefined, { threads: 1 });
    const huge = { ...data, A: vec(m * n, 1, 1e100) };
    const message = (observe?: () => void) => {
      try {
        instance.vjp!(huge, { x: vec(n, 4) }, undefined, observe);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    expect(message()).toMatch(/non-finite .* at iteration \d+ of 9/);
    expect(message()).toBe(message(noop));
    // and the next call is fused again, from a clean start
    const fine = instance.vjp!(data, { x: vec(n, 4) }) as Result;
    expectSameBits(fine, instance.vjp!(data, { x: vec(n, 4) }, undefined, noop) as Result);
  });

  it('where it does not apply there is none: a tanh step (the adjoint reads the state), a matrix param (its adjoint is a product), products too small to pay for its JavaScript loop (20², the plain sweeps run whole in WebAssembly)', async () => {
    const cases: [MapSpec, Record<string, number>, number][] = [
      [defineMap({ name: 'layer', state: { x: 'n' }, params: { W: 'n,n', c: 'n' }, data: {}, update: { x: 'tanh(W * x + c)' } }), { n: 200 }, 9],
      [defineMap({ name: 'matrixParam', state: { x: 'n' }, params: { W: 'n,n' }, data: { A: 'm,n', b: 'm' }, update: { x: "x - 0.01 * (A' * (A * x - b) + W * x)" } }), { m, n }, 9],
      [ridge, { m: 20, n: 20 }, 60],
    ];
    for (const [spec, dims, K] of cases) {
      const { files } = await compile(spec, { mode: 'reverse', K, dims });
      expect(files[0]!.contents, spec.name).not.toMatch(FUSED);
    }
  });

  it('dims bound at create(), or checkpoints: the plain sweeps only', async () => {
    for (const options of [{}, { dims: { m, n }, checkpoints: 3 }]) {
      const { files } = await compile(ridge, { mode: 'reverse', K: 9, ...options });
      expect(files[0]!.contents).not.toMatch(FUSED);
    }
  });
});
