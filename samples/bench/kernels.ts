// Micro-benchmark of the WebAssembly kernels on one thread: gemv (y = A x) and gemvT
// (y += Aᵀ v) on n×n matrices, n ∈ {100, 500, 1000, 2000, 4000}, and gemm (C += Aᵀ B, the
// shape of the batched tangent products, A read transposed in place) at n ∈ {100, 500, 1000}.
// Each build runs on its own memory holding the same data: the plain SIMD build, the relaxed
// SIMD build (fused multiply-adds; where the engine has relaxed SIMD), and optionally a
// baseline (--baseline FILE: the kernels-binary.js of an earlier build, for before/after).
// The builds alternate within every repeat, so a change of load on a shared machine hits them
// alike. Prints GFLOP/s (2 flops per multiply-add), the median of the repeats, beside numpy's
// same-shaped call on one OpenBLAS thread when python3 has numpy.
// Run: npx tsc -p tsconfig.json && node --experimental-wasm-relaxed-simd dist/samples/bench/kernels.js [--baseline FILE] [--repeats R] [--only REGEX] [--no-numpy] [--best]

import { execFileSync } from 'node:child_process';
import { basename, dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KERNELS_BASE64, KERNELS_RELAXED_BASE64 } from '../../compiler/codegen/wasm/kernels-binary.js';
import { median } from '../../src/lab/stats.js';

interface Kernels {
  gemv(A: number, lda: number, x: number, y: number, m: number, n: number): void;
  gemvT(A: number, lda: number, v: number, y: number, m: number, n: number): void;
  gemm(C: number, ldc: number, A: number, ai: number, al: number, B: number, ldb: number, m: number, n: number, k: number, sym: number): void;
}

/** The part of the WebAssembly global this benchmark uses (the compiler's libs declare none). */
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Memory: new (descriptor: { initial: number }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => unknown;
  Instance: new (module: unknown, imports: object) => { exports: unknown };
};

interface Build {
  name: string;
  k: Kernels;
  heap: Float64Array;
}

const argument = (name: string) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const REPEATS = Number(argument('--repeats') ?? 7);
/** Each sample runs the call this long at least, in milliseconds. */
const SAMPLE_MS = 30;
const MATVEC_SIZES = [100, 500, 1000, 2000, 4000];
const GEMM_SIZES = [100, 500, 1000];

function build(name: string, base64: string, entries: number): Build | undefined {
  const bytes = Buffer.from(base64, 'base64');
  if (!WebAssembly.validate(bytes)) return undefined;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((entries * 8) / 65536) });
  const k = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports as unknown as Kernels;
  const heap = new Float64Array(memory.buffer);
  // the same values in every build: a cheap deterministic pattern in [-1, 1)
  for (let i = 0; i < heap.length; i++) heap[i] = ((i * 0.6180339887) % 1) * 2 - 1;
  return { name, k, heap };
}

/** Milliseconds per call: calls repeated until SAMPLE_MS have passed. */
function sample(call: () => void): number {
  let reps = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < SAMPLE_MS) {
    call();
    reps++;
    t = performance.now();
  }
  return (t - t0) / reps;
}

/** numpy's GFLOP/s for the same shapes, on one thread, or undefined without numpy. */
function numpyRates(): Record<string, number> | undefined {
  const script = `
import json, time, numpy as np
def rate(f, flops):
    f(); best = []
    for r in range(${REPEATS}):
        reps = 0; t0 = time.perf_counter(); t = t0
        while t - t0 < ${SAMPLE_MS / 1000}:
            f(); reps += 1; t = time.perf_counter()
        best.append((t - t0) / reps)
    return flops / sorted(best)[len(best) // 2] / 1e9
out = {}
for n in ${JSON.stringify(MATVEC_SIZES)}:
    A = np.random.rand(n, n); x = np.random.rand(n); y = np.zeros(n)
    out['gemv %d' % n] = rate(lambda: A @ x, 2 * n * n)
    out['gemvT %d' % n] = rate(lambda: np.add(y, A.T @ x, out=y), 2 * n * n)
for n in ${JSON.stringify(GEMM_SIZES)}:
    A = np.random.rand(n, n); B = np.random.rand(n, n); C = np.zeros((n, n))
    out['gemm %d' % n] = rate(lambda: np.add(C, A.T @ B, out=C), 2 * n * n * n)
print(json.dumps(out))`;
  try {
    const env = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
    return JSON.parse(execFileSync('python3', ['-c', script], { encoding: 'utf8', env })) as Record<string, number>;
  } catch {
    return undefined;
  }
}

async function main() {
  const largest = Math.max(...MATVEC_SIZES);
  const entries = largest * largest + 4 * largest + 16;
  const builds: Build[] = [];
  // --baseline FILE, possibly repeated: each FILE's plain build, named by its folder
  for (let i = 0; i < process.argv.length; i++) {
    if (process.argv[i] !== '--baseline') continue;
    const file = process.argv[i + 1]!;
    const old = (await import(pathToFileURL(file).href)) as { KERNELS_BASE64: string };
    builds.push(build(builds.length === 0 ? 'baseline' : basename(dirname(file)), old.KERNELS_BASE64, entries)!);
  }
  builds.push(build('simd', KERNELS_BASE64, entries)!);
  const relaxed = build('relaxed', KERNELS_RELAXED_BASE64, entries);
  if (relaxed) builds.push(relaxed);
  else process.stderr.write('relaxed SIMD: not in this engine (Node 20: --experimental-wasm-relaxed-simd); measuring the plain build only\n');

  type Case = { label: string; flops: number; run: (k: Kernels) => void };
  const cases: Case[] = [];
  for (const n of MATVEC_SIZES) {
    const [A, x, y] = [0, 8 * n * n, 8 * (n * n + n)];
    cases.push({ label: `gemv ${n}`, flops: 2 * n * n, run: (k) => k.gemv(A, n, x, y, n, n) });
    cases.push({ label: `gemvT ${n}`, flops: 2 * n * n, run: (k) => k.gemvT(A, n, x, y, n, n) });
  }
  for (const n of GEMM_SIZES) {
    // C after A and B (the 1000² case fits below the matvec layout's end)
    const [A, B, C] = [0, 8 * n * n, 16 * n * n];
    cases.push({ label: `gemm ${n}`, flops: 2 * n * n * n, run: (k) => k.gemm(C, n, A, 1, n, B, n, n, n, n, 0) });
  }
  const only = new RegExp(argument('--only') ?? '');
  const chosen = cases.filter((c) => only.test(c.label));
  const numpy = argument('--no-numpy') === undefined && !process.argv.includes('--no-numpy') ? numpyRates() : undefined;
  const names = builds.map((b) => b.name);
  const header = ['call', ...names.map((n) => `${n} GFLOP/s`), ...(numpy ? ['numpy GFLOP/s'] : []), ...names.slice(1).map((n) => `${n} / ${names[0]}`)];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const c of chosen) {
    const times: number[][] = builds.map(() => []);
    for (const b of builds) c.run(b.k); // warm-up
    for (let r = 0; r < REPEATS; r++) builds.forEach((b, i) => times[i]!.push(sample(() => c.run(b.k))));
    // --best: the fastest sample instead of the median (less sensitive to other work on the machine)
    const rates = times.map((t) => c.flops / (process.argv.includes('--best') ? Math.min(...t) : median(t)) / 1e6);
    const cells = [c.label, ...rates.map((g) => g.toFixed(2)), ...(numpy ? [numpy[c.label]!.toFixed(2)] : []), ...rates.slice(1).map((g) => (g / rates[0]!).toFixed(2))];
    console.log(`| ${cells.join(' | ')} |`);
  }
}

await main();
