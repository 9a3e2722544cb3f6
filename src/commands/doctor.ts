// `phic doctor`: which backends work in this JavaScript engine, one line each ("yes" or
// "no: <reason>"), or one JSON object with --json. Every check runs the real thing where that
// is cheap (the generated modules' own SIMD kernels are compiled, a worker thread is started),
// so a "yes" means the generated code can use it here, not just that an API exists.

import { createRequire } from 'node:module';
import { KERNELS_BASE64 } from '../../compiler/codegen/wasm/kernels-binary.js';
import type { CliIo } from '../cli-io.js';
import { isInstalled } from '../optional-packages.js';

/** The part of the WebAssembly global the checks use (the compiler's libs declare none). */
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => unknown;
  Memory: new (descriptor: { initial: number; maximum: number; shared: boolean }) => unknown;
};

/** What one check found: `reason` says why not. */
export type Check = { readonly works: true } | { readonly works: false; readonly reason: string };

const YES: Check = { works: true };
const no = (reason: string): Check => ({ works: false, reason });
const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** A worker thread that has not said it started by then is reported as not starting (far beyond a loaded machine's start-up). */
const WORKER_DEADLINE_MS = 10_000;

/**
 * One function of three v128 parameters returning f32x4.relaxed_madd of them (opcode 0xfd 0x105):
 * it validates only where relaxed SIMD is on.
 */
const RELAXED_SIMD_MODULE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type: (v128, v128, v128) -> v128
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // local.get 0..2, f32x4.relaxed_madd
]);

/** The SIMD kernels every generated CPU module embeds: does this engine compile them? */
function wasmSimd(): Check {
  try {
    new WebAssembly.Module(Buffer.from(KERNELS_BASE64, 'base64'));
    return YES;
  } catch (e) {
    return no(`the SIMD kernels do not compile (${messageOf(e)}): compile with --kernels js`);
  }
}

function relaxedSimd(): Check {
  // where it works, create() runs the kernels' relaxed build (fused multiply-adds)
  try {
    new WebAssembly.Module(RELAXED_SIMD_MODULE);
    return YES;
  } catch (e) {
    return no(`f32x4.relaxed_madd does not compile in Node ${process.version} (${messageOf(e)}): the kernels run without fused multiply-adds`);
  }
}

/** What the generated modules need to split kernel calls: process.getBuiltinModule, shared memory, and a worker that starts. */
async function workerThreads(): Promise<Check> {
  if (typeof (process as { getBuiltinModule?: unknown }).getBuiltinModule !== 'function') {
    return no(`Node ${process.version} has no process.getBuiltinModule (Node 20.16 or 22.3 on), by which generated modules start worker threads`);
  }
  if (typeof SharedArrayBuffer !== 'function') return no('there is no SharedArrayBuffer');
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch (e) {
    return no(`a shared WebAssembly memory cannot be made (${messageOf(e)})`);
  }
  const { Worker } = await import('node:worker_threads');
  return new Promise((resolve) => {
    let worker: InstanceType<typeof Worker>;
    const finish = (check: Check) => {
      clearTimeout(timer);
      void worker?.terminate();
      resolve(check);
    };
    const timer = setTimeout(() => finish(no(`a worker thread did not start within ${WORKER_DEADLINE_MS / 1000} s`)), WORKER_DEADLINE_MS);
    try {
      worker = new Worker('require("node:worker_threads").parentPort.postMessage("started");', { eval: true });
      worker.once('message', () => finish(YES));
      worker.once('error', (e) => finish(no(`a worker thread failed (${messageOf(e)})`)));
    } catch (e) {
      finish(no(`a worker thread cannot be started (${messageOf(e)})`));
    }
  });
}

/** gpu.js's headlessgl backend: the optional peer gpu.js, its optional native package gl, and a GL context. */
async function headlessGl(): Promise<Check> {
  if (!isInstalled('gpu.js')) return no('the optional package gpu.js is not installed (npm install gpu.js)');
  const fromGpuJs = createRequire(createRequire(import.meta.url).resolve('gpu.js'));
  try {
    fromGpuJs.resolve('gl');
  } catch {
    return no("gpu.js's optional native package gl is not installed (it builds from source with libx11-dev libxext-dev libxi-dev pkg-config)");
  }
  try {
    const gpuJs = (await import('gpu.js')) as unknown as { HeadlessGLKernel?: { isSupported: boolean }; default?: { HeadlessGLKernel?: { isSupported: boolean } } };
    const kernel = gpuJs.HeadlessGLKernel ?? gpuJs.default?.HeadlessGLKernel;
    return kernel?.isSupported ? YES : no('gl is installed but made no GL context (it needs a display: run under xvfb-run)');
  } catch (e) {
    return no(`gl did not load (${messageOf(e)})`);
  }
}

/** WebGPU as gpu.js looks for it: navigator.gpu, and an adapter from it. */
async function webGpu(): Promise<Check> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  if (!gpu) return no('this engine has no navigator.gpu (Node has no WebGPU; a browser with it does)');
  try {
    return (await gpu.requestAdapter()) ? YES : no('navigator.gpu gives no adapter');
  } catch (e) {
    return no(`navigator.gpu.requestAdapter() failed (${messageOf(e)})`);
  }
}

/** The checks, by their key in --json and their label in the lines. */
const CHECKS = [
  { key: 'wasmSimd', label: 'WebAssembly SIMD', run: wasmSimd },
  { key: 'relaxedSimd', label: 'relaxed SIMD', run: relaxedSimd },
  { key: 'workerThreads', label: 'worker threads', run: workerThreads },
  { key: 'headlessGl', label: 'headless GL', run: headlessGl },
  { key: 'webGpu', label: 'WebGPU', run: webGpu },
] as const;

/** Runs every check, in order. */
export async function doctorChecks(): Promise<Record<(typeof CHECKS)[number]['key'], Check>> {
  const found = {} as Record<(typeof CHECKS)[number]['key'], Check>;
  for (const c of CHECKS) found[c.key] = await c.run();
  return found;
}

/** Prints what the checks found; a backend that does not work is a finding, not an error (exit 0). */
export async function doctorCommand(options: { json: boolean }, io: CliIo): Promise<void> {
  const found = await doctorChecks();
  if (options.json) {
    io.stdout(JSON.stringify(found, null, 2) + '\n');
    return;
  }
  const line = (check: Check) => (check.works ? 'yes' : `no: ${check.reason}`);
  io.stdout(CHECKS.map((c) => `${c.label}: ${line(found[c.key])}\n`).join(''));
}
