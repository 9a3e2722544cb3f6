// Does the default thread setting ever hurt? Times the default create() (as many threads as
// cores, at most 4, each large call split only while that has been faster) against
// { threads: 1 } and an explicit { threads: 2 } (always split), and a second { threads: 1 }
// instance (its ratio to the first is the machine's noise), on the peer benchmark's workloads
// (peers/workloads.ts: P1–P5 and the ridge VJP at n = 1000, 2000, 4000, K = 100), each call the
// one the benchmark's phic child makes. All settings live in one process and take turns call by
// call, 1 ms apart (a worker's spin after a split call has ended when the next setting starts):
// the peer benchmark runs each setting in a child of its own, where the core a child lands on
// can move its time by more than the threads do. Medians of the repeats. With --hog, a
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
import { median } from '../../src/lab/stats.js';
import { compile, type MapInstance } from '../../src/index.js';
import { workloadCall } from './peers/phic-peer.js';
import { compileOptionsOf, DEFS, generate, SCALING_N, scalingDefs, specOf } from './peers/workloads.js';

const argument = (name: string) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const REPEATS = Number(argument('--repeats') ?? 41);

/** Each setting's calls in a workload take about this long in all (at least 5 calls, at most --repeats). */
const BUDGET_MS = 10_000;

async function workloads() {
  const rows: string[] = [];
  const only = new RegExp(argument('--only') ?? '');
  const defs = [...DEFS, ...scalingDefs(SCALING_N, [])].filter((d) => only.test(d.id));
  const gap = new Int32Array(new SharedArrayBuffer(4));
  for (const def of defs) {
    const { meta, arrays } = generate(def);
    const compiled = await compile(specOf(meta), compileOptionsOf(meta));
    // a second { threads: 1 } instance: the same code timed twice shows the noise of the machine
    const settings: [string, MapInstance][] = [
      ['threads: 1', compiled.create(undefined, { threads: 1 })],
      ['default', compiled.create()],
      ['threads: 2', compiled.create(undefined, { threads: 2 })],
      ['threads: 1 again', compiled.create(undefined, { threads: 1 })],
    ];
    for (const [, inst] of settings) await inst.ready();
    const calls = settings.map(([, inst]) => workloadCall(meta, arrays, inst).call);
    // warm-up (and the adaptive default's first timings), then as many rounds as the budget allows
    const first = calls.map((call) => {
      const t0 = performance.now();
      for (let i = 0; i < 3; i++) call();
      return (performance.now() - t0) / 3;
    });
    const repeats = Math.max(5, Math.min(REPEATS, Math.round(BUDGET_MS / Math.max(...first))));
    const times: number[][] = settings.map(() => []);
    for (let r = 0; r < repeats; r++) {
      calls.forEach((call, i) => {
        Atomics.wait(gap, 0, 0, 1);
        const t0 = performance.now();
        call();
        times[i]!.push(performance.now() - t0);
      });
    }
    const ms = times.map(median);
    const digits = (t: number) => (t < 10 ? t.toFixed(2) : t.toFixed(1));
    rows.push(`| ${meta.title} | ${settings.slice(0, 3).map(([, inst]) => inst.threads()).join(' / ')} | ${repeats} | ${ms.map(digits).join(' | ')} | ${(ms[0]! / ms[1]!).toFixed(2)} | ${(ms[0]! / ms[2]!).toFixed(2)} | ${(ms[0]! / ms[3]!).toFixed(2)} |`);
    for (const [, inst] of settings) inst.release();
  }
  console.log('| workload | threads (1 / default / 2) | calls each | threads: 1 ms | default ms | threads: 2 ms | threads: 1 again ms | default speed-up | threads: 2 speed-up | again (noise) |');
  console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
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
