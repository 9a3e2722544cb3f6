// Reverse mode past the tape's memory: ridge regression at n = m = 1000 with K = 10⁶ iterations,
// differentiated in reverse mode with binomial checkpointing (`checkpoints: c`). A tape of K
// states would take K·n·8 bytes (8 GB here), which create() refuses before allocating; c slots
// take c·n·8 bytes. Reports the wall time of one vjp, its time per iteration against a plain
// iterate() (the recomputation's real cost), the forward steps the binomial reversal ran (counted
// by the same runtime routine), the instance's bytes and the process's peak resident set, and
// first checks at a small K that the checkpointed vjp has the tape's bits.
//
//   node dist/samples/bench/checkpoints.js [--n 1000] [--K 1000000] [--checkpoints 2000] [--out docs/checkpoints.md]

import { writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, arch } from 'node:os';
import { compile } from '../../src/index.js';
import { randomGenerator } from '../../runtime/reference.js';
import { REVOLVE_RUNTIME } from '../../compiler/codegen/runtime-revolve.js';
import { ridgeSpec } from './ridge-spec.js';

const arg = (flag: string, fallback: number) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const outIndex = process.argv.indexOf('--out');
const out = outIndex >= 0 ? process.argv[outIndex + 1]! : null;
const n = arg('--n', 1000);
const K = arg('--K', 1_000_000);
const c = arg('--checkpoints', 2000);
const log = (s: string) => process.stderr.write(`${s}\n`);

/** Forward steps of the binomial reversal of l steps with c slots (the module's own routine, with no-op callbacks). */
function reversalSteps(l: number, slots: number): { chainEnd: number; steps: number } {
  const { revolve, checkpointChain } = new Function(`${REVOLVE_RUNTIME}; return { revolve, checkpointChain };`)() as {
    revolve: (a: number, b: number, s: number, stored: number[], ...f: ((x: number) => void)[]) => number;
    checkpointChain: (a: number, b: number, s: number) => number[];
  };
  const chain = checkpointChain(0, l, slots);
  const stored = new Array<number>(slots).fill(-1);
  chain.forEach((k, i) => (stored[i] = k));
  const none = () => {};
  return { chainEnd: chain.at(-1)!, steps: revolve(0, l, slots, stored, none, none, none, none) };
}

const rng = randomGenerator(20261204);
const A = Float64Array.from({ length: n * n }, () => rng.normal() / Math.sqrt(n));
const b = Float64Array.from({ length: n }, () => rng.normal());
const theta = new Float64Array(n).fill(0.1);
// ‖A‖² ≤ (1 + √(n/m))² = 4 for a square Gaussian matrix (with high probability): α = 0.2 contracts
const spec = ridgeSpec(0.2);
const dims = { m: n, n };
const inputs = { A, b, theta };
const cotangent = { x: Float64Array.from({ length: n }, (_, i) => Math.cos(i)) };

// 1. the bits: checkpointed against the tape at a small K
const small = 2000;
const taped = (await compile(spec, { mode: 'reverse', K: small })).create(dims);
const check = (await compile(spec, { mode: 'reverse', K: small, checkpoints: 40 })).create(dims);
const tapeGradient = taped.vjp!(inputs, cotangent).gradient.theta!;
const checkpointGradient = check.vjp!(inputs, cotangent).gradient.theta!;
const same = tapeGradient.every((v, i) => Object.is(v, checkpointGradient[i]));
log(`K = ${small}, 40 slots: checkpointed vjp ${same ? 'has the tape\'s bits' : 'DIFFERS from the tape'}`);
taped.release();
check.release();
if (!same) process.exit(1);

// 2. the tape at K would be refused before it is allocated
let refusal = '';
try {
  (await compile(spec, { mode: 'reverse', K })).create(dims);
} catch (e) {
  refusal = (e as Error).message;
}

// 3. the checkpointed run, and a primal run of the same K for the time per iteration
const compiled = await compile(spec, { mode: 'reverse', K, checkpoints: c });
const m = compiled.create(dims, { threads: 1 });
const primal = (await compile(spec, { mode: 'forward', K })).create(dims, { threads: 1 });
log(`n = ${n}, K = ${K}, ${c} checkpoints: ${m.bufferBytes()} bytes; running iterate() then vjp() …`);
let t0 = performance.now();
primal.iterate(inputs);
const iterateMs = performance.now() - t0;
log(`iterate: ${(iterateMs / 1000).toFixed(1)} s`);
t0 = performance.now();
const r = m.vjp!(inputs, cotangent);
const vjpMs = performance.now() - t0;
const finite = r.gradient.theta!.every(Number.isFinite);
const { chainEnd, steps } = reversalSteps(K, c);
const forwardSteps = K + steps; // the first sweep, then the reversal's recomputation (the first sweep's chain not run again)
const report = {
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${platform()} ${release()} ${arch()}, Node ${process.version}`,
  loadAverage: loadavg(),
  n, K, checkpoints: c,
  bufferBytes: m.bufferBytes(),
  tapeBytes: K * n * 8,
  tapeRefusal: refusal,
  iterateSeconds: iterateMs / 1000,
  vjpSeconds: vjpMs / 1000,
  forwardSteps, adjointSteps: K, recomputationFactor: forwardSteps / K, chainEnd,
  vjpOverIterate: vjpMs / iterateMs,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  gradientFinite: finite,
  gradientNorm: Math.hypot(...r.gradient.theta!),
};
log(JSON.stringify(report, null, 1));
if (out) {
  const gb = (x: number) => `${(x / 1e9).toFixed(2)} GB`;
  writeFileSync(out, `# Reverse mode past the tape: K = 10⁶ at n = 1000

Generated by \`node dist/samples/bench/checkpoints.js --out docs/checkpoints.md\` (samples/bench/checkpoints.ts). One run on ${report.machine}; load average ${report.loadAverage.map((x) => x.toFixed(2)).join(' / ')} at the end (1/5/15 min).

Ridge regression by gradient descent, x ← x − 0.2(Aᵀ(Ax − b) + θ∘x), n = m = ${n}, K = ${K}, reverse mode (vjp along a fixed cotangent), one thread.

| | |
|---|---|
| tape of K states (no checkpoints) | ${gb(report.tapeBytes)}: refused by create() before allocating (\`${refusal.replace(/\|/g, '\\|')}\`) |
| \`checkpoints: ${c}\`: the instance's bufferBytes | ${(report.bufferBytes / 1e6).toFixed(1)} MB |
| peak resident set of the process | ${(report.peakRssBytes / 1e6).toFixed(0)} MB |
| iterate() over K (primal only) | ${report.iterateSeconds.toFixed(1)} s |
| vjp() with checkpoints | ${report.vjpSeconds.toFixed(1)} s (${report.vjpOverIterate.toFixed(2)}× iterate) |
| forward steps run (first sweep + recomputation) | ${forwardSteps} = ${report.recomputationFactor.toFixed(3)}·K |
| adjoint steps | ${K} |
| gradient | finite: ${finite}, ‖θ̄‖ = ${report.gradientNorm.toPrecision(6)} |

At K = ${small} with 40 slots the checkpointed vjp has exactly the tape's bits (checked in the same run, and for every sample in \`test/checkpoints.test.ts\`).

The number of forward steps is Griewank's binomial minimum: reversing l steps with the start slot and s more takes r·l − β(s + 2, r − 1) forward steps, β(s, r) = C(s + r, s), r the least with β(s + 1, r) ≥ l; the first sweep (l steps) already stores the first checkpoints, so the reversal skips those ${chainEnd} steps. With c slots and l = K − t steps the factor (forward steps)/l stays below r + 1, where r grows like the c-th root of l: r = ${Math.round(report.recomputationFactor - 1)} here.
`);
  log(`wrote ${out}`);
}
primal.release();
m.release();
