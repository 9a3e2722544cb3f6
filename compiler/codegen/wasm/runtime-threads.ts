// The part of a generated CPU module that splits large kernel calls over worker threads (Node
// only, where `process.getBuiltinModule` gives worker_threads). The workers share the module's
// WebAssembly memory (a shared one, with KERNELS_SHARED_BASE64) and a few control words: the
// main thread posts a call, every thread, the main one included, claims parts of it until none
// are left, and the main thread waits for the parts others claimed. A worker that is late (asleep,
// or not scheduled) claims nothing, so a call never waits for a thread that has not started on
// it. Each part is a kernel call on a block of rows (or of columns, for gemvT) cut at multiples
// of 4, and the kernels compute every output entry by the same operations whichever block holds
// it: results are bitwise the same as on one thread.
//
// kernelThreadsCommon() holds what both sides run; a worker is started on its source text
// (Function.prototype.toString of this fixed function, never spec text), so the main thread and
// the workers cannot split a call differently. The text is written once, typed, in
// runtime-wasm-typed.ts; THREADS_RUNTIME is its generated JavaScript twin.

export { THREADS_RUNTIME } from './runtime-wasm-typed.generated.js';
export { THREADS_RUNTIME_TS } from './runtime-wasm-typed.js';

