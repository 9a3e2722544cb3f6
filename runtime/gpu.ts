// gpu.js on the host side (the CLI, compile(), tests, benchmarks): making a GPU instance,
// finding out which backend gpu.js actually runs (it falls back silently: no display means
// webasm, not a GPU), the --require-gpu check, and texture limits. Generated GPU modules
// carry their own copy of the detection (they import nothing); this module is for callers.
// gpu.js is imported lazily, so CPU-only use of phic never loads it.

import { PhicError } from '../compiler/errors.js';

/** gpu.js backends that run on a GPU, and the CPU fallbacks. */
export const GPU_BACKENDS = ['headlessgl', 'webgl2', 'webgl', 'webgpu'] as const;
export const CPU_FALLBACKS = ['webasm', 'cpu'] as const;
/** gpu.js modes a caller may ask for ('gpu' and 'async' let gpu.js choose). */
export const GPU_MODES = ['gpu', 'async', 'headlessgl', 'webgl2', 'webgl', 'webgpu', 'webasm', 'cpu'] as const;
export type GpuMode = (typeof GPU_MODES)[number];

/** The part of gpu.js's GPU class phic uses. */
export interface GpuInstance {
  readonly mode?: string;
  readonly Kernel?: { readonly name: string; readonly mode?: string; readonly features?: { maxTextureSize?: number | null } } | null;
  readonly context?: unknown;
  createKernel(source: string, settings?: object): ((...args: unknown[]) => unknown) & { kernel: { constructor: { name: string; mode?: string }; context?: unknown }; destroy?(): void };
  createPipeline(fn: (...args: unknown[]) => unknown, settings?: object): unknown;
  destroy(): unknown;
}

const BY_CLASS: Record<string, string> = {
  HeadlessGLKernel: 'headlessgl', WebGL2Kernel: 'webgl2', WebGLKernel: 'webgl', WebGPUKernel: 'webgpu', WebAssemblyKernel: 'webasm', CPUKernel: 'cpu',
};

/** The backend name of a gpu.js kernel class (same rule as the generated modules). */
export function backendOf(KernelClass: { name: string; mode?: string } | null | undefined, context?: unknown): string {
  if (!KernelClass) return 'unknown';
  const named = BY_CLASS[KernelClass.name];
  if (named) return named;
  if (KernelClass.mode !== 'gpu') return String(KernelClass.mode);
  const g = globalThis as Record<string, unknown>;
  const is = (ctor: string) => typeof g[ctor] === 'function' && context instanceof (g[ctor] as new () => unknown);
  if (is('WebGL2RenderingContext')) return 'webgl2';
  if (is('WebGLRenderingContext')) return 'webgl';
  return typeof g.window === 'undefined' ? 'headlessgl' : 'webgl';
}

export const isCpuFallback = (backend: string) => (CPU_FALLBACKS as readonly string[]).includes(backend);

/** Creates a gpu.js GPU (mode 'gpu' lets gpu.js choose; an unsupported explicit mode is an error naming it). */
export async function createGpu(mode: GpuMode = 'gpu'): Promise<GpuInstance> {
  if (!(GPU_MODES as readonly string[]).includes(mode)) throw new PhicError('usage', `--gpu-mode must be one of ${GPU_MODES.join(', ')}, got '${mode}'`);
  const { GPU } = (await import('gpu.js')) as unknown as { GPU: new (settings: object) => GpuInstance };
  try {
    return new GPU({ mode });
  } catch (e) {
    throw new PhicError('usage', `gpu.js cannot run in mode '${mode}' here: ${(e as Error).message}${mode === 'headlessgl' ? ' (headlessgl needs the native package gl built, and a display: run under xvfb-run)' : ''}`);
  }
}

/** Which backend gpu.js actually runs kernels on, found by running a one-entry kernel. */
export async function probeBackend(gpu: GpuInstance): Promise<string> {
  const k = gpu.createKernel('function () { return 1; }', { output: [1] });
  await k();
  const backend = backendOf(k.kernel.constructor, k.kernel.context);
  k.destroy?.();
  return backend;
}

export function requireGpuError(backend: string): PhicError {
  return new PhicError(
    'usage',
    `--require-gpu: gpu.js would run on its ${backend} backend, a CPU fallback, not a GPU. In Node, the headlessgl backend needs the optional native package gl (built from source with libx11-dev libxext-dev libxi-dev pkg-config) and a display (run under xvfb-run); in a browser it needs WebGL or WebGPU.`,
  );
}

/** Fails with a clear error when gpu.js would fall back to a CPU backend. */
export async function checkRequireGpu(gpu: GpuInstance): Promise<string> {
  const backend = await probeBackend(gpu);
  if (isCpuFallback(backend)) throw requireGpuError(backend);
  return backend;
}

/** The largest texture side of the backend gpu.js chose, or null where there is none (webasm, cpu). */
export function maxTextureSize(gpu: GpuInstance): number | null {
  try {
    return gpu.Kernel?.features?.maxTextureSize ?? null;
  } catch {
    return null;
  }
}

/** Each gpu.js backend this process can create, with the backend it actually runs (for benchmarks and reports). */
export async function availableBackends(modes: readonly GpuMode[] = ['headlessgl', 'webgl2', 'webgl', 'webgpu', 'webasm', 'cpu']): Promise<{ mode: GpuMode; backend: string | null; reason?: string }[]> {
  const out: { mode: GpuMode; backend: string | null; reason?: string }[] = [];
  for (const mode of modes) {
    let gpu: GpuInstance | null = null;
    try {
      gpu = await createGpu(mode);
      out.push({ mode, backend: await probeBackend(gpu) });
    } catch (e) {
      out.push({ mode, backend: null, reason: (e as Error).message.split('\n')[0] });
    } finally {
      try {
        await gpu?.destroy();
      } catch {
        // a half-built instance
      }
    }
  }
  return out;
}
