// The forward step's paired products (optimise/pair-products.ts): where an iteration and its
// tangent multiply the same matrix (A x and A ẋ, or AᵀA formed once), the forward step calls
// gemv2 once instead of gemv twice, in JavaScript and in the WebAssembly sweep. The JVP is the
// same bits observed (the JavaScript loop) and unobserved (the sweep), on 1 and 2 threads, and
// plain loops' to 1e-12; adversarial names; a nonlinear map whose third product (on the
// direction Ẇ) has no partner.

import { describe, expect, it } from 'vitest';
import { relativeMax } from './helpers/ir.js';
import { compile, defineMap, type MapSpec } from '../src/index.js';

const vec = (len: number, seed: number, scale = 1) => Float64Array.from({ length: len }, (_, i) => Math.sin(seed * 7.3 + i * 1.7) * scale);
const bytes = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** The module's code; its JVP unobserved and observed on 1 and 2 threads, all the same bits, and plain loops' to 1e-12. */
async function jvpAgrees(spec: MapSpec, dims: Record<string, number>, K: number, inputs: Record<string, Float64Array>, direction: Record<string, Float64Array>) {
  const compiled = await compile(spec, { mode: 'forward', K, dims });
  const loops = await compile(spec, { mode: 'forward', K, dims, kernels: 'js' });
  const reference = loops.create().jvp!(inputs, direction);
  let first: Record<string, Float64Array> | null = null;
  for (const threads of [1, 2]) {
    const instance = compiled.create(undefined, { threads });
    await instance.ready();
    const unobserved = instance.jvp!(inputs, direction);
    let steps = 0;
    const observed = instance.jvp!(inputs, direction, undefined, () => void steps++);
    expect(steps).toBe(K);
    for (const part of ['state', 'tangent'] as const) {
      for (const key of Object.keys(reference[part])) {
        expect(bytes(unobserved[part][key]!).equals(bytes(observed[part][key]!)), `${part}.${key}`).toBe(true);
        expect(relativeMax(unobserved[part][key]!, reference[part][key]!), `${part}.${key}`).toBeLessThan(1e-12);
      }
    }
    const tangent = Object.values(unobserved.tangent)[0]!;
    if (first) expect(bytes(tangent).equals(bytes(Object.values(first)[0]!))).toBe(true);
    first = unobserved.tangent;
    instance.release();
  }
  return compiled.files[0]!.contents;
}

/** The body of the generated forward step (forwardStep, or its renamed twin). */
const forwardStep = (code: string) => code.slice(code.search(/function forwardStep\d*\(/), code.indexOf('\n  }\n', code.search(/function forwardStep\d*\(/)));

describe('the forward step pairs its products on one matrix', () => {
  it('least squares with respect to (A, b), AᵀA formed once (the peer benchmark\'s P2 at 100×50): one gemv2 on AᵀA, the same bits', async () => {
    const spec = defineMap({ name: 'least_squares', state: { x: 'n' }, params: { A: 'm,n', b: 'm' }, objective: '0.5 * sum((A * x - b).^2)', method: { name: 'gd', step: 0.3 } });
    const [m, n] = [100, 50];
    const inputs = { A: vec(m * n, 1, 0.1), b: vec(m, 2) };
    const code = await jvpAgrees(spec, { m, n }, 200, inputs, { A: vec(m * n, 3), b: vec(m, 4) });
    const step = forwardStep(code);
    expect(step.match(/kernels\.gemv2\(/g)).toHaveLength(1);
    expect(step.match(/kernels\.gemv\(/g)).toHaveLength(1);
    expect(code).toContain('kernelsFor(options, PAIRED_KERNELS)');
  });

  it('ridge 60×40 with respect to θ, A x and A ẋ each step (K small: AᵀA not formed): paired, the same bits; adversarial names (the matrix gemv2, the state PAIRED_KERNELS, the param first)', async () => {
    const spec = defineMap({ name: 'ridge', state: { PAIRED_KERNELS: 'n' }, params: { first: 'n' }, data: { gemv2: 'm,n', b: 'm' }, constants: { alpha: 0.05 }, update: { PAIRED_KERNELS: "PAIRED_KERNELS - alpha * (gemv2' * (gemv2 * PAIRED_KERNELS - b) + first .* PAIRED_KERNELS)" } });
    const [m, n] = [60, 40];
    const inputs = { gemv2: vec(m * n, 1, 0.1), b: vec(m, 2), first: vec(n, 3, 0.5).map(Math.abs) };
    const code = await jvpAgrees(spec, { m, n }, 3, inputs, { first: vec(n, 4) });
    const step = forwardStep(code);
    expect(step).toMatch(/kernels\.gemv2\(gemv2\d*\.byteOffset, /);
    expect(code).toContain('kernelsFor(options, PAIRED_KERNELS)');
  });

  it('a tanh layer (W a parameter, the step nonlinear): W x and W ẋ paired, Ẇ x not; the same bits', async () => {
    const spec = defineMap({ name: 'layer', state: { x: 'n' }, params: { W: 'n,n', c: 'n' }, data: {}, update: { x: 'tanh(W * x + c)' } });
    const n = 40;
    const code = await jvpAgrees(spec, { n }, 10, { W: vec(n * n, 1, 1.5 / n), c: vec(n, 2) }, { W: vec(n * n, 3), c: vec(n, 4) });
    const step = forwardStep(code);
    expect(step).toMatch(/kernels\.gemv2\(W\.byteOffset, /);
    expect(step).toMatch(/kernels\.gemv\(W_dot\.byteOffset, /);
  });
});
