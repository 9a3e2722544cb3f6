// The SIMD kernels split over worker threads: every kernel, cut into parts at awkward shapes,
// writes bitwise the same memory as on one thread; the cut itself (run part by part on one
// thread, for several part counts) tiles the output at multiples of 4; every split call runs
// exactly its parts, counted over all threads; a module with threads gives bitwise the same
// results as one without through every entry point; create()'s options are checked; release()
// stops the workers; ready() starts them and resolves once they are up (at once without them);
// and a process whose workers are started still exits by itself.
//
// Nothing here depends on scheduling: which thread claims a part is up to the scheduler (a
// late worker claims none), so no assertion asks that a worker ran anything. What is waited
// for is a condition that must come true (the workers have started; the workers' part counts
// are published), with a deadline far beyond what a loaded machine needs.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KERNELS_RUNTIME } from '../compiler/codegen/wasm/runtime-kernels.js';
import { ridgeSpec } from '../samples/bench/ridge-spec.js';
import { compile, defineMap, type MapInstance } from '../src/index.js';

interface KernelExports {
  gemv(A: number, lda: number, x: number, y: number, m: number, n: number): void;
  gemvT(A: number, lda: number, v: number, y: number, m: number, n: number): void;
  ger(B: number, ldb: number, u: number, incu: number, w: number, m: number, n: number): void;
  gemm(C: number, ldc: number, A: number, ai: number, al: number, B: number, ldb: number, m: number, n: number, k: number, sym: number): void;
}

interface RuntimeKernels extends KernelExports {
  gemv(A: number, lda: number, x: number, y: number, m: number, n: number): void;
  gemvT(A: number, lda: number, v: number, y: number, m: number, n: number): void;
  ger(B: number, ldb: number, u: number, incu: number, w: number, m: number, n: number): void;
  gemm(C: number, ldc: number, A: number, ai: number, al: number, B: number, ldb: number, m: number, n: number, k: number, sym: number): void;
  views(sizes: number[]): Float64Array[];
  threads(): number;
  whenReady(): Promise<void>;
  release(): void;
  workerParts(): number;
}

/** What the threads runtime shares between the main thread and the workers (runtime-threads.ts). */
interface ThreadsCommon {
  CLAIM: number;
  DONE: number;
  KERNEL: number;
  ARGS: number;
  SIZE: number;
  KERNEL_IDS: Record<keyof KernelExports, number>;
  MAX_PARTS: number;
  posted(call: number, parts: number): number;
  claimParts(k: KernelExports, c: Int32Array, call: number, fromBack: boolean): number;
}

interface Runtime {
  instantiateKernels(threads: number): RuntimeKernels;
  threadedKernels(k: KernelExports, module: WebAssembly.Module, memory: WebAssembly.Memory, threads: number, crowded?: (() => boolean) | null): RuntimeKernels;
  kernelThreadsCommon(): ThreadsCommon;
  splitPolicy(): { choose(key: number): boolean; record(key: number, split: boolean, perWork: number): void };
  crowdedMonitor(os: FakeOs, usage: () => { user: number; system: number }, clock: () => number): () => boolean;
  CROWDED_FOR_MS: number;
  KERNELS_WASM_SHARED: string;
  PARTS_PER_THREAD: number;
  PARALLEL_MIN_WORK: number;
  ADAPTIVE_MIN_WORK: number;
}

/** What the crowding monitor reads of node:os. */
interface FakeOs {
  availableParallelism(): number;
  loadavg(): number[];
  cpus(): { times: { user: number; nice: number; sys: number; irq: number } }[];
}

/** The kernels' runtime as a generated module holds it, made importable on its own. */
async function importRuntime(): Promise<Runtime> {
  const file = join(mkdtempSync(join(tmpdir(), 'phic-threads-')), 'kernels.mjs');
  writeFileSync(file, `function fail(category, message) { throw new Error(category + ': ' + message); }\n${KERNELS_RUNTIME}\nexport { instantiateKernels, threadedKernels, kernelThreadsCommon, splitPolicy, crowdedMonitor, CROWDED_FOR_MS, KERNELS_WASM_SHARED, PARTS_PER_THREAD, PARALLEL_MIN_WORK, ADAPTIVE_MIN_WORK };\n`);
  return (await import(pathToFileURL(file).href)) as Runtime;
}

/** Generous: worker threads start in well under a second on an idle machine. */
const READY_DEADLINE_MS = 60_000;
const HOOK_TIMEOUT_MS = 2 * READY_DEADLINE_MS;

/** Waits until `done()` holds, checking every 10 ms; fails after READY_DEADLINE_MS (something is broken then, not slow). */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + READY_DEADLINE_MS;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${READY_DEADLINE_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Makes one large call (which starts the instance's workers), then waits until they are all ready. */
async function whenThreaded(threads: () => number, start: () => void, want: number): Promise<void> {
  start();
  await until(() => threads() >= want, `${want} threads ready`);
}

/** Deterministic values in [-1, 1). */
const fill = (a: Float64Array, seed: number) => a.forEach((_, i) => (a[i] = ((Math.sin(seed * 12.9898 + i * 78.233) * 43758.5453) % 1) * 1.0));
const maxAbs = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const bytesOf = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('kernel calls split over worker threads', () => {
  let one: RuntimeKernels;
  let two: RuntimeKernels;
  // one layout in both memories: a matrix, two vectors and an output, with room for strides
  const SIZES = [260 * 260, 600, 600, 260 * 260];
  let heaps: [Float64Array[], Float64Array[]];

  let runtime: Runtime;

  beforeAll(async () => {
    runtime = await importRuntime();
    one = runtime.instantiateKernels(1);
    two = runtime.instantiateKernels(2);
    heaps = [one.views(SIZES), two.views(SIZES)];
    const [M, , , C] = heaps[1];
    // Until the workers are ready calls run on the main thread only: wait, so that every call
    // below is split (readiness never goes back).
    await whenThreaded(two.threads, () => two.gemv(M!.byteOffset, 200, C!.byteOffset, C!.byteOffset + 8 * 40000, 200, 200), 2);
  }, HOOK_TIMEOUT_MS);
  afterAll(() => two?.release());

  /** The values every buffer starts from, computed once (filling is costlier than the calls). */
  const patterns = (seed: number) => SIZES.map((n, i) => {
    const a = new Float64Array(n);
    fill(a, i + seed);
    return a;
  });
  let initial: Float64Array[];
  beforeAll(() => {
    initial = patterns(1);
  });

  /** Fills both memories alike, runs the call on each, and compares the whole layout byte for byte. */
  const same = (call: (k: RuntimeKernels, at: Float64Array[]) => void) => {
    for (const views of heaps) views.forEach((v, i) => v.set(initial[i]!));
    call(one, heaps[0]);
    call(two, heaps[1]);
    heaps[0].forEach((v, i) => expect(bytesOf(v).equals(bytesOf(heaps[1][i]!)), `buffer ${i} differs`).toBe(true));
  };
  const off = (v: Float64Array, entry = 0) => v.byteOffset + 8 * entry;

  it.each([[200, 200], [203, 190], [257, 131], [129, 255]])('gemv %i×%i', (m, n) => {
    for (let round = 0; round < 5; round++) same((k, [A, x, , y]) => k.gemv(off(A!), n + 3, off(x!), off(y!), m, n));
  });

  it.each([[200, 200], [190, 203], [131, 257], [255, 129]])('gemvT %i×%i', (m, n) => {
    for (let round = 0; round < 5; round++) same((k, [A, v, , y]) => k.gemvT(off(A!), n + 1, off(v!), off(y!), m, n));
  });

  it.each([[200, 200], [181, 199], [255, 130]])('ger %i×%i (u strided)', (m, n) => {
    for (let round = 0; round < 5; round++) same((k, [B, u, w]) => k.ger(off(B!), n + 2, off(u!), 2, off(w!), m, n));
  });

  it.each([[64, 97, 101], [33, 130, 70], [16, 256, 256]])('gemm, depth %i, %i×%i, A read transposed', (depth, m, n) => {
    // C (m×n) += Aᵀ B with A stored depth×m: ai = 1, al = m
    for (let round = 0; round < 3; round++) same((k, [A, , , C]) => k.gemm(off(C!), n, off(A!), 1, m, off(A!, depth * m), n, m, n, depth, 0));
  });

  it.each([[200, 50], [256, 130], [202, 40], [100, 333]])('symmetric gemm XᵀX, n = %i, depth %i (cut by the triangle; n mod 4 ≠ 0 falls back)', (n, depth) => {
    for (let round = 0; round < 3; round++) same((k, [X, , , C]) => k.gemm(off(C!), n, off(X!), 1, n, off(X!), n, n, n, depth, 1));
  });

  it('the workers are ready: two threads on the threaded instance, one on the other', () => {
    expect(one.threads()).toBe(1);
    expect(two.threads()).toBe(2);
  });

  describe('the cut, run part by part on one thread', () => {
    // The main thread claims every part of a posted call (as it does when the workers are late),
    // through the runtime's own claimParts, into kernels that record each part's arguments.
    let whole: RuntimeKernels;
    let parted: RuntimeKernels;
    let memories: [Float64Array[], Float64Array[]];
    let start: Float64Array[];
    beforeAll(() => {
      whole = runtime.instantiateKernels(1);
      parted = runtime.instantiateKernels(1);
      memories = [whole.views(SIZES), parted.views(SIZES)];
      start = patterns(7);
    });

    /** Posts `args` as call 1 of `parts` parts, claims them all here, and returns what each part ran. */
    function runParts(kernel: keyof KernelExports, args: number[], parts: number): number[][] {
      const common = runtime.kernelThreadsCommon();
      const c = new Int32Array(new SharedArrayBuffer(common.SIZE * 4));
      c[common.KERNEL] = common.KERNEL_IDS[kernel];
      args.forEach((v, i) => (c[common.ARGS + i] = v));
      expect(parts).toBeLessThanOrEqual(common.MAX_PARTS);
      Atomics.store(c, common.CLAIM, common.posted(1, parts));
      const calls: number[][] = [];
      const record = (name: keyof KernelExports) => (...a: number[]) => {
        expect(name).toBe(kernel);
        calls.push(a);
        (parted[name] as (...x: number[]) => void)(...a);
      };
      const k: KernelExports = { gemv: record('gemv'), gemvT: record('gemvT'), ger: record('ger'), gemm: record('gemm') };
      expect(common.claimParts(k, c, 1, false)).toBe(parts);
      expect(common.claimParts(k, c, 1, true)).toBe(0); // nothing left to claim
      expect(calls).toHaveLength(parts);
      return calls;
    }

    /** The whole call on one memory, its parts on the other: the same bytes everywhere. */
    function sameAsWhole(kernel: keyof KernelExports, args: (views: Float64Array[]) => number[], parts: number): number[][] {
      for (const views of memories) views.forEach((v, i) => v.set(start[i]!));
      (whole[kernel] as (...x: number[]) => void)(...args(memories[0]));
      const calls = runParts(kernel, args(memories[1]), parts);
      memories[0].forEach((v, i) => expect(bytesOf(v).equals(bytesOf(memories[1][i]!)), `buffer ${i} differs (${kernel}, ${parts} parts)`).toBe(true));
      return calls;
    }

    /** Part blocks [start, start + size) tile [0, total) in order, every inner cut at a multiple of `align` (from `base`). */
    function expectTiling(blocks: [number, number][], total: number, align = 4, base = 0) {
      let at = 0;
      for (const [start, size] of blocks) {
        expect(start).toBe(at);
        if (start > 0 && start < total) expect((base + start) % align).toBe(0);
        expect(size).toBeGreaterThanOrEqual(0);
        at = start + size;
      }
      expect(at).toBe(total);
    }

    const PARTS = [2, 3, 4, 7];

    it.each(PARTS)('gemv 203×190 in %i parts: rows cut at multiples of 4', (parts) => {
      const [m, n, lda] = [203, 190, 193];
      const calls = sameAsWhole('gemv', ([A, x, , y]) => [off(A!), lda, off(x!), off(y!), m, n], parts);
      const y0 = off(memories[1][3]!);
      expectTiling(calls.map(([, , , y, rows]) => [(y! - y0) / 8, rows!]), m);
      for (const [, , , , , cols] of calls) expect(cols).toBe(n);
    });

    // y starts 1, 2 or 3 entries past a 64-byte line: the cuts fall on y's lines, not at multiples from its start
    it.each(PARTS)('gemvT 131×257 in %i parts: columns cut at 64-byte lines of y', (parts) => {
      const [m, n, lda] = [131, 257, 258];
      for (const skew of [1, 2, 3]) {
        const calls = sameAsWhole('gemvT', ([A, v, , y]) => [off(A!), lda, off(v!), off(y!) + 8 * skew, m, n], parts);
        const y0 = off(memories[1][3]!) + 8 * skew;
        expect(off(memories[1][3]!) % 64).toBe(0);
        expectTiling(calls.map(([, , , y, , cols]) => [(y! - y0) / 8, cols!]), n, 8, skew);
        for (const [, , , , rows] of calls) expect(rows).toBe(m);
      }
    });

    it.each(PARTS)('ger 181×199 (u strided) in %i parts: rows cut at multiples of 4', (parts) => {
      const [m, n, ldb] = [181, 199, 201];
      const calls = sameAsWhole('ger', ([B, u, w]) => [off(B!), ldb, off(u!), 2, off(w!), m, n], parts);
      const B0 = off(memories[1][0]!);
      expectTiling(calls.map(([B, , , , , rows]) => [(B! - B0) / (8 * ldb), rows!]), m);
    });

    it.each(PARTS)('gemm, depth 33, 130×70, A read transposed, in %i parts: rows cut at multiples of 4', (parts) => {
      const [depth, m, n] = [33, 130, 70];
      const calls = sameAsWhole('gemm', ([A, , , C]) => [off(C!), n, off(A!), 1, m, off(A!, depth * m), n, m, n, depth, 0], parts);
      const C0 = off(memories[1][3]!);
      expectTiling(calls.map(([C, , , , , , , rows]) => [(C! - C0) / (8 * n), rows!]), m);
    });

    it.each(PARTS)('symmetric gemm XᵀX, n = 200, depth 50, in %i parts: the triangle cut at multiples of 4', (parts) => {
      const [n, depth] = [200, 50];
      const calls = sameAsWhole('gemm', ([X, , , C]) => [off(C!), n, off(X!), 1, n, off(X!), n, n, n, depth, 1], parts);
      const C0 = off(memories[1][3]!);
      // each part starts on the diagonal at its first row and runs to the last column
      const blocks = calls.map(([C, , , , , , , rows, cols]) => {
        const r0 = (C! - C0) / (8 * (n + 1));
        expect(cols).toBe(n - r0);
        return [r0, rows!] as [number, number];
      });
      expectTiling(blocks, n);
    });

    it('claims: the main thread from the front, a worker from the back, each part once; a claimer of an older call takes nothing', () => {
      const common = runtime.kernelThreadsCommon();
      const c = new Int32Array(new SharedArrayBuffer(common.SIZE * 4));
      const [m, n, parts] = [203, 190, 7];
      c[common.KERNEL] = common.KERNEL_IDS.gemv;
      [off(memories[1][0]!), n, off(memories[1][1]!), off(memories[1][3]!), m, n].forEach((v, i) => (c[common.ARGS + i] = v));
      const ran: [string, number][] = [];
      // the part a gemv call ran, from the row its y starts at
      const rowOf = (y: number) => (y - off(memories[1][3]!)) / 8;
      const recorder = (who: string, during?: () => void): KernelExports => ({
        ...parted,
        gemv: (...a: number[]) => {
          ran.push([who, rowOf(a[3]!)]);
          during?.();
        },
      });
      Atomics.store(c, common.CLAIM, common.posted(5, parts));
      // a thread still on call 4 claims nothing of call 5
      expect(common.claimParts(recorder('stale'), c, 4, true)).toBe(0);
      // the worker's first part runs while the main thread claims: the main thread takes the rest from the front
      let mainRan = -1;
      const worker = recorder('worker', () => {
        if (mainRan < 0) mainRan = common.claimParts(recorder('main'), c, 5, false);
      });
      expect(common.claimParts(worker, c, 5, true)).toBe(1);
      expect(mainRan).toBe(parts - 1);
      expect(c[common.DONE]).toBe(parts);
      const rowsOfPart = (p: number) => Math.floor((m * p) / parts / 4) * 4;
      expect(ran).toEqual([['worker', rowsOfPart(parts - 1)], ...Array.from({ length: parts - 1 }, (_, p) => ['main', rowsOfPart(p)])]);
    });
  });

  /**
   * The threaded kernels (two threads) over exports that count the parts the main thread runs;
   * the workers count theirs in workerParts(). Which thread ran which part is not asked.
   */
  function countingKernels(crowded: (() => boolean) | null = null) {
    const module = new WebAssembly.Module(Buffer.from(runtime.KERNELS_WASM_SHARED, 'base64'));
    // 4 MB: room for the 100×WIDE call of the adaptive test and its vectors after it
    const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536, shared: true });
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
    const mainParts: { kernel: string; args: number[] }[] = [];
    const counting = Object.fromEntries((['gemv', 'gemvT', 'ger', 'gemm'] as const).map((name) => [name, (...args: number[]) => {
      mainParts.push({ kernel: name, args });
      (exports[name] as (...x: number[]) => void)(...args);
    }])) as unknown as KernelExports;
    return { threaded: runtime.threadedKernels(counting, module, memory, 2, crowded), mainParts };
  }
  /** Where the 200×200 gemv calls below read and write: A, then x, then y. */
  const [MATRIX, VECTOR, OUTPUT] = [0, 8 * 200 * 200, 8 * 200 * 201];
  /** The default thread count times calls from ADAPTIVE_MIN_WORK multiply-adds: its tests use 370×370 gemv calls, from MATRIX (x and y after A). */
  const ADAPTIVE = 370;
  const [AVECTOR, AOUTPUT] = [8 * ADAPTIVE * ADAPTIVE, 8 * ADAPTIVE * (ADAPTIVE + 1)];
  const adaptiveGemv = (threaded: RuntimeKernels) => threaded.gemv(MATRIX, ADAPTIVE, AVECTOR, AOUTPUT, ADAPTIVE, ADAPTIVE);
  /** A 100×WIDE gemv with at least twice the work of the ADAPTIVE×ADAPTIVE one (so the next power of two: a key of its own), from MATRIX, x and y after A. */
  const WIDE_ROWS = 100;
  const WIDE = Math.ceil((2 * ADAPTIVE * ADAPTIVE) / WIDE_ROWS);
  const [WVECTOR, WOUTPUT] = [8 * WIDE_ROWS * WIDE, 8 * (WIDE_ROWS + 1) * WIDE];

  /** Runs `calls` 200×200 gemv calls back to back, and checks that every one was split in more parts than threads (two). */
  async function expectSplit(threaded: RuntimeKernels, mainParts: { args: number[] }[], calls: number) {
    mainParts.length = 0;
    const before = threaded.workerParts();
    const parts = 2 * runtime.PARTS_PER_THREAD;
    expect(parts).toBeGreaterThan(2);
    for (let i = 0; i < calls; i++) threaded.gemv(MATRIX, 200, VECTOR, OUTPUT, 200, 200);
    // Each call returns once all its parts are done; a worker publishes its count just after.
    await until(() => mainParts.length + threaded.workerParts() - before >= parts * calls, 'part counts published');
    expect(mainParts.length + threaded.workerParts() - before).toBe(parts * calls);
    // Split calls: the main thread only ever ran parts (fewer rows than the call), never a whole call.
    for (const p of mainParts) expect(p.args[4]).toBeLessThan(200);
  }

  it('whenReady() starts the workers: right after it two threads, and a synchronous loop of calls is split', async () => {
    const { threaded, mainParts } = countingKernels();
    try {
      expect(threaded.threads()).toBe(1);
      await threaded.whenReady();
      // no other await in between: readiness is what whenReady() resolved on
      expect(threaded.threads()).toBe(2);
      await expectSplit(threaded, mainParts, 20);
      // once ready, it resolves again at once; and after release() too
      await threaded.whenReady();
    } finally {
      threaded.release();
    }
    expect(threaded.threads()).toBe(1);
    await threaded.whenReady();
  }, HOOK_TIMEOUT_MS);

  it('every split call runs exactly its parts, counted over all threads; small calls are not split', async () => {
    const { threaded, mainParts } = countingKernels();
    try {
      await whenThreaded(threaded.threads, () => threaded.gemv(MATRIX, 200, VECTOR, OUTPUT, 200, 200), 2);
      const calls = 50;
      await expectSplit(threaded, mainParts, calls);
      // Small calls stay whole on the main thread, and no worker runs anything.
      mainParts.length = 0;
      const after = threaded.workerParts();
      for (let i = 0; i < calls; i++) threaded.gemv(MATRIX, 60, VECTOR, OUTPUT, 60, 60);
      expect(mainParts).toHaveLength(calls);
      for (const p of mainParts) expect(p.args).toEqual([MATRIX, 60, VECTOR, OUTPUT, 60, 60]);
      expect(threaded.workerParts()).toBe(after);
    } finally {
      threaded.release();
    }
    expect(threaded.threads()).toBe(1);
  }, HOOK_TIMEOUT_MS);

  it('adaptive (the default thread count): the first three large calls of a size are split, the next three run whole, then the faster way; calls under ADAPTIVE_MIN_WORK run whole', async () => {
    const { threaded, mainParts } = countingKernels(() => false);
    try {
      await threaded.whenReady();
      expect(ADAPTIVE * ADAPTIVE).toBeGreaterThanOrEqual(runtime.ADAPTIVE_MIN_WORK);
      const parts = 2 * runtime.PARTS_PER_THREAD;
      const before = threaded.workerParts();
      mainParts.length = 0;
      for (let i = 0; i < 3; i++) adaptiveGemv(threaded);
      await until(() => mainParts.length + threaded.workerParts() - before >= 3 * parts, 'part counts published');
      expect(mainParts.length + threaded.workerParts() - before).toBe(3 * parts);
      mainParts.length = 0;
      const after = threaded.workerParts();
      for (let i = 0; i < 3; i++) adaptiveGemv(threaded);
      expect(mainParts.map((p) => p.args)).toEqual(Array(3).fill([MATRIX, ADAPTIVE, AVECTOR, AOUTPUT, ADAPTIVE, ADAPTIVE]));
      expect(threaded.workerParts()).toBe(after);
      // another size (the next power of two of the work) is timed on its own: split first again
      mainParts.length = 0;
      threaded.gemv(MATRIX, WIDE, WVECTOR, WOUTPUT, WIDE_ROWS, WIDE);
      expect(mainParts.every((p) => p.args[4]! < WIDE_ROWS)).toBe(true);
      // a call of PARALLEL_MIN_WORK multiply-adds or more (which { threads } splits), but under
      // ADAPTIVE_MIN_WORK: whole, on the main thread, every time
      expect(200 * 200).toBeGreaterThanOrEqual(runtime.PARALLEL_MIN_WORK);
      expect(200 * 200).toBeLessThan(runtime.ADAPTIVE_MIN_WORK);
      mainParts.length = 0;
      const small = threaded.workerParts();
      for (let i = 0; i < 5; i++) threaded.gemv(MATRIX, 200, VECTOR, OUTPUT, 200, 200);
      expect(mainParts.map((p) => p.args)).toEqual(Array(5).fill([MATRIX, 200, VECTOR, OUTPUT, 200, 200]));
      expect(threaded.workerParts()).toBe(small);
    } finally {
      threaded.release();
    }
  }, HOOK_TIMEOUT_MS);

  it('adaptive where splits keep losing: each try of splitting that loses doubles the interval to the next; once splits win, a whole call is tried one in 256', () => {
    const policy = runtime.splitPolicy();
    const calls = (count: number, splitMs: number, wholeMs: number) => {
      let split = 0;
      for (let i = 0; i < count; i++) {
        const s = policy.choose(7);
        policy.record(7, s, s ? splitMs : wholeMs);
        if (s) split++;
      }
      return split;
    };
    // three first splits, then bursts of four at calls 256, 768, 1792 and 3840 (one burst every
    // 256 calls without the doubling: fifteen, 63 split calls)
    expect(calls(4000, 10, 1)).toBe(3 + 4 * 4);
    // the next burst is 8192 calls away; splitting turns ten times faster than the whole calls:
    // that burst finds it, and from then on calls are split
    const later = calls(12000, 0.1, 1);
    expect(later).toBeGreaterThan(12000 - 8192 - 300);
    // while split calls win, a whole call is tried one in 256
    expect(calls(2560, 0.1, 1)).toBe(2560 - 10);
  });

  it('adaptive: a split that follows a whole call (its workers asleep) is not timed', () => {
    const policy = runtime.splitPolicy();
    const run = (key: number, splitMs: number, wholeMs: number) => {
      const s = policy.choose(key);
      policy.record(key, s, s ? splitMs : wholeMs);
      return s;
    };
    // the first split of all follows no split: its time (0.001, far faster than any other) does
    // not count; the next two (10) do, and lose to the whole calls (1)
    expect([run(3, 0.001, 1), run(3, 10, 1), run(3, 10, 1)]).toEqual([true, true, true]);
    expect([run(3, 10, 1), run(3, 10, 1), run(3, 10, 1), run(3, 10, 1)]).toEqual([false, false, false, false]);
  });

  it('adaptive with two keys in turn: a try of splitting splits the calls of every key, so each is timed after a split one', () => {
    const policy = runtime.splitPolicy();
    // key 1 once, then key 2 twice, as the products of a sweep come. Key 1 splits well from
    // round 50 on (a load went away), and only with warm workers (after a split call); key 2 never
    let last = false;
    const splits = { 1: 0, 2: 0 };
    const step = (key: 1 | 2, round: number) => {
      const s = policy.choose(key);
      policy.record(key, s, s ? (key === 1 && last && round >= 50 ? 0.1 : 10) : 1);
      last = s;
      if (s) splits[key]++;
    };
    for (let round = 0; round < 600; round++) for (const key of [1, 2, 2] as const) step(key, round);
    // key 2's first try of splitting (its call 256, round 128) splits key 1's next call too,
    // after split calls: key 1 is timed warm, and splits from then on. (Key 1's own tries, at
    // its calls 256 and 768, follow whole calls of key 2: they would find nothing.)
    expect(splits[1]).toBeGreaterThan(600 - 128 - 10);
    // key 2 splits only in its three first calls and in bursts
    expect(splits[2]).toBeLessThan(3 + 4 * 8);
  });

  it('crowded: from other processes\' recent share of the cores; the load average only at the first look, so work that ended a while ago does not count', () => {
    // a two-core machine whose clock, busy times, own CPU time and load average the test sets
    let now = 0, busyMs = 0, ownMs = 0, load = 0;
    const os: FakeOs = {
      availableParallelism: () => 2,
      loadavg: () => [load, load, load],
      cpus: () => [{ times: { user: busyMs / 2, nice: 0, sys: 0, irq: 0 } }, { times: { user: busyMs / 2, nice: 0, sys: 0, irq: 0 } }],
    };
    const usage = () => ({ user: ownMs * 1000, system: 0 });
    /** Advances the clock by `ms`, with this process busy on `own` cores and others on `others`. */
    const pass = (ms: number, own: number, others: number) => {
      now += ms;
      ownMs += own * ms;
      busyMs += (own + others) * ms;
    };
    // the first look reads the load average: 3 on two cores is crowded, 2 is not
    load = 3;
    expect(runtime.crowdedMonitor(os, usage, () => now)()).toBe(true);
    load = 2;
    const crowded = runtime.crowdedMonitor(os, usage, () => now);
    expect(crowded()).toBe(false);
    // this process alone on both cores: not crowded
    pass(600, 2, 0);
    expect(crowded()).toBe(false);
    // another process takes a core for a second: crowded, and still so a while after it stops
    pass(1000, 1, 1);
    expect(crowded()).toBe(true);
    pass(runtime.CROWDED_FOR_MS - 1000, 2, 0);
    expect(crowded()).toBe(true);
    // past CROWDED_FOR_MS with no other work it is not, though the load average still counts what ended
    load = 4;
    pass(1001, 2, 0);
    expect(crowded()).toBe(false);
    // a sliver of other work (a tenth of a core) is not a crowd
    pass(1000, 1.9, 0.1);
    expect(crowded()).toBe(false);
  });

  it('a split gemvT is one strip of columns per thread, whatever its size; a gemv four parts per thread', async () => {
    const { threaded, mainParts } = countingKernels();
    try {
      await whenThreaded(threaded.threads, () => threaded.gemv(MATRIX, 200, VECTOR, OUTPUT, 200, 200), 2);
      for (const [kernel, n, parts] of [['gemvT', 1000, 2], ['gemvT', 9000, 2], ['gemv', 1000, 2 * runtime.PARTS_PER_THREAD]] as const) {
        // just over the size that splits
        const rows = Math.ceil(runtime.PARALLEL_MIN_WORK / n) + 1;
        mainParts.length = 0;
        const before = threaded.workerParts();
        threaded[kernel](0, n, 8 * rows * n, 8 * (rows * n + n), rows, n);
        await until(() => mainParts.length + threaded.workerParts() - before >= parts, 'part counts published');
        expect(mainParts.length + threaded.workerParts() - before, `${kernel}, n = ${n}`).toBe(parts);
      }
    } finally {
      threaded.release();
    }
  }, HOOK_TIMEOUT_MS);

  it('adaptive on a crowded machine: every call runs whole on the main thread, and splits again once it is not crowded', async () => {
    let crowded = true;
    const { threaded, mainParts } = countingKernels(() => crowded);
    try {
      await threaded.whenReady();
      const after = threaded.workerParts();
      for (let i = 0; i < 10; i++) adaptiveGemv(threaded);
      expect(mainParts.map((p) => p.args)).toEqual(Array(10).fill([MATRIX, ADAPTIVE, AVECTOR, AOUTPUT, ADAPTIVE, ADAPTIVE]));
      expect(threaded.workerParts()).toBe(after);
      crowded = false;
      mainParts.length = 0;
      adaptiveGemv(threaded);
      expect(mainParts.every((p) => p.args[4]! < ADAPTIVE)).toBe(true);
    } finally {
      threaded.release();
    }
  }, HOOK_TIMEOUT_MS);
});

describe('a module with worker threads', () => {
  const ridge = ridgeSpec(0.002);
  const layer = defineMap({
    name: 'layer',
    state: { x: 'n' },
    params: { W: 'n,n', c: 'n' },
    data: {},
    update: { x: 'tanh(W * x + c)' },
  });
  const vec = (len: number, seed: number, scale = 1) => {
    const a = new Float64Array(len);
    fill(a, seed);
    return a.map((v) => v * scale);
  };
  const equalBits = (a: Record<string, Float64Array>, b: Record<string, Float64Array>) => {
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
    for (const key of Object.keys(a)) expect(bytesOf(a[key]!).equals(bytesOf(b[key]!)), key).toBe(true);
  };

  it('ridge 200² (symmetric AᵀA hoisted, gemv each step): bitwise the same vjp, jvp and Jacobian on 2 threads as on 1; forward = reverse and finite differences on 2', async () => {
    const compiled = await compile(ridge, { mode: 'both', K: 60, dims: { m: 220, n: 200 } });
    expect(compiled.files[0]!.contents).toMatch(/kernels\.gemm\(.*, 1\);/);
    const data = { theta: vec(200, 1).map(Math.abs), A: vec(220 * 200, 2, 0.1), b: vec(220, 3) };
    const [single, threaded] = [compiled.create(undefined, { threads: 1 }), compiled.create(undefined, { threads: 2 })];
    await whenThreaded(threaded.threads, () => threaded.iterate(data), 2);
    const cot = { x: vec(200, 4) };
    equalBits(threaded.vjp!(data, cot).gradient, single.vjp!(data, cot).gradient);
    equalBits(threaded.jvp!(data, { theta: vec(200, 5) }).tangent, single.jvp!(data, { theta: vec(200, 5) }).tangent);
    equalBits({ J: threaded.jacobianForward!(data).jacobian.x!.theta!.data }, { J: single.jacobianForward!(data).jacobian.x!.theta!.data });
    // and on their own: forward = reverse, and a central finite difference of ⟨ū, x_K(θ)⟩
    const Jf = threaded.jacobianForward!(data).jacobian.x!.theta!.data;
    const Jr = threaded.jacobianReverse!(data).jacobian.x!.theta!.data;
    expect(maxAbs(Jf.map((v, i) => v - Jr[i]!)) / maxAbs(Jr)).toBeLessThan(1e-11);
    const direction = vec(200, 6);
    const along = (h: number) => {
      const theta = data.theta.map((v, i) => v + h * direction[i]!);
      return threaded.iterate({ ...data, theta }).state.x!.reduce((sum, v, i) => sum + v * cot.x[i]!, 0);
    };
    const fd = (along(1e-6) - along(-1e-6)) / 2e-6;
    const exact = threaded.vjp!(data, cot).gradient.theta!.reduce((sum, v, i) => sum + v * direction[i]!, 0);
    expect(Math.abs(fd - exact) / Math.abs(exact)).toBeLessThan(1e-6);
    expect(single.threads()).toBe(1);
    threaded.release();
    expect(threaded.threads()).toBe(1);
    // released, it goes on on one thread
    equalBits(threaded.vjp!(data, cot).gradient, single.vjp!(data, cot).gradient);
  }, HOOK_TIMEOUT_MS);

  it('ridge 300², K = 8 (AᵀA not hoisted: A x and Aᵀ(A x − b) fused into gemvGemvT, split in its eight fixed parts; the VJP\'s fused sweep pairs two in gemvGemvT2): bitwise the same on 2 threads as on 1', async () => {
    const compiled = await compile(ridge, { mode: 'both', K: 8, dims: { m: 310, n: 300 } });
    expect(compiled.files[0]!.contents.match(/kernels\.gemvGemvT\(/g)!.length).toBeGreaterThanOrEqual(2);
    expect(compiled.files[0]!.contents).toContain('kernels.gemvGemvT2(');
    const data = { theta: vec(300, 1).map(Math.abs), A: vec(310 * 300, 2, 0.1), b: vec(310, 3) };
    const [single, threaded] = [compiled.create(undefined, { threads: 1 }), compiled.create(undefined, { threads: 2 })];
    await whenThreaded(threaded.threads, () => threaded.iterate(data), 2);
    const cot = { x: vec(300, 4) };
    equalBits(threaded.iterate(data).state, single.iterate(data).state);
    equalBits(threaded.vjp!(data, cot).gradient, single.vjp!(data, cot).gradient);
    equalBits(threaded.jvp!(data, { theta: vec(300, 5) }).tangent, single.jvp!(data, { theta: vec(300, 5) }).tangent);
    threaded.release();
  }, HOOK_TIMEOUT_MS);

  it('tanh layer n = 192 (W̄ deferred to a gemm over 16 taped steps): bitwise the same gradients on 2 threads', async () => {
    const compiled = await compile(layer, { mode: 'reverse', K: 40, dims: { n: 192 } });
    const inputs = { W: vec(192 * 192, 1, 1.5 / 192), c: vec(192, 2) };
    const [single, threaded] = [compiled.create(undefined, { threads: 1 }), compiled.create(undefined, { threads: 2 })];
    await whenThreaded(threaded.threads, () => threaded.iterate(inputs), 2);
    const cot = { x: vec(192, 3) };
    equalBits(threaded.vjp!(inputs, cot).gradient, single.vjp!(inputs, cot).gradient);
    threaded.release();
  }, HOOK_TIMEOUT_MS);

  /** What the tests read of a module's kernels: sweeps that ran split by directions, lists of deferred gemms posted to the workers. */
  interface HeldKernels {
    sweepsSplit(): number;
    deferredPosted(): number;
  }
  /**
   * The module's create() with its kernels object kept where the test reads it (HeldKernels),
   * from a file of its own.
   */
  async function heldKernels(contents: string): Promise<{ create: (dims?: unknown, options?: object) => MapInstance; held: HeldKernels[] }> {
    const at = /const (\w+) = kernelsFor\((\w+)(, PAIRED_KERNELS)?\);/;
    expect(contents).toMatch(at);
    const key = `phicHeld${Math.random().toString(36).slice(2)}`;
    const held: HeldKernels[] = [];
    (globalThis as Record<string, unknown>)[key] = held;
    const file = join(mkdtempSync(join(tmpdir(), 'phic-held-')), 'module.mjs');
    writeFileSync(file, contents.replace(at, (_, k: string, o: string, p?: string) => `const ${k} = kernelsFor(${o}${p ?? ''}); globalThis.${key}.push(${k});`));
    const module = (await import(pathToFileURL(file).href)) as { create: (dims?: unknown, options?: object) => MapInstance };
    return { create: module.create, held };
  }

  it('a Jacobian (forward and reverse): its directions run in parts on 2 and 3 threads, bitwise the same as on 1; a VJP (one direction) stays whole', async () => {
    // adversarial names: the state is called first, the param parts, the data kernels and sweeps
    const spec = defineMap({ name: 'ridge', state: { first: 'n' }, params: { parts: 'n' }, data: { kernels: 'm,n', sweeps: 'm' }, constants: { alpha: 0.002 }, update: { first: "first - alpha * (kernels' * (kernels * first - sweeps) + parts .* first)" } });
    // 70 directions: parts cut at multiples of 4 that do not divide it
    const compiled = await compile(spec, { mode: 'both', K: 90, dims: { m: 75, n: 70 } });
    const contents = compiled.files[0]!.contents;
    expect(contents).toMatch(/unitSweep: \[/);
    expect(contents).toMatch(/backwardSweep: \[/);
    const { create, held } = await heldKernels(contents);
    const data = { parts: vec(70, 1).map(Math.abs), kernels: vec(75 * 70, 2, 0.1), sweeps: vec(75, 3) };
    const single = create(undefined, { threads: 1 });
    const Jf = { J: single.jacobianForward!(data).jacobian.first!.parts!.data };
    const Jr = { J: single.jacobianReverse!(data).jacobian.first!.parts!.data };
    const x = single.jacobianForward!(data).state;
    expect(maxAbs(Jf.J.map((v, i) => v - Jr.J[i]!)) / maxAbs(Jr.J)).toBeLessThan(1e-11);
    for (const threads of [2, 3]) {
      const threaded = create(undefined, { threads });
      const kernels = held[held.length - 1]!;
      try {
        await threaded.ready();
        expect(threaded.threads()).toBe(threads);
        const before = kernels.sweepsSplit();
        const forward = threaded.jacobianForward!(data);
        equalBits({ J: forward.jacobian.first!.parts!.data }, Jf);
        equalBits(forward.state, x);
        equalBits({ J: threaded.jacobianReverse!(data).jacobian.first!.parts!.data }, Jr);
        expect(kernels.sweepsSplit() - before).toBe(2);
        // one direction: whole
        const cot = { first: vec(70, 4) };
        equalBits(threaded.vjp!(data, cot).gradient, single.vjp!(data, cot).gradient);
        expect(kernels.sweepsSplit() - before).toBe(2);
        // observed: the JavaScript loops, the same bits
        equalBits({ J: threaded.jacobianForward!(data, undefined, () => {}).jacobian.first!.parts!.data }, Jf);
      } finally {
        threaded.release();
      }
    }
  }, HOOK_TIMEOUT_MS);

  it('a tanh layer\'s forward Jacobian (its sweep checks each step, and imports Math.tanh): split on 2 threads, bitwise the same; exp(W x + c), which overflows: the iteration one thread names', async () => {
    const compiled = await compile(layer, { mode: 'forward', K: 40, dims: { n: 24 } });
    expect(compiled.files[0]!.contents).toMatch(/Math: \{ tanh: Math\.tanh \}/);
    const { create, held } = await heldKernels(compiled.files[0]!.contents);
    const inputs = { W: vec(24 * 24, 1, 1.5 / 24), c: vec(24, 2) };
    const single = create(undefined, { threads: 1 });
    const threaded = create(undefined, { threads: 2 });
    const kernels = held[held.length - 1]!;
    try {
      await threaded.ready();
      const before = kernels.sweepsSplit();
      equalBits({ J: threaded.jacobianForward!(inputs).jacobian.x!.W!.data }, { J: single.jacobianForward!(inputs).jacobian.x!.W!.data });
      expect(kernels.sweepsSplit() - before).toBe(1);
      // x ← exp(W x + c) grows until it overflows: the split sweep stops in a part, runs again
      // whole, and names the iteration one thread names
      const growing = defineMap({ name: 'grow', state: { x: 'n' }, params: { W: 'n,n', c: 'n' }, data: {}, update: { x: 'exp(W * x + c)' } });
      const grow = await heldKernels((await compile(growing, { mode: 'forward', K: 40, dims: { n: 24 } })).files[0]!.contents);
      const big = { W: vec(24 * 24, 1).map((v) => 0.3 + 0.1 * v), c: vec(24, 2) };
      const message = (instance: MapInstance) => {
        try {
          instance.jacobianForward!(big);
        } catch (e) {
          return (e as Error).message;
        }
        return 'no error';
      };
      const [growOne, growTwo] = [grow.create(undefined, { threads: 1 }), grow.create(undefined, { threads: 2 })];
      try {
        await growTwo.ready();
        const expected = message(growOne);
        expect(expected).toMatch(/iteration \d+/);
        expect(message(growTwo)).toBe(expected);
        expect(grow.held[grow.held.length - 1]!.sweepsSplit()).toBe(1);
        // and it goes on: small weights, the same bits as one thread, split again
        const small = { W: vec(24 * 24, 3, 0.02), c: vec(24, 4, 0.1) };
        equalBits({ J: growTwo.jacobianForward!(small).jacobian.x!.W!.data }, { J: growOne.jacobianForward!(small).jacobian.x!.W!.data });
        expect(grow.held[grow.held.length - 1]!.sweepsSplit()).toBe(2);
      } finally {
        growTwo.release();
      }
    } finally {
      threaded.release();
    }
  }, HOOK_TIMEOUT_MS);

  it('deferred gemms on workers while the backward sweep goes on (two updates, adversarial names): bitwise the same VJP and Jacobian on 2 and 3 threads as on 1', async () => {
    // two states, so two deferred updates (one per weight matrix), named as the runtime's own functions
    const spec = defineMap({
      name: 'two_layers',
      state: { settle: 'n', queue: 'n' },
      params: { deferredGemm: 'n,n', flushDeferred: 'n,n', end: 'n' },
      data: {},
      update: { settle: 'tanh(deferredGemm * settle + flushDeferred * queue + end)', queue: 'settle' },
    });
    // K − T = 37 steps: two blocks of 16 posted, the last of 5 waited for
    const compiled = await compile(spec, { mode: 'reverse', K: 40, truncate: 3, dims: { n: 72 } });
    const contents = compiled.files[0]!.contents;
    expect(contents.match(/kernels\.deferredGemm\(/g)!.length).toBe(2);
    const { create, held } = await heldKernels(contents);
    const inputs = { deferredGemm: vec(72 * 72, 1, 1.2 / 72), flushDeferred: vec(72 * 72, 2, 0.6 / 72), end: vec(72, 3) };
    const cot = { settle: vec(72, 4), queue: vec(72, 5) };
    const single = create(undefined, { threads: 1 });
    // on 3 threads a list is cut in two parts, one per worker, at rows of C
    for (const threads of [2, 3]) {
      const threaded = create(undefined, { threads });
      const kernels = held[held.length - 1]!;
      try {
        await threaded.ready();
        const before = kernels.deferredPosted();
        equalBits(threaded.vjp!(inputs, cot).gradient, single.vjp!(inputs, cot).gradient);
        // two lists a sweep (each with both updates' gemms), the third run here
        expect(kernels.deferredPosted() - before).toBe(2);
        const [jt, js] = [threaded.jacobianReverse!(inputs).jacobian.settle!, single.jacobianReverse!(inputs).jacobian.settle!];
        equalBits({ W: jt.deferredGemm!.data, V: jt.flushDeferred!.data, c: jt.end!.data }, { W: js.deferredGemm!.data, V: js.flushDeferred!.data, c: js.end!.data });
        expect(kernels.deferredPosted() - before).toBe(4);
      } finally {
        threaded.release();
      }
    }
  }, HOOK_TIMEOUT_MS);

  it("deferred gemms on a worker: an observer sees each step's W̄ done, bitwise as on 1 thread", async () => {
    // observed, a block is one step: at n = 192 its gemm (192² multiply-adds) is large enough to post
    const compiled = await compile(layer, { mode: 'reverse', K: 24, dims: { n: 192 } });
    const { create, held } = await heldKernels(compiled.files[0]!.contents);
    const inputs = { W: vec(192 * 192, 1, 1.5 / 192), c: vec(192, 2) };
    const cot = { x: vec(192, 3) };
    const single = create(undefined, { threads: 1 });
    const threaded = create(undefined, { threads: 2 });
    const kernels = held[held.length - 1]!;
    const seen = (inst: MapInstance) => {
      const out: Float64Array[] = [];
      inst.vjp!(inputs, cot, undefined, (e) => {
        if (e.phase === 'backward') out.push(Float64Array.from(e.gradient!.W!));
      });
      return out;
    };
    try {
      await threaded.ready();
      const before = kernels.deferredPosted();
      const [a, b] = [seen(threaded), seen(single)];
      expect(a.length).toBe(24);
      a.forEach((g, i) => equalBits({ g }, { g: b[i]! }));
      // the observer reads W̄ after every step: each block (one step) ran here, none was posted
      expect(kernels.deferredPosted() - before).toBe(0);
      // unobserved: a block of 16 posted, the last of 8 run here
      equalBits(threaded.vjp!(inputs, cot).gradient, single.vjp!(inputs, cot).gradient);
      expect(kernels.deferredPosted() - before).toBe(1);
    } finally {
      threaded.release();
    }
  }, HOOK_TIMEOUT_MS);

  it('deferred gemms on a worker: an adjoint that overflows names the same iteration as on 1 thread, and the next call is bitwise right', async () => {
    // sin keeps x finite; with W this large the adjoint grows by orders of magnitude a step
    const wave = defineMap({ name: 'wave', state: { x: 'n' }, params: { W: 'n,n', c: 'n' }, data: {}, update: { x: 'sin(W * x + c)' } });
    const compiled = await compile(wave, { mode: 'reverse', K: 150, dims: { n: 64 } });
    expect(compiled.files[0]!.contents).toContain('kernels.deferredGemm(');
    const { create, held } = await heldKernels(compiled.files[0]!.contents);
    const single = create(undefined, { threads: 1 });
    const threaded = create(undefined, { threads: 2 });
    const kernels = held[held.length - 1]!;
    const calm = { W: vec(64 * 64, 1, 1 / 64), c: vec(64, 2) };
    const wild = { W: vec(64 * 64, 1, 400), c: vec(64, 2) };
    const cot = { x: vec(64, 3) };
    const message = (inst: MapInstance) => {
      try {
        inst.vjp!(wild, cot);
      } catch (e) {
        return (e as Error).message;
      }
      return 'no error';
    };
    try {
      await threaded.ready();
      const before = kernels.deferredPosted();
      const expected = message(single);
      expect(expected).toMatch(/adjoint of x became non-finite .* at iteration \d+ of 150/);
      expect(message(threaded)).toBe(expected);
      expect(kernels.deferredPosted()).toBeGreaterThan(before);
      equalBits(threaded.vjp!(calm, cot).gradient, single.vjp!(calm, cot).gradient);
    } finally {
      threaded.release();
    }
  }, HOOK_TIMEOUT_MS);

  it("checks create()'s options", async () => {
    const compiled = await compile(ridge, { mode: 'reverse', K: 3, dims: { m: 20, n: 16 } });
    const plain = await compile(ridge, { mode: 'reverse', K: 3, dims: { m: 20, n: 16 }, kernels: 'js' });
    for (const c of [compiled, plain]) {
      for (const threads of [0, 1.5, 65, '2']) {
        expect(() => c.create(undefined, { threads } as never)).toThrow(/options\.threads must be an integer from 1 to 64/);
      }
      expect(() => c.create(undefined, { thread: 2 } as never)).toThrow(/options: unknown name 'thread'/);
      const inst: MapInstance = c.create(undefined, { threads: 3 });
      expect(inst.threads()).toBe(1);
      inst.release();
    }
  });

  it('ready() resolves once the workers are up, and at once with threads: 1 or --kernels js', async () => {
    const compiled = await compile(ridge, { mode: 'reverse', K: 5, dims: { m: 220, n: 200 } });
    const plain = await compile(ridge, { mode: 'reverse', K: 5, dims: { m: 220, n: 200 }, kernels: 'js' });
    const threaded = compiled.create(undefined, { threads: 2 });
    try {
      expect(threaded.threads()).toBe(1);
      await threaded.ready();
      expect(threaded.threads()).toBe(2);
    } finally {
      threaded.release();
    }
    for (const inst of [compiled.create(undefined, { threads: 1 }), plain.create(undefined, { threads: 2 }), plain.create()]) {
      await inst.ready();
      expect(inst.threads()).toBe(1);
    }
  }, HOOK_TIMEOUT_MS);

  it('a state named ready and a param named whenReady: the same results as x and c, and the method ready() is there', async () => {
    const renamed = defineMap({ name: 'layer', state: { ready: 'n' }, params: { W: 'n,n', whenReady: 'n' }, data: {}, update: { ready: 'tanh(W * ready + whenReady)' } });
    const inputs = { W: vec(16 * 16, 1, 1.5 / 16), c: vec(16, 2) };
    for (const kernels of ['wasm', 'js'] as const) {
      const options = { mode: 'reverse' as const, K: 6, dims: { n: 16 }, kernels };
      const [a, b] = [(await compile(layer, options)).create(undefined, { threads: 2 }), (await compile(renamed, options)).create(undefined, { threads: 2 })];
      await b.ready();
      equalBits({ x: b.iterate({ W: inputs.W, whenReady: inputs.c }).state.ready! }, a.iterate(inputs).state);
      b.release();
    }
  }, HOOK_TIMEOUT_MS);

  it('a process with started worker threads exits by itself', async () => {
    const compiled = await compile(ridge, { mode: 'reverse', K: 20, dims: { m: 200, n: 200 } });
    const dir = mkdtempSync(join(tmpdir(), 'phic-exit-'));
    writeFileSync(join(dir, 'ridge.mjs'), compiled.files[0]!.contents);
    writeFileSync(
      join(dir, 'main.mjs'),
      [
        "import { create } from './ridge.mjs';",
        'const inst = create(undefined, { threads: 2 });',
        'const data = { theta: new Float64Array(200).fill(1), A: new Float64Array(40000).fill(0.01), b: new Float64Array(200).fill(1) };',
        // start the workers and wait (without a limit) until they are ready: ready() keeps Node running till then
        'await inst.ready();',
        'inst.iterate(data);',
        "console.log('threads', inst.threads());",
      ].join('\n'),
    );
    // The process must end by itself once main.mjs is done: a hang is killed at the timeout
    // (far beyond what a loaded machine needs), which fails the test. How long it took is not asked.
    const out = execFileSync(process.execPath, [join(dir, 'main.mjs')], { encoding: 'utf8', timeout: READY_DEADLINE_MS });
    expect(out.trim()).toBe('threads 2');
  }, HOOK_TIMEOUT_MS);
});
