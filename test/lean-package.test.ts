// The package as an app installs it: only package.json's dependencies, none of the optional
// peers (the lab's vega, vega-lite, resvg, fonts, ml-matrix, cli-progress, and gpu.js). The
// built package (dist/, schema/, package.json) is copied into a fresh app's node_modules/phic
// beside links to the dependencies alone, so nothing else can be found from it. There,
// `phic compile` works for JSON and .ts specs on both back ends (emitting GPU code needs no
// gpu.js), compile() works in-process, and the commands that need an optional package fail
// with one usage error (exit 2) naming what to install, before loading anything; `phic
// doctor` says gpu.js is missing and exits 0.

import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_PACKAGES, missingPackagesError, requirePackages } from '../src/optional-packages.js';
import { ROOT, STACK_TRACE, listDir, removeTempDirs, requireBuiltCli, tempDir } from './helpers/cli.js';

interface Pkg {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
  devDependencies: Record<string, string>;
}
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Pkg;
const OPTIONAL = [...LAB_PACKAGES, 'gpu.js'];

let app = '';
let cliPath = '';

/** A fresh app whose node_modules holds phic (built) and links to phic's dependencies only. */
function leanApp(): string {
  const dir = tempDir('phic-lean-');
  const phic = join(dir, 'node_modules', 'phic');
  for (const part of ['dist/src', 'dist/compiler', 'dist/runtime', 'schema']) {
    cpSync(join(ROOT, part), join(phic, part), { recursive: true, filter: (src) => !src.endsWith('.map') });
  }
  cpSync(join(ROOT, 'package.json'), join(phic, 'package.json'));
  for (const name of Object.keys(PKG.dependencies)) {
    mkdirSync(dirname(join(dir, 'node_modules', name)), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name), 'dir');
  }
  cpSync(join(ROOT, 'samples', 'ridge'), join(dir, 'ridge'), { recursive: true });
  cpSync(join(ROOT, 'samples', 'curse', 'lsq.phi.json'), join(dir, 'lsq.phi.json'));
  return dir;
}

const phic = (...args: string[]) => {
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd: app, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NODE_OPTIONS: '', NODE_PATH: '' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
};

beforeAll(() => {
  requireBuiltCli();
  app = leanApp();
  cliPath = join(app, 'node_modules', 'phic', 'dist', 'src', 'cli.js');
});
afterAll(() => removeTempDirs());

describe('package.json', () => {
  it('lists the lab packages and gpu.js as optional peers (and dev dependencies for the tests), not as dependencies', () => {
    for (const name of OPTIONAL) {
      expect(PKG.dependencies[name], name).toBeUndefined();
      expect(PKG.peerDependencies[name], name).toBe(`^${PKG.devDependencies[name]}`);
      expect(PKG.peerDependenciesMeta[name]?.optional, name).toBe(true);
    }
    expect(Object.keys(PKG.dependencies).sort()).toEqual(['code-block-writer', 'commander', 'jsonc-parser', 'mathjs', 'ts-morph']);
  });
});

describe('an app with only the dependencies', () => {
  it('none of the optional packages can be found from the installed phic', () => {
    // Resolved as phic's own files would (from its folder); the dependencies are found.
    const probe = `console.log(JSON.stringify(${JSON.stringify([...OPTIONAL, 'mathjs'])}.map((n) => { try { import.meta.resolve(n); return 'found'; } catch { return 'missing'; } })))`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', probe], { cwd: join(app, 'node_modules', 'phic', 'dist', 'src'), encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([...OPTIONAL.map(() => 'missing'), 'found']);
  });

  it('compiles JSON and .ts specs, several at once, and GPU code (which imports nothing)', () => {
    const r = phic('compile', 'lsq.phi.json', 'ridge/ridge.phi.ts', '-K', '10', '-o', 'out');
    expect(r.status, r.stderr).toBe(0);
    expect(listDir(join(app, 'out'))).toEqual(['lsq.d.ts', 'lsq.js', 'ridge.d.ts', 'ridge.js']);
    const gpu = phic('compile', 'lsq.phi.json', '-K', '10', '--backend', 'gpu', '-o', '-');
    expect(gpu.status, gpu.stderr).toBe(0);
    expect(gpu.stdout).toContain('create(gpu');
    expect(gpu.stdout).not.toMatch(/^\s*import\s|\brequire\(|\bimport\(/m);
  });

  it('compile() runs in-process from the app', () => {
    const script = `import { compile } from 'phic';
const m = await compile({ name: 'f', state: { x: '' }, params: { a: '' }, update: { x: 'a * x + 1' } }, { mode: 'reverse', K: 3 });
console.log(JSON.stringify(Array.from(m.create().vjp({ a: 0.5 }, { x: 1 }, { x: 2 }).gradient.a)));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: app, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([expect.any(Number)]);
  });

  it.each(['curse', 'truncation', 'bilevel'])('phic %s names the lab packages to install, exit 2', (command) => {
    const args = command === 'bilevel' ? ['--steps', '2', '--eta', '0.1'] : [];
    const r = phic(command, 'lsq.phi.json', '--data', 'data.json', '-K', '10', ...args);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toBe(`phic: usage error: phic ${command} needs the optional packages ${LAB_PACKAGES.join(', ')}, not installed: install them with \`npm install ${LAB_PACKAGES.map((n) => `${n}@${PKG.peerDependencies[n]}`).join(' ')}\`\n`);
    expect(r.stdout).toBe('');
  });

  it('phic paper and phic run --backend gpu too; --help and --version work', () => {
    const paper = phic('paper', '--quick', '-o', 'paper');
    expect(paper.status).toBe(2);
    expect(paper.stderr).toMatch(/^phic: usage error: phic paper needs the optional packages vega, /);
    expect(listDir(app)).not.toContain('paper');
    const run = phic('run', 'ridge/ridge.phi.ts', '--data', 'ridge/data.json', '--mode', 'reverse', '-K', '5', '--jacobian', '--backend', 'gpu');
    expect(run.status).toBe(2);
    expect(run.stderr).toBe(`phic: usage error: phic run --backend gpu needs the optional package gpu.js, not installed: install it with \`npm install gpu.js@${PKG.peerDependencies['gpu.js']}\`\n`);
    expect(run.stderr).not.toMatch(STACK_TRACE);
    expect(phic('--help').status).toBe(0);
    expect(phic('--version').stdout.trim()).toBe('0.1.0');
  });
});

describe('phic doctor in the app with only the dependencies', () => {
  it('says headless GL is out because gpu.js is not installed, and exits 0', () => {
    const r = phic('doctor');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('headless GL: no: the optional package gpu.js is not installed (npm install gpu.js)\n');
    expect(r.stdout).toMatch(/^WebAssembly SIMD: yes$/m);
  });
});

describe('requirePackages', () => {
  it('names only the missing packages, in one error', () => {
    expect(() => requirePackages('x', ['a', 'b'], () => true)).not.toThrow();
    const error = missingPackagesError('phic curse', ['vega']);
    expect(error.exitCode).toBe(2);
    expect(() => requirePackages('phic curse', ['vega', 'ml-matrix'], (n) => n !== 'vega')).toThrow(error.message);
  });
});
