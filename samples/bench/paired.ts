// The paired kernel against the two calls it replaces: gemvGemvT2 (one pass over A for two
// vectors, kernels-paired.wat) against gemvGemvT twice, on n×n matrices, through the kernels'
// runtime as a generated module holds it (worker threads included), on 1 and 2 threads. The two
// ways alternate in blocks of calls within every repeat, so a change of the machine's speed hits
// both alike; medians of the repeats. The results are checked to be the same bits first.
// Run: npx tsc -p tsconfig.json && node dist/samples/bench/paired.js [--n 500,1000,2000,4000] [--repeats R]

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KERNELS_RUNTIME, PAIRED_KERNELS_RUNTIME } from '../../compiler/codegen/wasm/runtime-kernels.js';
import { median } from '../../src/lab/stats.js';

interface Kernels {
  gemvGemvT(...args: number[]): void;
  gemvGemvT2(...args: number[]): void;
  views(sizes: number[]): Float64Array[];
  whenReady(): Promise<void>;
  release(): void;
}
type Instantiate = (threads: number, build: 'simd', crowded: null, paired: object) => Kernels;

const argument = (name: string) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const SIZES = (argument('--n') ?? '500,1000,2000,4000').split(',').map(Number);
const REPEATS = Number(argument('--repeats') ?? 21);

/** The kernels' runtime as a generated module holds it, made importable on its own. */
async function runtime(): Promise<{ instantiate: Instantiate; PAIRED_KERNELS: object }> {
  const dir = mkdtempSync(join(tmpdir(), 'phic-paired-'));
  const file = join(dir, 'kernels.mjs');
  writeFileSync(file, `function fail(category, message) { throw new Error(category + ': ' + message); }\n${KERNELS_RUNTIME}\n${PAIRED_KERNELS_RUNTIME}\nexport { instantiateKernels as instantiate, PAIRED_KERNELS };\n`);
  try {
    return (await import(pathToFileURL(file).href)) as { instantiate: Instantiate; PAIRED_KERNELS: object };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function time(instantiate: Instantiate, paired: object, n: number, threads: number): Promise<string> {
  const k = instantiate(threads, 'simd', null, paired);
  // A, then for each vector x, u, c, v, y and the scratch of eight rows
  const [A, ...vectors] = k.views([n * n, ...[0, 1].flatMap(() => [n, n, n, n, n, 8 * n])]);
  for (const [j, a] of [A!, ...vectors].entries()) for (let i = 0; i < a.length; i++) a[i] = Math.sin(i * 0.37 + j * 1.3) / Math.sqrt(n);
  const at = (call: number) => vectors.slice(6 * call, 6 * call + 6).map((v) => v.byteOffset);
  const [a, b] = [at(0), at(1)];
  // the step's call (v = u − c) and the adjoint's (no c: v is u), as the fused sweep makes them
  const first = [a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!];
  const second = [b[0]!, b[1]!, -1, b[1]!, b[4]!, b[5]!];
  const two = () => {
    k.gemvGemvT(A!.byteOffset, n, ...first, n, n);
    k.gemvGemvT(A!.byteOffset, n, ...second, n, n);
  };
  const one = () => k.gemvGemvT2(A!.byteOffset, n, ...first, ...second, n, n);
  const ys = [vectors[4]!, vectors[10]!];
  const result = (run: () => void) => {
    ys.forEach((y) => y.fill(0.5));
    run();
    return ys.map((y) => y.slice());
  };
  const [r2, r1] = [result(two), result(one)];
  if (!r2.every((y, i) => Buffer.from(y.buffer).equals(Buffer.from(r1[i]!.buffer)))) throw new Error(`n = ${n}: gemvGemvT2 and two gemvGemvT differ`);
  await k.whenReady();
  const calls = Math.max(3, Math.round(2e8 / (n * n)));
  const times: [number[], number[]] = [[], []];
  for (let r = 0; r < REPEATS; r++) {
    for (const [w, run] of [two, one].entries()) {
      const t0 = performance.now();
      for (let c = 0; c < calls; c++) run();
      times[w]!.push(((performance.now() - t0) / calls) * 1000);
    }
  }
  k.release();
  const [t2, t1] = times.map(median) as [number, number];
  return `| ${n} | ${threads} | ${t2.toFixed(1)} | ${t1.toFixed(1)} | ${(t2 / t1).toFixed(2)} |`;
}

const { instantiate, PAIRED_KERNELS } = await runtime();
const rows = ['| n | threads | two gemvGemvT µs | gemvGemvT2 µs | speed-up |', '|---:|---:|---:|---:|---:|'];
for (const n of SIZES) for (const threads of [1, 2]) rows.push(await time(instantiate, PAIRED_KERNELS, n, threads));
console.log(rows.join('\n'));
process.exit(0);
