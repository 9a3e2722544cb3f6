// Sequential (Gauss–Seidel) updates: with `sequential: true` the state components update in the
// order of `state`, and a formula reads an earlier component's new value as <name>_next. The
// Sinkhorn sample (f, then g from the new f) against a plain loop; the errors for reading a new
// value without the flag, or before it exists; the GPU module against the CPU. Derivatives
// (forward = reverse at every truncation, finite differences) are checked on the sample by
// test/samples.test.ts.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile, type MapSpec } from '../src/index.js';
import { compileSpec } from '../compiler/pipeline.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { readSpecFile } from '../compiler/spec/read-file.js';
import { relativeDifference } from '../runtime/reference.js';
import { expectGpuMatchesCpu, webasmGpu } from './helpers/webasm-gpu.js';
import { ROOT } from './helpers/cli.js';

const data = JSON.parse(readFileSync(join(ROOT, 'samples', 'sinkhorn', 'data.json'), 'utf8')) as { C: number[][]; a: number[]; b: number[] };
const eps = 0.01;
const lse = (xs: number[]) => Math.max(...xs) + Math.log(xs.reduce((s, x) => s + Math.exp(x - Math.max(...xs)), 0));

describe('log-domain Sinkhorn, f then g', () => {
  it('runs g from the new f in each step, as a plain loop does', async () => {
    const source = await readSpecFile(join(ROOT, 'samples', 'sinkhorn', 'sinkhorn.phi.ts'));
    const K = 40;
    const map = (await compile(source, { mode: 'both', K })).create({ n: data.a.length, m: data.b.length });
    let f = data.a.map(() => 0);
    let g = data.b.map(() => 0);
    for (let k = 0; k < K; k++) {
      f = data.C.map((row, i) => eps * Math.log(data.a[i]!) - eps * lse(row.map((c, j) => (g[j]! - c) / eps)));
      g = data.b.map((bj, j) => eps * Math.log(bj) - eps * lse(data.C.map((row, i) => (f[i]! - row[j]!) / eps)));
    }
    const { state } = map.iterate(data as never);
    expect(relativeDifference(state.f as Float64Array, f)).toBeLessThan(1e-13);
    expect(relativeDifference(state.g as Float64Array, g)).toBeLessThan(1e-13);
  });
});

describe('reading a new value', () => {
  const spec = (extra: Partial<MapSpec>): MapSpec => ({ name: 'gs', state: { u: 'n', w: 'n' }, params: { theta: 'n' }, update: { u: '0.5 * w + theta', w: '0.5 * u_next' }, ...extra });
  const fails = (s: MapSpec) => () => compileSpec(inMemorySource(s), { mode: 'forward', K: 2 });
  it('needs sequential: true, and only reads components updated before', () => {
    expect(fails(spec({}))).toThrow(/'u_next' is the new value of u: set sequential: true to update the state components in order \(u, w\)/);
    expect(fails(spec({ sequential: true, update: { u: '0.5 * w_next + theta', w: '0.5 * u' } }))).toThrow(/'w_next' is not known yet: the state components update in the order u, w/);
    expect(fails({ name: 'gd', state: { x: 'n' }, params: { theta: 'n' }, objective: 'sum((x - theta) .^ 2)', method: { name: 'gd', step: 0.1 }, sequential: true } as MapSpec)).toThrow(/sequential orders the formulas of update/);
  });

  it('a scalar new value broadcasts like the update it comes from', async () => {
    const s = spec({ sequential: true, update: { u: 'sum(theta)', w: 'u_next + w' } });
    const map = (await compile(inMemorySource(s), { mode: 'forward', K: 1 })).create({ n: 3 });
    expect(Array.from(map.iterate({ theta: [1, 2, 3] } as never).state.w as Float64Array)).toEqual([6, 6, 6]);
  });
});

describe('a sequential map on the GPU (webasm, float32)', () => {
  const gpu = webasmGpu();
  it('matches the float64 CPU module within float32 tolerance (Sinkhorn at ε = 0.5)', async () => {
    const spec: MapSpec = {
      name: 'sinkhorn_gpu', state: { f: 'n', g: 'm' }, params: { C: 'n,m' }, data: { a: 'n', b: 'm' }, constants: { eps: 0.5 }, sequential: true,
      update: { f: 'eps * log(a) - eps * logsumexp((g - C) / eps, 2)', g: 'eps * log(b) - eps * logsumexp((outer(f_next, ones(m)) - C) / eps, 1)' },
    };
    await expectGpuMatchesCpu({ source: inMemorySource(spec), inputs: data as never, x0: {} as never, dims: { n: data.a.length, m: data.b.length }, maxDim: data.a.length }, gpu(), 10);
  });
});
