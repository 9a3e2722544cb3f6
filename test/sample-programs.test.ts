// The sample programs of the update maps added for the language (softmax regression, SVM, ISTA,
// log-domain Sinkhorn, a decaying step size, FISTA, MAML, hyper-cleaning, per-feature logistic penalties) run end to end: each sample's spec compiled as samples/build.mjs compiles
// it, next to a copy of its program and data, and the program, which checks its derivatives
// against central differences and exits 1 on a mismatch, run in a Node process of its own.

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { readSpecFile } from '../compiler/spec/read-file.js';
import { ROOT, removeTempDirs, tempDir } from './helpers/cli.js';

interface BuiltSample {
  readonly name: string;
  readonly K: number;
  readonly truncate: number;
  readonly dims: string;
}

const { SAMPLES } = (await import(join(ROOT, 'samples', 'build.mjs'))) as { SAMPLES: readonly BuiltSample[] };
const PROGRAMS = ['softmax_regression', 'svm', 'ista', 'sinkhorn', 'gd_schedule', 'fista', 'maml', 'hyper_cleaning', 'logistic_bilevel'];

afterAll(() => removeTempDirs());

describe.each(SAMPLES.filter((s) => PROGRAMS.includes(s.name)))('the $name program', (s) => {
  it('runs, and its derivatives agree with central differences', async () => {
    const dir = join(tempDir(), s.name);
    mkdirSync(join(dir, 'generated'), { recursive: true });
    const dims = Object.fromEntries(s.dims.split(',').map((kv) => kv.split('=')).map(([k, v]) => [k!, Number(v)]));
    const source = await readSpecFile(join(ROOT, 'samples', s.name, `${s.name}.phi.ts`));
    const compiled = await compile(source, { mode: 'both', K: s.K, truncate: s.truncate, dims });
    for (const f of compiled.files) writeFileSync(join(dir, 'generated', f.name), f.contents);
    for (const f of ['main.mjs', 'data.json']) copyFileSync(join(ROOT, 'samples', s.name, f), join(dir, f));
    // a program may import phic's runtime helpers (phic/runtime), as an app that installed phic does
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'phic'), 'dir');
    // exits 1 (and execFileSync throws) when a check fails
    const out = execFileSync(process.execPath, [join(dir, 'main.mjs')], { encoding: 'utf8', timeout: 120_000 });
    expect(out).toMatch(/finite diff|difference/);
  });
});
