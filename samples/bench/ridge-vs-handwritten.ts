// Benchmark: phic-generated forward and reverse mode against a hand-written Float64Array loop
// (./handwritten-ridge.ts) on ridge-regression gradient descent
//   x ← x − α (Aᵀ(Ax − b) + θ ∘ x),   x_0 = 0, t = 0,
// for (m = n = 500, K = 200) and (m = n = 50, K = 2000). Forward mode: the JVP along a fixed
// random direction θ̇. Reverse mode: the VJP of a fixed random cotangent on x_K.
// Results are checked to agree first (relative difference < 1e-10; the run aborts otherwise),
// then timed with benchmark.js. Prints a Markdown table, writes docs/benchmarks.json and
// replaces the marked results block in docs/benchmarks.md.
// Run: npm run build && npm run bench

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, arch, release } from 'node:os';
import { join } from 'node:path';
import Benchmark from 'benchmark';
import { packageRoot } from '../../compiler/package-root.js';
import { compile } from '../../src/index.js';
import { randomGenerator, relativeDifference, spectralNorm } from '../../runtime/reference.js';
import { median } from '../../src/lab/stats.js';
import { createHandwrittenRidge, type RidgeProblem } from './handwritten-ridge.js';
import { ridgeSpec } from './ridge-spec.js';

interface Case {
  readonly m: number;
  readonly n: number;
  readonly K: number;
  /** benchmark.js: at least this many samples, for at least maxTime seconds per benchmark. */
  readonly minSamples: number;
  readonly maxTime: number;
}

const CASES: readonly Case[] = [
  { m: 500, n: 500, K: 200, minSamples: 12, maxTime: 4 },
  { m: 50, n: 50, K: 2000, minSamples: 40, maxTime: 3 },
];
const TRUNCATE = 0;
const TOLERANCE = 1e-10;
const SEED = 20261122;
const BACKEND = 'CPU float64';


interface Timing {
  medianMs: number;
  meanMs: number;
  hz: number;
  rmePercent: number;
  samples: number;
}

interface Row {
  m: number;
  n: number;
  K: number;
  t: number;
  mode: 'forward' | 'reverse';
  alpha: number;
  hoistedInvariants: boolean;
  relativeDifference: { state: number; derivative: number };
  phic: Timing;
  handwritten: Timing;
  /** handwritten median / phic median: ≥ 1 means the generated code is at least as fast. */
  ratio: number;
  meetsTarget: boolean;
}

/** Keeps results alive so the engine cannot drop the calls. */
let sink = 0;

function timing(bench: Benchmark): Timing {
  const sample = bench.stats.sample;
  return {
    medianMs: median(sample) * 1e3,
    meanMs: bench.stats.mean * 1e3,
    hz: bench.hz,
    rmePercent: bench.stats.rme,
    samples: sample.length,
  };
}

/** Runs the two functions as one synchronous benchmark.js suite; returns [phic, handwritten]. */
function timePair(label: string, c: Case, phicFn: () => void, handFn: () => void): [Timing, Timing] {
  const options: Benchmark.Options = { minSamples: c.minSamples, maxTime: c.maxTime };
  const suite = new Benchmark.Suite(label);
  suite.add(`${label} phic`, phicFn, options);
  suite.add(`${label} hand-written`, handFn, options);
  suite.on('cycle', (event: Benchmark.Event) => process.stderr.write(`  ${String(event.target)}\n`));
  suite.run({ async: false });
  const benches = suite.map((b: Benchmark) => b) as Benchmark[];
  for (const b of benches) if (b.error) throw b.error;
  return [timing(benches[0]!), timing(benches[1]!)];
}

function check(what: string, a: ArrayLike<number>, b: ArrayLike<number>): number {
  const d = relativeDifference(a, b);
  if (!(d < TOLERANCE)) {
    process.stderr.write(`\nBENCHMARK ABORTED: phic and the hand-written loop disagree on ${what}: relative difference ${d} (tolerance ${TOLERANCE})\n`);
    process.exit(1);
  }
  return d;
}

async function runCase(c: Case): Promise<Row[]> {
  const { m, n, K } = c;
  const rng = randomGenerator(SEED + m * 7 + K);
  const A = rng.vector(m * n, 'normal').map((v) => v / Math.sqrt(m));
  const b = rng.vector(m, 'normal');
  const theta = rng.vector(n).map((v) => 0.5 + v);
  const thetaDot = rng.vector(n, 'normal');
  const cotangent = rng.vector(n, 'normal');
  // α = 1/L with L = ‖A‖₂² + max θ, the Lipschitz constant of the gradient: the iteration converges.
  const sigma = spectralNorm({ rows: m, cols: n, data: A });
  const alpha = 1 / (sigma * sigma + Math.max(...theta));
  const problem: RidgeProblem = { A, b, theta };
  const inputs = { A, b, theta };

  const compiled = await compile(ridgeSpec(alpha), { mode: 'both', K, truncate: TRUNCATE, dims: { m, n }, sourceName: 'samples/bench/ridge-vs-handwritten.ts' });
  const code = compiled.files[0]!.contents;
  const hoistedInvariants = !/function invariants\(\) \{\s*\}/.test(code);
  const phic = compiled.create();
  const hand = createHandwrittenRidge(m, n, K, alpha);

  const label = `m=n=${m} K=${K}`;
  process.stderr.write(`${label}: α = ${alpha.toPrecision(6)}, hoisted invariants (AᵀA, Aᵀb): ${hoistedInvariants ? 'yes' : 'no'}\n`);

  const pf = phic.jvp!(inputs, { theta: thetaDot });
  const hf = hand.jvp(problem, thetaDot);
  const forwardDiff = { state: check(`${label} forward x_K`, pf.state.x!, hf.x), derivative: check(`${label} JVP`, pf.tangent.x!, hf.xDot) };
  const pr = phic.vjp!(inputs, { x: cotangent });
  const hr = hand.vjp(problem, cotangent);
  const reverseDiff = { state: check(`${label} reverse x_K`, pr.state.x!, hr.x), derivative: check(`${label} VJP`, pr.gradient.theta!, hr.thetaBar) };
  process.stderr.write(`  agreement: JVP ${forwardDiff.derivative.toExponential(2)}, VJP ${reverseDiff.derivative.toExponential(2)} (relative difference)\n`);

  const rows: Row[] = [];
  const row = (mode: Row['mode'], diff: Row['relativeDifference'], [p, h]: [Timing, Timing]): Row => {
    const ratio = h.medianMs / p.medianMs;
    return { m, n, K, t: TRUNCATE, mode, alpha, hoistedInvariants, relativeDifference: diff, phic: p, handwritten: h, ratio, meetsTarget: ratio >= 1 };
  };
  rows.push(row('forward', forwardDiff, timePair(`${label} forward`, c,
    () => { sink += phic.jvp!(inputs, { theta: thetaDot }).tangent.x![0]!; },
    () => { sink += hand.jvp(problem, thetaDot).xDot[0]!; })));
  rows.push(row('reverse', reverseDiff, timePair(`${label} reverse`, c,
    () => { sink += phic.vjp!(inputs, { x: cotangent }).gradient.theta![0]!; },
    () => { sink += hand.vjp(problem, cotangent).thetaBar[0]!; })));
  return rows;
}

function machine() {
  const list = cpus();
  return { cpu: list[0]?.model.trim() ?? 'unknown', cores: list.length, node: process.version, os: `${platform()} ${release()} ${arch()}`, backend: BACKEND };
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(1) : ms >= 10 ? ms.toFixed(2) : ms.toFixed(3));
const ops = (t: Timing) => `${t.hz >= 10 ? t.hz.toFixed(1) : t.hz.toFixed(2)} ± ${t.rmePercent.toFixed(1)}%`;

function table(rows: readonly Row[]): string {
  const lines = [
    '| case | mode | phic median | phic ops/s | hand-written median | hand-written ops/s | ratio hand/phic | target (≥ 1) |',
    '|---|---|---:|---:|---:|---:|---:|---|',
    ...rows.map((r) =>
      `| m = n = ${r.m}, K = ${r.K}, t = ${r.t} | ${r.mode === 'forward' ? 'forward (JVP)' : 'reverse (VJP)'} | ${fmt(r.phic.medianMs)} ms | ${ops(r.phic)} | ${fmt(r.handwritten.medianMs)} ms | ${ops(r.handwritten)} | ${r.ratio.toFixed(2)} | ${r.meetsTarget ? 'met' : 'NOT met'} |`),
  ];
  return lines.join('\n');
}


const START = '<!-- bench:results:start -->';
const END = '<!-- bench:results:end -->';

function writeDocs(block: string, json: unknown): { md: string; json: string } {
  const docs = join(packageRoot(), 'docs');
  mkdirSync(docs, { recursive: true });
  const jsonFile = join(docs, 'benchmarks.json');
  writeFileSync(jsonFile, JSON.stringify(json, null, 2) + '\n');
  const mdFile = join(docs, 'benchmarks.md');
  const marked = `${START}\n${block}\n${END}`;
  let text = existsSync(mdFile) ? readFileSync(mdFile, 'utf8') : '# Benchmarks\n';
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from >= 0 && to > from) text = text.slice(0, from) + marked + text.slice(to + END.length);
  else text = `${text.trimEnd()}\n\n${marked}\n`;
  writeFileSync(mdFile, text);
  return { md: mdFile, json: jsonFile };
}

async function main() {
  const started = Date.now();
  const host = machine();
  process.stderr.write(`machine: ${host.cpu}, ${host.cores} cores, Node ${host.node}, backend ${host.backend}\n`);
  const rows: Row[] = [];
  for (const c of CASES) rows.push(...(await runCase(c)));
  const date = new Date().toISOString().slice(0, 10);
  const verdicts = rows.map((r) =>
    `- m = n = ${r.m}, K = ${r.K}, ${r.mode}: ${r.meetsTarget ? 'meets' : 'does NOT meet'} the target (phic ${fmt(r.phic.medianMs)} ms vs hand-written ${fmt(r.handwritten.medianMs)} ms, ratio ${r.ratio.toFixed(2)}).`);
  const block = [
    `Measured ${date} on ${host.cpu} (${host.cores} cores), ${host.os}, Node ${host.node}, backend ${host.backend}.`,
    'Median time per call over the benchmark.js samples; ops/s ± relative margin of error (95%).',
    'Ratio = hand-written median / phic median; the target is ratio ≥ 1 (generated code no slower).',
    '',
    table(rows),
    '',
    ...verdicts,
  ].join('\n');
  const json = {
    date,
    machine: host,
    settings: { seed: SEED, tolerance: TOLERANCE, truncate: TRUNCATE, cases: CASES },
    results: rows,
    allMeetTarget: rows.every((r) => r.meetsTarget),
  };
  const files = writeDocs(block, json);
  process.stdout.write(`\n${block}\n\n`);
  process.stdout.write(`${rows.every((r) => r.meetsTarget) ? 'All cases meet the target.' : 'NOT all cases meet the target.'}\n`);
  process.stdout.write(`wrote ${files.json}\nupdated ${files.md}\n(${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`BENCHMARK FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
