// The entry points of an instance (iterate, jvp, jacobianForward, vjp, jacobianReverse,
// hypergradient, destroy): inputs loaded, the computation executed, results checked and shaped.
// Embedded as source text in every GPU module: see runtime-gpu.ts for what that allows.

import type { ByName, Host, HostMatrix } from './types.js';

// Host functions of other files, declared by type only: the generated module declares them all
// at its top level, side by side. (An import would be a run-time binding, and test runners
// rewrite calls to imported bindings in a function's text.)
declare const execute: typeof import('./execute.js').execute;
declare const loadInputs: typeof import('./inputs.js').loadInputs;
declare const loadState: typeof import('./inputs.js').loadState;
declare const loadSeeds: typeof import('./inputs.js').loadSeeds;
declare const checkFinite: typeof import('./inputs.js').checkFinite;
declare const report: typeof import('./inputs.js').report;
declare const flatVectors: typeof import('./inputs.js').flatVectors;
declare const x0Vectors: typeof import('./inputs.js').x0Vectors;

/** Runs all K iterations. */
export async function runIterate(host: Host, inputs: ByName, x0?: ByName): Promise<object> {
  const arrays = loadInputs(host, inputs, false);
  loadState(host, x0, arrays);
  const r = await execute(host, 'iterate', 0, arrays);
  checkFinite(host.m, r.values);
  return report(host.m, r, {});
}

/** Forward mode along one direction in (θ, x0); the x0 part seeds the tangent only when the sweep starts at 0. */
export async function runJvp(host: Host, inputs: ByName, direction: ByName | undefined, x0?: ByName): Promise<object> {
  const { m } = host;
  const arrays = loadInputs(host, inputs, false);
  loadState(host, x0, arrays);
  const fromX0 = m.SCHEDULE.entries.jvp!.x0 === 'exact';
  loadSeeds(host, direction, fromX0 ? [...m.PARAMS, ...m.STATE] : m.PARAMS, 'direction', arrays, fromX0 ? [] : m.STATE);
  const r = await execute(host, 'jvp', 1, arrays);
  checkFinite(host.m, r.values);
  return report(host.m, r, { tangent: flatVectors(host, r.values, 'tangent', host.m.STATE, 1) });
}

/** Forward mode along every parameter entry at once: a direction per column of the Jacobian. */
export async function runJacobianForward(host: Host, inputs: ByName, x0?: ByName): Promise<object> {
  const { m, D } = host;
  const P = m.PARAMS.reduce((t, p) => t + p.size(D), 0);
  const arrays = loadInputs(host, inputs, false);
  loadState(host, x0, arrays);
  let off = 0;
  for (const p of m.PARAMS) {
    const n = p.size(D);
    const a = new Float32Array(P * n);
    for (let c = 0; c < n; c++) a[(off + c) * n + c] = 1;
    arrays[p.dot] = a;
    off += n;
  }
  const r = await execute(host, 'jacobianForward', P, arrays);
  checkFinite(m, r.values);
  const jacobian: Record<string, Record<string, HostMatrix>> = {};
  off = 0;
  for (const p of m.PARAMS) {
    const cols = p.size(D);
    for (const s of m.STATE) {
      const rows = s.size(D), dot = r.values['tangent:' + s.name], data = new Float64Array(rows * cols);
      for (let c = 0; c < cols; c++) for (let row = 0; row < rows; row++) data[row * cols + c] = dot[(off + c) * rows + row];
      (jacobian[s.name] ??= {})[p.name] = m.matrix(rows, cols, data);
    }
    off += cols;
  }
  return report(m, r, { jacobian });
}

/** Reverse mode from one cotangent on the final state. */
export async function runVjp(host: Host, inputs: ByName, cotangent: ByName | undefined, x0?: ByName): Promise<object> {
  const arrays = loadInputs(host, inputs, false);
  loadState(host, x0, arrays);
  loadSeeds(host, cotangent, host.m.STATE, 'cotangent', arrays);
  const r = await execute(host, 'vjp', 1, arrays);
  checkFinite(host.m, r.values);
  return report(host.m, r, { gradient: flatVectors(host, r.values, 'gradient', host.m.PARAMS, 1), x0Gradient: x0Vectors(host, r.values, 'vjp', 1) });
}

/** Reverse mode from every state entry at once: a cotangent per row of the Jacobian. */
export async function runJacobianReverse(host: Host, inputs: ByName, x0?: ByName): Promise<object> {
  const { m, D } = host;
  const S = m.STATE.reduce((t, s) => t + s.size(D), 0);
  const arrays = loadInputs(host, inputs, false);
  loadState(host, x0, arrays);
  let off = 0;
  for (const s of m.STATE) {
    const n = s.size(D);
    const a = new Float32Array(S * n);
    for (let i = 0; i < n; i++) a[(off + i) * n + i] = 1;
    arrays[s.bar] = a;
    off += n;
  }
  const r = await execute(host, 'jacobianReverse', S, arrays);
  checkFinite(m, r.values);
  // row r of a block is direction r's adjoint: of θ, and of x0 (zeros when T > 0)
  const x0Rows = x0Vectors(host, r.values, 'jacobianReverse', S);
  const jacobian: Record<string, Record<string, HostMatrix>> = {};
  const x0Jacobian: Record<string, Record<string, HostMatrix>> = {};
  off = 0;
  for (const s of m.STATE) {
    const rows = s.size(D);
    for (const p of m.PARAMS) {
      const cols = p.size(D);
      (jacobian[s.name] ??= {})[p.name] = m.matrix(rows, cols, r.values['gradient:' + p.name].slice(off * cols, (off + rows) * cols));
    }
    for (const c of m.STATE) {
      const cols = c.size(D);
      (x0Jacobian[s.name] ??= {})[c.name] = m.matrix(rows, cols, x0Rows[c.name].slice(off * cols, (off + rows) * cols));
    }
    off += rows;
  }
  return report(m, r, { jacobian, x0Jacobian });
}

/** The outer objective's loss at x_K and its gradient by reverse mode. */
export async function runHypergradient(host: Host, inputs: ByName, x0?: ByName): Promise<object> {
  const arrays = loadInputs(host, inputs, true);
  loadState(host, x0, arrays);
  const r = await execute(host, 'hypergradient', 1, arrays);
  checkFinite(host.m, r.values);
  return report(host.m, r, { loss: r.values.loss[0], gradient: flatVectors(host, r.values, 'gradient', host.m.PARAMS, 1), x0Gradient: x0Vectors(host, r.values, 'hypergradient', 1) });
}

/** Releases the instance's pipelines and kernels; later calls fail. */
export async function destroyInstance(host: Host): Promise<void> {
  host.destroyed = true;
  for (const p of host.pipelines.values()) await p.destroy();
  for (const k of host.kernels.values()) if (typeof k.destroy === 'function') k.destroy();
  host.pipelines.clear();
  host.kernels.clear();
}
