// Benchmark: the CPU backend (float64 JavaScript) against each gpu.js backend this machine can
// run (float32: webasm always; headlessgl under a display, so this script re-runs itself under
// xvfb-run when it has none and xvfb-run exists), forward (JVP) and reverse (VJP) mode, on ridge
// regression by gradient descent and on the tanh fixed-point layer, n ∈ {64, 256, 1024, 2048}.
// Reported separately: compile time (phic, to a loaded module), the first call (gpu.js builds
// its kernels: transpile, shader compile), and the steady state (benchmark.js, ops/sec ± RME,
// the call awaited through the final readback). K shrinks as n grows so each call stays
// measurable and the whole run stays within about ten minutes on 2 cores.
// Writes docs/gpu-benchmarks.md (table), docs/gpu-benchmarks.json and
// docs/gpu-benchmarks.svg/.png (time per iteration against n, per backend).
// Run: npm run build && npm run bench:backends

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Benchmark from 'benchmark';
import { packageRoot } from '../../compiler/package-root.js';
import { compile, type MapSpec } from '../../src/index.js';
import { randomGenerator, relativeDifference, spectralNorm } from '../../runtime/reference.js';
import { availableBackends, createGpu, type GpuInstance, type GpuMode } from '../../runtime/gpu.js';
import { renderFigure, type Series } from '../../src/lab/plot.js';

const SIZES: readonly { n: number; K: number }[] = [
  { n: 64, K: 100 },
  { n: 256, K: 40 },
  { n: 1024, K: 10 },
  { n: 2048, K: 4 },
];
const P = 16; // tanh layer: parameters θ ∈ R^P
const SEED = 20261123;

type MapName = 'ridge' | 'tanh_layer';
type Mode = 'forward' | 'reverse';

const SPECS: Record<MapName, (alpha: number) => MapSpec> = {
  ridge: (alpha) => ({
    name: 'ridge', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' }, constants: { alpha },
    update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" },
  }),
  tanh_layer: () => ({
    name: 'tanh_layer', state: { x: 'n' }, params: { theta: 'p' }, data: { W: 'n,n', U: 'n,p', c: 'n' },
    update: { x: 'tanh(W * x + U * theta + c)' },
  }),
};

interface Problem {
  dims: Record<string, number>;
  inputs: Record<string, Float64Array>;
  direction: Record<string, Float64Array>;
  cotangent: Record<string, Float64Array>;
  alpha: number;
}

function problem(map: MapName, n: number): Problem {
  const rng = randomGenerator(SEED + n);
  if (map === 'ridge') {
    const m = n;
    const A = rng.vector(m * n, 'normal').map((v) => v / Math.sqrt(m));
    const theta = rng.vector(n).map((v) => 0.5 + v);
    // Power iteration on AᵀA is O(n²) per step: few steps suffice for a safe step size at these n.
    const sigma = spectralNorm({ rows: m, cols: n, data: A });
    return { dims: { m, n }, inputs: { A, b: rng.vector(m, 'normal'), theta }, direction: { theta: rng.vector(n, 'normal') }, cotangent: { x: rng.vector(n, 'normal') }, alpha: 1 / (sigma * sigma + Math.max(...theta)) };
  }
  // ‖W‖₂ ≈ 0.5: a contraction, so iterates and derivatives stay bounded.
  const W = rng.vector(n * n, 'normal').map((v) => (0.25 * v) / Math.sqrt(n));
  return {
    dims: { n, p: P }, inputs: { W, U: rng.vector(n * P, 'normal').map((v) => v / Math.sqrt(P)), c: rng.vector(n, 'normal'), theta: rng.vector(P, 'normal') },
    direction: { theta: rng.vector(P, 'normal') }, cotangent: { x: rng.vector(n, 'normal') }, alpha: 0,
  };
}

interface Timing {
  meanMs: number;
  hz: number;
  rmePercent: number;
  samples: number;
}

interface Row {
  map: MapName;
  n: number;
  K: number;
  mode: Mode;
  backend: string;
  precision: 'float64' | 'float32';
  executor: string;
  compileMs: number;
  firstCallMs: number;
  steady: Timing;
  msPerIteration: number;
  /** Relative 2-norm difference of the derivative from the float64 CPU result. */
  relativeToCpu: number;
}

let sink = 0;

function steadyState(label: string, fn: (() => void) | ((d: { resolve(): void }) => void), deferred: boolean, maxTime: number): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const options: Benchmark.Options = { minSamples: 5, maxTime, ...(deferred ? { defer: true } : {}) };
    const bench = new Benchmark(label, fn as unknown as () => void, options);
    bench.on('complete', () => {
      if (bench.error) reject(bench.error);
      else {
        process.stderr.write(`  ${String(bench)}\n`);
        resolve({ meanMs: bench.stats.mean * 1e3, hz: bench.hz, rmePercent: bench.stats.rme, samples: bench.stats.sample.length });
      }
    });
    bench.run({ async: true });
  });
}

type Call = () => Promise<{ derivative: Float64Array; backend: string; executor: string }>;

async function measure(map: MapName, n: number, K: number, backend: { name: string; gpu: GpuInstance | null }, reference: Record<Mode, Float64Array>): Promise<Row[]> {
  const pr = problem(map, n);
  const rows: Row[] = [];
  const t0 = performance.now();
  const options = { mode: 'both' as const, K, truncate: 0, dims: pr.dims, sourceName: `samples/bench/backends.ts (${map})` };
  const spec = SPECS[map](pr.alpha);
  const calls: Record<Mode, Call> = {} as never;
  let destroy = async () => {};
  if (!backend.gpu) {
    const inst = (await compile(spec, options)).create();
    calls.forward = async () => ({ derivative: inst.jvp!(pr.inputs, pr.direction).tangent.x!, backend: 'cpu (JS + SIMD kernels)', executor: '-' });
    calls.reverse = async () => ({ derivative: inst.vjp!(pr.inputs, pr.cotangent).gradient.theta!, backend: 'cpu (JS + SIMD kernels)', executor: '-' });
  } else {
    const inst = (await compile(spec, { ...options, backend: 'gpu', gpu: backend.gpu })).create();
    calls.forward = async () => {
      const r = await inst.jvp!(pr.inputs, pr.direction);
      return { derivative: r.tangent.x!, backend: r.backend, executor: r.executor };
    };
    calls.reverse = async () => {
      const r = await inst.vjp!(pr.inputs, pr.cotangent);
      return { derivative: r.gradient.theta!, backend: r.backend, executor: r.executor };
    };
    destroy = () => inst.destroy();
  }
  const compileMs = performance.now() - t0;
  for (const mode of ['forward', 'reverse'] as const) {
    const t1 = performance.now();
    const first = await calls[mode]();
    const firstCallMs = performance.now() - t1;
    if (!backend.gpu) reference[mode] = first.derivative;
    const relativeToCpu = relativeDifference(first.derivative, reference[mode]);
    // Fewer, longer samples where a call is slow (software GL at n = 2048).
    const maxTime = firstCallMs > 1500 ? 2 : 1.2;
    const label = `${map} n=${n} K=${K} ${mode} ${first.backend}`;
    const steady = backend.gpu
      ? await steadyState(label, (d: { resolve(): void }) => {
          calls[mode]().then((r) => {
            sink += r.derivative[0]!;
            d.resolve();
          });
        }, true, maxTime)
      : await steadyState(label, () => {
          void calls[mode]().then((r) => (sink += r.derivative[0]!));
        }, false, maxTime);
    rows.push({
      map, n, K, mode, backend: first.backend, precision: backend.gpu ? 'float32' : 'float64', executor: first.executor, compileMs, firstCallMs, steady,
      msPerIteration: steady.meanMs / K, relativeToCpu,
    });
  }
  await destroy();
  return rows;
}


/** The GL renderer string (llvmpipe = Mesa software rendering), where a GL backend ran. */
function glRenderer(gpu: GpuInstance): string | null {
  try {
    const k = gpu.createKernel('function () { return 1; }', { output: [1] });
    k();
    const gl = k.kernel.context as { getParameter(p: number): string; RENDERER: number; VERSION: number } | undefined;
    return gl ? `${gl.getParameter(gl.RENDERER)} (${gl.getParameter(gl.VERSION)})` : null;
  } catch {
    return null;
  }
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));

function table(rows: readonly Row[]): string {
  return [
    '| map | n | K | mode | backend | precision | executor | compile | first call | steady ms/call | ops/s ± RME | samples | ms/iteration | rel. diff. vs CPU |',
    '|---|---:|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) =>
      `| ${r.map} | ${r.n} | ${r.K} | ${r.mode} | ${r.backend} | ${r.precision} | ${r.executor} | ${fmt(r.compileMs)} ms | ${fmt(r.firstCallMs)} ms | ${fmt(r.steady.meanMs)} | ${r.steady.hz.toFixed(r.steady.hz >= 10 ? 1 : 2)} ± ${r.steady.rmePercent.toFixed(1)}% | ${r.steady.samples} | ${fmt(r.msPerIteration)} | ${r.relativeToCpu === 0 ? '0 (reference)' : r.relativeToCpu.toExponential(1)} |`),
  ].join('\n');
}

async function main() {
  // headlessgl needs a display: re-run under xvfb-run when there is none.
  if (!process.env.DISPLAY && !process.env.PHIC_BENCH_NO_XVFB && spawnSync('sh', ['-c', 'command -v xvfb-run'], { encoding: 'utf8' }).status === 0) {
    process.stderr.write('no display: re-running under xvfb-run -a (software GL) for the headlessgl backend\n');
    const r = spawnSync('xvfb-run', ['-a', process.execPath, fileURLToPath(import.meta.url)], { stdio: 'inherit', env: { ...process.env, PHIC_BENCH_NO_XVFB: '1' } });
    process.exit(r.status ?? 1);
  }
  const found = await availableBackends(['headlessgl', 'webgl2', 'webgl', 'webgpu', 'webasm']);
  const usable = found.filter((b) => b.backend === b.mode);
  for (const b of found) process.stderr.write(`gpu.js ${b.mode}: ${b.backend === b.mode ? 'available' : `not available (${b.reason ?? `ran ${b.backend}`})`}\n`);
  const backends: { name: string; gpu: GpuInstance | null }[] = [{ name: 'cpu', gpu: null }];
  const renderers: Record<string, string | null> = {};
  for (const b of usable) {
    const gpu = await createGpu(b.mode as GpuMode);
    backends.push({ name: b.mode, gpu });
    if (b.mode !== 'webasm') renderers[b.mode] = glRenderer(gpu);
  }
  const rows: Row[] = [];
  for (const map of ['ridge', 'tanh_layer'] as const) {
    for (const { n, K } of SIZES) {
      const reference = {} as Record<Mode, Float64Array>;
      for (const backend of backends) {
        process.stderr.write(`${map} n=${n} K=${K} on ${backend.name}\n`);
        rows.push(...(await measure(map, n, K, backend, reference)));
      }
    }
  }
  for (const b of backends) await b.gpu?.destroy();

  const list = cpus();
  const gpuJs = JSON.parse(readFileSync(join(packageRoot(), 'node_modules', 'gpu.js', 'package.json'), 'utf8')) as { version: string };
  const machine = {
    cpu: list[0]?.model.trim() ?? 'unknown', cores: list.length, node: process.version, os: `${platform()} ${release()} ${arch()}`,
    gpuJs: gpuJs.version, gpu: 'none (no GPU on this machine): GL backends run on Mesa software rendering under Xvfb', renderers,
    backendsFound: found,
  };
  const docs = join(packageRoot(), 'docs');
  mkdirSync(docs, { recursive: true });
  writeFileSync(join(docs, 'gpu-benchmarks.json'), JSON.stringify({ machine, sizes: SIZES, rows }, null, 2) + '\n');

  const series = (map: MapName, mode: Mode): Series[] =>
    backends.map((b) => ({
      name: b.name === 'cpu' ? 'cpu (float64 JS)' : `${b.name} (float32)`,
      points: rows.filter((r) => r.map === map && r.mode === mode && (b.name === 'cpu' ? r.precision === 'float64' : r.backend === b.name)).map((r) => ({ x: r.n, y: r.msPerIteration })),
      markers: true,
    }));
  const figure = await renderFigure({
    title: 'phic backends: steady-state time per iteration (ms) against n',
    xLabel: 'n', yLabel: 'ms per iteration (steady state / K)', logY: true,
    panels: (['ridge', 'tanh_layer'] as const).flatMap((map) => (['forward', 'reverse'] as const).map((mode) => ({ title: `${map} ${mode}`, series: series(map, mode) }))),
  });
  writeFileSync(join(docs, 'gpu-benchmarks.svg'), figure.svg);
  writeFileSync(join(docs, 'gpu-benchmarks.png'), figure.png);

  const md = [
    '# phic backends: CPU against gpu.js',
    '',
    'Generated by `npm run bench:backends` (samples/bench/backends.ts). Do not edit by hand.',
    '',
    '**Read this first: there is no GPU on the machine these numbers come from.** The GL numbers (headlessgl) come from',
    `software rendering: Mesa's ${renderers.headlessgl ?? 'software rasteriser'} under Xvfb on the same ${machine.cores} CPU cores that run the CPU backend.`,
    'They measure the GL code path, not GPU speed; webasm is gpu.js running the same kernels as WebAssembly on the CPU.',
    'On a real GPU the GL rows would move by orders of magnitude; rerun this benchmark there.',
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.os}, gpu.js ${machine.gpuJs}.`,
    `gpu.js backends found: ${found.map((b) => `${b.mode} ${b.backend === b.mode ? 'yes' : 'no'}`).join(', ')}.`,
    '',
    'Maps: ridge regression by gradient descent, x ← x − α(Aᵀ(Ax − b) + θ∘x) with m = n; the tanh layer',
    `x ← tanh(Wx + Uθ + c) with θ ∈ R^${P}. Forward: the JVP along a random direction; reverse: the VJP of a`,
    'random cotangent on x_K (t = 0). K shrinks with n (below) to keep the run within minutes.',
    '',
    '- compile: phic compiles the spec and loads the module (for GPU rows, kernels are built at the first call);',
    '- first call: the first JVP or VJP, including gpu.js transpiling each kernel and compiling its shader;',
    '- steady: benchmark.js on the call awaited through the final readback of the results (ops/s ± relative margin of',
    '  error at 95%), then ms per iteration = steady ms/call ÷ K, which the plot shows;',
    '- rel. diff. vs CPU: the float32 derivative against the float64 CPU one (relative 2-norm).',
    '',
    table(rows),
    '',
    '![time per iteration against n](gpu-benchmarks.png)',
    '',
  ].join('\n');
  writeFileSync(join(docs, 'gpu-benchmarks.md'), md);
  process.stdout.write(table(rows) + '\n');
  process.stderr.write(`wrote docs/gpu-benchmarks.md, .json, .svg, .png (sink ${sink === 0 ? 0 : 1})\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
