// `phic generate` and its config: targets with their options and folders, headers relative to
// the config (the same bytes from any folder), files that did not change left untouched (same
// inode), --check (exit 1 with the stale files listed, nothing written), and every config
// mistake as one `phic:` line with exit 2. The watch mode: generate-watch.test.ts.

import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineConfig } from '../src/index.js';
import { ROOT, STACK_TRACE, cli, removeTempDirs, tempDir } from './helpers/cli.js';

afterAll(() => removeTempDirs());

const RIDGE_TS = readFileSync(join(ROOT, 'samples', 'ridge', 'ridge.phi.ts'), 'utf8');
const LSQ_JSON = readFileSync(join(ROOT, 'samples', 'curse', 'lsq.phi.json'), 'utf8');
const json = (value: unknown) => JSON.stringify(value, null, 2) + '\n';

/** A project: specs/ridge.phi.ts, specs/lsq.phi.json, and the config given (JSON unless it is a string). */
function project(config: unknown, name = 'phic.config.json'): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'specs'));
  writeFileSync(join(dir, 'specs', 'ridge.phi.ts'), RIDGE_TS);
  writeFileSync(join(dir, 'specs', 'lsq.phi.json'), LSQ_JSON);
  writeFileSync(join(dir, name), typeof config === 'string' ? config : json(config));
  return dir;
}

const CONFIG = { $schema: './node_modules/phic/schema/config.schema.json', K: 20, out: 'generated', generate: [{ spec: 'specs/ridge.phi.ts', truncate: 5, dims: { m: 6, n: 4 } }, { spec: 'specs/lsq.phi.json', emit: 'ts', mode: 'reverse' }] };

/** Every file under `dir` with its bytes and inode. */
function snapshot(dir: string): Record<string, { text: string; ino: number }> {
  const out: Record<string, { text: string; ino: number }> = {};
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    const path = join(dir, name);
    if (statSync(path).isFile()) out[name] = { text: readFileSync(path, 'utf8'), ino: statSync(path).ino };
  }
  return out;
}

/** One `phic: ...` line on stderr, no stack, the exit code given. */
function failsWith(r: { status: number | null; stderr: string }, status: number, pattern: RegExp): void {
  expect(r.status, r.stderr).toBe(status);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('phic:'))).toHaveLength(1);
  expect(r.stderr).not.toMatch(STACK_TRACE);
}

describe('phic generate', () => {
  it('writes every target into its folder with the options merged, the header naming the spec from the config folder', async () => {
    const dir = project(CONFIG);
    const r = await cli(['generate'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(join(dir, 'generated')).sort()).toEqual(['lsq.ts', 'ridge.d.ts', 'ridge.js']);
    const ridge = readFileSync(join(dir, 'generated', 'ridge.js'), 'utf8');
    expect(ridge.split('\n')[1]).toBe('// source: specs/ridge.phi.ts (map ridge)');
    expect(ridge).toMatch(/^\/\/ options: mode=both K=20 truncate=5 dims=(n=4,m=6|m=6,n=4)$/m);
    const lsq = readFileSync(join(dir, 'generated', 'lsq.ts'), 'utf8');
    expect(lsq.split('\n')[1]).toBe('// source: specs/lsq.phi.json (map lsq)');
    expect(lsq).toMatch(/^\/\/ options: mode=reverse K=20 truncate=0 /m);
    expect(r.stderr).toContain('phic generate: 3 files from 2 spec files: 3 written, 0 unchanged');
  });

  it('the same bytes from another folder with --config (relative or absolute) and from a .ts config', async () => {
    const dir = project(CONFIG);
    expect((await cli(['generate'], { cwd: dir })).status).toBe(0);
    const here = snapshot(join(dir, 'generated'));
    const other = project(CONFIG);
    const r = await cli(['generate', '--config', join(other, 'phic.config.json')], { cwd: join(other, 'specs') });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`wrote ${join('..', 'generated', 'ridge.js')}`);
    const texts = (s: ReturnType<typeof snapshot>) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.text]));
    expect(texts(snapshot(join(other, 'generated')))).toEqual(texts(here));
    const ts = project(`import { defineConfig } from 'phic';\n\nexport default defineConfig(${JSON.stringify({ ...CONFIG, $schema: undefined })} as const);\n`, 'phic.config.ts');
    expect((await cli(['generate'], { cwd: ts })).status).toBe(0);
    expect(texts(snapshot(join(ts, 'generated')))).toEqual(texts(here));
  });

  it('a second run rewrites nothing (same inodes), and rewrites only what changed', async () => {
    const dir = project(CONFIG);
    await cli(['generate'], { cwd: dir });
    const first = snapshot(join(dir, 'generated'));
    const again = await cli(['generate'], { cwd: dir });
    expect(again.stderr).not.toContain('wrote');
    expect(again.stderr).toContain('0 written, 3 unchanged');
    expect(snapshot(join(dir, 'generated'))).toEqual(first);
    writeFileSync(join(dir, 'phic.config.json'), json({ ...CONFIG, generate: [CONFIG.generate[0], { ...CONFIG.generate[1], K: 30 }] }));
    const changed = await cli(['generate'], { cwd: dir });
    expect(changed.stderr).toContain(`wrote ${join('generated', 'lsq.ts')}`);
    const after = snapshot(join(dir, 'generated'));
    expect(after['ridge.js']).toEqual(first['ridge.js']);
    expect(after['lsq.ts']!.ino).not.toBe(first['lsq.ts']!.ino);
    expect(Object.keys(after).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('--check: exit 0 when up to date; exit 1 listing the missing and differing files, writing nothing', async () => {
    const dir = project(CONFIG);
    failsWith(await cli(['generate', '--check'], { cwd: dir }), 1, /phic: check failed: 3 of 3 generated files are stale/);
    expect(existsSync(join(dir, 'generated'))).toBe(false);
    await cli(['generate'], { cwd: dir });
    const ok = await cli(['generate', '--check'], { cwd: dir });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('all 3 generated files are up to date');
    writeFileSync(join(dir, 'generated', 'ridge.js'), 'edited by hand\n');
    const stale = await cli(['generate', '--check'], { cwd: dir });
    failsWith(stale, 1, /phic: check failed: 1 of 3 generated files are stale/);
    expect(stale.stderr).toContain(`stale ${join('generated', 'ridge.js')} (differs)`);
    expect(readFileSync(join(dir, 'generated', 'ridge.js'), 'utf8')).toBe('edited by hand\n');
  });

  it('a spec file with several maps: every map, or the ones maps names', async () => {
    const dir = project({ K: 5, generate: [{ spec: 'two.json', out: 'all' }, { spec: 'two.json', maps: ['b'], out: 'one' }] });
    const map = (name: string) => ({ ...(JSON.parse(LSQ_JSON) as object), name });
    writeFileSync(join(dir, 'two.json'), json({ $schema: './node_modules/phic/schema/spec.schema.json', maps: [map('a'), map('b')] }));
    const r = await cli(['generate'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(join(dir, 'all')).sort()).toEqual(['a.d.ts', 'a.js', 'b.d.ts', 'b.js']);
    expect(readdirSync(join(dir, 'one')).sort()).toEqual(['b.d.ts', 'b.js']);
  });

  it('a bad spec is a spec error (exit 1) and nothing is written, not even the good targets', async () => {
    const dir = project(CONFIG);
    writeFileSync(join(dir, 'specs', 'lsq.phi.json'), LSQ_JSON.replace('"state"', '"stat"'));
    failsWith(await cli(['generate'], { cwd: dir }), 1, /^phic: specs\/lsq\.phi\.json:\d+:\d+: spec error/m);
    expect(existsSync(join(dir, 'generated'))).toBe(false);
  });

  it('defineConfig is the identity, with types', () => {
    const config = { K: 3, generate: [{ spec: 'a.json' }] } as const;
    expect(defineConfig(config)).toBe(config);
  });
});

describe('config mistakes: one line naming the file and field, exit 2', () => {
  const cases: [string, unknown, RegExp][] = [
    ['an unknown field', { ...CONFIG, outDir: 'x' }, /^phic: phic\.config\.json:\d+:\d+: config error in outDir: unknown field 'outDir'/],
    ['no K anywhere', { generate: [{ spec: 'specs/lsq.phi.json' }] }, /config error in generate\.0: K is missing/],
    ['a bad mode', { K: 5, generate: [{ spec: 'specs/lsq.phi.json', mode: 'sideways' }] }, /config error in generate\.0\.mode: mode must be one of forward, reverse, both/],
    ['truncate above K', { K: 5, truncate: 9, generate: [{ spec: 'specs/lsq.phi.json' }] }, /config error in truncate: truncate 9 is larger than K = 5/],
    ['a map the spec does not define', { K: 5, generate: [{ spec: 'specs/lsq.phi.json', maps: ['nope'] }] }, /config error in generate\.0\.maps: no map named 'nope' in specs\/lsq\.phi\.json \(it defines lsq\)/],
    ['two targets writing one file', { K: 5, generate: [{ spec: 'specs/lsq.phi.json' }, { spec: 'specs/lsq.phi.json', K: 6 }] }, /config error in generate\.1: generate\.1 and generate\.0 would both write lsq\.js/],
    ['a $schema that is not a string', { $schema: 3, K: 5, generate: [{ spec: 'specs/lsq.phi.json' }] }, /config error in \$schema: \$schema must be a string/],
    ['JSON syntax', '{ "K": 5, }', /^phic: phic\.config\.json:1:\d+: config error: malformed JSON/],
  ];
  it.each(cases)('%s', async (_what, config, pattern) => {
    const dir = project(config);
    failsWith(await cli(['generate'], { cwd: dir }), 2, pattern);
  });

  it('a target that would overwrite its own spec', async () => {
    const dir = project({ K: 5, emit: 'ts', generate: [{ spec: 'specs/ridge.ts', out: 'specs' }] });
    writeFileSync(join(dir, 'specs', 'ridge.ts'), RIDGE_TS);
    failsWith(await cli(['generate'], { cwd: dir }), 2, /config error in generate\.0: generate\.0 would overwrite its input specs\/ridge\.ts/);
    expect(readFileSync(join(dir, 'specs', 'ridge.ts'), 'utf8')).toBe(RIDGE_TS);
  });

  it('a .ts config that would need running code', async () => {
    const dir = project("import { defineConfig } from 'phic';\nexport default defineConfig({ K: 5, generate: [{ spec: 'specs/' + 'lsq.phi.json' }] });\n", 'phic.config.ts');
    failsWith(await cli(['generate'], { cwd: dir }), 2, /^phic: phic\.config\.ts:2:\d+: config error in generate\.0\.spec: only literal values are allowed/);
  });

  it('no config, two configs, a missing --config, and --config of another kind are usage errors', async () => {
    failsWith(await cli(['generate'], { cwd: tempDir() }), 2, /phic: usage error: no config file here \(phic\.config\.ts, phic\.config\.mts, phic\.config\.json\)/);
    const two = project(CONFIG);
    writeFileSync(join(two, 'phic.config.ts'), 'export default {};\n');
    failsWith(await cli(['generate'], { cwd: two }), 2, /two config files here \(phic\.config\.ts and phic\.config\.json\)/);
    failsWith(await cli(['generate', '--config', 'nope.json'], { cwd: two }), 2, /cannot read the config file nope\.json: no such file/);
    failsWith(await cli(['generate', '--config', 'phic.config.yaml'], { cwd: two }), 2, /a config file is \.ts, \.mts or \.json/);
    failsWith(await cli(['generate', '--check', '--watch'], { cwd: two }), 2, /--check and --watch cannot be given together/);
  });
});
