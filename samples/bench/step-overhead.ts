// Where the time of a small map's step goes, and what one WebAssembly call per step would buy.
// The ridge step x⁺ = x − α(Gx − c + θ ⊙ x) (G = AᵀA hoisted, as phic computes it) run K times:
//   phic iterate()          the generated module (one thread): a gemv kernel call, a JavaScript
//                           loop for the elementwise part, a finiteness check, a copy
//   JS driver               the same by hand, the kernels' own gemv
//   one wasm call a step    gemv and the elementwise loop in one WebAssembly function; the copy
//                           and the check stay in JavaScript
//   one wasm call a sweep   all K steps in one WebAssembly function (the tape too, in memory)
//   gemv calls only         the floor: the K kernel calls and nothing else
// The wasm functions are assembled here from kernels.wat's gemv plus a few lines of WAT
// (wabt, a development dependency). Medians and minimums of alternating repeats, ns per step.
// Run: npx tsc -p tsconfig.json && node dist/samples/bench/step-overhead.js [--n 20,50,100] [--K 5000]

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from '../../src/index.js';
import { packageRoot } from '../../compiler/package-root.js';
import { median } from '../../src/lab/stats.js';
import { ridgeSpec } from './ridge-spec.js';

const argument = (name: string) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const SIZES = (argument('--n') ?? '20,50,100').split(',').map(Number);
const K = Number(argument('--K') ?? 5000);
const ALPHA = 0.01;

/** kernels.wat's gemv, a ridge step and a whole sweep with its tape, as one module. */
function stepModuleText(): string {
  const kernels = readFileSync(join(packageRoot(), 'compiler', 'codegen', 'wasm', 'kernels.wat'), 'utf8');
  const gemv = kernels.slice(kernels.indexOf('  (func (export "gemv")'), kernels.indexOf('  ;; y[j] += ((A[i, j]')).replace('(func (export "gemv")', '(func $gemv (export "gemv")');
  const at = (p: string) => `(i32.add (local.get ${p}) (local.get $o))`;
  return `(module
  (import "env" "memory" (memory 1))
${gemv}
  (func $step (export "step") (param $G i32) (param $c i32) (param $th i32) (param $x i32) (param $xn i32) (param $t i32) (param $n i32) (param $a f64)
    (local $i i32) (local $o i32)
    (call $gemv (local.get $G) (local.get $n) (local.get $x) (local.get $t) (local.get $n) (local.get $n))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $o (i32.shl (local.get $i) (i32.const 3)))
      (f64.store ${at('$xn')} (f64.sub (f64.load ${at('$x')}) (f64.mul (local.get $a)
        (f64.add (f64.sub (f64.load ${at('$t')}) (f64.load ${at('$c')})) (f64.mul (f64.load ${at('$th')}) (f64.load ${at('$x')}))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $each))))
  (func (export "sweep") (param $G i32) (param $c i32) (param $th i32) (param $x i32) (param $xn i32) (param $t i32) (param $n i32) (param $a f64) (param $tape i32) (param $K i32)
    (local $k i32) (local $bytes i32)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 3)))
    (block $done (loop $each
      (br_if $done (i32.ge_u (local.get $k) (local.get $K)))
      (memory.copy (i32.add (local.get $tape) (i32.mul (local.get $k) (local.get $bytes))) (local.get $x) (local.get $bytes))
      (call $step (local.get $G) (local.get $c) (local.get $th) (local.get $x) (local.get $xn) (local.get $t) (local.get $n) (local.get $a))
      (memory.copy (local.get $x) (local.get $xn) (local.get $bytes))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $each))))
)`;
}

interface StepExports {
  gemv(A: number, lda: number, x: number, y: number, m: number, n: number): void;
  step(G: number, c: number, th: number, x: number, xn: number, t: number, n: number, a: number): void;
  sweep(G: number, c: number, th: number, x: number, xn: number, t: number, n: number, a: number, tape: number, K: number): void;
}

/** The WebAssembly API this bench uses (the project's TypeScript lib has no DOM or Node wasm types). */
interface Wasm {
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: unknown } }>;
}
const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

function nonFinite(b: Float64Array, count: number): number {
  for (let i = 0; i < count; i++) {
    const v = b[i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}

async function main() {
  const { default: wabtInit } = await import('wabt');
  const wabt = await wabtInit();
  const binary = wabt.parseWat('step.wat', stepModuleText(), { simd: true, bulk_memory: true }).toBinary({}).buffer;
  console.log(`ridge step, K = ${K}, ns per step (median of alternating repeats; minimum in brackets), Node ${process.version}\n`);
  console.log('| n | phic iterate() | JS driver | one wasm call a step | one wasm call a sweep | gemv calls only |');
  console.log('|---:|---:|---:|---:|---:|---:|');
  for (const n of SIZES) {
    const memory = new wasm.Memory({ initial: Math.ceil(((n * n + 5 * n + n * K) * 8) / 65536) + 1 });
    const { instance } = await wasm.instantiate(binary, { env: { memory } });
    const w = instance.exports as unknown as StepExports;
    let offset = 0;
    const alloc = (length: number) => {
      const a = new Float64Array(memory.buffer, offset, length);
      offset += length * 8;
      return a;
    };
    const [G, c, th, x, xn, t, tape] = [alloc(n * n), alloc(n), alloc(n), alloc(n), alloc(n), alloc(n), alloc(n * K)];
    // A with orthonormal-ish columns scaled so the step contracts: G = AᵀA close to the identity
    const m = n;
    const A = Float64Array.from({ length: m * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0.01 * Math.sin(i)));
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < m; l++) s += A[l * n + i]! * A[l * n + j]!;
      G[i * n + j] = s;
    }
    const b = Float64Array.from({ length: m }, (_, i) => Math.cos(i));
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < m; l++) s += A[l * n + j]! * b[l]!;
      c[j] = s;
      th[j] = 0.1;
    }
    const x0 = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
    const jsTape = new Float64Array(n * K);
    const phic = (await compile(ridgeSpec(ALPHA), { mode: 'reverse', K, dims: { m, n } })).create(undefined, { threads: 1 });
    const inputs = { A, b, theta: th.slice() };
    const variants: Record<string, () => number> = {
      phic: () => phic.iterate(inputs, { x: x0 }).state.x![0]!,
      js: () => {
        x.set(x0);
        for (let k = 0; k < K; k++) {
          jsTape.set(x, k * n);
          w.gemv(G.byteOffset, n, x.byteOffset, t.byteOffset, n, n);
          for (let i = 0; i < n; i++) xn[i] = x[i]! - ALPHA * (t[i]! - c[i]! + th[i]! * x[i]!);
          if (nonFinite(xn, n) >= 0) throw new Error('not finite');
          x.set(xn);
        }
        return x[0]!;
      },
      step: () => {
        x.set(x0);
        for (let k = 0; k < K; k++) {
          jsTape.set(x, k * n);
          w.step(G.byteOffset, c.byteOffset, th.byteOffset, x.byteOffset, xn.byteOffset, t.byteOffset, n, ALPHA);
          if (nonFinite(xn, n) >= 0) throw new Error('not finite');
          x.set(xn);
        }
        return x[0]!;
      },
      sweep: () => {
        x.set(x0);
        w.sweep(G.byteOffset, c.byteOffset, th.byteOffset, x.byteOffset, xn.byteOffset, t.byteOffset, n, ALPHA, tape.byteOffset, K);
        if (nonFinite(x, n) >= 0) throw new Error('not finite');
        return x[0]!;
      },
      gemv: () => {
        for (let k = 0; k < K; k++) w.gemv(G.byteOffset, n, x.byteOffset, t.byteOffset, n, n);
        return t[0]!;
      },
    };
    // the four ways compute the same iterate (up to the hoisting: phic forms G itself)
    const values = ['js', 'step', 'sweep'].map((k) => variants[k]!());
    if (values.some((v) => v !== values[0])) throw new Error(`the variants disagree: ${values.join(', ')}`);
    if (Math.abs(variants.phic!() - values[0]!) > 1e-9 * Math.max(1, Math.abs(values[0]!))) throw new Error('phic disagrees with the hand-written step');
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    const repeats = Math.max(15, Math.round(3e6 / (K * n * n)));
    for (let r = 0; r < repeats; r++) {
      for (const [name, run] of Object.entries(variants)) {
        const t0 = performance.now();
        run();
        times[name]!.push(((performance.now() - t0) / K) * 1e6);
      }
    }
    const cell = (name: string) => `${median(times[name]!).toFixed(0)} (${Math.min(...times[name]!).toFixed(0)})`;
    console.log(`| ${n} | ${['phic', 'js', 'step', 'sweep', 'gemv'].map(cell).join(' | ')} |`);
    phic.release();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
