// The part of a generated CPU module that splits large kernel calls over worker threads (Node
// only, where `process.getBuiltinModule` gives worker_threads). The workers share the module's
// WebAssembly memory (a shared one, with KERNELS_SHARED_BASE64) and a few control words: the
// main thread posts a call cut into more parts than threads, every thread, the main one
// included, claims parts until none are left, and the main thread then sleeps (Atomics.wait,
// after a short spin) until the parts others claimed are done. A worker that is late (asleep,
// or not scheduled) claims nothing, so a call never waits for a thread that has not started on
// it, and a worker that is descheduled mid-part holds up only a small part. Each part is a
// kernel call on a block of rows (or of columns, for gemvT) cut at multiples of 4, and the
// kernels compute every output entry by the same operations whichever block holds it: results
// are bitwise the same as on one thread.
//
// With the default thread count the split is adaptive: for each kernel and size (a power of
// two of its multiply-adds) the time per multiply-add of split and of whole calls is tracked,
// and a call is split only while that has been clearly faster here (one call in 256 tries the
// other way, a split one as a burst of 4 calls of every key, to follow the load; a split call
// that follows a whole one, its workers asleep, is not timed), and never while the machine is
// crowded: other processes took over a quarter of the cores lately, or the 1-minute load
// average is above the cores plus a half. A worker spins half a millisecond before it sleeps,
// longer than a whole call between two split ones; a gemvT is cut in one strip of columns per
// thread, at the 64-byte lines of its output. Timings alone cannot tell: at their best split
// calls are faster, but with other work on the cores a worker is often descheduled mid-part
// and the main thread waits for it. On a machine whose cores are busy with other work, splitting loses,
// and the calls stay whole. An explicit { threads } count always splits large calls.
//
// kernelThreadsCommon() holds what both sides run; a worker is started on its source text
// (Function.prototype.toString of this fixed function, never spec text), so the main thread and
// the workers cannot split a call differently. The text is written once, typed, in
// runtime-wasm-typed.ts; THREADS_RUNTIME is its generated JavaScript twin.

export { THREADS_RUNTIME } from './runtime-wasm-typed.generated.js';
export { THREADS_RUNTIME_TS } from './runtime-wasm-typed.js';

