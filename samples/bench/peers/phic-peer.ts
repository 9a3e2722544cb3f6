// phic as a peer: imports the module that ./phic-compile.ts generated for the workload (dims,
// K and t baked in; compiled in its own process, as \`phic compile\` does ahead of time), calls
// create() and then hypergradient / jvp / jacobianForward / vjp. The process holds the
// generated code only, not the compiler. `phic` creates it with the default threads (one per
// core, at most 4); `phic1t` creates the same module with { threads: 1 }, to show what the
// worker threads add; `phicjs` is the same spec compiled with `--kernels js` (plain JavaScript
// loops, no SIMD kernels), to show what the kernels add; `phicfma` is the default module on its
// relaxed-SIMD kernels (fused multiply-adds), which Node 20 runs only with a flag.

import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CreateOptions, MapInstance } from '../../../src/index.js';
import { PHIC_JS_MODULE, PHIC_MODULE, ROOT } from './paths.js';
import type { NodePeer, Prepared } from './peer.js';
import type { Arrays, WorkloadMeta } from './workloads.js';

type Hyper = (inputs: Record<string, Float64Array>) => { state: Record<string, Float64Array>; loss: number; gradient: Record<string, Float64Array> };

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const DEFAULT_THREADS = Math.min(4, availableParallelism());

export const phicPeer: NodePeer = {
  version: `${VERSION} (WebAssembly SIMD kernels on ${DEFAULT_THREADS} threads: the defaults)`,
  setup: (meta, arrays, dir) => setup(meta, arrays, join(dir, PHIC_MODULE)),
};
export const phicOneThreadPeer: NodePeer = {
  version: `${VERSION} (WebAssembly SIMD kernels, create(dims, { threads: 1 }))`,
  setup: (meta, arrays, dir) => setup(meta, arrays, join(dir, PHIC_MODULE), { threads: 1 }),
};
/** The same module on the relaxed-SIMD kernels (fused multiply-adds), asked for by name: create() fails where the engine has none (main.ts starts this child with Node 20's flag). */
export const phicRelaxedPeer: NodePeer = {
  version: `${VERSION} (relaxed SIMD kernels, fused multiply-adds: create(dims, { kernels: 'relaxed' }), default threads; Node 20 with --experimental-wasm-relaxed-simd)`,
  setup: (meta, arrays, dir) => setup(meta, arrays, join(dir, PHIC_MODULE), { kernels: 'relaxed' }),
};
export const phicJsPeer: NodePeer = { version: `${VERSION} (--kernels js: JavaScript loops only)`, setup: (meta, arrays, dir) => setup(meta, arrays, join(dir, PHIC_JS_MODULE)) };

async function setup(meta: WorkloadMeta, arrays: Arrays, moduleFile: string, options?: CreateOptions): Promise<Prepared> {
  const mod = (await import(pathToFileURL(moduleFile).href)) as { create(dims?: Record<string, number>, options?: CreateOptions): MapInstance };
  const instance = mod.create(undefined, options);
  // every buffer is allocated by create() (the per-direction ones at the first call)
  const createBytes = instance.bufferBytes();
  const { call, method, dataNames, tapeStates } = workloadCall(meta, arrays, instance);
  const n = meta.dims.n!;
  const dataBytes = dataNames.reduce((s, name) => s + (name === 'xhat' ? n : arrays[name]!.length) * 8, 0);
  return {
    call,
    precision: 'float64',
    method,
    extra: { phicBuffers: { createBytes, expectedTapeBytes: tapeStates * n * 8, dataBytes } },
  };
}

/** The workload's call on an instance of its module: what it computes, and the inputs it reads (also ../threads.ts). */
export function workloadCall(meta: WorkloadMeta, arrays: Arrays, instance: MapInstance): { call: Prepared['call']; method: string; dataNames: string[]; tapeStates: number } {
  const n = meta.dims.n!;
  const xhat = new Float64Array(n);
  const inputs: Record<string, Float64Array> = {};
  let call: Prepared['call'];
  let method: string;
  let dataNames: string[];
  let tapeStates = meta.K - meta.t;
  if (meta.derivative === 'hypergradient') {
    const { A, b, theta } = arrays;
    Object.assign(inputs, { A, b, theta, xhat });
    const hyper = (instance as unknown as { hypergradient: Hyper }).hypergradient;
    call = () => {
      const r = hyper(inputs);
      return { state: r.state.x!, loss: r.loss, deriv: r.gradient.theta! };
    };
    method = 'hypergradient() of the outer objective ½‖x_K − x̂‖², x̂ = 0';
    dataNames = ['A', 'b', 'theta', 'xhat'];
  } else if (meta.derivative === 'jvp') {
    const { A, b, Adot, bdot } = arrays;
    Object.assign(inputs, { A, b });
    const direction = { A: Adot!, b: bdot! };
    call = () => {
      const r = instance.jvp!(inputs, direction);
      return { state: r.state.x!, deriv: r.tangent.x! };
    };
    method = 'jvp()';
    dataNames = ['A', 'b'];
    tapeStates = 0;
  } else if (meta.derivative === 'jacobian') {
    const { A, b, theta } = arrays;
    Object.assign(inputs, { A, b, theta });
    call = () => {
      const r = instance.jacobianForward!(inputs);
      return { state: r.state.x!, deriv: r.jacobian.x!.theta!.data };
    };
    method = 'jacobianForward()';
    dataNames = ['A', 'b', 'theta'];
    tapeStates = 0;
  } else if (meta.problem === 'tanh') {
    const { W, c, U, theta, cotangent } = arrays;
    Object.assign(inputs, { W, c, U, theta });
    const ct = { x: cotangent! };
    call = () => {
      const r = instance.vjp!(inputs, ct);
      const Wb = r.gradient.W!;
      const deriv = new Float64Array(Wb.length + n);
      deriv.set(Wb);
      deriv.set(r.gradient.c!, Wb.length);
      return { state: r.state.x!, deriv };
    };
    method = 'vjp() with respect to W and c';
    dataNames = ['W', 'c', 'U', 'theta'];
  } else {
    const { A, b, theta, cotangent } = arrays;
    Object.assign(inputs, { A, b, theta });
    const ct = { x: cotangent! };
    call = () => {
      const r = instance.vjp!(inputs, ct);
      return { state: r.state.x!, deriv: r.gradient.theta! };
    };
    method = 'vjp()';
    dataNames = ['A', 'b', 'theta'];
  }
  return { call, method, dataNames, tapeStates };
}
