// Bad input that used to escape (issue 10, part 2), run in-process through runCli: each case
// must exit 2 (usage) or 1 (spec or data) with one `phic: ...` line, no stack trace, and
// leave no file, folder or temporary behind. Also: `phic run` without outer data, the
// generated header from two folders, and exit codes. Cases that could hang run in a child.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PhicError } from '../compiler/errors.js';
import { reportError } from '../src/cli.js';
import { tempName } from '../src/io.js';
import { ROOT, STACK_TRACE, cli, listDir, removeTempDirs, requireBuiltCli, runCli, tempDir, type CliResult } from './helpers/cli.js';

const RIDGE = join(ROOT, 'samples', 'ridge', 'ridge.phi.ts');
const RIDGE_DATA = join(ROOT, 'samples', 'ridge', 'data.json');
const json = (value: unknown) => JSON.stringify(value, null, 2);
const RUN = (...extra: string[]) => ['run', RIDGE, '--data', RIDGE_DATA, '--mode', 'forward', '--jacobian', '-K', '5', ...extra];

// Most cases run in-process; the few child-process ones need dist/: fail early and clearly.
beforeAll(() => requireBuiltCli());
afterAll(() => removeTempDirs());

function scratch(files: Record<string, string> = {}): string {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** The checks every refused input gets: exit code, one phic line that says `expected`, nothing on stdout. */
function refused(r: CliResult, exit: 1 | 2, ...expected: (string | RegExp)[]): string {
  expect(r.status, r.stderr).toBe(exit);
  expect(r.stderr).not.toMatch(STACK_TRACE);
  expect(r.stderr).not.toContain('internal error');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(exit === 2 ? /^phic: usage error: / : /^phic: (.*: )?(spec|data) error/);
  for (const e of expected) {
    if (typeof e === 'string') expect(lines[0]).toContain(e);
    else expect(lines[0]).toMatch(e);
  }
  expect(r.stdout).toBe('');
  return lines[0]!;
}

/** No temporary of the writer (`.<name>.<pid>.tmp`) anywhere in `dir`. */
const noTemporaries = (dir: string) => expect(listDir(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

/** 1-based `line:col` of the only occurrence of `marker` in `text`. */
function position(text: string, marker: string): string {
  const at = text.indexOf(marker);
  if (at < 0 || text.indexOf(marker, at + 1) >= 0) throw new Error(`marker ${JSON.stringify(marker)} must occur exactly once`);
  const before = text.slice(0, at).split('\n');
  return `${before.length}:${before[before.length - 1]!.length + 1}`;
}

describe('-o that cannot be used', () => {
  it('compile -o naming an existing file: usage error, the file untouched', async () => {
    const dir = scratch({ 'taken.txt': 'keep' });
    refused(await cli(['compile', RIDGE, '-K', '5', '-o', 'taken.txt'], { cwd: dir }), 2, 'cannot write to taken.txt: it is a file, not a folder');
    expect(readFileSync(join(dir, 'taken.txt'), 'utf8')).toBe('keep');
    expect(listDir(dir)).toEqual(['taken.txt']);
  });

  it('compile -o under a file: usage error naming the file', async () => {
    const dir = scratch({ 'taken.txt': 'keep' });
    refused(await cli(['compile', RIDGE, '-K', '5', '-o', join('taken.txt', 'sub', 'deeper')], { cwd: dir }), 2, `cannot write to ${join('taken.txt', 'sub', 'deeper')}: taken.txt is a file, not a folder`);
    expect(listDir(dir)).toEqual(['taken.txt']);
  });

  it('compile -o where a generated file would replace a folder: nothing is written', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'out', 'ridge.js'), { recursive: true });
    refused(await cli(['compile', RIDGE, '-K', '5', '-o', 'out'], { cwd: dir }), 2, `cannot write ${join('out', 'ridge.js')}: it is a folder`);
    expect(listDir(join(dir, 'out'))).toEqual(['ridge.js']);
    expect(listDir(join(dir, 'out', 'ridge.js'))).toEqual([]);
  });

  it('run -o naming a folder: usage error before anything runs, the folder untouched', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'results'));
    refused(await cli(RUN('-o', 'results'), { cwd: dir }), 2, 'cannot write to results: it is a folder (-o names the output file)');
    expect(listDir(dir)).toEqual(['results']);
    expect(listDir(join(dir, 'results'))).toEqual([]);
  });

  it('run -o under a file: usage error naming the file', async () => {
    const dir = scratch({ 'taken.txt': 'keep' });
    refused(await cli(RUN('-o', join('taken.txt', 'r.json')), { cwd: dir }), 2, `cannot write to ${join('taken.txt', 'r.json')}: taken.txt is a file, not a folder`);
    expect(listDir(dir)).toEqual(['taken.txt']);
  });

  it('run -o into folders that do not exist yet makes them', async () => {
    const dir = scratch();
    const r = await cli(RUN('-o', join('a', 'b', 'r.json')), { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'a', 'b', 'r.json'), 'utf8'))).toHaveProperty('jacobian');
    noTemporaries(join(dir, 'a', 'b'));
  });

  it.runIf(process.platform === 'linux')('-o /proc/x (a path that cannot be written) is a usage error and does not hang', async () => {
    // The case that used to hang (a recursive mkdir that never returns) runs in a child
    // process with a timeout: a synchronous hang in this process would stop the test's own timer.
    const child = runCli(['compile', RIDGE, '-K', '5', '-o', '/proc/x'], { timeout: 30_000 });
    const cases = [child, await cli(['compile', RIDGE, '-K', '5', '-o', '/proc/x/y']), await cli(RUN('-o', '/proc/x'))];
    for (const r of cases) {
      const line = refused(r, 2, /cannot (write to|create the output folder) \/proc\/x/);
      expect(line).not.toMatch(/E[A-Z]{3,}:/); // in words, not an errno code
    }
    expect(existsSync('/proc/x')).toBe(false);
  }, 60_000);
});

describe('numbers too large to be exact, and dims given twice', () => {
  const TOO_BIG = '9007199254740993'; // 2^53 + 1
  it.each([
    ['-K', ['compile', RIDGE, '-K', TOO_BIG]],
    ['-K in run', RUN('-K', TOO_BIG)],
    ['--truncate', ['compile', RIDGE, '-K', '5', '--truncate', TOO_BIG]],
    ['a dim in --dims', ['compile', RIDGE, '-K', '5', '--dims', `m=${TOO_BIG},n=4`]],
    ['-K of a lab command', ['curse', RIDGE, '--data', RIDGE_DATA, '-K', TOO_BIG]],
  ])('%s above 2^53 is a usage error', async (_, args) => {
    const dir = scratch();
    refused(await cli([...args, '-o', join(dir, 'out')]), 2, 'is too large', '2^53 − 1 = 9007199254740991');
    expect(listDir(dir)).toEqual([]);
  });

  it('the same dim twice in --dims is a usage error', async () => {
    const dir = scratch();
    refused(await cli(['compile', RIDGE, '-K', '5', '--dims', 'm=2,n=4,m=3', '-o', join(dir, 'out')]), 2, '--dims gives m twice (m=2 and m=3)');
    expect(listDir(dir)).toEqual([]);
  });
});

describe('duplicate and odd keys in JSON files', () => {
  const SPEC = '{\n  "name": "dup",\n  "state": { "x": "n" },\n  "params": { "theta": "n" },\n  "update": { "x": "x + theta", "x": "theta" }\n}\n';

  it('a duplicate key in a JSON spec is a spec error naming the key and both positions', async () => {
    const dir = scratch({ 'spec.json': SPEC });
    const line = refused(await cli(['compile', 'spec.json', '-K', '5', '-o', 'out'], { cwd: dir }), 1, "duplicate key 'x'", 'in update', 'first given at line 5, column 15');
    expect(line).toContain(`spec.json:${position(SPEC, '"x": "theta"')}: spec error`);
    expect(listDir(dir)).toEqual(['spec.json']);
  });

  it('a duplicate top-level key, and one inside a multi-map file, are refused too', async () => {
    const top = '{\n  "name": "a",\n  "name": "b"\n}\n';
    const multi = '{ "maps": [\n  { "name": "one", "state": { "x": "n" }, "state": { "y": "n" } }\n] }\n';
    const dir = scratch({ 'top.json': top, 'multi.json': multi });
    refused(await cli(['compile', 'top.json', '-K', '5', '-o', 'out'], { cwd: dir }), 1, `top.json:3:3: spec error: duplicate key 'name'`);
    refused(await cli(['compile', 'multi.json', '-K', '5', '-o', 'out'], { cwd: dir }), 1, "duplicate key 'state'", 'in maps.0');
  });

  const data = (key: string) => `{\n  "theta": [0.5, 0.2, 1, 0.3],\n  "A": [[1, 0, 0, 0]],\n  "b": [1],\n  "${key}": [1]\n}\n`;
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('%s in a data file is a data error naming the key', async (key) => {
    const dir = scratch({ 'data.json': data(key) });
    const line = refused(await cli(['run', RIDGE, '--data', 'data.json', '--mode', 'reverse', '--jacobian', '-K', '5', '-o', 'r.json'], { cwd: dir }), 1, `key '${key}' in the data file is not allowed`);
    expect(line).toContain(`data.json:5:3: data error`);
    expect(listDir(dir)).toEqual(['data.json']);
  });

  it('__proto__ inside x0, a direction or a cotangent file is refused the same way', async () => {
    const dir = scratch({
      'data.json': json({ theta: [0.5, 0.2, 1, 0.3], A: [[1, 0, 0, 0]], b: [1] }).replace('"b": [\n    1\n  ]', '"b": [1],\n  "x0": { "__proto__": { "x": [1, 2, 3, 4] } }'),
      'direction.json': '{ "__proto__": [1, 0, 0, 0] }',
      'cotangent.json': '{ "x": [1, 0, 0, 0], "constructor": 1 }',
    });
    refused(await cli(['run', RIDGE, '--data', 'data.json', '--mode', 'reverse', '--jacobian', '-K', '5'], { cwd: dir }), 1, "key '__proto__' in the data file");
    refused(await cli(['run', RIDGE, '--data', RIDGE_DATA, '--mode', 'forward', '--direction', 'direction.json', '-K', '5'], { cwd: dir }), 1, "direction.json:1:3: data error: key '__proto__' in the direction file");
    refused(await cli(['run', RIDGE, '--data', RIDGE_DATA, '--mode', 'reverse', '--cotangent', 'cotangent.json', '-K', '5'], { cwd: dir }), 1, "key 'constructor' in the cotangent file");
  });

  it('a key given twice in a data file is a data error', async () => {
    const text = '{\n  "theta": [0.5, 0.2, 1, 0.3],\n  "theta": [1, 1, 1, 1],\n  "A": [[1, 0, 0, 0]],\n  "b": [1]\n}\n';
    const dir = scratch({ 'data.json': text });
    refused(await cli(['run', RIDGE, '--data', 'data.json', '--mode', 'reverse', '--jacobian', '-K', '5'], { cwd: dir }), 1, "data.json:3:3: data error: key 'theta' appears twice in the data file (first at line 2, column 3)");
  });
});

describe('data-file JSON errors in words', () => {
  it.each([
    ['a missing comma between entries', '{\n  "theta": [0.5, 0.2, 1, 0.3]\n  "A": [[1, 0, 0, 0]]\n}\n', '3:3', 'expected a comma or closing brace'],
    ['a missing comma in an array', '{\n  "theta": [0.5 0.2, 1, 0.3]\n}\n', '2:17', 'expected a comma or closing bracket'],
    ['a trailing comma', '{\n  "theta": [0.5, 0.2, 1, 0.3],\n}\n', '3:1', 'a comma before the closing brace (trailing commas are not allowed in JSON)'],
    ['an unquoted key', '{ theta: [1] }', '1:3', 'expected a property name in double quotes'],
    ['a comment', '{ "theta": [1] } // note\n', '1:18', 'comments are not allowed in JSON'],
    ['an unterminated string', '{ "theta: [1] }', '1:3', 'unterminated string'],
    ['an empty file', '', '1:1', 'the file is empty: expected a JSON value'],
  ])('%s', async (_, text, at, words) => {
    const dir = scratch({ 'data.json': text });
    const line = refused(await cli(['run', RIDGE, '--data', 'data.json', '--mode', 'forward', '--jacobian', '-K', '5'], { cwd: dir }), 1);
    expect(line).toBe(`phic: data.json:${at}: data error: malformed JSON in data file: ${words}`);
  });
});

describe('options that do not go together, and choosing a map', () => {
  it.each([
    ['--direction', ['--mode', 'forward', '--direction', RIDGE_DATA]],
    ['--cotangent', ['--mode', 'reverse', '--cotangent', RIDGE_DATA]],
  ])('--jacobian with %s is a usage error', async (option, extra) => {
    const dir = scratch();
    refused(await cli(['run', RIDGE, '--data', RIDGE_DATA, '-K', '5', '--jacobian', ...extra, '-o', join(dir, 'r.json')]), 2, `--jacobian and ${option} cannot be given together`);
    expect(listDir(dir)).toEqual([]);
  });

  const MAPS = json({
    maps: [
      { name: 'first', state: { x: 'n' }, params: { theta: 'n' }, update: { x: '0.5 * x + theta' } },
      { name: 'second', state: { x: 'n' }, params: { theta: 'n' }, update: { x: '0.25 * x + theta' } },
    ],
  });
  const TS_MAPS = "import { defineMap } from 'phic';\n\nexport const a = defineMap({ name: 'first', state: { x: 'n' }, params: { theta: 'n' }, update: { x: '0.5 * x + theta' } });\nexport const b = defineMap({ name: 'second', state: { x: 'n' }, params: { theta: 'n' }, update: { x: '0.25 * x + theta' } });\n";

  it.each([['maps.json'], ['maps.phi.ts']])('%s: several maps and no --map, or an unknown --map, name --map and list the maps', async (spec) => {
    const dir = scratch({ 'maps.json': MAPS, 'maps.phi.ts': TS_MAPS, 'data.json': json({ theta: [1, 2] }) });
    refused(await cli(['compile', spec, '-K', '5', '-o', 'out'], { cwd: dir }), 2, 'several maps (first, second)', 'choose one with --map <name>');
    refused(await cli(['compile', spec, '-K', '5', '--map', 'third', '-o', 'out'], { cwd: dir }), 2, "no map named 'third'", 'first, second', '--map');
    refused(await cli(['run', spec, '--data', 'data.json', '--mode', 'forward', '--jacobian', '-K', '5'], { cwd: dir }), 2, '--map', 'first, second');
    expect(listDir(dir)).toEqual(['data.json', 'maps.json', 'maps.phi.ts']);
    const ok = await cli(['run', spec, '--map', 'second', '--data', 'data.json', '--mode', 'forward', '--jacobian', '-K', '5'], { cwd: dir });
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).meta.map).toBe('second');
  });
});

describe('phic run on a spec with an outer objective', () => {
  const SPEC = json({
    name: 'bl', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' },
    update: { x: "x - 0.1 * (A' * (A * x - b) + theta .* x)" },
    outer: { objective: '0.5 * sum((Av * x - bv).^2)', data: { Av: 'k,n', bv: 'k' } },
  });
  const INNER = { theta: [0.1, 0.2], A: [[1, 0], [0, 1], [1, 1]], b: [1, 2, 3] };

  it('does not need the outer data, and gives the same result as with them', async () => {
    const dir = scratch({ 'spec.json': SPEC, 'inner.json': json(INNER), 'both.json': json({ ...INNER, Av: [[1, 2]], bv: [3] }), 'cot.json': json({ x: [1, -1] }) });
    for (const args of [['--mode', 'reverse', '--jacobian'], ['--mode', 'forward', '--jacobian'], ['--mode', 'reverse', '--cotangent', 'cot.json']]) {
      const without = await cli(['run', 'spec.json', '--data', 'inner.json', '-K', '5', ...args], { cwd: dir });
      expect(without.status, without.stderr).toBe(0);
      const withOuter = await cli(['run', 'spec.json', '--data', 'both.json', '-K', '5', ...args], { cwd: dir });
      expect(withOuter.status, withOuter.stderr).toBe(0);
      const a = JSON.parse(without.stdout);
      const b = JSON.parse(withOuter.stdout);
      expect(a.meta.dims).toEqual({ n: 2, m: 3 });
      expect(b.meta.dims).toEqual({ n: 2, m: 3, k: 1 });
      expect(a.state).toEqual(b.state);
      expect(a.jacobian ?? a.gradient).toEqual(b.jacobian ?? b.gradient);
    }
  });
});

describe('the generated header does not depend on the working folder', () => {
  it('the same spec compiled from three folders (and by the bin from a fourth) gives the same bytes', async () => {
    const one = scratch();
    const two = scratch();
    mkdirSync(join(two, 'deeper'));
    const args = ['-K', '12', '--dims', 'm=8,n=4'];
    // By absolute path from two temp folders (relative -o), and by relative paths from the repository and from test/.
    const runs = [
      await cli(['compile', RIDGE, ...args, '-o', 'out'], { cwd: one }),
      await cli(['compile', RIDGE, ...args, '-o', join('..', 'elsewhere')], { cwd: join(two, 'deeper') }),
      await cli(['compile', join('samples', 'ridge', 'ridge.phi.ts'), ...args, '-o', join(two, 'third')], { cwd: ROOT }),
      runCli(['compile', join('..', 'samples', 'ridge', 'ridge.phi.ts'), ...args, '-o', join(two, 'child')], { cwd: join(ROOT, 'test') }),
    ];
    for (const r of runs) expect(r.status, r.stderr).toBe(0);
    for (const file of ['ridge.js', 'ridge.d.ts']) {
      const a = readFileSync(join(one, 'out', file));
      for (const out of ['elsewhere', 'third', 'child']) expect(readFileSync(join(two, out, file)).equals(a), `${out}/${file}`).toBe(true);
      // The path inside the project (the folder with package.json), as in test/golden/.
      expect(a.toString('utf8').split('\n')[1]).toBe('// source: samples/ridge/ridge.phi.ts (map ridge)');
    }
  });

  it('inside another project the path is taken from its package.json folder; outside any project it is the file name', async () => {
    const spec = json({ name: 'tiny', state: { x: 'n' }, params: { theta: 'n' }, update: { x: '0.5 * x + theta' } });
    const project = scratch({ 'package.json': '{}' });
    mkdirSync(join(project, 'specs'));
    writeFileSync(join(project, 'specs', 'tiny.json'), spec);
    const a = await cli(['compile', join('specs', 'tiny.json'), '-K', '3', '-o', 'a'], { cwd: project });
    const b = await cli(['compile', 'tiny.json', '-K', '3', '-o', join('..', 'b')], { cwd: join(project, 'specs') });
    for (const r of [a, b]) expect(r.status, r.stderr).toBe(0);
    const header = (dir: string) => readFileSync(join(project, dir, 'tiny.js'), 'utf8').split('\n')[1];
    expect(header('a')).toBe('// source: specs/tiny.json (map tiny)');
    expect(readFileSync(join(project, 'b', 'tiny.js')).equals(readFileSync(join(project, 'a', 'tiny.js')))).toBe(true);
    const loose = scratch({ 'tiny.json': spec });
    const c = await cli(['compile', join(loose, 'tiny.json'), '-K', '3', '-o', join(loose, 'c')]);
    expect(c.status, c.stderr).toBe(0);
    const hasProjectAbove = loose.split(/[\\/]/).some((_, i, parts) => i > 0 && existsSync(join('/', ...parts.slice(0, i), 'package.json')));
    if (!hasProjectAbove) expect(readFileSync(join(loose, 'c', 'tiny.js'), 'utf8').split('\n')[1]).toBe('// source: tiny.json (map tiny)');
  });
});

describe('phic run refuses sizes that cannot be allocated, before allocating', () => {
  const SMALL = json({ name: 'small', state: { x: 'n' }, params: { theta: 'n' }, update: { x: '0.5 * x + theta' } });
  const TWO = json({ name: 'two', state: { x: 'n', y: 'n' }, params: { theta: 'n' }, update: { x: '0.5 * x + theta', y: '0.5 * y + x' } });
  it.each([
    ['-K 1000000000 in reverse mode (a 16 GB tape for n = 2)', SMALL, ['-K', '1000000000'], /the reverse-mode tape of x \(K − t = 1000000000 steps × 2 state entries\) alone needs 14\.9 GiB, more than one buffer can hold \(4 GiB\)/],
    ['-K 2^53 − 1', SMALL, ['-K', '9007199254740991'], /K − t = 9007199254740991 steps/],
    ['two tapes that each fit but not together', TWO, ['-K', '200000010', '--truncate', '10'], /it needs at least 6 GiB \(the reverse-mode tape of (x|y) \(K − t = 200000000 steps × 2 state entries\) alone needs 3 GiB\), more than the 4 GiB of the WebAssembly memory/],
  ])('%s', async (_, spec, extra, message) => {
    const dir = scratch({ 'spec.json': spec, 'data.json': json({ theta: [1, 2] }) });
    const line = refused(await cli(['run', 'spec.json', '--data', 'data.json', '--mode', 'reverse', '--jacobian', ...extra, '-o', 'r.json'], { cwd: dir }), 1, 'data error: this run cannot be allocated', message, 'use a smaller K, a larger --truncate, or forward mode');
    expect(line.length).toBeLessThan(400);
    expect(listDir(dir)).toEqual(['data.json', 'spec.json']);
    noTemporaries(dir);
  });

  it('the same sizes in forward mode (no tape) are not refused by the estimate', async () => {
    const dir = scratch({ 'spec.json': SMALL, 'data.json': json({ theta: [1, 2] }) });
    const r = await cli(['run', 'spec.json', '--data', 'data.json', '--mode', 'forward', '--jacobian', '-K', '20', '--truncate', '10'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('runCli and exit codes', () => {
  it('never reads or changes process.cwd() when given a folder, and never calls process.exit', async () => {
    const cwd = vi.spyOn(process, 'cwd');
    const exit = vi.spyOn(process, 'exit').mockImplementation((() => {
      throw new Error('process.exit called');
    }) as never);
    try {
      const dir = scratch({ 'data.json': json({ theta: [1, 2] }), 'spec.json': json({ name: 's', state: { x: 'n' }, params: { theta: 'n' }, update: { x: '0.5 * x + theta' } }) });
      expect((await cli(['run', 'spec.json', '--data', 'data.json', '--mode', 'forward', '--jacobian', '-K', '3', '-o', 'r.json'], { cwd: dir })).status).toBe(0);
      expect(existsSync(join(dir, 'r.json'))).toBe(true);
      expect((await cli(['compile', 'spec.json', '-K', '3'], { cwd: dir })).status).toBe(0);
      expect(listDir(dir)).toEqual(['data.json', 'r.json', 's.d.ts', 's.js', 'spec.json']);
      expect((await cli(['--help'], { cwd: dir })).status).toBe(0);
      expect((await cli(['frobnicate'], { cwd: dir })).status).toBe(2);
      expect(cwd).not.toHaveBeenCalled();
      expect(exit).not.toHaveBeenCalled();
    } finally {
      cwd.mockRestore();
      exit.mockRestore();
    }
  });

  it('2 for usage, 1 for spec, data and numeric errors (also from generated code), 3 for bugs', () => {
    const code = (e: unknown) => {
      let text = '';
      const status = reportError(e, { stderr: (t) => void (text += t) });
      return [status, text] as const;
    };
    const generated = (category: string) => Object.assign(new Error('m'), { name: 'PhicError', category });
    expect(code(new PhicError('usage', 'u'))).toEqual([2, 'phic: usage error: u\n']);
    expect(code(new PhicError('spec', 's'))[0]).toBe(1);
    expect(code(new PhicError('data', 'd'))[0]).toBe(1);
    expect(code(new PhicError('numeric', 'n'))[0]).toBe(1);
    expect(code(generated('data'))).toEqual([1, 'phic: data error: m\n']);
    expect(code(generated('numeric'))[0]).toBe(1);
    expect(code(generated('usage'))).toEqual([2, 'phic: usage error: m\n']);
    const [oom, oomText] = code(new RangeError('Array buffer allocation failed'));
    expect(oom).toBe(1);
    expect(oomText).toMatch(/^phic: data error: cannot allocate/);
    const [bug, bugText] = code(new TypeError('x is undefined'));
    expect(bug).toBe(3);
    expect(bugText).toMatch(/^phic: internal error \(please report\): TypeError: x is undefined/);
  });

  it('the writer stages files as .<name>.<pid>.tmp (the pattern the tests above look for)', () => {
    expect(tempName('ridge.js')).toBe(`.ridge.js.${process.pid}.tmp`);
  });
});
