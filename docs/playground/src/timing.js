// CPU-vs-GPU timing of one reverse-mode call (vjp with a cotangent of ones) at the page's K and
// t: the CPU module (float64, WebAssembly SIMD kernels) and the GPU module (gpu.js, float32) on
// the page's gpu.js, when it loaded. Each side is warmed up once (the GPU builds its kernels on
// the first call), then the median of a few runs is shown. Times are for reading, not asserting.

import { sizes } from './data.js';

const RUNS = 5;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function ones(meta, dims) {
  return Object.fromEntries(meta.state.map((s) => [s.name, s.shape.length === 0 ? 1 : new Float64Array(sizes(s.shape, dims).reduce((a, b) => a * b, 1)).fill(1)]));
}

async function timeRuns(call) {
  await call(); // warm-up
  const ms = [];
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    await call();
    ms.push(performance.now() - start);
  }
  return median(ms);
}

/** Returns { cpu: { ms }, gpu: { ms, backend } | { unavailable: reason } }. */
export async function timing(compile, specText, { K, t, dims, inputs }) {
  const cpuMod = await compile(specText, { mode: 'reverse', K, truncate: t });
  const cpu = cpuMod.module.create(dims);
  const cotangent = ones(cpuMod.meta, dims);
  const result = { cpu: { ms: await timeRuns(() => cpu.vjp(inputs, cotangent)), precision: 'float64' } };
  const GPU = globalThis.GPU;
  if (typeof GPU !== 'function') {
    result.gpu = { unavailable: 'gpu.js did not load in this page (build/gpu-browser.min.js is missing): install gpu.js and serve the page with phic playground --port <n>, or in a checkout run npm run playground:build' };
    return result;
  }
  let gpu;
  try {
    gpu = new GPU();
    const gpuMod = await compile(specText, { mode: 'reverse', K, truncate: t, backend: 'gpu' });
    const inst = gpuMod.module.create(gpu, dims);
    let backend = '';
    const ms = await timeRuns(async () => {
      backend = (await inst.vjp(inputs, cotangent)).backend;
    });
    await inst.destroy();
    result.gpu = { ms, backend, precision: 'float32', fallback: backend === 'cpu' || backend === 'webasm' };
  } catch (err) {
    result.gpu = { unavailable: `the GPU module failed here: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    gpu?.destroy?.();
  }
  return result;
}
