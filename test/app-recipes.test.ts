// The README's "Use phic in an app" recipes, run as an app would: a fresh app folder (removed
// after) with phic in node_modules (the local build, linked), a phic.config.json, `phic
// generate`, `phic generate --check` (0 when fresh, 1 and the stale file listed after a spec
// edit), the generated module imported from Node, bundled by esbuild and built by Vite, and
// both bundles run in Node (esbuild's) and in Chromium, the GPU module on the page's gpu.js.
// Every run gives the same gradient as phic's own compile() in this process.

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { relativeDifference } from '../runtime/reference.js';
import { ROOT, listDir, removeTempDirs, requireBuiltCli, tempDir } from './helpers/cli.js';
import { BROWSER_TIMEOUT, launchChromium, serve, skipChromium, warnIfSkipped, type Browser } from './helpers/chromium.js';
import { ridgeSpec } from '../samples/bench/ridge-spec.js';

/** The README's ridge map (the benchmarks' spec, α = 0.1). */
const SPEC = ridgeSpec(0.1);
const DIMS = { m: 5, n: 3 };
const INPUTS = {
  theta: [0.5, 0.2, 1],
  A: [[0.3, -0.3, 0.4], [-0.2, 0.5, 0.7], [0.38, 0.2, 0.16], [0.42, -0.42, 0.52], [-0.18, 0.1, 0.05]],
  b: [-1, 0.07, -0.8, 1.66, 0.11],
};
const COTANGENT = { x: [1, -0.5, 2] };
const CONFIG = {
  $schema: './node_modules/phic/schema/config.schema.json',
  K: 100,
  truncate: 20,
  out: 'src/generated',
  generate: [{ spec: 'specs/ridge.json' }, { spec: 'specs/ridge.json', out: 'src/gpu', backend: 'gpu' }],
};

/** The app's code: one function, the same for Node and the browser (the README's example). */
const APP = `import { create } from './generated/ridge.js';
import { create as createGpu } from './gpu/ridge.js';

const dims = ${JSON.stringify(DIMS)};
const inputs = ${JSON.stringify(INPUTS)};
const cotangent = ${JSON.stringify(COTANGENT)};

export function gradient() {
  const ridge = create(dims);
  return Array.from(ridge.vjp(inputs, cotangent).gradient.theta);
}

export async function gpuGradient(GPU) {
  const ridge = createGpu(new GPU(), dims);
  const r = await ridge.vjp(inputs, cotangent);
  await ridge.destroy();
  return { backend: r.backend, gradient: Array.from(r.gradient.theta) };
}
`;
const NODE_MAIN = `import { gradient } from './app.js';\nconsole.log(JSON.stringify(gradient()));\n`;
const WEB_MAIN = `import { gradient, gpuGradient } from './app.js';
window.result = gradient();
window.gpuResult = typeof GPU === 'function' ? gpuGradient(GPU) : Promise.resolve(null);
`;
const PAGE = (script: string) => `<!doctype html><meta charset="utf-8"><script src="/gpu-browser.min.js"></script><script type="module" src="${script}"></script><body>app</body>`;

let app = '';
let expected: number[] = [];
const node = (args: string[]) => {
  const r = spawnSync(process.execPath, args, { cwd: app, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NODE_OPTIONS: '' } });
  if (r.error) throw r.error;
  return r;
};
const phic = (...args: string[]) => node([join('node_modules', 'phic', 'dist', 'src', 'cli.js'), ...args]);

beforeAll(async () => {
  requireBuiltCli();
  app = tempDir('phic-app-');
  mkdirSync(join(app, 'node_modules'));
  symlinkSync(ROOT, join(app, 'node_modules', 'phic'), 'dir');
  mkdirSync(join(app, 'specs'));
  mkdirSync(join(app, 'src'));
  mkdirSync(join(app, 'public'));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', devDependencies: { phic: '*' } }, null, 2));
  writeFileSync(join(app, 'phic.config.json'), JSON.stringify(CONFIG, null, 2));
  writeFileSync(join(app, 'specs', 'ridge.json'), JSON.stringify(SPEC, null, 2));
  writeFileSync(join(app, 'src', 'app.js'), APP);
  writeFileSync(join(app, 'src', 'node-main.js'), NODE_MAIN);
  writeFileSync(join(app, 'src', 'web-main.js'), WEB_MAIN);
  writeFileSync(join(app, 'index.html'), PAGE('/src/web-main.js'));
  copyFileSync(join(ROOT, 'node_modules', 'gpu.js', 'dist', 'gpu-browser.min.js'), join(app, 'public', 'gpu-browser.min.js'));
  const reference = (await compile(SPEC as never, { mode: 'both', K: CONFIG.K, truncate: CONFIG.truncate })).create(DIMS);
  expected = Array.from(reference.vjp!(INPUTS, COTANGENT).gradient.theta!);
}, BROWSER_TIMEOUT);
afterAll(() => removeTempDirs());

describe('use phic in an app', () => {
  it('phic generate writes the config targets; --check passes, then fails with the stale file after a spec edit', () => {
    const gen = phic('generate');
    expect(gen.status).toBe(0);
    expect(gen.stderr).toContain('phic generate: 4 files from 2 spec files: 4 written, 0 unchanged');
    expect(listDir(join(app, 'src', 'generated'))).toEqual(['ridge.d.ts', 'ridge.js']);
    expect(listDir(join(app, 'src', 'gpu'))).toEqual(['ridge.d.ts', 'ridge.js']);
    expect(phic('generate', '--check').status).toBe(0);

    const spec = join(app, 'specs', 'ridge.json');
    const original = readFileSync(spec, 'utf8');
    writeFileSync(spec, original.replace('"alpha": 0.1', '"alpha": 0.2'));
    const stale = phic('generate', '--check');
    expect(stale.status).toBe(1);
    expect(stale.stdout + stale.stderr).toContain('src/generated/ridge.js');
    writeFileSync(spec, original);
    expect(phic('generate', '--check').status).toBe(0);
  });

  it('imports the generated module from Node', () => {
    const r = node(['src/node-main.js']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(expected);
  });

  it('bundles the app with esbuild (platform browser), and the bundle runs in Node', async () => {
    const { build } = await import('esbuild');
    await build({ entryPoints: [join(app, 'src', 'node-main.js')], outfile: join(app, 'out', 'node-main.js'), bundle: true, platform: 'browser', format: 'esm', logLevel: 'silent' });
    await build({ entryPoints: [join(app, 'src', 'web-main.js')], outfile: join(app, 'out', 'web-main.js'), bundle: true, platform: 'browser', format: 'esm', logLevel: 'silent' });
    const r = node(['out/node-main.js']);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(expected);
  }, BROWSER_TIMEOUT);

  it('builds the app with Vite', async () => {
    const { build } = await import('vite');
    await build({ root: app, configFile: false, logLevel: 'silent', build: { outDir: join(app, 'vite-dist'), emptyOutDir: true } });
    const html = readFileSync(join(app, 'vite-dist', 'index.html'), 'utf8');
    expect(html).toMatch(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
    expect(listDir(join(app, 'vite-dist'))).toContain('gpu-browser.min.js');
  }, BROWSER_TIMEOUT);

  warnIfSkipped('APP RECIPES IN THE BROWSER');
  describe.skipIf(skipChromium)('in Chromium', () => {
    let browser: Browser | undefined;
    beforeAll(async () => {
      browser = await launchChromium();
    }, 2 * BROWSER_TIMEOUT);
    afterAll(async () => browser?.close(), BROWSER_TIMEOUT);

    const check = async (url: string) => {
      const page = browser!.page;
      await page.goto(url);
      await page.waitForFunction('Array.isArray(window.result)');
      // Chromium has relaxed SIMD, so its kernels fuse multiply-adds (Node 20's do not): the same numbers to rounding
      expect(relativeDifference((await page.evaluate('window.result')) as number[], expected)).toBeLessThanOrEqual(1e-13);
      const gpu = (await page.evaluate('window.gpuResult')) as { backend: string; gradient: number[] } | null;
      expect(gpu).not.toBeNull();
      expect(['webgl2', 'webgl', 'webgpu']).toContain(gpu!.backend);
      expect(relativeDifference(gpu!.gradient, expected)).toBeLessThanOrEqual(1e-4);
    };

    it("runs esbuild's bundle: the CPU module to Node's numbers, the GPU module on gpu.js", async () => {
      const served = await serve({ '/': PAGE('/web-main.js'), '/web-main.js': readFileSync(join(app, 'out', 'web-main.js')), '/gpu-browser.min.js': readFileSync(join(app, 'public', 'gpu-browser.min.js')) });
      try {
        await check(served.url);
      } finally {
        await served.close();
      }
    }, 2 * BROWSER_TIMEOUT);

    it("runs Vite's build the same way", async () => {
      const served = await serve(join(app, 'vite-dist'));
      try {
        await check(served.url);
      } finally {
        await served.close();
      }
    }, 2 * BROWSER_TIMEOUT);
  });
});
