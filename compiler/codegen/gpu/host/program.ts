// The whole unrolled computation of one call, written against an executor (idle iterations,
// recorded iterations with the tape, the forward tangents or the backward sweep), so the same
// code runs two ways: traced once by gpu.createPipeline, or called kernel by kernel with
// reference counts on device textures (execute.ts). Embedded as source text in every GPU
// module: see runtime-gpu.ts for what that allows.

import type { Dims, Entry, Executor, HostModule, SegmentName } from './types.js';

/** One run of program(): the module, the dims, the executor and the live buffers by name. */
interface ProgramRun {
  readonly m: HostModule;
  readonly D: Dims;
  readonly ex: Executor;
  readonly b: Record<string, unknown>;
}

/** The computation: its results by key ('state:x', 'tangent:x', 'gradient:p', 'loss'), held. */
export function program(m: HostModule, D: Dims, entry: Entry, count: number, ex: Executor, inputs: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const run: ProgramRun = { m, D, ex, b: Object.create(null) as Record<string, unknown> };
  for (const name of Object.keys(inputs)) setBuffer(run, name, inputs[name]);
  const out: Record<string, unknown> = {};
  runSegment(run, 'invariants');
  if (entry === 'iterate') runIdle(run, m.K);
  else if (entry === 'forward') forwardSweep(run, count, out);
  else reverseSweep(run, entry, count, out);
  if (entry === 'iterate' || entry === 'forward') for (const s of m.STATE) out['state:' + s.name] = run.b[s.current];
  for (const key of Object.keys(out)) ex.hold(out[key]);
  for (const name of Object.keys(run.b)) ex.drop(run.b[name]);
  return out;
}

/** Binds a buffer name to a value, holding the new value and dropping the old one. */
export function setBuffer(run: ProgramRun, name: string, h: unknown): void {
  const old = run.b[name];
  run.ex.hold(h);
  run.b[name] = h;
  if (old !== undefined) run.ex.drop(old);
}

/** Runs every kernel of a segment, in order. */
export function runSegment(run: ProgramRun, name: SegmentName): void {
  for (const id of run.m.SEGMENTS[name]!) {
    const spec = run.m.KERNELS[id];
    const args = spec.params.map((p) => {
      if (run.b[p] === undefined) throw new Error('phic internal error: kernel ' + id + ' reads ' + p + ', which has no value');
      return run.b[p];
    });
    setBuffer(run, spec.writes, run.ex.run(id, args));
  }
}

/** The next iterate becomes the current one. */
export function advanceState(run: ProgramRun): void {
  for (const s of run.m.STATE) setBuffer(run, s.current, run.b[s.next]);
}

/** n iterations with nothing recorded. */
export function runIdle(run: ProgramRun, n: number): void {
  for (let k = 0; k < n; k++) {
    runSegment(run, 'step');
    advanceState(run);
  }
}

/** Forward mode: T idle iterations, then the rest with the tangents carried along. */
export function forwardSweep(run: ProgramRun, count: number, out: Record<string, unknown>): void {
  const { m, D, ex, b } = run;
  runIdle(run, m.T);
  for (const s of m.STATE) setBuffer(run, s.dot, ex.zeros(count * s.size(D)));
  for (let k = m.T; k < m.K; k++) {
    runSegment(run, m.SEGMENTS.stepForTangent ? 'stepForTangent' : 'step');
    runSegment(run, 'tangent');
    advanceState(run);
    for (const s of m.STATE) setBuffer(run, s.dot, b[s.dotNext]);
  }
  for (const s of m.STATE) out['tangent:' + s.name] = b[s.dot];
}

/** Reverse mode: the iterations recorded on a tape, the cotangents seeded, the backward sweep. */
export function reverseSweep(run: ProgramRun, entry: Entry, count: number, out: Record<string, unknown>): void {
  const { m, ex, b } = run;
  const tape = recordIterations(run);
  for (const s of m.STATE) out['state:' + s.name] = b[s.current];
  seedCotangents(run, entry, count, out);
  for (let k = m.K - 1; k >= m.T; k--) {
    m.STATE.forEach((s, i) => {
      setBuffer(run, s.current, tape[i][k - m.T]);
      ex.drop(tape[i][k - m.T]);
    });
    if (m.SEGMENTS.adjointPrep) runSegment(run, 'adjointPrep');
    runSegment(run, 'adjoint');
    for (const s of m.STATE) setBuffer(run, s.bar, b[s.barNext]);
  }
  for (const p of m.PARAMS) out['gradient:' + p.name] = b[p.bar];
}

/** T idle iterations, then K - T with each iterate held on the tape: the tape, per state component. */
export function recordIterations(run: ProgramRun): unknown[][] {
  const { m, ex, b } = run;
  runIdle(run, m.T);
  const tape: unknown[][] = m.STATE.map(() => []);
  for (let k = m.T; k < m.K; k++) {
    m.STATE.forEach((s, i) => {
      ex.hold(b[s.current]);
      tape[i].push(b[s.current]);
    });
    runSegment(run, 'step');
    advanceState(run);
  }
  return tape;
}

/** The adjoints at x_K: the outer objective's gradient (and its loss), or the given cotangents with zero parameter adjoints. */
export function seedCotangents(run: ProgramRun, entry: Entry, count: number, out: Record<string, unknown>): void {
  const { m, D, ex, b } = run;
  if (entry === 'hypergradient') {
    const outer = m.OUTER!;
    runSegment(run, 'outerGradient');
    out.loss = b[outer.loss];
    m.STATE.forEach((s, i) => setBuffer(run, s.bar, b[outer.stateGradient[i]]));
    m.PARAMS.forEach((p, i) => setBuffer(run, p.bar, b[outer.paramGradient[i]]));
  } else {
    for (const p of m.PARAMS) setBuffer(run, p.bar, ex.zeros(count * p.size(D)));
  }
}
