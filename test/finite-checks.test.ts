// Sparse finiteness checks (optimise/finite-checks.ts, codegen/schedule-js.ts): where a bad
// value provably cannot vanish, the drivers check every 16 steps and, on failure, run the steps
// since the last check again checking each one. The error must name the same iteration and
// entry as a check every step (an observed call checks every step), for the iterate, the
// tangents and the adjoints, at any iteration; results must be the same bits; and a map that
// can hide a bad value (tanh(Inf) = 1) keeps checking every step.

import { describe, expect, it } from 'vitest';
import { compile, type MapInstance, type MapSpec } from '../src/index.js';
import { compileSpec } from '../compiler/pipeline.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { buildSchedule } from '../compiler/schedule/build.js';
import { keepsNonFinite } from '../compiler/optimise/finite-checks.js';
import { Builder } from '../compiler/ir/builder.js';
import { errorOf } from './helpers/errors.js';

// x⁺ = M x + θ: from x⁰ = 0 and θ = 0 the iterate stays 0, while the tangent along θ̇ and the
// adjoint of ū grow like ρ(M)ᵏ and overflow; from x⁰ ≠ 0 the iterate overflows itself.
// Names chosen against the drivers' own (checked, failed, due, sparse).
const linear: MapSpec = { name: 'linear', state: { checked: 'n' }, params: { due: 'n' }, data: { failed: 'n,n' }, update: { checked: 'failed * checked + due' } };
const n = 3;
const M = Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 9 + i : 0.5));
const inputs = { due: new Float64Array(n), failed: M };

describe('sparse finiteness checks', () => {
  it('the schedule marks a linear map sparse in every sweep, and a tanh map only where its derivative keeps bad values', () => {
    const schedule = (spec: MapSpec) => buildSchedule(compileSpec(inMemorySource(spec), { mode: 'both', K: 40, truncate: 0 }).plan);
    const sparse = (spec: MapSpec) => Object.fromEntries(Object.entries(schedule(spec).procedures).map(([name, steps]) => [name, steps.some((s) => s.kind === 'iterations' && s.sparseChecks)]));
    expect(sparse(linear)).toEqual({ idle: true, forwardSweep: true, unitSweep: true, record: true, backwardSweep: true });
    // tanh(Inf) = 1: the iterate is checked every step; its tangent (1 − x⁺²) ⊙ W ẋ keeps a bad ẋ, but the forward sweeps check both
    const layer: MapSpec = { name: 'layer', state: { x: 'n' }, params: { c: 'n' }, data: { W: 'n,n' }, update: { x: 'tanh(W * x + c)' } };
    expect(sparse(layer)).toEqual({ idle: false, forwardSweep: false, unitSweep: false, record: false, backwardSweep: true });
  });

  it('keepsNonFinite follows only the arguments the registry lists', () => {
    const b = new Builder(false);
    const x = b.input('x', 'state', ['n']);
    const c = b.input('c', 'param', ['n']);
    expect(keepsNonFinite([b.add(b.mul(b.constant(0.5), x), c)], [x])).toBe(true);
    expect(keepsNonFinite([b.div(c, x)], [x])).toBe(false); // c / Inf = 0
    expect(keepsNonFinite([b.op('exp', b.neg(x))], [x])).toBe(false); // exp(−Inf) = 0
    expect(keepsNonFinite([b.add(c, c)], [x])).toBe(false); // does not read x at all
    expect(keepsNonFinite([null], [x])).toBe(false);
  });

  it.each([17, 23, 40, 41, 100])('K = %i: the error names the same iteration and entry as a check every step (iterate, tangent, adjoint)', async (K) => {
    const m = (await compile(linear, { mode: 'both', K })).create({ n }) as MapInstance;
    const observed = () => undefined;
    // values grow at most ~15× a step: this start overflows past the middle of the run
    const big = 10 ** (300 - Math.floor(0.5 * K * Math.log10(15)));
    const calls: [string, (observe?: () => void) => unknown][] = [
      ['iterate', (o) => m.iterate(inputs, { checked: Float64Array.of(big, 1, 1) }, o)],
      ['jvp', (o) => m.jvp!(inputs, { due: Float64Array.of(1, 1, big) }, undefined, o)],
      ['vjp', (o) => m.vjp!(inputs, { checked: Float64Array.of(0, big, 0) }, undefined, o)],
    ];
    for (const [name, call] of calls) {
      const sparse = errorOf(() => call());
      expect(sparse, name).toBe(errorOf(() => call(observed)));
      const at = Number(/became non-finite \(entry \d\) at iteration (\d+) of \d+/.exec(sparse)?.[1]);
      // inside the run, not at its first or last step (the backward sweep counts down from K)
      expect(at > 1 && at < K, `${name}: ${sparse}`).toBe(true);
    }
    // and the instance still works after the error
    expect(Array.from(m.iterate(inputs, { checked: new Float64Array(n) }).state.checked!)).toEqual([0, 0, 0]);
    m.release();
  });

  it('overflow at each iteration of a check interval is named exactly', async () => {
    const K = 60;
    const m = (await compile(linear, { mode: 'forward', K })).create({ n }) as MapInstance;
    // the iterate grows about 12× a step from x⁰ = s: choosing s moves the overflow through 16 consecutive iterations
    const seen = new Set<string>();
    for (let e = 0; e < 40; e++) {
      const x0 = { checked: Float64Array.of(10 ** (300 - e), 0, 0) };
      const sparse = errorOf(() => m.iterate(inputs, x0));
      expect(sparse).toBe(errorOf(() => m.iterate(inputs, x0, () => undefined)));
      seen.add(sparse);
    }
    expect(seen.size).toBeGreaterThanOrEqual(16);
    m.release();
  });

  it('results are the same bits with sparse checks as with a check every step', async () => {
    const spec: MapSpec = { name: 'ridge', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' }, constants: { alpha: 0.05 }, update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" } };
    const dims = { m: 7, n: 5 };
    let seed = 3;
    const random = (k: number) => Float64Array.from({ length: k }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5);
    const data = { theta: random(5).map(Math.abs), A: random(35), b: random(7) };
    for (const kernels of ['wasm', 'js'] as const) {
      const m = (await compile(spec, { mode: 'both', K: 37, truncate: 5, dims, kernels })).create() as MapInstance;
      const observe = () => undefined;
      const flat = (r: object) => JSON.stringify(r, (_k, v: unknown) => (v instanceof Float64Array ? Array.from(v) : v));
      const u = { x: Float64Array.of(1, -2, 3, -4, 5) };
      expect(flat(m.vjp!(data, u))).toBe(flat(m.vjp!(data, u, undefined, observe)));
      const dir = { theta: Float64Array.of(0.5, 1, -1, 2, 0) };
      expect(flat(m.jvp!(data, dir))).toBe(flat(m.jvp!(data, dir, undefined, observe)));
      expect(flat(m.jacobianReverse!(data))).toBe(flat(m.jacobianReverse!(data, undefined, observe)));
      m.release();
    }
  });
});
