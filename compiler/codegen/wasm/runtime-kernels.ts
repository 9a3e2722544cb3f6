// The part of a generated CPU module that runs the SIMD kernels: their bytes, their
// instantiation on a memory of the module's own, and views of that memory for every buffer.
// Emitted only into modules that call a kernel; the module still imports nothing. The
// kernels are compiled synchronously (create() is synchronous), so their bytes stay under
// 4 kB: Chromium before version 114 refused larger modules on the main thread. With more than
// one thread (runtime-threads.ts) the memory is shared and the kernels import it as such.

import { KERNELS_BASE64, KERNELS_SHARED_BASE64 } from './kernels-binary.js';
import { THREADS_RUNTIME } from './runtime-threads.js';

export const KERNELS_RUNTIME = `/** WebAssembly SIMD kernels (compiler/codegen/wasm/kernels.wat): gemv, gemvT, ger, gemm. */
const KERNELS_WASM = '${KERNELS_BASE64}';
/** The same kernels importing a shared memory, for worker threads. */
const KERNELS_WASM_SHARED = '${KERNELS_SHARED_BASE64}';

${THREADS_RUNTIME}

/**
 * The kernels, on a WebAssembly memory of their own, and views(sizes), which lays buffers of
 * the given entry counts out in that memory (16-byte aligned, growing it when needed) and
 * returns a Float64Array view of each. Growing detaches every earlier view: call it again.
 * bytes() is what the last layout holds. With more than one thread the memory is shared and
 * large calls are split over worker threads.
 */
function instantiateKernels(threads) {
  const shared = threads > 1;
  const code = Uint8Array.from(atob(shared ? KERNELS_WASM_SHARED : KERNELS_WASM), (c) => c.charCodeAt(0));
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
  const kernels = shared ? threadedKernels(instance.exports, module, memory, threads) : { gemv, gemvT, ger, gemm, threads: () => 1, whenReady: () => Promise.resolve(), release() {}, workerParts: () => 0 };
  return { ...kernels, views, bytes };
}`;
