// Running one call on the device, two ways: traced once by gpu.createPipeline (webasm fuses the
// plan into one wasm memory; webgpu into one command encoder), or called kernel by kernel with
// `pipeline: true, immutable: true` (GL: textures stay on the device and are deleted by
// reference count as soon as nothing needs them). createPipeline is not used on GL for reverse
// mode: its generic executor compiles one shader per live tape slot. Results are read back once,
// at the end, as Float64Array copies of the float32 values, with the backend that actually ran.
// Embedded as source text in every GPU module: see runtime-gpu.ts for what that allows.

import type { EntryName, Execution, Executor, GpuKernelFunction, Host } from './types.js';

// Host functions of other files, declared by type only: the generated module declares them all
// at its top level, side by side. (An import would be a run-time binding, and test runners
// rewrite calls to imported bindings in a function's text.)
declare const CPU_BACKENDS: typeof import('./backend.js').CPU_BACKENDS;
declare const backendOf: typeof import('./backend.js').backendOf;
declare const requireGpuMessage: typeof import('./backend.js').requireGpuMessage;
declare const checkSize: typeof import('./kernel-cache.js').checkSize;
declare const kernelFor: typeof import('./kernel-cache.js').kernelFor;
declare const utilityKernel: typeof import('./kernel-cache.js').utilityKernel;
declare const probe: typeof import('./kernel-cache.js').probe;
declare const program: typeof import('./program.js').program;

/** What one way of running returns: raw results by key, the backend that ran and why it fell back. */
interface Ran {
  readonly raw: Record<string, unknown>;
  readonly backend: string;
  readonly fallbackReason: string | null | undefined;
}

/** Runs `entry` with `count` directions on the float32 input arrays (by buffer name). */
export async function execute(host: Host, entry: EntryName, count: number, arrays: Readonly<Record<string, Float32Array>>): Promise<Execution> {
  if (host.destroyed) host.m.fail('usage', 'this GPU instance was destroyed');
  const chosen = await probe(host);
  if (host.requireGpu && CPU_BACKENDS.includes(chosen)) host.m.fail('usage', requireGpuMessage(chosen));
  const names = Object.keys(arrays).sort();
  for (const n of names) checkSize(host, 'input ' + n, arrays[n].length);
  const executor = host.executor;
  const mode = executor !== 'auto' ? executor : host.asyncMode || chosen === 'webasm' || chosen === 'webgpu' ? 'pipeline' : 'kernels';
  const ran = mode === 'pipeline' ? await runPipeline(host, entry, count, names, arrays, chosen) : await runKernels(host, entry, count, names, arrays, chosen);
  const { backend, fallbackReason } = ran;
  host.actual = backend;
  if (host.requireGpu && CPU_BACKENDS.includes(backend)) host.m.fail('usage', requireGpuMessage(backend) + (fallbackReason ? ' (' + fallbackReason + ')' : ''));
  const values: Record<string, Float64Array> = {};
  for (const key of Object.keys(ran.raw)) {
    const v = ran.raw[key];
    values[key] = Float64Array.from(ArrayBuffer.isView(v) ? (v as Float32Array) : Array.from(v as ArrayLike<number | number[]>).flat());
  }
  return { values, backend, executor: mode, fallbackReason };
}

/** The call as one gpu.js pipeline, traced on first use for this entry, count and inputs. */
export async function runPipeline(host: Host, entry: EntryName, count: number, names: readonly string[], arrays: Readonly<Record<string, Float32Array>>, chosen: string): Promise<Ran> {
  const key = entry + '@' + count + '@' + names.join(',');
  let pipe = host.pipelines.get(key);
  if (pipe === undefined) {
    const traced: Executor = { run: (id, args) => kernelFor(host, id, count)(...args), zeros: (n) => utilityKernel(host, 'zeros', n)(), hold: () => {}, drop: () => {} };
    const fn = function () {
      const inputs: Record<string, unknown> = {};
      for (let i = 0; i < names.length; i++) inputs[names[i]] = arguments[i];
      return program(host.m, host.D, entry, count, traced, inputs);
    };
    Object.defineProperty(fn, 'length', { value: names.length });
    pipe = host.gpu.createPipeline(fn);
    host.pipelines.set(key, pipe);
  }
  const result = await pipe(...names.map((n) => arrays[n]));
  const raw: Record<string, unknown> = {};
  for (const k of Object.keys(result)) raw[k] = result[k];
  const ran = pipe.backend;
  return { raw, backend: ran === 'gpu' ? chosen : ran ?? chosen, fallbackReason: pipe.fallbackReason };
}

/** The call kernel by kernel: inputs uploaded (GL), device buffers deleted by reference count. */
export async function runKernels(host: Host, entry: EntryName, count: number, names: readonly string[], arrays: Readonly<Record<string, Float32Array>>, chosen: string): Promise<Ran> {
  const gl = !CPU_BACKENDS.includes(chosen);
  const used = new Set<GpuKernelFunction>();
  const ex = countingExecutor(host, count, used);
  const inputs: Record<string, unknown> = {};
  for (const n of names) inputs[n] = gl ? utilityKernel(host, 'upload', arrays[n].length)(arrays[n]) : arrays[n];
  const handles = program(host.m, host.D, entry, count, ex, inputs);
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(handles)) {
    const h = handles[key] as { toArray?: () => unknown };
    raw[key] = typeof h.toArray === 'function' ? await h.toArray() : h;
    ex.drop(h);
  }
  let backend = chosen;
  let fallbackReason: string | null | undefined = null;
  for (const k of used) {
    const b = backendOf(k.kernel.constructor, k.kernel.context);
    if (b !== chosen) {
      backend = b;
      fallbackReason = k.kernel.fallbackReason ?? fallbackReason;
    }
  }
  return { raw, backend, fallbackReason };
}

/** Runs kernels directly, noting each one used; hold/drop count references to deletable textures. */
export function countingExecutor(host: Host, count: number, used: Set<GpuKernelFunction>): Executor {
  const refs = new Map<object, number>();
  const deletable = (h: unknown): h is { delete(): void } => h !== null && typeof h === 'object' && typeof (h as { delete?: unknown }).delete === 'function';
  return {
    run: (id, args) => {
      const k = kernelFor(host, id, count);
      used.add(k);
      return k(...args);
    },
    zeros: (n) => utilityKernel(host, 'zeros', n)(),
    hold: (h) => {
      if (deletable(h)) refs.set(h, (refs.get(h) ?? 0) + 1);
    },
    drop: (h) => {
      if (!deletable(h)) return;
      const n = (refs.get(h) ?? 0) - 1;
      if (n > 0) refs.set(h, n);
      else {
        refs.delete(h);
        h.delete();
      }
    },
  };
}
