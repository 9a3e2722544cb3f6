// Truncation under a fixed budget (`phic truncation`, MATH.md §4.4–4.5): C6 the cost of every
// Δ is (1 + ω)K, C7 φ(Δ) of (22) is convex and minimisePhi finds its grid minimiser, C9 a
// smaller step gives a smaller initial rise and less benefit from truncation; the report and
// figure builders; and the command end to end.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemorySource } from '../compiler/spec/source.js';
import { randomGenerator } from '../runtime/reference.js';
import { estimateConstants, minimisePhi, phi, type Constants } from '../src/lab/bounds.js';
import { reference, type Reference } from '../src/lab/fixed-point.js';
import { makeProblem, type LabProblem } from '../src/lab/problem.js';
import { defaultDeltas, sweepTruncation, type TruncationSweep } from '../src/lab/truncation.js';
import { renderFigure } from '../src/lab/plot.js';
import { truncationFigure, truncationJson, truncationMarkdown, truncationStdout, type TruncationReportInput } from '../src/lab/curse-report.js';
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

function spectrum(A: number[][]) {
  const Am = new Matrix(A);
  const eig = new EigenvalueDecomposition(Am.transpose().mmul(Am), { assumeSymmetric: true }).realEigenvalues;
  return { L: Math.max(...eig), mu: Math.min(...eig) };
}
const { L, mu } = spectrum(DATA.A);
const OPTIMAL = 2 / (L + mu);
const SMALL = 1 / L;

async function lab(alpha: number, A = DATA.A, b = DATA.b, x0 = DATA.x0.x): Promise<{ problem: LabProblem; ref: Reference }> {
  const problem = makeProblem(inMemorySource(lsqSpec(alpha) as never), { A, b }, { x: x0 });
  return { problem, ref: await reference(problem) };
}

/** The sample problem at step alpha, made once per file: its compiled instances are cached by (K, t, mode). */
const sampleLabs = new Map<number, Promise<{ problem: LabProblem; ref: Reference }>>();
function sampleLab(alpha: number): Promise<{ problem: LabProblem; ref: Reference }> {
  if (!sampleLabs.has(alpha)) sampleLabs.set(alpha, lab(alpha));
  return sampleLabs.get(alpha)!;
}

/** For the hooks that sweep the sample problem (seconds on an idle machine, many more on a loaded one). */
const SWEEP_HOOK_TIMEOUT = 180_000;

function smallInstance(seed: number, m = 6, n = 3) {
  const rng = randomGenerator(seed);
  const A = Array.from({ length: m }, () => Array.from({ length: n }, () => rng.uniform()));
  const b = Array.from({ length: m }, () => rng.normal());
  const x0 = Array.from({ length: n }, () => rng.normal());
  const s = spectrum(A);
  return { A, b, x0, alpha: 2 / (s.L + s.mu) };
}

describe('C6: every Δ costs (1 + ω)K', () => {
  it('K + ωΔ iterations, the last K − Δ unrolled, t = (1 + ω)Δ, and (K + ωΔ) + ω(K − Δ) = (1 + ω)K exactly', async () => {
    const s = smallInstance(21);
    const { problem, ref } = await lab(s.alpha, s.A, s.b, s.x0);
    const K = 60;
    const constants = await estimateConstants(problem, ref, { K: 3 * K });
    for (const [omega, deltas] of [[2, [0, 7, 20, 45, 59]], [2.5, [0, 2, 10, 24]], [0, [0, 30]], [1, defaultDeltas(K, 1)]] as const) {
      const sweep = await sweepTruncation(problem, ref, constants, { K, omega, deltas, measure: 'spectral' });
      expect(sweep.runs.map((r) => r.delta)).toEqual([...deltas]);
      for (const r of sweep.runs) {
        expect(r.cost).toBe((1 + omega) * K);
        expect(r.iterations).toBe(K + omega * r.delta);
        expect(r.t).toBe((1 + omega) * r.delta);
        // What actually ran: K + ωΔ map evaluations, K − Δ derivative steps starting at t.
        const tr = r.trace;
        expect(tr.K).toBe(r.iterations);
        expect(tr.truncate).toBe(r.t);
        expect(tr.iterate).toHaveLength(r.iterations + 1);
        expect(tr.forward).toHaveLength(K - r.delta + 1);
        expect(tr.forward![0]!.k).toBe(r.t);
        expect(tr.forward!.at(-1)!.k).toBe(r.iterations);
        expect(tr.reverse![0]!.k).toBe(r.t);
        const algorithmSteps = tr.iterate.length - 1;
        const derivativeSteps = tr.forward!.length - 1;
        expect(algorithmSteps + omega * derivativeSteps).toBe((1 + omega) * K);
        // The final errors of both modes agree (C1 at the budgeted t).
        expect(Math.abs(r.finalForward - r.finalReverse) / r.finalForward).toBeLessThan(1e-10);
        expect(r.bound).toBeCloseTo(phi(constants, r.delta, K, omega), 12);
      }
      expect(new Set(sweep.runs.map((r) => r.cost)).size).toBe(1);
    }
  });
});

describe('C7: φ(Δ) is convex on [0, K] and minimisePhi finds its minimiser', () => {
  it('non-negative second differences on a fine grid, and the grid minimiser up to rounding', async () => {
    const { problem, ref } = await sampleLab(OPTIMAL);
    const estimated = await estimateConstants(problem, ref, { K: 900 });
    const synthetic: Constants[] = [
      { ...estimated, rho: 0.9, C: 3, e0: 10, normJStar: 1 },
      { ...estimated, rho: 0.99, C: 0.5, e0: 5, normJStar: 10 },
      { ...estimated, rho: 0.999, C: 0.05, e0: 2, normJStar: 20 },
      { ...estimated, rho: 0.95, C: 0, e0: 2, normJStar: 3 }, // no curse term: φ = ρ^{K−Δ}‖J*‖
      { ...estimated, rho: 0.97, C: 2, e0: 4, normJStar: 0 }, // no decaying term
    ];
    let checked = 0;
    for (const c of [estimated, ...synthetic]) {
      for (const K of [50, 300]) {
        for (const omega of [0, 1, 2, 3]) {
          const f = (d: number) => phi(c, d, K, omega);
          const h = K / 600;
          let scale = 0;
          for (let i = 0; i <= 600; i++) scale = Math.max(scale, Math.abs(f(i * h)));
          for (let i = 1; i < 600; i++) {
            const d2 = f((i - 1) * h) - 2 * f(i * h) + f((i + 1) * h);
            expect(d2, `ρ=${c.rho} K=${K} ω=${omega} Δ=${i * h}`).toBeGreaterThanOrEqual(-1e-12 * scale);
            checked++;
          }
          // Grid minimiser over admissible integers (ωΔ an integer: all of them for integer ω).
          let best = 0;
          for (let d = 1; d <= K; d++) if (f(d) < f(best)) best = d;
          const m = minimisePhi(c, K, omega);
          expect(m.value).toBeLessThanOrEqual(f(best) * (1 + 1e-12) + 1e-300);
          expect(m.value).toBeCloseTo(f(m.delta), 14);
          expect(m.t).toBe((1 + omega) * m.delta);
          if (Math.abs(f(best) - f(m.delta)) > 1e-12 * f(best)) expect(m.delta).toBe(best);
          expect(Math.abs(m.continuous - best)).toBeLessThanOrEqual(1 + 1e-6);
        }
      }
    }
    expect(checked).toBe(6 * 2 * 4 * 599);
  });

  it('strictly convex in the cases of Lemma 11: φ″(s) = aγ²e^{−γs} + bωγe^{ωγs}(2 + ωγs) > 0 matches the second differences', () => {
    // s = K − Δ, a = ‖J*‖, b = Cρ^{(1+ω)K−1}‖x⁰ − x*‖, γ = ln(1/ρ).
    const c = { rho: 0.98, C: 0.7, e0: 3, normJStar: 4 } as Constants;
    const K = 200;
    for (const omega of [0, 2]) {
      const g = Math.log(1 / c.rho);
      const a = c.normJStar;
      const b = c.C * Math.pow(c.rho, (1 + omega) * K - 1) * c.e0;
      const second = (s: number) => a * g * g * Math.exp(-g * s) + b * omega * g * Math.exp(omega * g * s) * (2 + omega * g * s);
      for (const delta of [10, 80, 150]) {
        const h = 1e-2;
        const fd = (phi(c, delta - h, K, omega) - 2 * phi(c, delta, K, omega) + phi(c, delta + h, K, omega)) / (h * h);
        expect(second(K - delta)).toBeGreaterThan(0);
        expect(Math.abs(fd - second(K - delta)) / second(K - delta)).toBeLessThan(1e-4);
      }
    }
  });
});

describe('minimisePhi with a non-integer ω', () => {
  it('returns the best admissible Δ (ωΔ an integer), not just 0 or K', () => {
    const c = { rho: 0.99, normJStar: 10, C: 0.5, e0: 5 } as Constants;
    const K = 300;
    const omega = 0.1;
    const best = minimisePhi(c, K, omega);
    const admissible = Array.from({ length: K + 1 }, (_, d) => d).filter((d) => Number.isInteger(omega * d));
    const gridBest = admissible.reduce((p, d) => (phi(c, d, K, omega) < phi(c, p, K, omega) ? d : p), 0);
    expect(Number.isInteger(omega * best.delta)).toBe(true);
    expect(best.delta).toBe(gridBest);
    expect(best.delta).toBe(290);
  });

  it('with maxDelta = K − 1 never proposes Δ = K (nothing unrolled), even where φ falls all the way to K', () => {
    // ρ near 1 and a large curse term: φ decreases on [0, K], so its minimiser over [0, K] is K.
    const c = { rho: 0.999, normJStar: 1, C: 10, e0: 10 } as Constants;
    const K = 50;
    expect(minimisePhi(c, K, 2).delta).toBe(K);
    const capped = minimisePhi(c, K, 2, K - 1);
    expect(capped.delta).toBe(K - 1);
    expect(capped.value).toBe(phi(c, K - 1, K, 2));
  });
});

describe('C9: a smaller step weakens the curse and the benefit of truncation', () => {
  const K = 300;
  const deltas = [0, 60, 120, 180, 240];
  let opt: { sweep: TruncationSweep; rise: number; rho: number };
  let small: { sweep: TruncationSweep; rise: number; rho: number };
  beforeAll(async () => {
    const run = async (alpha: number) => {
      const { problem, ref } = await sampleLab(alpha);
      const constants = await estimateConstants(problem, ref, { K: 3 * K });
      const sweep = await sweepTruncation(problem, ref, constants, { K, omega: 2, deltas, measure: 'spectral' });
      // The run with Δ = 0 is the untruncated one (K iterations, t = 0): its forward errors
      // ‖ẋ_0^k − J*‖, k = 0..K, are the forward trace of the curse, so it gives the rise.
      const untruncated = sweep.runs[0]!;
      expect([untruncated.delta, untruncated.t, untruncated.iterations]).toEqual([0, 0, K]);
      const forward = untruncated.trace.forward!;
      expect(forward.map((p) => p.k)).toEqual(Array.from({ length: K + 1 }, (_, k) => k));
      const rise = Math.max(...forward.map((p) => p.error)) / forward[0]!.error;
      return { sweep, rise, rho: constants.rho };
    };
    opt = await run(OPTIMAL);
    small = await run(SMALL);
  }, SWEEP_HOOK_TIMEOUT);
  const benefit = (s: TruncationSweep) => s.runs[0]!.finalForward / Math.min(...s.runs.map((r) => r.finalForward));

  it('smaller initial rise of the forward error, slower rate', () => {
    expect(small.rho).toBeGreaterThan(opt.rho);
    expect(opt.rise).toBeGreaterThan(1.5);
    expect(small.rise).toBeLessThan(opt.rise);
  });

  it('truncation helps a lot with the optimal step and little with the small one', () => {
    expect(opt.sweep.runs[0]!.delta).toBe(0);
    expect(benefit(opt.sweep)).toBeGreaterThan(3);
    expect(benefit(small.sweep)).toBeLessThan(1.5);
    expect(benefit(small.sweep)).toBeLessThan(benefit(opt.sweep));
    // C8 (optimal step, ill-conditioned): the best Δ is interior and positive.
    expect(opt.sweep.measured.delta).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------
// Report builders
// ---------------------------------------------------------------------------

async function reportInput(alpha: number, K: number, omega: number, deltas: number[]): Promise<TruncationReportInput> {
  const { problem, ref } = await sampleLab(alpha);
  const constants = await estimateConstants(problem, ref, { K: K + omega * K });
  const sweep = await sweepTruncation(problem, ref, constants, { K, omega, deltas, measure: 'spectral' });
  return {
    spec: 'lsq.phi.json', map: 'lsq', dims: problem.dims, stateSize: problem.stateSize, paramSize: problem.paramSize,
    fixedPoint: ref.fixedPoint, constants, sweep,
    options: { K, omega, deltas, measure: 'spectral', directions: 1, seed: 1 },
  };
}

describe('truncation report', () => {
  let input: TruncationReportInput;
  beforeAll(async () => {
    input = await reportInput(OPTIMAL, 150, 2, [0, 30, 60, 90, 120]);
  }, SWEEP_HOOK_TIMEOUT);

  it('Markdown: a row per Δ, the recommended (bound-optimal) t with its compile line, the measured best beside it', () => {
    const md = truncationMarkdown(input, []);
    const { sweep } = input;
    for (const r of sweep.runs) expect(md).toMatch(new RegExp(`^\\| ${r.delta} \\| ${r.t} \\| ${r.iterations} \\| 450 \\|`, 'm'));
    expect(md).toContain(`feed it to \`phic compile --truncate ${sweep.predicted.t} -K ${150 + 2 * sweep.predicted.delta}\``);
    expect(md).toMatch(/\| recommended: bound-optimal \(minimiser of φ/);
    expect(md).toMatch(/\| measured best \(needs J\*\) \|/);
    const json = truncationJson(input, []) as { budget: number; runs: { cost: number; phi: number; forward: { from: number; errors: number[] } }[]; recommended: { delta: number } };
    expect(json.budget).toBe(450);
    expect(json.runs.every((r) => r.cost === 450 && r.phi > 0)).toBe(true);
    expect(json.runs[1]!.forward.from).toBe(90);
    expect(json.runs[1]!.forward.errors).toHaveLength(150 - 30 + 1);
    expect(json.recommended.delta).toBe(sweep.predicted.delta);
  });

  it('per Δ: bufferBytes of the forward and reverse modules and the median jvp/vjp wall time, beside the ω cost model', async () => {
    const { sweep } = input;
    const { problem } = await sampleLab(OPTIMAL);
    const first = sweep.runs[0]!;
    for (const r of sweep.runs) {
      const res = r.resources!;
      // What a fresh instance holds after one jvp / vjp.
      const rev = await problem.freshInstance(r.iterations, r.t, 'reverse');
      rev.vjp!(problem.inputs as never, { x: new Float64Array(problem.stateSize) } as never, problem.x0 as never);
      const fwd = await problem.freshInstance(r.iterations, r.t, 'forward');
      fwd.jvp!(problem.inputs as never, { A: new Float64Array(problem.paramSize - DATA.b.length), b: new Float64Array(DATA.b.length) } as never, problem.x0 as never);
      expect(res.reverseBytes).toBe(rev.bufferBytes());
      expect(res.forwardBytes).toBe(fwd.bufferBytes());
      // The reverse tape holds the K − Δ unrolled states (8 bytes an entry); forward mode keeps no tape.
      expect(first.resources!.reverseBytes - res.reverseBytes).toBe(8 * problem.stateSize * (r.delta - first.delta));
      expect(res.forwardBytes).toBe(first.resources!.forwardBytes);
      for (const ms of [res.jvpMs, res.vjpMs]) {
        expect(Number.isFinite(ms)).toBe(true);
        expect(ms).toBeGreaterThan(0);
      }
      expect(res.calls).toBe(3);
    }
    const md = truncationMarkdown(input, []);
    expect(md).toContain('| bufferBytes fwd / rev | jvp / vjp ms (median) |');
    for (const r of sweep.runs) expect(md).toContain(`| ${r.resources!.forwardBytes} / ${r.resources!.reverseBytes} | ${r.resources!.jvpMs.toPrecision(3)} / ${r.resources!.vjpMs.toPrecision(3)} |`);
    const json = truncationJson(input, []) as { runs: { resources: { reverseBytes: number } }[] };
    expect(json.runs.map((r) => r.resources.reverseBytes)).toEqual(sweep.runs.map((r) => r.resources!.reverseBytes));
  });

  it('recommends the bound-optimal t, not the measured best (which needs J*), and hides the measured best without J*', () => {
    const { sweep } = input;
    // A sweep whose measured best is another Δ than the bound-optimal one.
    const other = sweep.runs.find((r) => r.delta !== sweep.predicted.delta)!;
    const split = { ...input, sweep: { ...sweep, measured: { delta: other.delta, t: other.t, error: other.finalForward } } };
    const compileAt = (t: number, iterations: number) => `feed it to \`phic compile --truncate ${t} -K ${iterations}\``;
    const predictedLine = compileAt(sweep.predicted.t, 150 + 2 * sweep.predicted.delta);
    for (const text of [truncationStdout(split), truncationMarkdown(split, [])]) {
      expect(text).toContain(predictedLine);
      expect(text).not.toContain(compileAt(other.t, other.iterations));
      expect(text).toMatch(new RegExp(`measured best \\(needs J\\*[^\\n]*Δ = ${other.delta}, t = ${other.t}|measured best \\(needs J\\*\\) \\| ${other.delta} \\| ${other.t} \\|`));
    }
    expect(truncationJson(split, [])).toMatchObject({ recommended: { delta: sweep.predicted.delta }, measured: { delta: other.delta } });
    // A bound no smaller than ‖J*‖ (the error of ẋ = 0) at its minimiser is said to guarantee nothing.
    expect(truncationStdout({ ...split, constants: { ...split.constants, normJStar: 0 } })).toContain('guarantees nothing');
    expect(truncationStdout({ ...split, constants: { ...split.constants, normJStar: Infinity } })).not.toContain('guarantees nothing');
    // Without a converged x* there is no J*: no measured best, and no bounds, so nothing recommended.
    const noJStar = { ...split, fixedPoint: { ...split.fixedPoint, converged: false } };
    const out = truncationStdout(noJStar);
    expect(out).toMatch(/no recommended t: the bounds do not apply/);
    expect(out).not.toMatch(/measured best|phic compile/);
    expect(truncationMarkdown(noJStar, [])).toContain('No measured best');
    expect(truncationJson(noJStar, [])).toMatchObject({ recommended: null, measured: null });
  });

  it('the figure (MATH.md §7.4): a solid curve per t, iterate dashed, final errors dashed with markers, φ(Δ) dotted with markers', async () => {
    const fig = truncationFigure(input);
    expect(fig.logY).toBe(true);
    const [fwd, rev] = fig.panels;
    const names = fwd!.series.map((s) => s.name);
    expect(names).toEqual(['iterate error', 't = 0', 't = 90', 't = 180', 't = 270', 't = 360', 'final error', 'bound φ(Δ)']);
    expect(rev!.series.map((s) => s.name)).toEqual(['iterate error', 't = 0', 't = 90', 't = 180', 't = 270', 't = 360', 'final error']);
    const get = (p: typeof fwd, n: string) => p!.series.find((s) => s.name === n)!;
    expect(get(fwd, 'iterate error').stroke).toBe('dashed');
    expect(get(fwd, 'iterate error').points.at(-1)!.x).toBe(150 + 2 * 120);
    expect(get(fwd, 't = 90').stroke ?? 'solid').toBe('solid');
    expect(get(fwd, 't = 90').points[0]!.x).toBe(90);
    expect(get(fwd, 'final error')).toMatchObject({ stroke: 'dashed', markers: true });
    expect(get(fwd, 'final error').points.map((p) => p.x)).toEqual(input.sweep.runs.map((r) => r.iterations));
    expect(get(rev, 'final error').points.map((p) => p.x)).toEqual(input.sweep.runs.map((r) => r.t));
    expect(get(fwd, 'bound φ(Δ)')).toMatchObject({ stroke: 'dotted', markers: true });
    expect(get(fwd, 'bound φ(Δ)').points.map((p) => p.y)).toEqual(input.sweep.runs.map((r) => r.bound));
    const r = await renderFigure(fig);
    expectSvg(r.svg, ['iterate error', 't = 0', 't = 360', 'final error', 'bound φ(Δ)']);
    expectPng(r.png);
  });

  it('non-contractive constants: no φ(Δ), no prediction', () => {
    const bad = { ...input, constants: { ...input.constants, rho: 1.2, contractive: false } };
    expect(truncationFigure(bad).panels[0]!.series.map((s) => s.name)).not.toContain('bound φ(Δ)');
    const json = truncationJson(bad, ['w']) as { recommended: unknown; runs: { phi: unknown }[]; warnings: string[] };
    expect(json.recommended).toBeNull();
    expect(json.runs.every((r) => r.phi === null)).toBe(true);
    expect(json.warnings).toEqual(['w']);
    expect(truncationMarkdown(bad, ['w'])).not.toContain('Recommended: Δ');
    expect(truncationMarkdown(bad, ['w'])).toContain('No recommended t');
  });
});

// ---------------------------------------------------------------------------
// The command end to end
// ---------------------------------------------------------------------------

// One run of the built CLI in a child process (the smoke test: exit code, streams, files, the
// progress lines off a terminal); the other cases run in-process through runCli.
describe('phic truncation (CLI)', () => {
  afterAll(() => removeTempDirs());
  const OPT_SPEC = join(SAMPLE, 'lsq-optimal.phi.json');

  it('writes JSON, Markdown and the figure; every run costs (1+ω)K; the bound-optimal Δ is measured too (in a child process)', () => {
    requireBuiltCli();
    const out = tempDir('phic-trunc-');
    const r = runCli(['truncation', OPT_SPEC, '--data', DATA_FILE, '-K', '120', '--deltas', '0,20,40', '-o', out, '--name', 'tr']);
    expect(r.status).toBe(0);
    for (const ext of ['json', 'md', 'vl.json', 'svg', 'png']) expect(existsSync(join(out, `tr.${ext}`))).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'tr.json'), 'utf8'));
    expect(json.command).toBe('truncation');
    expect(json.options).toMatchObject({ K: 120, omega: 2, measure: 'spectral' });
    expect(json.warnings).toEqual([]);
    expect(json.budget).toBe(360);
    const deltas = json.runs.map((x: { delta: number }) => x.delta);
    expect(deltas).toEqual(expect.arrayContaining([0, 20, 40, json.recommended.delta]));
    expect(deltas).toHaveLength(new Set([0, 20, 40, json.recommended.delta]).size);
    for (const run of json.runs) {
      expect(run.cost).toBe(360);
      expect(run.iterations).toBe(120 + 2 * run.delta);
      expect(run.t).toBe(3 * run.delta);
      expect(run.phi).toBeGreaterThan(0);
      expect(run.forward.errors).toHaveLength(120 - run.delta + 1);
    }
    expect(json.recommended.delta).toBeLessThan(120); // at least one differentiated iteration
    expect(json.recommended.measuredForward).toBe(json.runs.find((x: { delta: number }) => x.delta === json.recommended.delta).finalForward);
    const best = Math.min(...json.runs.map((x: { finalForward: number }) => x.finalForward));
    expect(json.measured.error).toBe(best);
    const md = readFileSync(join(out, 'tr.md'), 'utf8');
    expect(md).toContain(`feed it to \`phic compile --truncate ${json.recommended.t} -K ${json.recommended.iterations}\``);
    expect(md).toContain('| measured best (needs J*) |');
    expectSvg(readFileSync(join(out, 'tr.svg'), 'utf8'), ['t = 0', 't = 60', 't = 120', 'final error', 'bound φ(Δ)', 'iterate error']);
    expectPng(readFileSync(join(out, 'tr.png')));
    expect(r.stdout).toMatch(/recommended \(bound-optimal.*\): Δ = \d+, t = \d+/);
    expect(r.stdout).toMatch(/measured best \(needs J\*.*\): Δ = \d+, t = \d+/);
    expect(r.stdout).toContain(`feed it to \`phic compile --truncate ${json.recommended.t} -K ${json.recommended.iterations}\``);
    expect(r.stderr).toMatch(/truncation sweep: 1\/\d/); // progress (plain lines off a terminal)
    expect(r.stderr).not.toContain('WARNING');
  });

  it('not a contraction (step 3/L): WARNING, no φ, exit 0', async () => {
    const dir = tempDir('phic-trunc-');
    const spec = join(dir, 'big.phi.json');
    writeFileSync(spec, JSON.stringify(lsqSpec(3 / L)));
    const r = await cli(['truncation', spec, '--data', DATA_FILE, '-K', '20', '--deltas', '0,5', '-o', dir]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/WARNING: .*not a contraction/);
    const json = JSON.parse(readFileSync(join(dir, 'truncation.json'), 'utf8'));
    expect(json.warnings).toHaveLength(1);
    expect(json.recommended).toBeNull();
    expect(r.stdout).not.toContain('phic compile');
    expect(json.runs.map((x: { delta: number; phi: unknown }) => [x.delta, x.phi])).toEqual([[0, null], [5, null]]);
  });

  it('bad Δ lists and ω exit 2 with a message', async () => {
    const out = tempDir('phic-trunc-');
    const cases: [string[], RegExp][] = [
      [['--omega', '2.5', '--deltas', '0,1'], /ωΔ = 2\.5 must be an integer/],
      [['--deltas', '0,x'], /comma-separated list/],
      [['--deltas', '0,500'], /Δ = 500 must be an integer in \[0, K = 100\]/],
    ];
    for (const [extra, message] of cases) {
      const r = await cli(['truncation', OPT_SPEC, '--data', DATA_FILE, '-K', '100', '-o', out, ...extra]);
      expect(r.status, extra.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(STACK_TRACE);
    }
  });
});
