// The parts of the CPU module's create() around the segments and sweeps: binding and checking
// the dims, refusing sizes that cannot be allocated (before anything is), loading inputs and
// the initial state, and the non-finite checks that name the iteration.

import type { DriverContext, Sized } from './drivers-js.js';
import type { BufferSet } from './buffers-js.js';

/** The dims: literals when baked (a given dims object must agree), else read from `dims` and checked. */
export function emitDims(ctx: DriverContext) {
  const { w, plan, n } = ctx;
  const baked = plan.options.dims;
  const dims = plan.model.dims;
  const id = (d: string) => plan.dimNames.get(d)!;
  if (dims.length === 0) return;
  if (baked) {
    w.writeLine(`// dims are baked in: ${dims.map((d) => `${d} = ${baked[d]}`).join(', ')}`);
    w.write(`if (${n.dims} !== undefined) `).block(() => {
      w.writeLine(`checkKeys(${n.dims}, ${JSON.stringify(dims)}, 'dims');`);
      for (const d of dims) w.writeLine(`if (${n.dims}.${d} !== undefined && ${n.dims}.${d} !== ${baked[d]}) fail('data', 'this module was compiled for ${d} = ${baked[d]}, got ' + ${n.dims}.${d});`);
    });
    for (const d of dims) w.writeLine(`const ${id(d)} = ${baked[d]};`);
  } else {
    w.writeLine(`checkKeys(${n.dims}, ${JSON.stringify(dims)}, 'dims');`);
    for (const d of dims) {
      w.writeLine(`const ${id(d)} = ${n.dims}.${d};`);
      w.writeLine(`if (!Number.isSafeInteger(${id(d)}) || ${id(d)} < 1) fail('data', 'dim ${d} must be a positive integer up to 2^53, got ' + ${id(d)});`);
    }
  }
  w.blankLine();
}

/** The sum of buffer sizes (code, products of literals and dims) as code: one literal when every size is a literal product. */
function sumCode(sizes: readonly string[]): string {
  if (sizes.length === 0) return '0';
  const literal = (code: string) => code.split(' * ').reduce((p, f) => p * (/^\d+$/.test(f) ? Number(f) : NaN), 1);
  const total = sizes.reduce((p, code) => p + literal(code), 0);
  if (Number.isFinite(total)) return String(total);
  return sizes.map(wrapSum).join(' + ');
}

/** Entries of the buffers create() allocates, as code. */
export function fixedEntries(buffers: BufferSet): string {
  return sumCode([...buffers.fixed, ...buffers.tape].map((b) => b.size));
}

/** Entries per direction of the tangent or adjoint buffers, as code. */
export function perDirectionEntries(buffers: BufferSet, which: 'tangent' | 'adjoint'): string {
  return sumCode((which === 'tangent' ? buffers.tangents : buffers.adjoints).map(([, size]) => size));
}

/**
 * Refuses, before anything is allocated, buffers beyond what the instance may hold (a
 * RangeError or an out-of-memory crash otherwise), naming the size and the tape's share.
 */
export function emitMemoryCheck(ctx: DriverContext, buffers: BufferSet) {
  const { w, n, plan } = ctx;
  const tapeStates = plan.options.K - plan.options.truncate;
  const what = !buffers.tape.length ? `'the buffers'` : plan.options.checkpoints ? `'the buffers (${plan.options.checkpoints} checkpoint slots)'` : `'the buffers (the tape holds K - T = ${tapeStates} states)'`;
  w.writeLine(`const ${n.fixedEntries} = ${fixedEntries(buffers)};`);
  w.writeLine(`checkBytes(${n.fixedEntries}, ${what}, ${n.options});`);
}

/** The check that `count` directions of tangent or adjoint buffers fit beside the others. */
export function emitDirectionCheck(ctx: DriverContext, buffers: BufferSet, which: 'tangent' | 'adjoint') {
  const { w, n, v } = ctx;
  const other = which === 'tangent' ? 'adjoint' : 'tangent';
  const otherCount = which === 'tangent' ? n.adjointCount : n.tangentCount;
  const own = perDirectionEntries(buffers, which);
  const theirs = perDirectionEntries(buffers, other);
  const total = [n.fixedEntries, `${v.count} * ${wrapSum(own)}`, ...(theirs === '0' ? [] : [`${otherCount} * ${wrapSum(theirs)}`])].join(' + ');
  w.writeLine(`checkBytes(${total}, 'the buffers for ' + ${v.count} + ' directions', ${n.options});`);
}

function wrapSum(code: string): string {
  return code.includes(' ') ? `(${code})` : code;
}

export function emitLoaders(ctx: DriverContext) {
  const { w, plan, n, v } = ctx;
  const shapeArray = (s: Sized) => shapeCode(ctx, s);
  const inputNames = [...plan.params.map((p) => p.name), ...plan.data.map((d) => d.name)];
  w.write(`function ${n.loadInputs}(${ctx.param('inputs')}) `).block(() => {
    w.writeLine(`checkKeys(${v.inputs}, ${JSON.stringify(inputNames)}, 'inputs');`);
    for (const p of plan.params) w.writeLine(`toFlat(${v.inputs}.${p.name}, ${p.value}, 'input ${p.name}', ${shapeArray(p)});`);
    for (const d of plan.data.filter((d) => !d.outer)) {
      if (d.batches) w.writeLine(`toFlatBatches(${v.inputs}.${d.name}, ${d.batches}, 'input ${d.name}', ${shapeArray(d)}, ${ctx.dimCode(plan.model.batches!.count)});`);
      else w.writeLine(`toFlat(${v.inputs}.${d.name}, ${d.value}, 'input ${d.name}', ${shapeArray(d)});`);
    }
    const outerData = plan.data.filter((d) => d.outer);
    if (outerData.length) {
      w.writeLine('// data of the outer objective: only needed by the functions that evaluate it');
      w.writeLine(`${n.outerDataLoaded} = ${outerData.map((d) => `${v.inputs}.${d.name} !== undefined`).join(' && ')};`);
      for (const d of outerData) w.writeLine(`if (${v.inputs}.${d.name} !== undefined) toFlat(${v.inputs}.${d.name}, ${d.value}, 'input ${d.name}', ${shapeArray(d)});`);
    }
  }).blankLine();
  const stateNames = plan.state.map((s) => s.name);
  w.writeLine('/** x0 is optional (zeros); a previous-iterate component starts equal to its iterate. */');
  w.write(`function ${n.loadState}(${ctx.param('x0')}) `).block(() => {
    w.writeLine(`const ${ctx.param('given')} = ${v.x0} ?? {};`);
    w.writeLine(`checkKeys(${v.given}, ${JSON.stringify(stateNames)}, 'x0');`);
    for (const s of plan.state.filter((s) => !s.initialFrom)) {
      w.writeLine(`if (${v.given}.${s.name} === undefined) ${s.current}.fill(0);`);
      w.writeLine(`else toFlat(${v.given}.${s.name}, ${s.current}, 'x0.${s.name}', ${shapeArray(s)});`);
    }
    for (const s of plan.state.filter((s) => s.initialFrom)) {
      const from = plan.state.find((o) => o.name === s.initialFrom)!;
      w.writeLine(`if (${v.given}.${s.name} === undefined) ${s.current}.set(${from.current});`);
      w.writeLine(`else toFlat(${v.given}.${s.name}, ${s.current}, 'x0.${s.name}', ${shapeArray(s)});`);
    }
  }).blankLine();
  w.write(`function ${n.advance}() `).block(() => {
    for (const s of plan.state) w.writeLine(`${s.current}.set(${s.next});`);
  }).blankLine();
  w.write(`function ${n.snapshot}() `).block(() => {
    w.writeLine(`return { ${plan.state.map((s) => `${s.name}: ${s.current}.slice()`).join(', ')} };`);
  }).blankLine();
}

export function emitChecks(ctx: DriverContext) {
  const { w, plan, n, v, size, drivers } = ctx;
  // one local per state component; the three check functions share their names
  const bad = new Map(plan.state.map((s) => [s.name, drivers.fresh(`bad_${s.name}`)]));
  const check = (fn: string, buffer: (s: (typeof plan.state)[number]) => string, what: string) => {
    w.write(`function ${fn}(${ctx.param('k')}, ${ctx.param('count')}) `).block(() => {
      for (const s of plan.state) {
        const b = bad.get(s.name)!;
        w.writeLine(`const ${b} = nonFinite(${buffer(s)}, ${v.count} * ${size(s)});`);
        w.writeLine(`if (${b} >= 0) fail('numeric', '${what} ${s.name} became non-finite (entry ' + ${b} + ') at iteration ' + (${v.k} + 1) + ' of ' + K, { iteration: ${v.k} + 1, variable: '${s.name}' });`);
      }
    }).blankLine();
  };
  w.writeLine('/** NaN or Inf during the iterations is an error that names the iteration. */');
  check(n.checkNext, (s) => s.next, 'state');
  w.write(`function ${n.checkState}(${ctx.param('k')}) `).block(() => w.writeLine(`${n.checkNext}(${v.k}, 1);`)).blankLine();
  check(n.checkTangents, (s) => s.dotNext, 'the tangent of');
  check(n.checkAdjoints, (s) => s.barNext, 'the adjoint of');
}

/** A shape as an array literal: baked sizes, or the dims' identifiers. */
export function shapeCode(ctx: DriverContext, v: Sized): string {
  const baked = ctx.plan.options.dims;
  return `[${v.dims.map((d) => (baked ? String(baked[d]) : ctx.plan.dimNames.get(d)!)).join(', ')}]`;
}
