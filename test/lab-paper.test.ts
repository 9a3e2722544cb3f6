// `phic paper`: a --quick run into a temp folder (report.md, results.json, figures), and the claim
// evaluators of src/lab/claims.ts on small synthetic inputs, supporting and contradicting.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli.js';
import { paperCommand } from '../src/commands/paper.js';
import {
  evaluateC1, evaluateC10, evaluateC11, evaluateC2, evaluateC3, evaluateC4, evaluateC5, evaluateC6, evaluateC7, evaluateC8, evaluateC9, formatValue,
  type BoundCheck, type BudgetOutcome, type ClaimResult, type ContractionCheck, type CurveShape, type LipschitzPair, type PairingCheck, type PhiConstants,
  type StepComparison, type WarmStartRun,
} from '../src/lab/claims.js';
import { QUICK_CONFIG } from '../src/lab/paper-config.js';
import { FORWARD_PANEL, REVERSE_PANEL, SERIES } from '../src/lab/paper-figures.js';
import type { PaperResults } from '../src/lab/paper-run.js';
import { tempDir } from './helpers/cli.js';

const CLAIMS = Array.from({ length: 11 }, (_, i) => `C${i + 1}`);
const VERDICT = /^(supported|partially|not supported)$/;

describe('phic paper --quick', () => {
  let dir = '';
  let report = '';
  let results: PaperResults;

  beforeAll(async () => {
    dir = join(tempDir('phic-paper-'), 'out');
    await paperCommand({ out: dir, quick: true, progress: false });
    report = readFileSync(join(dir, 'report.md'), 'utf8');
    results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as PaperResults;
  }, 180_000);

  /** The report's section of one claim: from its heading to the next heading. */
  const section = (claim: string) => {
    const start = report.indexOf(`### ${claim}: `);
    expect(start, `section of ${claim}`).toBeGreaterThanOrEqual(0);
    const end = report.indexOf('\n### ', start + 4);
    const nextH2 = report.indexOf('\n## ', start);
    return report.slice(start, Math.min(...[end, nextH2].filter((x) => x >= 0), report.length));
  };

  it('is registered with the command line', () => {
    const cmd = buildProgram().commands.find((c) => c.name() === 'paper');
    expect(cmd).toBeDefined();
    expect(cmd!.options.map((o) => o.long)).toEqual(expect.arrayContaining(['--out', '--quick']));
  });

  it('writes the quick configuration into results.json', () => {
    expect(results.config).toEqual(JSON.parse(JSON.stringify(QUICK_CONFIG)));
    expect(results.wallSeconds).toBeGreaterThan(0);
    expect(results.configurations).toHaveLength(2 * QUICK_CONFIG.ns.length);
  });

  it('states every claim C1–C11 with a verdict, in the report and in results.json', () => {
    expect(results.claims.map((c) => c.claim)).toEqual(CLAIMS);
    for (const c of results.claims) {
      expect(c.verdict).toMatch(VERDICT);
      const heading = new RegExp(`^### ${c.claim}: (supported|partially|not supported)$`, 'm').exec(report);
      expect(heading, c.claim).not.toBeNull();
      expect(heading![1]).toBe(c.verdict);
      expect(report).toContain(`| ${c.claim} | ${c.verdict} |`);
    }
  });

  it('prints exactly the numbers of results.json for every claim', () => {
    for (const c of results.claims) {
      const text = section(c.claim);
      expect(text).toContain(c.statement);
      expect(text).toContain(c.criterion);
      const entries = Object.entries(c.numbers);
      expect(entries.length).toBeGreaterThan(0);
      for (const [key, value] of entries) expect(text, `${c.claim}: ${key}`).toContain(`| ${key} | ${formatValue(value)} |`);
    }
  });

  it('derives the claims from the run data (re-evaluating from results.json gives the same result)', () => {
    const byClaim = Object.fromEntries(results.claims.map((c) => [c.claim, c])) as Record<string, ClaimResult>;
    const outcomes: BudgetOutcome[] = results.configurations.map((c) => ({ step: c.step, n: c.n, kappa: c.kappa, deltas: c.deltas, finalForward: c.finalForward, predictedDelta: c.predictedDelta }));
    expect(evaluateC8(outcomes)).toEqual(byClaim.C8);
    expect(evaluateC10(results.bilevel.runs)).toEqual(byClaim.C10);
    expect(evaluateC11(results.lipschitz, results.contraction)).toEqual(byClaim.C11);
    // The per-configuration table shows the same numbers as results.json.
    for (const c of results.configurations) {
      const row = report.split('\n').find((l) => l.startsWith(`| ${c.step === 'optimal' ? '2/(L+μ)' : '1/L'} | ${c.n} | `) && l.split('|').length > 14);
      expect(row, `${c.step} n=${c.n}`).toBeDefined();
      const cells = row!.split('|').map((s) => s.trim());
      expect(cells[8]).toBe(String(c.kMax));
      expect(cells[9]).toBe(String(c.kMin));
      expect(cells[10]).toBe(String(c.bestDelta));
    }
  });

  it('writes one figure per (step, n) as vega-lite, SVG and PNG, embedded in the report', () => {
    expect(results.configurations.length).toBe(6);
    for (const step of ['optimal', 'suboptimal']) {
      for (const n of QUICK_CONFIG.ns) {
        const base = join(dir, `fig-${step}-n${n}`);
        const svg = readFileSync(`${base}.svg`, 'utf8');
        expect(svg.startsWith('<svg')).toBe(true);
        for (const name of [SERIES.iterate, SERIES.iterateEnd, SERIES.final, SERIES.bound, ...QUICK_CONFIG.deltas.map((d) => SERIES.truncation((1 + QUICK_CONFIG.omega) * d, d))]) {
          expect(svg, `${base}.svg: ${name}`).toContain(name);
        }
        const png = readFileSync(`${base}.png`);
        expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        const spec = JSON.parse(readFileSync(`${base}.vl.json`, 'utf8')) as { data: { values: { series: string }[] } };
        expect(new Set(spec.data.values.map((v) => v.series))).toContain(SERIES.iterate);
        // One normalisation: the untruncated forward curve starts at ‖J*v‖/‖J*v‖ = 1 and the reverse one ends at ‖uᵀJ*‖/‖uᵀJ*‖ = 1.
        const untruncated = spec.data.values.filter((v) => v.series === SERIES.truncation(0, 0)) as unknown as { panel: string; x: number; y: number }[];
        const fwd = untruncated.filter((v) => v.panel === FORWARD_PANEL);
        const rev = untruncated.filter((v) => v.panel === REVERSE_PANEL);
        expect(fwd[0]!.y).toBe(1);
        expect(rev.at(-1)!.y).toBe(1);
        expect(report).toContain(`](fig-${step}-n${n}.png)`);
        expect(existsSync(`${base}.png`)).toBe(true);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Claim evaluators on synthetic data
// ---------------------------------------------------------------------------------------------

const pairing = (t: number, forward: number, reverse: number): PairingCheck => ({ step: 'optimal', n: 3, rep: 0, t, forward, reverse, scale: 1 });

describe('claims C1, C2: forward/reverse equivalence', () => {
  it('supports when the pairings agree to rounding', () => {
    const pairs = [pairing(0, 0.5, 0.5 + 1e-16), pairing(30, -0.25, -0.25), pairing(60, 1, 1 - 2e-16)];
    expect(evaluateC1(pairs).verdict).toBe('supported');
    expect(evaluateC2(pairs).verdict).toBe('supported');
    expect(evaluateC1(pairs).numbers['pairings checked']).toBe(2);
    expect(evaluateC2(pairs).numbers['pairings checked']).toBe(1);
  });
  it('rejects a discrepancy, a Jacobian mismatch, or no checks at all', () => {
    expect(evaluateC1([pairing(30, 0.5, 0.51)]).verdict).toBe('not supported');
    expect(evaluateC2([pairing(0, 0.5, 0.5)], [{ step: 'optimal', n: 3, t: 0, maxAbsDifference: 1e-3, maxAbsEntry: 1 }]).verdict).toBe('not supported');
    expect(evaluateC1([pairing(0, 1, 1)]).verdict).toBe('not supported');
  });
});

const shape = (over: Partial<CurveShape> = {}): CurveShape => ({
  step: 'optimal', n: 5, kappa: 10, K: 100, kMax: 0, forwardStart: 1, forwardPeak: 1, iterateMonotone: true, kMin: 0, reverseAtKMin: 1, reverseAtZero: 1, ...over,
});

describe('claims C3, C4: shape of the curves', () => {
  const trio = (rises: number[], over: Partial<CurveShape>[] = []) => [10, 100, 1000].map((kappa, i) => shape({ n: 3 * (i + 1), kappa, kMax: rises[i]! > 0 ? 20 : 0, forwardPeak: 1 + rises[i]!, ...over[i] }));
  it('C3: supported only when the curse grows with κ (rank correlation) and its peak is observed', () => {
    expect(evaluateC3(trio([0, 0.2, 0.8])).verdict).toBe('supported');
    expect(evaluateC3(trio([0, 0.2, 0.8])).numbers['Spearman rank correlation of κ and rise (optimal step)']).toBeCloseTo(1, 12);
  });
  it('C3: a curse only at the best-conditioned n contradicts the trend: not supported', () => {
    const r = evaluateC3(trio([0.5, 0, 0]));
    expect(r.numbers['Spearman rank correlation of κ and rise (optimal step)']).toBeLessThan(0);
    expect(r.verdict).toBe('not supported');
  });
  it('C3: a peak at the end of the horizon is "not observed" and never counts as support', () => {
    // The largest rise sits at kMax = horizon: left out of the trend, two configurations remain.
    const r = evaluateC3(trio([0, 0.2, 2], [{}, {}, { kMax: 100, horizon: 100 }]));
    expect(r.numbers['peak not observed (kMax = horizon, not counted)']).toBe('opt n=9');
    expect(r.verdict).toBe('partially');
    expect(evaluateC3([shape({ kMax: 100, forwardPeak: 1.5 })]).verdict).toBe('not supported');
    // A longer horizon that shows the fall makes the same peak count.
    expect(evaluateC3(trio([0, 0.2, 2], [{}, {}, { kMax: 100, horizon: 400 }])).verdict).toBe('supported');
  });
  it('C3: tiny rises and non-monotone iterates are no curse', () => {
    expect(evaluateC3([shape(), shape({ kMax: 3, forwardPeak: 1.001 })]).verdict).toBe('not supported');
    expect(evaluateC3([shape({ kMax: 20, forwardPeak: 2, iterateMonotone: false })]).verdict).toBe('not supported');
  });
  it('C4: an interior minimum better than x̄_0 supports; a minimum at 0 does not', () => {
    expect(evaluateC4([shape({ kMin: 40, reverseAtKMin: 0.5 })]).verdict).toBe('supported');
    expect(evaluateC4([shape({ kMin: 0 }), shape({ kMin: 40, reverseAtKMin: 0.999 })]).verdict).toBe('not supported');
  });
});

describe('claim C5: the bound (21)', () => {
  const check = (errors: number[], bounds: number[]): BoundCheck => ({ step: 'optimal', n: 3, rep: 0, delta: 0, mode: 'forward', errors, bounds });
  it('supports when every error is below its bound (errors under 1e-12 never count)', () => {
    const r = evaluateC5([check([0.5, 0.2, 1e-13], [1, 0.2, 1e-14])]);
    expect(r.verdict).toBe('supported');
    expect(r.numbers['violations (true constants)']).toBe(0);
    expect(r.numbers['errors checked (true constants)']).toBe(3);
  });
  it('rejects a violation, or a broken ρ^t factor', () => {
    const r = evaluateC5([check([0.5, 0.3], [1, 0.2])]);
    expect(r.verdict).toBe('not supported');
    expect(r.numbers['violations (true constants)']).toBe(1);
    expect(evaluateC5([check([0.5], [1])], [], 1e-3).verdict).toBe('not supported');
  });
});

describe('claim C6: budget accounting', () => {
  const run = (delta: number, over: object = {}) => ({ K: 30, omega: 2, delta, t: 3 * delta, algorithmSteps: 30 + 2 * delta, derivativeSteps: 30 - delta, ...over });
  it('supports when the observed steps match K + ωΔ and K − Δ', () => {
    expect(evaluateC6([run(0), run(10), run(20)]).verdict).toBe('supported');
  });
  it('rejects a run with the wrong number of steps or truncation index', () => {
    expect(evaluateC6([run(0), run(10, { derivativeSteps: 21 })]).verdict).toBe('not supported');
    expect(evaluateC6([run(10, { t: 20 })]).verdict).toBe('not supported');
  });
});

describe('claim C7: convexity of φ', () => {
  const set = (over: Partial<PhiConstants> = {}): PhiConstants => ({ label: 's', rho: 0.95, C: 0.4, a: 1, e0: 3, K: 60, omega: 2, ...over });
  it('supports for contractive constants (Lemma 11)', () => {
    const r = evaluateC7([set(), set({ rho: 0.99, C: 2 }), set({ a: 0.01 })]);
    expect(r.verdict).toBe('supported');
    expect(r.numbers['unique minimiser']).toBe(3);
  });
  it('rejects a flat φ (no unique minimiser) and a non-convex one (ρ > 1 outside the lemma)', () => {
    expect(evaluateC7([set({ a: 0, C: 0 })]).verdict).toBe('not supported');
    expect(evaluateC7([set({ rho: 1.05, a: 0 })]).verdict).toBe('not supported');
  });
});

const outcome = (step: 'optimal' | 'suboptimal', n: number, kappa: number, finalForward: number[]): BudgetOutcome => ({ step, n, kappa, deltas: [0, 10, 20, 30], finalForward });

describe('claim C8: best truncation', () => {
  it('supports when the two worst-conditioned n prefer the largest Δ and the best-conditioned does not', () => {
    const r = evaluateC8([outcome('optimal', 3, 10, [1, 0.5, 0.8, 0.9]), outcome('optimal', 6, 100, [1, 0.9, 0.8, 0.7]), outcome('optimal', 9, 1000, [2, 1.9, 1.8, 1.7])]);
    expect(r.verdict).toBe('supported');
  });
  it('is partial with only the trend, and not supported against it', () => {
    expect(evaluateC8([outcome('optimal', 3, 10, [0.5, 0.6, 0.8, 0.9]), outcome('optimal', 6, 100, [1, 0.9, 0.8, 0.7]), outcome('optimal', 9, 1000, [2, 1.9, 1.7, 1.8])]).verdict).toBe('partially');
    expect(evaluateC8([outcome('optimal', 3, 10, [1, 0.9, 0.8, 0.7]), outcome('optimal', 6, 100, [0.5, 0.9, 0.8, 0.7]), outcome('optimal', 9, 1000, [1, 1.9, 1.8, 1.7])]).verdict).toBe('not supported');
  });
});

describe('claim C9: suboptimal step', () => {
  const compare = (riseOpt: number, riseSub: number, finalsOpt: number[], finalsSub: number[], rhoOpt = 0.9, rhoSub = 0.95, n = 5, kMaxSub = 10): StepComparison => ({
    n,
    optimal: { shape: shape({ n, kMax: 10, forwardPeak: 1 + riseOpt }), outcome: outcome('optimal', n, 10, finalsOpt), rho: rhoOpt },
    suboptimal: { shape: shape({ step: 'suboptimal', n, horizon: 300, kMax: riseSub > 0 ? kMaxSub : 0, forwardPeak: 1 + riseSub }), outcome: outcome('suboptimal', n, 10, finalsSub), rho: rhoSub },
  });
  it('supports a slower rate, no substantial rise and no truncation benefit at every n', () => {
    const r = evaluateC9([compare(0.5, 0, [1, 0.2, 0.5, 0.9], [1, 1.1, 1.2, 1.3])]);
    expect(r.verdict).toBe('supported');
    expect(r.numbers.counterexamples).toBe('none');
  });
  it('reports a persisting curse with the smaller step as a counterexample, even when it is smaller than with the optimal step', () => {
    const r = evaluateC9([compare(0.5, 0, [1, 0.2, 0.5, 0.9], [1, 1.1, 1.2, 1.3]), compare(0.9, 0.12, [1, 0.5, 0.4, 0.6], [1, 1, 1, 1], 0.9, 0.95, 35, 145)]);
    expect(r.verdict).toBe('partially');
    expect(String(r.numbers.counterexamples)).toContain('n=35: the curse persists with the smaller step (rise 0.1200, kMax = 145)');
  });
  it('reports a truncation benefit with the smaller step as a counterexample, even when it is smaller than with the optimal one', () => {
    const r = evaluateC9([compare(0.5, 0, [5, 1, 2, 3], [1.22, 1, 1.1, 1.2], 0.9, 0.95, 20)]);
    expect(r.verdict).toBe('partially');
    expect(String(r.numbers.counterexamples)).toContain('n=20: truncation still helps with the smaller step (1.220×)');
  });
  it('rejects a larger rise with the smaller step, or a faster rate', () => {
    expect(evaluateC9([compare(0.1, 0.5, [1, 1.1, 1.2, 1.3], [1, 0.2, 0.5, 0.9])]).verdict).toBe('not supported');
    expect(evaluateC9([compare(0.5, 0, [1, 0.2, 0.5, 0.9], [1, 1.1, 1.2, 1.3], 0.95, 0.9)]).verdict).toBe('not supported');
  });
});

describe('claim C10: warm start', () => {
  const run = (rep: number, warm: number[], cold: number[]): WarmStartRun => ({ rep, warmErrors: warm, coldErrors: cold, warmInitialDistance: warm, coldInitialDistance: cold });
  it('supports when warm starts are more accurate in every repetition (j = 0 ignored)', () => {
    expect(evaluateC10([run(0, [5, 1, 1, 1], [5, 3, 3, 3]), run(1, [9, 0.1, 0.2], [9, 1, 1])]).verdict).toBe('supported');
  });
  it('is partial for a majority and not supported otherwise', () => {
    expect(evaluateC10([run(0, [5, 1, 1], [5, 3, 3]), run(1, [5, 1, 1], [5, 3, 3]), run(2, [5, 4, 4], [5, 3, 3])]).verdict).toBe('partially');
    expect(evaluateC10([run(0, [1, 4, 4], [1, 3, 3])]).verdict).toBe('not supported');
  });
});

describe('claim C11: GD constants', () => {
  const pair = (estimateRatio: number, samePointRatio = 2): LipschitzPair => ({ n: 5, rep: 0, alphaRatio: 2, estimateRatio, samePointRatio, LAOptimal: 0, LASuboptimal: 0 });
  const L = 10;
  const mu = 1;
  const grid = (alphaLs: number[], opt = (2 * L) / (L + mu)): ContractionCheck[] =>
    [...alphaLs.map((g) => ({ alphaL: g, optimal: false })), { alphaL: opt, optimal: true }].map((g) => {
      const rho = Math.max(Math.abs(1 - (g.alphaL / L) * mu), Math.abs(1 - g.alphaL));
      return { ...g, rhoGenerated: rho, rhoFormula: rho };
    });
  it('supports exact linearity and the contraction range', () => {
    expect(evaluateC11([pair(2.02)], grid([0.5, 1, 1.9, 2.1])).verdict).toBe('supported');
  });
  it('is partial when only the secant estimates deviate', () => {
    expect(evaluateC11([pair(3)], grid([0.5, 1, 2.1])).verdict).toBe('partially');
  });
  it('rejects non-linear constants or a wrong ρ', () => {
    expect(evaluateC11([pair(2, 2.5)], grid([0.5, 1])).verdict).toBe('not supported');
    const wrong = grid([0.5, 1]).map((c) => (c.alphaL === 1 ? { ...c, rhoGenerated: c.rhoFormula * 1.1 } : c));
    expect(evaluateC11([pair(2)], wrong).verdict).toBe('not supported');
    expect(evaluateC11([pair(2)], grid([0.5, 1.8], 1)).verdict).toBe('not supported');
  });
});
