// The part of a generated CPU module that runs the SIMD kernels: their bytes, their
// instantiation on a memory of the module's own, and views of that memory for every buffer.
// Emitted only into modules that call a kernel; the module still imports nothing. The
// kernels are compiled synchronously (create() is synchronous), so their bytes stay under
// 4 kB: Chromium before version 114 refused larger modules on the main thread. With more than
// one thread (runtime-threads.ts) the memory is shared and the kernels import it as such.
// Two builds are embedded: plain SIMD, and relaxed SIMD with every multiply-add fused
// (f64x2.relaxed_madd), which create() picks where WebAssembly.validate accepts a tiny module
// using it (create(dims, { kernels: 'simd' | 'relaxed' }) forces either).

import { KERNELS_BASE64, KERNELS_RELAXED_BASE64, KERNELS_RELAXED_SHARED_BASE64, KERNELS_SHARED_BASE64 } from './kernels-binary.js';
import { THREADS_RUNTIME } from './runtime-threads.js';

export const KERNELS_RUNTIME = `/** WebAssembly SIMD kernels (compiler/codegen/wasm/kernels.wat): gemv, gemvT, ger, gemm. */
const KERNELS_WASM = '${KERNELS_BASE64}';
/** The same kernels importing a shared memory, for worker threads. */
const KERNELS_WASM_SHARED = '${KERNELS_SHARED_BASE64}';
/** The kernels with every multiply-add fused (relaxed SIMD): plain memory, then shared. */
const KERNELS_WASM_RELAXED = '${KERNELS_RELAXED_BASE64}';
const KERNELS_WASM_RELAXED_SHARED = '${KERNELS_RELAXED_SHARED_BASE64}';
/** A module whose one function is f64x2.relaxed_madd: it validates only where relaxed SIMD is on. */
const RELAXED_SIMD_PROBE = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2, 253, 135, 2, 11);

${THREADS_RUNTIME}

/** Which kernels to run: 'relaxed' (fused multiply-adds) where the engine has relaxed SIMD, else 'simd'; or the one asked for. */
function kernelBuild(requested) {
  if (requested === 'simd') return 'simd';
  const relaxed = typeof WebAssembly.validate === 'function' && WebAssembly.validate(RELAXED_SIMD_PROBE);
  if (requested === 'relaxed' && !relaxed) fail('usage', "options.kernels is 'relaxed', but this JavaScript engine has no WebAssembly relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd): leave it out, or use 'simd'");
  return relaxed ? 'relaxed' : 'simd';
}

/** The kernels for create()'s options: the threads asked for (split always), or the default count (split where it pays and the machine is not crowded). */
function kernelsFor(options) {
  const { threads, kernels } = createOptions(options);
  return instantiateKernels(threads ?? defaultKernelThreads(), kernelBuild(kernels), threads === undefined ? machineCrowded : null);
}

/**
 * The kernels, on a WebAssembly memory of their own, and views(sizes), which lays buffers of
 * the given entry counts out in that memory (16-byte aligned, growing it when needed) and
 * returns a Float64Array view of each. Growing detaches every earlier view: call it again.
 * bytes() is what the last layout holds. With more than one thread the memory is shared and
 * large calls are split over worker threads (with \`crowded\`, a function: adaptively, see
 * threadedKernels).
 * build() says which kernels run: 'simd' or 'relaxed'.
 */
function instantiateKernels(threads, build = 'simd', crowded = null) {
  const shared = threads > 1;
  const base64 = build === 'relaxed' ? (shared ? KERNELS_WASM_RELAXED_SHARED : KERNELS_WASM_RELAXED) : shared ? KERNELS_WASM_SHARED : KERNELS_WASM;
  const code = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const memory = shared ? new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true }) : new WebAssembly.Memory({ initial: 1 });
  let module;
  let instance;
  try {
    module = new WebAssembly.Module(code);
    instance = new WebAssembly.Instance(module, { env: { memory } });
  } catch (e) {
    fail('usage', 'this module calls WebAssembly SIMD kernels, which this JavaScript engine cannot run (' + e.message + '): compile it with --kernels js');
  }
  const padded = (n) => Math.ceil(n / 2) * 16;
  let laidOut = 0;
  function views(sizes) {
    const total = sizes.reduce((sum, n) => sum + padded(n), 0);
    laidOut = total;
    const missing = total - memory.buffer.byteLength;
    if (missing > 0) {
      try {
        memory.grow(Math.ceil(missing / 65536));
      } catch {
        fail('data', 'the buffers need ' + total + ' bytes, more than a WebAssembly memory holds: compile with --kernels js');
      }
    }
    let at = 0;
    return sizes.map((n) => {
      const view = new Float64Array(memory.buffer, at, n);
      at += padded(n);
      return view;
    });
  }
  /** Bytes of the buffers laid out last (the memory itself is whole 64 KiB pages). */
  const bytes = () => laidOut;
  const { gemv, gemvT, ger, gemm } = instance.exports;
  const kernels = shared ? threadedKernels(instance.exports, module, memory, threads, crowded) : { gemv, gemvT, ger, gemm, threads: () => 1, whenReady: () => Promise.resolve(), release() {}, workerParts: () => 0 };
  return { ...kernels, views, bytes, build: () => build };
}`;
