// An instance of a GPU module on the app's gpu.js GPU: the options checked, the instance state,
// and the frozen object of entry points the module's create() returns. Embedded as source text
// in every GPU module: see runtime-gpu.ts for what that allows.

import type { ByName, HostDims, GpuLike, Host, HostModule, HostOptions } from './types.js';

// Host functions of other files, declared by type only: the generated module declares them all
// at its top level, side by side. (An import would be a run-time binding, and test runners
// rewrite calls to imported bindings in a function's text.)
declare const CPU_BACKENDS: typeof import('./backend.js').CPU_BACKENDS;
declare const backendOf: typeof import('./backend.js').backendOf;
declare const requireGpuMessage: typeof import('./backend.js').requireGpuMessage;
declare const runIterate: typeof import('./entries.js').runIterate;
declare const runJvp: typeof import('./entries.js').runJvp;
declare const runJacobianForward: typeof import('./entries.js').runJacobianForward;
declare const runVjp: typeof import('./entries.js').runVjp;
declare const runJacobianReverse: typeof import('./entries.js').runJacobianReverse;
declare const runHypergradient: typeof import('./entries.js').runHypergradient;
declare const destroyInstance: typeof import('./entries.js').destroyInstance;

/** The instance: kernels are built on first use and reused; the entry points the module has. */
export function instantiate(m: HostModule, gpu: GpuLike | null, D: HostDims, options: HostOptions | null | undefined): object {
  if (gpu === null || typeof gpu !== 'object' || typeof gpu.createKernel !== 'function') {
    m.fail('usage', 'create(gpu, dims) needs the app\'s gpu.js GPU instance first (new GPU({ mode }) from gpu.js)');
  }
  const host = newHost(m, gpu, D, options ?? {});
  const api = {
    meta: m.meta, dims: Object.freeze({ ...D }), precision: 'float32',
    iterate: (inputs: ByName, x0?: ByName) => runIterate(host, inputs, x0),
    // at once: kernels are built, and the backend probed, on first use (as the CPU instance's, for code written for both)
    ready: () => Promise.resolve(),
    destroy: () => destroyInstance(host),
  };
  Object.defineProperty(api, 'backend', { enumerable: true, get: () => host.actual ?? host.predicted });
  const has = m.SCHEDULE.entries;
  if (has.jvp && has.jacobianForward) {
    Object.assign(api, {
      jvp: (inputs: ByName, direction: ByName, x0?: ByName) => runJvp(host, inputs, direction, x0),
      jacobianForward: (inputs: ByName, x0?: ByName) => runJacobianForward(host, inputs, x0),
    });
  }
  if (has.vjp && has.jacobianReverse) {
    Object.assign(api, {
      vjp: (inputs: ByName, cotangent: ByName, x0?: ByName) => runVjp(host, inputs, cotangent, x0),
      jacobianReverse: (inputs: ByName, x0?: ByName) => runJacobianReverse(host, inputs, x0),
    });
  }
  if (has.hypergradient) Object.assign(api, { hypergradient: (inputs: ByName, x0?: ByName) => runHypergradient(host, inputs, x0) });
  return Object.freeze(api);
}

/** The options checked against the GPU instance, and the state of a new instance. */
export function newHost(m: HostModule, gpu: GpuLike, D: HostDims, opts: HostOptions): Host {
  m.checkKeys(opts, ['requireGpu', 'executor', 'maxTextureSize'], 'options');
  const requireGpu = opts.requireGpu === true;
  const executor = opts.executor ?? 'auto';
  if (!['auto', 'kernels', 'pipeline'].includes(executor)) m.fail('usage', "options.executor must be 'auto', 'kernels' or 'pipeline', got " + executor);
  const asyncMode = gpu.mode === 'async';
  if (executor === 'kernels' && asyncMode) m.fail('usage', "options.executor 'kernels' needs a synchronous GPU instance; with mode 'async' use 'pipeline'");
  const predicted = backendOf(gpu.Kernel, gpu.context);
  if (requireGpu && !asyncMode && CPU_BACKENDS.includes(predicted)) m.fail('usage', requireGpuMessage(predicted));
  let features = null;
  try {
    features = gpu.Kernel && gpu.Kernel.features;
  } catch {
    features = null;
  }
  const maxTexture = opts.maxTextureSize ?? (features && features.maxTextureSize) ?? null;
  return { m, gpu, D, requireGpu, executor, asyncMode, maxTexture, kernels: new Map(), pipelines: new Map(), predicted, probed: null, actual: null, destroyed: false };
}
