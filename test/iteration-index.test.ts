// The iteration index k in formulas (0-based: the step that computes x_{k+1} from x_k): the
// generated code runs the map of step k at step k, forward and backward, and the map of step 0
// at a point; a user name k hides it; the GPU backend and the outer objective refuse it; the lab
// warns that its theory is for a time-invariant map. Derivatives against finite differences and
// forward = reverse at every truncation are checked on the samples (test/samples.test.ts).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, type MapSpec } from '../src/index.js';
import { compileSpec } from '../compiler/pipeline.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { readSpecFile } from '../compiler/spec/read-file.js';
import { relativeDifference } from '../runtime/reference.js';
import { makeProblem, timeVaryingWarnings } from '../src/lab/problem.js';
import { ROOT, cli, removeTempDirs, tempDir } from './helpers/cli.js';

const data = JSON.parse(readFileSync(join(ROOT, 'samples', 'gd_schedule', 'data.json'), 'utf8')) as { theta: number[]; gamma: number; A: number[][]; b: number[] };
const [m, n] = [data.A.length, data.theta.length];
const alpha = 0.1;

/** ∇f(x) = Aᵀ(Ax − b) + θ ∘ x, the gradient of the sample's ridge objective. */
const gradient = (x: number[]) => {
  const r = data.A.map((row, i) => row.reduce((s, a, j) => s + a * x[j]!, 0) - data.b[i]!);
  return x.map((xj, j) => data.A.reduce((s, row, i) => s + row[j]! * r[i]!, 0) + data.theta[j]! * xj);
};

describe('a decaying step size α/(1 + γk)', () => {
  it('runs the step of iteration k at iteration k, as a plain loop does', async () => {
    const source = await readSpecFile(join(ROOT, 'samples', 'gd_schedule', 'gd_schedule.phi.ts'));
    const K = 25;
    const map = (await compile(source, { mode: 'both', K })).create({ m, n });
    let x = new Array<number>(n).fill(0);
    for (let k = 0; k < K; k++) {
      const g = gradient(x);
      x = x.map((v, j) => v - (alpha / (1 + data.gamma * k)) * g[j]!);
    }
    expect(relativeDifference(map.iterate(data as never).state.x as Float64Array, x)).toBeLessThan(1e-14);
    expect((map.meta as { iterationDependent?: boolean }).iterationDependent).toBe(true);
    // at a point, the map of step 0: ∂Φ/∂x = I − α (AᵀA + diag θ)
    const point = { x: [0.3, -0.2, 0.1, 0.5] };
    const J = map.partialX(data as never, point as never);
    const expected = Array.from({ length: n * n }, (_, e) => {
      const [r, c] = [Math.floor(e / n), e % n];
      const AtA = data.A.reduce((s, row) => s + row[r]! * row[c]!, 0);
      return (r === c ? 1 : 0) - alpha * (AtA + (r === c ? data.theta[r]! : 0));
    });
    expect(relativeDifference(J.data, expected)).toBeLessThan(1e-14);
  });
});

describe('the name k', () => {
  const spec = (extra: Partial<MapSpec>): MapSpec => ({ name: 'kmap', state: { x: 'n' }, params: { theta: 'n' }, update: { x: '0.5 * x + theta / (k + 1)' }, ...extra });

  it('is a user name when the spec declares one: a param k hides the iteration index', () => {
    const { model } = compileSpec(inMemorySource(spec({ params: { theta: 'n', k: '' } })), { mode: 'forward', K: 3 });
    expect(model.iteration).toBeNull();
    expect(model.params.map((p) => p.name)).toEqual(['theta', 'k']);
  });

  it('is refused by the GPU backend, and in the outer objective, with the reason', () => {
    expect(() => compileSpec(inMemorySource(spec({})), { mode: 'both', K: 3, backend: 'gpu' })).toThrow(/GPU backend does not support the iteration index k yet: compile this map with --backend cpu/);
    const outer = spec({ outer: { objective: 'k * sum(x)' } });
    expect(() => compileSpec(inMemorySource(outer), { mode: 'reverse', K: 3 })).toThrow(/outer objective is evaluated once, after the iterations: the iteration index k has no value there/);
  });

  it('makes the lab warn that its theory is for a time-invariant map', () => {
    const problem = makeProblem(inMemorySource(spec({})), { theta: [1, 2] });
    expect(timeVaryingWarnings(problem)).toEqual([expect.stringMatching(/iteration index k.*time-invariant map.*k = 0/)]);
    expect(timeVaryingWarnings(makeProblem(inMemorySource(spec({ update: { x: '0.5 * x + theta' } })), { theta: [1, 2] }))).toEqual([]);
  });
});

describe('the lab on a map that reads k', () => {
  afterAll(() => removeTempDirs());
  it('phic curse runs it and warns once, on stderr, before its report', async () => {
    const out = tempDir();
    const r = await cli(['curse', 'samples/gd_schedule/gd_schedule.phi.ts', '--data', 'samples/gd_schedule/data.json', '-K', '20', '-o', out]);
    expect(r.status).toBe(0);
    expect(r.stderr.match(/phic: WARNING: the map reads the iteration index k/g)).toHaveLength(1);
    expect(r.stdout).toMatch(/curse of unrolling: gd_schedule/);
  }, 120_000);
});
