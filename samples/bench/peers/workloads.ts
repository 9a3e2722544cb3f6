// The five workloads of the peer benchmark (docs/peers.md), shared by the orchestrator
// (./main.ts), the Node children (./child.ts) and, through meta.json, the Python children
// (./torch_peer.py). A workload fixes the problem, its sizes, K, t, the step size and the
// derivative to compute; its data are generated once from a seed and written to binary files
// (little-endian float64, row-major) that every peer reads, so all peers see the same numbers.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MapSpec } from '../../../src/index.js';
import { randomGenerator, spectralNorm } from '../../../runtime/reference.js';
import { ridgeSpec } from '../ridge-spec.js';

/** P1–P5, and the scaling points S-n<n>-K<K> (ridge, reverse mode). */
export type WorkloadId = 'P1-t0' | 'P1-t100' | 'P2' | 'P3' | 'P4' | 'P5' | `S-n${number}-K${number}`;
export type Problem = 'ridge' | 'least_squares' | 'tanh';
/**
 * hypergradient: d/dθ ½‖x_K‖² (cotangent x_K), state = x_K, derivative = θ̄.
 * jvp:           dx_K/du · u̇ along a random direction, derivative = ẋ_K.
 * jacobian:      dx_K/dθ (n × p, row-major: one row per state entry), derivative = J.
 * vjp:           ū · dx_K/d(params) for a random cotangent ū, derivative = the params' adjoints, concatenated.
 */
export type Derivative = 'hypergradient' | 'jvp' | 'jacobian' | 'vjp';

export interface WorkloadMeta {
  readonly id: WorkloadId;
  readonly title: string;
  readonly problem: Problem;
  readonly derivative: Derivative;
  readonly mode: 'forward' | 'reverse';
  readonly dims: Readonly<Record<string, number>>;
  readonly K: number;
  readonly t: number;
  /** Step size (ridge, least squares); 0 for the tanh layer. */
  readonly alpha: number;
  /** name → shape (dims in order) of every array written for this workload. */
  readonly arrays: Readonly<Record<string, readonly number[]>>;
  /** Floating-point operations of one call, counted analytically (see flops()). */
  readonly flops: number;
  /** Human text: what is differentiated and how. */
  readonly what: string;
}

export const SEED = 20261201;

export interface Def {
  id: WorkloadId;
  title: string;
  problem: Problem;
  derivative: Derivative;
  dims: Record<string, number>;
  K: number;
  t: number;
  what: string;
}

export const DEFS: readonly Def[] = [
  { id: 'P1-t0', title: 'P1 ridge 500², K = 200, t = 0', problem: 'ridge', derivative: 'hypergradient', dims: { m: 500, n: 500 }, K: 200, t: 0, what: 'reverse: hypergradient d/dθ ½‖x_K‖² (cotangent x_K), θ ∈ Rⁿ per-feature penalty' },
  { id: 'P1-t100', title: 'P1 ridge 500², K = 200, t = 100', problem: 'ridge', derivative: 'hypergradient', dims: { m: 500, n: 500 }, K: 200, t: 100, what: 'reverse: hypergradient d/dθ ½‖x_K‖², truncated: the first 100 iterations idle' },
  { id: 'P2', title: 'P2 least squares 100×50, K = 1000', problem: 'least_squares', derivative: 'jvp', dims: { m: 100, n: 50 }, K: 1000, t: 0, what: 'forward: JVP dx_K/d(A, b) · (Ȧ, ḃ) along a random direction' },
  { id: 'P3', title: 'P3 ridge 100², K = 500, Jacobian', problem: 'ridge', derivative: 'jacobian', dims: { m: 100, n: 100 }, K: 500, t: 0, what: 'forward: full Jacobian dx_K/dθ (100 × 100)' },
  { id: 'P4', title: 'P4 tanh layer n = 256, K = 100', problem: 'tanh', derivative: 'vjp', dims: { n: 256, p: 64 }, K: 100, t: 0, what: 'reverse: VJP ū · dx_K/d(W, c) for a random ū' },
  { id: 'P5', title: 'P5 ridge 20², K = 5000', problem: 'ridge', derivative: 'vjp', dims: { m: 20, n: 20 }, K: 5000, t: 0, what: 'reverse: VJP ū · dx_K/dθ for a random ū (overhead-dominated)' },
];

/** The scaling section: ridge VJP (reverse mode), m = n, t = 0, over n at K = 100 and over K at n = 1000. */
export const SCALING_N = [1000, 2000, 4000] as const;
export const SCALING_K = [100, 1000, 10000] as const;

function scalingDef(n: number, K: number): Def {
  return { id: `S-n${n}-K${K}`, title: `ridge ${n}², K = ${K}`, problem: 'ridge', derivative: 'vjp', dims: { m: n, n }, K, t: 0, what: 'reverse: VJP ū · dx_K/dθ for a random ū' };
}

export function scalingDefs(ns: readonly number[] = SCALING_N, ks: readonly number[] = SCALING_K): Def[] {
  return [...ns.map((n) => scalingDef(n, 100)), ...ks.filter((K) => K !== 100).map((K) => scalingDef(1000, K))];
}

/** A workload's definition from its id (P1–P5, or a scaling point S-n<n>-K<K>). */
export function defById(id: string): Def {
  const def = DEFS.find((d) => d.id === id);
  if (def) return def;
  const s = /^S-n(\d+)-K(\d+)$/.exec(id);
  if (!s) throw new Error(`unknown workload ${id}`);
  return scalingDef(Number(s[1]), Number(s[2]));
}

/**
 * Floating-point operations of one call of the algorithm as written (unfused, nothing
 * hoisted except Uθ, which is loop-invariant data in every peer): multiply-adds count 2,
 * every elementwise +, −, ·, tanh counts 1. A compiler that hoists AᵀA or fuses loops does
 * fewer; its achieved GFLOP/s is then an effective rate for this algorithm.
 */
export function flops(d: Def): number {
  const { K, t } = d;
  if (d.problem === 'ridge') {
    const { m, n } = d.dims as { m: number; n: number };
    // primal: A x (2mn), − b (m), Aᵀ r (2mn), θ∘x, +, α·, x − (4n)
    const primal = 4 * m * n + m + 4 * n;
    if (d.derivative === 'jacobian') {
      // tangent matrix Ẋ (n × p, p = n): A Ẋ, Aᵀ(AẊ) (4mnp), θ∘Ẋ + diag x, α·, Ẋ − (3np + n)
      const p = n;
      return K * (primal + 4 * m * n * p + 3 * n * p + n);
    }
    // backward: x̄ ← x̄ − α(AᵀA x̄ + θ∘x̄) (4mn + 4n), θ̄ −= α x̄∘x_k (3n)
    return K * primal + (K - t) * (4 * m * n + 7 * n);
  }
  if (d.problem === 'least_squares') {
    const { m, n } = d.dims as { m: number; n: number };
    // primal 4mn + m + 2n; tangent: ṙ = Ȧx + Aẋ − ḃ (4mn + 2m), Ȧᵀr + Aᵀṙ (4mn + n), ẋ −= α·(2n)
    return K * (12 * m * n + 3 * m + 5 * n);
  }
  const { n, p } = d.dims as { n: number; p: number };
  // Uθ once (2np); forward: W x (2n²), + u + c, tanh (3n);
  // backward: δ = x̄∘(1 − x²) (3n), W̄ += δ xᵀ (2n²), c̄ += δ (n), x̄ = Wᵀδ (2n²)
  return 2 * n * p + K * (2 * n * n + 3 * n) + (K - t) * (4 * n * n + 4 * n);
}

/** compile()'s options for a workload: its mode, K, truncation and dims, baked in. */
export function compileOptionsOf(meta: WorkloadMeta): { mode: WorkloadMeta['mode']; K: number; truncate: number; dims: Record<string, number> } {
  return { mode: meta.mode, K: meta.K, truncate: meta.t, dims: meta.dims };
}

/** The phic spec of a workload (α is a literal constant of the spec). */
export function specOf(meta: WorkloadMeta): MapSpec {
  const alpha = meta.alpha;
  if (meta.problem === 'ridge') {
    return {
      ...ridgeSpec(alpha),
      // P1: ½‖x_K − x̂‖² with x̂ = 0 (outer data), so hypergradient() computes d/dθ ½‖x_K‖² in one call.
      ...(meta.derivative === 'hypergradient' ? { outer: { objective: '0.5 * sum((x - xhat) .^ 2)', data: { xhat: 'n' } } } : {}),
    };
  }
  if (meta.problem === 'least_squares') {
    return {
      name: 'least_squares',
      state: { x: 'n' },
      params: { A: 'm,n', b: 'm' },
      constants: { alpha },
      update: { x: "x - alpha * (A' * (A * x - b))" },
    };
  }
  // The tanh layer with W and c as parameters (samples/tanh_layer has θ as its parameter).
  return {
    name: 'tanh_layer_wc',
    state: { x: 'n' },
    params: { W: 'n,n', c: 'n' },
    data: { U: 'n,p', theta: 'p' },
    update: { x: 'tanh(W * x + U * theta + c)' },
  };
}

export type Arrays = Record<string, Float64Array>;

/** Generates a workload's data (deterministic in SEED) and its meta. */
export function generate(d: Def): { meta: WorkloadMeta; arrays: Arrays } {
  const rng = randomGenerator(SEED + d.K * 31 + (d.dims.n ?? 0) * 7 + (d.dims.m ?? 0));
  const arrays: Arrays = {};
  const shapes: Record<string, number[]> = {};
  const put = (name: string, shape: number[], data: Float64Array) => {
    arrays[name] = data;
    shapes[name] = shape;
  };
  let alpha = 0;
  if (d.problem === 'ridge') {
    const { m, n } = d.dims as { m: number; n: number };
    const A = rng.vector(m * n, 'normal').map((v) => v / Math.sqrt(m));
    const b = rng.vector(m, 'normal');
    const theta = rng.vector(n).map((v) => 0.5 + v);
    const sigma = spectralNorm({ rows: m, cols: n, data: A });
    // α = 1/L, L = ‖A‖₂² + max θ: the iteration converges.
    alpha = 1 / (sigma * sigma + Math.max(...theta));
    put('A', [m, n], A);
    put('b', [m], b);
    put('theta', [n], theta);
    if (d.derivative === 'vjp') put('cotangent', [n], rng.vector(n, 'normal'));
  } else if (d.problem === 'least_squares') {
    const { m, n } = d.dims as { m: number; n: number };
    const A = rng.vector(m * n, 'normal').map((v) => v / Math.sqrt(m));
    const sigma = spectralNorm({ rows: m, cols: n, data: A });
    alpha = 1 / (sigma * sigma);
    put('A', [m, n], A);
    put('b', [m], rng.vector(m, 'normal'));
    put('Adot', [m, n], rng.vector(m * n, 'normal'));
    put('bdot', [m], rng.vector(m, 'normal'));
  } else {
    const { n, p } = d.dims as { n: number; p: number };
    // ‖W‖₂ ≈ 0.4 · 2 = 0.8 < 1: tanh is 1-Lipschitz, so the layer is contractive.
    put('W', [n, n], rng.vector(n * n, 'normal').map((v) => (0.4 * v) / Math.sqrt(n)));
    put('U', [n, p], rng.vector(n * p, 'normal').map((v) => v / Math.sqrt(p)));
    put('theta', [p], rng.vector(p, 'normal'));
    put('c', [n], rng.vector(n, 'normal').map((v) => 0.1 * v));
    put('cotangent', [n], rng.vector(n, 'normal'));
  }
  const meta: WorkloadMeta = {
    id: d.id,
    title: d.title,
    problem: d.problem,
    derivative: d.derivative,
    mode: d.derivative === 'jvp' || d.derivative === 'jacobian' ? 'forward' : 'reverse',
    dims: d.dims,
    K: d.K,
    t: d.t,
    alpha,
    arrays: shapes,
    flops: flops(d),
    what: d.what,
  };
  return { meta, arrays };
}

/** Writes meta.json and <name>.f64 for every array into dir. */
export function writeWorkload(dir: string, meta: WorkloadMeta, arrays: Arrays): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'meta.json'), JSON.stringify(meta, null, 1));
  for (const [name, data] of Object.entries(arrays)) writeF64(join(dir, `${name}.f64`), data);
}

export function readWorkload(dir: string): { meta: WorkloadMeta; arrays: Arrays } {
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as WorkloadMeta;
  const arrays: Arrays = {};
  for (const name of Object.keys(meta.arrays)) arrays[name] = readF64(join(dir, `${name}.f64`));
  return { meta, arrays };
}

export function writeF64(file: string, data: ArrayLike<number>): void {
  const out = data instanceof Float64Array ? data : Float64Array.from(data);
  writeFileSync(file, new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
}

export function readF64(file: string): Float64Array {
  const buf = readFileSync(file);
  const out = new Float64Array(buf.byteLength / 8);
  new Uint8Array(out.buffer).set(buf);
  return out;
}
