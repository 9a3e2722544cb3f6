// The equal-cost comparison (src/lab/equal-cost.ts): full and truncated unrolling at the same
// budget (1 + ω)E, each with its error against uᵀJ*, wall time and bufferBytes, and the hook
// that adds a series (here a method that returns zero, whose relative error is exactly 1), and
// the implicit solvers at the same cost.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inMemorySource } from '../compiler/spec/source.js';
import { estimateConstants } from '../src/lab/bounds.js';
import { compareAtEqualCost, IMPLICIT_METHODS, implicitMethod, measure, UNROLLING_METHODS, type CostMethod } from '../src/lab/equal-cost.js';
import { reference } from '../src/lab/fixed-point.js';
import { makeProblem } from '../src/lab/problem.js';
import { ROOT, removeTempDirs, tempDir } from './helpers/cli.js';
import { buildProgram } from '../src/cli.js';
import { curseCommand } from '../src/commands/curse.js';

const DATA = JSON.parse(readFileSync(join(ROOT, 'samples', 'curse', 'data.json'), 'utf8')) as { A: number[][]; b: number[]; x0: { x: number[] } };

afterAll(() => removeTempDirs());

describe('equal-cost comparison', () => {
  it('full and truncated unrolling cost (1 + ω)E each; a third series plugs in through CostMethod', async () => {
    const problem = makeProblem(inMemorySource({ name: 'lsq', state: { x: 'n' }, params: { A: 'm,n', b: 'm' }, constants: { alpha: 0.02 }, objective: '0.5*sum((A*x - b).^2)', method: { name: 'gd', step: 'alpha' } } as never), { A: DATA.A, b: DATA.b }, { x: DATA.x0.x });
    const ref = await reference(problem);
    const constants = await estimateConstants(problem, ref, { K: 240 });
    const zero: CostMethod = {
      name: 'zero',
      run: async (ctx, e) => measure(ctx, e, { steps: 0, vjps: 0 }, 'nothing', () => 0, () => new Float64Array(problem.paramSize)),
    };
    const budgets = [40, 80];
    const series = await compareAtEqualCost(problem, ref, constants, budgets, { methods: [...UNROLLING_METHODS, zero], omega: 2, timingCalls: 2 });
    expect(series.map((s) => s.method)).toEqual(['full unrolling (t = 0)', 'truncated unrolling (bound-optimal Δ)', 'zero']);
    for (const s of series.slice(0, 2)) {
      s.points.forEach((p, i) => {
        expect(p.budget).toBe(budgets[i]);
        expect(p.cost).toBe(3 * budgets[i]!);
        expect(p.relativeError).toBeGreaterThan(0);
        expect(Number.isFinite(p.wallMs) && p.wallMs > 0).toBe(true);
      });
    }
    const [full, truncated] = series;
    full!.points.forEach((p, i) => expect(p.vjps).toBe(budgets[i]));
    // Truncation trades VJPs (and tape bytes: 8 per state entry per VJP step) for forward steps.
    truncated!.points.forEach((p, i) => {
      const f = full!.points[i]!;
      expect(f.bufferBytes - p.bufferBytes).toBe(8 * problem.stateSize * (f.vjps - p.vjps));
    });
    expect(series[2]!.points.every((p) => p.relativeError === 1 && p.cost === 0)).toBe(true);
  }, 120_000);

  it('implicit solvers at equal cost: GMRES reaches J*(x_K) within the budget, far below truncated unrolling; CG on a nonsymmetric ∂ₓΦ is reported, not run', async () => {
    const problem = makeProblem(inMemorySource({ name: 'lsq', state: { x: 'n' }, params: { A: 'm,n', b: 'm' }, constants: { alpha: 0.02 }, objective: '0.5*sum((A*x - b).^2)', method: { name: 'gd', step: 'alpha' } } as never), { A: DATA.A, b: DATA.b }, { x: DATA.x0.x });
    const ref = await reference(problem);
    const constants = await estimateConstants(problem, ref, { K: 240 });
    const series = await compareAtEqualCost(problem, ref, constants, [80, 400], { methods: [...UNROLLING_METHODS, ...IMPLICIT_METHODS], omega: 2, timingCalls: 1 });
    const by = Object.fromEntries(series.map((s) => [s.method, s]));
    const gmres = by['implicit, gmres']!.points.at(-1)!;
    expect(gmres.vjps).toBeLessThanOrEqual(400);
    expect(gmres.relativeError).toBeLessThan(by['truncated unrolling (bound-optimal Δ)']!.points.at(-1)!.relativeError);
    // a gradient step of an objective: CG applies, and the implicit modules keep no tape
    expect(by['implicit, cg']!.skipped).toBeUndefined();
    expect(gmres.bufferBytes).toBeLessThan(by['full unrolling (t = 0)']!.points.at(-1)!.bufferBytes);
    // an update map with a nonsymmetric ∂ₓΦ (heavy ball): CG's symmetry check stops it, and the series says why
    const heavy = makeProblem(inMemorySource({ name: 'hb', state: { x: 'n', v: 'n' }, params: { b: 'n' }, data: { A: 'n,n' }, update: { x: 'x + v', v: '0.5 * v - 0.1 * (A * (x + v) - b)' } } as never), { A: [[2, 0.3], [0.3, 1]], b: [1, 2] });
    const href = await reference(heavy);
    const hconst = await estimateConstants(heavy, href, { K: 100 });
    const [cg] = await compareAtEqualCost(heavy, href, hconst, [40], { methods: [implicitMethod('cg')], timingCalls: 1 });
    expect(cg!.points).toHaveLength(0);
    expect(cg!.skipped).toMatch(/not symmetric/);
  }, 120_000);

  it('phic curse --equal-cost 20,40: the comparison in the JSON and a Markdown table', async () => {
    const cmd = buildProgram().commands.find((c) => c.name() === 'curse')!;
    expect(cmd.options.map((o) => o.long)).toContain('--equal-cost');
    const dir = tempDir('phic-equal-cost-');
    writeFileSync(join(dir, 'lsq.phi.json'), JSON.stringify({ name: 'lsq', state: { x: 'n' }, params: { A: 'm,n', b: 'm' }, constants: { alpha: 0.02 }, objective: '0.5*sum((A*x - b).^2)', method: { name: 'gd', step: 'alpha' } }));
    writeFileSync(join(dir, 'data.json'), JSON.stringify(DATA));
    const quiet = { stdout: () => {}, stderr: () => {}, cwd: dir };
    await curseCommand('lsq.phi.json', { data: 'data.json', K: 30, truncate: 0, mode: 'both', directions: 1, seed: 1, out: 'out', name: 'curse', equalCost: [20, 40] }, quiet as never);
    const json = JSON.parse(readFileSync(join(dir, 'out', 'curse.json'), 'utf8')) as { equalCost: { method: string; points: { budget: number; cost: number }[] }[] };
    expect(json.equalCost.map((s) => s.method)).toEqual(['full unrolling (t = 0)', 'truncated unrolling (bound-optimal Δ)', 'implicit, neumann', 'implicit, cg', 'implicit, gmres', 'implicit, bicgstab']);
    expect(json.equalCost.slice(0, 2).every((s) => s.points.map((p) => p.cost).join() === '60,120')).toBe(true);
    // the implicit modules cost E steps and at most E VJPs: no more than the unrolled runs
    for (const s of json.equalCost.slice(2)) for (const p of s.points) expect(p.cost).toBeLessThanOrEqual(3 * p.budget);
    const md = readFileSync(join(dir, 'out', 'curse.md'), 'utf8');
    // the comparison's figure beside the report: error against VJPs, one line per method
    const figure = readFileSync(join(dir, 'out', 'curse-equal-cost.vl.json'), 'utf8');
    expect(figure).toContain('implicit, gmres');
    expect(readFileSync(join(dir, 'out', 'curse-equal-cost.png')).subarray(1, 4).toString()).toBe('PNG');
    expect(md).toContain('## Equal cost');
    expect(md).toMatch(/^\| full unrolling \(t = 0\) \| 20 \| K = 20, t = 0 \| 20 \| 20 \| 60 \|/m);
  }, 120_000);
});
