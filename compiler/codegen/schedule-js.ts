// Prints the schedule's steps (compiler/schedule/) as the CPU module's JavaScript: a procedure
// becomes a function of create(), a step a statement or a loop. Every name printed comes from
// the create()-level table or the drivers' own scope; the segments are called by their plan
// names with their buffers as arguments.

import { carriedPair, type Plan, type StateBuffers } from '../plan.js';
import type { Bound, Carried, Phase, ProcedureName, Schedule, SparseChecks, Step } from '../schedule/schedule.js';
import { DEFER_STEPS } from '../optimise/defer-updates.js';
import { emitApplyNow } from './deferred-updates.js';
import { prop, type DriverContext } from './drivers-js.js';
import type { WasmSweep } from './wasm/sweep-wasm.js';

/** Where steps are printed: the code of the direction count, and whether a direction index is bound. */
interface Place {
  readonly count: string;
  readonly d: string | null;
  /** The copies sparse checks keep (emitProcedures); absent outside the procedures. */
  readonly copies?: CheckedCopies;
}

const DOC: Readonly<Record<ProcedureName, string>> = {
  idle: 'Iterations from..to-1 with no derivative work. `observe`, when given, sees every iterate (live buffers).',
  forwardSweep: 'Iterations T..K-1 with the tangents along one direction, from the seeded ẋ_T (the direction on x0 when T = 0, else 0).',
  unitSweep: 'Iterations T..K-1 with the tangents along every unit direction e_d of θ, from ẋ_T = 0.',
  record: 'Iterations T..K-1, each input state pushed on the tape.',
  backwardSweep: 'The backward sweep from K down to T over the taped states.',
  fusedSweep: 'Iterations T..K-1, each with the adjoint step K-1-(k-T) beside it (the adjoints do not read the state), both taped; false if a value was not finite.',
  fusedGradient: 'The gradient of the fused sweep: θ̄ summed from the tapes, k from K-1 down to T, as the backward sweep sums it.',
};

/** Whether a procedure carries tangents or adjoints: it then takes their direction count. */
const hasDirections = (name: ProcedureName) => name !== 'idle' && name !== 'record';

/** The fused reverse sweep runs unobserved only: its functions take the direction count alone. */
const FUSED: ReadonlySet<ProcedureName> = new Set(['fusedSweep', 'fusedGradient']);

/** The parameters of a procedure's function: its range, or its direction count, and the observer. */
export function procedureParams(ctx: DriverContext, name: ProcedureName): string[] {
  const p = ctx.param;
  if (name === 'idle') return [p('from'), p('to'), p('observe')];
  if (name === 'record') return [p('observe')];
  if (FUSED.has(name)) return [p('count')];
  return [p('count'), p('observe')];
}

/** Each procedure of the schedule as a function of create(), after the copies its sparse checks keep. */
export function emitProcedures(ctx: DriverContext, schedule: Schedule) {
  const { w, n, v } = ctx;
  const names = ['idle', 'forwardSweep', 'unitSweep', 'record', 'backwardSweep', 'fusedSweep', 'fusedGradient'] as const;
  const sparse = names.flatMap((name) => (schedule.procedures[name] ?? []).flatMap((s) => (s.kind === 'iterations' && s.sparseChecks ? [s.sparseChecks] : [])));
  const copies = checkedCopies(ctx, sparse);
  for (const name of names) {
    const steps = schedule.procedures[name];
    if (!steps) continue;
    w.writeLine(`/** ${DOC[name]} */`);
    // a procedure without directions has the state's one copy
    w.write(`function ${n[name]}(${procedureParams(ctx, name).join(', ')}) `).block(() => {
      const body = () => {
        emitSteps(ctx, steps, { count: hasDirections(name) ? v.count : '1', d: null, copies });
        if (name === 'fusedSweep') w.writeLine('return true;');
      };
      // deferred gemms that may still run on a worker thread are done before the sweep returns or throws
      const concurrent = ctx.deferral?.deferral.concurrent && steps.some(function deferred(s: Step): boolean {
        return (s.kind === 'applyDeferred' && !s.now) || ('body' in s && s.body.some(deferred));
      });
      if (!concurrent) return body();
      w.write('try ').inlineBlock(body);
      w.write(' finally ').block(() => w.writeLine(`${ctx.deferral!.kernels}.settleDeferred();`));
    }).blankLine();
  }
}

/** Per buffer, its copy at the last sparse check (one direction's worth): the state, and the tangents or adjoints some loop carries. */
type CheckedCopies = ReadonlyMap<string, string>;

function checkedCopies(ctx: DriverContext, sparse: readonly SparseChecks[]): CheckedCopies {
  const { w, plan, size } = ctx;
  const copies = new Map<string, string>();
  if (!sparse.length) return copies;
  const carried = new Set(sparse.map((c) => c.carried));
  w.writeLine('// the iterate (and the tangents or adjoints) at the last sparse finiteness check, where a failed check rewinds to');
  for (const s of plan.state) {
    const buffers = [s.current, ...(carried.has('tangents') ? [s.dot] : []), ...(carried.has('adjoints') ? [s.bar] : [])];
    for (const b of buffers) {
      const copy = plan.names.fresh(`${b}_checked`);
      copies.set(b, copy);
      w.writeLine(`const ${copy} = new Float64Array(${size(s)});`);
    }
  }
  w.blankLine();
  return copies;
}

export function emitSteps(ctx: DriverContext, steps: readonly Step[], place: Place) {
  for (const step of steps) emitStep(ctx, step, place);
}

function bound(ctx: DriverContext, b: Bound): string {
  return b === 'from' ? ctx.v.from : b === 'to' ? ctx.v.to : String(b);
}

const stateView = (plan: Plan) => `{ ${plan.state.map((s) => `${s.name}: ${s.current}`).join(', ')} }`;

function emitStep(ctx: DriverContext, step: Step, place: Place) {
  const { w, plan, n, v, size } = ctx;
  switch (step.kind) {
    case 'segment':
      return w.writeLine(`${ctx.segmentCall(step.segment, place.d ?? '0')};`);
    case 'directions':
      return emitDirections(ctx, step.unit, step.body, place);
    case 'columns':
      return emitColumns(ctx, step.of, step.body);
    case 'iterations': {
      const [from, to] = [bound(ctx, step.from), bound(ctx, step.to)];
      const head = step.down ? `for (let ${v.k} = ${to} - 1; ${v.k} >= ${from}; ${v.k}--) ` : `for (let ${v.k} = ${from}; ${v.k} < ${to}; ${v.k}++) `;
      const sparse = step.sparseChecks && place.copies ? sparseLoop(ctx, step, place.copies, [from, to]) : null;
      const body = () => (sparse ? sparse.body(place) : emitSteps(ctx, step.body, place));
      sparse?.before();
      // in a procedure, a loop with a WebAssembly sweep runs it when unobserved (sweep-wasm.ts)
      const wasm = place.copies ? ctx.sweeps?.of.get(step) : undefined;
      if (wasm) wasmBranch(ctx, wasm, place.count, [from, to], (call) => (sparse ? sparse.afterWasm(place, call) : checkedWasm(ctx, step, place, call)));
      return w.write(head).block(() => (ctx.solveError ? emitGuarded(ctx, ctx.solveError, body) : body()));
    }
    case 'run': {
      // (the fused sweep runs in the entry's fused function, which gives up when it does)
      if (step.procedure === 'fusedSweep') return w.writeLine(`if (!${n.fusedSweep}(${place.count})) return null;`);
      const args = step.procedure === 'idle' ? [bound(ctx, step.from!), bound(ctx, step.to!), v.observe] : step.procedure === 'record' ? [v.observe] : FUSED.has(step.procedure) ? [place.count] : [place.count, v.observe];
      return w.writeLine(`${n[step.procedure]}(${args.join(', ')});`);
    }
    case 'adjointTape':
      return emitAdjointTape(ctx, step.op, step.slot);
    case 'finiteOrGiveUp': {
      const finite = plan.state.flatMap((s) => [s.current, s.bar].map((b) => `nonFinite(${b}, ${size(s)}) < 0`));
      return w.writeLine(`if (!(${finite.join(' && ')})) return false;`);
    }
    case 'tapePush':
      for (const s of plan.state) w.writeLine(`${s.tape}.set(${s.current}, (${v.k} - T) * ${size(s)});`);
      return;
    case 'tapeRestore':
      for (const s of plan.state) emitFromTape(ctx, s, s.current, s.tape, `(${v.k} - T)`);
      return;
    case 'keepNext':
      w.writeLine('// x_{k+1}, which the adjoint reads instead of recomputing Φ(x_k): x_K, then the entry restored one step ago');
      for (const s of plan.state) w.writeLine(`${s.next}.set(${s.current});`);
      return;
    case 'advance':
      if (step.what === 'state') return w.writeLine(`${n.advance}();`);
      for (const s of plan.state) w.writeLine(step.what === 'tangents' ? `${s.dot}.set(${s.dotNext});` : `${s.bar}.set(${s.barNext});`);
      return;
    case 'check':
      if (step.what === 'state') return w.writeLine(`${n.checkState}(${v.k});`);
      return w.writeLine(`${step.what === 'tangents' ? n.checkTangents : n.checkAdjoints}(${v.k}, ${place.count});`);
    case 'observe':
      return w.writeLine(`if (${v.observe} !== undefined) ${v.observe}(${observation(ctx, step.phase)});`);
    case 'transposeForProducts':
      return w.writeLine(`${n.transposeForProducts}();`);
    case 'tangentProducts':
      return w.writeLine(`${n.tangentProducts}(${place.count});`);
    case 'applyDeferred':
      return emitDeferred(ctx, step.now, place);
    case 'outer':
      return emitOuterStep(ctx, step.seed);
    case 'snapshot':
      return w.writeLine(`const ${v.state} = ${n.snapshot}();`);
    case 'iterationIndex':
      return w.writeLine(`${plan.iteration!}[0] = ${step.value === 'k' ? v.k : '0'};`);
    case 'loadBatch':
      return emitLoadBatch(ctx, step.value);
    case 'checkpointStart':
      return emitCheckpointStart(ctx);
    case 'checkpointSave':
      return emitCheckpointSave(ctx);
    case 'revolve':
      return emitRevolve(ctx, step.advance, step.adjoint, place);
    case 'solve':
      return w.writeLine(`${step.side === 'tangents' ? n.solveTangents : n.solveAdjoints}(${place.d ?? '0'}, ${place.count});`);
  }
}

/**
 * A loop whose checks run every few steps (schedule.ts, `sparseChecks`), when the call is
 * unobserved and has one direction. At a due step, values that are not all finite restore the
 * copies of the last checked iterate, and an inner loop runs the same steps again from there
 * with every check, so the usual check throws naming the same iteration. (Rewinding the loop's
 * own k instead measured slower: V8 optimises a loop whose index the body never writes.)
 * Otherwise the checks run every step, as in a loop without sparse checks.
 */
function sparseLoop(ctx: DriverContext, step: Extract<Step, { kind: 'iterations' }>, copies: CheckedCopies, [from, to]: [string, string]) {
  const { w, plan, n, v, size } = ctx;
  const checks = step.sparseChecks!;
  const { sparse, checked, failed, due, k } = v;
  const down = step.down;
  // what a rewind restores: the state's current values, and the tangents or adjoints the loop carries
  const kept = [...plan.state.map((s) => ({ buffer: s.current, s, state: true })), ...(checks.carried ? plan.state.map((s) => ({ buffer: carriedPair(s, checks.carried!)[0], s, state: false })) : [])];
  // a state buffer is one copy long; tangents and adjoints hold `count` directions (here one)
  const save = () => kept.forEach(({ buffer: b, state }) => w.writeLine(`${copies.get(b)!}.set(${state ? b : `${b}.subarray(0, ${copies.get(b)!}.length)`});`));
  const checkedKinds = [...new Set(step.body.flatMap((s): Carried[] => (s.kind === 'check' ? [s.what] : [])))];
  /** All next values checked finite: the state's, and `count` directions of the tangents or adjoints. */
  const finiteOf = (count: string) => checkedKinds.flatMap((what) => plan.state.map((s) => `nonFinite(${carriedPair(s, what)[1]}, ${what === 'state' || count === '1' ? size(s) : `${count} * ${size(s)}`}) < 0`)).join(' && ');
  const finite = finiteOf('1');
  const first = step.body.findIndex((s) => s.kind === 'check');
  const last = step.body.findLastIndex((s) => s.kind === 'check' || s.kind === 'advance');
  /** Back to `copies` (taken at the step `start`), then the steps from there to `failed` again, checking each: the failing check throws. */
  const rerun = (place: Place, copiesOf: (b: string) => string, start: string, failedAt: string) => {
    w.writeLine('// not finite since the last check: run those steps again, checking each');
    kept.forEach(({ buffer: b }) => w.writeLine(`${b}.set(${copiesOf(b)});`));
    w.writeLine(`const ${failed} = ${failedAt};`);
    const head = down ? `for (let ${k} = ${start}; ${k} >= ${failed}; ${k}--) ` : `for (let ${k} = ${start}; ${k} <= ${failed}; ${k}++) `;
    // (sparse checks run unobserved only)
    w.write(head).block(() => emitSteps(ctx, step.body.filter((s) => s.kind !== 'observe'), place));
    w.writeLine(`throw new Error('phic internal error: iteration ' + (${failed} + 1) + ' of ' + ${n.K} + ' was not finite, and finite when run again');`);
  };
  return {
    /**
     * After the whole loop as one WebAssembly call (wasmBranch): checked once at the end, where a
     * bad value restores the copies taken before the call and reruns the loop here, checking each
     * step.
     */
    afterWasm(place: Place, call: string) {
      const starts = new Map(kept.map(({ buffer }) => [buffer, ctx.drivers.fresh(`${buffer}_start`)]));
      kept.forEach(({ buffer: b, s, state }) => w.writeLine(`const ${starts.get(b)!} = ${b}.slice(0, ${state ? size(s) : `${place.count} * ${size(s)}`});`));
      w.writeLine(`${call};`);
      w.write(`if (!(${finiteOf(place.count)})) `).block(() => rerun(place, (b) => starts.get(b)!, down ? `${to} - 1` : from, down ? from : `${to} - 1`));
    },
    before() {
      w.writeLine(`// finiteness checked every ${checks.every} steps and at the last (optimise/finite-checks.ts), each step when observed`);
      w.writeLine(`const ${sparse} = ${v.observe} === undefined${checks.carried ? ` && ${v.count} === 1` : ''};`);
      w.writeLine(`let ${checked} = ${down ? `${to} - 1` : from};`);
      w.write(`if (${sparse}) `).inlineBlock(save).newLine();
    },
    body(place: Place) {
      emitSteps(ctx, step.body.slice(0, first), place);
      w.writeLine(`const ${due} = !${sparse} || ${down ? `${checked} - ${k}` : `${k} - ${checked}`} === ${checks.every - 1} || ${k} === ${down ? from : `${to} - 1`};`);
      w.write(`if (${due}) `).block(() => {
        w.write(`if (${sparse} && !(${finite})) `).block(() => rerun(place, (b) => copies.get(b)!, checked, k));
        emitSteps(ctx, step.body.slice(first).filter((s) => s.kind === 'check'), place);
      });
      emitSteps(ctx, step.body.slice(first, last + 1).filter((s) => s.kind !== 'check'), place);
      w.write(`if (${sparse} && ${due}) `).block(() => {
        w.writeLine(`${checked} = ${k} ${down ? '-' : '+'} 1;`);
        save();
      });
      emitSteps(ctx, step.body.slice(last + 1), place);
    },
  };
}

/**
 * The whole loop as one WebAssembly call (sweep-wasm.ts), unobserved, where the engine runs the
 * sweeps, with every direction: `body` prints the call (given as code) and what follows it; the
 * JavaScript loop follows as `else`. The sweep applies the deferred updates through the last
 * step, so their counter is 0 after it.
 */
function wasmBranch(ctx: DriverContext, sweep: WasmSweep, count: string, [from, to]: [string, string], body: (call: string) => void) {
  const { w, v } = ctx;
  const sweeps = ctx.sweeps!.instance;
  const args = [from, to, count, sweep.deferred ?? '0', ...sweep.buffers.map((b) => `${b}.byteOffset`)];
  w.write(`if (${v.observe} === undefined && ${sweeps} !== null && ${from} < ${to}) `).block(() => {
    body(`${sweeps}.${sweep.name}(${args.join(', ')})`);
    if (sweep.deferred) w.writeLine(`${sweep.deferred} = 0;`);
  });
  w.write('else ');
}

/**
 * After a sweep that checks each step itself and returns the step whose check failed (else −1):
 * the values are then as the JavaScript loop has them at its checks, so these throw the same error.
 */
function checkedWasm(ctx: DriverContext, step: Extract<Step, { kind: 'iterations' }>, place: Place, call: string) {
  const { w, n, v } = ctx;
  w.writeLine(`const ${v.k} = ${call};`);
  w.write(`if (${v.k} >= 0) `).block(() => {
    emitSteps(ctx, step.body.filter((s) => s.kind === 'check'), place);
    w.writeLine(`throw new Error('phic internal error: iteration ' + (${v.k} + 1) + ' of ' + ${n.K} + ' was not finite in WebAssembly, and finite here');`);
  });
}

/** An iteration's steps in a try: an error without an iteration (a singular solve) gets this one. */
function emitGuarded(ctx: DriverContext, error: string, body: () => void) {
  const { w, v } = ctx;
  w.write('try ').inlineBlock(body);
  w.write(` catch (${error}) `).block(() => w.writeLine(`throw atIteration(${error}, ${v.k});`));
}

/** What the observer sees in a phase: the iterate, and the tangents or the adjoints and gradient. */
function observation(ctx: DriverContext, phase: Phase): string {
  const { plan, v } = ctx;
  if (phase === 'backward') {
    return `{ phase: 'backward', ${prop('k', v.k)}, adjoint: { ${plan.state.map((s) => `${s.name}: ${s.bar}`).join(', ')} }, gradient: { ${plan.params.map((p) => `${p.name}: ${p.bar}`).join(', ')} } }`;
  }
  const tangent = phase === 'forward' ? `, tangent: { ${plan.state.map((s) => `${s.name}: ${s.dot}`).join(', ')} }` : '';
  return `{ phase: '${phase}', k: ${v.k} + 1, state: ${stateView(plan)}${tangent} }`;
}

/** Every direction d in turn; with unit seeds, e_d replaces e_{d-1} in the parameter direction. */
function emitDirections(ctx: DriverContext, unit: 'params' | null, body: readonly Step[], place: Place) {
  const { w, n, v } = ctx;
  const inner: Place = { count: place.count, d: v.d };
  const head = `for (let ${v.d} = 0; ${v.d} < ${place.count}; ${v.d}++) `;
  const single = body.length === 1 ? body[0]! : null;
  if (!unit && single?.kind === 'segment') return w.writeLine(`${head}${ctx.segmentCall(single.segment, v.d)};`);
  w.write(head).block(() => {
    if (unit) w.writeLine(`${n.setParamDirection}(${v.d} === 0 ? ${place.count} - 1 : ${v.d} - 1, 0);`).writeLine(`${n.setParamDirection}(${v.d}, 1);`);
    emitSteps(ctx, body, inner);
  });
}

/** The dense ∂Φ/∂x or ∂Φ/∂θ at the point, a column per unit direction of the tangent step. */
function emitColumns(ctx: DriverContext, of: 'states' | 'params', body: readonly Step[]) {
  const { w, plan, n, v, size } = ctx;
  const setUnit = of === 'states' ? n.setStateDirection : n.setParamDirection;
  for (const p of plan.params) w.writeLine(`${p.dot}.fill(0);`);
  w.writeLine(`const ${v.rows} = ${ctx.total(plan.state)}, ${v.cols} = ${ctx.total(of === 'states' ? plan.state : plan.params)}, ${v.out} = new Float64Array(${v.rows} * ${v.cols});`);
  w.write(`for (let ${v.c} = 0; ${v.c} < ${v.cols}; ${v.c}++) `).block(() => {
    w.writeLine(`if (${v.c} > 0) ${setUnit}(${v.c} - 1, 0);`).writeLine(`${setUnit}(${v.c}, 1);`);
    emitSteps(ctx, body, { count: '1', d: null });
    let off = '0';
    for (const s of plan.state) {
      w.writeLine(`for (let ${v.r} = 0; ${v.r} < ${size(s)}; ${v.r}++) ${v.out}[(${off} + ${v.r}) * ${v.cols} + ${v.c}] = ${s.dotNext}[${v.r}];`);
      off = `${off} + ${size(s)}`;
    }
  });
}

/** The deferred rank-1 updates: a block at a time in a sweep (all at once when observed), or now. */
function emitDeferred(ctx: DriverContext, now: boolean, place: Place) {
  const { w, n, v } = ctx;
  const deferral = ctx.deferral;
  if (!deferral) throw new Error('phic internal error: the schedule applies deferred updates, but the plan defers none');
  if (now) return emitApplyNow(w, deferral.deferral, deferral.kernels, deferral.stride, place.count, v.d, deferral.code);
  const steps = deferral.deferral.counter;
  w.writeLine(`${steps}++;`).writeLine(`if (${steps} === ${DEFER_STEPS} || ${v.k} === T || ${v.observe} !== undefined) ${n.applyDeferred}(${place.count}, ${v.k}, ${v.observe} !== undefined || ${v.k} === T ? 1 : 0);`);
}

/** ℓ and its gradients at the current state; seeded, they start the backward sweep (∇θℓ is the gradient's start). */
function emitOuterStep(ctx: DriverContext, seed: boolean) {
  const { w, plan, n, v } = ctx;
  const outer = plan.outer!;
  const names = plan.data.filter((d) => d.outer).map((d) => d.name).join(', ');
  w.writeLine(`if (!${n.outerDataLoaded}) fail('data', 'the outer objective needs the inputs ${names}');`);
  w.writeLine(`${ctx.segmentCall('outerGradient', '0')};`);
  if (!seed) return;
  plan.state.forEach((s, i) => w.writeLine(`${s.bar}.set(${outer.stateGradient[i]});`));
  plan.params.forEach((p, i) => w.writeLine(`${p.bar}.set(${outer.paramGradient[i]});`));
  w.writeLine(`const ${v.value} = ${outer.loss}[0];`);
}

/** Batch k mod B (or 0) of each batched input into the buffer its formulas read: a plain copy, no view allocated per step. */
function emitLoadBatch(ctx: DriverContext, value: 'k' | 0) {
  const { w, plan, v, size } = ctx;
  const count = ctx.dimCode(plan.model.batches!.count);
  for (const d of plan.data) {
    if (!d.batches) continue;
    const n = size(d);
    const at = ctx.drivers.fresh(`at_${d.name}`);
    w.writeLine(`const ${at} = ${value === 'k' ? `(${v.k} % ${count}) * ${n}` : '0'};`);
    w.writeLine(`for (let ${v.i} = 0; ${v.i} < ${n}; ${v.i}++) ${d.value}[${v.i}] = ${d.batches}[${at} + ${v.i}];`);
  }
}

/** The fused sweep's adjoint tape (schedule.ts, `adjointTape`): slot j holds λ_{T+j} of each state component. */
function emitAdjointTape(ctx: DriverContext, op: 'push' | 'restore', slot: 'mirror' | 'next' | 'first') {
  const { w, plan, v, size } = ctx;
  const at = slot === 'mirror' ? `(K - ${v.k})` : slot === 'next' ? `(${v.k} + 1 - T)` : '0';
  plan.state.forEach((s, i) => {
    const tape = plan.fusedReverse!.adjointTape[i]!;
    if (op === 'push') return w.writeLine(`${tape}.set(${s.bar}.subarray(0, ${size(s)}), ${at} * ${size(s)});`);
    emitFromTape(ctx, s, s.bar, tape, at);
  });
}

/**
 * Slot `slot` (code) of a tape into a buffer of one state component's size: a plain loop (a
 * TypedArray.set into the kernels' shared memory measured slower).
 */
function emitFromTape(ctx: DriverContext, s: StateBuffers, into: string, tape: string, slot: string) {
  const { w, v, size } = ctx;
  const at = ctx.drivers.fresh(`at_${s.name}`);
  w.writeLine(`const ${at} = ${slot} * ${size(s)};`);
  w.writeLine(`for (let ${v.i} = 0; ${v.i} < ${size(s)}; ${v.i}++) ${into}[${v.i}] = ${tape}[${at} + ${v.i}];`);
}

/** The slots of checkpointing: the binomial chain the first sweep keeps, and which step each slot holds. */
function emitCheckpointStart(ctx: DriverContext) {
  const { w, plan, n } = ctx;
  w.writeLine(`${n.chainSteps} = checkpointChain(T, K, ${plan.options.checkpoints});`);
  w.writeLine(`${n.storedSteps} = new Array(${plan.options.checkpoints}).fill(-1);`);
  w.writeLine(`${n.chainCursor} = 0;`);
}

/** x_k into the next slot when k is the chain's next step. */
function emitCheckpointSave(ctx: DriverContext) {
  const { w, plan, n, v, size } = ctx;
  w.write(`if (${n.chainCursor} < ${n.chainSteps}.length && ${v.k} === ${n.chainSteps}[${n.chainCursor}]) `).block(() => {
    for (const s of plan.state) w.writeLine(`${s.tape}.set(${s.current}, ${n.chainCursor} * ${size(s)});`);
    w.writeLine(`${n.storedSteps}[${n.chainCursor}] = ${v.k};`).writeLine(`${n.chainCursor}++;`);
  });
}

/** The backward sweep by binomial reversal (runtime-revolve.ts): slots loaded and saved, steps recomputed, adjoints run. */
function emitRevolve(ctx: DriverContext, advance: readonly Step[], adjoint: readonly Step[], place: Place) {
  const { w, plan, n, v, size } = ctx;
  const slot = ctx.drivers.fresh('slot');
  w.writeLine(`revolve(T, K, ${plan.options.checkpoints}, ${n.storedSteps},`);
  w.indent(() => {
    w.write(`(${slot}) => `).inlineBlock(() => {
      for (const s of plan.state) emitFromTape(ctx, s, s.current, s.tape, slot);
    }).write(',').newLine();
    w.write(`(${slot}) => `).inlineBlock(() => {
      for (const s of plan.state) w.writeLine(`${s.tape}.set(${s.current}, ${slot} * ${size(s)});`);
    }).write(',').newLine();
    w.write(`(${v.k}) => `).inlineBlock(() => emitSteps(ctx, advance, place)).write(',').newLine();
    w.write(`(${v.k}) => `).inlineBlock(() => emitSteps(ctx, adjoint, place)).write(');').newLine();
  });
}
