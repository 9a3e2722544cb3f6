// The CPU module's drivers: the forward sweep and its entry points (jvp, jacobianForward), the
// tape and the backward sweep (vjp, jacobianReverse), the partial Jacobians at a point, and
// the outer objective with its hypergradient. They run the plan's segments in order; every
// name they print comes from the create()-level table or the drivers' own scope.

import type CodeBlockWriter from 'code-block-writer';
import type { Plan } from '../plan.js';
import type { NameScope } from '../names.js';
import { segmentBuffers } from './emit-segment-js.js';
import { emitApplyNow } from './deferred-updates.js';
import { shapeCode } from './create-js.js';
import { DEFER_STEPS, type Deferral } from '../optimise/defer-updates.js';
import type { IndexExpr } from '../lower/loop-ir.js';
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
  /** Names declared in create(). */
  readonly n: CreateNames;
  /** Locals of the driver functions. */
  readonly v: DriverLocals;
  /** The scope the driver locals come from (for per-state locals). */
  readonly drivers: NameScope;
  /** The call statement of a segment, for direction `d` (default: the drivers' `d`). */
  readonly call: (name: keyof Plan['segments'], d?: string) => string;
  /** Rank-1 gradient updates that wait for a block of backward steps (optimise/defer-updates.ts), or null. */
  readonly deferral: { readonly deferral: Deferral; readonly kernels: string; readonly stride: (buffer: string) => string; readonly code: (e: IndexExpr) => string } | null;
}

const sumOf = (ctx: DriverContext, vs: readonly Sized[]) => {
  if (ctx.plan.options.dims) return String(vs.reduce((p, v) => p + Number(ctx.size(v)), 0));
  return vs.map((v) => (v.dims.length > 1 ? `(${ctx.size(v)})` : ctx.size(v))).join(' + ');
};

/** An object-literal entry, shorthand when the local kept the key's spelling. */
const prop = (key: string, value: string) => (key === value ? key : `${key}: ${value}`);

const stateView = (plan: Plan) => `{ ${plan.state.map((s) => `${s.name}: ${s.current}`).join(', ')} }`;

/** `index` in the concatenation of `blocks` set to `value` in that block's buffer. */
function emitSetUnit(ctx: DriverContext, fn: string, blocks: readonly { buffer: string; size: string }[]) {
  const { w, v } = ctx;
  w.write(`function ${fn}(${v.index}, ${v.value}) `).block(() => {
    for (const b of blocks) {
      w.write(`if (${v.index} < ${b.size}) `).block(() => w.writeLine(`${b.buffer}[${v.index}] = ${v.value};`).writeLine('return;'));
      w.writeLine(`${v.index} -= ${b.size};`);
    }
  }).blankLine();
}

/** Loads inputs and the state (x0 or a point), then computes the invariants. */
function prepare(ctx: DriverContext, state: string) {
  const { w, n, v, call } = ctx;
  w.writeLine(`${n.loadInputs}(${v.inputs});`).writeLine(`${n.loadState}(${state});`).writeLine(call('invariants'));
}

/** `batched`: the call of the tangent step whose products tangentProducts computes (optimise/batch-tangents.ts), and whether a matrix needs its transposed copy; or null. */
export function emitForward(ctx: DriverContext, batched: { readonly call: string; readonly transpose: boolean } | null) {
  const batchedTangentCall = batched?.call ?? null;
  const { w, plan, n, v, size, call } = ctx;
  const P = sumOf(ctx, plan.params);
  emitSetUnit(ctx, n.setParamDirection, plan.params.map((p) => ({ buffer: p.dot, size: size(p) })));
  w.writeLine('/** Iterations T..K-1 with tangents, from ẋ_T = 0; `unit` directions e_d replace θ̇ per copy d. */');
  w.write(`function ${n.forwardSweep}(${v.count}, ${v.unit}, ${v.observe}) `).block(() => {
    if (batched?.transpose) w.writeLine(`if (${v.count} > 1 || ${v.unit}) ${n.transposeForProducts}();`);
    w.write(`for (let ${v.k} = T; ${v.k} < K; ${v.k}++) `).block(() => {
      w.write(`if (${v.count} === 1 && !${v.unit}) `).block(() => w.writeLine(call('forwardStep', '0')));
      w.write('else ').block(() => {
        w.writeLine(call('stepForTangent'));
        if (batchedTangentCall) w.writeLine(`${n.tangentProducts}(${v.count});`);
        w.write(`for (let ${v.d} = 0; ${v.d} < ${v.count}; ${v.d}++) `).block(() => {
          w.write(`if (${v.unit}) `).block(() => {
            w.writeLine(`${n.setParamDirection}(${v.d} === 0 ? ${v.count} - 1 : ${v.d} - 1, 0);`).writeLine(`${n.setParamDirection}(${v.d}, 1);`);
          });
          w.writeLine(batchedTangentCall ?? call('tangent'));
        });
      });
      w.writeLine(`${n.checkState}(${v.k});`).writeLine(`${n.checkTangents}(${v.k}, ${v.count});`).writeLine(`${n.advance}();`);
      for (const s of plan.state) w.writeLine(`${s.dot}.set(${s.dotNext});`);
      w.writeLine(`if (${v.observe} !== undefined) ${v.observe}({ phase: 'forward', k: ${v.k} + 1, state: ${stateView(plan)}, tangent: { ${plan.state.map((s) => `${s.name}: ${s.dot}`).join(', ')} } });`);
    });
  }).blankLine();

  w.writeLine('/** Forward mode: x_K and the JVP dx_K/dθ · direction (truncated: derivatives over the last K - T steps). */');
  w.write(`function ${n.jvp}(${v.inputs}, ${v.direction}, ${v.x0}, ${v.observe}) `).block(() => {
    prepare(ctx, v.x0);
    w.writeLine(`checkKeys(${v.direction} ?? {}, ${JSON.stringify(plan.params.map((p) => p.name))}, 'direction');`);
    for (const p of plan.params) {
      w.writeLine(`if (${v.direction}?.${p.name} === undefined) ${p.dot}.fill(0);`);
      w.writeLine(`else toFlat(${v.direction}.${p.name}, ${p.dot}, 'direction.${p.name}', ${shapeCode(ctx, p)});`);
    }
    w.writeLine(`${n.useTangents}(1);`).writeLine(`${n.idle}(0, T, ${v.observe});`).writeLine(`${n.forwardSweep}(1, false, ${v.observe});`);
    w.writeLine(`return { state: ${n.snapshot}(), tangent: { ${plan.state.map((s) => `${s.name}: ${s.dot}.slice(0, ${size(s)})`).join(', ')} } };`);
  }).blankLine();

  w.writeLine('/** Forward mode, all directions at once: the full Jacobian dx_K/dθ, one block per (state, param). */');
  w.write(`function ${n.jacobianForward}(${v.inputs}, ${v.x0}, ${v.observe}) `).block(() => {
    prepare(ctx, v.x0);
    for (const p of plan.params) w.writeLine(`${p.dot}.fill(0);`);
    w.writeLine(`${n.useTangents}(${P});`).writeLine(`${n.idle}(0, T, ${v.observe});`).writeLine(`${n.forwardSweep}(${P}, true, ${v.observe});`);
    w.writeLine(`const ${v.jacobian} = {};`);
    let pOffset = '0';
    for (const p of plan.params) {
      for (const s of plan.state) {
        w.write('').block(() => {
          w.writeLine(`const ${v.rows} = ${size(s)}, ${v.cols} = ${size(p)}, ${v.out} = new Float64Array(${v.rows} * ${v.cols});`);
          w.writeLine(`for (let ${v.c} = 0; ${v.c} < ${v.cols}; ${v.c}++) for (let ${v.r} = 0; ${v.r} < ${v.rows}; ${v.r}++) ${v.out}[${v.r} * ${v.cols} + ${v.c}] = ${s.dot}[(${pOffset} + ${v.c}) * ${v.rows} + ${v.r}];`);
          w.writeLine(`(${v.jacobian}.${s.name} ??= {}).${p.name} = matrix(${v.rows}, ${v.cols}, ${v.out});`);
        });
      }
      pOffset = `${pOffset} + ${size(p)}`;
    }
    w.writeLine(`return { state: ${n.snapshot}(), ${prop('jacobian', v.jacobian)} };`);
  }).blankLine();
}

/** Whether the adjoint segments read x_{k+1} (see PlanOptions.nextStateKnown). */
function readsNextState(plan: Plan): boolean {
  const read = new Set([plan.segments.adjointPrep, plan.segments.adjoint].flatMap((seg) => (seg ? segmentBuffers(seg) : [])));
  return plan.state.some((s) => read.has(s.next));
}

/** Puts a unit cotangent on every state entry: row r of the adjoint buffers is e_r. */
function seedUnitRows(ctx: DriverContext) {
  const { w, plan, v, size } = ctx;
  let offset = '0';
  for (const s of plan.state) {
    w.writeLine(`for (let ${v.i} = 0; ${v.i} < ${size(s)}; ${v.i}++) ${s.bar}[(${offset} + ${v.i}) * ${size(s)} + ${v.i}] = 1;`);
    offset = `${offset} + ${size(s)}`;
  }
}

export function emitReverse(ctx: DriverContext) {
  const { w, plan, n, v, size, call, deferral, drivers } = ctx;
  const S = sumOf(ctx, plan.state);
  w.writeLine('/** Iterations T..K-1, each input state pushed on the tape. */');
  w.write(`function ${n.record}(${v.observe}) `).block(() => {
    w.write(`for (let ${v.k} = T; ${v.k} < K; ${v.k}++) `).block(() => {
      for (const s of plan.state) w.writeLine(`${s.tape}.set(${s.current}, (${v.k} - T) * ${size(s)});`);
      w.writeLine(call('step')).writeLine(`${n.checkState}(${v.k});`).writeLine(`${n.advance}();`);
      w.writeLine(`if (${v.observe} !== undefined) ${v.observe}({ phase: 'record', k: ${v.k} + 1, state: ${stateView(plan)} });`);
    });
  }).blankLine();
  const at = new Map(plan.state.map((s) => [s.name, drivers.fresh(`at_${s.name}`)]));
  w.writeLine('/** The backward sweep from K down to T over the taped states. */');
  w.write(`function ${n.backwardSweep}(${v.count}, ${v.observe}) `).block(() => {
    w.write(`for (let ${v.k} = K - 1; ${v.k} >= T; ${v.k}--) `).block(() => {
      if (readsNextState(plan)) {
        w.writeLine('// x_{k+1}, which the adjoint reads instead of recomputing Φ(x_k): x_K, then the entry restored one step ago');
        for (const s of plan.state) w.writeLine(`${s.next}.set(${s.current});`);
      }
      for (const s of plan.state) {
        const a = at.get(s.name)!;
        w.writeLine(`const ${a} = (${v.k} - T) * ${size(s)};`);
        w.writeLine(`for (let ${v.i} = 0; ${v.i} < ${size(s)}; ${v.i}++) ${s.current}[${v.i}] = ${s.tape}[${a} + ${v.i}];`);
      }
      w.writeLine(call('adjointPrep'));
      w.writeLine(`for (let ${v.d} = 0; ${v.d} < ${v.count}; ${v.d}++) ${call('adjoint')}`);
      if (deferral) {
        const steps = deferral.deferral.counter;
        w.writeLine(`${steps}++;`).writeLine(`if (${steps} === ${DEFER_STEPS} || ${v.k} === T || ${v.observe} !== undefined) ${n.applyDeferred}(${v.count}, ${v.k});`);
      }
      w.writeLine(`${n.checkAdjoints}(${v.k}, ${v.count});`);
      for (const s of plan.state) w.writeLine(`${s.bar}.set(${s.barNext});`);
      w.writeLine(`if (${v.observe} !== undefined) ${v.observe}({ phase: 'backward', ${prop('k', v.k)}, adjoint: { ${plan.state.map((s) => `${s.name}: ${s.bar}`).join(', ')} }, gradient: { ${plan.params.map((p) => `${p.name}: ${p.bar}`).join(', ')} } });`);
    });
  }).blankLine();

  const gradient = `{ ${plan.params.map((p) => `${p.name}: ${p.bar}.slice(0, ${size(p)})`).join(', ')} }`;
  w.writeLine('/** Reverse mode: x_K and the VJP cotangent · dx_K/dθ (truncated: the sweep stops at T). */');
  w.write(`function ${n.vjp}(${v.inputs}, ${v.cotangent}, ${v.x0}, ${v.observe}) `).block(() => {
    prepare(ctx, v.x0);
    w.writeLine(`${n.useAdjoints}(1);`);
    w.writeLine(`checkKeys(${v.cotangent} ?? {}, ${JSON.stringify(plan.state.map((s) => s.name))}, 'cotangent');`);
    for (const s of plan.state) {
      w.writeLine(`if (${v.cotangent}?.${s.name} !== undefined) toFlat(${v.cotangent}.${s.name}, ${s.bar}, 'cotangent.${s.name}', ${shapeCode(ctx, s)});`);
    }
    w.writeLine(`${n.idle}(0, T, ${v.observe});`).writeLine(`${n.record}(${v.observe});`).writeLine(`const ${v.state} = ${n.snapshot}();`).writeLine(`${n.backwardSweep}(1, ${v.observe});`);
    w.writeLine(`return { ${prop('state', v.state)}, gradient: ${gradient} };`);
  }).blankLine();

  w.writeLine('/** Reverse mode with one cotangent per state entry: the full Jacobian dx_K/dθ. */');
  w.write(`function ${n.jacobianReverse}(${v.inputs}, ${v.x0}, ${v.observe}) `).block(() => {
    prepare(ctx, v.x0);
    w.writeLine(`${n.useAdjoints}(${S});`);
    seedUnitRows(ctx);
    w.writeLine(`${n.idle}(0, T, ${v.observe});`).writeLine(`${n.record}(${v.observe});`).writeLine(`const ${v.state} = ${n.snapshot}();`).writeLine(`${n.backwardSweep}(${S}, ${v.observe});`);
    w.writeLine(`const ${v.jacobian} = {};`);
    let sOffset = '0';
    for (const s of plan.state) {
      for (const p of plan.params) {
        w.write('').block(() => {
          w.writeLine(`const ${v.rows} = ${size(s)}, ${v.cols} = ${size(p)};`);
          w.writeLine(`(${v.jacobian}.${s.name} ??= {}).${p.name} = matrix(${v.rows}, ${v.cols}, ${p.bar}.slice((${sOffset}) * ${v.cols}, (${sOffset} + ${v.rows}) * ${v.cols}));`);
        });
      }
      sOffset = `${sOffset} + ${size(s)}`;
    }
    w.writeLine(`return { ${prop('state', v.state)}, ${prop('jacobian', v.jacobian)} };`);
  }).blankLine();
}

/** ∂Φ/∂x and ∂Φ/∂θ at a point, dense over the concatenated state and params. */
export function emitPartials(ctx: DriverContext, forward: boolean) {
  const { w, plan, n, v, size, call, deferral } = ctx;
  const S = sumOf(ctx, plan.state);
  const P = sumOf(ctx, plan.params);
  if (forward) {
    emitSetUnit(ctx, n.setStateDirection, plan.state.map((s) => ({ buffer: s.dot, size: size(s) })));
    const columns = (fn: string, cols: string, setUnit: string, doc: string) => {
      w.writeLine(`/** ${doc}, column by column from the tangent step. */`);
      w.write(`function ${fn}(${v.inputs}, ${v.point}) `).block(() => {
        prepare(ctx, v.point);
        w.writeLine(`${n.useTangents}(1);`).writeLine(call('stepForTangent'));
        for (const p of plan.params) w.writeLine(`${p.dot}.fill(0);`);
        w.writeLine(`const ${v.rows} = ${S}, ${v.cols} = ${cols}, ${v.out} = new Float64Array(${v.rows} * ${v.cols});`);
        w.write(`for (let ${v.c} = 0; ${v.c} < ${v.cols}; ${v.c}++) `).block(() => {
          w.writeLine(`if (${v.c} > 0) ${setUnit}(${v.c} - 1, 0);`).writeLine(`${setUnit}(${v.c}, 1);`).writeLine(call('tangent', '0'));
          let off = '0';
          for (const s of plan.state) {
            w.writeLine(`for (let ${v.r} = 0; ${v.r} < ${size(s)}; ${v.r}++) ${v.out}[(${off} + ${v.r}) * ${v.cols} + ${v.c}] = ${s.dotNext}[${v.r}];`);
            off = `${off} + ${size(s)}`;
          }
        });
        w.writeLine(`return matrix(${v.rows}, ${v.cols}, ${v.out});`);
      }).blankLine();
    };
    columns(n.partialX, S, n.setStateDirection, '∂Φ/∂x at x = point');
    columns(n.partialTheta, P, n.setParamDirection, '∂Φ/∂θ at x = point');
    return;
  }
  w.writeLine('/** ∂Φ/∂x and ∂Φ/∂θ at x = point, row by row from the adjoint step. */');
  w.write(`function ${n.partialRows}(${v.inputs}, ${v.point}) `).block(() => {
    prepare(ctx, v.point);
    w.writeLine(`${n.useAdjoints}(${S});`);
    seedUnitRows(ctx);
    if (readsNextState(plan)) w.writeLine(`${call('step')} // x_next = Φ(point), which the adjoint reads`);
    w.writeLine(call('adjointPrep')).writeLine(`for (let ${v.d} = 0; ${v.d} < ${S}; ${v.d}++) ${call('adjoint')}`);
    if (deferral) emitApplyNow(w, deferral.deferral, deferral.kernels, deferral.stride, S, v.d, deferral.code);
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
  }).blankLine();
  w.writeLine(`function ${n.partialX}(${v.inputs}, ${v.point}) { return ${n.partialRows}(${v.inputs}, ${v.point}).dx; }`);
  w.writeLine(`function ${n.partialTheta}(${v.inputs}, ${v.point}) { return ${n.partialRows}(${v.inputs}, ${v.point}).dtheta; }`).blankLine();
}

/** The outer objective ℓ at a point, and the hypergradient d/dθ ℓ(x_K(θ), θ) by reverse mode. */
export function emitOuter(ctx: DriverContext, reverse: boolean) {
  const { w, plan, n, v, size, call } = ctx;
  const outer = plan.outer!;
  const names = plan.data.filter((d) => d.outer).map((d) => d.name).join(', ');
  const evaluate = () => {
    w.writeLine(`if (!${n.outerDataLoaded}) fail('data', 'the outer objective needs the inputs ${names}');`);
    w.writeLine(call('outerGradient'));
  };
  const gradients = (vars: readonly { name: string }[], buffers: readonly string[], sizes: readonly string[]) =>
    `{ ${vars.map((x, i) => `${x.name}: ${buffers[i]}.slice(0, ${sizes[i]})`).join(', ')} }`;
  w.writeLine('/** ℓ(x, θ) at x = point, with ∇ₓℓ and ∇θℓ. */');
  w.write(`function ${n.outerAt}(${v.inputs}, ${v.point}) `).block(() => {
    prepare(ctx, v.point);
    evaluate();
    w.writeLine(`return { loss: ${outer.loss}[0], stateGradient: ${gradients(plan.state, outer.stateGradient, plan.state.map(size))}, paramGradient: ${gradients(plan.params, outer.paramGradient, plan.params.map(size))} };`);
  }).blankLine();
  if (!reverse) return;
  w.writeLine('/** Reverse mode on ℓ(x_K, θ): the hypergradient, seeded with ∇ₓℓ(x_K) and starting from ∇θℓ. */');
  w.write(`function ${n.hypergradient}(${v.inputs}, ${v.x0}, ${v.observe}) `).block(() => {
    prepare(ctx, v.x0);
    w.writeLine(`${n.useAdjoints}(1);`);
    w.writeLine(`${n.idle}(0, T, ${v.observe});`).writeLine(`${n.record}(${v.observe});`).writeLine(`const ${v.state} = ${n.snapshot}();`);
    evaluate();
    plan.state.forEach((s, i) => w.writeLine(`${s.bar}.set(${outer.stateGradient[i]});`));
    plan.params.forEach((p, i) => w.writeLine(`${p.bar}.set(${outer.paramGradient[i]});`));
    w.writeLine(`const ${v.value} = ${outer.loss}[0];`);
    w.writeLine(`${n.backwardSweep}(1, ${v.observe});`);
    w.writeLine(`return { ${prop('state', v.state)}, loss: ${v.value}, gradient: { ${plan.params.map((p) => `${p.name}: ${p.bar}.slice(0, ${size(p)})`).join(', ')} } };`);
  }).blankLine();
}
