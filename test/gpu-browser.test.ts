// The generated GPU module in a browser page: served with gpu.js's browser build from a
// local node:http server (127.0.0.1, ephemeral port), driven by playwright-core on Debian's
// /usr/bin/chromium (headless, software rendering), and compared with the same computation in
// Node (webasm) and the float64 CPU module. The CPU module runs in the page too (its
// WebAssembly SIMD kernels included) and must agree with Node's run of it. Skips loudly where
// chromium is absent, except in CI (CI=true), where it must run.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSpec } from '../compiler/pipeline.js';
import { compile } from '../src/index.js';
import { createGpu } from '../runtime/gpu.js';
import { relativeDifference } from '../runtime/reference.js';
import { ROOT } from './helpers/cli.js';
import { GPU_SAMPLES, float32Tolerance, loadGpuSample, type LoadedSample } from './helpers/gpu-samples.js';

const CHROMIUM = '/usr/bin/chromium';
const inCi = process.env.CI === 'true';
const available = existsSync(CHROMIUM);
if (!available && !inCi) console.warn(`\n*** GPU BROWSER TEST SKIPPED: ${CHROMIUM} is missing (apt-get install chromium). CI installs it and runs this test.\n`);

/** Flags for a quiet, sandbox-free headless chromium that talks to nothing but localhost. */
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // With --disable-gpu, WebGL needs the software rasteriser allowed explicitly.
  '--enable-unsafe-swiftshader',
];

const K = 20;
const T = 5;

/** Chromium's start, the page load and the page's work: seconds when idle, far more on a loaded machine. */
const BROWSER_TIMEOUT = 120_000;

describe.skipIf(!available && !inCi)('the GPU module in a browser page (playwright-core + Debian chromium)', () => {
  let server: Server;
  let url: string;
  let s: LoadedSample;
  let userDataDir: string;
  let moduleCode: string;
  let cpuModuleCode: string;
  // One chromium and one loaded page for both tests (each only calls into the page).
  let context: BrowserContext | undefined;
  let tab: Page;

  beforeAll(async () => {
    s = await loadGpuSample(GPU_SAMPLES.find((x) => x.folder === 'tanh_layer')!);
    moduleCode = compileSpec(s.source, { mode: 'both', K, truncate: T, dims: s.dims, backend: 'gpu' }).moduleCode;
    // dims bound at create(): every matrix-vector nest is a kernel call
    cpuModuleCode = compileSpec(s.source, { mode: 'both', K, truncate: T }).moduleCode;
    const gpuJs = readFileSync(join(ROOT, 'node_modules', 'gpu.js', 'dist', 'gpu-browser.min.js'));
    // The page's own script (plain text: the test's code is transformed by vitest, the page's is not).
    const script = `import { create } from '/map.js';
import { create as createCpu } from '/cpu.js';
window.runCpu = ({ dims, inputs, x0, direction, cotangent }) => {
  const inst = createCpu(dims);
  const f = inst.jvp(inputs, direction, x0);
  const r = inst.vjp(inputs, cotangent, x0);
  return { tangent: Array.from(f.tangent.x), gradient: Array.from(r.gradient.theta), state: Array.from(r.state.x) };
};
window.runPhic = async ({ inputs, x0, direction, cotangent }) => {
  const inst = create(new GPU());
  const f = await inst.jvp(inputs, direction, x0);
  const r = await inst.vjp(inputs, cotangent, x0);
  await inst.destroy();
  return { backend: r.backend, precision: r.precision, tangent: Array.from(f.tangent.x), gradient: Array.from(r.gradient.theta), state: Array.from(r.state.x) };
};
window.phicReady = true;`;
    const page = `<!doctype html><html><head><meta charset="utf-8"><script src="/gpu-browser.min.js"></script><script type="module">${script}</script></head><body>phic</body></html>`;
    server = createServer((req, res) => {
      const body = req.url === '/' ? page : req.url === '/gpu-browser.min.js' ? gpuJs : req.url === '/map.js' ? moduleCode : req.url === '/cpu.js' ? cpuModuleCode : null;
      if (body === null) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': req.url === '/' ? 'text/html' : 'text/javascript' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    userDataDir = mkdtempSync(join(tmpdir(), 'phic-chromium-'));
    if (!available) return; // in CI each test fails with the reason
    const { chromium } = await import('playwright-core');
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: BROWSER_TIMEOUT });
    context.setDefaultTimeout(BROWSER_TIMEOUT);
    tab = await context.newPage();
    await tab.goto(url);
    await tab.waitForFunction('window.phicReady === true');
  }, 2 * BROWSER_TIMEOUT);
  afterAll(async () => {
    await context?.close();
    await new Promise((resolve) => server?.close(resolve));
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  }, BROWSER_TIMEOUT);

  it('computes the same jvp and vjp as Node, within float32 tolerance of the float64 CPU result', async () => {
    if (!available) throw new Error(`${CHROMIUM} is missing: CI must install chromium (apt-get install chromium)`);
    type Result = { backend: string; precision: string; tangent: number[]; gradient: number[]; state: number[] };
    const direction = { theta: [1, -0.5, 0.25] };
    const cotangent = { x: [1, 0, -1, 0.5, 2] };
    const browser = (await tab.evaluate(`window.runPhic(${JSON.stringify({ inputs: s.inputs, x0: s.x0, direction, cotangent })})`)) as Result;
    // Node, same module, webasm; and the float64 CPU module.
    const gpu = await createGpu('webasm');
    const node = (await compile(s.source, { mode: 'both', K, truncate: T, dims: s.dims, backend: 'gpu', gpu })).create();
    const nf = await node.jvp!(s.inputs as never, direction as never, s.x0 as never);
    const nr = await node.vjp!(s.inputs as never, cotangent as never, s.x0 as never);
    await node.destroy();
    await gpu.destroy();
    const cpu = (await compile(s.source, { mode: 'both', K, truncate: T, dims: s.dims })).create();
    const cf = cpu.jvp!(s.inputs as never, direction as never, s.x0 as never);
    const cr = cpu.vjp!(s.inputs as never, cotangent as never, s.x0 as never);

    console.log(`browser GPU module ran on gpu.js backend '${browser.backend}' (${browser.precision})`);
    // SwiftShader gives chromium WebGL2 without a GPU: the GL path, not a CPU fallback.
    expect(['webgl2', 'webgl', 'webgpu']).toContain(browser.backend);
    expect(browser.precision).toBe('float32');
    const tol = float32Tolerance(s.maxDim, K);
    expect(relativeDifference(browser.tangent, nf.tangent.x!)).toBeLessThanOrEqual(tol);
    expect(relativeDifference(browser.gradient, nr.gradient.theta!)).toBeLessThanOrEqual(tol);
    expect(relativeDifference(browser.tangent, cf.tangent.x!)).toBeLessThanOrEqual(tol);
    expect(relativeDifference(browser.gradient, cr.gradient.theta!)).toBeLessThanOrEqual(tol);
    expect(relativeDifference(browser.state, cr.state.x!)).toBeLessThanOrEqual(tol);
  }, BROWSER_TIMEOUT);

  it('runs the CPU module, SIMD kernels included, to the same float64 numbers as Node', async () => {
    if (!available) throw new Error(`${CHROMIUM} is missing: CI must install chromium (apt-get install chromium)`);
    expect(cpuModuleCode).toContain('kernels.gemv(');
    const direction = { theta: [1, -0.5, 0.25] };
    const cotangent = { x: [1, 0, -1, 0.5, 2] };
    const browser = (await tab.evaluate(`window.runCpu(${JSON.stringify({ dims: s.dims, inputs: s.inputs, x0: s.x0, direction, cotangent })})`)) as { tangent: number[]; gradient: number[]; state: number[] };
    const node = (await compile(s.source, { mode: 'both', K, truncate: T })).create(s.dims);
    const f = node.jvp!(s.inputs as never, direction as never, s.x0 as never);
    const r = node.vjp!(s.inputs as never, cotangent as never, s.x0 as never);
    expect(relativeDifference(browser.tangent, f.tangent.x!)).toBeLessThanOrEqual(1e-14);
    expect(relativeDifference(browser.gradient, r.gradient.theta!)).toBeLessThanOrEqual(1e-14);
    expect(relativeDifference(browser.state, r.state.x!)).toBeLessThanOrEqual(1e-14);
  }, BROWSER_TIMEOUT);
});
