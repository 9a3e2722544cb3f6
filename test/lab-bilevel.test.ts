// The bilevel lab (Algorithm 1, MATH.md §6): generated hypergradients against finite
// differences and the implicit hypergradient, warm against cold starts (claim C10), the outer
// loss over a run, a spec without an outer objective, and `phic bilevel` end to end.

import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemorySource } from '../compiler/spec/source.js';
import { PhicError } from '../compiler/errors.js';
import { centralDifference, randomGenerator, relativeDifference } from '../runtime/reference.js';
import { loadProblem, makeProblem, type LabProblem, type Named } from '../src/lab/problem.js';
import {
  coldStart,
  implicitHypergradient,
  initialTheta,
  inputsAt,
  runBilevel,
  unrolledHypergradient,
  type BilevelResult,
} from '../src/lab/bilevel.js';
import { median } from '../src/lab/stats.js';
import { SERIES, compactJson, sampleSteps } from '../src/commands/bilevel.js';
import { ROOT, STACK_TRACE, cli, listDir, removeTempDirs, requireBuiltCli, runCli, tempDir } from './helpers/cli.js';

const SPEC = join(ROOT, 'samples', 'bilevel', 'ridge-bilevel.phi.json');
const DATA = join(ROOT, 'samples', 'bilevel', 'data.json');

/** The working example from the brief: θ enters linearly, the outer loss is a validation error. */
const RIDGE_BILEVEL = {
  name: 'ridge_bilevel',
  state: { x: 'n' },
  params: { theta: 'n' },
  data: { A: 'm,n', b: 'm' },
  constants: { alpha: 0.1 },
  update: { x: 'x - alpha * (A\' * (A * x - b) + theta .* x)' },
  outer: { objective: '0.5*sum((Av*x - bv).^2)', data: { Av: 'k,n', bv: 'k' } },
};

function randomRidge(seed: number, m = 12, n = 5, k = 9): LabProblem {
  const rng = randomGenerator(seed);
  const matrix = (rows: number, cols: number) => Array.from({ length: rows }, () => Array.from(rng.vector(cols, 'normal'), (v) => 0.4 * v));
  const inputs = {
    A: matrix(m, n),
    b: Array.from(rng.vector(m, 'normal')),
    Av: matrix(k, n),
    bv: Array.from(rng.vector(k, 'normal')),
    theta: Array.from(rng.vector(n), (u) => 0.2 + 0.5 * u),
  };
  return makeProblem(inMemorySource(RIDGE_BILEVEL), inputs);
}

/** θ ↦ ℓ(x_K(θ), θ), from generated iterate and outerAt. */
async function unrolledLoss(problem: LabProblem, K: number, x0: Named): Promise<(theta: Float64Array) => Float64Array> {
  const inst = await problem.instance(K, 0, 'forward');
  return (theta) => {
    const inputs = inputsAt(problem, theta);
    const xK = inst.iterate(inputs as never, x0 as never).state;
    return Float64Array.of(inst.outerAt!(inputs, xK).loss);
  };
}

/** The full finite-difference gradient of a scalar function, one coordinate at a time. */
function fdGradient(f: (theta: Float64Array) => Float64Array, theta: Float64Array, h: number): Float64Array {
  return Float64Array.from(theta, (_, i) => {
    const e = new Float64Array(theta.length);
    e[i] = 1;
    return centralDifference(f, theta, e, h)[0]!;
  });
}

let sample: LabProblem;
beforeAll(async () => {
  sample = await loadProblem(SPEC, DATA);
});

describe('hypergradient', () => {
  it('matches finite differences of θ ↦ ℓ(x_K(θ), θ) (brief example, cold and warm x⁰)', async () => {
    for (const seed of [1, 2]) {
      const problem = randomRidge(seed);
      const K = 25;
      const theta = initialTheta(problem);
      const rng = randomGenerator(100 + seed);
      for (const x0 of [coldStart(problem), { x: rng.vector(problem.stateSize, 'normal') }]) {
        const inst = await problem.instance(K, 0, 'reverse');
        const g = unrolledHypergradient(problem, inst, theta, x0).gradient;
        const fd = fdGradient(await unrolledLoss(problem, K, x0), theta, 1e-5);
        expect(relativeDifference(g, fd)).toBeLessThan(1e-7);
      }
    }
  });

  it('matches finite differences on the sample (sigmoid penalties)', async () => {
    const K = 15;
    const theta = initialTheta(sample);
    const inst = await sample.instance(K, 0, 'reverse');
    const x0 = coldStart(sample);
    const r = unrolledHypergradient(sample, inst, theta, x0);
    const f = await unrolledLoss(sample, K, x0);
    expect(r.loss).toBeCloseTo(f(theta)[0]!, 10);
    expect(relativeDifference(r.gradient, fdGradient(f, theta, 1e-5))).toBeLessThan(1e-6);
  });

  it('approaches the implicit hypergradient g* as K grows', async () => {
    const theta = initialTheta(sample);
    const star = await implicitHypergradient(sample, theta);
    expect(star.converged).toBe(true);
    const errors: number[] = [];
    for (const K of [20, 100, 400, 1500]) {
      const inst = await sample.instance(K, 0, 'reverse');
      errors.push(relativeDifference(unrolledHypergradient(sample, inst, theta, coldStart(sample)).gradient, star.gradient));
    }
    for (let i = 1; i < errors.length; i++) expect(errors[i]!).toBeLessThan(errors[i - 1]!);
    expect(errors[0]!).toBeGreaterThan(1e-2);
    expect(errors[errors.length - 1]!).toBeLessThan(1e-9);
  });

  it('g* agrees with finite differences of θ ↦ ℓ(x*(θ), θ) (brief example)', async () => {
    const problem = randomRidge(3);
    const theta = initialTheta(problem);
    const star = await implicitHypergradient(problem, theta);
    const f = async (t: Float64Array) => (await implicitHypergradient(problem, t)).loss;
    const fd = new Float64Array(theta.length);
    const h = 1e-5;
    for (let i = 0; i < theta.length; i++) {
      const p = Float64Array.from(theta);
      const m = Float64Array.from(theta);
      p[i]! += h;
      m[i]! -= h;
      fd[i] = ((await f(p)) - (await f(m))) / (2 * h);
    }
    expect(relativeDifference(star.gradient, fd)).toBeLessThan(1e-6);
  });
});

describe('Algorithm 1: warm against cold starts', () => {
  let result: BilevelResult;
  let ticks = 0;
  beforeAll(async () => {
    result = await runBilevel(sample, { K: 60, steps: 40, eta: 0.5, onStep: () => ticks++ });
  }, 180_000); // a second on an idle machine, many more on a loaded one

  it('records both traces at every outer step, with consistent numbers', () => {
    expect(ticks).toBe(80);
    for (const tr of [result.cold!, result.warm!]) {
      expect(tr.steps.map((s) => s.step)).toEqual(Array.from({ length: 40 }, (_, j) => j));
      for (const s of tr.steps) {
        expect(s.converged).toBe(true);
        expect(s.hypergradient).toHaveLength(20);
        expect(s.implicit).toHaveLength(20);
        expect(s.error).toBeCloseTo(Math.hypot(...s.hypergradient.map((g, i) => g - s.implicit[i]!)), 12);
        expect(s.relativeError).toBeCloseTo(s.error / s.implicitNorm, 12);
      }
      // θ_{j+1} = θ_j − η g_j.
      for (let j = 1; j < tr.steps.length; j++) {
        const prev = tr.steps[j - 1]!;
        tr.steps[j]!.theta.forEach((t, i) => expect(t).toBeCloseTo(prev.theta[i]! - 0.5 * prev.hypergradient[i]!, 12));
      }
    }
    // Step 0 is the same run either way.
    expect(result.warm!.steps[0]!.error).toBe(result.cold!.steps[0]!.error);
  });

  it('C10: warm starting lowers the median hypergradient error by a clear margin at equal K', () => {
    const s = result.summary!;
    expect(s.medianError.cold).toBe(median(result.cold!.steps.map((x) => x.error)));
    expect(s.ratio).toBeGreaterThan(4);
    expect(s.medianRelativeError.warm).toBeLessThan(s.medianRelativeError.cold / 2);
    // After the first few outer steps, warm beats cold at every step.
    for (let j = 3; j < 40; j++) expect(result.warm!.steps[j]!.error).toBeLessThan(result.cold!.steps[j]!.error);
    expect(s.sentence).toMatch(/^warm starting lowered the median hypergradient error by \d+(\.\d+)?×/);
  });

  it('C10: warm starting keeps x⁰ much closer to x*(θ) (implicit truncation)', () => {
    const s = result.summary!;
    expect(s.medianStartDistance.warm).toBeLessThan(s.medianStartDistance.cold / 100);
    const warm = result.warm!.steps.map((x) => x.startDistance);
    expect(warm[warm.length - 1]!).toBeLessThan(warm[1]!);
  });

  it('decreases the outer loss over the run', () => {
    const s = result.summary!;
    expect(s.finalLoss.warm).toBeLessThan(s.initialLoss / 4);
    expect(s.finalLoss.cold).toBeLessThan(s.initialLoss / 4);
    expect(s.finalLoss.warm).toBeLessThan(s.finalLoss.cold);
    const warm = result.warm!.steps.map((x) => x.lossAtStar);
    for (let j = 1; j < warm.length; j++) expect(warm[j]!).toBeLessThanOrEqual(warm[j - 1]! * (1 + 1e-12));
    expect(s.lossSentence).toContain('warm starting ended lower');
  });

  it('passes the truncation index to the generated reverse sweep', async () => {
    const r = await runBilevel(sample, { K: 20, truncate: 5, steps: 2, eta: 0.5, starts: ['cold'] });
    expect(r.truncate).toBe(5);
    expect(r.warm).toBeUndefined();
    const full = await runBilevel(sample, { K: 20, steps: 1, eta: 0.5, starts: ['cold'] });
    expect(r.cold!.steps[0]!.lossAtXK).toBeCloseTo(full.cold!.steps[0]!.lossAtXK, 12);
    expect(relativeDifference(r.cold!.steps[0]!.hypergradient, full.cold!.steps[0]!.hypergradient)).toBeGreaterThan(1e-6);
  });

  it('rejects bad options as usage errors', async () => {
    for (const bad of [{ K: 0 }, { truncate: 20 }, { steps: 0 }, { eta: -1 }, { eta: Number.NaN }]) {
      const err = await runBilevel(sample, { K: 20, steps: 2, eta: 0.1, ...bad }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PhicError);
      expect((err as PhicError).category).toBe('usage');
    }
  });
});

describe('an outer objective with no data of its own', () => {
  it('hypergradient of ½‖x_K‖² needs no outer inputs and matches finite differences', async () => {
    const spec = {
      name: 'ridge_norm', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' }, constants: { alpha: 0.1 },
      update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" }, outer: { objective: '0.5*sum(x.^2)' },
    };
    const rng = randomGenerator(11);
    const inputs = { A: Array.from({ length: 5 }, () => Array.from(rng.vector(3, 'uniform'))), b: Array.from(rng.vector(5, 'normal')), theta: [0.3, 0.2, 0.1] };
    const problem = makeProblem(inMemorySource(spec), inputs);
    const inst = await problem.instance(40, 0, 'both');
    const h = inst.hypergradient!(inputs);
    const loss = (theta: Float64Array) => {
      const xK = inst.iterate({ ...inputs, theta } as never).state.x!;
      return Float64Array.of(0.5 * xK.reduce((p, v) => p + v * v, 0));
    };
    const v = rng.vector(3, 'normal');
    const fd = centralDifference(loss, Float64Array.from(inputs.theta), v)[0]!;
    const analytic = h.gradient.theta!.reduce((p, g, i) => p + g * v[i]!, 0);
    expect(relativeDifference([analytic], [fd])).toBeLessThan(1e-7);
  });
});

describe('a spec without an outer objective', () => {
  it('is a spec error that says what to add', async () => {
    const { outer: _outer, ...inner } = RIDGE_BILEVEL;
    const problem = makeProblem(inMemorySource(inner), { A: [[1, 0], [0, 1], [1, 1]], b: [1, 2, 3], theta: [0.1, 0.1] });
    const err = await runBilevel(problem, { K: 10, steps: 2, eta: 0.1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhicError);
    expect((err as PhicError).category).toBe('spec');
    expect((err as PhicError).message).toBe('the spec has no outer objective: add outer: { objective, data }');
    await expect(implicitHypergradient(problem, [0.1, 0.1])).rejects.toThrow(/no outer objective/);
  });
});

describe('helpers', () => {
  it('samples outer steps evenly, first and last included', () => {
    expect(sampleSteps(5, 12)).toEqual([0, 1, 2, 3, 4]);
    expect(sampleSteps(100, 12)).toEqual([0, 9, 18, 27, 36, 45, 54, 63, 72, 81, 90, 99]);
  });

  it('writes arrays of numbers on one line', () => {
    expect(compactJson({ a: [1, -2.5e-7, 3], b: { c: 'x' } })).toBe('{\n "a": [1,-2.5e-7,3],\n "b": {\n  "c": "x"\n }\n}\n');
  });
});

// One run of the built CLI in a child process (the smoke test: exit code, streams, files); the
// other cases run in-process through runCli.
describe('phic bilevel (CLI)', () => {
  afterAll(() => removeTempDirs());

  it('writes JSON, Markdown and the figure and exits 0 (in a child process)', () => {
    requireBuiltCli();
    const out = join(tempDir(), 'out');
    const r = runCli(['bilevel', 'samples/bilevel/ridge-bilevel.phi.json', '--data', 'samples/bilevel/data.json', '-K', '40', '--steps', '30', '--eta', '0.5', '-o', out, '--name', 'ridge']);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.status, r.stderr).toBe(0);
    expect(listDir(out)).toEqual(['ridge.json', 'ridge.md', 'ridge.png', 'ridge.svg', 'ridge.vl.json']);
    expect(r.stderr).toContain(join(out, 'ridge.json'));
    expect(r.stdout).toMatch(/^warm starting lowered the median hypergradient error by \d+(\.\d+)?×/);

    const json = JSON.parse(readFileSync(join(out, 'ridge.json'), 'utf8')) as {
      meta: { K: number; truncate: number; steps: number; eta: number; map: string; dims: Record<string, number> };
      summary: { ratio: number; medianError: { cold: number; warm: number }; sentence: string };
      cold: { steps: { error: number }[] };
      warm: { steps: { error: number }[] };
    };
    expect(json.meta).toMatchObject({ K: 40, truncate: 0, steps: 30, eta: 0.5, map: 'ridge_bilevel', dims: { m: 60, n: 20, k: 100 } });
    expect(json.cold.steps).toHaveLength(30);
    expect(json.warm.steps).toHaveLength(30);
    expect(json.summary.ratio).toBeGreaterThan(3);
    expect(json.summary.medianError.cold).toBeCloseTo(median(json.cold.steps.map((s) => s.error)), 12);

    const md = readFileSync(join(out, 'ridge.md'), 'utf8');
    expect(md).toContain('# Bilevel optimisation with warm starting: ridge_bilevel');
    expect(md).toContain(json.summary.sentence.slice(1));
    expect(md).toContain('| median ‖g − g*‖ |');
    expect(md).toContain('![hypergradient error and outer loss per outer step](ridge.png)');
    expect(md.match(/^\| \d+ \|/gm)).toHaveLength(12);

    const svg = readFileSync(join(out, 'ridge.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const name of Object.values(SERIES)) expect(svg).toContain(name);
    const png = readFileSync(join(out, 'ridge.png'));
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(statSync(join(out, 'ridge.png')).size).toBeGreaterThan(20_000);
    const vl = JSON.parse(readFileSync(join(out, 'ridge.vl.json'), 'utf8')) as { hconcat: unknown[] };
    expect(vl.hconcat).toHaveLength(2);
  });

  it('reports a spec without an outer objective clearly (exit 1, no stack)', async () => {
    const dir = tempDir();
    const { outer: _outer, ...inner } = RIDGE_BILEVEL;
    writeFileSync(join(dir, 'inner.phi.json'), JSON.stringify(inner));
    writeFileSync(join(dir, 'data.json'), JSON.stringify({ A: [[1, 0], [0, 1], [1, 1]], b: [1, 2, 3], theta: [0.1, 0.1] }));
    const r = await cli(['bilevel', join(dir, 'inner.phi.json'), '--data', join(dir, 'data.json'), '-K', '10', '--steps', '3', '--eta', '0.1', '-o', join(dir, 'out')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('spec error');
    expect(r.stderr).toContain('the spec has no outer objective: add outer: { objective, data }');
    expect(r.stderr).not.toMatch(STACK_TRACE);
    expect(existsSync(join(dir, 'out'))).toBe(false);
  });

  it('a run that hits a singular I − ∂ₓΦ at outer step 2: reports of the steps done, where and why, exit 1', async () => {
    // ℓ = c·θ + ½‖x‖² with x⁰ = 0 keeps x at 0, so g = c exactly and θ_j = 1 − 0.5j: at
    // θ_2 = 0 the map is x ← x, ∂ₓΦ = 1 and I − ∂ₓΦ = 0 (exactly, in floating point).
    const dir = tempDir();
    const spec = {
      name: 'singular_at_2',
      state: { x: 'n' },
      params: { theta: 'n' },
      constants: { alpha: 0.5 },
      update: { x: 'x - alpha * (theta .* x)' },
      outer: { objective: 'sum(c .* theta) + 0.5 * sum(x.^2)', data: { c: 'n' } },
    };
    writeFileSync(join(dir, 's.phi.json'), JSON.stringify(spec));
    writeFileSync(join(dir, 'data.json'), JSON.stringify({ theta: [1], c: [1] }));
    const out = join(dir, 'out');
    const r = await cli(['bilevel', join(dir, 's.phi.json'), '--data', join(dir, 'data.json'), '-K', '10', '--steps', '5', '--eta', '0.5', '-o', out, '--name', 'run']);
    expect(r.status).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('phic:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^phic: numeric error: bilevel stopped: the cold-start run at outer step 2 and the warm-start run at outer step 2: .*I − ∂ₓΦ is singular.*run\.json$/);
    expect(r.stderr).not.toMatch(STACK_TRACE);
    for (const ext of ['json', 'md', 'vl.json', 'svg', 'png']) expect(existsSync(join(out, `run.${ext}`))).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(json.stopped).toHaveLength(2);
    expect(json.summary).toBeNull();
    for (const trace of [json.cold, json.warm]) {
      expect(trace.stopped.step).toBe(2);
      expect(trace.stopped.reason).toMatch(/singular/);
      expect(trace.steps.map((s: { theta: number[] }) => s.theta[0])).toEqual([1, 0.5]);
      expect(trace.finalTheta).toEqual([0]);
    }
    const md = readFileSync(join(out, 'run.md'), 'utf8');
    expect(md).toContain('## Stopped early');
    expect(md).toMatch(/cold-start run stopped at outer step 2 \(2 outer steps done\)/);
    expect(md).not.toContain('## Summary');
  });

  it('rejects bad options with exit 2', async () => {
    const base = ['bilevel', SPEC, '--data', DATA, '--steps', '3', '-o', join(tempDir(), 'out')];
    const errors: string[] = [];
    for (const extra of [['-K', '10', '--eta', '0'], ['-K', '10', '--eta', 'x'], ['-K', '10', '--eta', '0.1', '--truncate', '10'], ['-K', '10', '--eta', '0.1', '--name', '../x'], ['--eta', '0.1']]) {
      const r = await cli([...base, ...extra]);
      expect(r.status, extra.join(' ')).toBe(2);
      errors.push(r.stderr);
    }
    const text = errors.join('');
    expect(text).toContain('--eta must be a positive number');
    expect(text).toContain('the truncation index must be an integer in [0, K − 1 = 9], got 10');
    expect(text).toContain('--name must be a plain file name');
    expect(text).not.toMatch(STACK_TRACE);
  });
});
