// The lab's equal-cost comparison (src/lab/equal-cost.ts): unrolled, truncated and implicit
// derivatives of one spec on one axis of one-step products, against J* from a dense LU.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProblem } from '../src/lab/problem.js';
import { reference } from '../src/lab/fixed-point.js';
import { equalCost, equalCostFigure, equalCostMarkdown, type EqualCost } from '../src/lab/equal-cost.js';
import { figureSpec } from '../src/lab/plot.js';
import { ROOT } from './helpers/cli.js';

async function ridgeComparison(mode: 'forward' | 'reverse'): Promise<EqualCost> {
  const problem = await loadProblem(join(ROOT, 'samples/ridge/ridge.phi.ts'), join(ROOT, 'samples/ridge/data.json'));
  const { J } = await reference(problem);
  const uJ = (u: Float64Array) => Float64Array.from({ length: J.cols }, (_, c) => u.reduce((a, ui, i) => a + ui * J.data[i * J.cols + c]!, 0));
  const Jv = (v: Float64Array) => Float64Array.from({ length: J.rows }, (_, r) => v.reduce((a, vi, c) => a + vi * J.data[r * J.cols + c]!, 0));
  return equalCost(problem, { K: 300, mode, budgets: [1, 2, 5, 10, 50, 300], boundOptimalT: 280, reference: mode === 'reverse' ? uJ : Jv, repeats: 1 });
}

describe('equal-cost comparison', () => {
  it.each(['reverse', 'forward'] as const)('%s mode: each method on the products axis, errors against J*, memory and time per point', async (mode) => {
    const r = await ridgeComparison(mode);
    const unrolled = r.points.filter((p) => p.method === 'unrolled');
    // unrolled: B = K − t products, and its error falls as the budget grows (ridge contracts)
    expect(unrolled.map((p) => p.products)).toEqual([1, 2, 5, 10, 20, 50, 300]);
    expect(unrolled.map((p) => p.truncate)).toEqual([299, 298, 295, 290, 280, 250, 0]);
    for (let i = 1; i < unrolled.length; i++) expect(unrolled[i]!.error).toBeLessThan(unrolled[i - 1]!.error);
    // Krylov: ridge has 4 state entries, so GMRES reaches J*(x_K) within 4 + 1 products, whatever the budget
    const gmres = r.points.filter((p) => p.method === 'gmres');
    expect(gmres.at(-1)!.products).toBeLessThanOrEqual(5);
    expect(gmres.at(-1)!.error).toBeLessThan(1e-8);
    expect(gmres.at(-1)!.residual!).toBeLessThan(1e-13);
    // Neumann at budget B runs B − 1 solver products and the final one
    for (const p of r.points.filter((q) => q.method === 'neumann')) expect(p.products).toBe(p.budget);
    // the unrolled reverse tape holds K − t states; an implicit module keeps none
    const neumann = r.points.filter((p) => p.method === 'neumann');
    expect(new Set(neumann.map((p) => p.bufferBytes)).size).toBe(1);
    if (mode === 'reverse') expect(unrolled.at(-1)!.bufferBytes).toBeGreaterThan(neumann[0]!.bufferBytes);
    for (const p of r.points) {
      expect(p.ms).toBeGreaterThan(0);
      expect(Number.isFinite(p.error)).toBe(true);
    }
    const md = equalCostMarkdown(r);
    expect(md).toMatch(/\(full\) \| t = 0 \| 300 \|/);
    expect(md).toMatch(/\(bound-optimal t\) \| t = 280 \| 20 \|/);
    const spec = JSON.stringify(figureSpec(equalCostFigure(r, 'ridge')));
    expect(spec).toContain('"scale":{"type":"log"}');
  }, 120_000);
});
