// The JSON Schemas phic ships (schema/spec.schema.json, schema/config.schema.json) against
// phic's own checks: every sample spec conforms, with or without a `$schema` key, and specs
// and configs that phic refuses for their structure are refused by the schema too. The
// schemas are in the package's files.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSpecSource } from '../compiler/spec/read-file.js';
import { everyMap } from '../compiler/spec/read-json.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { validateSpec } from '../compiler/spec/validate.js';
import { resolveConfig } from '../src/config/validate-config.js';
import { schemaProblem } from './helpers/json-schema.js';
import { ROOT } from './helpers/cli.js';

const load = (name: string) => JSON.parse(readFileSync(join(ROOT, 'schema', name), 'utf8')) as Record<string, unknown>;
const SPEC = load('spec.schema.json');
const CONFIG = load('config.schema.json');

const SAMPLES = readdirSync(join(ROOT, 'samples'), { recursive: true, encoding: 'utf8' })
  .filter((f) => /\.phi\.(ts|json)$/.test(f) && !f.includes('generated'))
  .map((f) => join('samples', f))
  .sort();

const RIDGE = { name: 'ridge', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' }, constants: { alpha: 0.1 }, update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" } };

describe('schema/spec.schema.json', () => {
  it('every sample spec conforms, and so does each with a $schema key', async () => {
    expect(SAMPLES.length).toBeGreaterThanOrEqual(10);
    for (const file of SAMPLES) {
      const value = (await readSpecSource(file, ROOT)).value as Record<string, unknown>;
      expect(schemaProblem(SPEC, value), file).toBeUndefined();
      expect(schemaProblem(SPEC, { $schema: './spec.schema.json', ...value }), file).toBeUndefined();
    }
    expect(schemaProblem(SPEC, { $schema: 'x', maps: [RIDGE, { ...RIDGE, name: 'other' }] })).toBeUndefined();
  });

  const refused: [string, unknown][] = [
    ['an unknown field', { ...RIDGE, updates: {} }],
    ['no state', { ...RIDGE, state: undefined }],
    ['an empty params', { ...RIDGE, params: {} }],
    ['a shape that is not a string', { ...RIDGE, data: { A: 3 } }],
    ['a shape of three dims', { ...RIDGE, data: { A: 'm,n,k' } }],
    ['a name that is not an identifier', { ...RIDGE, name: '1x' }],
    ['a constant that is not a number', { ...RIDGE, constants: { alpha: '0.1' } }],
    ['both update and objective', { ...RIDGE, objective: 'sum(x)', method: { name: 'gd', step: 0.1 } }],
    ['neither update nor objective', { ...RIDGE, update: undefined }],
    ['an unknown method', { ...RIDGE, update: undefined, objective: 'sum(x .* x)', method: { name: 'adam', step: 0.1 } }],
    ['a function without a body', { ...RIDGE, functions: { f: { args: ['r'] } } }],
    ['a map with $schema inside a maps file', { maps: [{ ...RIDGE, $schema: 'x' }] }],
    ['an empty maps', { maps: [] }],
  ];
  it.each(refused)('refuses %s, as phic does', (_what, value) => {
    const clean = JSON.parse(JSON.stringify(value)) as Record<string, unknown>; // undefined fields dropped
    expect(schemaProblem(SPEC, clean)).toBeDefined();
    // phic validates each map of a maps file (after refusing an empty list, selectMap).
    const validateAll = () => {
      const maps = everyMap(inMemorySource(clean));
      for (const map of maps) validateSpec(map);
    };
    expect(validateAll).toThrow();
  });
});

describe('schema/config.schema.json', () => {
  const good = { $schema: './node_modules/phic/schema/config.schema.json', K: 100, out: 'generated', generate: [{ spec: 'a.phi.ts', truncate: 10, dims: { m: 5, n: 4 } }, { spec: 'b.json', maps: ['x', 'y'], emit: 'ts', backend: 'gpu', K: 20 }] };

  it('a config phic accepts conforms', () => {
    expect(schemaProblem(CONFIG, good)).toBeUndefined();
    expect(() => resolveConfig(inMemorySource(good), '/project')).not.toThrow();
  });

  const refused: [string, unknown][] = [
    ['an unknown field', { ...good, outDir: 'x' }],
    ['no generate', { K: 1 }],
    ['an empty generate', { K: 1, generate: [] }],
    ['a target without spec', { K: 1, generate: [{ out: 'x' }] }],
    ['K zero', { K: 0, generate: [{ spec: 'a.json' }] }],
    ['a fractional truncate', { K: 5, truncate: 1.5, generate: [{ spec: 'a.json' }] }],
    ['an unknown mode', { K: 5, generate: [{ spec: 'a.json', mode: 'sideways' }] }],
    ['a dim of size 0', { K: 5, dims: { n: 0 }, generate: [{ spec: 'a.json' }] }],
    ['an unknown target field', { K: 5, generate: [{ spec: 'a.json', map: 'x' }] }],
    ['an empty maps', { K: 5, generate: [{ spec: 'a.json', maps: [] }] }],
  ];
  it.each(refused)('refuses %s, as phic does', (_what, value) => {
    expect(schemaProblem(CONFIG, value)).toBeDefined();
    expect(() => resolveConfig(inMemorySource(value), '/project')).toThrow();
  });

  it('both schemas are in the published files', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[]; exports: Record<string, unknown> };
    expect(pkg.files).toContain('schema');
    expect(pkg.exports['./schema/*']).toBe('./schema/*');
  });
});
