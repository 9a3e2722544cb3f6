// The bound's constants: exact where the map is affine in the state (the ridge sample: the
// closed form, and a bound that holds at every k), labelled estimates elsewhere (logistic
// regression), and the symbolic degree test that decides between the two.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../compiler/model.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { describeKinds, estimateConstants, forwardBound, reverseBound } from '../src/lab/bounds.js';
import { stateDegree } from '../src/lab/exact-constants.js';
import { reference } from '../src/lab/fixed-point.js';
import { loadProblem } from '../src/lab/problem.js';
import { traceCurse } from '../src/lab/trace.js';
import { ROOT } from './helpers/cli.js';

const sample = (name: string) => ({ spec: join(ROOT, 'samples', name, `${name}.phi.ts`), data: join(ROOT, 'samples', name, 'data.json') });

describe('exact constants for a map affine in the state', () => {
  it('ridge (per-feature penalty θ, step 0.1): ρ = max|1 − αλ(AᵀA + diag θ)|, L_A = 0, L_B = α exactly, and the bound holds at every k', async () => {
    const { spec, data } = sample('ridge');
    const problem = await loadProblem(spec, data);
    const ref = await reference(problem);
    const K = 100;
    const c = await estimateConstants(problem, ref, { K });
    // Closed form: Φ = x − α(AᵀAx − Aᵀb + θ ⊙ x), so ∂ₓΦ = I − α(AᵀA + diag θ) and ∂θΦ = −α diag(x):
    // ‖∂θΦ(x) − ∂θΦ(y)‖₂ = α max|xᵢ − yᵢ| ≤ α‖x − y‖, attained at x − y = e₁.
    const d = JSON.parse(readFileSync(data, 'utf8')) as { A: number[][]; theta: number[] };
    const alpha = 0.1;
    const A = new Matrix(d.A);
    const H = A.transpose().mmul(A).add(Matrix.diag(d.theta));
    const rho = Math.max(...new EigenvalueDecomposition(H, { assumeSymmetric: true }).realEigenvalues.map((l) => Math.abs(1 - alpha * l)));
    expect(c.kinds).toEqual({ rho: 'exact', LA: 'exact', LB: 'exact' });
    expect(c.rho).toBeCloseTo(rho, 12);
    expect(c.LA).toBe(0);
    expect(Math.abs(c.LB - alpha) / alpha).toBeLessThan(1e-11);
    expect(c.C).toBe(c.LB);
    expect(c.notes[0]).toBe(`Constants: ${describeKinds(c.kinds)}`);
    expect(c.notes[0]).toContain('The bounds are guaranteed');

    // A guaranteed bound: (17) and (18) lie above the measured spectral-norm errors at every k.
    const trace = await traceCurse(problem, ref, { K, mode: 'both', measure: 'spectral' });
    let tightest = Infinity;
    for (const p of trace.forward!) {
      const b = forwardBound(c, p.k, 0);
      expect(p.error, `forward k = ${p.k}`).toBeLessThanOrEqual(b * (1 + 1e-12) + 1e-14);
      if (p.error > 1e-10) tightest = Math.min(tightest, b / p.error);
    }
    for (const p of trace.reverse!) expect(p.error, `reverse k = ${p.k}`).toBeLessThanOrEqual(reverseBound(c, p.k, K) * (1 + 1e-12) + 1e-14);
    expect(tightest).toBeLessThan(10); // and not vacuous
  });

  it.each(['logistic', 'tanh_layer'])('%s (not affine in x): L_A and L_B are upper estimates from second derivatives over the iterates\' region, above the secant ratios, and the bounds hold at every k', async (name) => {
    const { spec, data } = sample(name);
    const problem = await loadProblem(spec, data);
    const ref = await reference(problem);
    const K = 50;
    const c = await estimateConstants(problem, ref, { K });
    expect(c.kinds.rho).toBe('estimate');
    expect(c.kinds.LA).toBe('upper estimate');
    expect(c.kinds.LB).toBe('upper estimate');
    expect(c.kinds.why).toMatch(/not a polynomial in the state/);
    expect(c.notes[0]).toMatch(/largest second derivatives sampled over the region the iterates span/);
    // every secant ratio along the sampled iterates is at most the second-derivative estimate (mean-value theorem)
    const secants = c.notes.find((n) => n.startsWith('L_A, L_B'))!.match(/secant ratios ([\d.e+-]+) and ([\d.e+-]+)/)!;
    expect(c.LA).toBeGreaterThanOrEqual(Number(secants[1]));
    expect(c.LB).toBeGreaterThanOrEqual(Number(secants[2]));
    if (c.contractive) {
      const trace = await traceCurse(problem, ref, { K, mode: 'both', measure: 'spectral' });
      for (const p of trace.forward!) expect(p.error).toBeLessThanOrEqual(forwardBound(c, p.k, 0) * (1 + 1e-9));
      for (const p of trace.reverse!) expect(p.error).toBeLessThanOrEqual(reverseBound(c, p.k, K) * (1 + 1e-9));
    }
  });
});

describe('stateDegree: the symbolic test for a map affine in the state', () => {
  const degree = (spec: object) => stateDegree(buildModel(inMemorySource({ name: 'm', state: { x: 'n' }, params: { th: 'n' }, data: { A: 'm,n', b: 'm' }, ...spec } as never)));
  it('counts products of the state and sees through linear ops', () => {
    expect(degree({ objective: '0.5*sum((A*x - b).^2) + 0.5*sum(th .* x.^2)', method: { name: 'gd', step: 0.1 } })).toBe(1);
    expect(degree({ update: { x: "x - 0.1*(A'*(A*x - b)) + th" } })).toBe(1);
    expect(degree({ update: { x: 'th .* x .* x' } })).toBe(2);
    expect(degree({ update: { x: 'x - 0.1*x.^3 + th' } })).toBe(3);
    expect(degree({ update: { x: 'tanh(x) + th' } })).toBe(Infinity);
    expect(degree({ update: { x: 'x ./ (1 + sum(x.^2)) + th' } })).toBe(Infinity);
    expect(degree({ update: { x: 'x * exp(sum(th)) + th' } })).toBe(1);
  });
});
