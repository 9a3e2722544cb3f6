// Checks a config file's value and resolves it into targets: each spec file with its maps,
// its options (the target's, else the top level's, else phic's defaults) and its output
// folder, paths resolved against the config file's folder. Every mistake is a config error
// (exit 2) that names the field and points at it in the file.

import { resolve } from 'node:path';
import { configError, type PhicError } from '../../compiler/errors.js';
import { MODES } from '../../compiler/stages.js';
import { METHODS, SOLVERS } from '../../compiler/implicit/options.js';
import type { SpecSource } from '../../compiler/spec/source.js';
import type { GenerateOptions } from './types.js';

/** A target with everything resolved. */
export interface Target {
  /** Its field in the config, e.g. `generate.0`. */
  readonly field: string;
  /** The spec path as the config gives it, and resolved. */
  readonly spec: string;
  readonly specPath: string;
  /** The maps to generate; undefined: every map in the file. */
  readonly maps?: readonly string[];
  /** The output folder, resolved. */
  readonly outPath: string;
  readonly options: Required<Omit<GenerateOptions, 'out' | 'dims' | ImplicitKey>> & Pick<GenerateOptions, 'dims' | ImplicitKey>;
}

/** The implicit method's options and the checkpoint count: passed on when given, else the compiler's defaults. */
const IMPLICIT_KEYS = ['method', 'solver', 'solverSteps', 'restart', 'tolerance', 'warmStart', 'checkpoints'] as const;
type ImplicitKey = (typeof IMPLICIT_KEYS)[number];
const OPTION_KEYS = ['mode', 'K', 'truncate', 'dims', 'emit', 'backend', 'kernels', ...IMPLICIT_KEYS, 'out'] as const;
const TOP_KEYS = ['$schema', 'generate', ...OPTION_KEYS];
const TARGET_KEYS = ['spec', 'maps', ...OPTION_KEYS];
const CHOICES = { mode: MODES, emit: ['js', 'ts'], backend: ['cpu', 'gpu'], kernels: ['wasm', 'js'], method: METHODS, solver: SOLVERS } as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const join = (path: string, key: string | number) => (path === '' ? String(key) : `${path}.${key}`);

type Fail = (field: string, message: string) => PhicError;

/** An integer option: at least `min`, exact in a JavaScript number. */
function checkInteger(value: unknown, min: number, field: string, fail: Fail): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw fail(field, `${field.split('.').at(-1)} must be an integer of at least ${min} (at most 2^53 − 1), got ${JSON.stringify(value)}`);
  }
}

function checkDims(value: unknown, field: string, fail: Fail): void {
  if (!isRecord(value)) throw fail(field, 'dims must be an object of name: size, e.g. { "m": 100, "n": 40 }');
  for (const [name, size] of Object.entries(value)) {
    if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name)) throw fail(join(field, name), `'${name}' is not a dim name`);
    checkInteger(size, 1, join(field, name), fail);
  }
}

/** The option keys of one object (the top level or a target), each checked. */
function checkOptions(obj: Record<string, unknown>, path: string, known: readonly string[], fail: Fail): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) throw fail(join(path, key), `unknown field '${key}' (expected one of ${known.join(', ')})`);
  }
  for (const [key, choices] of Object.entries(CHOICES)) {
    const v = obj[key];
    if (v !== undefined && !(choices as readonly unknown[]).includes(v)) throw fail(join(path, key), `${key} must be one of ${choices.join(', ')}, got ${JSON.stringify(v)}`);
  }
  if (obj.K !== undefined) checkInteger(obj.K, 1, join(path, 'K'), fail);
  if (obj.truncate !== undefined) checkInteger(obj.truncate, 0, join(path, 'truncate'), fail);
  if (obj.dims !== undefined) checkDims(obj.dims, join(path, 'dims'), fail);
  if (obj.solverSteps !== undefined) checkInteger(obj.solverSteps, 1, join(path, 'solverSteps'), fail);
  if (obj.restart !== undefined) checkInteger(obj.restart, 1, join(path, 'restart'), fail);
  if (obj.checkpoints !== undefined) checkInteger(obj.checkpoints, 1, join(path, 'checkpoints'), fail);
  if (obj.tolerance !== undefined && (typeof obj.tolerance !== 'number' || !(obj.tolerance >= 0 && obj.tolerance < 1))) throw fail(join(path, 'tolerance'), `tolerance must be a number in [0, 1), got ${JSON.stringify(obj.tolerance)}`);
  if (obj.warmStart !== undefined && typeof obj.warmStart !== 'boolean') throw fail(join(path, 'warmStart'), `warmStart must be true or false, got ${JSON.stringify(obj.warmStart)}`);
  if (obj.out !== undefined && (typeof obj.out !== 'string' || obj.out === '')) throw fail(join(path, 'out'), 'out must be a folder path (relative to the config file)');
}

function checkMaps(maps: unknown, field: string, fail: Fail): readonly string[] | undefined {
  if (maps === undefined) return undefined;
  if (!Array.isArray(maps) || maps.length === 0 || maps.some((m) => typeof m !== 'string')) throw fail(field, 'maps must be a non-empty list of map names');
  const twice = maps.find((m, i) => maps.indexOf(m) !== i);
  if (twice !== undefined) throw fail(field, `maps names '${twice}' twice`);
  return maps as string[];
}

/** One target, its options merged over the top level's. */
function resolveTarget(t: unknown, index: number, top: Record<string, unknown>, dir: string, fail: Fail): Target {
  const field = join('generate', index);
  if (!isRecord(t)) throw fail(field, 'each target must be an object such as { "spec": "specs/ridge.phi.ts" }');
  checkOptions(t, field, TARGET_KEYS, fail);
  if (typeof t.spec !== 'string' || t.spec === '') throw fail(join(field, 'spec'), 'spec must be the path of a spec file (relative to the config file)');
  const pick = <K extends (typeof OPTION_KEYS)[number]>(key: K) => (t[key] ?? top[key]) as GenerateOptions[K];
  const K = pick('K');
  if (K === undefined) throw fail(field, 'K is missing: give the iterations K in this target or at the top of the config');
  const truncate = pick('truncate') ?? 0;
  if (truncate > K) throw fail(t.truncate !== undefined ? join(field, 'truncate') : 'truncate', `truncate ${truncate} is larger than K = ${K}`);
  const maps = checkMaps(t.maps, join(field, 'maps'), fail);
  return {
    field, spec: t.spec, specPath: resolve(dir, t.spec), ...(maps ? { maps } : {}),
    outPath: resolve(dir, pick('out') ?? '.'),
    options: {
      mode: pick('mode') ?? 'both', K, truncate, emit: pick('emit') ?? 'js', backend: pick('backend') ?? 'cpu', kernels: pick('kernels') ?? 'wasm',
      ...(pick('dims') ? { dims: pick('dims') } : {}),
      ...Object.fromEntries(IMPLICIT_KEYS.filter((k) => pick(k) !== undefined).map((k) => [k, pick(k)])),
    },
  };
}

/** The targets of the config read from `src`, whose paths are relative to `dir`. */
export function resolveConfig(src: SpecSource, dir: string): Target[] {
  const fail: Fail = (field, message) => configError(message, { ...(field ? { field } : {}), location: src.locate(field) });
  const v = src.value;
  if (!isRecord(v)) throw fail('', 'a config must be an object: { "K": 100, "generate": [{ "spec": "..." }] }');
  checkOptions(v, '', TOP_KEYS, fail);
  if (v.$schema !== undefined && typeof v.$schema !== 'string') throw fail('$schema', '$schema must be a string');
  if (!Array.isArray(v.generate) || v.generate.length === 0) throw fail('generate', 'generate must be a non-empty list of targets such as { "spec": "specs/ridge.phi.ts" }');
  return v.generate.map((t, i) => resolveTarget(t, i, v, dir, fail));
}
