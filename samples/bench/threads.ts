// Does the default thread setting ever hurt? Times the default create() (as many threads as
// cores, at most 4, each large call split only while that has been faster) against
// { threads: 1 } and an explicit { threads: 2 } (always split), and a second { threads: 1 }
// instance (its ratio to the first is the machine's noise), on two ridge workloads:
//   P3   m = n = 100, K = 500, the full forward Jacobian dx_K/dθ (batched tangent gemm)
//   big  m = n = 4000, K = 30, a reverse-mode VJP (gemv and gemvT on a 128 MB matrix)
// The settings alternate within every repeat (median of the repeats). With --hog, a
// `yes > /dev/null` process runs meanwhile (a machine whose cores are busy) and is stopped by
// its pid at the end. --threshold instead times 1 against 2 threads on single gemv calls of
// growing size (where splitting starts to pay: PARALLEL_MIN_WORK and, for the default threads,
// ADAPTIVE_MIN_WORK in runtime-wasm-typed.ts).
// Run: npx tsc -p tsconfig.json && node dist/samples/bench/threads.js [--hog] [--repeats R] [--only REGEX] [--threshold]

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KERNELS_RUNTIME } from '../../compiler/codegen/wasm/runtime-kernels.js';
import { randomGenerator } from '../../runtime/reference.js';
import { median } from '../../src/lab/stats.js';
import { compile, type MapInstance } from '../../src/index.js';
import { ridgeSpec } from './ridge-spec.js';

const argument = (name: string) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const REPEATS = Number(argument('--repeats') ?? 7);

interface Workload {
  label: string;
  m: number;
  n: number;
  K: number;
  mode: 'forward' | 'reverse';
}
const WORKLOADS: Workload[] = [
  { label: 'P3 ridge 100², K = 500, forward Jacobian', m: 100, n: 100, K: 500, mode: 'forward' },
  { label: 'ridge 4000², K = 30, reverse VJP', m: 4000, n: 4000, K: 30, mode: 'reverse' },
];

function data(m: number, n: number) {
  const random = randomGenerator(7);
  const A = Float64Array.from({ length: m * n }, () => (random.uniform() * 2 - 1) / Math.sqrt(m));
  return { A, b: Float64Array.from({ length: m }, () => random.uniform()), theta: Float64Array.from({ length: n }, () => random.uniform()) };
}

async function workloads() {
  const rows: string[] = [];
  const only = new RegExp(argument('--only') ?? '');
  for (const w of WORKLOADS.filter((x) => only.test(x.label))) {
    const compiled = await compile(ridgeSpec(0.1), { mode: w.mode, K: w.K, dims: { m: w.m, n: w.n } });
    const inputs = data(w.m, w.n);
    const cot = { x: Float64Array.from({ length: w.n }, (_, i) => Math.sin(i)) };
    // a second { threads: 1 } instance: the same code timed twice shows the noise of the machine
    const settings: [string, MapInstance][] = [
      ['threads: 1', compiled.create(undefined, { threads: 1 })],
      ['default', compiled.create()],
      ['threads: 2', compiled.create(undefined, { threads: 2 })],
      ['threads: 1 again', compiled.create(undefined, { threads: 1 })],
    ];
    for (const [, inst] of settings) await inst.ready();
    const run = (inst: MapInstance) => (w.mode === 'forward' ? inst.jacobianForward!(inputs) : inst.vjp!(inputs, cot));
    for (const [, inst] of settings) run(inst); // warm-up (and the adaptive default's first timings)
    const times: number[][] = settings.map(() => []);
    for (let r = 0; r < REPEATS; r++) {
      settings.forEach(([, inst], i) => {
        const t0 = performance.now();
        run(inst);
        times[i]!.push(performance.now() - t0);
      });
    }
    const ms = times.map(median);
    rows.push(`| ${w.label} | ${settings.slice(0, 3).map(([, inst]) => inst.threads()).join(' / ')} | ${ms.map((t) => t.toFixed(1)).join(' | ')} | ${(ms[0]! / ms[1]!).toFixed(2)} | ${(ms[0]! / ms[2]!).toFixed(2)} | ${(ms[0]! / ms[3]!).toFixed(2)} |`);
    for (const [, inst] of settings) inst.release();
  }
  console.log('| workload | threads (1 / default / 2) | threads: 1 ms | default ms | threads: 2 ms | threads: 1 again ms | default speed-up | threads: 2 speed-up | again (noise) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) console.log(row);
}

interface Runtime {
  instantiateKernels(threads: number): {
    gemv(A: number, lda: number, x: number, y: number, m: number, n: number): void;
    views(sizes: number[]): Float64Array[];
    whenReady(): Promise<void>;
    release(): void;
  };
}

/** Single gemv calls, n×n for growing n: microseconds on 1 and on 2 threads (always split). */
async function threshold() {
  const file = join(mkdtempSync(join(tmpdir(), 'phic-threads-bench-')), 'kernels.mjs');
  writeFileSync(file, `function fail(category, message) { throw new Error(category + ': ' + message); }\n${KERNELS_RUNTIME}\nexport { instantiateKernels };\n`);
  const runtime = (await import(pathToFileURL(file).href)) as Runtime;
  const [one, two] = [runtime.instantiateKernels(1), runtime.instantiateKernels(2)];
  await two.whenReady();
  console.log('| gemv n×n | multiply-adds | 1 thread µs | 2 threads µs | speed-up |');
  console.log('|---|---|---|---|---|');
  for (const n of [64, 96, 128, 160, 192, 256, 362, 512]) {
    const views = [one.views([n * n, n, n]), two.views([n * n, n, n])];
    const times: number[][] = [[], []];
    for (let r = 0; r < REPEATS; r++) {
      [one, two].forEach((k, i) => {
        const [A, x, y] = views[i]!;
        const calls = Math.max(20, Math.round(2e7 / (n * n)));
        const t0 = performance.now();
        for (let c = 0; c < calls; c++) k.gemv(A!.byteOffset, n, x!.byteOffset, y!.byteOffset, n, n);
        times[i]!.push(((performance.now() - t0) * 1000) / calls);
      });
    }
    const [a, b] = times.map(median) as [number, number];
    console.log(`| ${n} | ${n * n} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(2)} |`);
  }
  two.release();
}

const hog = process.argv.includes('--hog') ? spawn('sh', ['-c', 'exec yes > /dev/null'], { stdio: 'ignore' }) : undefined;
try {
  if (hog) console.log(`(a yes > /dev/null process, pid ${hog.pid}, runs meanwhile)\n`);
  if (process.argv.includes('--threshold')) await threshold();
  else await workloads();
} finally {
  if (hog?.pid) process.kill(hog.pid);
}
