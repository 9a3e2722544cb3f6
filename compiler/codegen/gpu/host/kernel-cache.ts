// Building gpu.js kernels for an instance, each once (by id and direction count), with the
// texture limit checked first; and the probe that finds the backend gpu.js really runs.
// Embedded as source text in every GPU module: see runtime-gpu.ts for what that allows.

import type { GpuKernelFunction, Host } from './types.js';

// Host functions of other files, declared by type only: the generated module declares them all
// at its top level, side by side. (An import would be a run-time binding, and test runners
// rewrite calls to imported bindings in a function's text.)
declare const backendOf: typeof import('./backend.js').backendOf;

/** Fails when a buffer of this many float32 entries needs a texture beyond the device's limit. */
export function checkSize(host: Host, what: string, entries: number): void {
  const maxTexture = host.maxTexture;
  if (!maxTexture) return;
  const side = Math.ceil(Math.sqrt(entries));
  if (side > maxTexture) {
    host.m.fail('data', what + ' needs ' + entries + ' float32 entries, a ' + side + '×' + side + ' texture: beyond the texture limit of ' + maxTexture + '×' + maxTexture +
      ' here. Use smaller dims, jvp/vjp instead of a full Jacobian, or the CPU backend.');
  }
}

/** Kernel `id` of the KERNELS table, with `count` copies when it holds one per direction. */
export function kernelFor(host: Host, id: string, count: number): GpuKernelFunction {
  const { m, D } = host;
  const spec = m.KERNELS[id];
  const copies = spec.batched ? count : 1;
  const key = id + '@' + copies;
  let k = host.kernels.get(key);
  if (k === undefined) {
    const entries = copies * spec.size(D);
    checkSize(host, 'kernel ' + id + ' (' + spec.writes + (copies > 1 ? ', ' + copies + ' directions' : '') + ')', entries);
    const settings: Record<string, unknown> = {
      output: [entries], pipeline: true, immutable: true, precision: 'single', tactic: 'precision',
      loopMaxIterations: Math.max(1000, spec.loop(D) + 1), functions: spec.helpers.map((h) => m.HELPERS[h]),
    };
    // gpu.js reads this.constants.output, .thread and .constants as its own: every dim's key has a prefix
    if (!m.BAKED) settings.constants = Object.fromEntries(Object.keys(D).map((name) => ['dim_' + name, D[name]]));
    k = host.gpu.createKernel(spec.source, settings);
    host.kernels.set(key, k);
  }
  return k;
}

/** A kernel that uploads an array ('upload') or makes zeros ('zeros'), of `entries` entries. */
export function utilityKernel(host: Host, kind: 'upload' | 'zeros', entries: number): GpuKernelFunction {
  const key = kind + '@' + entries;
  let k = host.kernels.get(key);
  if (k === undefined) {
    checkSize(host, 'a buffer', entries);
    const source = kind === 'upload' ? 'function (v) { return v[this.thread.x]; }' : 'function () { return 0; }';
    k = host.gpu.createKernel(source, { output: [entries], pipeline: true, immutable: true, precision: 'single', tactic: 'precision' });
    host.kernels.set(key, k);
  }
  return k;
}

/** The backend gpu.js runs kernels on, found once by running a one-entry kernel. */
export async function probe(host: Host): Promise<string> {
  if (host.probed !== null) return host.probed;
  const k = host.gpu.createKernel('function () { return 1; }', { output: [1] });
  await k();
  host.probed = backendOf(k.kernel.constructor, k.kernel.context);
  if (typeof k.destroy === 'function') k.destroy();
  host.predicted = host.probed;
  return host.probed;
}
