// The compiler's browser entry point (phic/browser): its SHA-256 gives node:crypto's digests;
// esbuild bundles it for the browser with no Node built-in and without ts-morph; the bundle
// runs in Debian's Chromium, compiles a JSON spec there, and the module it loads (from a blob:
// URL) gives Node's numbers to 1e-12; its GPU module runs on the page's gpu.js. Uses dist/ (npm test builds it first), as the package does.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../compiler/sha256.js';
import { compile } from '../src/index.js';
import { relativeDifference } from '../runtime/reference.js';
import { ROOT } from './helpers/cli.js';
import { bundleForBrowser, type Bundle } from './helpers/bundle.js';
import { BROWSER_TIMEOUT, launchChromium, serve, skipChromium, warnIfSkipped, type Browser, type Served } from './helpers/chromium.js';
import { ridgeSpec } from '../samples/bench/ridge-spec.js';

const ENTRY = join(ROOT, 'dist', 'src', 'browser.js');

/** The README's ridge map (the benchmarks' spec, α = 0.1). */
const SPEC = ridgeSpec(0.1);
const OPTIONS = { mode: 'both', K: 60, truncate: 20 } as const;
const DIMS = { m: 5, n: 3 };
const INPUTS = {
  theta: [0.5, 0.2, 1],
  A: [[0.3, -0.3, 0.4], [-0.2, 0.5, 0.7], [0.38, 0.2, 0.16], [0.42, -0.42, 0.52], [-0.18, 0.1, 0.05]],
  b: [-1, 0.07, -0.8, 1.66, 0.11],
};
const COTANGENT = { x: [1, -0.5, 2] };
const DIRECTION = { theta: [0.3, 1, -0.7] };

describe('the plain-JS SHA-256 of spec hashes', () => {
  it('gives node:crypto digests, across block boundaries and for non-ASCII text', () => {
    for (const text of ['', 'abc', 'a'.repeat(55), 'a'.repeat(56), 'a'.repeat(64), 'b'.repeat(119), 'x ← Φ(x, θ) 😀'.repeat(41)]) {
      expect(sha256Hex(text)).toBe(createHash('sha256').update(text).digest('hex'));
    }
  });
});

describe('phic/browser bundled by esbuild', () => {
  let bundle: Bundle;
  beforeAll(async () => {
    if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`npm run build\` first`);
    bundle = await bundleForBrowser(ENTRY);
  }, BROWSER_TIMEOUT);

  it('bundles with no Node built-in and without ts-morph or TypeScript', () => {
    // Only mathjs' seedrandom names one ('crypto', in a try), and its package's browser field turns it off.
    expect(bundle.builtinImports.filter((i) => !i.resolved.startsWith('(disabled):'))).toEqual([]);
    expect(bundle.builtinImports.filter((i) => !i.importer.includes('node_modules/'))).toEqual([]);
    const inputs = Object.keys(bundle.metafile.inputs);
    expect(inputs.filter((f) => /node_modules\/(ts-morph|typescript|@ts-morph|commander)\//.test(f))).toEqual([]);
    expect(inputs).toContain('dist/compiler/pipeline.js');
    expect(bundle.code).not.toMatch(/from ["']node:/);
  });

  it('refuses a .phi.ts spec with a one-line reason', async () => {
    const { generate } = (await import(ENTRY)) as typeof import('../src/browser.js');
    expect(() => generate("import { defineMap } from 'phic';", OPTIONS)).toThrow(/browser compiler reads a spec object or JSON text; a \.phi\.ts spec is read with ts-morph, which runs only in Node/);
    expect(() => generate('{"name": "r",', OPTIONS)).toThrow(/malformed JSON/);
  });

  warnIfSkipped('BROWSER ENTRY TEST (chromium part)');
  describe.skipIf(skipChromium)('in Chromium', () => {
    let served: Served;
    let browser: Browser | undefined;
    beforeAll(async () => {
      const page = `<!doctype html><meta charset="utf-8"><script type="module">
import { compile } from '/phic.js';
window.runSpec = async (text, options, dims, inputs, cotangent, direction) => {
  const c = await compile(text, options);
  const inst = c.module.create(dims);
  const r = inst.vjp(inputs, cotangent);
  const f = inst.jvp(inputs, direction);
  return { files: c.files.map((f) => f.name), code: c.code, specHash: c.meta.specHash, gradient: Array.from(r.gradient.theta), state: Array.from(r.state.x), tangent: Array.from(f.tangent.x) };
};
window.runGpu = async (text, options, dims, inputs, cotangent) => {
  const c = await compile(text, { ...options, backend: 'gpu' });
  const inst = c.module.create(new GPU(), dims);
  const r = await inst.vjp(inputs, cotangent);
  await inst.destroy();
  return { backend: r.backend, gradient: Array.from(r.gradient.theta) };
};
window.phicReady = true;
</script><body>phic/browser</body>`;
      const gpuJs = readFileSync(join(ROOT, 'node_modules', 'gpu.js', 'dist', 'gpu-browser.min.js'));
      served = await serve({ '/': page.replace('<script type="module">', '<script src="/gpu.js"></script><script type="module">'), '/phic.js': bundle.code, '/gpu.js': gpuJs });
      browser = await launchChromium();
      await browser.page.goto(served.url);
      await browser.page.waitForFunction('window.phicReady === true');
    }, 2 * BROWSER_TIMEOUT);
    afterAll(async () => {
      await browser?.close();
      await served?.close();
    }, BROWSER_TIMEOUT);

    it('compiles JSON text and runs the module to Node results within 1e-12', async () => {
      type Result = { files: string[]; code: string; specHash: string; gradient: number[]; state: number[]; tangent: number[] };
      const args = [JSON.stringify(SPEC), OPTIONS, DIMS, INPUTS, COTANGENT, DIRECTION].map((a) => JSON.stringify(a)).join(', ');
      const web = (await browser!.page.evaluate(`window.runSpec(${args})`)) as Result;
      const node = await compile(SPEC as never, OPTIONS);
      const inst = node.create(DIMS);
      const r = inst.vjp!(INPUTS, COTANGENT);
      const f = inst.jvp!(INPUTS, DIRECTION);
      expect(web.files).toEqual(node.files.map((file) => file.name));
      expect(web.specHash).toBe(node.meta.specHash);
      // The same bytes as Node's compiler writes (the GPU module's host runtime is the bundler's reprint of it: not compared).
      expect(web.code).toBe(node.files.find((f) => f.name === 'ridge.js')!.contents);
      expect(relativeDifference(web.gradient, r.gradient.theta!)).toBeLessThanOrEqual(1e-12);
      expect(relativeDifference(web.state, r.state.x!)).toBeLessThanOrEqual(1e-12);
      expect(relativeDifference(web.tangent, f.tangent.x!)).toBeLessThanOrEqual(1e-12);
      expect(Math.max(...r.gradient.theta!.map(Math.abs))).toBeGreaterThan(1e-6);
    }, BROWSER_TIMEOUT);

    it('a ridge VJP with the fused reverse sweep (its paired kernel a second module, compiled on the main thread): Node\'s result within 1e-12', async () => {
      const [m, n] = [230, 200];
      const options = { mode: 'both', K: 9, dims: { m, n } } as const;
      const wave = (len: number, seed: number, scale: number) => Array.from({ length: len }, (_, i) => Math.sin(seed * 7.3 + i * 1.7) * scale);
      const inputs = { A: wave(m * n, 1, 0.1), b: wave(m, 2, 1), theta: wave(n, 3, 0.5).map(Math.abs) };
      const cotangent = { x: wave(n, 4, 1) };
      const args = [JSON.stringify(SPEC), options, undefined, inputs, cotangent, { theta: wave(n, 5, 1) }].map((a) => (a === undefined ? 'undefined' : JSON.stringify(a))).join(', ');
      const web = (await browser!.page.evaluate(`window.runSpec(${args})`)) as { code: string; gradient: number[]; state: number[] };
      expect(web.code).toContain('kernels.gemvGemvT2(');
      const r = (await compile(SPEC as never, options)).create().vjp!(inputs, cotangent);
      expect(relativeDifference(web.gradient, r.gradient.theta!)).toBeLessThanOrEqual(1e-12);
      expect(relativeDifference(web.state, r.state.x!)).toBeLessThanOrEqual(1e-12);
    }, BROWSER_TIMEOUT);

    it('compiles the GPU module there too, and gpu.js runs it (float32) to the CPU result', async () => {
      // The bundler renames the GPU host functions the module embeds as text; the text must use their own names.
      const args = [JSON.stringify(SPEC), OPTIONS, DIMS, INPUTS, COTANGENT].map((a) => JSON.stringify(a)).join(', ');
      const web = (await browser!.page.evaluate(`window.runGpu(${args})`)) as { backend: string; gradient: number[] };
      const cpu = (await compile(SPEC as never, OPTIONS)).create(DIMS).vjp!(INPUTS, COTANGENT);
      expect(['webgl2', 'webgl', 'webgpu']).toContain(web.backend);
      expect(relativeDifference(web.gradient, cpu.gradient.theta!)).toBeLessThanOrEqual(1e-4);
    }, BROWSER_TIMEOUT);
  });
});
