// Which gpu.js backend runs a module, the --require-gpu message, and the float32 range check.
// Like every file under host/, these functions reach a generated module as their own source
// text (runtime-gpu.ts): they use only each other, their parameters and standard globals.

import type { KernelClass } from './types.js';

/** Browser globals, absent in Node (each use checks typeof first). */
declare const WebGL2RenderingContext: (abstract new () => object) | undefined;
declare const WebGLRenderingContext: (abstract new () => object) | undefined;
declare const window: object | undefined;

/** gpu.js backends that are CPU fallbacks, not a GPU. */
export const CPU_BACKENDS: readonly string[] = ['webasm', 'cpu'];

/** gpu.js kernel class names and their backends. */
export const BACKEND_BY_CLASS: Readonly<Record<string, string>> = {
  HeadlessGLKernel: 'headlessgl', WebGL2Kernel: 'webgl2', WebGLKernel: 'webgl', WebGPUKernel: 'webgpu', WebAssemblyKernel: 'webasm', CPUKernel: 'cpu',
};

/** The gpu.js backend of a kernel class: headlessgl, webgl2, webgl, webgpu, webasm or cpu. */
export function backendOf(KernelClass: KernelClass | null | undefined, context: unknown): string {
  if (!KernelClass) return 'unknown';
  const named = BACKEND_BY_CLASS[KernelClass.name];
  if (named) return named;
  const mode = KernelClass.mode;
  if (mode !== 'gpu') return String(mode);
  // Minified builds may drop class names: tell the GL flavours apart by their context.
  if (typeof WebGL2RenderingContext !== 'undefined' && context instanceof WebGL2RenderingContext) return 'webgl2';
  if (typeof WebGLRenderingContext !== 'undefined' && context instanceof WebGLRenderingContext) return 'webgl';
  return typeof window === 'undefined' ? 'headlessgl' : 'webgl';
}

export function requireGpuMessage(backend: string): string {
  return 'requireGpu: gpu.js runs this module on its ' + backend + ' backend, a CPU fallback, not a GPU. ' +
    'In a browser that means no WebGL/WebGPU context; in Node, the headlessgl backend needs the optional native package gl (built) and a display (run under xvfb-run).';
}

/** Float32 inputs: a finite float64 can still overflow float32. */
export function checkFloat32(array: Float32Array, what: string, fail: (category: string, message: string) => never): void {
  for (let i = 0; i < array.length; i++) {
    if (array[i] - array[i] !== 0) fail('data', what + ': entry ' + i + ' is beyond the float32 range (the GPU backend computes in float32)');
  }
}
