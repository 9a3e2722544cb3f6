// Algorithm 1 with each hypergradient method side by side (src/lab/bilevel-methods.ts): full and
// truncated unrolling, and the implicit solvers with a warm-started adjoint at equal cost.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProblem } from '../src/lab/problem.js';
import { compareBilevelMethods, comparisonFigure, comparisonMarkdown } from '../src/lab/bilevel-methods.js';
import { figureSpec } from '../src/lab/plot.js';
import { ROOT } from './helpers/cli.js';

describe('bilevel methods at equal cost', () => {
  it('runs every method on the same outer loop and reports error, VJPs, time and memory per hypergradient', async () => {
    const problem = await loadProblem(join(ROOT, 'samples/bilevel/ridge-bilevel.phi.json'), join(ROOT, 'samples/bilevel/data.json'));
    const K = 400, truncate = 350;
    const c = await compareBilevelMethods(problem, { K, truncate, steps: 4, eta: 0.5, solvers: ['neumann', 'gmres'] });
    expect(c.runs.map((r) => r.method)).toEqual(['unrolled', 'unrolled', 'neumann', 'gmres']);
    const [full, truncated, neumann, gmres] = c.runs as [typeof c.runs[0], typeof c.runs[0], typeof c.runs[0], typeof c.runs[0]];
    for (const r of c.runs) {
      expect(r.trace.stopped).toBeUndefined();
      expect(r.trace.steps).toHaveLength(4);
      expect(r.ms).toBeGreaterThan(0);
    }
    // the unrolled runs cost K − t VJPs a hypergradient; the implicit ones at most the truncated budget
    expect(full.products).toBe(K);
    expect(truncated.products).toBe(K - truncate);
    expect(neumann.products).toBe(K - truncate);
    expect(gmres.products).toBeLessThanOrEqual(K - truncate);
    // at the truncated run's cost, GMRES is about as close to g* as full unrolling at 8× the cost; Neumann is no better than truncation
    expect(gmres.medianRelativeError).toBeLessThan(truncated.medianRelativeError / 1000);
    expect(neumann.medianRelativeError).toBeGreaterThan(gmres.medianRelativeError);
    // the tape: K states unrolled, K − t truncated, none for the implicit modules
    expect(full.bufferBytes).toBeGreaterThan(truncated.bufferBytes);
    expect(truncated.bufferBytes).toBeGreaterThan(neumann.bufferBytes);
    const md = comparisonMarkdown(c);
    expect(md).toMatch(/implicit, gmres, warm-started adjoint/);
    expect(JSON.stringify(figureSpec(comparisonFigure(c, 'ridge bilevel')))).toContain('outer step j');
  }, 120_000);
});

describe('phic bilevel --compare', () => {
  it('writes the comparison beside the bilevel report: the bound-optimal t, every method, its figure', async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { bilevelCommand } = await import('../src/commands/bilevel.js');
    const dir = mkdtempSync(join(tmpdir(), 'phic-bilevel-compare-'));
    try {
      const quiet = { stdout: () => {}, stderr: () => {}, cwd: ROOT, stderrIsTTY: false };
      await bilevelCommand(join(ROOT, 'samples/bilevel/ridge-bilevel.phi.json'), { data: join(ROOT, 'samples/bilevel/data.json'), K: 100, truncate: 0, steps: 3, eta: 0.5, seed: 1, out: dir, name: 'b', compare: true }, quiet as never);
      const json = JSON.parse(readFileSync(join(dir, 'b-methods.json'), 'utf8')) as { truncate: number; why: string; runs: { method: string }[] };
      expect(json.why).toBe('the bound-optimal t at the initial θ');
      expect(json.truncate).toBeGreaterThan(0);
      expect(json.runs.map((r) => r.method)).toEqual(['unrolled', 'unrolled', 'neumann', 'cg', 'gmres', 'bicgstab']);
      expect(readFileSync(join(dir, 'b-methods.md'), 'utf8')).toMatch(/\| implicit, gmres, warm-started adjoint/);
      expect(readFileSync(join(dir, 'b-methods.png')).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
