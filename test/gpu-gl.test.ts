// The GPU backend on a real GL path: gpu.js's headlessgl backend (the native `gl` package,
// Mesa software rendering here), which needs a display: CI runs this file under
// `xvfb-run -a` (see .ci/run). Every sample, forward and reverse, against float64 CPU, and
// the backend that ran is asserted. Without a display it skips loudly, except in CI
// (CI=true), where a skipped GL suite would hide a broken GL path: there it fails.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGpu, probeBackend, type GpuInstance } from '../runtime/gpu.js';
import { compile } from '../src/index.js';
import { GPU_SAMPLES, compareSample, float32Tolerance, loadGpuSample, type LoadedSample } from './helpers/gpu-samples.js';

async function headlessGl(): Promise<{ gpu: GpuInstance | null; why: string }> {
  try {
    const gpu = await createGpu('headlessgl');
    const backend = await probeBackend(gpu);
    if (backend === 'headlessgl') return { gpu, why: '' };
    await gpu.destroy();
    return { gpu: null, why: `gpu.js ran ${backend}` };
  } catch (e) {
    return { gpu: null, why: (e as Error).message.split('\n')[0]! };
  }
}

const probe = await headlessGl();
const inCi = process.env.CI === 'true';
if (!probe.gpu && !inCi) {
  console.warn(
    `\n*** GPU GL SUITE SKIPPED: headlessgl is not available here (${probe.why}).\n` +
      '*** It needs the native gl package built (apt-get install libx11-dev libxext-dev libxi-dev pkg-config xvfb; npm rebuild gl)\n' +
      '*** and a display: run `xvfb-run -a npx vitest run test/gpu-gl.test.ts`. CI runs it that way and fails if it cannot.\n',
  );
}

describe.skipIf(!probe.gpu && !inCi)('GPU backend on headlessgl (GL under xvfb)', () => {
  const gpu = probe.gpu;
  afterAll(async () => {
    await gpu?.destroy();
  });

  it('headlessgl is available: gpu.js runs its HeadlessGLKernel, not a CPU fallback', () => {
    expect(probe.why, 'headlessgl must run in CI: install the GL build deps and run this file under xvfb-run').toBe('');
    expect(gpu).not.toBeNull();
  });

  describe.each(GPU_SAMPLES)('sample $folder', (sample) => {
    let s: LoadedSample;
    beforeAll(async () => {
      s = await loadGpuSample(sample);
    });
    it.each([
      [30, 0],
      [30, 15],
    ])('forward and reverse match float64 CPU within float32 tolerance on headlessgl (K = %i, t = %i)', async (K, truncate) => {
      if (!gpu) throw new Error(`headlessgl unavailable: ${probe.why}`);
      const run = await compareSample(s, gpu, { K, truncate, jacobians: truncate === 0 });
      expect([...run.backends]).toEqual(['headlessgl']);
      expect([...run.precisions]).toEqual(['float32']);
      const tol = float32Tolerance(s.maxDim, K);
      for (const c of run.comparisons) expect(c.error, `${sample.folder} ${c.what}`).toBeLessThanOrEqual(tol);
    });
  });

  it('requireGpu passes on headlessgl, and the pipeline executor runs there too', async () => {
    if (!gpu) throw new Error(`headlessgl unavailable: ${probe.why}`);
    const s = await loadGpuSample(GPU_SAMPLES[0]!);
    const compiled = await compile(s.source, { mode: 'both', K: 12, truncate: 2, dims: s.dims, backend: 'gpu', gpu, requireGpu: true, executor: 'pipeline' });
    const inst = compiled.create();
    const r = await inst.vjp!(s.inputs as never, { x: [1, 0, 0, 1] } as never, s.x0 as never);
    expect(r.backend).toBe('headlessgl');
    expect(r.executor).toBe('pipeline');
    expect(inst.backend).toBe('headlessgl');
    await inst.destroy();
  });
});
