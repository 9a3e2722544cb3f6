// J* without dense LU at scale: above DENSE_REFERENCE_LIMIT entries the lab's J*v and uᵀJ* come
// from matrix-free GMRES solves with the generated one-step products. At small n they match
// the dense LU J*; at n = 2000 (a diagonal map with a closed-form J*) `phic curse` completes.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { curseCommand } from '../src/commands/curse.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { randomGenerator } from '../runtime/reference.js';
import { DENSE_REFERENCE_LIMIT, SOLVE_TOLERANCE, reference } from '../src/lab/fixed-point.js';
import { gmres } from '../src/lab/matrix-free.js';
import { makeProblem } from '../src/lab/problem.js';
import { distance, norm, unitVector } from '../src/lab/stats.js';
import { ROOT, removeTempDirs, tempDir } from './helpers/cli.js';

afterAll(() => removeTempDirs());

const DATA = JSON.parse(readFileSync(join(ROOT, 'samples', 'curse', 'data.json'), 'utf8')) as { A: number[][]; b: number[]; x0: { x: number[] } };
const lsq = (alpha: number) => makeProblem(inMemorySource({ name: 'lsq', state: { x: 'n' }, params: { A: 'm,n', b: 'm' }, constants: { alpha }, objective: '0.5*sum((A*x - b).^2)', method: { name: 'gd', step: 'alpha' } } as never), { A: DATA.A, b: DATA.b }, { x: DATA.x0.x });

/** x ← x − α((d + θ) ⊙ x − b): x* = b / (d + θ) and J* = −diag(x* ⊘ (d + θ)). */
const DIAGONAL = { name: 'diagonal_gd', state: { x: 'n' }, params: { theta: 'n' }, data: { d: 'n', b: 'n' }, constants: { alpha: 0.3 }, update: { x: 'x - alpha * ((d + theta) .* x - b)' } };
function diagonalData(n: number) {
  const rng = randomGenerator(11);
  return { d: Array.from({ length: n }, () => 1 + rng.uniform()), theta: Array.from({ length: n }, () => 0.5 + 0.5 * rng.uniform()), b: Array.from({ length: n }, () => rng.normal()) };
}

describe('GMRES', () => {
  it('solves a small non-symmetric system to the requested relative residual', () => {
    const M = [[4, 1, 0], [2, 5, 1], [0, -1, 3]];
    const apply = (x: Float64Array) => Float64Array.from(M, (row) => row.reduce((s, a, j) => s + a * x[j]!, 0));
    const b = Float64Array.from([1, 2, 3]);
    const r = gmres(apply, b, { tol: 1e-13, restart: 2 });
    expect(r.residual).toBeLessThanOrEqual(1e-13);
    expect(distance(apply(r.x), b) / norm(b)).toBe(r.residual);
  });
});

describe('the lab reference J* without dense LU', () => {
  it('at small n the GMRES J*v and uᵀJ* match the dense LU J* to 1e-10, with the achieved residual reported', async () => {
    const problem = lsq(0.05);
    const dense = await reference(problem);
    const iterative = await reference(problem, dense.fixedPoint, { method: 'GMRES' });
    expect(dense.method).toBe('dense LU');
    expect(iterative.method).toBe('GMRES');
    expect(iterative.J).toBeUndefined();
    const rng = randomGenerator(5);
    for (let i = 0; i < 3; i++) {
      const v = unitVector(rng, problem.paramSize);
      const u = unitVector(rng, problem.stateSize);
      expect(distance(iterative.jv(v), dense.jv(v)) / norm(dense.jv(v))).toBeLessThan(1e-10);
      expect(distance(iterative.uJ(u), dense.uJ(u)) / norm(dense.uJ(u))).toBeLessThan(1e-10);
    }
    expect(iterative.solveResidual()).toBeGreaterThan(0);
    expect(iterative.solveResidual()).toBeLessThanOrEqual(SOLVE_TOLERANCE);
    expect(Math.abs(iterative.jNorm / dense.jNorm - 1)).toBeLessThan(1e-6);
    expect(Math.abs(iterative.rhoStar / dense.rhoStar - 1)).toBeLessThan(1e-6);
    expect(Math.abs(iterative.srStar / dense.srStar - 1)).toBeLessThan(1e-3);
  });

  it('n = 2000 (4·10⁶ entries of J*): GMRES by default, J*v equal to the closed form, and `phic curse` completes', async () => {
    const n = 2000;
    expect(n * n).toBeGreaterThan(DENSE_REFERENCE_LIMIT);
    const data = diagonalData(n);
    const problem = makeProblem(inMemorySource(DIAGONAL as never), data);
    const ref = await reference(problem);
    expect(ref.method).toBe('GMRES');
    const xStar = data.b.map((b, i) => b / (data.d[i]! + data.theta[i]!));
    expect(distance(ref.fixedPoint.vector, Float64Array.from(xStar)) / norm(Float64Array.from(xStar))).toBeLessThan(1e-12);
    const v = unitVector(randomGenerator(3), n);
    const exact = Float64Array.from(v, (vi, i) => (-xStar[i]! / (data.d[i]! + data.theta[i]!)) * vi);
    expect(distance(ref.jv(v), exact) / norm(exact)).toBeLessThan(1e-10);
    expect(ref.solveResidual()).toBeLessThanOrEqual(SOLVE_TOLERANCE);

    const dir = tempDir('phic-scale-');
    writeFileSync(join(dir, 'diag.phi.json'), JSON.stringify(DIAGONAL));
    writeFileSync(join(dir, 'data.json'), JSON.stringify(data));
    const quiet = { stdout: () => {}, stderr: () => {}, cwd: dir };
    await curseCommand('diag.phi.json', { data: 'data.json', K: 8, truncate: 0, mode: 'both', directions: 1, seed: 1, out: 'out', name: 'curse' }, quiet as never);
    const json = JSON.parse(readFileSync(join(dir, 'out', 'curse.json'), 'utf8')) as { jStar: { method: string; residual: number }; trace?: unknown };
    expect(json.jStar.method).toBe('GMRES');
    expect(json.jStar.residual).toBeLessThanOrEqual(SOLVE_TOLERANCE);
    expect(readFileSync(join(dir, 'out', 'curse.md'), 'utf8')).toMatch(/matrix-free GMRES solve/);
  }, 120_000);
});
