// The part of a generated CPU module that runs the SIMD kernels: their bytes, their
// instantiation on a memory of the module's own, and views of that memory for every buffer.
// Emitted only into modules that call a kernel; the module still imports nothing. The
// kernels are compiled synchronously (create() is synchronous), so their bytes stay under
// 4 kB: Chromium before version 114 refused larger modules on the main thread. With more than
// one thread (runtime-threads.ts) the memory is shared and the kernels import it as such.
// Two builds are embedded: plain SIMD, and relaxed SIMD with every multiply-add fused
// (f64x2.relaxed_madd), which create() picks where WebAssembly.validate accepts a tiny module
// using it (create(dims, { kernels: 'simd' | 'relaxed' }) forces either).
// instantiateKernels is written once, typed, in runtime-wasm-typed.ts (INSTANTIATE_KERNELS is
// its generated JavaScript twin); the bytes' constants stay here.

import { KERNELS_BASE64, KERNELS_RELAXED_BASE64, KERNELS_RELAXED_SHARED_BASE64, KERNELS_SHARED_BASE64, PAIRED_BASE64, PAIRED_RELAXED_BASE64, PAIRED_RELAXED_SHARED_BASE64, PAIRED_SHARED_BASE64 } from './kernels-binary.js';
import { THREADS_RUNTIME, THREADS_RUNTIME_TS } from './runtime-threads.js';
import { INSTANTIATE_KERNELS } from './runtime-wasm-typed.generated.js';
import { INSTANTIATE_KERNELS_TS, WASM_TYPES } from './runtime-wasm-typed.js';

/** The kernels' bytes (base64) and the relaxed-SIMD probe: the same text in both outputs. */
const KERNEL_CONSTANTS = `/** WebAssembly SIMD kernels (compiler/codegen/wasm/kernels.wat): gemv, gemvT, ger, gemm. */
const KERNELS_WASM = '${KERNELS_BASE64}';
/** The same kernels importing a shared memory, for worker threads. */
const KERNELS_WASM_SHARED = '${KERNELS_SHARED_BASE64}';
/** The kernels with every multiply-add fused (relaxed SIMD): plain memory, then shared. */
const KERNELS_WASM_RELAXED = '${KERNELS_RELAXED_BASE64}';
const KERNELS_WASM_RELAXED_SHARED = '${KERNELS_RELAXED_SHARED_BASE64}';
/** A module whose one function is f64x2.relaxed_madd: it validates only where relaxed SIMD is on. */
const RELAXED_SIMD_PROBE = Uint8Array.of(0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2, 253, 135, 2, 11);`;

export const KERNELS_RUNTIME = `${KERNEL_CONSTANTS}

${THREADS_RUNTIME}

${INSTANTIATE_KERNELS}`;

/** KERNELS_RUNTIME for `--emit ts`: the declarations its code needs, then the same code typed. */
export const KERNELS_RUNTIME_TS = `${WASM_TYPES}

${KERNEL_CONSTANTS}

${THREADS_RUNTIME_TS}

${INSTANTIATE_KERNELS_TS}`;

/**
 * The paired kernel's four builds (kernels-paired.wat), printed after KERNELS_RUNTIME in the
 * modules that call it (the fused reverse sweep), whose create() passes them to kernelsFor.
 */
export const PAIRED_KERNELS_RUNTIME = `/** The paired kernel (compiler/codegen/wasm/kernels-paired.wat): gemvGemvT of two vectors in one pass over A. */
const PAIRED_KERNELS = Object.freeze({ plain: '${PAIRED_BASE64}', shared: '${PAIRED_SHARED_BASE64}', relaxed: '${PAIRED_RELAXED_BASE64}', relaxedShared: '${PAIRED_RELAXED_SHARED_BASE64}' });`;
