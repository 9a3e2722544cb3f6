// Mini-batches (`batches: { count, data }`): step k reads batch k mod B, forward and backward, and
// batch 0 at a point; inputs come as a list of B batches or one flat array; bad specs and inputs
// are refused with the field and the reason, and the GPU backend refuses the map. Derivatives
// (forward = reverse at every truncation, finite differences) are checked on the hyper-cleaning
// sample by test/samples.test.ts, its hypergradient by its program (test/sample-programs.test.ts).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile, type MapSpec } from '../src/index.js';
import { compileSpec } from '../compiler/pipeline.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { readSpecFile } from '../compiler/spec/read-file.js';
import { relativeDifference } from '../runtime/reference.js';
import { inferDims } from '../src/infer-dims.js';
import { ROOT } from './helpers/cli.js';

interface Data { Theta: number[][]; X: number[][][]; y: number[][]; onehot: number[][] }
const data = JSON.parse(readFileSync(join(ROOT, 'samples', 'hyper_cleaning', 'data.json'), 'utf8')) as Data;
const [B, b, d] = [data.X.length, data.X[0]!.length, data.X[0]![0]!.length];
const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

describe('SGD over mini-batches (the hyper-cleaning sample)', () => {
  it('step k reads batch k mod B, as a plain loop does; a flat array of all batches works too', async () => {
    const source = await readSpecFile(join(ROOT, 'samples', 'hyper_cleaning', 'hyper_cleaning.phi.ts'));
    const K = 11;
    const map = (await compile(source, { mode: 'both', K })).create({ B, b, d, v: 12 });
    const Theta = data.Theta.map((row, j) => row.map((_, i) => 0.3 * Math.sin(j * b + i)));
    let w = new Array<number>(d).fill(0);
    for (let k = 0; k < K; k++) {
      const [X, y, weights] = [data.X[k % B]!, data.y[k % B]!, Theta[k % B]!.map(sigmoid)];
      const r = X.map((row, i) => weights[i]! * (sigmoid(row.reduce((s, a, j) => s + a * w[j]!, 0)) - y[i]!));
      w = w.map((wj, j) => wj - (X.reduce((s, row, i) => s + row[j]! * r[i]!, 0) / b + 0.01 * wj));
    }
    const inputs = { ...data, Theta };
    expect(relativeDifference(map.iterate(inputs as never).state.w as Float64Array, w)).toBeLessThan(1e-14);
    const flat = { ...inputs, X: Float64Array.from(data.X.flat(2)), y: Float64Array.from(data.y.flat()) };
    expect(relativeDifference(map.iterate(flat as never).state.w as Float64Array, w)).toBeLessThan(1e-14);
    expect((map.meta as { batches?: unknown }).batches).toEqual({ count: 'B', data: ['X', 'y', 'onehot'] });
  });

  it('takes the batch count and the batch shape from a list of batches', async () => {
    const source = await readSpecFile(join(ROOT, 'samples', 'hyper_cleaning', 'hyper_cleaning.phi.ts'));
    const { model } = compileSpec(source, { mode: 'forward', K: 1 });
    expect(inferDims(model, data as never, undefined, { optionalOuterDims: true })).toEqual({ d, B, b, v: 12 });
  });
});

describe('refused, with the field and the reason', () => {
  const spec = (extra: Partial<MapSpec>): MapSpec => ({ name: 'mb', state: { w: 'n' }, params: { theta: 'n' }, data: { X: 'b,n' }, batches: { count: 'B', data: ['X'] }, update: { w: "w - 0.1 * X' * (X * w) + theta" }, ...extra });
  it.each([
    [{ batches: { count: 'B', data: ['Z'] } }, /batches\.data lists names of data, got "Z"/],
    [{ batches: { count: 'B', data: ['X', 'X'] } }, /X is listed twice/],
    [{ batches: { data: ['X'] } }, /batches must look like \{ count: 'B', data: \['X', 'y'\] \}/],
  ] as [Partial<MapSpec>, RegExp][])('%o', (extra, message) => {
    expect(() => compileSpec(inMemorySource(spec(extra)), { mode: 'forward', K: 1 })).toThrow(message);
  });

  it('a wrong number of batches, and the GPU backend', async () => {
    const map = (await compile(inMemorySource(spec({})), { mode: 'forward', K: 2 })).create({ n: 2, b: 3, B: 2 });
    const batch = [[1, 0], [0, 1], [1, 1]];
    expect(() => map.iterate({ theta: [0, 0], X: [batch] } as never)).toThrow(/input X must be a list of 2 batches, got 1/);
    expect(() => map.iterate({ theta: [0, 0], X: [batch, [[1, 2]]] } as never)).toThrow(/input X batch 1 must be a 3×2 matrix/);
    expect(() => compileSpec(inMemorySource(spec({})), { mode: 'forward', K: 1, backend: 'gpu' })).toThrow(/GPU backend does not support mini-batches \(batches\) yet: compile this map with --backend cpu/);
  });
});

describe('names', () => {
  it('user names like the generated ones (iteration, X_batches, toFlatBatches) give the bytes of plain names', async () => {
    const make = (n: Record<string, string>): MapSpec => ({
      name: 'mbnames', state: { [n.w!]: 'n' }, params: { [n.theta!]: 'n' }, data: { [n.X!]: 'b,n', [n.Y!]: 'b' },
      batches: { count: n.B!, data: [n.X!, n.Y!] },
      update: { [n.w!]: `${n.w} - 0.1 / (1 + k) * (${n.X}' * (${n.X} * ${n.w} - ${n.Y}) + ${n.theta} .* ${n.w})` },
    });
    const plain = { w: 'w', theta: 'theta', X: 'X', Y: 'Y', B: 'B' };
    const odd = { w: 'iteration', theta: 'toFlatBatches', X: 'X_batches', Y: 'iteration_batches', B: 'd' };
    const run = async (n: Record<string, string>) => {
      const map = (await compile(inMemorySource(make(n)), { mode: 'both', K: 7 })).create({ n: 2, b: 3, [n.B!]: 2 } as never);
      const inputs = { [n.theta!]: [0.1, 0.2], [n.X!]: [[[1, 0], [0, 1], [1, 1]], [[2, 1], [1, 0], [0, 3]]], [n.Y!]: [[1, 2, 3], [0, 1, 2]] };
      const out = map.vjp(inputs as never, { [n.w!]: [1, -1] } as never);
      return [...(out.state[n.w!] as Float64Array), ...(out.gradient[n.theta!] as Float64Array)];
    };
    expect(await run(odd)).toEqual(await run(plain));
  });
});
