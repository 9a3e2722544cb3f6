// What an imported Math function costs called from a WebAssembly sweep, against the same call
// inlined in JavaScript: the figures behind IMPORT_EXTRA_NS in
// compiler/codegen/wasm/sweep-wasm.ts (a loop whose imported calls outweigh the loads and stores
// WebAssembly saves stays JavaScript). V8 calls some Math imports (exp, log) directly, faster than
// from JavaScript, and others (tanh) through a wrapper. Both apply the function in place to 256 entries, 100
// times a call, the entries in the kernels' kind of memory; the WebAssembly loop is written with
// phic's own encoder (compiler/codegen/wasm/encode.ts). Medians of alternating repeats, ns per call.
// Run: npx tsc -p tsconfig.json && node dist/samples/bench/import-calls.js [--fn tanh,exp,log,log1p,expm1,sign,max] [--repeats 15]

import { Code, encodeModule, F64, I32 } from '../../compiler/codegen/wasm/encode.js';
import { median } from '../../src/lab/stats.js';

const argument = (name: string) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const FUNCTIONS = (argument('--fn') ?? 'tanh,exp,log,log1p,expm1,sign,max').split(',');
const REPEATS = Number(argument('--repeats') ?? 15);
const N = 256;
const PASSES = 100;

type MathFunction = (x: number) => number;

/** The WebAssembly API this bench uses (the project's TypeScript lib has no DOM or Node wasm types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface Wasm {
  Memory: new (d: { initial: number }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

/** f(at, n): entries at..at+n−1 replaced by Math.<fn> of themselves, the function imported. */
function wasmLoop(fn: MathFunction, memory: WasmMemory): (at: number, n: number) => number {
  const c = new Code(2);
  const i = c.local(I32);
  c.i32(0).op('local.set', i);
  c.structured('block', () =>
    c.structured('loop', () => {
      c.op('local.get', i).op('local.get', 1).op('i32.ge_s').op('br_if', 1);
      const address = () => c.op('local.get', 0).op('local.get', i).i32(8).op('i32.mul').op('i32.add');
      address();
      address();
      c.memory('f64.load').op('call', 0).memory('f64.store');
      c.op('local.get', i).i32(1).op('i32.add').op('local.set', i).op('br', 0);
    }),
  );
  c.i32(0);
  const bytes = encodeModule({
    imports: [{ module: 'Math', name: 'f', type: { params: [F64], results: [F64] } }],
    sharedMemory: false,
    functions: [{ name: 'f', type: { params: [I32, I32], results: [I32] }, code: c }],
  });
  const instance = new wasm.Instance(new wasm.Module(bytes), { Math: { f: fn }, env: { memory } });
  return instance.exports.f as (at: number, n: number) => number;
}

console.log(`Node ${process.version}; ${N} entries, ${PASSES} passes a call, median of ${REPEATS} alternating repeats`);
console.log('| function | JavaScript, inlined (ns a call) | WebAssembly, imported (ns a call) | extra from WebAssembly (ns) |');
console.log('|---|---:|---:|---:|');
for (const name of FUNCTIONS) {
  const fn = (Math as unknown as Record<string, MathFunction>)[name];
  if (typeof fn !== 'function') throw new Error(`Math.${name} is not a function`);
  const memory = new wasm.Memory({ initial: 1 });
  const a = new Float64Array(memory.buffer, 0, N);
  const inWasmLoop = wasmLoop(fn, memory);
  // values that stay in the function's domain and away from its fixed points' trivial cases
  const reset = () => a.forEach((_, j) => (a[j] = 0.3 + j / N));
  const js = () => {
    for (let p = 0; p < PASSES; p++) for (let j = 0; j < N; j++) a[j] = fn(a[j]!);
  };
  const inWasm = () => {
    for (let p = 0; p < PASSES; p++) inWasmLoop(0, N);
  };
  const time = (run: () => void) => {
    reset();
    const t0 = performance.now();
    for (let r = 0; r < 20; r++) run();
    return ((performance.now() - t0) / 20 / (N * PASSES)) * 1e6;
  };
  const [tJs, tWasm]: number[][] = [[], []];
  for (let r = 0; r < REPEATS; r++) {
    tJs.push(time(js));
    tWasm.push(time(inWasm));
  }
  const [mJs, mWasm] = [median(tJs), median(tWasm)];
  console.log(`| Math.${name} | ${mJs.toFixed(1)} | ${mWasm.toFixed(1)} | ${(mWasm - mJs).toFixed(1)} |`);
}
