// Test helper for the name-hygiene property: harvest the identifiers of generated modules,
// build specs that use candidate names in every role beside a fixture map, run every entry
// point, and compare the results bit for bit with the same map under reference names.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ts } from 'ts-morph';
import { compileSpec, type CompileOptions } from '../../compiler/pipeline.js';
import { inMemorySource } from '../../compiler/spec/source.js';
import { readSpecFile } from '../../compiler/spec/read-file.js';
import { identifierProblem } from '../../compiler/spec/identifiers.js';
import { importGenerated } from '../../src/load-module.js';
import type { MapSpec } from '../../src/index.js';
import { ROOT } from './cli.js';

/** Every identifier token of a module, the insides of template literals (GPU kernel sources) included. */
export function identifiersOf(code: string, out = new Set<string>()): Set<string> {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, code);
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === ts.SyntaxKind.Identifier) out.add(scanner.getTokenText());
    else if (kind === ts.SyntaxKind.NoSubstitutionTemplateLiteral) identifiersOf(scanner.getTokenValue(), out);
  }
  return out;
}

export const ROLES = ['dim', 'state', 'param', 'data', 'constant', 'helper', 'outer'] as const;
export type Role = (typeof ROLES)[number];

/** The fixture's own names: a ridge-like map every candidate is added to. Candidates never start with Q + letters + digit. */
export const FIXTURE_NAMES = ['Qn0', 'Qm0', 'Qx0', 'Qt0', 'QA0', 'Qb0', 'Qal0', 'Qy0', 'Qarg0'];

export interface Placed {
  readonly name: string;
  readonly role: Role;
}

/**
 * A spec with each placed name in its role (and the dims they need), all contributing to Φ and ℓ.
 * `linear`: Φ linear in the state (no tanh of it, helpers applied to the param), so that its
 * adjoint reads no state and a VJP with large enough dims runs the fused reverse sweep.
 */
export function hygieneSpec(placed: readonly Placed[], linear = false): MapSpec {
  const state: Record<string, string> = { Qx0: 'Qn0' };
  const params: Record<string, string> = { Qt0: 'Qn0' };
  const data: Record<string, string> = { QA0: 'Qm0,Qn0', Qb0: 'Qm0' };
  const constants: Record<string, number> = { Qal0: 0.1 };
  const functions: Record<string, { args: string[]; body: string }> = {};
  const outerData: Record<string, string> = { Qy0: 'Qn0' };
  const update: Record<string, string> = {};
  const terms: string[] = [];
  const outerTerms = ['0.5 * sum((Qx0 - Qy0).^2)'];
  placed.forEach(({ name, role }, i) => {
    switch (role) {
      case 'dim':
        // a param along the dim: its loops run in every derivative segment
        params[`Qp${i}`] = name;
        terms.push(`dot(Qp${i}, Qp${i})`);
        break;
      case 'state':
        state[name] = 'Qn0';
        update[name] = `${name} - 0.1 * (${name} - Qt0) + 0.01 * ${linear ? 'Qx0' : 'tanh(Qx0)'}`;
        terms.push(name);
        break;
      case 'param':
        params[name] = '';
        terms.push(`${name} * Qx0`);
        break;
      case 'data':
        data[name] = 'Qn0';
        terms.push(`${name} .* Qx0`);
        break;
      case 'constant':
        constants[name] = 0.001 * ((i % 7) + 1);
        terms.push(`${name} * Qx0`);
        break;
      case 'helper':
        functions[name] = { args: ['Qarg0'], body: 'Qarg0 / (1 + Qarg0^2)' };
        terms.push(`${name}(${linear ? 'Qt0' : 'Qx0'})`);
        break;
      case 'outer':
        outerData[name] = 'Qn0';
        outerTerms.push(`0.25 * sum((Qx0 - ${name}).^2)`);
        break;
    }
  });
  const extra = terms.length ? ` + 0.001 * (${terms.join(' + ')})` : '';
  return {
    name: 'hygiene',
    state,
    params,
    data,
    constants,
    functions,
    update: { Qx0: `Qx0 - Qal0 * (QA0' * (QA0 * Qx0 - Qb0) + Qt0 .* Qx0)${extra}`, ...update },
    outer: { objective: outerTerms.join(' + '), data: outerData },
  } as MapSpec;
}

/**
 * Dims of a hygiene spec: the fixture's, and 2 for each dim-role name. `large`: QA0 of 256×128,
 * the smallest whose products the fused reverse sweep pairs (PARALLEL_MIN_WORK multiply-adds).
 */
export function hygieneDims(placed: readonly Placed[], large = false): Record<string, number> {
  const dims: Record<string, number> = large ? { Qn0: 128, Qm0: 256 } : { Qn0: 3, Qm0: 4 };
  for (const p of placed) if (p.role === 'dim') dims[p.name] = 2;
  return dims;
}

/** Deterministic values in [-0.5, 0.5) from a seed. */
function values(seed: number, count: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

type Tensor = number | number[] | number[][];
type Results = Record<string, unknown>;

function tensor(shape: readonly string[], dims: Record<string, number>, seed: number): Tensor {
  const sizes = shape.map((d) => dims[d]!);
  const flat = values(seed, sizes.reduce((p, n) => p * n, 1));
  if (sizes.length === 0) return flat[0]!;
  if (sizes.length === 1) return flat;
  return Array.from({ length: sizes[0]! }, (_, r) => flat.slice(r * sizes[1]!, (r + 1) * sizes[1]!));
}

interface Instance {
  iterate(i: object, x0?: object): Results;
  jvp(i: object, d: object, x0?: object): Results;
  vjp(i: object, c: object, x0?: object): Results;
  jacobianForward(i: object, x0?: object): Results;
  jacobianReverse(i: object, x0?: object): Results;
  partialX(i: object, p: object): Results;
  partialTheta(i: object, p: object): Results;
  outerAt(i: object, p: object): Results;
  hypergradient(i: object, x0?: object): Results;
}

/**
 * Compiles the spec, runs every entry point on deterministic inputs (by position, so a renamed
 * map gets the same numbers), and returns every float64 result in one byte string, keyed by
 * position rather than name.
 */
export async function runAll(spec: MapSpec, dims: Record<string, number>, options: Partial<CompileOptions> & { bake: boolean; gpu?: unknown; fused?: boolean }): Promise<string> {
  const { bake, gpu, fused, ...rest } = options;
  const result = compileSpec(inMemorySource(spec), { mode: 'both', K: 4, truncate: 1, ...(bake ? { dims } : {}), ...rest, ...(gpu ? { backend: 'gpu' } : {}) } as CompileOptions);
  // a configuration meant for the fused reverse sweep must have it, or it would test nothing of it
  if (fused && !/function vjpFused\d*\(/.test(result.moduleCode)) throw new Error('hygiene: the fused configuration compiled no fused reverse sweep');
  const mod = await importGenerated<{ create(...a: unknown[]): Instance & { destroy?(): Promise<void> } }>(result.moduleCode);
  const map = gpu ? mod.create(gpu, bake ? undefined : dims) : mod.create(bake ? undefined : dims);
  const shapeOf = (s: string) => (s === '' ? [] : s.split(','));
  const group = (vars: Record<string, string> | undefined, seed: number) =>
    Object.fromEntries(Object.entries(vars ?? {}).map(([k, s], i) => [k, tensor(shapeOf(s), dims, seed + i * 7919)]));
  const inputs = { ...group(spec.params, 1), ...group(spec.data, 2), ...group(spec.outer?.data, 3) };
  const x0 = group(spec.state, 4);
  const direction = group(spec.params, 5);
  const cotangent = group(spec.state, 6);
  // one call at a time: the GPU module's calls are asynchronous
  const out = [];
  for (const run of [
    () => map.iterate(inputs, x0), () => map.jvp(inputs, direction, x0), () => map.vjp(inputs, cotangent, x0), () => map.jacobianForward(inputs, x0),
    () => map.jacobianReverse(inputs, x0), () => map.hypergradient(inputs, x0),
    ...(gpu ? [] : [() => map.partialX(inputs, x0), () => map.partialTheta(inputs, x0), () => map.outerAt(inputs, x0)]),
  ]) out.push(await run());
  await map.destroy?.();
  return bytesOf(out);
}

/** Every number in a result tree, in key order of insertion (names are not part of it), as hex bytes. */
function bytesOf(value: unknown): string {
  const parts: string[] = [];
  const visit = (v: unknown) => {
    if (typeof v === 'number') parts.push(Buffer.from(new Float64Array([v]).buffer).toString('hex'));
    else if (ArrayBuffer.isView(v)) parts.push(Buffer.from((v as Float64Array).buffer, (v as Float64Array).byteOffset, (v as Float64Array).byteLength).toString('hex'));
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(value);
  return parts.join('|');
}

const MODES = ['forward', 'reverse', 'both'] as const;

/** Identifiers of modules compiled from the samples and the fixture, in every configuration. */
async function harvest(gpuOnly: boolean): Promise<Set<string>> {
  const specs = readdirSync(join(ROOT, 'samples'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(ROOT, 'samples', d.name)).filter((f) => f.endsWith('.phi.ts') || f.endsWith('.phi.json')).map((f) => join(ROOT, 'samples', d.name, f)));
  const sources = [
    ...(await Promise.all(specs.map((file) => readSpecFile(file)))),
    inMemorySource(hygieneSpec(ROLES.map((role, i) => ({ name: `Qc${i}`, role })))),
  ];
  const found = new Set<string>();
  for (const source of sources) {
    const dims = source === sources.at(-1) ? hygieneDims(ROLES.map((role, i) => ({ name: `Qc${i}`, role }))) : undefined;
    const gpuConfigs: Partial<CompileOptions>[] = [{ mode: 'both', backend: 'gpu' }, ...(dims ? [{ mode: 'both' as const, backend: 'gpu' as const, dims }] : [])];
    const configs: Partial<CompileOptions>[] = gpuOnly ? gpuConfigs : [
      ...MODES.flatMap((mode) => [{ mode }, { mode, kernels: 'js' as const }]),
      ...(dims ? MODES.map((mode) => ({ mode, dims })) : []),
      // the implicit method's solvers and binomial checkpointing print names of their own
      { mode: 'both', truncate: 0, method: 'implicit', warmStart: true }, { mode: 'both', truncate: 0, method: 'implicit', solver: 'cg' },
      { mode: 'reverse', checkpoints: 2 }, { mode: 'reverse', checkpoints: 2, kernels: 'js' as const },
      ...gpuConfigs,
    ];
    for (const config of configs) {
      try {
        identifiersOf(compileSpec(source, { K: 6, truncate: 2, ...config } as CompileOptions).moduleCode, found);
      } catch {
        // a sample that needs its dims baked for this configuration adds nothing here
      }
    }
  }
  // forward mode over hoisted invariants needs baked dims and a long enough sweep to pay: least squares in (A, b)
  if (!gpuOnly) {
    const leastSquares = await readSpecFile(join(ROOT, 'samples', 'least_squares', 'least_squares.phi.ts'));
    identifiersOf(compileSpec(leastSquares, { mode: 'both', K: 40, truncate: 0, dims: { m: 8, n: 4 } } as CompileOptions).moduleCode, found);
    // the fused reverse sweep (and its paired kernel) needs baked dims and products of 32768 multiply-adds
    const linear = ROLES.map((role, i) => ({ name: `Qc${i}`, role }));
    identifiersOf(compileSpec(inMemorySource(hygieneSpec(linear, true)), { mode: 'both', K: 6, truncate: 2, dims: hygieneDims(linear, true) } as CompileOptions).moduleCode, found);
  }
  return found;
}

const LETTERS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'];
const SHORT = [...LETTERS, ...LETTERS.flatMap((a) => [...LETTERS, ...'0123456789_'].map((b) => a + b))];

const fixture = /^Q[A-Za-z]+\d+$/;

/**
 * The names to try: every harvested identifier (sorted), then every one- and two-letter name,
 * less those a spec may not use and the fixture's. `gpu`: the GPU module's identifiers and the
 * one-letter names only.
 */
export async function candidateNames(gpu = false): Promise<string[]> {
  const harvested = [...(await harvest(gpu))].sort();
  return [...new Set([...harvested, ...(gpu ? LETTERS : SHORT)])].filter((n) => identifierProblem(n) === null && !fixture.test(n) && !FIXTURE_NAMES.includes(n));
}

