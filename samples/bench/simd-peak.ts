// The most float64 arithmetic WebAssembly SIMD can do on one core of this machine: a loop of
// f64x2 multiply-adds on twelve independent accumulators in registers (no memory traffic, no
// dependence a pipeline waits on), as f64x2.mul then f64x2.add, and as one fused
// f64x2.relaxed_madd where the engine has relaxed SIMD. A kernel that reads its operands from
// memory stays below it; no SIMD128 code exceeds it. Two flops per multiply-add, medians of 7.
// Run: npx tsc -p tsconfig.json && node --experimental-wasm-relaxed-simd dist/samples/bench/simd-peak.js

import { median } from '../../src/lab/stats.js';

/** The part of the WebAssembly global this benchmark uses (the compiler's libs declare none). */
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => unknown;
  Instance: new (module: unknown, imports: object) => { exports: { run(steps: number): number } };
};

const ACCUMULATORS = 12;
const STEPS = 2e7;

/** The loop as text: `fused` with relaxed_madd, else mul then add. */
function loopText(fused: boolean): string {
  const locals = Array.from({ length: ACCUMULATORS }, (_, i) => `(local $a${i} v128)`).join(' ');
  const body = Array.from({ length: ACCUMULATORS }, (_, i) =>
    fused ? `(local.set $a${i} (f64x2.relaxed_madd (local.get $a${i}) (local.get $v) (local.get $w)))` : `(local.set $a${i} (f64x2.add (local.get $a${i}) (f64x2.mul (local.get $v) (local.get $w))))`,
  ).join('\n');
  let sum = '(local.get $a0)';
  for (let i = 1; i < ACCUMULATORS; i++) sum = `(f64x2.add ${sum} (local.get $a${i}))`;
  return `(module (func (export "run") (param $n i32) (result f64) (local $v v128) (local $w v128) ${locals}
    (local.set $v (f64x2.splat (f64.const 0.999999))) (local.set $w (f64x2.splat (f64.const 1e-9)))
    (loop $l ${body} (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $l (local.get $n)))
    (f64x2.extract_lane 0 ${sum})))`;
}

async function main(): Promise<void> {
  const { default: wabtInit } = await import('wabt');
  const wabt = await wabtInit();
  for (const fused of [false, true]) {
    const bytes = wabt.parseWat('peak.wat', loopText(fused), { simd: true, relaxed_simd: fused }).toBinary({}).buffer;
    const name = fused ? 'f64x2.relaxed_madd' : 'f64x2.mul + f64x2.add';
    if (!WebAssembly.validate(bytes)) {
      console.log(`${name}: this engine has no relaxed SIMD (Node 20: --experimental-wasm-relaxed-simd)`);
      continue;
    }
    const { run } = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports;
    run(STEPS / 10);
    const rates: number[] = [];
    for (let r = 0; r < 7; r++) {
      const t0 = performance.now();
      run(STEPS);
      rates.push((STEPS * ACCUMULATORS * 2 * 2) / ((performance.now() - t0) / 1e3) / 1e9);
    }
    console.log(`${name}: ${median(rates).toFixed(1)} GFLOP/s on one core (fastest ${Math.max(...rates).toFixed(1)})`);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
