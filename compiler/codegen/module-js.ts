// The CPU module: header, helpers, and `create(dims)`, which allocates every buffer once
// and returns the iteration, forward-mode, reverse-mode and partial-Jacobian functions.
// K, the truncation index T and (when baked) the dims are literal constants. When a segment
// calls a SIMD kernel, every buffer is a view into the kernels' WebAssembly memory.

import CodeBlockWriter from 'code-block-writer';
import type { Plan, StateBuffers, ParamBuffers } from '../plan.js';
import { emitSegment, segmentBuffers, segmentCall, usesKernels, type SegmentEmitContext } from './emit-segment-js.js';
import { KERNELS_RUNTIME } from './wasm/runtime-kernels.js';
import { bufferSet, emitBufferBytes, emitBufferDeclarations, emitResize, emitThreadFunctions } from './buffers-js.js';
import { DEFER_STEPS, deferLine, deferredUpdates, emitApplyDeferred, emitApplyNow, type DeferredUpdate } from './deferred-updates.js';
import { batchedProducts, emitBatchedProducts, productRowLine } from './batched-tangents.js';
import { JS_HELPERS } from './js-templates.js';
import { JS_RUNTIME } from './runtime-js.js';
import { headerLines, type HeaderInfo } from './header.js';

/** The driver's call of a segment, set per module being emitted. */
let call: (name: keyof Plan['segments'], d?: string) => string;

interface Sized {
  readonly dims: readonly string[];
}

export function emitJsModule(plan: Plan, info: HeaderInfo): string {
  const { options } = plan;
  const baked = options.dims;
  const dimValue = (name: string) => (baked ? baked[name]! : null);
  const size = (v: Sized) => {
    if (v.dims.length === 0) return '1';
    if (baked) return String(v.dims.reduce((p, d) => p * baked[d]!, 1));
    return v.dims.join(' * ');
  };
  const sumOf = (vs: readonly Sized[]) => {
    if (baked) return String(vs.reduce((p, v) => p + Number(size(v)), 0));
    return vs.map((v) => (v.dims.length > 1 ? `(${size(v)})` : size(v))).join(' + ');
  };
  const shapeArray = (v: Sized) => `[${v.dims.map((d) => (baked ? String(baked[d]) : d)).join(', ')}]`;
  const forward = !!plan.segments.tangent;
  const reverse = !!plan.segments.adjoint;
  const offsets = new Map<string, string>();
  const stride = new Map<string, string>();
  for (const s of plan.state) for (const b of [s.dot, s.dotNext, s.bar, s.barNext]) stride.set(b, size(s));
  for (const p of plan.params) stride.set(p.bar, size(p));
  const baseCtx: SegmentEmitContext = {
    dimValue,
    batchStride: (b) => stride.get(b)!,
    offsetName: (b) => {
      if (!offsets.has(b)) offsets.set(b, plan.names.fresh(`${b}_at`));
      return offsets.get(b)!;
    },
    batchIndex: 'd',
    fresh: (base) => plan.names.fresh(base),
  };

  const segs = plan.segments;
  const segments = [segs.invariants, segs.step, segs.stepForTangent, segs.tangent, segs.forwardStep, segs.adjointPrep, segs.adjoint, segs.outerGradient].filter((seg) => seg !== undefined);
  const kernels = options.kernels === true && segments.some((seg) => usesKernels(seg, dimValue)) ? plan.names.fresh('kernels') : undefined;
  const segCtx: SegmentEmitContext = { ...baseCtx, ...(kernels ? { kernels } : {}) };
  // With the kernels, rank-1 gradient updates of the backward sweep wait for a block of steps.
  const deferred = kernels ? deferredUpdates(plan, dimValue, size) : [];
  const deferral: Deferral | null = kernels && deferred.length ? { updates: deferred, kernels, stride: (b) => stride.get(b)! } : null;
  const adjointCtx: SegmentEmitContext = { ...segCtx, replace: (nest) => { const u = deferred.find((x) => x.nest === nest); return u ? deferLine(u) : null; } };
  // With the kernels, the tangent step's matrix-vector products run as one product over all directions.
  const batched = kernels && segs.tangent ? batchedProducts(plan, dimValue, size) : [];
  const batchedTangent = batched.length ? { ...segs.tangent!, name: plan.names.fresh('tangentStepBatched') } : undefined;
  const batchedCtx: SegmentEmitContext = { ...segCtx, replace: (nest) => { const b = batched.find((x) => x.nest === nest); return b ? productRowLine(b) : null; } };
  call = (name: keyof Plan['segments'], d = 'd') => {
    const seg = segs[name] ?? (name === 'stepForTangent' ? segs.step : undefined);
    if (!seg) throw new Error(`no segment ${name}`);
    return `${segmentCall(seg, d)};`;
  };
  const w = new CodeBlockWriter({ indentNumberOfSpaces: 2, useSingleQuote: true, newLine: '\n' });
  headerLines(info).forEach((l) => w.writeLine(l));
  w.writeLine('/* eslint-disable */').blankLine();
  w.writeLine(`const K = ${options.K};`);
  w.writeLine(`const T = ${options.truncate};`).blankLine();
  w.writeLine(`export const meta = Object.freeze(${JSON.stringify(metaObject(plan, info))});`).blankLine();
  w.writeLine(JS_RUNTIME).blankLine();
  w.writeLine(JS_HELPERS).blankLine();
  if (kernels) w.writeLine(KERNELS_RUNTIME).blankLine();

  const allState = plan.state;
  const S = sumOf(allState);
  const stateView = `{ ${allState.map((s) => `${s.name}: ${s.current}`).join(', ')} }`;
  const P = sumOf(plan.params);
  const inputNames = [...plan.params.map((p) => p.name), ...plan.data.map((d) => d.name)];

  w.writeLine('/** Allocates all buffers once; the returned functions reuse them on every call. */');
  w.write('export function create(dims, options) ').block(() => {
    emitDims(w, plan);
    const buffers = bufferSet(plan, size, {
      adjoints: deferred.map((u) => [u.buffer, `${DEFER_STEPS} * ${u.m}`] as const),
      tangents: batched.map((b) => [b.products, b.m] as const),
      fixed: batched.map((b) => ({ name: b.transposed, size: `${b.m} * ${b.n}` })),
    });
    // With no outer data there is nothing to wait for.
    emitBufferDeclarations(w, buffers, kernels, plan.outer ? `let outerDataLoaded = ${plan.data.every((d) => !d.outer)};` : undefined);
    if (deferral) w.writeLine(`// steps whose rank-1 gradient updates wait in ${deferred.map((u) => u.buffer).join(', ')} (at most ${DEFER_STEPS})`).writeLine('let deferredSteps = 0;');
    w.blankLine();

    for (const seg of segments) {
      emitSegment(w, seg, seg === segs.adjoint ? adjointCtx : segCtx);
      w.blankLine();
    }
    if (deferral) emitApplyDeferred(w, deferral.updates, deferral.kernels, deferral.stride);
    if (batchedTangent) {
      emitSegment(w, batchedTangent, batchedCtx);
      w.blankLine();
      emitBatchedProducts(w, batched, kernels!);
    }

    emitLoaders(w, plan, inputNames, shapeArray);
    emitChecks(w, plan, size);

    w.write('function useTangents(count) ').block(() => {
      w.write('if (tangentCount !== count) ').block(() => emitResize(w, buffers, 'tangent', kernels));
      for (const s of allState) w.writeLine(`${s.dot}.fill(0);`);
    }).blankLine();
    w.write('function useAdjoints(count) ').block(() => {
      w.write('if (adjointCount !== count) ').block(() => emitResize(w, buffers, 'adjoint', kernels));
      for (const s of allState) w.writeLine(`${s.bar}.fill(0);`);
      for (const p of plan.params) w.writeLine(`${p.bar}.fill(0);`);
      if (deferral) w.writeLine('deferredSteps = 0;');
    }).blankLine();

    w.writeLine('/** The first T iterations: no derivative work. `observe`, when given, sees every iterate (live buffers). */');
    w.write('function idle(from, to, observe) ').block(() => {
      w.write('for (let k = from; k < to; k++) ').block(() => {
        w.writeLine(call('step')).writeLine('checkState(k);').writeLine('advance();');
        w.writeLine(`if (observe !== undefined) observe({ phase: 'idle', k: k + 1, state: ${stateView} });`);
      });
    }).blankLine();

    w.writeLine('/** Runs all K iterations from x0 and returns x_K. */');
    w.write('function iterate(inputs, x0, observe) ').block(() => {
      w.writeLine('loadInputs(inputs);').writeLine('loadState(x0);').writeLine(call('invariants')).writeLine('idle(0, K, observe);');
      w.writeLine('return { state: snapshot() };');
    }).blankLine();

    if (forward) emitForward(w, plan, size, S, P, batchedTangent ? `${segmentCall(batchedTangent, 'd')};` : null);
    if (reverse) emitReverse(w, plan, size, S, P, deferral);
    emitPartials(w, plan, size, S, P, forward, deferral);

    if (plan.outer) emitOuter(w, plan, size, reverse);
    emitBufferBytes(w, buffers, kernels);
    emitThreadFunctions(w, kernels);
    const api = ['iterate', ...(forward ? ['jvp', 'jacobianForward'] : []), ...(reverse ? ['vjp', 'jacobianReverse'] : []), 'partialX', 'partialTheta', 'bufferBytes', 'threads', 'release', ...(plan.outer ? ['outerAt', ...(reverse ? ['hypergradient'] : [])] : [])];
    const instance = `Object.freeze({ meta, dims: Object.freeze({ ${plan.model.dims.map((d) => `${d}: ${d}`).join(', ')} }), ${api.join(', ')} })`;
    if (!kernels) w.writeLine(`return ${instance};`);
    else {
      w.writeLine(`const instance = ${instance};`);
      w.writeLine('// an instance dropped without release() stops its worker threads when it is collected');
      w.writeLine(`releaseWhenCollected?.register(instance, ${kernels}.release);`);
      w.writeLine('return instance;');
    }
  });
  return w.toString();
}

function emitDims(w: CodeBlockWriter, plan: Plan) {
  const baked = plan.options.dims;
  const dims = plan.model.dims;
  if (dims.length === 0) return;
  if (baked) {
    w.writeLine(`// dims are baked in: ${dims.map((d) => `${d} = ${baked[d]}`).join(', ')}`);
    w.write('if (dims !== undefined) ').block(() => {
      w.writeLine(`checkKeys(dims, ${JSON.stringify(dims)}, 'dims');`);
      for (const d of dims) w.writeLine(`if (dims.${d} !== undefined && dims.${d} !== ${baked[d]}) fail('data', 'this module was compiled for ${d} = ${baked[d]}, got ' + dims.${d});`);
    });
    for (const d of dims) w.writeLine(`const ${d} = ${baked[d]};`);
  } else {
    w.writeLine(`checkKeys(dims, ${JSON.stringify(dims)}, 'dims');`);
    for (const d of dims) {
      w.writeLine(`const ${d} = dims.${d};`);
      w.writeLine(`if (!Number.isInteger(${d}) || ${d} < 1) fail('data', 'dim ${d} must be a positive integer, got ' + ${d});`);
    }
  }
  w.blankLine();
}

function emitLoaders(w: CodeBlockWriter, plan: Plan, inputNames: string[], shapeArray: (v: Sized) => string) {
  w.write('function loadInputs(inputs) ').block(() => {
    w.writeLine(`checkKeys(inputs, ${JSON.stringify(inputNames)}, 'inputs');`);
    for (const p of plan.params) w.writeLine(`toFlat(inputs.${p.name}, ${p.value}, 'input ${p.name}', ${shapeArray(p)});`);
    for (const d of plan.data.filter((d) => !d.outer)) w.writeLine(`toFlat(inputs.${d.name}, ${d.value}, 'input ${d.name}', ${shapeArray(d)});`);
    const outerData = plan.data.filter((d) => d.outer);
    if (outerData.length) {
      w.writeLine('// data of the outer objective: only needed by the functions that evaluate it');
      w.writeLine(`outerDataLoaded = ${outerData.map((d) => `inputs.${d.name} !== undefined`).join(' && ')};`);
      for (const d of outerData) w.writeLine(`if (inputs.${d.name} !== undefined) toFlat(inputs.${d.name}, ${d.value}, 'input ${d.name}', ${shapeArray(d)});`);
    }
  }).blankLine();
  const stateNames = plan.state.map((s) => s.name);
  w.writeLine('/** x0 is optional (zeros); a previous-iterate component starts equal to its iterate. */');
  w.write('function loadState(x0) ').block(() => {
    w.writeLine('const given = x0 ?? {};');
    w.writeLine(`checkKeys(given, ${JSON.stringify(stateNames)}, 'x0');`);
    for (const s of plan.state.filter((s) => !s.initialFrom)) {
      w.writeLine(`if (given.${s.name} === undefined) ${s.current}.fill(0);`);
      w.writeLine(`else toFlat(given.${s.name}, ${s.current}, 'x0.${s.name}', ${shapeArray(s)});`);
    }
    for (const s of plan.state.filter((s) => s.initialFrom)) {
      const from = plan.state.find((o) => o.name === s.initialFrom)!;
      w.writeLine(`if (given.${s.name} === undefined) ${s.current}.set(${from.current});`);
      w.writeLine(`else toFlat(given.${s.name}, ${s.current}, 'x0.${s.name}', ${shapeArray(s)});`);
    }
  }).blankLine();
  w.write('function advance() ').block(() => {
    for (const s of plan.state) w.writeLine(`${s.current}.set(${s.next});`);
  }).blankLine();
  w.write('function snapshot() ').block(() => {
    w.writeLine(`return { ${plan.state.map((s) => `${s.name}: ${s.current}.slice()`).join(', ')} };`);
  }).blankLine();
}

function emitChecks(w: CodeBlockWriter, plan: Plan, size: (v: Sized) => string) {
  const check = (fn: string, buffers: (s: StateBuffers) => string, what: string) => {
    w.write(`function ${fn}(k, count) `).block(() => {
      for (const s of plan.state) {
        w.writeLine(`const bad_${s.name} = nonFinite(${buffers(s)}, count * ${size(s)});`);
        w.writeLine(`if (bad_${s.name} >= 0) fail('numeric', '${what} ${s.name} became non-finite (entry ' + bad_${s.name} + ') at iteration ' + (k + 1) + ' of ' + K, { iteration: k + 1, variable: '${s.name}' });`);
      }
    }).blankLine();
  };
  w.writeLine('/** NaN or Inf during the iterations is an error that names the iteration. */');
  check('checkNext', (s) => s.next, 'state');
  w.write('function checkState(k) ').block(() => w.writeLine('checkNext(k, 1);')).blankLine();
  check('checkTangents', (s) => s.dotNext, 'the tangent of');
  check('checkAdjoints', (s) => s.barNext, 'the adjoint of');
}

/** `index` in the concatenation of `blocks` set to `value` in that block's buffer. */
function emitSetUnit(w: CodeBlockWriter, fn: string, blocks: readonly { buffer: string; size: string }[]) {
  w.write(`function ${fn}(index, value) `).block(() => {
    for (const b of blocks) {
      w.write(`if (index < ${b.size}) `).block(() => w.writeLine(`${b.buffer}[index] = value;`).writeLine('return;'));
      w.writeLine(`index -= ${b.size};`);
    }
  }).blankLine();
}

/** `batchedTangentCall`: the tangent step whose products tangentProducts computes (batched-tangents.ts), or null. */
function emitForward(w: CodeBlockWriter, plan: Plan, size: (v: Sized) => string, S: string, P: string, batchedTangentCall: string | null) {
  emitSetUnit(w, 'setParamDirection', plan.params.map((p) => ({ buffer: p.dot, size: size(p) })));
  w.writeLine('/** Iterations T..K-1 with tangents, from ẋ_T = 0; `unit` directions e_d replace θ̇ per copy d. */');
  const stateView = `{ ${plan.state.map((s) => `${s.name}: ${s.current}`).join(', ')} }`;
  w.write('function forwardSweep(count, unit, observe) ').block(() => {
    if (batchedTangentCall) w.writeLine('if (count > 1 || unit) transposeForProducts();');
    w.write('for (let k = T; k < K; k++) ').block(() => {
      w.write('if (count === 1 && !unit) ').block(() => w.writeLine(call('forwardStep', '0')));
      w.write('else ').block(() => {
        w.writeLine(call('stepForTangent'));
        if (batchedTangentCall) w.writeLine('tangentProducts(count);');
        w.write('for (let d = 0; d < count; d++) ').block(() => {
          w.write('if (unit) ').block(() => {
            w.writeLine('setParamDirection(d === 0 ? count - 1 : d - 1, 0);').writeLine('setParamDirection(d, 1);');
          });
          w.writeLine(batchedTangentCall ?? call('tangent'));
        });
      });
      w.writeLine('checkState(k);').writeLine('checkTangents(k, count);').writeLine('advance();');
      for (const s of plan.state) w.writeLine(`${s.dot}.set(${s.dotNext});`);
      w.writeLine(`if (observe !== undefined) observe({ phase: 'forward', k: k + 1, state: ${stateView}, tangent: { ${plan.state.map((s) => `${s.name}: ${s.dot}`).join(', ')} } });`);
    });
  }).blankLine();

  w.writeLine('/** Forward mode: x_K and the JVP dx_K/dθ · direction (truncated: derivatives over the last K - T steps). */');
  w.write('function jvp(inputs, direction, x0, observe) ').block(() => {
    w.writeLine('loadInputs(inputs);').writeLine('loadState(x0);').writeLine(call('invariants'));
    w.writeLine(`checkKeys(direction ?? {}, ${JSON.stringify(plan.params.map((p) => p.name))}, 'direction');`);
    for (const p of plan.params) {
      w.writeLine(`if (direction?.${p.name} === undefined) ${p.dot}.fill(0);`);
      w.writeLine(`else toFlat(direction.${p.name}, ${p.dot}, 'direction.${p.name}', ${shapeOf(plan, p)});`);
    }
    w.writeLine('useTangents(1);').writeLine('idle(0, T, observe);').writeLine('forwardSweep(1, false, observe);');
    w.writeLine(`return { state: snapshot(), tangent: { ${plan.state.map((s) => `${s.name}: ${s.dot}.slice(0, ${size(s)})`).join(', ')} } };`);
  }).blankLine();

  w.writeLine('/** Forward mode, all directions at once: the full Jacobian dx_K/dθ, one block per (state, param). */');
  w.write('function jacobianForward(inputs, x0, observe) ').block(() => {
    w.writeLine('loadInputs(inputs);').writeLine('loadState(x0);').writeLine(call('invariants'));
    for (const p of plan.params) w.writeLine(`${p.dot}.fill(0);`);
    w.writeLine(`useTangents(${P});`).writeLine('idle(0, T, observe);').writeLine(`forwardSweep(${P}, true, observe);`);
    w.writeLine('const jacobian = {};');
    let pOffset = '0';
    for (const p of plan.params) {
      for (const s of plan.state) {
        w.write('').block(() => {
          w.writeLine(`const rows = ${size(s)}, cols = ${size(p)}, out = new Float64Array(rows * cols);`);
          w.writeLine(`for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) out[r * cols + c] = ${s.dot}[(${pOffset} + c) * rows + r];`);
          w.writeLine(`(jacobian.${s.name} ??= {}).${p.name} = matrix(rows, cols, out);`);
        });
      }
      pOffset = `${pOffset} + ${size(p)}`;
    }
    w.writeLine('return { state: snapshot(), jacobian };');
  }).blankLine();
}

/** Whether the adjoint segments read x_{k+1} (see PlanOptions.nextStateKnown). */
function readsNextState(plan: Plan): boolean {
  const read = new Set([plan.segments.adjointPrep, plan.segments.adjoint].flatMap((seg) => (seg ? segmentBuffers(seg) : [])));
  return plan.state.some((s) => read.has(s.next));
}

/** Rank-1 gradient updates that wait for a block of backward steps (deferred-updates.ts). */
interface Deferral {
  readonly updates: readonly DeferredUpdate[];
  readonly kernels: string;
  readonly stride: (buffer: string) => string;
}

function emitReverse(w: CodeBlockWriter, plan: Plan, size: (v: Sized) => string, S: string, _P: string, deferral: Deferral | null) {
  w.writeLine('/** Iterations T..K-1, each input state pushed on the tape. */');
  const stateView = `{ ${plan.state.map((s) => `${s.name}: ${s.current}`).join(', ')} }`;
  w.write('function record(observe) ').block(() => {
    w.write('for (let k = T; k < K; k++) ').block(() => {
      for (const s of plan.state) w.writeLine(`${s.tape}.set(${s.current}, (k - T) * ${size(s)});`);
      w.writeLine(call('step')).writeLine('checkState(k);').writeLine('advance();');
      w.writeLine(`if (observe !== undefined) observe({ phase: 'record', k: k + 1, state: ${stateView} });`);
    });
  }).blankLine();
  w.writeLine('/** The backward sweep from K down to T over the taped states. */');
  w.write('function backwardSweep(count, observe) ').block(() => {
    w.write('for (let k = K - 1; k >= T; k--) ').block(() => {
      if (readsNextState(plan)) {
        w.writeLine('// x_{k+1}, which the adjoint reads instead of recomputing Φ(x_k): x_K, then the entry restored one step ago');
        for (const s of plan.state) w.writeLine(`${s.next}.set(${s.current});`);
      }
      for (const s of plan.state) {
        w.writeLine(`const at_${s.name} = (k - T) * ${size(s)};`);
        w.writeLine(`for (let i = 0; i < ${size(s)}; i++) ${s.current}[i] = ${s.tape}[at_${s.name} + i];`);
      }
      w.writeLine(call('adjointPrep'));
      w.writeLine(`for (let d = 0; d < count; d++) ${call('adjoint')}`);
      if (deferral) w.writeLine('deferredSteps++;').writeLine(`if (deferredSteps === ${DEFER_STEPS} || k === T || observe !== undefined) applyDeferred(count, k);`);
      w.writeLine('checkAdjoints(k, count);');
      for (const s of plan.state) w.writeLine(`${s.bar}.set(${s.barNext});`);
      w.writeLine(`if (observe !== undefined) observe({ phase: 'backward', k, adjoint: { ${plan.state.map((s) => `${s.name}: ${s.bar}`).join(', ')} }, gradient: { ${plan.params.map((p) => `${p.name}: ${p.bar}`).join(', ')} } });`);
    });
  }).blankLine();

  w.writeLine('/** Reverse mode: x_K and the VJP cotangent · dx_K/dθ (truncated: the sweep stops at T). */');
  w.write('function vjp(inputs, cotangent, x0, observe) ').block(() => {
    w.writeLine('loadInputs(inputs);').writeLine('loadState(x0);').writeLine(call('invariants')).writeLine('useAdjoints(1);');
    w.writeLine(`checkKeys(cotangent ?? {}, ${JSON.stringify(plan.state.map((s) => s.name))}, 'cotangent');`);
    for (const s of plan.state) {
      w.writeLine(`if (cotangent?.${s.name} !== undefined) toFlat(cotangent.${s.name}, ${s.bar}, 'cotangent.${s.name}', ${shapeOf(plan, s)});`);
    }
    w.writeLine('idle(0, T, observe);').writeLine('record(observe);').writeLine('const state = snapshot();').writeLine('backwardSweep(1, observe);');
    w.writeLine(`return { state, gradient: { ${plan.params.map((p) => `${p.name}: ${p.bar}.slice(0, ${size(p)})`).join(', ')} } };`);
  }).blankLine();

  w.writeLine('/** Reverse mode with one cotangent per state entry: the full Jacobian dx_K/dθ. */');
  w.write('function jacobianReverse(inputs, x0, observe) ').block(() => {
    w.writeLine('loadInputs(inputs);').writeLine('loadState(x0);').writeLine(call('invariants'));
    w.writeLine(`useAdjoints(${S});`);
    let sOffset = '0';
    for (const s of plan.state) {
      w.writeLine(`for (let i = 0; i < ${size(s)}; i++) ${s.bar}[(${sOffset} + i) * ${size(s)} + i] = 1;`);
      sOffset = `${sOffset} + ${size(s)}`;
    }
    w.writeLine('idle(0, T, observe);').writeLine('record(observe);').writeLine('const state = snapshot();').writeLine(`backwardSweep(${S}, observe);`);
    w.writeLine('const jacobian = {};');
    sOffset = '0';
    for (const s of plan.state) {
      for (const p of plan.params) {
        w.write('').block(() => {
          w.writeLine(`const rows = ${size(s)}, cols = ${size(p)};`);
          w.writeLine(`(jacobian.${s.name} ??= {}).${p.name} = matrix(rows, cols, ${p.bar}.slice((${sOffset}) * cols, (${sOffset} + rows) * cols));`);
        });
      }
      sOffset = `${sOffset} + ${size(s)}`;
    }
    w.writeLine('return { state, jacobian };');
  }).blankLine();
}

/** ∂Φ/∂x and ∂Φ/∂θ at a point, dense over the concatenated state and params. */
function emitPartials(w: CodeBlockWriter, plan: Plan, size: (v: Sized) => string, S: string, P: string, forward: boolean, deferral: Deferral | null) {
  const prepare = () => {
    w.writeLine('loadInputs(inputs);').writeLine('loadState(point);').writeLine(call('invariants'));
  };
  if (forward) {
    emitSetUnit(w, 'setStateDirection', plan.state.map((s) => ({ buffer: s.dot, size: size(s) })));
    const columns = (fn: string, cols: string, setUnit: string, doc: string) => {
      w.writeLine(`/** ${doc}, column by column from the tangent step. */`);
      w.write(`function ${fn}(inputs, point) `).block(() => {
        prepare();
        w.writeLine('useTangents(1);').writeLine(call('stepForTangent'));
        for (const p of plan.params) w.writeLine(`${p.dot}.fill(0);`);
        w.writeLine(`const rows = ${S}, cols = ${cols}, out = new Float64Array(rows * cols);`);
        w.write('for (let c = 0; c < cols; c++) ').block(() => {
          w.writeLine(`if (c > 0) ${setUnit}(c - 1, 0);`).writeLine(`${setUnit}(c, 1);`).writeLine(call('tangent', '0'));
          let off = '0';
          for (const s of plan.state) {
            w.writeLine(`for (let r = 0; r < ${size(s)}; r++) out[(${off} + r) * cols + c] = ${s.dotNext}[r];`);
            off = `${off} + ${size(s)}`;
          }
        });
        w.writeLine('return matrix(rows, cols, out);');
      }).blankLine();
    };
    columns('partialX', S, 'setStateDirection', '∂Φ/∂x at x = point');
    columns('partialTheta', P, 'setParamDirection', '∂Φ/∂θ at x = point');
    return;
  }
  w.writeLine('/** ∂Φ/∂x and ∂Φ/∂θ at x = point, row by row from the adjoint step. */');
  w.write('function partialRows(inputs, point) ').block(() => {
    prepare();
    w.writeLine(`useAdjoints(${S});`);
    let off = '0';
    for (const s of plan.state) {
      w.writeLine(`for (let i = 0; i < ${size(s)}; i++) ${s.bar}[(${off} + i) * ${size(s)} + i] = 1;`);
      off = `${off} + ${size(s)}`;
    }
    if (readsNextState(plan)) w.writeLine(`${call('step')} // x_next = Φ(point), which the adjoint reads`);
    w.writeLine(call('adjointPrep')).writeLine(`for (let d = 0; d < ${S}; d++) ${call('adjoint')}`);
    if (deferral) emitApplyNow(w, deferral.updates, deferral.kernels, deferral.stride, S);
    w.writeLine(`const rows = ${S}, dx = new Float64Array(rows * rows), dtheta = new Float64Array(rows * (${P}));`);
    w.write('for (let r = 0; r < rows; r++) ').block(() => {
      let c = '0';
      for (const s of plan.state) {
        w.writeLine(`for (let j = 0; j < ${size(s)}; j++) dx[r * rows + ${c} + j] = ${s.barNext}[r * ${size(s)} + j];`);
        c = `${c} + ${size(s)}`;
      }
      c = '0';
      for (const p of plan.params) {
        w.writeLine(`for (let j = 0; j < ${size(p)}; j++) dtheta[r * (${P}) + ${c} + j] = ${p.bar}[r * ${size(p)} + j];`);
        c = `${c} + ${size(p)}`;
      }
    });
    w.writeLine(`return { dx: matrix(rows, rows, dx), dtheta: matrix(rows, ${P}, dtheta) };`);
  }).blankLine();
  w.writeLine('function partialX(inputs, point) { return partialRows(inputs, point).dx; }');
  w.writeLine('function partialTheta(inputs, point) { return partialRows(inputs, point).dtheta; }').blankLine();
}

/** The outer objective ℓ at a point, and the hypergradient d/dθ ℓ(x_K(θ), θ) by reverse mode. */
function emitOuter(w: CodeBlockWriter, plan: Plan, size: (v: Sized) => string, reverse: boolean) {
  const outer = plan.outer!;
  const names = plan.data.filter((d) => d.outer).map((d) => d.name).join(', ');
  const evaluate = () => {
    w.writeLine(`if (!outerDataLoaded) fail('data', 'the outer objective needs the inputs ${names}');`);
    w.writeLine(call('outerGradient'));
  };
  const gradients = (prefix: string, vars: readonly { name: string }[], buffers: readonly string[], sizes: readonly string[]) =>
    `{ ${vars.map((v, i) => `${v.name}: ${buffers[i]}.slice(0, ${sizes[i]})`).join(', ')} }`;
  w.writeLine('/** ℓ(x, θ) at x = point, with ∇ₓℓ and ∇θℓ. */');
  w.write('function outerAt(inputs, point) ').block(() => {
    w.writeLine('loadInputs(inputs);').writeLine('loadState(point);').writeLine(call('invariants'));
    evaluate();
    w.writeLine(`return { loss: ${outer.loss}[0], stateGradient: ${gradients('x', plan.state, outer.stateGradient, plan.state.map(size))}, paramGradient: ${gradients('p', plan.params, outer.paramGradient, plan.params.map(size))} };`);
  }).blankLine();
  if (!reverse) return;
  w.writeLine('/** Reverse mode on ℓ(x_K, θ): the hypergradient, seeded with ∇ₓℓ(x_K) and starting from ∇θℓ. */');
  w.write('function hypergradient(inputs, x0, observe) ').block(() => {
    w.writeLine('loadInputs(inputs);').writeLine('loadState(x0);').writeLine(call('invariants')).writeLine('useAdjoints(1);');
    w.writeLine('idle(0, T, observe);').writeLine('record(observe);').writeLine('const state = snapshot();');
    evaluate();
    plan.state.forEach((s, i) => w.writeLine(`${s.bar}.set(${outer.stateGradient[i]});`));
    plan.params.forEach((p, i) => w.writeLine(`${p.bar}.set(${outer.paramGradient[i]});`));
    w.writeLine(`const value = ${outer.loss}[0];`);
    w.writeLine('backwardSweep(1, observe);');
    w.writeLine(`return { state, loss: value, gradient: { ${plan.params.map((p) => `${p.name}: ${p.bar}.slice(0, ${size(p)})`).join(', ')} } };`);
  }).blankLine();
}

function shapeOf(plan: Plan, v: Sized): string {
  const baked = plan.options.dims;
  return `[${v.dims.map((d) => (baked ? String(baked[d]) : d)).join(', ')}]`;
}

export function metaObject(plan: Plan, info: HeaderInfo) {
  const { options, model } = plan;
  const vars = (vs: readonly { name: string; shape: readonly string[] }[]) => vs.map((v) => ({ name: v.name, shape: [...v.shape] }));
  return {
    name: model.name,
    phicVersion: info.version,
    specHash: info.specHash,
    backend: 'cpu',
    precision: 'float64',
    mode: options.mode,
    K: options.K,
    truncate: options.truncate,
    dims: options.dims,
    state: model.state.map((s) => ({ name: s.name, shape: [...s.shape], ...(s.initialFrom ? { initialFrom: s.initialFrom } : {}) })),
    params: vars(model.params),
    data: vars([...model.data, ...model.outerData]),
  };
}

export type { ParamBuffers };
