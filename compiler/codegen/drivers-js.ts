// The CPU module's entry points around the schedule (compiler/schedule/): each reads its inputs
// and the state it starts from, seeds its directions, runs its steps (schedule-js.ts prints
// them) and shapes its results. The steps are the schedule's; what is here is how the CPU
// back end holds memory: one buffer a direction, results copied out.

import type CodeBlockWriter from 'code-block-writer';
import type { Plan } from '../plan.js';
import type { NameScope } from '../names.js';
import type { IndexExpr } from '../lower/loop-ir.js';
import type { Deferral } from '../optimise/defer-updates.js';
import type { EntrySchedule, Schedule, SegmentKey, Step } from '../schedule/schedule.js';
import type { WasmSweep } from './wasm/sweep-wasm.js';
import { shapeCode } from './create-js.js';
import { emitProcedures, emitSteps } from './schedule-js.js';
import { resetStats, solveReport, type SolveBuffers } from './implicit-js.js';
import { uses } from '../schedule/schedule.js';
import type { CreateNames, DriverLocals } from './module-js.js';

export interface Sized {
  readonly dims: readonly string[];
}

/** What every driver emitter needs. */
export interface DriverContext {
  readonly w: CodeBlockWriter;
  readonly plan: Plan;
  /** Entries of a variable (its dims' product), as code. */
  readonly size: (v: Sized) => string;
  /** Entries of several variables together, as code. */
  readonly total: (vs: readonly Sized[]) => string;
  /** A dim's size as code: its literal when baked, else its identifier. */
  readonly dimCode: (dim: string) => string;
  /** Names declared in create(). */
  readonly n: CreateNames;
  /** Locals of the driver functions. */
  readonly v: DriverLocals;
  /** Printing TypeScript (`--emit ts`): declarations carry their types. */
  readonly types: boolean;
  /** A driver local where it is declared: with its annotation when printing TypeScript. */
  readonly param: (key: keyof DriverLocals) => string;
  /** `expr as type` when printing TypeScript (a value built piece by piece, complete where it is cast), else `expr`. */
  readonly cast: (expr: string, type: string) => string;
  /** The scope the driver locals come from (for per-state locals). */
  readonly drivers: NameScope;
  /** The call of a segment for direction `d` (an expression), without the semicolon. */
  readonly segmentCall: (key: SegmentKey, d: string) => string;
  /** Rank-1 gradient updates that wait for a block of backward steps (optimise/defer-updates.ts), or null. */
  readonly deferral: { readonly deferral: Deferral; readonly kernels: string; readonly stride: (buffer: string) => string; readonly code: (e: IndexExpr) => string } | null;
  /** When a segment solves a linear system: the error local of the iteration loops' catch (it adds the iteration). */
  readonly solveError: string | null;
  /** `--method implicit`: the buffers of the linear solves at x_K, or null. */
  readonly solves: SolveBuffers | null;
  /** The WebAssembly sweeps' instance (null at run time where the engine cannot run them) and the loops that have one, or null. */
  readonly sweeps: { readonly instance: string; readonly of: ReadonlyMap<Step, WasmSweep> } | null;
}

/** An object-literal entry, shorthand when the local kept the key's spelling. */
export const prop = (key: string, value: string) => (key === value ? key : `${key}: ${value}`);

const DOC: Readonly<Record<EntrySchedule['name'], string>> = {
  iterate: 'Runs all K iterations from x0 and returns x_K.',
  jvp: 'Forward mode: x_K and the JVP dx_K/d(θ, x0) · direction (truncated: derivatives over the last K - T steps, and the x0 part is zero).',
  jacobianForward: 'Forward mode, all directions at once: the full Jacobian dx_K/dθ, one block per (state, param).',
  vjp: 'Reverse mode: x_K and the VJP cotangent · dx_K/dθ and · dx_K/dx0 (truncated: the sweep stops at T, and the x0 part is zero).',
  jacobianReverse: 'Reverse mode with one cotangent per state entry: the full Jacobians dx_K/dθ and dx_K/dx0.',
  partialX: '∂Φ/∂x at x = point, column by column from the tangent step.',
  partialTheta: '∂Φ/∂θ at x = point, column by column from the tangent step.',
  partialRows: '∂Φ/∂x and ∂Φ/∂θ at x = point, row by row from the adjoint step.',
  outerAt: 'ℓ(x, θ) at x = point, with ∇ₓℓ and ∇θℓ.',
  hypergradient: 'Reverse mode on ℓ(x_K, θ): the hypergradient (and d/dx0), seeded with ∇ₓℓ(x_K) and starting from ∇θℓ.',
};

/** The procedures, then every entry point of the schedule, with the helpers their seeds use. */
export function emitDrivers(ctx: DriverContext, schedule: Schedule) {
  const { plan, n, size } = ctx;
  if (schedule.entries.some((e) => e.side === 'tangents')) emitSetUnit(ctx, n.setParamDirection, plan.params.map((p) => ({ buffer: p.dot, size: size(p) })));
  if (schedule.entries.some((e) => e.name === 'partialX')) emitSetUnit(ctx, n.setStateDirection, plan.state.map((s) => ({ buffer: s.dot, size: size(s) })));
  emitProcedures(ctx, schedule);
  for (const entry of schedule.entries) emitEntry(ctx, entry);
  if (schedule.entries.some((e) => e.name === 'partialRows')) {
    const { w, v } = ctx;
    w.writeLine(`function ${n.partialX}(${ctx.param('inputs')}, ${ctx.param('point')}) { return ${n.partialRows}(${v.inputs}, ${v.point}).dx; }`);
    w.writeLine(`function ${n.partialTheta}(${ctx.param('inputs')}, ${ctx.param('point')}) { return ${n.partialRows}(${v.inputs}, ${v.point}).dtheta; }`).blankLine();
  }
}

/** `index` in the concatenation of `blocks` set to `value` in that block's buffer. */
function emitSetUnit(ctx: DriverContext, fn: string, blocks: readonly { buffer: string; size: string }[]) {
  const { w, v } = ctx;
  w.write(`function ${fn}(${ctx.param('index')}, ${ctx.param('value')}) `).block(() => {
    for (const b of blocks) {
      w.write(`if (${v.index} < ${b.size}) `).block(() => w.writeLine(`${b.buffer}[${v.index}] = ${v.value};`).writeLine('return;'));
      w.writeLine(`${v.index} -= ${b.size};`);
    }
  }).blankLine();
}

/** One entry point: inputs and start state loaded, directions seeded, the steps, the results. */
function emitEntry(ctx: DriverContext, entry: EntrySchedule) {
  const { w, n, v } = ctx;
  const p = ctx.param;
  const seedArg = entry.seed === 'direction' ? [p('direction')] : entry.seed === 'cotangent' ? [p('cotangent')] : [];
  const params = entry.at === 'point' ? [p('inputs'), p('point')] : [p('inputs'), ...seedArg, p('x0'), p('observe')];
  const count = directionCount(ctx, entry);
  /** The inputs and start state loaded, the directions seeded, the steps, the result. */
  const body = (steps: readonly Step[]) => {
    w.writeLine(`${n.loadInputs}(${v.inputs});`).writeLine(`${n.loadState}(${entry.at === 'point' ? v.point : v.x0});`);
    if (entry.side) w.writeLine(`${entry.side === 'tangents' ? n.useTangents : n.useAdjoints}(${count});`);
    if (ctx.solves && uses(steps, 'solve')) w.writeLine(resetStats(ctx.solves));
    emitSeed(ctx, entry);
    emitSteps(ctx, steps, { count, d: null });
    emitReturn(ctx, entry, steps);
  };
  w.writeLine(`/** ${DOC[entry.name]} */`);
  w.write(`function ${n[entry.name]}(${params.join(', ')}) `).block(() => {
    if (entry.fused) {
      // unobserved: the fused sweep, unless it gives up
      const result = ctx.drivers.fresh('result');
      w.write(`if (${v.observe} === undefined) `).block(() => {
        w.writeLine(`const ${result} = ${n.vjpFused}(${v.inputs}, ${v.cotangent}, ${v.x0}, ${v.observe});`);
        w.writeLine(`if (${result} !== null) return ${result};`);
      });
    }
    body(entry.steps);
  }).blankLine();
  if (!entry.fused) return;
  if (entry.name !== 'vjp') throw new Error(`phic internal error: a fused sweep for the entry ${entry.name}`);
  w.writeLine('/** The VJP with the fused sweep; null when a value was not finite (the plain sweeps then name the iteration). */');
  w.write(`function ${n.vjpFused}(${params.join(', ')}) `).block(() => body(entry.fused!)).blankLine();
}

function directionCount(ctx: DriverContext, entry: EntrySchedule): string {
  const { plan } = ctx;
  return entry.directions === 'params' ? ctx.total(plan.params) : entry.directions === 'states' ? ctx.total(plan.state) : '1';
}

/** The seeds the entry starts from: a given direction or cotangent (zeros where not given), or unit vectors. */
function emitSeed(ctx: DriverContext, entry: EntrySchedule) {
  const { w, plan, v, size } = ctx;
  switch (entry.seed) {
    case 'direction': {
      w.writeLine(`checkKeys(${v.direction} ?? {}, ${JSON.stringify([...plan.params, ...plan.state].map((x) => x.name))}, 'direction');`);
      for (const p of plan.params) {
        w.writeLine(`if (${v.direction}?.${p.name} === undefined) ${p.dot}.fill(0);`);
        w.writeLine(`else toFlat(${v.direction}.${p.name}, ${p.dot}, 'direction.${p.name}', ${shapeCode(ctx, p)});`);
      }
      // a direction on x0 is ẋ where the sweep starts (useTangents zeroed the rest); with T > 0 the
      // idle iterations carry no tangent, so it is checked and dropped: the x0 part is exactly zero
      for (const s of plan.state) {
        const into = entry.x0 === 'exact' ? s.dot : `new Float64Array(${size(s)})`;
        w.writeLine(`if (${v.direction}?.${s.name} !== undefined) toFlat(${v.direction}.${s.name}, ${into}, 'direction.${s.name}', ${shapeCode(ctx, s)});`);
      }
      return;
    }
    case 'cotangent':
      w.writeLine(`checkKeys(${v.cotangent} ?? {}, ${JSON.stringify(plan.state.map((s) => s.name))}, 'cotangent');`);
      for (const s of plan.state) {
        w.writeLine(`if (${v.cotangent}?.${s.name} !== undefined) toFlat(${v.cotangent}.${s.name}, ${s.bar}, 'cotangent.${s.name}', ${shapeCode(ctx, s)});`);
      }
      return;
    case 'unitParams':
      // setParamDirection puts e_d in place per direction
      for (const p of plan.params) w.writeLine(`${p.dot}.fill(0);`);
      return;
    case 'unitStates': {
      // row r of the adjoint buffers is e_r
      let offset = '0';
      for (const s of plan.state) {
        w.writeLine(`for (let ${v.i} = 0; ${v.i} < ${size(s)}; ${v.i}++) ${s.bar}[(${offset} + ${v.i}) * ${size(s)} + ${v.i}] = 1;`);
        offset = `${offset} + ${size(s)}`;
      }
      return;
    }
    case 'none':
      return;
  }
}

/** The entry's result object, copied out of the buffers. */
function emitReturn(ctx: DriverContext, entry: EntrySchedule, steps: readonly Step[]) {
  const { w, plan, n, v, size } = ctx;
  const solved = ctx.solves && uses(steps, 'solve') ? `, ${solveReport(plan, ctx.solves, ctx.types)}` : '';
  const state = `${steps.some((s) => s.kind === 'snapshot') ? prop('state', v.state) : `state: ${n.snapshot}()`}${solved}`;
  const copies = (vars: readonly { name: string }[], buffers: readonly string[], sizes: readonly string[]) =>
    `{ ${vars.map((x, i) => `${x.name}: ${buffers[i]}.slice(0, ${sizes[i]})`).join(', ')} }`;
  const gradient = copies(plan.params, plan.params.map((p) => p.bar), plan.params.map(size));
  // x̄ where the backward sweep stopped: the gradient with respect to x0 when it stopped at 0, else exactly zero
  const x0Gradient = `{ ${plan.state.map((s) => `${s.name}: ${entry.x0 === 'exact' ? `${s.bar}.slice(0, ${size(s)})` : `new Float64Array(${size(s)})`}`).join(', ')} }`;
  switch (entry.name) {
    case 'iterate':
      return w.writeLine(`return { ${state} };`);
    case 'jvp':
      return w.writeLine(`return { ${state}, tangent: ${copies(plan.state, plan.state.map((s) => s.dot), plan.state.map(size))} };`);
    case 'jacobianForward':
      return emitForwardJacobian(ctx, state);
    case 'vjp':
      return w.writeLine(`return { ${state}, gradient: ${gradient}, x0Gradient: ${x0Gradient} };`);
    case 'jacobianReverse':
      return emitReverseJacobian(ctx, entry, state);
    case 'partialX':
    case 'partialTheta':
      return w.writeLine(`return matrix(${v.rows}, ${v.cols}, ${v.out});`);
    case 'partialRows':
      return emitPartialRows(ctx);
    case 'outerAt': {
      const outer = plan.outer!;
      return w.writeLine(`return { loss: ${outer.loss}[0], stateGradient: ${copies(plan.state, outer.stateGradient, plan.state.map(size))}, paramGradient: ${copies(plan.params, outer.paramGradient, plan.params.map(size))} };`);
    }
    case 'hypergradient':
      return w.writeLine(`return { ${state}, loss: ${v.value}, gradient: ${gradient}, x0Gradient: ${x0Gradient} };`);
  }
}

/** dx_K/dθ by (state, param) block from the tangents: one table entry per state and per param, not per pair. */
function emitForwardJacobian(ctx: DriverContext, state: string) {
  const { w, plan, v, size } = ctx;
  const states = plan.state.map((s) => `[${JSON.stringify(s.name)}, ${size(s)}, ${s.dot}]`).join(', ');
  const params = plan.params.map((p) => `[${JSON.stringify(p.name)}, ${size(p)}]`).join(', ');
  w.writeLine(`const ${ctx.param('jacobian')} = {};`);
  w.writeLine(`columnBlocks(${v.jacobian}, [${states}], [${params}]);`);
  w.writeLine(`return { ${state}, ${prop('jacobian', ctx.cast(v.jacobian, 'Jacobian'))} };`);
}

/** The rows of dx_K/dθ and of dx_K/dx0 (zeros when T > 0): one row per unit cotangent. */
function emitReverseJacobian(ctx: DriverContext, entry: EntrySchedule, state: string) {
  const { w, plan, v, size } = ctx;
  const rows = `[${plan.state.map((s) => `[${JSON.stringify(s.name)}, ${size(s)}]`).join(', ')}]`;
  const columns = (cs: readonly { name: string; size: string; adjoints: string | null }[]) => `[${cs.map((c) => `[${JSON.stringify(c.name)}, ${c.size}, ${c.adjoints ?? 'null'}]`).join(', ')}]`;
  w.writeLine(`const ${ctx.param('jacobian')} = {}, ${ctx.param('x0Jacobian')} = {};`);
  w.writeLine(`rowBlocks(${v.jacobian}, ${rows}, ${columns(plan.params.map((p) => ({ name: p.name, size: size(p), adjoints: p.bar })))});`);
  w.writeLine(`rowBlocks(${v.x0Jacobian}, ${rows}, ${columns(plan.state.map((s) => ({ name: s.name, size: size(s), adjoints: entry.x0 === 'exact' ? s.bar : null })))});`);
  w.writeLine(`return { ${state}, ${prop('jacobian', ctx.cast(v.jacobian, 'Jacobian'))}, ${prop('x0Jacobian', ctx.cast(v.x0Jacobian, 'X0Jacobian'))} };`);
}

/** dx and dθ from the adjoints of the unit rows: row r of each is direction r's. */
function emitPartialRows(ctx: DriverContext) {
  const { w, plan, v, size } = ctx;
  const S = ctx.total(plan.state);
  const P = ctx.total(plan.params);
  w.writeLine(`const ${v.rows} = ${S}, ${v.dx} = new Float64Array(${v.rows} * ${v.rows}), ${v.dtheta} = new Float64Array(${v.rows} * (${P}));`);
  w.write(`for (let ${v.r} = 0; ${v.r} < ${v.rows}; ${v.r}++) `).block(() => {
    let c = '0';
    for (const s of plan.state) {
      w.writeLine(`for (let ${v.j} = 0; ${v.j} < ${size(s)}; ${v.j}++) ${v.dx}[${v.r} * ${v.rows} + ${c} + ${v.j}] = ${s.barNext}[${v.r} * ${size(s)} + ${v.j}];`);
      c = `${c} + ${size(s)}`;
    }
    c = '0';
    for (const p of plan.params) {
      w.writeLine(`for (let ${v.j} = 0; ${v.j} < ${size(p)}; ${v.j}++) ${v.dtheta}[${v.r} * (${P}) + ${c} + ${v.j}] = ${p.bar}[${v.r} * ${size(p)} + ${v.j}];`);
      c = `${c} + ${size(p)}`;
    }
  });
  w.writeLine(`return { dx: matrix(${v.rows}, ${v.rows}, ${v.dx}), dtheta: matrix(${v.rows}, ${P}, ${v.dtheta}) };`);
}
