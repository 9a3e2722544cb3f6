// The curse-of-unrolling lab (`phic curse`): the claims of MATH.md §9.2 checked on least
// squares 0.5‖Ax − b‖² by gradient descent with u = (A, b), using the code phic generates
// (C1 late start = truncation, C2 forward = reverse, C3 the curse, C4 interior k_min, C5 the
// bound (21) with the true constants), the report and figure builders, and the command end
// to end (files, exit codes, the non-contractive warning and the divergence error).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EigenvalueDecomposition, Matrix, inverse, solve } from 'ml-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemorySource } from '../compiler/spec/source.js';
import { centralDifference, denseMatrix, randomGenerator, relativeDifference, spectralNorm, type DenseMatrix } from '../runtime/reference.js';
import { estimateConstants, forwardBound, reverseBound, type Constants } from '../src/lab/bounds.js';
import { reference, type Reference } from '../src/lab/fixed-point.js';
import { concat, makeProblem, split, type LabProblem } from '../src/lab/problem.js';
import { traceCurse, type CurseTrace } from '../src/lab/trace.js';
import { renderFigure } from '../src/lab/plot.js';
import { boundsApply, curseFigure, curseJson, curseMarkdown, curseRows, labWarnings, sampleKs, thin, type CurseReportInput } from '../src/lab/curse-report.js';
import { ROOT, STACK_TRACE, cli, removeTempDirs, requireBuiltCli, runCli, tempDir } from './helpers/cli.js';
import { expectPng, expectSvg } from './helpers/figures.js';

const SAMPLE = join(ROOT, 'samples', 'curse');
const DATA_FILE = join(SAMPLE, 'data.json');
const DATA = JSON.parse(readFileSync(DATA_FILE, 'utf8')) as { A: number[][]; b: number[]; x0: { x: number[] } };

const lsqSpec = (alpha: number) => ({
  name: 'lsq',
  state: { x: 'n' },
  params: { A: 'm,n', b: 'm' },
  constants: { alpha },
  objective: '0.5*sum((A*x - b).^2)',
  method: { name: 'gd', step: 'alpha' },
});

const lsqProblem = (alpha: number, A = DATA.A, b = DATA.b, x0 = DATA.x0.x): LabProblem => makeProblem(inMemorySource(lsqSpec(alpha) as never), { A, b }, { x: x0 });

const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((p, x) => p + x * x, 0));
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((p, x, i) => p + x * b[i]!, 0);
const errorAt = (pts: readonly { k: number; error: number }[] | undefined, k: number) => pts!.find((p) => p.k === k)!.error;

/**
 * Exact quantities of GD on 0.5‖Ax − b‖², independent of the lab: the spectrum of H = AᵀA,
 * x* = H⁻¹Aᵀb, J* = ∂x*∕∂(A, b) column by column from H J*[Ȧ, ḃ] = Ȧᵀr* − AᵀȦx* + Aᵀḃ
 * (params in the order A (row-major), b), ρ = ‖I − αH‖₂ = max|1 − αλ|, and the curse constant.
 *
 * Which norm: errors are spectral norms of n × (mn + m) matrices, i.e. operator norms from
 * the Euclidean norm on the stacked (A, b) (Frobenius on Ȧ) to the Euclidean norm on x.
 * ∂ₓΦ = I − αH does not depend on x, so L_A = 0 and C = L_A‖J*‖ + L_B = L_B. And
 * (∂θΦ(x) − ∂θΦ(y))[Ȧ, ḃ] = −α(ȦᵀA + AᵀȦ)(x − y), whose norm is at most
 * α(‖Ȧ‖₂‖A‖₂ + ‖A‖₂‖Ȧ‖₂)‖x − y‖ ≤ 2α‖A‖₂‖Ȧ‖_F‖x − y‖: L_B = 2α‖A‖₂ = 2α√λ_max(H), with the
 * spectral norm of A (not its Frobenius norm), because ‖Ȧ‖₂ ≤ ‖Ȧ‖_F.
 */
function exactLsq(alpha: number, A = DATA.A, b = DATA.b, x0 = DATA.x0.x) {
  const m = A.length;
  const n = A[0]!.length;
  const Am = new Matrix(A);
  const H = Am.transpose().mmul(Am);
  const eig = new EigenvalueDecomposition(H, { assumeSymmetric: true }).realEigenvalues;
  const L = Math.max(...eig);
  const mu = Math.min(...eig);
  const xStar = solve(H, Am.transpose().mmul(Matrix.columnVector(b))).to1DArray();
  const r = b.map((bi, i) => bi - dot(A[i]!, xStar));
  const Hinv = inverse(H);
  const P = m * n + m;
  const J = denseMatrix(n, P);
  for (let i = 0; i < m; i++) {
    const hA = Hinv.mmul(Matrix.columnVector(A[i]!)).to1DArray(); // H⁻¹A[i,:]ᵀ
    for (let j = 0; j < n; j++) for (let row = 0; row < n; row++) J.data[row * P + i * n + j] = r[i]! * Hinv.get(row, j) - xStar[j]! * hA[row]!;
    for (let row = 0; row < n; row++) J.data[row * P + m * n + i] = hA[row]!;
  }
  const rho = Math.max(...eig.map((l) => Math.abs(1 - alpha * l)));
  return { L, mu, xStar, J, jNorm: spectralNorm(J), rho, C: 2 * alpha * Math.sqrt(L), e0: norm(x0.map((v, i) => v - xStar[i]!)) };
}

const EXACT = exactLsq(1); // only the spectrum is used from this one
const OPTIMAL = 2 / (EXACT.L + EXACT.mu);
const SMALL = 1 / EXACT.L;

/** A small, random least-squares instance for the exact identities (fast). */
function smallInstance(seed: number, m = 6, n = 3) {
  const rng = randomGenerator(seed);
  const A = Array.from({ length: m }, () => Array.from({ length: n }, () => rng.uniform()));
  const b = Array.from({ length: m }, () => rng.normal());
  const x0 = Array.from({ length: n }, () => rng.normal());
  const ex = exactLsq(1, A, b, x0);
  return { A, b, x0, alpha: 2 / (ex.L + ex.mu) };
}

const cache = new Map<string, Promise<{ problem: LabProblem; ref: Reference }>>();
function labFor(alpha: number): Promise<{ problem: LabProblem; ref: Reference }> {
  const key = String(alpha);
  if (!cache.has(key)) {
    cache.set(key, (async () => {
      const problem = lsqProblem(alpha);
      return { problem, ref: await reference(problem) };
    })());
  }
  return cache.get(key)!;
}

/**
 * The spectral-measure trace of the sample problem at step alpha, computed once per
 * (alpha, K, t, mode) in this file: C3/C4, C5 and the report builders ask for the same ones.
 */
const traces = new Map<string, Promise<CurseTrace>>();
function sampleTrace(alpha: number, K: number, truncate = 0, mode: 'both' | 'forward' = 'both'): Promise<CurseTrace> {
  const key = `${alpha}/${K}/${truncate}/${mode}`;
  if (!traces.has(key)) traces.set(key, labFor(alpha).then(({ problem, ref }) => traceCurse(problem, ref, { K, truncate, mode, measure: 'spectral' })));
  return traces.get(key)!;
}

/** For hooks that trace the sample problem (about a second on an idle machine, many more on a loaded one). */
const TRACE_HOOK_TIMEOUT = 180_000;

describe('samples/curse', () => {
  it('the committed specs use the optimal step 2/(L+μ) and 1/L of the committed data, and data.json matches make-data.mjs', () => {
    const optimal = JSON.parse(readFileSync(join(SAMPLE, 'lsq-optimal.phi.json'), 'utf8'));
    const small = JSON.parse(readFileSync(join(SAMPLE, 'lsq-small-step.phi.json'), 'utf8'));
    const base = JSON.parse(readFileSync(join(SAMPLE, 'lsq.phi.json'), 'utf8'));
    expect(optimal.constants.alpha).toBeCloseTo(OPTIMAL, 12);
    expect(small.constants.alpha).toBeCloseTo(SMALL, 12);
    expect({ ...optimal, constants: {} }).toEqual({ ...base, constants: {} });
    expect(base.method).toEqual({ name: 'gd', step: 'alpha' });
    expect(DATA.A).toHaveLength(20);
    expect(DATA.A.every((row) => row.length === 10 && row.every((v) => v >= 0 && v < 1))).toBe(true);
    expect(DATA.b).toHaveLength(20);
    expect(DATA.x0.x).toHaveLength(10);
    // The seeded generator, in the order of make-data.mjs (seed 3): A row by row, then b, then x0.
    const rng = randomGenerator(3);
    const A = Array.from({ length: 20 }, () => Array.from({ length: 10 }, () => rng.uniform()));
    const b = Array.from({ length: 20 }, () => rng.normal());
    const x0 = Array.from({ length: 10 }, () => rng.normal());
    expect({ A, b, x0 }).toEqual({ A: DATA.A, b: DATA.b, x0: DATA.x0.x });
    // Ill-conditioned enough for the curse: κ = L/μ in the hundreds.
    expect(EXACT.L / EXACT.mu).toBeGreaterThan(100);
  });
});

describe('the lab reference against the closed form', () => {
  it('x*, J* = (I − ∂ₓΦ)⁻¹∂θΦ and ‖∂ₓΦ(x*)‖₂ match the least-squares formulas', async () => {
    const { ref } = await labFor(OPTIMAL);
    const ex = exactLsq(OPTIMAL);
    expect(ref.fixedPoint.converged).toBe(true);
    expect(relativeDifference(ref.fixedPoint.vector, ex.xStar)).toBeLessThan(1e-10);
    expect(relativeDifference(ref.J.data, ex.J.data)).toBeLessThan(1e-9);
    expect(ref.rhoStar).toBeCloseTo(ex.rho, 10);
    expect(ex.rho).toBeCloseTo((EXACT.L - EXACT.mu) / (EXACT.L + EXACT.mu), 12);
  });
});

describe('C2: forward mode equals the full reverse sweep, and both are dx_K/dθ', () => {
  it('jacobianForward = jacobianReverse (t = 0), and a JVP matches central differences of x_K', async () => {
    const s = smallInstance(11);
    const problem = lsqProblem(s.alpha, s.A, s.b, s.x0);
    const K = 40;
    const inst = await problem.instance(K, 0, 'both');
    const fwd = inst.jacobianForward!(problem.inputs as never, problem.x0 as never).jacobian;
    const rev = inst.jacobianReverse!(problem.inputs as never, problem.x0 as never).jacobian;
    for (const p of ['A', 'b']) {
      expect(norm(fwd.x![p]!.data)).toBeGreaterThan(1e-3);
      expect(relativeDifference(fwd.x![p]!.data, rev.x![p]!.data)).toBeLessThan(1e-10);
    }
    // The total derivative of the K-th iterate: x_K(θ + εv) by the generated iteration.
    const rng = randomGenerator(5);
    const v = rng.vector(problem.paramSize, 'normal');
    const theta = Float64Array.from([...s.A.flat(), ...s.b]);
    const xK = (th: Float64Array) => inst.iterate(split(th, problem.model.params, problem.dims) as never, problem.x0 as never).state.x!.slice();
    const fd = centralDifference(xK, theta, v);
    const jv = inst.jvp!(problem.inputs as never, split(v, problem.model.params, problem.dims) as never, problem.x0 as never).tangent.x!;
    expect(relativeDifference(jv, fd)).toBeLessThan(1e-6);
  });
});

describe('C1: late-started forward mode equals truncated reverse mode', () => {
  const K = 40;
  it('spectral measure: ‖ẋ_t^K − J*‖ = ‖X̄_t − J*‖ for t = 0 and t > 0, across separately compiled instances', async () => {
    const s = smallInstance(11);
    const problem = lsqProblem(s.alpha, s.A, s.b, s.x0);
    const ref = await reference(problem);
    const full = await traceCurse(problem, ref, { K, mode: 'reverse', measure: 'spectral' });
    const values: number[] = [];
    for (const t of [0, 7, 25]) {
      const late = await traceCurse(problem, ref, { K, truncate: t, mode: 'forward', measure: 'spectral' });
      const truncated = await traceCurse(problem, ref, { K, truncate: t, mode: 'reverse', measure: 'spectral' });
      const fwdFinal = late.forward!.at(-1)!;
      expect(fwdFinal.k).toBe(K);
      expect(late.forward![0]!.k).toBe(t);
      // X̄_t of the full sweep, and the sweep stopped at t.
      expect(Math.abs(fwdFinal.error - errorAt(full.reverse, t)) / errorAt(full.reverse, t)).toBeLessThan(1e-10);
      expect(Math.abs(fwdFinal.error - truncated.reverse![0]!.error) / fwdFinal.error).toBeLessThan(1e-10);
      expect(truncated.reverse![0]!.k).toBe(t);
      // And the matrices themselves.
      const inst = await problem.instance(K, t, 'both');
      const f = inst.jacobianForward!(problem.inputs as never, problem.x0 as never).jacobian.x!;
      const r = inst.jacobianReverse!(problem.inputs as never, problem.x0 as never).jacobian.x!;
      expect(relativeDifference(concat(f as never, problem.model.params), concat(r as never, problem.model.params))).toBeLessThan(1e-10);
      values.push(fwdFinal.error);
    }
    // Truncation changes the estimate: the identity is not trivially true.
    expect(Math.abs(values[0]! - values[1]!) / values[0]!).toBeGreaterThan(1e-6);
    expect(Math.abs(values[1]! - values[2]!) / values[1]!).toBeGreaterThan(1e-6);
  });

  it('directions measure: ⟨u, ẋ_t^K v⟩ = ⟨uᵀX̄_t, v⟩ from the generated jvp and vjp', async () => {
    const s = smallInstance(12, 8, 4);
    const problem = lsqProblem(s.alpha, s.A, s.b, s.x0);
    const rng = randomGenerator(9);
    const pairs: number[][] = [];
    for (const t of [0, 10, 30]) {
      const inst = await problem.instance(K, t, 'both');
      for (let r = 0; r < 3; r++) {
        const u = rng.vector(problem.stateSize, 'normal');
        const v = rng.vector(problem.paramSize, 'normal');
        const jv = concat(inst.jvp!(problem.inputs as never, split(v, problem.model.params, problem.dims) as never, problem.x0 as never).tangent, problem.model.state);
        const uJ = concat(inst.vjp!(problem.inputs as never, split(u, problem.model.state, problem.dims) as never, problem.x0 as never).gradient, problem.model.params);
        const left = dot(u, jv);
        const right = dot(uJ, v);
        expect(Math.abs(left - right) / Math.max(Math.abs(left), 1e-300)).toBeLessThan(1e-10);
        expect(Math.abs(left)).toBeGreaterThan(1e-6);
        pairs.push([t, left]);
      }
    }
    // Different t give different products (same u, v are not reused, so compare magnitudes loosely).
    expect(new Set(pairs.map(([, x]) => x.toPrecision(8))).size).toBe(pairs.length);
  });
});

describe('C3/C4: the curse on an ill-conditioned least-squares instance', () => {
  const K = 400;
  let optimal: CurseTrace;
  let small: CurseTrace;
  beforeAll(async () => {
    optimal = await sampleTrace(OPTIMAL, K);
    small = await sampleTrace(SMALL, K);
  }, TRACE_HOOK_TIMEOUT);
  const rise = (tr: CurseTrace) => Math.max(...tr.forward!.map((p) => p.error)) / tr.forward![0]!.error;

  it('C3: with the optimal step the forward error rises (k_max > 0) while the iterate error decreases monotonically', () => {
    expect(optimal.kMax!).toBeGreaterThan(0);
    expect(optimal.kMax!).toBeLessThan(K);
    expect(errorAt(optimal.forward, optimal.kMax!)).toBeGreaterThan(1.5 * optimal.forward![0]!.error);
    expect(optimal.forward!.at(-1)!.error).toBeLessThan(errorAt(optimal.forward, optimal.kMax!));
    const it = optimal.iterate.map((p) => p.error);
    expect(it).toHaveLength(K + 1);
    for (let k = 0; k < K; k++) expect(it[k + 1]!).toBeLessThan(it[k]!);
  });

  it('C3: with step 1/L the curse is absent or smaller', () => {
    expect(small.kMax === 0 || rise(small) < rise(optimal)).toBe(true);
    expect(rise(small)).toBeLessThan(rise(optimal));
    const it = small.iterate.map((p) => p.error);
    for (let k = 0; k < K; k++) expect(it[k + 1]!).toBeLessThan(it[k]!);
  });

  it('C3 also along random directions (the measure of the paper)', async () => {
    const a = await labFor(OPTIMAL);
    const tr = await traceCurse(a.problem, a.ref, { K, mode: 'forward', measure: 'directions', directions: 3, seed: 2 });
    expect(tr.measure).toBe('directions');
    expect(tr.kMax!).toBeGreaterThan(0);
    expect(rise(tr)).toBeGreaterThan(1.2);
    // Directional errors are at most the spectral ones.
    for (const p of tr.forward!) expect(p.error).toBeLessThanOrEqual(errorAt(optimal.forward, p.k) * (1 + 1e-9));
  });

  it('C4: with the optimal step k_min is interior and X̄_{k_min} beats X̄_0', () => {
    const kMin = optimal.kMin!;
    expect(kMin).toBeGreaterThan(0);
    expect(kMin).toBeLessThan(K);
    const best = errorAt(optimal.reverse, kMin);
    expect(best).toBeLessThan(0.8 * errorAt(optimal.reverse, 0));
    expect(best).toBeLessThan(0.8 * errorAt(optimal.reverse, K));
    for (const p of optimal.reverse!) expect(p.error).toBeGreaterThanOrEqual(best);
    // The sweep stopped at K is X̄_K = 0: its error is ‖J*‖.
    expect(errorAt(optimal.reverse, K)).toBeCloseTo(exactLsq(OPTIMAL).jNorm, 8);
  });
});

describe('C5: the truncated errors obey (21) with the true constants of the quadratic', () => {
  const K = 400;
  for (const [label, alpha] of [['optimal step', OPTIMAL], ['step 1/L', SMALL]] as const) {
    it(`${label}: ‖ẋ_t^k − J*‖ ≤ ρ^{k−t}‖J*‖ + C(k−t)ρ^{k−1}‖x⁰ − x*‖ for several t, and (18) for the reverse sweep`, async () => {
      const ex = exactLsq(alpha);
      const c = { rho: ex.rho, normJStar: ex.jNorm, C: ex.C, e0: ex.e0 } as Constants;
      let checked = 0;
      for (const t of [0, 30, 100, 250]) {
        // t = 0: the full trace of C3/C4 (forward and reverse), computed once
        const tr = await sampleTrace(alpha, K, t, t === 0 ? 'both' : 'forward');
        expect(tr.forward![0]!.k).toBe(t);
        expect(tr.forward!.at(-1)!.k).toBe(K);
        for (const p of tr.forward!) {
          if (p.error < 1e-12) continue;
          const bound = forwardBound(c, p.k, t);
          expect(p.error).toBeLessThanOrEqual(bound * (1 + 1e-9));
          checked++;
        }
        if (t === 0) {
          for (const p of tr.reverse!) {
            if (p.error < 1e-12) continue;
            expect(p.error).toBeLessThanOrEqual(reverseBound(c, p.k, K) * (1 + 1e-9));
            checked++;
          }
        }
      }
      expect(checked).toBeGreaterThan(1000);
    });
  }

  it('the bound is not vacuous: with C = 0, or C an eighth of 2α‖A‖₂, the optimal-step forward errors exceed it', async () => {
    const ex = exactLsq(OPTIMAL);
    const tr = await sampleTrace(OPTIMAL, K); // the forward errors of the full trace (t = 0)
    for (const C of [0, ex.C / 8]) {
      const weaker = { rho: ex.rho, normJStar: ex.jNorm, C, e0: ex.e0 } as Constants;
      const worst = Math.max(...tr.forward!.map((p) => p.error / forwardBound(weaker, p.k, 0)));
      expect(worst, `C = ${C}`).toBeGreaterThan(1.2);
    }
  });

  it('the lab computes ρ, L_A = 0 and L_B = 2α‖A‖₂ exactly (GD on a quadratic is affine in x)', async () => {
    const { problem, ref } = await labFor(OPTIMAL);
    const ex = exactLsq(OPTIMAL);
    const c = await estimateConstants(problem, ref, { K });
    expect(c.contractive).toBe(true);
    expect(c.kinds).toEqual({ rho: 'exact', LA: 'exact', LB: 'exact' });
    expect(c.rho).toBeCloseTo(ex.rho, 10);
    expect(c.LA).toBe(0);
    // sup over unit d and dA of ‖α(dAᵀA + AᵀdA)d‖ is attained at d = v₁, dA = u₁v₁ᵀ: 2ασ₁.
    expect(Math.abs(c.LB / ex.C - 1)).toBeLessThan(1e-9);
    expect(c.e0).toBeCloseTo(ex.e0, 10);
    expect(c.normJStar).toBeCloseTo(ex.jNorm, 8);
  });
});

// ---------------------------------------------------------------------------
// Report and figure builders
// ---------------------------------------------------------------------------

async function reportInput(alpha: number, K: number, truncate = 0): Promise<CurseReportInput> {
  const { problem, ref } = await labFor(alpha);
  const constants = await estimateConstants(problem, ref, { K });
  const trace = await sampleTrace(alpha, K, truncate);
  return {
    spec: 'lsq.phi.json', map: 'lsq', dims: problem.dims, stateSize: problem.stateSize, paramSize: problem.paramSize,
    fixedPoint: ref.fixedPoint, constants, trace,
    options: { K, truncate, mode: 'both', measure: trace.measure, directions: trace.directions, seed: 1 },
  };
}

describe('curse report', () => {
  it('rows hold every k with the bounds (21) and (18) beside the errors; summary finds k_max and k_min', async () => {
    const input = await reportInput(OPTIMAL, 200, 20);
    const rows = curseRows(input);
    expect(rows).toHaveLength(201);
    expect(rows[10]!.forward).toBeNull();
    expect(rows[10]!.forwardBound).toBeNull();
    expect(rows[10]!.iterate).toBeGreaterThan(0);
    expect(rows[50]!.forwardBound).toBeCloseTo(forwardBound(input.constants, 50, 20), 12);
    expect(rows[50]!.reverseBound).toBeCloseTo(reverseBound(input.constants, 50, 200), 12);
    expect(rows[20]!.forward).toBeCloseTo(input.constants.normJStar, 8); // ẋ_t^t = 0
    const json = curseJson(input, []) as { kMax: number; kMin: number; boundsApplied: boolean; rows: unknown[]; options: { truncate: number }; constants: { notes: string[] } };
    expect(json.kMax).toBe(input.trace.kMax);
    expect(json.kMin).toBe(input.trace.kMin);
    expect(json.boundsApplied).toBe(true);
    expect(json.options.truncate).toBe(20);
    expect(json.constants.notes.length).toBeGreaterThan(2);
    const md = curseMarkdown(input, []);
    expect(md).toContain(`k_max = ${input.trace.kMax}`);
    expect(md).toContain(`k_min = ${input.trace.kMin}`);
    expect(md).toContain('bound (21)');
    const tableRows = md.split('\n').filter((l) => /^\| \d/.test(l));
    expect(tableRows.length).toBeGreaterThanOrEqual(12);
    expect(tableRows.length).toBeLessThanOrEqual(16);
  });

  it('non-contractive constants: warnings, and no bound values or bound series', async () => {
    const input = await reportInput(OPTIMAL, 200); // the figure's trace below: computed once
    const bad = { ...input, constants: { ...input.constants, rho: 1.5, contractive: false } };
    const warnings = labWarnings(bad);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/ρ = 1\.5.*≥ 1/);
    expect(boundsApply(bad)).toBe(false);
    expect(curseRows(bad).every((r) => r.forwardBound === null && r.reverseBound === null)).toBe(true);
    const names = curseFigure(bad).panels.flatMap((p) => p.series.map((s) => s.name));
    expect(names).not.toContain('bound (21)');
    expect(curseMarkdown(bad, warnings)).toContain('**WARNING:**');
    const unconverged = { ...input, fixedPoint: { ...input.fixedPoint, converged: false, residual: 1e-3 } };
    expect(labWarnings(unconverged)[0]).toMatch(/did not converge/);
    expect(boundsApply(unconverged)).toBe(false);
  });

  it('the figure: forward and reverse panels on a log scale, iterate dashed, bounds dotted with markers; SVG and PNG render', async () => {
    const input = await reportInput(OPTIMAL, 200);
    const fig = curseFigure(input);
    expect(fig.logY).toBe(true);
    expect(fig.panels.map((p) => p.title)).toEqual(['forward mode', 'reverse mode (stopped at k)']);
    const [fwd, rev] = fig.panels;
    const byName = (p: typeof fwd, n: string) => p!.series.find((s) => s.name === n)!;
    expect(byName(fwd, 'iterate error').stroke).toBe('dashed');
    expect(byName(fwd, 'forward error').stroke ?? 'solid').toBe('solid');
    expect(byName(fwd, 'bound (21)')).toMatchObject({ stroke: 'dotted', markers: true });
    expect(byName(rev, 'bound (18)')).toMatchObject({ stroke: 'dotted', markers: true });
    // One normalisation for both panels: relative to ‖J*‖₂, so both curves start at 1 where nothing is differentiated.
    const scale = input.trace.forward![0]!.error;
    expect(input.trace.forwardScale).toBe(scale);
    expect(input.trace.reverseScale).toBe(input.trace.reverse![input.trace.reverse!.length - 1]!.error);
    expect(byName(fwd, 'k_max').points).toEqual([{ x: input.trace.kMax, y: errorAt(input.trace.forward, input.trace.kMax!) / scale }]);
    expect(byName(fwd, 'forward error').points[0]!.y).toBe(1);
    expect(byName(rev, 'reverse error').points.at(-1)!.y).toBe(1);
    expect(byName(fwd, 'iterate error').points[0]!.y).toBe(1);
    expect(fig.yLabel).toBe('relative error (÷ ‖J*‖₂)');
    expect(curseMarkdown(input, [])).toContain('Figure: one normalisation for both panels, relative error: ‖ẋ − J*‖₂ / ‖J*‖₂ and ‖x̄ − J*‖₂ / ‖J*‖₂');
    const r = await renderFigure(fig);
    expectSvg(r.svg, ['iterate error', 'forward error', 'reverse error', 'bound (21)', 'bound (18)', 'forward mode']);
    expectPng(r.png);
    expect(JSON.parse(r.spec).facet).toBeDefined();
  });

  it('helpers: sampled k include the extremes, thinning keeps the ends and the peak', () => {
    const ks = sampleKs(0, 400, 12, [137, 999]);
    expect(ks[0]).toBe(0);
    expect(ks.at(-1)).toBe(400);
    expect(ks).toContain(137);
    expect(ks).not.toContain(999);
    const pts = Array.from({ length: 5000 }, (_, i) => ({ x: i, y: i === 1234 ? 10 : 1 }));
    const th = thin(pts, 500);
    expect(th.length).toBeLessThanOrEqual(502);
    expect(th[0]!.x).toBe(0);
    expect(th.at(-1)!.x).toBe(4999);
    expect(th.some((p) => p.x === 1234)).toBe(true);
  });
});

// ---------------------------------------------------------------------------
// The command end to end
// ---------------------------------------------------------------------------

// One run of the built CLI in a child process (the smoke test: exit code, streams, files);
// the other cases run in-process through runCli, the same code without a process start.
describe('phic curse (CLI)', () => {
  afterAll(() => removeTempDirs());
  const OPT_SPEC = join(SAMPLE, 'lsq-optimal.phi.json');

  /** A spec with step factor/L, written to a temp folder. */
  function stepSpec(factor: number): string {
    const dir = tempDir('phic-curse-spec-');
    const file = join(dir, `lsq-${factor}.phi.json`);
    writeFileSync(file, JSON.stringify(lsqSpec(factor / EXACT.L)));
    return file;
  }

  it('writes <base>.json, .md, .vl.json, .svg and .png and prints a summary (in a child process)', () => {
    requireBuiltCli();
    const out = tempDir('phic-curse-');
    const r = runCli(['curse', OPT_SPEC, '--data', DATA_FILE, '-K', '200', '-o', out, '--name', 'opt']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const ext of ['json', 'md', 'vl.json', 'svg', 'png']) expect(existsSync(join(out, `opt.${ext}`))).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'opt.json'), 'utf8'));
    expect(json.command).toBe('curse');
    expect(json.options).toMatchObject({ K: 200, truncate: 0, mode: 'both', measure: 'spectral' });
    expect(json.dims).toEqual({ m: 20, n: 10 });
    expect(json.fixedPoint.converged).toBe(true);
    expect(json.fixedPoint.residual).toBeLessThan(1e-12);
    expect(json.constants.rho).toBeCloseTo(exactLsq(OPTIMAL).rho, 8);
    expect(json.constants.notes.length).toBeGreaterThan(2);
    expect(json.warnings).toEqual([]);
    expect(json.boundsApplied).toBe(true);
    expect(json.kMax).toBeGreaterThan(0);
    expect(json.kMin).toBeGreaterThan(0);
    expect(json.rows).toHaveLength(201);
    expect(json.rows[json.kMax].forward).toBeGreaterThan(json.rows[0].forward);
    for (const row of json.rows) if (row.forward > 1e-12) expect(row.forward).toBeLessThanOrEqual(row.forwardBound * (1 + 1e-9));
    const md = readFileSync(join(out, 'opt.md'), 'utf8');
    expect(md).toMatch(/^# Curse of unrolling/);
    expect(md).toContain(`k_max = ${json.kMax}`);
    expect(md).toContain('## Constants');
    expectSvg(readFileSync(join(out, 'opt.svg'), 'utf8'), ['iterate error', 'forward error', 'reverse error', 'bound (21)', 'bound (18)']);
    expectPng(readFileSync(join(out, 'opt.png')));
    expect(r.stdout).toContain(`k_max = ${json.kMax}`);
    expect(r.stdout).toContain('curse present');
    expect(r.stdout).toMatch(/wrote .*opt\.json/);
  });

  it('--mode forward --measure directions --truncate: late start along random directions, default names', async () => {
    const out = tempDir('phic-curse-');
    const r = await cli(['curse', OPT_SPEC, '--data', DATA_FILE, '-K', '120', '--truncate', '20', '--mode', 'forward', '--measure', 'directions', '--directions', '2', '--seed', '4', '-o', out]);
    expect(r.status).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'curse.json'), 'utf8'));
    expect(json.options).toMatchObject({ K: 120, truncate: 20, mode: 'forward', measure: 'directions', directions: 2, seed: 4 });
    expect(json.kMin).toBeNull();
    expect(json.rows[10].forward).toBeNull();
    expect(json.rows[20].forward).toBeGreaterThan(0);
    expect(json.rows.every((row: { reverse: unknown }) => row.reverse === null)).toBe(true);
    const svg = readFileSync(join(out, 'curse.svg'), 'utf8');
    expectSvg(svg, ['forward error', 'bound (21)', 'forward mode (late start t = 20)']);
    expect(svg).not.toContain('>reverse error</text>');
  });

  it('a step of 3/L (ρ = 2, not a contraction): WARNING on stderr and in the report, no bounds, exit 0', async () => {
    const out = tempDir('phic-curse-');
    const r = await cli(['curse', stepSpec(3), '--data', DATA_FILE, '-K', '30', '-o', out]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/WARNING: the spectral radius sr\(∂ₓΦ\(x\*\)\) = 2\.0+ ≥ 1/);
    expect(r.stderr).not.toMatch(STACK_TRACE);
    const json = JSON.parse(readFileSync(join(out, 'curse.json'), 'utf8'));
    expect(json.warnings).toHaveLength(1);
    expect(json.warnings[0]).toMatch(/not a contraction/);
    expect(json.boundsApplied).toBe(false);
    expect(json.constants.contractive).toBe(false);
    expect(json.rows.every((row: { forwardBound: unknown; reverseBound: unknown }) => row.forwardBound === null && row.reverseBound === null)).toBe(true);
    expect(readFileSync(join(out, 'curse.md'), 'utf8')).toContain('**WARNING:**');
    const svg = readFileSync(join(out, 'curse.svg'), 'utf8');
    expect(svg).not.toContain('bound (21)');
    expect(svg).toContain('>forward error</text>');
  });

  it('heavy ball (‖∂ₓΦ‖₂ > 1, spectral radius < 1): converges, no divergence verdict, no bounds, exit 0', async () => {
    const folder = join(ROOT, 'samples', 'heavy_ball');
    const data = JSON.parse(readFileSync(join(folder, 'data.json'), 'utf8')) as { Q: number[][]; mu: number };
    // sr of [[(1+β)I − αH, −βI], [I, 0]] with H = Q + μI: the largest root modulus of
    // z² − (1 + β − αλ)z + β over the eigenvalues λ of H (the sample has α = β = 0.3).
    const [alpha, beta] = [0.3, 0.3];
    const H = new Matrix(data.Q).add(Matrix.eye(data.Q.length).mul(data.mu));
    const rootModulus = (lambda: number) => {
      const b = 1 + beta - alpha * lambda;
      const disc = b * b - 4 * beta;
      return disc < 0 ? Math.sqrt(beta) : (Math.abs(b) + Math.sqrt(disc)) / 2;
    };
    const sr = Math.max(...new EigenvalueDecomposition(H, { assumeSymmetric: true }).realEigenvalues.map(rootModulus));
    expect(sr).toBeLessThan(1);
    const out = tempDir('phic-curse-');
    const r = await cli(['curse', join(folder, 'heavy_ball.phi.ts'), '--data', join(folder, 'data.json'), '-K', '100', '-o', out]);
    expect(r.status).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'curse.json'), 'utf8'));
    expect(json.constants.rho).toBeGreaterThan(1);
    expect(json.constants.spectralRadius).toBeCloseTo(sr, 10);
    expect(json.constants).toMatchObject({ contractive: false, convergent: true });
    expect(json.boundsApplied).toBe(false);
    expect(json.rows.at(-1).forward).toBeLessThan(1e-12 * json.rows[0].forward);
    expect(json.warnings).toHaveLength(1);
    expect(json.warnings[0]).toMatch(/spectral radius .* < 1, so the iteration converges .* may grow for a while before it falls/);
    for (const text of [r.stdout, r.stderr, readFileSync(join(out, 'curse.md'), 'utf8')]) {
      expect(text).not.toMatch(/not a contraction|divergence|errors grow/);
    }
    expect(r.stdout).toMatch(/curse (present|absent)/);
  });

  it('iterates that blow up (step 3/L, K = 2000): a clear numeric error, exit 1, no files', async () => {
    const out = tempDir('phic-curse-');
    const r = await cli(['curse', stepSpec(3), '--data', DATA_FILE, '-K', '2000', '-o', join(out, 'sub')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/numeric error: the iterates diverged .*non-finite.*not a contraction/);
    expect(r.stderr).not.toMatch(STACK_TRACE);
    expect(existsSync(join(out, 'sub'))).toBe(false);
  });

  it('usage errors exit 2 without a stack trace', async () => {
    const out = tempDir('phic-curse-');
    const cases = [
      ['curse', OPT_SPEC, '--data', DATA_FILE, '-K', '50', '--truncate', '50', '-o', out],
      ['curse', OPT_SPEC, '--data', DATA_FILE, '-K', '50', '--name', '../escape', '-o', out],
      ['curse', OPT_SPEC, '--data', DATA_FILE, '-K', 'many', '-o', out],
    ];
    for (const args of cases) {
      const r = await cli(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^(phic: usage error|error: )/);
      expect(r.stderr).not.toMatch(STACK_TRACE);
    }
  });
});
