// Builds the schedule of a plan: the sweeps (idle iterations, the forward sweep with one given
// direction or with unit directions, the taped iterations, the backward sweep) and every entry
// point of the module as steps over them. What the plan passes left (a fused forward step,
// batched tangent products, deferred updates) decides which steps appear; the back ends only
// print or interpret what is here.

import type { Plan } from '../plan.js';
import { buffersOf } from '../lower/loop-ir.js';
import { needsTranspose } from '../optimise/batch-tangents.js';
import { CHECK_EVERY, sparseCheckable } from '../optimise/finite-checks.js';
import type { Carried, EntrySchedule, EntryName, Schedule, SegmentKey, Step } from './schedule.js';

/** The entries whose directions are tangents; the other entries with directions carry adjoints. */
const TANGENT_ENTRIES: ReadonlySet<EntryName> = new Set(['jvp', 'jacobianForward', 'partialX', 'partialTheta']);

/** The entries with a derivative with respect to x⁰: a seed in the direction, or the state adjoints after the sweep. */
const X0_ENTRIES: ReadonlySet<EntryName> = new Set(['jvp', 'vjp', 'jacobianReverse', 'hypergradient']);

const segment = (key: SegmentKey): Step => ({ kind: 'segment', segment: key });

export function buildSchedule(plan: Plan): Schedule {
  const schedule = { procedures: withSparseChecks(plan, procedures(plan)), entries: entries(plan) };
  const perStep = [...(plan.iteration ? (['iterationIndex'] as const) : []), ...(plan.data.some((d) => d.batches) ? (['loadBatch'] as const) : [])];
  return perStep.length ? withStepInputs(schedule, perStep) : schedule;
}

/**
 * When Φ reads what changes from step to step (the step index k, a mini-batch): every iteration
 * first puts step k's values where the segments read them (the backward sweep's step k
 * included), and an entry at a point runs the map of step 0.
 */
function withStepInputs(schedule: Schedule, kinds: readonly ('iterationIndex' | 'loadBatch')[]): Schedule {
  const at = (value: 'k' | 0): Step[] => kinds.map((kind) => ({ kind, value }));
  const inLoops = (steps: readonly Step[]): Step[] =>
    steps.map((s) => (s.kind === 'iterations' ? { ...s, body: [...at('k'), ...inLoops(s.body)] } : s.kind === 'revolve' ? { ...s, advance: [...at('k'), ...s.advance], adjoint: [...at('k'), ...s.adjoint] } : s));
  const procedures = Object.fromEntries(Object.entries(schedule.procedures).map(([name, steps]) => [name, inLoops(steps)]));
  const entries = schedule.entries.map((e) => (e.at === 'point' ? { ...e, steps: [...at(0), ...e.steps] } : e));
  return { procedures, entries };
}

/**
 * The sweeps' loops whose every check may be sparse (optimise/finite-checks.ts), marked so; the
 * loops of the checkpointed backward sweep (revolve) keep checking every step.
 */
function withSparseChecks(plan: Plan, procs: Schedule['procedures']): Schedule['procedures'] {
  const sound = sparseCheckable(plan);
  const mark = (step: Step): Step => {
    if (step.kind !== 'iterations') return step;
    const checked = new Set(step.body.flatMap((b): Carried[] => (b.kind === 'check' ? [b.what] : [])));
    if (!checked.size || ![...checked].every((c) => sound.has(c))) return step;
    const carried = checked.has('tangents') ? 'tangents' : checked.has('adjoints') ? 'adjoints' : null;
    return { ...step, sparseChecks: { every: CHECK_EVERY, carried } };
  };
  return Object.fromEntries(Object.entries(procs).map(([name, steps]) => [name, steps.map(mark)]));
}

/** The segment the tangent step follows: the step keeping what the tangent reads, or the plain step. */
const stepForTangentOf = (plan: Plan): SegmentKey => (plan.segments.stepForTangent ? 'stepForTangent' : 'step');

/** The sweeps: idle iterations, the forward sweeps, the taped iterations and the backward sweep. */
function procedures(plan: Plan): Schedule['procedures'] {
  const { segments: seg, tangentBatch: batch, deferral } = plan;
  const stepForTangent = stepForTangentOf(plan);
  const tangentTail: Step[] = [
    { kind: 'check', what: 'state' }, { kind: 'check', what: 'tangents' },
    { kind: 'advance', what: 'state' }, { kind: 'advance', what: 'tangents' }, { kind: 'observe', phase: 'forward' },
  ];
  const idle: Step[] = [{ kind: 'iterations', from: 'from', to: 'to', down: false, body: [segment('step'), { kind: 'check', what: 'state' }, { kind: 'advance', what: 'state' }, { kind: 'observe', phase: 'idle' }] }];
  // the implicit method iterates to x_K and solves there: no sweeps, no tape
  if (plan.options.implicit) return { idle };
  return {
    idle,
    ...(seg.tangent && {
      // one given direction: the step and its tangent in fused loops, when the plan has them
      forwardSweep: [...(seg.tangentInvariants ? [segment('tangentInvariants')] : []), { kind: 'iterations', from: 'T', to: 'K', down: false, body: [
        ...(seg.forwardStep ? [segment('forwardStep')] : [segment(stepForTangent), { kind: 'directions', unit: null, body: [segment('tangent')] } as const]),
        ...tangentTail,
      ] }],
      // e_d per direction d: every direction's products at once when the batch-tangents pass made them
      unitSweep: [
        ...(batch && needsTranspose(batch) ? [{ kind: 'transposeForProducts' } as const] : []),
        { kind: 'iterations', from: 'T', to: 'K', down: false, body: [
          segment(stepForTangent),
          ...(batch ? [{ kind: 'tangentProducts' } as const] : []),
          { kind: 'directions', unit: 'params', body: [segment(batch ? 'tangentBatched' : 'tangent')] },
          ...tangentTail,
        ] },
      ],
    }),
    ...(seg.adjoint && plan.options.checkpoints && checkpointed(plan)),
    ...(seg.adjoint && !plan.options.checkpoints && {
      record: [{ kind: 'iterations', from: 'T', to: 'K', down: false, body: [{ kind: 'tapePush' }, segment('step'), { kind: 'check', what: 'state' }, { kind: 'advance', what: 'state' }, { kind: 'observe', phase: 'record' }] }],
      backwardSweep: [{ kind: 'iterations', from: 'T', to: 'K', down: true, body: [
        ...(readsNextState(plan) ? [{ kind: 'keepNext' } as const] : []),
        { kind: 'tapeRestore' },
        ...(seg.adjointPrep ? [segment('adjointPrep')] : []),
        { kind: 'directions', unit: null, body: [segment('adjoint')] },
        ...(deferral ? [{ kind: 'applyDeferred', now: false } as const] : []),
        { kind: 'check', what: 'adjoints' }, { kind: 'advance', what: 'adjoints' }, { kind: 'observe', phase: 'backward' },
      ] }],
    }),
    ...(plan.fusedReverse && fusedProcedures(plan)),
  };
}

/**
 * The fused reverse sweep (Plan.fusedReverse): iteration k and the adjoint step K − 1 − (k − T)
 * in one segment, for k from T up, keeping x_k and the adjoints on their tapes; then θ̄ summed
 * over the steps from K − 1 down to T, in the backward sweep's order, so it is the same sum.
 * Finiteness is checked once at the end where a bad value cannot vanish (finite-checks.ts),
 * else each step; the sweep gives up on a failed check, and the call runs the plain sweeps.
 */
function fusedProcedures(plan: Plan): Pick<Schedule['procedures'], 'fusedSweep' | 'fusedGradient'> {
  const sound = sparseCheckable(plan);
  const atEnd = sound.has('state') && sound.has('adjoints');
  const giveUp: Step = { kind: 'finiteOrGiveUp' };
  return {
    fusedSweep: [
      { kind: 'iterations', from: 'T', to: 'K', down: false, body: [
        { kind: 'tapePush' }, { kind: 'adjointTape', op: 'push', slot: 'mirror' }, segment('reverseStep'),
        { kind: 'advance', what: 'state' }, { kind: 'advance', what: 'adjoints' }, ...(atEnd ? [] : [giveUp]),
      ] },
      ...(atEnd ? [giveUp] : []),
      { kind: 'adjointTape', op: 'push', slot: 'first' },
    ],
    fusedGradient: [
      { kind: 'iterations', from: 'T', to: 'K', down: true, body: [{ kind: 'tapeRestore' }, { kind: 'adjointTape', op: 'restore', slot: 'next' }, segment('paramAdjoint')] },
      { kind: 'adjointTape', op: 'restore', slot: 'first' },
    ],
  };
}

/** Every entry point of the module, as steps over the procedures. */
function entries(plan: Plan): EntrySchedule[] {
  const { segments: seg, deferral } = plan;
  const forward = !!seg.tangent;
  const reverse = !!seg.adjoint;
  const keepsNext = reverse && readsNextState(plan);
  const invariants = segment('invariants');
  const idle = (to: 'T' | 'K'): Step => ({ kind: 'run', procedure: 'idle', from: 0, to });
  const run = (procedure: 'record' | 'forwardSweep' | 'unitSweep' | 'backwardSweep' | 'fusedSweep' | 'fusedGradient'): Step => ({ kind: 'run', procedure });
  const taped: Step[] = [invariants, idle('T'), run('record'), { kind: 'snapshot' }];
  const entry: EntryMaker = (name, at: EntrySchedule['at'], directions: EntrySchedule['directions'], seed: EntrySchedule['seed'], steps: Step[], outerData = false): EntrySchedule => {
    const side = TANGENT_ENTRIES.has(name) ? 'tangents' : directions === 'none' ? null : 'adjoints';
    const x0 = !X0_ENTRIES.has(name) ? 'none' : plan.options.truncate === 0 ? 'exact' : 'zero';
    return { name, at, directions, side, seed, x0, outerData, steps };
  };

  const list: EntrySchedule[] = [entry('iterate', 'x0', 'none', 'none', [invariants, idle('K')])];
  if (plan.options.implicit) return [...list, ...implicitEntries(plan, entry)];
  if (forward) {
    list.push(entry('jvp', 'x0', 'one', 'direction', [invariants, idle('T'), run('forwardSweep')]));
    list.push(entry('jacobianForward', 'x0', 'params', 'unitParams', [invariants, idle('T'), run('unitSweep')]));
  }
  if (reverse) {
    const vjp = entry('vjp', 'x0', 'one', 'cotangent', [...taped, run('backwardSweep')]);
    list.push(plan.fusedReverse ? { ...vjp, fused: [invariants, idle('T'), run('fusedSweep'), { kind: 'snapshot' }, run('fusedGradient')] } : vjp);
    list.push(entry('jacobianReverse', 'x0', 'states', 'unitStates', [...taped, run('backwardSweep')]));
  }
  // the partial Jacobians at a point: column by column from the tangent step, else row by row from the adjoint step
  if (forward) {
    const columns = (of: 'states' | 'params'): Step[] => [invariants, segment(stepForTangentOf(plan)), { kind: 'columns', of, body: [segment('tangent')] }];
    list.push(entry('partialX', 'point', 'one', 'none', columns('states')), entry('partialTheta', 'point', 'one', 'none', columns('params')));
  } else {
    list.push(entry('partialRows', 'point', 'states', 'unitStates', [
      invariants,
      // x_next = Φ(point), which the adjoint reads
      ...(keepsNext ? [segment('step')] : []),
      ...(seg.adjointPrep ? [segment('adjointPrep')] : []),
      { kind: 'directions', unit: null, body: [segment('adjoint')] },
      ...(deferral ? [{ kind: 'applyDeferred', now: true } as const] : []),
    ]));
  }
  if (plan.outer) {
    list.push(entry('outerAt', 'point', 'none', 'none', [invariants, { kind: 'outer', seed: false }], true));
    if (reverse) list.push(entry('hypergradient', 'x0', 'one', 'none', [...taped, { kind: 'outer', seed: true }, run('backwardSweep')], true));
  }
  return list;
}

/**
 * The taped sweep and the backward sweep with checkpoints: the first sweep keeps the binomial
 * chain's states, and the backward sweep recomputes the rest from them (runtime-revolve.ts).
 * The adjoint of step k then has x_k in the state buffers, and x_{k+1} = Φ(x_k) is recomputed
 * when the adjoint reads it.
 */
function checkpointed(plan: Plan): Pick<Schedule['procedures'], 'record' | 'backwardSweep'> {
  const seg = plan.segments;
  if (plan.deferral) throw new Error('phic internal error: checkpointing runs the adjoint step without deferred updates');
  return {
    record: [{ kind: 'checkpointStart' }, { kind: 'iterations', from: 'T', to: 'K', down: false, body: [{ kind: 'checkpointSave' }, segment('step'), { kind: 'check', what: 'state' }, { kind: 'advance', what: 'state' }, { kind: 'observe', phase: 'record' }] }],
    backwardSweep: [{
      kind: 'revolve',
      advance: [segment('step'), { kind: 'check', what: 'state' }, { kind: 'advance', what: 'state' }],
      adjoint: [
        ...(readsNextState(plan) ? [segment('step')] : []),
        ...(seg.adjointPrep ? [segment('adjointPrep')] : []),
        { kind: 'directions', unit: null, body: [segment('adjoint')] },
        { kind: 'check', what: 'adjoints' }, { kind: 'advance', what: 'adjoints' }, { kind: 'observe', phase: 'backward' },
      ],
    }],
  };
}

type EntryMaker = (name: EntryName, at: EntrySchedule['at'], directions: EntrySchedule['directions'], seed: EntrySchedule['seed'], steps: Step[], outerData?: boolean) => EntrySchedule;

/**
 * The entries of `--method implicit`: iterate to x_K, then one linear solve per direction at
 * x_K instead of a sweep. x_K does not depend on x⁰ at a fixed point, so the x⁰ parts are zero.
 * The partial Jacobians at a point are the unrolled module's.
 */
function implicitEntries(plan: Plan, entry: EntryMaker): EntrySchedule[] {
  const { segments: seg, deferral } = plan;
  const invariants = segment('invariants');
  const atEnd: Step[] = [invariants, { kind: 'run', procedure: 'idle', from: 0, to: 'K' }];
  const solve = (side: 'tangents' | 'adjoints'): Step => ({ kind: 'solve', side });
  // the intermediates the tangent step reads, or x_{K+1} = Φ(x_K) and what the adjoint step reads
  const forwardAt: Step[] = [...atEnd, segment(stepForTangentOf(plan))];
  const reverseAt: Step[] = [...(readsNextState(plan) ? [segment('step')] : []), ...(seg.adjointPrep ? [segment('adjointPrep')] : [])];
  if (deferral) throw new Error('phic internal error: the implicit method runs the adjoint step without deferred updates');
  const list: EntrySchedule[] = [];
  if (seg.tangent) {
    list.push(entry('jvp', 'x0', 'one', 'direction', [...forwardAt, { kind: 'directions', unit: null, body: [solve('tangents')] }]));
    list.push(entry('jacobianForward', 'x0', 'params', 'unitParams', [...forwardAt, { kind: 'directions', unit: 'params', body: [solve('tangents')] }]));
  }
  const reverse = (): Step[] => [...reverseAt, { kind: 'directions', unit: null, body: [solve('adjoints')] }];
  if (seg.adjoint) {
    list.push(entry('vjp', 'x0', 'one', 'cotangent', [...atEnd, ...reverse()]));
    list.push(entry('jacobianReverse', 'x0', 'states', 'unitStates', [...atEnd, ...reverse()]));
  }
  const unrolled = entries({ ...plan, options: { ...plan.options, implicit: null } });
  list.push(...unrolled.filter((e) => e.at === 'point'));
  if (plan.outer && seg.adjoint) list.push(entry('hypergradient', 'x0', 'one', 'none', [...atEnd, { kind: 'outer', seed: true }, ...reverse()], true));
  return list.map((e) => (e.x0 === 'exact' ? { ...e, x0: 'zero' as const } : e));
}

/** Whether the adjoint segments read x_{k+1} (see PlanOptions.nextStateKnown). */
function readsNextState(plan: Plan): boolean {
  const read = new Set([plan.segments.adjointPrep, plan.segments.adjoint].flatMap((seg) => (seg ? [...buffersOf(seg.body)] : [])));
  return plan.state.some((s) => read.has(s.next));
}
