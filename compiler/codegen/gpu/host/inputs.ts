// Inputs in and results out: the app's inputs and x0 checked and converted to float32 arrays
// by buffer name, the final results checked for non-finite entries, and the result objects.
// Embedded as source text in every GPU module: see runtime-gpu.ts for what that allows.

import type { ByName, EntryName, Execution, Host, HostModule, Variable } from './types.js';

// Host functions of other files, declared by type only: the generated module declares them all
// at its top level, side by side. (An import would be a run-time binding, and test runners
// rewrite calls to imported bindings in a function's text.)
declare const checkFloat32: typeof import('./backend.js').checkFloat32;

/** The params and data as float32 arrays by buffer name; the outer objective's data only when `outer`. */
export function loadInputs(host: Host, inputs: ByName, outer: boolean): Record<string, Float32Array> {
  const { m, D } = host;
  m.checkKeys(inputs, [...m.PARAMS.map((p) => p.name), ...m.DATA.map((d) => d.name)], 'inputs');
  const arrays: Record<string, Float32Array> = {};
  const put = (v: Variable & { readonly value: string }, what: string) => {
    const a = new Float32Array(v.size(D));
    m.toFlat(inputs[v.name], a, what, v.shape(D));
    checkFloat32(a, what, m.fail);
    arrays[v.value] = a;
  };
  for (const p of m.PARAMS) put(p, 'input ' + p.name);
  for (const d of m.DATA.filter((d) => !d.outer)) put(d, 'input ' + d.name);
  const outerData = m.DATA.filter((d) => d.outer);
  if (outer) {
    const missing = outerData.filter((d) => inputs[d.name] === undefined).map((d) => d.name);
    if (missing.length) m.fail('data', 'the outer objective needs the inputs ' + missing.join(', '));
    for (const d of outerData) put(d, 'input ' + d.name);
  }
  return arrays;
}

/** Adds x0 (zeros where not given) to the arrays, by buffer name. */
export function loadState(host: Host, x0: ByName | undefined, arrays: Record<string, Float32Array>): void {
  const { m, D } = host;
  const given = x0 ?? {};
  m.checkKeys(given, m.STATE.map((s) => s.name), 'x0');
  // A previous-iterate component starts equal to its iterate unless given.
  for (const s of [...m.STATE.filter((s) => s.initialFrom === undefined), ...m.STATE.filter((s) => s.initialFrom !== undefined)]) {
    const a = new Float32Array(s.size(D));
    if (given[s.name] !== undefined) m.toFlat(given[s.name], a, 'x0.' + s.name, s.shape(D));
    else if (s.initialFrom !== undefined) a.set(arrays[m.STATE.find((o) => o.name === s.initialFrom)!.current]);
    checkFloat32(a, 'x0.' + s.name, m.fail);
    arrays[s.current] = a;
  }
}

/**
 * Float32 arrays for a direction or cotangent given by name (zeros where not given), each
 * checked; those of `checkedOnly` are checked and dropped (a direction on x0 when T > 0, which
 * the truncated sweep never sees).
 */
export function loadSeeds(host: Host, seeds: ByName | undefined, vars: readonly (Variable & { readonly dot: string; readonly bar: string })[], what: 'direction' | 'cotangent', arrays: Record<string, Float32Array>, checkedOnly: readonly Variable[] = []): void {
  const { m, D } = host;
  m.checkKeys(seeds ?? {}, [...vars, ...checkedOnly].map((v) => v.name), what);
  const load = (v: Variable) => {
    const a = new Float32Array(v.size(D));
    if (seeds?.[v.name] !== undefined) m.toFlat(seeds[v.name], a, what + '.' + v.name, v.shape(D));
    checkFloat32(a, what + '.' + v.name, m.fail);
    return a;
  };
  for (const v of vars) arrays[what === 'direction' ? v.dot : v.bar] = load(v);
  for (const v of checkedOnly) load(v);
}

/** Fails on the first result with a non-finite entry. */
export function checkFinite(m: HostModule, values: Readonly<Record<string, Float64Array>>): void {
  for (const key of Object.keys(values)) {
    const bad = m.nonFinite(values[key], values[key].length);
    if (bad >= 0) {
      const [group, name] = key.split(':');
      const what: Readonly<Record<string, string>> = { state: 'state ', tangent: 'the tangent of ', gradient: 'the gradient for ', x0Gradient: 'the gradient for x0.' };
      m.fail('numeric', (what[group!] ?? '') + (name ?? key) +
        ' is non-finite (entry ' + bad + ') after ' + m.K + ' iterations in float32 (the GPU backend checks the final results only)', { variable: name ?? key });
    }
  }
}

/** A call's result: the state, what the entry adds, the backend that ran, precision and executor. */
export function report(m: HostModule, r: Execution, rest: object): object {
  const state: Record<string, Float64Array> = {};
  for (const s of m.STATE) state[s.name] = r.values['state:' + s.name];
  return Object.assign({ state }, rest, { backend: r.backend, precision: 'float32', executor: r.executor });
}

/** The results of one group ('tangent', 'gradient') by user name, the first `copies` copies of each. */
export function flatVectors(host: Host, values: Readonly<Record<string, Float64Array>>, group: string, vars: readonly Variable[], copies: number): Record<string, Float64Array> {
  const out: Record<string, Float64Array> = {};
  for (const v of vars) out[v.name] = values[group + ':' + v.name].slice(0, copies * v.size(host.D));
  return out;
}

/** The gradient with respect to x0 by state name, `copies` copies: x̄ where the sweep stopped at 0, or zeros when it stopped at T > 0. */
export function x0Vectors(host: Host, values: Readonly<Record<string, Float64Array>>, entry: EntryName, copies: number): Record<string, Float64Array> {
  const { m, D } = host;
  if (m.SCHEDULE.entries[entry]!.x0 === 'exact') return flatVectors(host, values, 'x0Gradient', m.STATE, copies);
  const out: Record<string, Float64Array> = {};
  for (const s of m.STATE) out[s.name] = new Float64Array(copies * s.size(D));
  return out;
}
