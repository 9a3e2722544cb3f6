// The drivers as data (compiler/schedule/): which steps a plan's schedule has (the plan passes
// decide), that the CPU module prints each entry point's steps and the GPU module carries the
// same schedule as its table, and that the GPU runtime's interpreter runs a schedule step by
// step (here on plain arrays, with a tape, a kept next state and a backward sweep).

import { describe, expect, it } from 'vitest';
import { compileSpec, dumpStage } from '../compiler/pipeline.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { buildSchedule } from '../compiler/schedule/build.js';
import { uses, type Schedule, type Step } from '../compiler/schedule/schedule.js';
import { program } from '../compiler/codegen/gpu/host/program.js';
import type { Executor, HostModule } from '../compiler/codegen/gpu/host/types.js';
import type { MapSpec } from '../src/index.js';

// W a param: its gradient is a rank-1 update per step, which the defer-updates pass holds back
const layer: MapSpec = { name: 'layer', state: { x: 'n' }, params: { theta: 'n', W: 'n,n' }, update: { x: 'tanh(W * x + theta)' } };
const compile = (spec: MapSpec, options: object) => compileSpec(inMemorySource(spec), { mode: 'both', K: 12, truncate: 3, dims: { n: 37 }, ...options } as never);
const entry = (s: Schedule, name: string) => s.entries.find((e) => e.name === name)!;

describe('the schedule of a plan', () => {
  it('has the steps the plan passes left: batched tangent products and deferred updates with the SIMD kernels only', () => {
    const wasm = buildSchedule(compile(layer, {}).plan);
    const js = buildSchedule(compile(layer, { kernels: 'js' }).plan);
    expect(uses(wasm.procedures.unitSweep!, 'tangentProducts')).toBe(true);
    expect(uses(wasm.procedures.unitSweep!, 'transposeForProducts')).toBe(true);
    expect(uses(wasm.procedures.backwardSweep!, 'applyDeferred')).toBe(true);
    expect(entry(wasm, 'jacobianForward').steps).toContainEqual({ kind: 'run', procedure: 'unitSweep' });
    for (const kind of ['tangentProducts', 'transposeForProducts', 'applyDeferred'] as const) {
      expect(uses(js.entries.flatMap((e) => e.steps), kind, js)).toBe(false);
    }
  });

  it('keeps x_{k+1} for the adjoint on the CPU (tanh reads Φ(x_k)); the GPU plan recomputes it', () => {
    const cpu = buildSchedule(compile(layer, {}).plan);
    const gpu = buildSchedule(compile(layer, { backend: 'gpu' }).plan);
    expect(cpu.procedures.backwardSweep![0]!.kind === 'iterations' && cpu.procedures.backwardSweep![0]!.body[0]).toEqual({ kind: 'keepNext' });
    expect(uses(gpu.procedures.backwardSweep!, 'keepNext')).toBe(false);
  });

  it('has the entry points of the mode, and the partials row by row without a tangent step', () => {
    const names = (mode: string) => buildSchedule(compile(layer, { mode }).plan).entries.map((e) => e.name);
    expect(names('forward')).toEqual(['iterate', 'jvp', 'jacobianForward', 'partialX', 'partialTheta']);
    expect(names('reverse')).toEqual(['iterate', 'vjp', 'jacobianReverse', 'partialRows']);
  });

  it('the CPU module prints each procedure as a function and runs them from the entry points', () => {
    const { moduleCode, plan } = compile(layer, {});
    for (const name of Object.keys(buildSchedule(plan).procedures)) expect(moduleCode).toMatch(new RegExp(`^ {2}function ${name}\\(`, 'm'));
    expect(moduleCode).toMatch(/function jacobianForward\(inputs, x0, observe\) \{[\s\S]*?unitSweep\(1406, observe\);/);
    expect(moduleCode).toMatch(/function vjp\(inputs, cotangent, x0, observe\) \{[\s\S]*?record\(observe\);\n\s*const state = snapshot\(\);\n\s*backwardSweep\(1, observe\);/);
  });

  it('the GPU module carries the schedule as its SCHEDULE table, and --dump schedule prints it', () => {
    const result = compile(layer, { backend: 'gpu' });
    expect(result.moduleCode).toContain("backwardSweep: [{ kind: 'iterations', from: 'T', to: 'K', down: true, body: [{ kind: 'tapeRestore' }");
    expect(result.moduleCode).toMatch(/^ {4}vjp: \{ name: 'vjp', at: 'x0', directions: 'one', side: 'adjoints', seed: 'cotangent'/m);
    expect(dumpStage(result, 'schedule')).toContain('entry vjp (from x0; 1 direction in the adjoints, seeded by the given cotangent; d/dx0 = 0 (T > 0)):');
  });
});

// x ← a·x on a scalar, with a hand-made module: 'step' writes x_next = a x, 'adjoint' writes
// x̄⁺ = a x̄ and ā += x̄ x. The executor runs the kernels on plain arrays.
describe('the GPU runtime interprets a schedule', () => {
  const steps = (...xs: Step[]) => xs;
  const sweep: Schedule['procedures'] = {
    idle: steps({ kind: 'iterations', from: 'from', to: 'to', down: false, body: [{ kind: 'segment', segment: 'step' }, { kind: 'advance', what: 'state' }] }),
    record: steps({ kind: 'iterations', from: 'T', to: 'K', down: false, body: [{ kind: 'tapePush' }, { kind: 'segment', segment: 'step' }, { kind: 'advance', what: 'state' }] }),
    backwardSweep: steps({ kind: 'iterations', from: 'T', to: 'K', down: true, body: [
      { kind: 'keepNext' }, { kind: 'tapeRestore' }, { kind: 'directions', unit: null, body: [{ kind: 'segment', segment: 'adjoint' }] }, { kind: 'advance', what: 'adjoints' },
    ] }),
  };
  const vjp = { name: 'vjp', at: 'x0', directions: 'one', side: 'adjoints', seed: 'cotangent', outerData: false, steps: steps(
    { kind: 'segment', segment: 'invariants' }, { kind: 'run', procedure: 'idle', from: 0, to: 'T' }, { kind: 'run', procedure: 'record' }, { kind: 'snapshot' }, { kind: 'run', procedure: 'backwardSweep' },
  ) } as const;
  const one = () => 1;
  const m = {
    K: 6, T: 2,
    SEGMENTS: { invariants: [], step: ['kStep'], adjoint: ['kXbar', 'kAbar'] },
    KERNELS: {
      kStep: { writes: 'x_next', params: ['a', 'x'] },
      kXbar: { writes: 'x_bar_next', params: ['a', 'x_bar'] },
      // ā += x̄ x_k, where x_k = x_{k+1} / a: it reads the kept next state to check keepNext
      kAbar: { writes: 'a_bar', params: ['a_bar', 'x_bar', 'x_next', 'a'] },
    },
    SCHEDULE: { procedures: sweep, entries: { vjp } },
    STATE: [{ name: 'x', current: 'x', next: 'x_next', dot: 'x_dot', dotNext: 'x_dot_next', bar: 'x_bar', barNext: 'x_bar_next', size: one, shape: () => [] }],
    PARAMS: [{ name: 'a', value: 'a', dot: 'a_dot', bar: 'a_bar', size: one, shape: () => [] }],
    OUTER: null,
  } as unknown as HostModule;
  const kernels: Record<string, (...a: number[][]) => number[]> = {
    kStep: ([a], [x]) => [a! * x!],
    kXbar: ([a], [xb]) => [a! * xb!],
    kAbar: ([ab], [xb], [xn], [a]) => [ab! + (xb! * xn!) / a!],
  };
  const held = new Map<unknown, number>();
  const ex: Executor = {
    run: (id, args) => kernels[id]!(...(args as number[][])),
    zeros: (n) => new Array<number>(n).fill(0),
    hold: (h) => held.set(h, (held.get(h) ?? 0) + 1),
    drop: (h) => held.set(h, (held.get(h) ?? 0) - 1),
  };

  it('gives x_K = a^K x0 and d(x̄ x_K)/da = x̄ (K − T) a^(K−1) x0 over the last K − T steps, and balances its holds', () => {
    const [a, x0, xbar] = [1.1, 0.7, 2];
    const out = program(m, {}, 'vjp', 1, ex, { a: [a], x: [x0], x_bar: [xbar] }) as Record<string, number[]>;
    expect(out['state:x']![0]).toBeCloseTo(a ** 6 * x0, 14);
    expect(out['gradient:a']![0]).toBeCloseTo(xbar * 4 * a ** 5 * x0, 13);
    // only the results are still held
    const live = [...held].filter(([, n]) => n > 0).map(([h]) => h);
    expect(live.sort()).toEqual(Object.values(out).sort());
  });

  it('refuses a step it does not run (the CPU-only columns of the partials)', () => {
    const bad = { ...m, SCHEDULE: { procedures: sweep, entries: { vjp: { ...vjp, steps: [{ kind: 'columns', of: 'states', body: [] }] } } } } as unknown as HostModule;
    expect(() => program(bad, {}, 'vjp', 1, ex, { a: [1], x: [1], x_bar: [1] })).toThrow(/no step columns/);
  });
});
