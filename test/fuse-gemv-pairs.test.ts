// The fuse-gemv-pairs pass (compiler/optimise/fuse-gemv-pairs.ts): A x, then v = A x − c or
// nothing, then Aᵀ v, runs as one gemvGemvT call where A is large, in the primal and the
// adjoint steps; the results agree with the plain-loop path, whatever the names; what does not
// have that shape stays two calls.

import { describe, expect, it } from 'vitest';
import { relativeMax } from './helpers/ir.js';
import { compile, defineMap, type MapSpec } from '../src/index.js';

const vec = (len: number, seed: number, scale = 1) => Float64Array.from({ length: len }, (_, i) => Math.sin(seed * 7.3 + i * 1.7) * scale);

/** Ridge regression under adversarial names: the matrix is called like the pass's scratch, the dims d and k. */
const adversarial = defineMap({
  name: 'gemvGemvT',
  state: { kernels: 'k' },
  params: { s: 'k' },
  data: { gemvParts: 'd,k', u: 'd' },
  constants: { v: 0.05 },
  update: { kernels: "kernels - v * (gemvParts' * (gemvParts * kernels - u) + s .* kernels)" },
});

async function agreesWithLoops(spec: MapSpec, dims: Record<string, number>, baked: boolean) {
  const options = { mode: 'both' as const, K: 7, truncate: 2, ...(baked ? { dims } : {}) };
  const fused = await compile(spec, options);
  const loops = await compile(spec, { ...options, kernels: 'js' });
  const [a, b] = [fused.create(baked ? undefined : dims), loops.create(baked ? undefined : dims)];
  return { code: fused.files[0]!.contents, a, b };
}

describe('gemv pairs fused into gemvGemvT', () => {
  it('ridge 200² with baked dims: the step and its adjoint make one call each; every entry point agrees with plain loops', async () => {
    const spec = defineMap({ name: 'ridge', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' }, constants: { alpha: 0.1 }, update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" } });
    const [m, n] = [200, 200];
    const { code, a, b } = await agreesWithLoops(spec, { m, n }, true);
    // A x − b in the step (c = b), AᵀA x̄ in the adjoint (no middle: −1); the tangent steps too
    const body = (fn: string) => code.slice(code.indexOf(`function ${fn}(`), code.indexOf('\n  }\n', code.indexOf(`function ${fn}(`)));
    for (const fn of ['step', 'adjointStep', 'tangentStep']) {
      expect(body(fn)).toContain('kernels.gemvGemvT(');
      expect(body(fn)).not.toMatch(/kernels\.gemvT?\(/);
    }
    expect(code).toMatch(/kernels\.gemvGemvT\(A\.byteOffset, 200, x\.byteOffset, \w+\.byteOffset, b\.byteOffset, /);
    expect(code).toMatch(/kernels\.gemvGemvT\(A\.byteOffset, 200, \w+\.byteOffset, (\w+)\.byteOffset, -1, \1\.byteOffset, /);
    const inputs = { A: vec(m * n, 1, 0.1), b: vec(m, 2), theta: vec(n, 3, 0.5) };
    expect(relativeMax(a.iterate(inputs).state.x!, b.iterate(inputs).state.x!)).toBeLessThan(1e-12);
    const cot = { x: vec(n, 4) };
    expect(relativeMax(a.vjp!(inputs, cot).gradient.theta!, b.vjp!(inputs, cot).gradient.theta!)).toBeLessThan(1e-12);
    const dir = { theta: vec(n, 5) };
    expect(relativeMax(a.jvp!(inputs, dir).tangent.x!, b.jvp!(inputs, dir).tangent.x!)).toBeLessThan(1e-12);
    // observed calls run the JavaScript loops, unobserved ones the WebAssembly sweeps: the same bits
    const seen: number[] = [];
    const observed = a.vjp!(inputs, cot, undefined, (e) => void seen.push(e.k)).gradient.theta!;
    expect(seen.length).toBeGreaterThan(0);
    expect(Buffer.from(observed.buffer).equals(Buffer.from(a.vjp!(inputs, cot).gradient.theta!.buffer))).toBe(true);
  });

  it('adversarial names (the matrix named gemvParts, the state kernels, the dims d and k), dims bound at create(): fused and the same as plain loops', async () => {
    const [d, k] = [9, 13];
    const { code, a, b } = await agreesWithLoops(adversarial, { d, k }, false);
    // the kernels object itself is renamed away from the state's name
    expect(code).toMatch(/kernels2\.gemvGemvT\(gemvParts\.byteOffset, k, kernels\.byteOffset, /);
    const inputs = { gemvParts: vec(d * k, 1, 0.3), u: vec(d, 2), s: vec(k, 3, 0.5) };
    expect(relativeMax(a.iterate(inputs).state.kernels!, b.iterate(inputs).state.kernels!)).toBeLessThan(1e-13);
    const cot = { kernels: vec(k, 4) };
    expect(relativeMax(a.vjp!(inputs, cot).gradient.s!, b.vjp!(inputs, cot).gradient.s!)).toBeLessThan(1e-12);
    expect(relativeMax(a.jacobianForward!(inputs).jacobian.kernels!.s!.data, b.jacobianForward!(inputs).jacobian.kernels!.s!.data)).toBeLessThan(1e-12);
  });

  it('stays two calls where A is small (baked), or the middle is not A x − c (a sigmoid between)', async () => {
    const ridge = defineMap({ name: 'ridge', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' }, constants: { alpha: 0.1 }, update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" } });
    const small = await compile(ridge, { mode: 'reverse', K: 5, dims: { m: 100, n: 100 } });
    expect(small.files[0]!.contents).not.toContain('kernels.gemvGemvT(');
    const logistic = defineMap({ name: 'logistic', state: { w: 'n' }, params: { lambda: 'n' }, data: { X: 'm,n', y: 'm' }, constants: { eta: 0.5 }, update: { w: "w - eta * (X' * (sigmoid(X * w) - y) + lambda .* w)" } });
    const [m, n] = [300, 200];
    const { code, a, b } = await agreesWithLoops(logistic, { m, n }, true);
    expect(code).not.toContain('kernels.gemvGemvT(');
    expect(code).toContain('kernels.gemvT(');
    const inputs = { X: vec(m * n, 1, 0.05), y: vec(m, 2), lambda: vec(n, 3, 0.5) };
    const cot = { w: vec(n, 4) };
    expect(relativeMax(a.vjp!(inputs, cot).gradient.lambda!, b.vjp!(inputs, cot).gradient.lambda!)).toBeLessThan(1e-12);
  });
});
