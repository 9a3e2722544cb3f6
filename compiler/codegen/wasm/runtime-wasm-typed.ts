// The one source of the SIMD kernels' runtime in generated CPU modules, typed: the worker-thread
// glue (runtime-threads.ts says how it works) and instantiateKernels (runtime-kernels.ts). As for
// runtime-typed.ts, `npm run runtimes` writes the JavaScript twin, types cut out, into
// runtime-wasm-typed.generated.ts. WASM_TYPES is TypeScript only: the part of the WebAssembly
// and Node APIs this code uses, declared in the module itself so that a strict check needs no
// DOM lib and no @types/node (module-level declarations shadow any global ones, never merge).

/** Declarations printed before the kernels' runtime in `--emit ts` (no JavaScript twin). */
export const WASM_TYPES = `/** The kernels' exports: offsets into the memory in bytes, sizes and strides in entries. */
interface KernelExports {
  gemv(A: number, lda: number, x: number, y: number, m: number, n: number): void;
  gemvT(A: number, lda: number, v: number, y: number, m: number, n: number): void;
  ger(B: number, ldb: number, u: number, incu: number, w: number, m: number, n: number): void;
  gemm(C: number, ldc: number, A: number, ai: number, al: number, B: number, ldb: number, m: number, n: number, depth: number, sym: number): void;
  gemvGemvT(A: number, lda: number, x: number, u: number, c: number, v: number, y: number, s: number, m: number, n: number, part: number): void;
  /** The paired kernel's (kernels-paired.wat): there only in the modules that embed it. */
  gemvGemvT2(A: number, lda: number, x: number, u: number, c: number, v: number, y: number, s: number, x2: number, u2: number, c2: number, v2: number, y2: number, s2: number, m: number, n: number, part: number): void;
  gemv2(A: number, lda: number, x: number, x2: number, y: number, y2: number, m: number, n: number): void;
}
/** The paired kernel's four builds (base64), as the modules that call it embed them. */
interface PairedKernels {
  readonly plain: string;
  readonly shared: string;
  readonly relaxed: string;
  readonly relaxedShared: string;
}
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
/** The part of the WebAssembly API the kernels use (lib es2023 declares none). */
declare const WebAssembly: {
  validate(code: Uint8Array): boolean;
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (code: Uint8Array) => object;
  Instance: new (module: object, imports: { env: { memory: WasmMemory } } & Record<string, object>) => { readonly exports: KernelExports };
};
/** A WebAssembly sweep (sweep-wasm.ts): from, to, the direction count, the deferred steps, the first direction, then byte offsets of its buffers; the step whose check failed, or −1. */
type WasmSweepFunction = (...args: number[]) => number;
/** The module's sweeps as a worker thread instantiates them: the shared-memory build, the Math functions it imports, and the sweeps that split, in order. */
interface SplitSweeps {
  readonly module: object;
  readonly math: readonly string[];
  readonly names: readonly string[];
}
interface NodeWorker {
  unref(): void;
  once(event: 'error', listener: () => void): unknown;
  terminate(): unknown;
}
/** Host functions outside lib es2023 (every engine that runs the kernels has them). */
declare function atob(data: string): string;
declare function setTimeout(callback: () => void, ms: number): unknown;
declare const performance: { now(): number };
/** What the worker threads use of Node, through process.getBuiltinModule where there is one. */
interface NodeGlobal {
  process?: {
    getBuiltinModule?: ((id: 'node:os') => NodeOs) & ((id: 'node:worker_threads') => { Worker: new (source: string, options: { eval: true; workerData: unknown }) => NodeWorker });
    cpuUsage?(): { user: number; system: number };
  };
}

interface NodeOs {
  availableParallelism(): number;
  loadavg(): number[];
  cpus(): { times: { user: number; nice: number; sys: number; irq: number } }[];
}`;

/**
 * A sweep whose directions split (sweep-wasm.ts, DirectionSplit) runs in parts only from this
 * much work (steps × directions × its work per direction and step): waking the workers costs
 * tens of microseconds, a part should take a millisecond or more.
 */
export const SWEEP_SPLIT_MIN_WORK = 1 << 22;

/** The most buffers a sweep split by directions may have: its arguments (8, and two per buffer) fill the threads' control block's 64. */
export const SWEEP_BUFFERS_MAX = 28;

/** Kernel calls below this many multiply-adds stay on one thread (the WebAssembly sweeps call only those). */
export const PARALLEL_MIN_WORK = 32768;

/** The fixed parts of the kernel gemvGemvT (kernels.wat cuts its rows into this many; a fused call's scratch holds one row of n per part). */
export const GEMV_GEMVT_PARTS = 8;

/** Splitting large kernel calls over worker threads (runtime-threads.ts). */
export const THREADS_RUNTIME_TS = `/** Calls below this many multiply-adds stay on one thread (samples/bench/threads.ts --threshold measures where splitting starts to pay). */
const PARALLEL_MIN_WORK = ${PARALLEL_MIN_WORK};
/** A sweep whose directions split runs in parts from this much work (steps × directions × work per direction and step). */
const SWEEP_SPLIT_MIN_WORK = ${SWEEP_SPLIT_MIN_WORK};
/**
 * With the default thread count, calls below this many multiply-adds stay whole, untimed: the
 * tries of splitting (see splitPolicy) cost more than splitting could win there (measured on a
 * 2-core AMD EPYC virtual machine, samples/bench/threads.ts --threshold: a 192×192 gemv split
 * took 1.3–1.6 times as long as a whole one, a 256×256 one 0.82 times; a ridge VJP and a tanh
 * layer at n = 192, K = 100, ran 6–10 % slower on the default threads than on { threads: 1 }
 * with splits tried from PARALLEL_MIN_WORK, most of it the tries). At 65536 the tanh layer at
 * n = 256 (P4 of the peer benchmark: three 256×256 products a step) ran 1.6 times as long on the
 * default threads as on one thread in two of three idle runs of samples/bench/threads.ts (a split
 * that small is as fast as a whole call at best and often much slower, and its best times are
 * what the policy compares), and 3 % slower alternated in one process; from 131072 it stays
 * within 2 % there, and a 256×256 call, which splits 0.82 times as fast at best, stays whole.
 */
const ADAPTIVE_MIN_WORK = 131072;
/** Parts per thread a split call is cut into: a late or descheduled thread holds up one small part. */
const PARTS_PER_THREAD = 4;
/**
 * Parts per thread of a sweep split by directions: two. Each part recomputes the iterates and
 * streams the matrices once per step, so small parts cost more than they balance (measured,
 * ridge 100², K = 500, forward Jacobian of 100 directions on 2 threads, alternating in one
 * process: 25.5–25.7 ms with one part per thread, 25.5–27.8 with two, 27.9–28.1 with four,
 * 34.4–40.4 splitting each product instead, 43–45 on one thread). Two keep a late thread's
 * share to a half of its work; a sweep splits only while the machine is not crowded.
 */
const SWEEP_PARTS_PER_THREAD = 2;
/**
 * Parts per thread of a split gemvT: one. Its part is a strip of columns down every row, and
 * the narrower the strip, the sooner the prefetchers lose a row's stream as it jumps to the
 * next (measured, ridge VJP on 2 threads: at n = 1000 strips of 125 columns left a split gemvT
 * barely faster than a whole one, strips of 500 made it 1.7 times faster; at n = 4000 the whole
 * VJP took 1.37 s with two strips against 1.54–1.66 s with six).
 */
const GEMVT_PARTS_PER_THREAD = 1;
/**
 * One call in this many tries the way that has been slower (split: a burst of SPLIT_BURST calls
 * of each key), so the choice follows a changing load. Each burst that finds splitting still
 * slower doubles the interval, up to EXPLORE_MOST: on a machine where splits keep losing (its
 * cores busy with other work), the bursts' cost falls towards nothing instead of staying one
 * burst in EXPLORE_EVERY.
 */
const EXPLORE_EVERY = 256;
const EXPLORE_MOST = 16384;
const SPLIT_BURST = 4;
/** A call is split only where split calls took less than this fraction of the time of whole ones. */
const SPLIT_MARGIN = 0.85;
/** How much a timing estimate rises with each run of its way (it falls at once to a faster run). */
const SLOWER_EACH_RUN = 1.01;
/** The fixed parts of the kernel gemvGemvT (kernels.wat): its result does not depend on the thread count. */
const GEMV_GEMVT_PARTS = ${GEMV_GEMVT_PARTS};
/** Parts [from, to) of gemvGemvT run here in turn; part GEMV_GEMVT_PARTS is the sum of the others. */
function gemvGemvTParts(k: KernelExports, A: number, lda: number, x: number, u: number, c: number, v: number, y: number, s: number, m: number, n: number, from: number, to: number) {
  for (let part = from; part < to; part++) k.gemvGemvT(A, lda, x, u, c, v, y, s, m, n, part);
}
/** The same for gemvGemvT2, whose arguments (after A and lda: two sets of x, u, c, v, y, s, then m and n) are \`a\`. */
function gemvGemvT2Parts(k: KernelExports, a: readonly number[], from: number, to: number) {
  for (let part = from; part < to; part++) k.gemvGemvT2(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15], part);
}
/** Spins (a few microseconds) before the main thread sleeps until a split call's last part is done. */
const MAIN_SPINS = 2000;

/** Other processes' share of the machine's cores above which it counts as crowded. */
const OTHERS_CROWD = 0.25;
/** How long a look that found the machine crowded keeps it so (a load that comes and goes). */
const CROWDED_FOR_MS = 5000;

/**
 * Whether other work crowds the machine's cores, read at most every half second: other
 * processes took more than OTHERS_CROWD of the cores' time in a look of the last
 * CROWDED_FOR_MS (the cores' busy time less this process's own, workers included, since the
 * look before). The first look has nothing to compare with and reads the 1-minute load average
 * (this process's threads included) against the cores plus a half, as does every look where
 * the system lists no cores. Only then: the load average still counts work that ended up to a
 * minute ago (measured: a benchmark started just after others ran whole calls, 28 ms against
 * 16 split). Never where the engine reports no load (Windows' load average is 0; browsers have
 * neither).
 */
function crowdedMonitor(os: NodeOs | undefined, usage: (() => { user: number; system: number }) | undefined, clock: () => number = () => performance.now()) {
  let checkedAt = -Infinity;
  let crowdedAt = -Infinity;
  let crowded = false;
  let busyBefore = 0;
  let ownBefore = 0;
  return () => {
    const now = clock();
    if (os && now - checkedAt > 500) {
      // busy time over every core the system lists (in a container, the host's), so the share is of those
      const cpus = os.cpus();
      const busy = cpus.reduce((sum, c) => sum + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);
      const used = usage?.();
      const own = used ? (used.user + used.system) / 1000 : busy;
      if (checkedAt === -Infinity || !cpus.length) {
        crowded = os.loadavg()[0] > os.availableParallelism() + 0.5;
      } else {
        if ((busy - busyBefore - (own - ownBefore)) / ((now - checkedAt) * cpus.length) > OTHERS_CROWD) crowdedAt = now;
        crowded = now - crowdedAt < CROWDED_FOR_MS;
      }
      checkedAt = now;
      busyBefore = busy;
      ownBefore = own;
    }
    return crowded;
  };
}
const machineCrowded = crowdedMonitor((globalThis as unknown as NodeGlobal).process?.getBuiltinModule?.('node:os'), (globalThis as unknown as NodeGlobal).process?.cpuUsage);

/** Stops the worker threads of an instance that was collected without release(). */
const releaseWhenCollected = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry((release: () => void) => release()) : null;

/** The default thread count: the cores Node reports, at most 4; 1 where there are no worker threads. */
function defaultKernelThreads(): number {
  const getBuiltin = (globalThis as unknown as NodeGlobal).process?.getBuiltinModule;
  if (typeof getBuiltin !== 'function' || typeof SharedArrayBuffer !== 'function') return 1;
  return Math.max(1, Math.min(4, getBuiltin('node:os').availableParallelism()));
}

/**
 * What the main thread and the kernels' worker threads share: the control words, how a call is
 * cut into parts, and the loop that claims parts. Workers run this function's own source.
 */
function kernelThreadsCommon() {
  // Int32Array over a SharedArrayBuffer; CLAIM and DONE on cache lines of their own
  // (call << 18) | (parts << 12) | (parts claimed from the back << 6) | parts claimed from the
  // front: one word, so a claim (a compare-exchange) fails if anything changed since it was read
  const CLAIM = 0;
  const DONE = 16; // parts finished
  const SLEEPERS = 32; // workers asleep in Atomics.wait
  const READY = 33; // workers started
  const KERNEL = 34; // which kernel: KERNEL_IDS
  const ARGS = 35; // its arguments, at most 64 (a split sweep's: 8, and two per buffer)
  const WORKER_PARTS = 99; // parts the workers ran, in all
  const FAILED = 100; // 1 when a part threw (a kernel trapped): the call fails, no thread waits forever
  const STOPPED = 101; // 1 when a part of a split sweep stopped at a failed check
  const SIZE = 102;
  /** At most this many parts a call (six bits in CLAIM), and call numbers below CALLS (13 bits: the word stays positive). */
  const MAX_PARTS = 63;
  const CALLS = 0x2000;
  /** CLAIM as a call is posted: its number and parts, none claimed yet. */
  const posted = (call: number, parts: number): number => (call << 18) | (parts << 12);
  const KERNEL_IDS = { gemv: 0, gemvT: 1, ger: 2, gemm: 3, gemvGemvT: 4, gemvGemvT2: 5, gemv2: 6, sweep: 7, gemms: 8 };
  /** Arguments of one gemm in a list of them (KERNEL_IDS.gemms). */
  const GEMM_ARGS = 11;
  // the memory the kernels run on (useMemory), where a list of gemms is read from
  let memoryHere: WasmMemory | null = null;
  function useMemory(memory: WasmMemory): void {
    memoryHere = memory;
  }
  /** The most buffers a split sweep may have (its arguments fill ARGS; sweep-wasm.ts splits no sweep with more). */
  const SWEEP_BUFFERS_MAX = ${SWEEP_BUFFERS_MAX};
  /**
   * Milliseconds a worker with nothing to do spins before it sleeps. Waking a sleeping worker
   * costs tens of microseconds, as much as a part of a split call at n = 1000, so the spin
   * outlasts a whole call between two split ones (a sweep often splits one product and not the
   * next: ridge at n = 1000 ran 53 ms with this spin, 67–79 ms with one of 40 µs). It takes a
   * core only after a split call, and calls are split only while the machine is not crowded.
   */
  const SPIN_MS = 0.5;

  /**
   * Part \`part\` of \`parts\` of the posted call: rows [r0, r1) of the output, cut at multiples
   * of 4 (a split sweep's: directions, \`sweeps\` the functions of the module's sweeps that split).
   */
  function runPart(k: KernelExports, c: Int32Array, part: number, parts: number, sweeps: readonly WasmSweepFunction[]): void {
    const cut = (size: number, p: number, align: number) => (p === parts ? size : Math.floor((size * p) / parts / align) * align);
    const a = ARGS;
    switch (c[KERNEL]) {
      case KERNEL_IDS.sweep: {
        // arguments: which sweep, from, to, the direction count, the deferred steps, the parts'
        // copies (their start, and the bytes of each part's), the buffer count, then each
        // buffer's byte offset and kind (DirectionSplit: 0 shared, > 0 a stride, < 0 a copy per
        // part at that byte offset − 1 in the part's block). The last part runs on the buffers
        // themselves, so they end as a whole sweep leaves them.
        const d0 = cut(c[a + 3], part, 4), d1 = cut(c[a + 3], part + 1, 4);
        const args = [c[a + 1], c[a + 2], d1 - d0, c[a + 4], d0];
        for (let i = 0; i < c[a + 7]; i++) {
          const at = c[a + 8 + 2 * i], kind = c[a + 9 + 2 * i];
          args.push(kind > 0 ? at + 8 * d0 * kind : kind === 0 || part === parts - 1 ? at : c[a + 5] + part * c[a + 6] - kind - 1);
        }
        // a part that stops at a failed check: the caller runs the sweep again, whole
        if (sweeps[c[a]](...args) !== -1) Atomics.store(c, STOPPED, 1);
        return;
      }
      case KERNEL_IDS.gemv: {
        const r0 = cut(c[a + 4], part, 4), r1 = cut(c[a + 4], part + 1, 4);
        k.gemv(c[a] + 8 * r0 * c[a + 1], c[a + 1], c[a + 2], c[a + 3] + 8 * r0, r1 - r0, c[a + 5]);
        return;
      }
      case KERNEL_IDS.gemv2: {
        const r0 = cut(c[a + 6], part, 4), r1 = cut(c[a + 6], part + 1, 4);
        k.gemv2(c[a] + 8 * r0 * c[a + 1], c[a + 1], c[a + 2], c[a + 3], c[a + 4] + 8 * r0, c[a + 5] + 8 * r0, r1 - r0, c[a + 7]);
        return;
      }
      case KERNEL_IDS.gemvT: {
        // y[j] sums over every row: cut the columns instead, at 64-byte lines of y. gemvT loads
        // and stores its y pairs once per eight rows, so parts that shared a line would pass it
        // between cores hundreds of times a call (measured: split gemvT at n = 1000 gained
        // nothing over a whole call with cuts at multiples of 4 entries)
        const y0 = c[a + 3] / 8; // y's first entry, from the memory's start
        const lineAt = (p: number) => (p === parts ? c[a + 5] : Math.max(0, Math.floor((y0 + (c[a + 5] * p) / parts) / 8) * 8 - y0));
        const j0 = lineAt(part), j1 = lineAt(part + 1);
        k.gemvT(c[a] + 8 * j0, c[a + 1], c[a + 2], c[a + 3] + 8 * j0, c[a + 4], j1 - j0);
        return;
      }
      case KERNEL_IDS.ger: {
        const r0 = cut(c[a + 5], part, 4), r1 = cut(c[a + 5], part + 1, 4);
        k.ger(c[a] + 8 * r0 * c[a + 1], c[a + 1], c[a + 2] + 8 * r0 * c[a + 3], c[a + 3], c[a + 4], r1 - r0, c[a + 6]);
        return;
      }
      case KERNEL_IDS.gemvGemvT:
        // its parts are the kernel's own fixed eight (the main thread then runs the ninth, the sum)
        k.gemvGemvT(c[a], c[a + 1], c[a + 2], c[a + 3], c[a + 4], c[a + 5], c[a + 6], c[a + 7], c[a + 8], c[a + 9], part);
        return;
      case KERNEL_IDS.gemvGemvT2:
        k.gemvGemvT2(c[a], c[a + 1], c[a + 2], c[a + 3], c[a + 4], c[a + 5], c[a + 6], c[a + 7], c[a + 8], c[a + 9], c[a + 10], c[a + 11], c[a + 12], c[a + 13], c[a + 14], c[a + 15], part);
        return;
      case KERNEL_IDS.gemm:
        gemmPart(k, c, a, part, parts);
        return;
      case KERNEL_IDS.gemms: {
        // a list of gemms in the memory (arguments: its byte offset and length), each cut as one
        const list = new Int32Array(memoryHere!.buffer, c[a]!, GEMM_ARGS * c[a + 1]!);
        for (let g = 0; g < c[a + 1]!; g++) gemmPart(k, list, GEMM_ARGS * g, part, parts);
        return;
      }
    }
  }

  /** Part \`part\` of \`parts\` of the gemm whose arguments are \`c\` from \`a\`: a block of C's rows. */
  function gemmPart(k: KernelExports, c: Int32Array, a: number, part: number, parts: number): void {
    const cut = (size: number, p: number) => (p === parts ? size : Math.floor((size * p) / parts / 4) * 4);
    const C = c[a]!, ldc = c[a + 1]!, A = c[a + 2]!, ai = c[a + 3]!, al = c[a + 4]!, B = c[a + 5]!, ldb = c[a + 6]!, m = c[a + 7]!, n = c[a + 8]!, depth = c[a + 9]!;
    if (c[a + 10] && m === n && m % 4 === 0) {
      // XᵀX computes blocks on and above the diagonal: rows cut so each part has as many,
      // each part the corner of C that starts on the diagonal at its first row
      const at = (p: number) => (p === parts ? m : Math.floor((m * (1 - Math.sqrt(1 - p / parts))) / 4) * 4);
      const r0 = at(part), r1 = at(part + 1);
      k.gemm(C + 8 * r0 * (ldc + 1), ldc, A + 8 * r0 * ai, ai, al, B + 8 * r0, ldb, r1 - r0, n - r0, depth, 1);
    } else {
      const r0 = cut(m, part), r1 = cut(m, part + 1);
      k.gemm(C + 8 * r0 * ldc, ldc, A + 8 * r0 * ai, ai, al, B, ldb, r1 - r0, n, depth, 0);
    }
  }

  /**
   * Claims and runs parts of call \`call\` until none are left (or another call was posted); how
   * many it ran. The main thread claims from the front (parts 0, 1, ...), the workers from the
   * back, until the two meet: each thread then runs mostly the same rows call after call, which
   * its caches still hold (measured, a split gemvGemvT at n = 1000 on 2 threads: 158–160 µs
   * against 168–182 µs with every thread taking the next part in turn; 0.89× at n = 2000). A
   * part's result does not depend on the thread that runs it.
   */
  function claimParts(k: KernelExports, c: Int32Array, call: number, fromBack: boolean, sweeps: readonly WasmSweepFunction[]): number {
    let ran = 0;
    for (;;) {
      const claim = Atomics.load(c, CLAIM);
      const front = claim & 63, back = (claim >> 6) & 63, parts = (claim >> 12) & 63;
      if (claim >> 18 !== call || front + back >= parts) return ran;
      if (Atomics.compareExchange(c, CLAIM, claim, fromBack ? claim + 64 : claim + 1) !== claim) continue;
      // the arguments stay put until every claimed part is done
      try {
        runPart(k, c, fromBack ? parts - 1 - back : front, parts, sweeps);
      } catch {
        Atomics.store(c, FAILED, 1);
      }
      // the last part done wakes the main thread if it sleeps on DONE
      if (Atomics.add(c, DONE, 1) + 1 === parts) Atomics.notify(c, DONE);
      ran++;
    }
  }

  /** The kernels' instance on \`memory\`, with the paired kernel's (which imports theirs) where there is one. */
  function instantiateOn(module: object, paired: object | null, memory: WasmMemory): KernelExports {
    const k = new WebAssembly.Instance(module, { env: { memory } }).exports;
    return paired ? { ...k, ...new WebAssembly.Instance(paired, { env: { memory }, kernels: k }).exports } : k;
  }

  /**
   * The kernels as whole calls on this thread (gemvGemvT: every part, then the sum, as the
   * threaded function runs them): a module's on one thread, and a split sweep part's
   * \`threaded\` imports.
   */
  function wholeKernels(k: KernelExports) {
    const parts = ${GEMV_GEMVT_PARTS};
    const gemvGemvT = (A: number, lda: number, x: number, u: number, cc: number, v: number, y: number, s: number, m: number, n: number) => {
      for (let part = 0; part <= parts; part++) k.gemvGemvT(A, lda, x, u, cc, v, y, s, m, n, part);
    };
    // (gemv2 where the module embeds the paired kernels, whose sweeps may then call it); a
    // deferred gemm runs at once, so there is nothing to flush or settle
    return { gemv: k.gemv, gemvT: k.gemvT, ger: k.ger, gemm: k.gemm, gemvGemvT, gemv2: k.gemv2, deferredGemm: k.gemm, flushDeferred(_wait: number): void {}, settleDeferred(): void {} };
  }

  /** The sweeps that split, on this thread's kernels (whole calls) and the memory, in the order of \`names\`. */
  function instantiateSweeps({ module, math, names }: SplitSweeps, k: KernelExports, memory: WasmMemory): WasmSweepFunction[] {
    const functions = Object.fromEntries(math.map((f) => [f, (Math as unknown as Record<string, unknown>)[f]]));
    const exports = new WebAssembly.Instance(module, { ...(math.length ? { Math: functions } : {}), kernels: k, threaded: wholeKernels(k), env: { memory } }).exports as unknown as Record<string, WasmSweepFunction>;
    return names.map((name) => exports[name]!);
  }

  /** A worker thread: instantiates the kernels (and the sweeps that split) on the shared memory, then claims parts of every call. */
  function workerMain({ module, paired, sweeps, memory, control }: { module: object; paired: object | null; sweeps: SplitSweeps | null; memory: WasmMemory; control: SharedArrayBuffer }): void {
    const c = new Int32Array(control);
    const k = instantiateOn(module, paired, memory);
    useMemory(memory);
    const sweepFunctions = sweeps ? instantiateSweeps(sweeps, k, memory) : [];
    Atomics.add(c, READY, 1);
    let seen = Atomics.load(c, CLAIM) >> 18;
    for (;;) {
      let claim = Atomics.load(c, CLAIM);
      // the clock is read one spin in 256 (a read costs tens of loads)
      for (let spins = 0, since = performance.now(); claim >> 18 === seen; claim = Atomics.load(c, CLAIM)) {
        if ((++spins & 255) !== 0 || performance.now() - since < SPIN_MS) continue;
        Atomics.add(c, SLEEPERS, 1);
        Atomics.wait(c, CLAIM, claim);
        Atomics.sub(c, SLEEPERS, 1);
        since = performance.now();
      }
      seen = claim >> 18;
      const ran = claimParts(k, c, seen, true, sweepFunctions);
      if (ran > 0) Atomics.add(c, WORKER_PARTS, ran);
    }
  }

  return { CLAIM, DONE, SLEEPERS, READY, KERNEL, ARGS, WORKER_PARTS, FAILED, STOPPED, SIZE, MAX_PARTS, CALLS, KERNEL_IDS, GEMM_ARGS, SWEEP_BUFFERS_MAX, posted, claimParts, useMemory, instantiateOn, instantiateSweeps, wholeKernels, workerMain };
}

/**
 * The adaptive choice between a split and a whole call, per kernel and power of two of the work
 * (the key). It keeps milliseconds per multiply-add of each way as a decaying minimum (a call
 * slowed by other work on the machine does not count against its way; a lasting slowdown raises
 * the estimate by SLOWER_EACH_RUN per run). A minimum compares the ways at their best, so on a
 * machine crowded with other work, where two threads win only by taking more of the cores from
 * it, calls stay whole: never much slower than { threads: 1 }, the default's promise (a mean was
 * measured too heavy-tailed to decide on). choose() says whether to split the next call of a
 * key; record() takes its time.
 */
function splitPolicy() {
  const timings = new Map<number, { whole: number; split: number; wholeRuns: number; splitRuns: number; calls: number; interval: number; next: number }>();
  // calls (of any key) left in the current burst of splits
  let burst = 0;
  // whether the previous call was split: its workers are still spinning, not asleep
  let lastSplit = false;
  // the call chosen last is a split that follows a whole call: not timed
  let cold = false;
  return {
    choose(key: number): boolean {
      let t = timings.get(key);
      if (t === undefined) timings.set(key, (t = { whole: Infinity, split: Infinity, wholeRuns: 0, splitRuns: 0, calls: 0, interval: EXPLORE_EVERY, next: EXPLORE_EVERY }));
      t.calls++;
      // split only when clearly faster: a wrong split costs more than a wrong whole call
      const faster = t.split < SPLIT_MARGIN * t.whole;
      const explore = t.splitRuns >= 3 && t.wholeRuns >= 3 && t.calls >= t.next;
      if (explore) {
        // whole calls winning again and again: try splits less often (each try on a busy machine
        // is a few slow calls, and one lucky fast split would make the minimum favour splitting);
        // while splits win, try a whole call one in EXPLORE_EVERY
        t.interval = faster ? EXPLORE_EVERY : Math.min(EXPLORE_MOST, t.interval * 2);
        t.next = t.calls + t.interval;
      }
      // trying splits again: a burst of SPLIT_BURST calls of every key. A split that follows a
      // whole call finds the workers asleep (a whole call outlasts their spin) and pays for waking
      // them, which split calls in a row do not: it is not timed. Were only this key's calls
      // split, between whole calls of the others, none of its splits would be timed warm, and a
      // sweep whose products all split well would stay whole (measured: ridge at n = 1000).
      if (explore && !faster) burst = SPLIT_BURST * timings.size;
      const splitNow = burst > 0 || (t.splitRuns < 3 ? true : t.wholeRuns < 3 ? false : explore ? !faster : faster);
      if (burst > 0) burst--;
      cold = splitNow && !lastSplit;
      return splitNow;
    },
    record(key: number, split: boolean, perWork: number): void {
      const t = timings.get(key)!;
      if (split) {
        if (!cold) t.split = Math.min(perWork, t.split * SLOWER_EACH_RUN);
        t.splitRuns++;
      } else {
        t.whole = Math.min(perWork, t.whole * SLOWER_EACH_RUN);
        t.wholeRuns++;
      }
      lastSplit = split;
    },
  };
}

/**
 * The kernels with calls of at least PARALLEL_MIN_WORK multiply-adds split over \`threads\`
 * threads (with \`crowded\`, a function: calls of at least ADAPTIVE_MIN_WORK, only while
 * splitting has been the faster here and crowded() is false; the default thread count passes
 * machineCrowded). The workers start at the first such call, or at whenReady(), and are used
 * once all are ready; until then calls run here. They do not keep Node running; release()
 * stops them.
 */
function threadedKernels(k: KernelExports, module: object, memory: WasmMemory, threads: number, crowded: (() => boolean) | null = null, paired: object | null = null) {
  const { CLAIM, DONE, SLEEPERS, READY, KERNEL, ARGS, WORKER_PARTS, FAILED, STOPPED, SIZE, MAX_PARTS, CALLS, KERNEL_IDS, SWEEP_BUFFERS_MAX, posted, claimParts, useMemory, instantiateSweeps } = kernelThreadsCommon();
  useMemory(memory);
  const c = new Int32Array(new SharedArrayBuffer(SIZE * 4));
  let workers: NodeWorker[] | null = null;
  // the module's sweeps that split (withSweeps), for the workers, and their functions here
  let splitSweeps: SplitSweeps | null = null;
  let sweepFunctions: WasmSweepFunction[] = [];
  let sweepsSplit = 0;
  let call = 0;
  let starting: Promise<void> | null = null;
  function start(): void {
    const getBuiltin = (globalThis as unknown as NodeGlobal).process?.getBuiltinModule;
    workers = [];
    // an engine without worker_threads (a browser) runs every call here
    if (typeof getBuiltin !== 'function') return;
    const { Worker } = getBuiltin('node:worker_threads');
    const source = '(' + kernelThreadsCommon.toString() + ')().workerMain(require("node:worker_threads").workerData);';
    try {
      for (let i = 1; i < threads; i++) {
        const worker = new Worker(source, { eval: true, workerData: { module, paired, sweeps: splitSweeps, memory, control: c.buffer } });
        worker.unref();
        // a worker that fails (its kernels would not instantiate) stops them all: calls run here
        worker.once('error', release);
        workers!.push(worker);
      }
    } catch {
      release();
    }
  }
  /** Whether every worker started has instantiated its kernels. */
  const ready = () => workers !== null && workers.length > 0 && Atomics.load(c, READY) >= workers.length;
  /** Starts the workers now; resolves once all are ready, or none are left (released, or failed). */
  function whenReady(): Promise<void> {
    if (workers === null) start();
    // polled on a timer, which keeps Node running until then (the workers are unref'd)
    if (starting === null) {
      starting = new Promise<void>((resolve) => {
        const poll = (): unknown => (workers!.length === 0 || ready() ? resolve() : setTimeout(poll, 1));
        poll();
      });
    }
    return starting;
  }
  /** The parts a call of \`kernel\` is cut into on \`threadsNow\` threads (a sweep's: at most a part per 4 of its \`directions\`). */
  function partsOf(kernel: number, threadsNow: number, directions: number): number {
    if (kernel === KERNEL_IDS.gemvGemvT || kernel === KERNEL_IDS.gemvGemvT2) return GEMV_GEMVT_PARTS;
    if (kernel === KERNEL_IDS.sweep) return Math.min(MAX_PARTS, threadsNow * SWEEP_PARTS_PER_THREAD, Math.floor(directions / 4));
    return Math.min(MAX_PARTS, threadsNow * (kernel === KERNEL_IDS.gemvT ? GEMVT_PARTS_PER_THREAD : PARTS_PER_THREAD));
  }
  /** Posts a call (in \`parts\`, else partsOf's) and takes part in it; false (the caller runs it) while the workers are not all ready. */
  function split(kernel: number, args: readonly number[], parts = 0): boolean {
    if (workers === null) start();
    if (!ready() || busy()) return false;
    if (parts === 0) parts = partsOf(kernel, workers!.length + 1, 0);
    postCall(kernel, args, parts);
    claimParts(k, c, call, false, sweepFunctions);
    finish(kernel, parts);
    return true;
  }
  /** Writes a call's arguments and posts it in \`parts\` (the control words are free: no call is running). */
  function postCall(kernel: number, args: readonly number[], parts: number): void {
    c[KERNEL] = kernel;
    for (let i = 0; i < args.length; i++) c[ARGS + i] = args[i]!;
    Atomics.store(c, DONE, 0);
    call = call === CALLS - 1 ? 1 : call + 1;
    Atomics.store(c, CLAIM, posted(call, parts));
    if (Atomics.load(c, SLEEPERS) > 0) Atomics.notify(c, CLAIM);
  }
  /** Waits until the \`parts\` of the posted call are done (the parts other threads claimed are running). */
  function finish(kernel: number, parts: number): void {
    // spin briefly, then sleep until the last part done wakes us (Atomics.wait returns at once
    // if DONE moved on since it was read)
    for (let spins = 0, done = Atomics.load(c, DONE); done < parts; done = Atomics.load(c, DONE)) {
      if (++spins > MAIN_SPINS) Atomics.wait(c, DONE, done);
    }
    // a bug of phic's, not the caller's mistake: a plain Error
    if (Atomics.exchange(c, FAILED, 0) === 1) throw new Error('phic: the SIMD kernel ' + Object.keys(KERNEL_IDS)[kernel] + ' failed in a part of a split call; create(dims, { threads: 1 }) runs without worker threads');
  }
  // a call posted to the workers alone (post), while it is not settled: its kernel and parts
  let postedKernel = 0;
  let postedParts = 0;
  /**
   * Posts a call for the workers alone, one part each, and returns at once (the main thread
   * goes on with other work); false where it cannot (the workers are not ready, or the
   * machine is crowded). A call posted before is settled first. Until this one is settled,
   * no other call splits (they run whole here).
   */
  function post(kernel: number, args: readonly number[]): boolean {
    if (workers === null) start();
    if (!ready() || (crowded !== null && crowded())) return false;
    settle();
    postCall(kernel, args, workers!.length);
    postedKernel = kernel;
    postedParts = workers!.length;
    return true;
  }
  /** Waits for the posted call, running here the parts no worker has claimed yet. */
  function settle(): void {
    if (postedParts === 0) return;
    const parts = postedParts;
    postedParts = 0;
    claimParts(k, c, call, false, sweepFunctions);
    finish(postedKernel, parts);
  }
  /** Whether the posted call is still running (settled here once it is done). */
  function busy(): boolean {
    if (postedParts === 0) return false;
    if (Atomics.load(c, DONE) < postedParts) return true;
    settle();
    return false;
  }
  /** Whether a call posted now would go to the workers (post's condition). */
  const canPost = () => ready() && (crowded === null || !crowded());
  const policy = splitPolicy();
  /** Runs a large call split or whole, whichever has been faster for its kernel and size (adaptive only). */
  function run(kernel: number, work: number, args: readonly number[], whole: () => void): void {
    if (crowded === null) {
      if (!split(kernel, args)) whole();
      return;
    }
    if (!ready() || crowded() || busy()) {
      if (workers === null) start();
      whole();
      return;
    }
    const key = kernel * 64 + Math.floor(Math.log2(work));
    const splitNow = policy.choose(key);
    const t0 = performance.now();
    if (!splitNow || !split(kernel, args)) whole();
    policy.record(key, splitNow, (performance.now() - t0) / work);
  }
  function release(): void {
    settle();
    for (const worker of workers ?? []) worker.terminate();
    workers = [];
  }
  /**
   * The module's sweeps whose directions split: the workers instantiate them as they start
   * (a module registers them as it is created, before any call starts the workers).
   */
  function withSweeps(sweeps: SplitSweeps): void {
    if (workers !== null) return;
    splitSweeps = sweeps;
    sweepFunctions = instantiateSweeps(sweeps, k, memory);
  }
  /**
   * Sweep \`index\` of withSweeps' with \`args\` (from, to, the direction count, the deferred
   * steps) cut into parts of its directions, when the workers are ready (and, with the default
   * thread count, the machine is not crowded): \`prepare(parts)\` lays out the parts' copies
   * and gives their arguments (the copies' start, the bytes per part, then per buffer its
   * offset and kind), or null. 'whole' where it did not split (as without workers: the
   * caller runs it whole), 'split' where it did, 'stopped' where a part stopped at a failed
   * check (the caller restores the values and runs it whole).
   */
  function sweep(index: number, args: readonly number[], prepare: (parts: number) => number[] | null): 'whole' | 'split' | 'stopped' {
    if (splitSweeps === null) return 'whole';
    if (workers === null) start();
    if (!ready() || (crowded !== null && crowded()) || busy()) return 'whole';
    const parts = partsOf(KERNEL_IDS.sweep, workers!.length + 1, args[2]!);
    if (parts < 2) return 'whole';
    const layout = prepare(parts);
    if (layout === null || layout.length - 2 > 2 * SWEEP_BUFFERS_MAX) return 'whole';
    if (!split(KERNEL_IDS.sweep, [index, ...args, layout[0]!, layout[1]!, (layout.length - 2) / 2, ...layout.slice(2)], parts)) return 'whole';
    sweepsSplit++;
    return Atomics.exchange(c, STOPPED, 0) === 1 ? 'stopped' : 'split';
  }
  // the smallest call split: the default thread count (adaptive) tries splitting only from ADAPTIVE_MIN_WORK
  const minWork = crowded === null ? PARALLEL_MIN_WORK : ADAPTIVE_MIN_WORK;
  const big = (work: number) => work >= minWork;
  return {
    gemv(A: number, lda: number, x: number, y: number, m: number, n: number): void {
      if (big(m * n)) run(KERNEL_IDS.gemv, m * n, [A, lda, x, y, m, n], () => k.gemv(A, lda, x, y, m, n));
      else k.gemv(A, lda, x, y, m, n);
    },
    gemvT(A: number, lda: number, v: number, y: number, m: number, n: number): void {
      if (big(m * n)) run(KERNEL_IDS.gemvT, m * n, [A, lda, v, y, m, n], () => k.gemvT(A, lda, v, y, m, n));
      else k.gemvT(A, lda, v, y, m, n);
    },
    ger(B: number, ldb: number, u: number, incu: number, w: number, m: number, n: number): void {
      if (big(m * n)) run(KERNEL_IDS.ger, m * n, [B, ldb, u, incu, w, m, n], () => k.ger(B, ldb, u, incu, w, m, n));
      else k.ger(B, ldb, u, incu, w, m, n);
    },
    gemm(C: number, ldc: number, A: number, ai: number, al: number, B: number, ldb: number, m: number, n: number, depth: number, sym: number): void {
      const work = m * n * depth;
      if (big(work)) run(KERNEL_IDS.gemm, work, [C, ldc, A, ai, al, B, ldb, m, n, depth, sym], () => k.gemm(C, ldc, A, ai, al, B, ldb, m, n, depth, sym));
      else k.gemm(C, ldc, A, ai, al, B, ldb, m, n, depth, sym);
    },
    gemvGemvT(A: number, lda: number, x: number, u: number, cc: number, v: number, y: number, s: number, m: number, n: number) {
      const parts = () => gemvGemvTParts(k, A, lda, x, u, cc, v, y, s, m, n, 0, GEMV_GEMVT_PARTS);
      if (big(m * n)) run(KERNEL_IDS.gemvGemvT, m * n, [A, lda, x, u, cc, v, y, s, m, n], parts);
      else parts();
      // the sum, here, once every part is done (split or whole)
      gemvGemvTParts(k, A, lda, x, u, cc, v, y, s, m, n, GEMV_GEMVT_PARTS, GEMV_GEMVT_PARTS + 1);
    },
    gemv2(A: number, lda: number, x: number, x2: number, y: number, y2: number, m: number, n: number): void {
      // twice the work of one gemv (its timings are kept apart from those of one)
      if (big(m * n)) run(KERNEL_IDS.gemv2, 2 * m * n, [A, lda, x, x2, y, y2, m, n], () => k.gemv2(A, lda, x, x2, y, y2, m, n));
      else k.gemv2(A, lda, x, x2, y, y2, m, n);
    },
    gemvGemvT2(A: number, lda: number, x: number, u: number, cc: number, v: number, y: number, s: number, x2: number, u2: number, c2: number, v2: number, y2: number, s2: number, m: number, n: number) {
      const args = [A, lda, x, u, cc, v, y, s, x2, u2, c2, v2, y2, s2, m, n];
      // twice the work of one gemvGemvT (its timings are kept apart from those of one)
      if (big(m * n)) run(KERNEL_IDS.gemvGemvT2, 2 * m * n, args, () => gemvGemvT2Parts(k, args, 0, GEMV_GEMVT_PARTS));
      else gemvGemvT2Parts(k, args, 0, GEMV_GEMVT_PARTS);
      gemvGemvT2Parts(k, args, GEMV_GEMVT_PARTS, GEMV_GEMVT_PARTS + 1);
    },
    threads: () => (ready() ? workers!.length + 1 : 1),
    whenReady,
    release,
    withSweeps,
    sweep,
    post,
    settle,
    canPost,
    /** Parts of calls the worker threads ran (the tests check that calls were split). */
    workerParts: () => Atomics.load(c, WORKER_PARTS),
    /** Sweeps that ran split in parts of their directions (the tests check that they did). */
    sweepsSplit: () => sweepsSplit,
  };
}`;

/** The kernels on a memory of their own, and views of it (runtime-kernels.ts; it follows the threads' runtime). */
export const INSTANTIATE_KERNELS_TS = `/** Which kernels to run: 'relaxed' (fused multiply-adds) where the engine has relaxed SIMD, else 'simd'; or the one asked for. */
function kernelBuild(requested: 'simd' | 'relaxed' | undefined): 'simd' | 'relaxed' {
  if (requested === 'simd') return 'simd';
  const relaxed = typeof WebAssembly.validate === 'function' && WebAssembly.validate(RELAXED_SIMD_PROBE);
  if (requested === 'relaxed' && !relaxed) fail('usage', "options.kernels is 'relaxed', but this JavaScript engine has no WebAssembly relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd): leave it out, or use 'simd'");
  return relaxed ? 'relaxed' : 'simd';
}

/**
 * The kernels for create()'s options: the threads asked for (split always), or the default
 * count (split where it pays and the machine is not crowded); with the paired kernel where the
 * module embeds it.
 */
function kernelsFor(options: CreateOptions | undefined, paired: PairedKernels | null = null) {
  const { threads, kernels } = createOptions(options);
  return instantiateKernels(threads ?? defaultKernelThreads(), kernelBuild(kernels), threads === undefined ? machineCrowded : null, paired);
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
function instantiateKernels(threads: number, build: 'simd' | 'relaxed' = 'simd', crowded: (() => boolean) | null = null, paired: PairedKernels | null = null) {
  const shared = threads > 1;
  const base64 = build === 'relaxed' ? (shared ? KERNELS_WASM_RELAXED_SHARED : KERNELS_WASM_RELAXED) : shared ? KERNELS_WASM_SHARED : KERNELS_WASM;
  const decode = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  const memory = shared ? new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true }) : new WebAssembly.Memory({ initial: 1 });
  let module: object;
  let pairedModule: object | null = null;
  let k: KernelExports;
  try {
    module = new WebAssembly.Module(decode(base64));
    if (paired) pairedModule = new WebAssembly.Module(decode(build === 'relaxed' ? (shared ? paired.relaxedShared : paired.relaxed) : shared ? paired.shared : paired.plain));
    k = kernelThreadsCommon().instantiateOn(module, pairedModule, memory);
  } catch (e) {
    fail('usage', 'this module calls WebAssembly SIMD kernels, which this JavaScript engine cannot run (' + (e as Error).message + '): compile it with --kernels js');
  }
  const padded = (n: number) => Math.ceil(n / 2) * 16;
  let laidOut = 0;
  function views(sizes: readonly number[]): Float64Array[] {
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
  // every part, the sum last, as the threaded version runs them
  const gemvGemvT2 = (...args: number[]) => gemvGemvT2Parts(k, args, 0, GEMV_GEMVT_PARTS + 1);
  const kernels = shared ? withDeferred(threadedKernels(k!, module!, memory, threads, crowded, pairedModule)) : { ...kernelThreadsCommon().wholeKernels(k!), gemvGemvT2, threads: () => 1, whenReady: () => Promise.resolve(), release() {}, workerParts: () => 0, sweepsSplit: () => 0, deferredPosted: () => 0, withSweeps() {}, sweep: (): 'whole' | 'split' | 'stopped' => 'whole' };
  /**
   * The threaded kernels with the deferred gemms of a backward sweep (defer-updates.ts): each
   * block of waiting rank-1 updates is a gemm per direction and update, which nothing else in
   * the sweep reads or writes until it ends. deferredGemm queues one; flushDeferred(wait)
   * posts the queue to the worker threads, which run it while this thread goes on with the
   * sweep's next steps, and settleDeferred() waits for it (the sweep calls it as it ends, and
   * the next block's first gemm does). The rows of u each gemm reads are copied after the
   * layout first, since the sweep writes the next block into the same rows at once. The gemms
   * run as they would here, in the same order (a list settles before the next is queued), so
   * the results are the same bits.
   *
   * Only a gemm whose rank-1 update is too small to split per step (below ADAPTIVE_MIN_WORK)
   * is posted: there the sweep's own products run whole, so the worker threads are idle
   * otherwise. Larger ones, and any while the workers are not ready or the machine is
   * crowded, run at once (split as any call).
   */
  function withDeferred(threaded: ReturnType<typeof threadedKernels>) {
    const { KERNEL_IDS, GEMM_ARGS } = kernelThreadsCommon();
    // the queued gemms' arguments (their u's copied after the layout, up to \`end\`)
    const queue: number[] = [];
    let open = false;
    let later = false;
    let end = 0;
    let lists = 0;
    function deferredGemm(C: number, ldc: number, A: number, ai: number, al: number, B: number, ldb: number, m: number, n: number, depth: number, sym: number): void {
      if (!open) {
        // a block's first gemm: the one posted before has to be done (it may write the same C)
        threaded.settle();
        open = true;
        later = threaded.canPost();
        end = Math.ceil(laidOut / 64) * 64;
      }
      // one size decides for every gemm on the same C, so they keep their order
      if (!later || m * n >= ADAPTIVE_MIN_WORK || m * n * depth < PARALLEL_MIN_WORK) {
        threaded.gemm(C, ldc, A, ai, al, B, ldb, m, n, depth, sym);
        return;
      }
      const bytes = 8 * ((m - 1) * ai + (depth - 1) * al + 1);
      // room for the copy and, after it, the list of this one and those queued
      const need = end + padded(bytes / 8) + 4 * GEMM_ARGS * (queue.length / GEMM_ARGS + 1);
      try {
        if (need > memory.buffer.byteLength) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
      } catch {
        // no memory for the copy: the queue and this one run here, in order
        runQueue();
        later = false;
        threaded.gemm(C, ldc, A, ai, al, B, ldb, m, n, depth, sym);
        return;
      }
      new Uint8Array(memory.buffer).copyWithin(end, A, A + bytes);
      queue.push(C, ldc, end, ai, al, B, ldb, m, n, depth, sym);
      end += padded(bytes / 8);
    }
    /** The queued gemms, here and now, in order. */
    function runQueue(): void {
      for (let g = 0; g < queue.length; g += GEMM_ARGS) threaded.gemm(...(queue.slice(g, g + GEMM_ARGS) as [number, number, number, number, number, number, number, number, number, number, number]));
      queue.length = 0;
    }
    /** Runs the queued gemms: on the workers, or (\`wait\`: the caller needs them done now) here, after the list before. */
    function flushDeferred(wait: number): void {
      open = false;
      if (wait) {
        // handing a list over only to wait for it costs a wake-up of a worker: run it here
        threaded.settle();
        runQueue();
        return;
      }
      if (queue.length === 0) return;
      new Int32Array(memory.buffer, end, queue.length).set(queue);
      if (threaded.post(KERNEL_IDS.gemms, [end, queue.length / GEMM_ARGS])) {
        lists++;
        queue.length = 0;
      } else runQueue();
    }
    /** Lists of deferred gemms posted to the worker threads (the tests check that some were). */
    const deferredPosted = () => lists;
    return { ...threaded, deferredGemm, flushDeferred, settleDeferred: threaded.settle, deferredPosted };
  }
  /**
   * The module's WebAssembly sweeps (sweep-wasm.ts; base64, importing a plain and a shared
   * memory) on these kernels and this memory, with the Math functions and helpers they call:
   * small products call the kernels directly, large ones the functions above (\`threaded\`),
   * which split them over threads as any call. Each is called as from, to, the direction count,
   * the deferred steps, then its buffers' byte offsets (the first direction is 0). Null where
   * the engine cannot run them (the sweeps then run as JavaScript).
   *
   * \`splits\`: the sweeps whose directions may run in parts on the worker threads, each with
   * its work per direction and step, whether it checks each step, and its buffers' kinds
   * (DirectionSplit). One of those with at least SWEEP_SPLIT_MIN_WORK of work and two parts of
   * 4 directions runs split where the workers are ready (threadedKernels' sweep); the parts'
   * copies of its buffers follow the buffers laid out, in memory grown for them, and so, for a
   * sweep that checks each step, do the values it starts with: where a part stops at a failed
   * check, they are put back and the sweep runs whole, to stop where it stops on one thread.
   */
  function sweeps(plain: string, sharedCode: string, imports: Record<string, object>, splits: Record<string, readonly number[]> = {}): Record<string, WasmSweepFunction> | null {
    const code = Uint8Array.from(atob(shared ? sharedCode : plain), (c) => c.charCodeAt(0));
    // an engine without what the sweeps use (bulk memory) rejects the bytes; a failing link would be phic's bug, and throws
    if (!WebAssembly.validate(code)) return null;
    const compiled = new WebAssembly.Module(code);
    const exports = new WebAssembly.Instance(compiled, { ...imports, kernels: k, threaded: kernels, env: { memory } }).exports as unknown as Record<string, WasmSweepFunction>;
    const names = Object.keys(splits).sort();
    // a helper is the module's own function, which a worker thread cannot have: no split then
    if (shared && names.length && !('helpers' in imports)) kernels.withSweeps({ module: compiled, math: Object.keys((imports as { Math?: object }).Math ?? {}), names });
    const wrapped: Record<string, WasmSweepFunction> = {};
    for (const name of Object.keys(exports)) {
      const whole = exports[name]!;
      const split = splits[name];
      const index = names.indexOf(name);
      wrapped[name] = (from, to, count, deferred, ...buffers) => {
        if (split && count >= 8 && (to - from) * count * split[0]! >= SWEEP_SPLIT_MIN_WORK) {
          const kinds = split.slice(2);
          // what a checked sweep starts with (every buffer it may write): [from, kept at, bytes]
          const kept: number[][] = [];
          const prepare = (parts: number): number[] | null => {
            // each part but the last gets a copy of every buffer the sweep writes that is not per
            // direction, made now, before any part runs: the layout's end, rounded to a cache line
            const start = Math.ceil(laidOut / 64) * 64;
            let block = 0;
            const layout: number[] = [];
            buffers.forEach((at, i) => {
              const kind = kinds[i]!;
              layout.push(at, kind >= 0 ? kind : -(block + 1));
              if (kind < 0) block += padded(-kind);
            });
            block = Math.ceil(block / 64) * 64;
            let end = start + (parts - 1) * block;
            if (split[1]) {
              buffers.forEach((at, i) => {
                const entries = kinds[i]! > 0 ? kinds[i]! * count : -kinds[i]!;
                if (entries > 0 && kinds[i] !== 0) kept.push([at, end, 8 * entries]), (end += padded(entries));
              });
            }
            try {
              if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
            } catch {
              return null;
            }
            const bytes = new Uint8Array(memory.buffer);
            for (let part = 0; part < parts - 1; part++) {
              buffers.forEach((at, i) => {
                if (kinds[i]! < 0) bytes.copyWithin(start + part * block - layout[2 * i + 1]! - 1, at, at + 8 * -kinds[i]!);
              });
            }
            for (const [at, copy, length] of kept) bytes.copyWithin(copy!, at!, at! + length!);
            return [start, block, ...layout];
          };
          const ran = kernels.sweep(index, [from, to, count, deferred], prepare);
          if (ran === 'split') return -1;
          if (ran === 'stopped') {
            const bytes = new Uint8Array(memory.buffer);
            for (const [at, copy, length] of kept) bytes.copyWithin(at!, copy!, copy! + length!);
          }
        }
        return whole(from, to, count, deferred, 0, ...buffers);
      };
    }
    return wrapped;
  }
  return { ...kernels, views, bytes, build: () => build, sweeps };
}`;
