// `--method implicit`: modules whose derivative entries solve (I − ∂ₓΦ) ẋ = ∂θΦ θ̇ or
// (I − ∂ₓΦ)ᵀ v = ū at x_K with the generated one-step JVP/VJP. Checked against the
// implicit-function Jacobian from a dense LU of the module's own partials at the same x_K, on
// the samples, with every solver and both kernel paths; each solver's documented convergence on
// linear maps whose spectrum fixes the answer; warm starts; and the refusals.

import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile, type MapInstance, type Matrix } from '../src/index.js';
import { readSpecFile } from '../compiler/spec/read-file.js';
import { inMemorySource, type SpecSource } from '../compiler/spec/source.js';
import { buildModel } from '../compiler/model.js';
import { compileSpec, dumpStage, type CompileOptions } from '../compiler/pipeline.js';
import { inferDims } from '../src/infer-dims.js';
import { implicitJacobian, relativeDifference, type DenseMatrix } from '../runtime/reference.js';
import type { MapSpec } from '../compiler/spec/types.js';
import { ROOT, cli, tempDir } from './helpers/cli.js';

type Named<T> = Record<string, T>;
type Solve = { solver: string; products: number; residual: number };
type Implicit = MapInstance & { [K in 'jvp' | 'vjp' | 'jacobianForward' | 'jacobianReverse']-?: NonNullable<MapInstance[K]> };

interface Sample {
  source: SpecSource;
  inputs: Named<unknown>;
  dims: Named<number>;
  state: { name: string; size: number }[];
  params: { name: string; size: number }[];
}

async function loadSample(name: string): Promise<Sample> {
  const source = await readSpecFile(join(ROOT, 'samples', name, `${name}.phi.ts`));
  const { x0, ...inputs } = JSON.parse(readFileSync(join(ROOT, 'samples', name, 'data.json'), 'utf8')) as Named<unknown>;
  const model = buildModel(source);
  const dims = inferDims(model, inputs, x0 as Named<unknown> | undefined);
  const size = (shape: readonly string[]) => shape.reduce((p, d) => p * dims[d]!, 1);
  return { source, inputs, dims, state: model.state.map((s) => ({ name: s.name, size: size(s.shape) })), params: model.params.map((p) => ({ name: p.name, size: size(p.shape) })) };
}

/** Jacobian blocks as one dense matrix: rows over the states, columns over the params. */
function assemble(blocks: Named<Named<Matrix>>, s: Sample): DenseMatrix {
  const S = s.state.reduce((t, b) => t + b.size, 0), P = s.params.reduce((t, b) => t + b.size, 0);
  const out = new Float64Array(S * P);
  let r0 = 0;
  for (const st of s.state) {
    let c0 = 0;
    for (const p of s.params) {
      const m = blocks[st.name]![p.name]!;
      for (let r = 0; r < st.size; r++) for (let c = 0; c < p.size; c++) out[(r0 + r) * P + c0 + c] = m.data[r * p.size + c]!;
      c0 += p.size;
    }
    r0 += st.size;
  }
  return { rows: S, cols: P, data: out };
}

/** J* = (I − ∂ₓΦ)⁻¹ ∂θΦ at the given point, by a dense LU of the module's partials. */
function luJacobian(instance: MapInstance, inputs: Named<unknown>, point: Named<Float64Array>): DenseMatrix {
  return implicitJacobian(instance.partialX(inputs as never, point), instance.partialTheta(inputs as never, point));
}

const K = 60;
const SAMPLES = ['ridge', 'least_squares', 'logistic', 'heavy_ball', 'tanh_layer', 'softmax_regression', 'pseudo_huber'];
const SOLVERS = [
  { solver: 'gmres', solverSteps: 400 },
  { solver: 'bicgstab', solverSteps: 400 },
] as const;

describe.each(SAMPLES)('implicit module of sample %s', (name) => {
  it.each(SOLVERS.flatMap((o) => (['wasm', 'js'] as const).map((kernels) => ({ ...o, kernels }))))('$solver ($kernels kernels) matches the LU implicit Jacobian to 1e-8', async (o) => {
    const s = await loadSample(name);
    const compiled = await compile(s.source, { mode: 'both', K, method: 'implicit', solver: o.solver, solverSteps: o.solverSteps, kernels: o.kernels });
    const m = compiled.create(s.dims) as Implicit;
    const xK = m.iterate(s.inputs as never).state;
    const J = luJacobian(m, s.inputs, xK);
    const forward = m.jacobianForward(s.inputs as never) as ReturnType<Implicit['jacobianForward']> & { solve: Solve };
    const reverse = m.jacobianReverse(s.inputs as never) as ReturnType<Implicit['jacobianReverse']> & { solve: Solve };
    expect(relativeDifference(assemble(forward.jacobian, s).data, J.data)).toBeLessThan(1e-8);
    expect(relativeDifference(assemble(reverse.jacobian, s).data, J.data)).toBeLessThan(1e-8);
    for (const r of [forward.solve, reverse.solve]) {
      expect(r.solver).toBe(o.solver);
      expect(r.residual).toBeLessThan(1e-9);
      expect(r.products).toBeGreaterThan(0);
    }
    // x_K does not depend on x0 at a fixed point: the x0 parts are exactly zero
    for (const byState of Object.values(reverse.x0Jacobian)) for (const block of Object.values(byState)) expect(block.data.every((v) => v === 0)).toBe(true);
    compiled.create(s.dims).release();
    m.release();
  });
});

describe('implicit entries agree with each other', () => {
  it('jvp and vjp are J* θ̇ and ūᵀ J* (dot-product test), and the hypergradient is ∇θℓ + J*ᵀ∇ₓℓ', async () => {
    const s = await loadSample('softmax_regression');
    const m = (await compile(s.source, { mode: 'both', K, method: 'implicit', solver: 'gmres' })).create(s.dims) as Implicit & { outerAt: NonNullable<MapInstance['outerAt']>; hypergradient: NonNullable<MapInstance['hypergradient']> };
    const xK = m.iterate(s.inputs as never).state;
    const J = luJacobian(m, s.inputs, xK);
    const S = J.rows, P = J.cols;
    const thetaDot = Float64Array.from({ length: P }, (_, i) => Math.sin(i + 1));
    const ubar = Float64Array.from({ length: S }, (_, i) => Math.cos(3 * i));
    const st = s.state[0]!.name, p = s.params[0]!.name;
    const jvp = m.jvp(s.inputs as never, { [p]: thetaDot });
    const vjp = m.vjp(s.inputs as never, { [st]: ubar });
    const Jv = Float64Array.from({ length: S }, (_, r) => J.data.subarray(r * P, (r + 1) * P).reduce((a, v, c) => a + v * thetaDot[c]!, 0));
    const uJ = Float64Array.from({ length: P }, (_, c) => ubar.reduce((a, u, r) => a + u * J.data[r * P + c]!, 0));
    expect(relativeDifference(jvp.tangent[st]!, Jv)).toBeLessThan(1e-8);
    expect(relativeDifference(vjp.gradient[p]!, uJ)).toBeLessThan(1e-8);
    const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((t, v, i) => t + v * b[i]!, 0);
    expect(Math.abs(dot(ubar, jvp.tangent[st]!) - dot(vjp.gradient[p]!, thetaDot))).toBeLessThan(1e-9 * Math.abs(dot(ubar, jvp.tangent[st]!)));
    // the hypergradient: ∇θℓ + J*ᵀ ∇ₓℓ at x_K
    const outer = m.outerAt(s.inputs as never, xK);
    const g = outer.stateGradient[st]!;
    const expected = Float64Array.from({ length: P }, (_, c) => outer.paramGradient[p]![c]! + g.reduce((a, u, r) => a + u * J.data[r * P + c]!, 0));
    const hyper = m.hypergradient(s.inputs as never);
    expect(relativeDifference(hyper.gradient[p]!, expected)).toBeLessThan(1e-8);
    expect(hyper.loss).toBeCloseTo(outer.loss, 12);
  });
});

/**
 * x ← A x + θ for a data matrix A (no objective): ∂ₓΦ = A, ∂θΦ = I, so the solves are
 * (I − A) v = b with the spectrum of A chosen by the test. Names are adversarial: the
 * generated solver's own names (implicitSolve, solveWork, w).
 */
const LINEAR: MapSpec = {
  name: 'linear',
  state: { w: 'n' },
  params: { implicitSolve: 'n' },
  data: { solveWork: 'n,n' },
  update: { w: 'solveWork * w + implicitSolve' },
};

/** A = Q diag(λ) Qᵀ (symmetric) or Q diag(λ) Q⁻¹ with a non-orthogonal Q (not symmetric), n×n. */
function matrixWithSpectrum(lambda: readonly number[], symmetric: boolean): number[][] {
  const n = lambda.length;
  // Q: a Householder reflection (orthogonal), or I + an upper-triangular part (its inverse by back substitution)
  const u = Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + 0.3));
  const uu = u.reduce((a, v) => a + v * v, 0);
  const Q = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (symmetric ? (i === j ? 1 : 0) - (2 * u[i]! * u[j]!) / uu : i === j ? 1 : j > i ? 0.3 * Math.cos(i + 2 * j) : 0)));
  const Qinv = symmetric ? Q.map((_, i) => Q.map((row) => row[i]!)) : invertUpper(Q);
  return Q.map((row) => Qinv[0]!.map((_, j) => row.reduce((a, q, k) => a + q * lambda[k]! * Qinv[k]![j]!, 0)));
}

function invertUpper(U: number[][]): number[][] {
  const n = U.length;
  const X = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let c = 0; c < n; c++) {
    for (let i = n - 1; i >= 0; i--) {
      let s = i === c ? 1 : 0;
      for (let k = i + 1; k < n; k++) s -= U[i]![k]! * X[k]![c]!;
      X[i]![c] = s / U[i]![i]!;
    }
  }
  return X;
}

async function linearModule(options: Partial<CompileOptions>, A: number[][]) {
  const n = A.length;
  const m = (await compile(LINEAR, { mode: 'both', K: 5, method: 'implicit', ...options })).create({ n }) as Implicit;
  const inputs = { solveWork: A, implicitSolve: new Float64Array(n) };
  return { m, inputs, n };
}

/** (I − A)⁻¹ b by Gaussian elimination (the reference). */
function solveDense(A: number[][], b: readonly number[]): Float64Array {
  const n = b.length;
  const M = A.map((row, i) => [...row.map((v, j) => (i === j ? 1 : 0) - v), b[i]!]);
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(M[i]![k]!) > Math.abs(M[p]![k]!)) p = i;
    [M[k], M[p]] = [M[p]!, M[k]!];
    for (let i = k + 1; i < n; i++) {
      const f = M[i]![k]! / M[k]![k]!;
      for (let j = k; j <= n; j++) M[i]![j]! -= f * M[k]![j]!;
    }
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = M[i]![n]!;
    for (let j = i + 1; j < n; j++) s -= M[i]![j]! * x[j]!;
    x[i] = s / M[i]![i]!;
  }
  return x;
}

describe('each solver converges at its documented rate', () => {
  const n = 12;
  const ubar = Array.from({ length: n }, (_, i) => 1 + 0.1 * i);

  it('neumann with M steps leaves the residual ‖A^{M+1} b‖ / ‖b‖ (A diagonal: exactly computable)', async () => {
    const rho = [0.9, 0.5, -0.3, 0.1, 0.7, 0.2, 0, 0.6, -0.8, 0.4, 0.3, 0.05];
    const A = rho.map((r, i) => rho.map((_, j) => (i === j ? r : 0)));
    for (const M of [5, 20, 60]) {
      const { m, inputs } = await linearModule({ solver: 'neumann', solverSteps: M }, A);
      const out = m.vjp(inputs as never, { w: ubar }) as ReturnType<Implicit['vjp']> & { solve: Solve };
      const expected = Math.sqrt(ubar.reduce((a, b, i) => a + (b * rho[i]! ** (M + 1)) ** 2, 0) / ubar.reduce((a, b) => a + b * b, 0));
      expect(out.solve.residual / expected).toBeCloseTo(1, 6);
      // M products in the sum, one for θ̄ = ∂θΦᵀ v (and the residual)
      expect(out.solve.products).toBe(M + 1);
      m.release();
    }
  });

  it('cg and gmres finish in as many products as A has distinct eigenvalues; bicgstab converges', async () => {
    const distinct = [0.8, -0.5, 0.2];
    const lambda = Array.from({ length: n }, (_, i) => distinct[i % 3]!);
    for (const { solver, symmetric, most } of [
      // CG: 2 products for the symmetry check (an update map, not a gradient step), 3 for the solve, 1 for θ̄
      { solver: 'cg', symmetric: true, most: 6 },
      { solver: 'gmres', symmetric: false, most: 4 },
      { solver: 'bicgstab', symmetric: false, most: 10 },
    ] as const) {
      const A = matrixWithSpectrum(lambda, symmetric);
      const { m, inputs } = await linearModule({ solver, solverSteps: 100 }, A);
      const out = m.vjp(inputs as never, { w: ubar }) as ReturnType<Implicit['vjp']> & { solve: Solve };
      const At = A.map((_, i) => A.map((row) => row[i]!));
      expect(relativeDifference(out.gradient.implicitSolve!, solveDense(At, ubar)), solver).toBeLessThan(1e-12);
      expect(out.solve.residual, solver).toBeLessThan(1e-12);
      expect(out.solve.products, solver).toBeLessThanOrEqual(most);
      m.release();
    }
  });

  it('cg follows the 2((√κ − 1)/(√κ + 1))^k bound on an SPD system with many eigenvalues', async () => {
    const lambda = Array.from({ length: n }, (_, i) => 1 - 0.02 - (0.9 * i) / (n - 1)); // I − A has eigenvalues 0.02 .. 0.92
    const A = matrixWithSpectrum(lambda, true);
    const kappa = 0.92 / 0.02;
    const rate = (Math.sqrt(kappa) - 1) / (Math.sqrt(kappa) + 1);
    const exact = solveDense(A, ubar);
    for (const steps of [3, 6]) {
      const { m, inputs } = await linearModule({ solver: 'cg', solverSteps: steps + 2, tolerance: 0 }, A);
      const out = m.jvp(inputs as never, { implicitSolve: ubar }) as ReturnType<Implicit['jvp']> & { solve: Solve };
      // ‖e_k‖_M ≤ 2 rate^k ‖e_0‖_M with e_0 = exact (start at 0), M = I − A
      const aNorm = (e: ArrayLike<number>) => Math.sqrt(Array.from(e).reduce((t, ei, i) => t + ei * (ei - A[i]!.reduce((a, v, j) => a + v * e[j]!, 0)), 0));
      const err = Float64Array.from(exact, (v, i) => v - out.tangent.w![i]!);
      expect(aNorm(err)).toBeLessThanOrEqual(2 * rate ** steps * aNorm(exact) * (1 + 1e-9));
      m.release();
    }
  });

  it('gmres(m) with restarts keeps lowering the residual, and reaches the solution', async () => {
    const lambda = Array.from({ length: n }, (_, i) => 0.9 * Math.cos(i));
    const A = matrixWithSpectrum(lambda, false);
    const residuals: number[] = [];
    for (const steps of [4, 8, 16, 400]) {
      const { m, inputs } = await linearModule({ solver: 'gmres', restart: 3, solverSteps: steps }, A);
      residuals.push((m.vjp(inputs as never, { w: ubar }) as { solve: Solve }).solve.residual);
      m.release();
    }
    for (let i = 1; i < residuals.length; i++) expect(residuals[i]!).toBeLessThan(residuals[i - 1]!);
    expect(residuals.at(-1)!).toBeLessThan(1e-11);
  });

  it('cg refuses a nonsymmetric ∂ₓΦ with a numeric error, instead of a wrong answer', async () => {
    const A = matrixWithSpectrum(Array.from({ length: n }, (_, i) => 0.5 * Math.sin(i)), false);
    const { m, inputs } = await linearModule({ solver: 'cg' }, A);
    expect(() => m.vjp(inputs as never, { w: ubar })).toThrow(/cg: I − ∂ₓΦ is not symmetric at x_K/);
    m.release();
  });

  it('cg skips the symmetry check for a gradient step of an objective (∂ₓΦ = I − α∇²f)', async () => {
    const spec: MapSpec = { name: 'quad', state: { x: 'n' }, params: { c: 'n' }, data: { H: 'n,n' }, objective: "0.5 * x' * H * x - c' * x", method: { name: 'gd', step: 0.1 } };
    const H = matrixWithSpectrum(Array.from({ length: n }, (_, i) => 1 + i), true);
    const m = (await compile(spec, { mode: 'reverse', K: 5, method: 'implicit', solver: 'cg' })).create({ n });
    const out = m.vjp!({ H, c: new Float64Array(n) }, { x: ubar }) as unknown as { gradient: Named<Float64Array>; solve: Solve };
    // (I − ∂ₓΦ)ᵀ v = ū with ∂ₓΦ = I − 0.1 H, so v = 10 H⁻¹ ū and θ̄ = ∂θΦᵀ v = 0.1 v = H⁻¹ ū
    const Hinv = solveDense(H.map((row, i) => row.map((v, j) => (i === j ? 1 : 0) - v)), ubar);
    expect(relativeDifference(out.gradient.c!, Hinv)).toBeLessThan(1e-11);
    expect(out.solve.products).toBeLessThanOrEqual(n + 1);
    m.release();
  });
});

describe('warm start', () => {
  it('starts from the previous call: the same call again needs only the residual check and the final step', async () => {
    const s = await loadSample('logistic');
    const cold = (await compile(s.source, { mode: 'both', K, method: 'implicit', solver: 'gmres' })).create(s.dims) as Implicit;
    const warm = (await compile(s.source, { mode: 'both', K, method: 'implicit', solver: 'gmres', warmStart: true })).create(s.dims) as Implicit;
    const st = s.state[0]!.name;
    const ubar = { [st]: Float64Array.from({ length: s.state[0]!.size }, (_, i) => Math.cos(i)) };
    const first = warm.vjp(s.inputs as never, ubar) as ReturnType<Implicit['vjp']> & { solve: Solve };
    const again = warm.vjp(s.inputs as never, ubar) as ReturnType<Implicit['vjp']> & { solve: Solve };
    const coldAgain = cold.vjp(s.inputs as never, ubar) as ReturnType<Implicit['vjp']> & { solve: Solve };
    expect(first.solve.products).toBe(coldAgain.solve.products);
    expect(again.solve.products).toBeLessThanOrEqual(2);
    const p = s.params[0]!.name;
    expect(relativeDifference(again.gradient[p]!, coldAgain.gradient[p]!)).toBeLessThan(1e-10);
    cold.release();
    warm.release();
  });
});

describe('implicit method: options and refusals', () => {
  const ridge = async () => readSpecFile(join(ROOT, 'samples', 'ridge', 'ridge.phi.ts'));

  it('refuses --truncate, the GPU backend, a map that reads k, and GMRES-only options on other solvers', async () => {
    const source = await ridge();
    expect(() => compileSpec(source, { mode: 'both', K: 10, truncate: 3, method: 'implicit' })).toThrow(/--truncate 3 does not apply to --method implicit/);
    expect(() => compileSpec(source, { mode: 'both', K: 10, method: 'implicit', backend: 'gpu' })).toThrow(/CPU backend only/);
    expect(() => compileSpec(source, { mode: 'both', K: 10, method: 'implicit', solver: 'cg', restart: 5 })).toThrow(/--restart is GMRES's/);
    expect(() => compileSpec(source, { mode: 'both', K: 10, solver: 'cg' })).toThrow(/need --method implicit/);
    expect(() => compileSpec(source, { mode: 'both', K: 10, method: 'implicit', solverSteps: 0 })).toThrow(/--solver-steps must be/);
    const schedule = await readSpecFile(join(ROOT, 'samples', 'gd_schedule', 'gd_schedule.phi.ts'));
    expect(() => compileSpec(schedule, { mode: 'both', K: 10, method: 'implicit' })).toThrow(/reads the iteration index/);
  });

  it('phic compile --method implicit: usage errors exit 2 with one line; the schedule dump shows the solves', async () => {
    const spec = join(ROOT, 'samples', 'ridge', 'ridge.phi.ts');
    const bad = await cli(['compile', spec, '-K', '10', '--method', 'implicit', '--truncate', '2', '-o', '-']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^phic: usage error: --truncate 2 does not apply/);
    const dump = await cli(['compile', spec, '-K', '10', '--method', 'implicit', '--solver', 'neumann', '--solver-steps', '7', '--dump', 'schedule']);
    expect(dump.status).toBe(0);
    expect(dump.stdout).toMatch(/entry vjp .*implicit: x\* does not depend on x0[\s\S]*solve \(I − ∂ₓΦ\)ᵀ v = x̄ at x, then θ̄ \+= ∂θΦᵀ v/);
    expect(dump.stdout).not.toMatch(/procedure backwardSweep/);
    const code = await cli(['compile', spec, '-K', '10', '--method', 'implicit', '--solver', 'neumann', '--solver-steps', '7', '-o', '-']);
    expect(code.stdout).toMatch(/method=implicit solver=neumann steps=7 tolerance=0/);
    // no tape: the implicit module's memory does not grow with K
    const sizes = await Promise.all([10, 1000].map(async (K) => (await compile(await ridge(), { mode: 'reverse', K, method: 'implicit' })).create({ m: 8, n: 4 }).bufferBytes()));
    expect(sizes[0]).toBe(sizes[1]);
  });

  it('names the solver options in the spec hash and the header (different options, different bytes; same options, same bytes)', async () => {
    const source = await ridge();
    const text = (o: Partial<CompileOptions>) => compileSpec(source, { mode: 'both', K: 10, method: 'implicit', ...o }).moduleCode;
    expect(text({ solver: 'gmres' })).toBe(text({ solver: 'gmres' }));
    expect(text({ solver: 'gmres' })).not.toBe(text({ solver: 'bicgstab' }));
    expect(dumpStage(compileSpec(source, { mode: 'both', K: 10, method: 'implicit' }), 'schedule')).toMatch(/solve/);
    expect(compileSpec(inMemorySource(LINEAR), { mode: 'both', K: 3, method: 'implicit' }).moduleCode).toMatch(/function implicitSolve\(/);
  });
});

describe('implicit method in phic.config', () => {
  it('passes the solver options to each target, and names a bad one by its field (exit 2)', async () => {
    const dir = tempDir();
    copyFileSync(join(ROOT, 'samples', 'ridge', 'ridge.phi.ts'), join(dir, 'ridge.phi.ts'));
    writeFileSync(join(dir, 'phic.config.json'), JSON.stringify({ K: 50, method: 'implicit', generate: [{ spec: 'ridge.phi.ts', solver: 'cg', solverSteps: 20, warmStart: true }] }));
    const ok = await cli(['generate'], { cwd: dir });
    expect(ok.status, ok.stderr).toBe(0);
    const code = readFileSync(join(dir, 'ridge.js'), 'utf8');
    expect(code).toMatch(/^\/\/ options: .* method=implicit solver=cg steps=20 tolerance=1e-12 warm-start$/m);
    writeFileSync(join(dir, 'phic.config.json'), JSON.stringify({ K: 50, generate: [{ spec: 'ridge.phi.ts', method: 'implicit', solver: 'lu' }] }));
    const bad = await cli(['generate'], { cwd: dir });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/generate\.0\.solver.*solver must be one of neumann, cg, gmres, bicgstab, got "lu"/);
  });
});
