// Tests for the spec readers: JSON and static TypeScript reading, field positions, string
// offsets, multi-map selection and the errors for malformed or non-literal specs.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { PhicError } from '../compiler/errors.js';
import { readJsonSpec, selectMap } from '../compiler/spec/read-json.js';
import { readSpecFile } from '../compiler/spec/read-file.js';
import { readTsSpec } from '../compiler/spec/read-ts.js';

/** The PhicError `fn` throws (fails the test when it throws nothing or something else). */
function thrown(fn: () => unknown): PhicError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PhicError);
    return err as PhicError;
  }
  throw new Error('expected a PhicError');
}

async function thrownAsync(fn: () => Promise<unknown>): Promise<PhicError> {
  try {
    await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PhicError);
    return err as PhicError;
  }
  throw new Error('expected a PhicError');
}

const JSON_SPEC = `{
  "name": "huber",
  "state": { "x": "n" },
  "functions": {
    "h": { "args": ["r", "s"], "body": "sqrt(1 + r^2) - 1" }
  },
  "update": {
    "x": "x - 0.1 * A' * (A * x - b)",
    "y": "a\\tb + c"
  }
}`;

describe('readJsonSpec', () => {
  const src = readJsonSpec(JSON_SPEC, 'spec.json');

  it('parses the plain value', () => {
    expect(src.value).toEqual({
      name: 'huber',
      state: { x: 'n' },
      functions: { h: { args: ['r', 's'], body: 'sqrt(1 + r^2) - 1' } },
      update: { x: "x - 0.1 * A' * (A * x - b)", y: 'a\tb + c' },
    });
    expect(src.file).toBe('spec.json');
  });

  it('locates nested fields and array elements at their first character', () => {
    expect(src.locate('')).toEqual({ file: 'spec.json', line: 1, column: 1 });
    expect(src.locate('state.x')).toEqual({ file: 'spec.json', line: 3, column: 19 });
    expect(src.locate('functions.h')).toEqual({ file: 'spec.json', line: 5, column: 10 });
    expect(src.locate('functions.h.args.1')).toEqual({ file: 'spec.json', line: 5, column: 26 });
    expect(src.locate('update.x')).toEqual({ file: 'spec.json', line: 8, column: 10 });
  });

  it('returns undefined for paths that do not exist', () => {
    expect(src.locate('update.z')).toBeUndefined();
    expect(src.locate('functions.h.args.2')).toBeUndefined();
    expect(src.locate('name.length')).toBeUndefined();
    expect(src.locate('functions.h.args.x')).toBeUndefined();
  });

  it('locates offsets inside strings without escapes', () => {
    // "x - 0.1 * A' ..." opens at column 10; offset 4 is the '0' at column 10 + 1 + 4.
    expect(src.locateInString!('update.x', 4)).toEqual({ file: 'spec.json', line: 8, column: 15 });
    expect(src.locateInString!('functions.h.body', 0)).toEqual({ file: 'spec.json', line: 5, column: 41 });
  });

  it('refuses string offsets when the raw text has escapes or the field is not a string', () => {
    expect(src.locateInString!('update.y', 4)).toBeUndefined();
    expect(src.locateInString!('state', 0)).toBeUndefined();
    expect(src.locateInString!('update.x', 999)).toBeUndefined();
  });

  it('reports malformed JSON as a spec error at the right line and column', () => {
    const err = thrown(() => readJsonSpec('{\n  "a": 1\n  "b": 2\n}', 'bad.json'));
    expect(err.category).toBe('spec');
    expect(err.message).toBe('malformed JSON: comma expected');
    expect(err.context.location).toEqual({ file: 'bad.json', line: 3, column: 3 });
  });

  it('rejects trailing commas and comments', () => {
    const trailing = thrown(() => readJsonSpec('{ "a": 1, }', 'bad.json'));
    expect(trailing.message).toBe('malformed JSON: property name expected');
    expect(trailing.context.location).toMatchObject({ line: 1, column: 11 });
    const comment = thrown(() => readJsonSpec('{\n // no\n "a": 1 }', 'bad.json'));
    expect(comment.message).toBe('malformed JSON: invalid comment token');
    expect(comment.context.location).toMatchObject({ line: 2, column: 2 });
  });

  it('counts CRLF line endings as one line break', () => {
    const crlf = readJsonSpec('{\r\n  "a": 1,\r\n  "b": "xy"\r\n}', 'crlf.json');
    expect(crlf.locate('b')).toEqual({ file: 'crlf.json', line: 3, column: 8 });
    expect(crlf.locateInString!('b', 1)).toEqual({ file: 'crlf.json', line: 3, column: 10 });
  });
});

const MULTI = `{
  "maps": [
    { "name": "first", "update": { "x": "x + 1" } },
    { "name": "second", "update": { "x": "2 * x" } }
  ]
}`;

describe('selectMap', () => {
  const multi = readJsonSpec(MULTI, 'multi.json');

  it('selects a map by name and translates positions into the whole file', () => {
    const second = selectMap(multi, 'second');
    expect(second.value).toEqual({ name: 'second', update: { x: '2 * x' } });
    expect(second.file).toBe('multi.json');
    expect(second.locate('')).toEqual({ file: 'multi.json', line: 4, column: 5 });
    expect(second.locate('update.x')).toEqual({ file: 'multi.json', line: 4, column: 42 });
    expect(second.locateInString!('update.x', 4)).toEqual({ file: 'multi.json', line: 4, column: 47 });
  });

  it('takes the only map when no name is given', () => {
    const one = readJsonSpec('{ "maps": [ { "name": "solo" } ] }', 'one.json');
    expect(selectMap(one).value).toEqual({ name: 'solo' });
    expect(selectMap(one).locate('name')).toMatchObject({ line: 1, column: 23 });
  });

  it('asks for a name when several maps exist', () => {
    const err = thrown(() => selectMap(multi));
    expect(err.category).toBe('usage');
    expect(err.message).toContain('first, second');
  });

  it('rejects an unknown name, listing the known ones', () => {
    const err = thrown(() => selectMap(multi, 'third'));
    expect(err.category).toBe('usage');
    expect(err.message).toContain("'third'");
    expect(err.message).toContain('first, second');
  });

  it('returns a single spec unchanged, but checks a given name against it', () => {
    const single = readJsonSpec('{ "name": "huber" }', 's.json');
    expect(selectMap(single)).toBe(single);
    expect(selectMap(single, 'huber')).toBe(single);
    const err = thrown(() => selectMap(single, 'other'));
    expect(err.category).toBe('usage');
    expect(err.message).toContain('huber');
  });

  it('rejects an empty or non-array maps field as a spec error', () => {
    const err = thrown(() => selectMap(readJsonSpec('{\n  "maps": []\n}', 'e.json')));
    expect(err.category).toBe('spec');
    expect(err.context.location).toMatchObject({ line: 2, column: 11 });
    expect(thrown(() => selectMap(readJsonSpec('{ "maps": {} }', 'e.json'))).category).toBe('spec');
  });
});

const TS_SPEC = `import { defineMap } from 'phic';

export default defineMap({
  name: 'ridge',
  state: { x: 'n' },
  'params': { lambda: '' },
  constants: { eps: -1e-3, one: +1, hex: 0x10 },
  functions: { h: { args: ['r'], body: \`sqrt(1 + r^2)\` } },
  update: {
    x: 'x - eps * (A * x - b)',
    y: "a\\tb",
  },
  flags: [true, false, null],
} as const);
`;

describe('readTsSpec', () => {
  const src = readTsSpec(TS_SPEC, 'ridge.phi.ts');

  it('converts a default-exported defineMap literal (with as const) to a plain value', () => {
    expect(src.value).toEqual({
      name: 'ridge',
      state: { x: 'n' },
      params: { lambda: '' },
      constants: { eps: -0.001, one: 1, hex: 16 },
      functions: { h: { args: ['r'], body: 'sqrt(1 + r^2)' } },
      update: { x: 'x - eps * (A * x - b)', y: 'a\tb' },
      flags: [true, false, null],
    });
    expect(src.file).toBe('ridge.phi.ts');
  });

  it('locates values by dotted path', () => {
    expect(src.locate('')).toEqual({ file: 'ridge.phi.ts', line: 3, column: 26 });
    expect(src.locate('state.x')).toEqual({ file: 'ridge.phi.ts', line: 5, column: 15 });
    expect(src.locate('constants.eps')).toEqual({ file: 'ridge.phi.ts', line: 7, column: 21 });
    expect(src.locate('functions.h.args.0')).toEqual({ file: 'ridge.phi.ts', line: 8, column: 28 });
    expect(src.locate('flags.2')).toEqual({ file: 'ridge.phi.ts', line: 13, column: 24 });
    expect(src.locate('update.z')).toBeUndefined();
  });

  it('locates offsets inside strings and templates without escapes', () => {
    expect(src.locateInString!('update.x', 4)).toEqual({ file: 'ridge.phi.ts', line: 10, column: 13 });
    expect(src.locateInString!('functions.h.body', 5)).toEqual({ file: 'ridge.phi.ts', line: 8, column: 46 });
    expect(src.locateInString!('update.y', 1)).toBeUndefined();
    expect(src.locateInString!('constants.eps', 0)).toBeUndefined();
  });

  it('computes positions inside multi-line templates', () => {
    const multi = readTsSpec('export default {\n  body: `a +\n  b`,\n};\n', 'm.ts');
    expect(multi.value).toEqual({ body: 'a +\n  b' });
    // Offset 6 is 'b': on line 3, after two spaces.
    expect(multi.locateInString!('body', 6)).toEqual({ file: 'm.ts', line: 3, column: 3 });
  });

  it('accepts a plain object default export with satisfies', () => {
    const plain = readTsSpec("export default ({ name: 'p', n: 2 }) satisfies object;", 'p.ts');
    expect(plain.value).toEqual({ name: 'p', n: 2 });
  });

  it('collects several named defineMap exports into maps, in source order', () => {
    const text = [
      "import { defineMap } from 'phic';",
      "export const b = defineMap({ name: 'beta', update: { x: 'x' } });",
      "export const a = defineMap({ name: 'alpha', update: { x: '2 * x' } });",
    ].join('\n');
    const both = readTsSpec(text, 'two.ts');
    expect(both.value).toEqual({
      maps: [
        { name: 'beta', update: { x: 'x' } },
        { name: 'alpha', update: { x: '2 * x' } },
      ],
    });
    const alpha = selectMap(both, 'alpha');
    expect(alpha.value).toEqual({ name: 'alpha', update: { x: '2 * x' } });
    expect(alpha.locate('update.x')).toEqual({ file: 'two.ts', line: 3, column: 58 });
    expect(alpha.locateInString!('update.x', 4)).toEqual({ file: 'two.ts', line: 3, column: 63 });
    expect(thrown(() => selectMap(both)).message).toContain('beta, alpha');
  });

  it('uses a single named defineMap export as the spec', () => {
    const one = readTsSpec("export const only = defineMap({ name: 'only' });", 'one.ts');
    expect(one.value).toEqual({ name: 'only' });
  });

  const rejected = (text: string) => thrown(() => readTsSpec(text, 'bad.ts'));
  const LITERALS_ONLY = 'only literal values are allowed in a spec (compiling never executes user code): found ';

  it('rejects identifiers, pointing at them', () => {
    const err = rejected("const n = 3;\nexport default defineMap({\n  name: 'a',\n  constants: { k: n },\n});");
    expect(err.category).toBe('spec');
    expect(err.message).toBe(`${LITERALS_ONLY}identifier 'n'`);
    expect(err.context.location).toEqual({ file: 'bad.ts', line: 4, column: 19 });
    expect(err.context.field).toBe('constants.k');
  });

  it('rejects calls, spreads, template substitutions and functions', () => {
    const call = rejected('export default {\n  k: Math.sqrt(2),\n};');
    expect(call.message).toBe(`${LITERALS_ONLY}a function call`);
    expect(call.context.location).toMatchObject({ line: 2, column: 6 });

    const spread = rejected('export default defineMap({ a: 1,\n    ...base });');
    expect(spread.message).toBe(`${LITERALS_ONLY}a spread`);
    expect(spread.context.location).toMatchObject({ line: 2, column: 5 });

    const arraySpread = rejected('export default { a: [1, ...xs] };');
    expect(arraySpread.message).toBe(`${LITERALS_ONLY}a spread`);
    expect(arraySpread.context.location).toMatchObject({ line: 1, column: 25 });

    const template = rejected('export default {\n  body: `x + ${k}`,\n};');
    expect(template.message).toBe(`${LITERALS_ONLY}a template literal with substitutions`);
    expect(template.context.location).toMatchObject({ line: 2, column: 9 });

    const arrow = rejected('export default { f: (r: number) => r };');
    expect(arrow.message).toBe(`${LITERALS_ONLY}an arrow function`);
    expect(arrow.context.location).toMatchObject({ line: 1, column: 21 });
  });

  it('rejects computed keys, shorthand properties, methods and non-numeric negation', () => {
    expect(rejected("export default { ['a']: 1 };").message).toBe(`${LITERALS_ONLY}a computed property name`);
    const shorthand = rejected('const x = 1;\nexport default { x };');
    expect(shorthand.message).toBe(`${LITERALS_ONLY}a shorthand property`);
    expect(shorthand.context.location).toMatchObject({ line: 2, column: 18 });
    expect(rejected('export default { f() { return 1; } };').message).toBe(`${LITERALS_ONLY}a method`);
    expect(rejected("export default { a: -'1' };").message).toBe(`${LITERALS_ONLY}prefix unary expression`);
    expect(rejected('export default { a: 1 + 2 };').message).toBe(`${LITERALS_ONLY}an operator expression`);
  });

  it('reports TypeScript syntax errors with their position', () => {
    const err = rejected("export default defineMap({\n  name: 'a'\n  state: {},\n});");
    expect(err.category).toBe('spec');
    expect(err.message).toBe("malformed TypeScript: ',' expected.");
    expect(err.context.location).toEqual({ file: 'bad.ts', line: 3, column: 3 });
  });

  it('reports a file without a spec', () => {
    const err = rejected('export const x = 1;');
    expect(err.category).toBe('spec');
    expect(err.message).toBe('no spec found: export default defineMap({...})');
  });

  it('never executes the file', () => {
    const text = "globalThis.__phicRan = true;\nexport default { name: 'safe' };";
    expect(readTsSpec(text, 'safe.ts').value).toEqual({ name: 'safe' });
    expect((globalThis as Record<string, unknown>).__phicRan).toBeUndefined();
  });
});

describe('readSpecFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phic-spec-'));
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads JSON and TypeScript specs by extension, keeping the path as given', async () => {
    const json = write('a.json', MULTI);
    const fromJson = await readSpecFile(json, 'first');
    expect(fromJson.value).toEqual({ name: 'first', update: { x: 'x + 1' } });
    expect(fromJson.locate('update.x')).toEqual({ file: json, line: 3, column: 41 });

    const ts = write('b.mts', "export default defineMap({ name: 'b' });");
    const fromTs = await readSpecFile(ts);
    expect(fromTs.value).toEqual({ name: 'b' });
    expect(fromTs.locate('name')).toEqual({ file: ts, line: 1, column: 34 });
  });

  it('ignores a byte-order mark', async () => {
    const path = write('bom.json', '\uFEFF{ "name": "bom" }');
    const src = await readSpecFile(path);
    expect(src.value).toEqual({ name: 'bom' });
    expect(src.locate('name')).toMatchObject({ line: 1, column: 11 });
  });

  it('reports a missing file as a usage error', async () => {
    const missing = join(dir, 'nope.json');
    const err = await thrownAsync(() => readSpecFile(missing));
    expect(err.category).toBe('usage');
    expect(err.message).toBe(`cannot read spec file ${missing}: no such file`);
  });

  it('rejects unsupported extensions, naming the supported ones', async () => {
    const err = await thrownAsync(() => readSpecFile(write('c.yaml', 'name: c')));
    expect(err.category).toBe('usage');
    expect(err.message).toContain('.json, .ts, .mts');
  });
});
