// The GPU backend on gpu.js's webasm backend (float32, no display needed): every sample,
// forward and reverse, against the float64 CPU module within a float32 tolerance; both
// executors; dims baked and bound at create(). The same checks run on headlessgl in
// gpu-gl.test.ts (under xvfb-run) and in a browser in gpu-browser.test.ts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGpu, type GpuInstance } from '../runtime/gpu.js';
import { GPU_SAMPLES, compareSample, float32Tolerance, loadGpuSample, type LoadedSample } from './helpers/gpu-samples.js';

let gpu: GpuInstance;
beforeAll(async () => {
  gpu = await createGpu('webasm');
});
afterAll(async () => {
  await gpu.destroy();
});

describe.each(GPU_SAMPLES)('GPU backend (webasm) on sample $folder', (sample) => {
  let s: LoadedSample;
  beforeAll(async () => {
    s = await loadGpuSample(sample);
  });

  it.each([
    [30, 0],
    [30, 15],
  ])('iterate, jvp, vjp and both Jacobians match float64 CPU within float32 tolerance (K = %i, t = %i)', async (K, truncate) => {
    const run = await compareSample(s, gpu, { K, truncate });
    expect([...run.backends]).toEqual(['webasm']);
    expect([...run.precisions]).toEqual(['float32']);
    const tol = float32Tolerance(s.maxDim, K);
    for (const c of run.comparisons) expect(c.error, `${sample.folder} ${c.what}`).toBeLessThanOrEqual(tol);
    // Not trivially equal: float32 rounding shows.
    expect(run.comparisons.some((c) => c.error > 0)).toBe(true);
  });
});

describe('GPU backend (webasm): executors, dims, long runs', () => {
  it.each(['ridge', 'heavy_ball', 'logistic'])('the kernel-by-kernel executor gives the pipeline executor\'s results (%s)', async (name) => {
    const s = await loadGpuSample(GPU_SAMPLES.find((x) => x.folder === name)!);
    const a = await compareSample(s, gpu, { K: 20, truncate: 5, executor: 'kernels', jacobians: false });
    const b = await compareSample(s, gpu, { K: 20, truncate: 5, executor: 'pipeline', jacobians: false });
    const tol = float32Tolerance(s.maxDim, 20);
    for (const c of a.comparisons) expect(c.error, c.what).toBeLessThanOrEqual(tol);
    // Same kernels, same float32 arithmetic: the executors agree closely.
    a.comparisons.forEach((c, i) => expect(Math.abs(c.error - b.comparisons[i]!.error)).toBeLessThanOrEqual(tol));
  });

  it('dims bound at create() work like baked dims (tanh layer)', async () => {
    const s = await loadGpuSample(GPU_SAMPLES.find((x) => x.folder === 'tanh_layer')!);
    const run = await compareSample(s, gpu, { K: 30, truncate: 10, bakeDims: false });
    for (const c of run.comparisons) expect(c.error, c.what).toBeLessThanOrEqual(float32Tolerance(s.maxDim, 30));
  });

  it('the error stays bounded as K grows on a contractive map (tanh layer, K = 400)', async () => {
    const s = await loadGpuSample(GPU_SAMPLES.find((x) => x.folder === 'tanh_layer')!);
    const run = await compareSample(s, gpu, { K: 400, truncate: 0, jacobians: false });
    // The K-independent part of the bound: contraction damps float32 rounding.
    for (const c of run.comparisons) expect(c.error, c.what).toBeLessThanOrEqual(float32Tolerance(s.maxDim, 0));
  });

  it('truncation t = K: no differentiated step, zero derivatives', async () => {
    const s = await loadGpuSample(GPU_SAMPLES.find((x) => x.folder === 'ridge')!);
    const { compile } = await import('../src/index.js');
    const g = (await compile(s.source, { mode: 'both', K: 6, truncate: 6, dims: s.dims, backend: 'gpu', gpu })).create();
    const f = await g.jacobianForward!(s.inputs as never, s.x0 as never);
    const r = await g.vjp!(s.inputs as never, { x: [1, 1, 1, 1] } as never, s.x0 as never);
    expect(f.jacobian.x!.theta!.data.every((v) => v === 0)).toBe(true);
    expect(r.gradient.theta!.every((v) => v === 0)).toBe(true);
    await g.destroy();
  });
});
