// How far the GPU backend's float32 results sit from the float64 CPU module, per sample and
// per gpu.js backend available here (webasm; headlessgl under a display): iterate, JVP, VJP,
// both Jacobians and (bilevel) the hypergradient, at K = 30 and K = 200. Prints a Markdown
// table and writes docs/gpu-precision.json; docs/gpu.md quotes the table.
// Run: npm run build && xvfb-run -a node dist/samples/bench/backends-precision.js

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableBackends, createGpu, type GpuMode } from '../../runtime/gpu.js';
import { GPU_SAMPLES, compareSample, float32Tolerance, loadGpuSample } from '../../test/helpers/gpu-samples.js';

/** The repository root: the folder up from here whose package.json is phic's. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!(existsSync(join(dir, 'package.json')) && (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'phic')) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the phic package root');
    dir = up;
  }
  return dir;
}
const ROOT = packageRoot();

async function main() {
  const found = await availableBackends(['headlessgl', 'webasm']);
  const modes = found.filter((b) => b.backend === b.mode).map((b) => b.mode as GpuMode);
  const rows: { sample: string; K: number; backend: string; worst: number; worstWhat: string; median: number; tolerance: number }[] = [];
  for (const mode of modes) {
    const gpu = await createGpu(mode);
    for (const sample of GPU_SAMPLES) {
      const s = await loadGpuSample(sample, ROOT);
      for (const K of [30, 200]) {
        const run = await compareSample(s, gpu, { K, truncate: 0, jacobians: K === 30 });
        const errors = run.comparisons.map((c) => c.error).sort((a, b) => a - b);
        const worst = run.comparisons.reduce((w, c) => (c.error > w.error ? c : w));
        rows.push({ sample: sample.folder, K, backend: [...run.backends].join(','), worst: worst.error, worstWhat: worst.what, median: errors[errors.length >> 1]!, tolerance: float32Tolerance(s.maxDim, K) });
        process.stderr.write(`${mode} ${sample.folder} K=${K}: worst ${worst.error.toExponential(2)} (${worst.what})\n`);
      }
    }
    await gpu.destroy();
  }
  const table = [
    '| sample | K | backend | worst relative error (which) | median relative error | test tolerance |',
    '|---|---:|---|---|---:|---:|',
    ...rows.map((r) => `| ${r.sample} | ${r.K} | ${r.backend} | ${r.worst.toExponential(1)} (${r.worstWhat}) | ${r.median.toExponential(1)} | ${r.tolerance.toExponential(1)} |`),
  ].join('\n');
  mkdirSync(join(ROOT, 'docs'), { recursive: true });
  writeFileSync(join(ROOT, 'docs', 'gpu-precision.json'), JSON.stringify({ backends: found, rows }, null, 2) + '\n');
  process.stdout.write(table + '\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
