// Test helper: a gpu.js GPU in webasm mode (float32 on the CPU) for the tests of one describe
// block, and the check that a sample's GPU run matches the float64 CPU module.

import { afterAll, beforeAll, expect } from 'vitest';
import { createGpu, type GpuInstance } from '../../runtime/gpu.js';
import { compareSample, float32Tolerance, type LoadedSample } from './gpu-samples.js';

/** A webasm GPU created before the block's tests and destroyed after them; call the result to get it. */
export function webasmGpu(): () => GpuInstance {
  let gpu: GpuInstance | undefined;
  beforeAll(async () => {
    gpu = await createGpu('webasm');
  });
  afterAll(async () => {
    await gpu?.destroy();
  });
  return () => gpu!;
}

/**
 * iterate, jvp, vjp and both Jacobians on the GPU within float32 tolerance of the CPU module,
 * in float32, and not all exactly equal (the GPU really computed them).
 */
export async function expectGpuMatchesCpu(sample: LoadedSample, gpu: GpuInstance, K: number): Promise<void> {
  const run = await compareSample(sample, gpu, { K, truncate: 0 });
  expect([...run.precisions]).toEqual(['float32']);
  const tol = float32Tolerance(sample.maxDim, K);
  for (const c of run.comparisons) expect(c.error, c.what).toBeLessThanOrEqual(tol);
  expect(run.comparisons.some((c) => c.error > 0)).toBe(true);
}
