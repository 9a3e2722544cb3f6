// The GPU module's interpreter of the schedule (compiler/schedule/): the steps of one entry
// point, run against an executor, so the same code runs two ways: traced once by
// gpu.createPipeline, or called kernel by kernel with reference counts on device textures
// (execute.ts). Buffers are bound by name to device values; a segment's kernels each return
// the buffer they write. Embedded as source text in every GPU module: see runtime-gpu.ts for
// what that allows.

import type { Bound, HostDims, EntryName, Executor, HostModule, SegmentKey, Step } from './types.js';

/** One run of program(): the module, the dims, the executor, the live buffers by name, the tape and the results. */
interface ProgramRun {
  readonly m: HostModule;
  readonly D: HostDims;
  readonly ex: Executor;
  readonly count: number;
  readonly b: Record<string, unknown>;
  /** The taped iterates, per state component, by k − T. */
  readonly tape: unknown[][];
  /** Results by key ('state:x', 'tangent:x', 'gradient:p', 'x0Gradient:x', 'loss'), each held once. */
  readonly out: Record<string, unknown>;
  /** The iteration and the enclosing procedure's range. */
  k: number;
  from: number;
  to: number;
}

/** The computation of `entry`: its results by key, held. */
export function program(m: HostModule, D: HostDims, entry: EntryName, count: number, ex: Executor, inputs: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const e = m.SCHEDULE.entries[entry];
  if (e === undefined) throw new Error('phic internal error: the GPU module has no entry ' + entry);
  const run: ProgramRun = { m, D, ex, count, b: Object.create(null) as Record<string, unknown>, tape: m.STATE.map(() => []), out: {}, k: 0, from: 0, to: 0 };
  for (const name of Object.keys(inputs)) setBuffer(run, name, inputs[name]);
  // the direction buffers no seed set start at zero, one copy per direction
  const sized = (name: string, size: number) => {
    if (run.b[name] === undefined) setBuffer(run, name, ex.zeros(count * size));
  };
  if (e.side === 'tangents') for (const v of [...m.STATE, ...m.PARAMS]) sized(v.dot, v.size(D));
  if (e.side === 'adjoints') for (const v of [...m.STATE, ...m.PARAMS]) sized(v.bar, v.size(D));
  runSteps(run, e.steps);
  if (run.out['state:' + m.STATE[0]!.name] === undefined) for (const s of m.STATE) keep(run, 'state:' + s.name, run.b[s.current]);
  if (e.side === 'tangents') for (const s of m.STATE) keep(run, 'tangent:' + s.name, run.b[s.dot]);
  if (e.side === 'adjoints') for (const p of m.PARAMS) keep(run, 'gradient:' + p.name, run.b[p.bar]);
  // x̄ where the sweep stopped at 0: the gradient with respect to x0 (with T > 0 the entry's framing gives zeros)
  if (e.side === 'adjoints' && e.x0 === 'exact') for (const s of m.STATE) keep(run, 'x0Gradient:' + s.name, run.b[s.bar]);
  for (const name of Object.keys(run.b)) ex.drop(run.b[name]);
  return run.out;
}

/** Binds a buffer name to a value, holding the new value and dropping the old one. */
export function setBuffer(run: ProgramRun, name: string, h: unknown): void {
  const old = run.b[name];
  run.ex.hold(h);
  run.b[name] = h;
  if (old !== undefined) run.ex.drop(old);
}

/** A result, held until the caller reads it. */
export function keep(run: ProgramRun, key: string, h: unknown): void {
  run.ex.hold(h);
  if (run.out[key] !== undefined) run.ex.drop(run.out[key]);
  run.out[key] = h;
}

export function runSteps(run: ProgramRun, steps: readonly Step[]): void {
  for (const step of steps) runStep(run, step);
}

/** One step. Finiteness is checked on the results (reading back every iteration would stall the device), and there is no observer. */
export function runStep(run: ProgramRun, step: Step): void {
  const { m, b } = run;
  switch (step.kind) {
    case 'segment': return runSegment(run, step.segment);
    // every kernel holds all the directions at once, and unit seeds are loaded with the inputs
    case 'directions': return runSteps(run, step.body);
    case 'iterations': return runIterations(run, bound(run, step.from), bound(run, step.to), step.down, step.body);
    case 'run': {
      const [from, to] = [run.from, run.to];
      if (step.from !== undefined && step.to !== undefined) [run.from, run.to] = [bound(run, step.from), bound(run, step.to)];
      runSteps(run, m.SCHEDULE.procedures[step.procedure]!);
      [run.from, run.to] = [from, to];
      return;
    }
    case 'tapePush':
      return m.STATE.forEach((s, i) => {
        run.ex.hold(b[s.current]);
        run.tape[i]![run.k - m.T] = b[s.current];
      });
    case 'tapeRestore':
      return m.STATE.forEach((s, i) => {
        setBuffer(run, s.current, run.tape[i]![run.k - m.T]);
        run.ex.drop(run.tape[i]![run.k - m.T]);
      });
    case 'keepNext': return m.STATE.forEach((s) => setBuffer(run, s.next, b[s.current]));
    case 'advance':
      for (const s of m.STATE) {
        if (step.what === 'state') setBuffer(run, s.current, b[s.next]);
        else if (step.what === 'tangents') setBuffer(run, s.dot, b[s.dotNext]);
        else setBuffer(run, s.bar, b[s.barNext]);
      }
      return;
    case 'check':
    case 'observe':
      return;
    case 'outer': return runOuter(run, step.seed);
    case 'snapshot': return m.STATE.forEach((s) => keep(run, 'state:' + s.name, b[s.current]));
    default:
      throw new Error('phic internal error: the GPU runtime has no step ' + step.kind);
  }
}

/** k over [from, to), upwards or downwards. */
export function runIterations(run: ProgramRun, from: number, to: number, down: boolean, body: readonly Step[]): void {
  for (let i = from; i < to; i++) {
    run.k = down ? to - 1 - (i - from) : i;
    runSteps(run, body);
  }
}

export function bound(run: ProgramRun, x: Bound): number {
  return x === 'T' ? run.m.T : x === 'K' ? run.m.K : x === 'from' ? run.from : x === 'to' ? run.to : x;
}

/** Runs every kernel of a segment, in order. */
export function runSegment(run: ProgramRun, name: SegmentKey): void {
  const ids = run.m.SEGMENTS[name];
  if (ids === undefined) throw new Error('phic internal error: the GPU module has no segment ' + name);
  for (const id of ids) {
    const spec = run.m.KERNELS[id]!;
    const args = spec.params.map((p) => {
      if (run.b[p] === undefined) throw new Error('phic internal error: kernel ' + id + ' reads ' + p + ', which has no value');
      return run.b[p];
    });
    setBuffer(run, spec.writes, run.ex.run(id, args));
  }
}

/** ℓ and its gradients at the current state; seeded, they become the adjoints the backward sweep starts from. */
export function runOuter(run: ProgramRun, seed: boolean): void {
  const { m, b } = run;
  const outer = m.OUTER!;
  runSegment(run, 'outerGradient');
  keep(run, 'loss', b[outer.loss]);
  if (!seed) return;
  m.STATE.forEach((s, i) => setBuffer(run, s.bar, b[outer.stateGradient[i]!]));
  m.PARAMS.forEach((p, i) => setBuffer(run, p.bar, b[outer.paramGradient[i]!]));
}
