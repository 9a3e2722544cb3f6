// The part of a generated CPU module that runs the SIMD kernels: their bytes, their
// instantiation on a memory of the module's own, and views of that memory for every buffer.
// Emitted only into modules that call a kernel; the module still imports nothing. The
// kernels are compiled synchronously (create() is synchronous), so their bytes stay under
// 4 kB: Chromium before version 114 refused larger modules on the main thread. With more than
// one thread (runtime-threads.ts) the memory is shared and the kernels import it as such.
// instantiateKernels is written once, typed, in runtime-wasm-typed.ts (INSTANTIATE_KERNELS is
// its generated JavaScript twin); the bytes' constants stay here.

import { KERNELS_BASE64, KERNELS_SHARED_BASE64 } from './kernels-binary.js';
import { THREADS_RUNTIME, THREADS_RUNTIME_TS } from './runtime-threads.js';
import { INSTANTIATE_KERNELS } from './runtime-wasm-typed.generated.js';
import { INSTANTIATE_KERNELS_TS, WASM_TYPES } from './runtime-wasm-typed.js';

export const KERNELS_RUNTIME = `/** WebAssembly SIMD kernels (compiler/codegen/wasm/kernels.wat): gemv, gemvT, ger, gemm. */
const KERNELS_WASM = '${KERNELS_BASE64}';
/** The same kernels importing a shared memory, for worker threads. */
const KERNELS_WASM_SHARED = '${KERNELS_SHARED_BASE64}';

${THREADS_RUNTIME}

${INSTANTIATE_KERNELS}`;

/** KERNELS_RUNTIME for `--emit ts`: the declarations its code needs, then the same code typed. */
export const KERNELS_RUNTIME_TS = `${WASM_TYPES}

/** WebAssembly SIMD kernels (compiler/codegen/wasm/kernels.wat): gemv, gemvT, ger, gemm. */
const KERNELS_WASM = '${KERNELS_BASE64}';
/** The same kernels importing a shared memory, for worker threads. */
const KERNELS_WASM_SHARED = '${KERNELS_SHARED_BASE64}';

${THREADS_RUNTIME_TS}

${INSTANTIATE_KERNELS_TS}`;

