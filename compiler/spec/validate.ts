// Structural validation of a spec value: every field has the right type, every name is a
// safe identifier, names are unique, shapes parse. Formulas are checked later by the parser.

import { specError, PhicError } from '../errors.js';
import type { Shape } from '../ir/nodes.js';
import { identifierProblem } from './identifiers.js';
import type { SpecSource } from './source.js';
import type { FunctionSpec, MapSpec, MethodSpec } from './types.js';

export const METHODS = ['gd', 'heavy-ball', 'nesterov'] as const;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse a shape string ('' | 'n' | 'm,n') into dims. */
export function parseShape(text: string): Shape | string {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const dims = trimmed.split(',').map((d) => d.trim());
  if (dims.length > 2) return `shape '${text}' has more than two dims (only scalars, vectors and matrices)`;
  for (const d of dims) {
    const problem = identifierProblem(d);
    if (problem) return `dim ${problem}`;
  }
  return dims;
}

type Fail = (field: string, message: string) => PhicError;
/** Takes a name for a field: fails when it is not a safe identifier or is already taken. */
type Claim = (name: string, field: string) => void;

export function validateSpec(src: SpecSource): MapSpec {
  const fail: Fail = (field, message) => specError(message, { field, location: src.locate(field) });
  const v = src.value;
  if (!isRecord(v)) throw fail('', 'a spec must be an object');

  const known = ['name', 'state', 'params', 'data', 'constants', 'functions', 'update', 'sequential', 'objective', 'method', 'outer', 'batches'];
  for (const key of Object.keys(v)) if (!known.includes(key)) throw fail(key, `unknown field '${key}' (expected one of ${known.join(', ')})`);

  const seen = new Map<string, string>();
  const claim: Claim = (name, field) => {
    const problem = identifierProblem(name);
    if (problem) throw fail(field, `name ${problem}`);
    const earlier = seen.get(name);
    if (earlier) throw fail(field, `name '${name}' is already used by ${earlier}`);
    seen.set(name, field);
  };

  if (typeof v.name !== 'string') throw fail('name', 'name must be a string');
  const nameProblem = identifierProblem(v.name);
  if (nameProblem) throw fail('name', `spec name ${nameProblem}`);

  validateShapes(v, 'state', true, fail, claim);
  validateShapes(v, 'params', true, fail, claim);
  validateShapes(v, 'data', false, fail, claim);
  validateConstants(v.constants, fail, claim);
  validateFunctions(v.functions, fail, claim);
  validateUpdateOrObjective(v, fail);
  validateOuter(v.outer, fail, claim);
  validateBatches(v, fail);
  return v as unknown as MapSpec;
}

/** batches: { count: a dim name, data: names of data, each once (each declared with the shape of one batch) }. */
function validateBatches(v: Record<string, unknown>, fail: Fail): void {
  const batches = v.batches;
  if (batches === undefined) return;
  if (!isRecord(batches) || typeof batches.count !== 'string' || !Array.isArray(batches.data)) {
    throw fail('batches', "batches must look like { count: 'B', data: ['X', 'y'] }: the data listed are given as B batches");
  }
  const problem = identifierProblem(batches.count);
  if (problem) throw fail('batches.count', `the batch count is a dim: ${problem}`);
  const data = isRecord(v.data) ? v.data : {};
  const seen = new Set<string>();
  batches.data.forEach((name, i) => {
    if (typeof name !== 'string' || !(name in data)) throw fail(`batches.data.${i}`, `batches.data lists names of data, got ${JSON.stringify(name)} (data: ${Object.keys(data).join(', ') || 'none'})`);
    if (seen.has(name)) throw fail(`batches.data.${i}`, `${name} is listed twice`);
    seen.add(name);
  });
  if (batches.data.length === 0) throw fail('batches.data', 'batches.data lists at least one name of data');
}

/** state, params or data: an object of name: shape (at least one entry when required). */
function validateShapes(v: Record<string, unknown>, key: string, required: boolean, fail: Fail, claim: Claim): void {
  const group = v[key];
  if (group === undefined && !required) return;
  if (!isRecord(group)) throw fail(key, `${key} must be an object of name: shape, e.g. { x: 'n' }`);
  if (required && Object.keys(group).length === 0) throw fail(key, `${key} must declare at least one entry`);
  for (const [name, shape] of Object.entries(group)) {
    const field = `${key}.${name}`;
    claim(name, field);
    if (typeof shape !== 'string') throw fail(field, `shape must be a string such as '', 'n' or 'm,n'`);
    const parsed = parseShape(shape);
    if (typeof parsed === 'string') throw fail(field, parsed);
  }
}

function validateConstants(constants: unknown, fail: Fail, claim: Claim): void {
  if (constants === undefined) return;
  if (!isRecord(constants)) throw fail('constants', 'constants must be an object of name: number');
  for (const [name, value] of Object.entries(constants)) {
    claim(name, `constants.${name}`);
    if (typeof value !== 'number' || !Number.isFinite(value)) throw fail(`constants.${name}`, 'a constant must be a finite number');
  }
}

function validateFunctions(functions: unknown, fail: Fail, claim: Claim): void {
  if (functions === undefined) return;
  if (!isRecord(functions)) throw fail('functions', "functions must be an object of name: { args: [...], body: '...' }");
  for (const [name, fn] of Object.entries(functions)) {
    const field = `functions.${name}`;
    claim(name, field);
    if (!isRecord(fn) || !Array.isArray(fn.args) || typeof fn.body !== 'string') {
      throw fail(field, "a function must look like { args: ['r'], body: 'sqrt(1 + r^2) - 1' }");
    }
    fn.args.forEach((a, i) => {
      const problem = typeof a === 'string' ? identifierProblem(a) : 'an argument name must be a string';
      if (problem) throw fail(`${field}.args.${i}`, `argument ${problem}`);
    });
    if (new Set(fn.args).size !== fn.args.length) throw fail(`${field}.args`, 'argument names must be distinct');
  }
}

/** Either update (the map Φ, by state name) or objective with method. */
function validateUpdateOrObjective(v: Record<string, unknown>, fail: Fail): void {
  const hasUpdate = v.update !== undefined;
  const hasObjective = v.objective !== undefined || v.method !== undefined;
  if (hasUpdate === hasObjective) {
    throw fail(hasUpdate ? 'objective' : 'update', 'give either update (the map Φ) or objective together with method, not both and not neither');
  }
  if (hasUpdate) {
    if (!isRecord(v.update)) throw fail('update', 'update must be an object of state name: formula');
    for (const [name, formula] of Object.entries(v.update)) {
      if (typeof formula !== 'string') throw fail(`update.${name}`, 'an update must be a formula string');
    }
    if (v.sequential !== undefined && typeof v.sequential !== 'boolean') throw fail('sequential', 'sequential must be true or false');
  } else {
    if (v.sequential !== undefined) throw fail('sequential', 'sequential orders the formulas of update; a method derives its update from the objective');
    if (typeof v.objective !== 'string') throw fail('objective', 'objective must be a formula string');
    validateMethod(v.method, fail);
  }
}

/** outer: { objective, data? }, its data names claimed like the others. */
function validateOuter(outer: unknown, fail: Fail, claim: Claim): void {
  if (outer === undefined) return;
  if (!isRecord(outer) || typeof outer.objective !== 'string') {
    throw fail('outer', "outer must look like { objective: '...', data: { ... } }");
  }
  const outerData = outer.data;
  if (outerData !== undefined) {
    if (!isRecord(outerData)) throw fail('outer.data', 'outer.data must be an object of name: shape');
    for (const [name, shape] of Object.entries(outerData)) {
      claim(name, `outer.data.${name}`);
      const parsed = typeof shape === 'string' ? parseShape(shape) : 'shape must be a string';
      if (typeof parsed === 'string') throw fail(`outer.data.${name}`, parsed);
    }
  }
}

function validateMethod(m: unknown, fail: Fail): asserts m is MethodSpec {
  if (!isRecord(m)) throw fail('method', "method must look like { name: 'gd', step: 0.1 }");
  if (!METHODS.includes(m.name as never)) throw fail('method.name', `method name must be one of ${METHODS.join(', ')}`);
  const numberOrFormula = (x: unknown) => (typeof x === 'number' && Number.isFinite(x)) || typeof x === 'string';
  if (!numberOrFormula(m.step)) throw fail('method.step', 'step must be a finite number or a formula');
  if (m.name === 'gd') {
    if (m.momentum !== undefined) throw fail('method.momentum', 'gd takes no momentum');
  } else if (!numberOrFormula(m.momentum)) {
    throw fail('method.momentum', `${String(m.name)} needs a momentum: a finite number or a formula`);
  }
  for (const key of Object.keys(m)) {
    if (!['name', 'step', 'momentum'].includes(key)) throw fail(`method.${key}`, `unknown method field '${key}'`);
  }
}

export type { FunctionSpec };
