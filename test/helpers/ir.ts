// Shared helpers for IR-level tests: random values per op domain, environments for the
// reference interpreter, a compact s-expression printer and small numeric comparisons.

import type { Node, Shape } from '../../compiler/ir/nodes.js';
import { evaluate, inputKey, type Environment } from '../../compiler/ir/evaluate.js';
import type { Tensor } from '../../compiler/ops/registry.js';
import type { RandomGenerator } from '../../runtime/reference.js';
import type { Segment } from '../../compiler/lower/loop-ir.js';
import { NameScope } from '../../compiler/names.js';

/**
 * Where an op is smooth (its registry domain). `apart`: wherever its arguments differ (drawn by
 * apartArgs); `condition`: wherever its first argument is nonzero (drawn by conditionArg);
 * `invertible`: wherever its first argument is an invertible matrix (drawn by invertibleArg).
 */
export type Domain = 'any' | 'positive' | 'nonzero' | 'apart' | 'condition' | 'invertible';
export type Dims = Readonly<Record<string, number>>;

/** Concrete sizes of a symbolic shape. */
export function sizesOf(shape: Shape, dims: Dims): number[] {
  return shape.map((d) => {
    const v = dims[d];
    if (v === undefined) throw new Error(`test has no size for dim ${d}`);
    return v;
  });
}

export const sizeOf = (shape: Shape, dims: Dims) => sizesOf(shape, dims).reduce((p, d) => p * d, 1);

/** One value in an op's domain: positive → [0.5, 2], nonzero → ±[0.5, 2], any (and the joint domains, one value at a time) → [-2, 2]. */
export function drawValue(rng: RandomGenerator, domain: Domain): number {
  const magnitude = 0.5 + 1.5 * rng.uniform();
  if (domain === 'positive') return magnitude;
  if (domain === 'nonzero') return rng.uniform() < 0.5 ? -magnitude : magnitude;
  return -2 + 4 * rng.uniform();
}

export function randomTensor(rng: RandomGenerator, shape: Shape, dims: Dims, domain: Domain = 'any'): Tensor {
  const sizes = sizesOf(shape, dims);
  const data = new Float64Array(sizes.reduce((p, d) => p * d, 1));
  for (let i = 0; i < data.length; i++) data[i] = drawValue(rng, domain);
  return { shape: sizes, data };
}

/**
 * Values for the arguments of an op smooth where they differ (domain `apart`: maximum, the
 * comparisons), of the given shapes (null for a constant argument, whose value is given). One
 * argument is the pivot, a constant or a scalar one if there is one; the others are the pivot
 * plus ±[0.5, 2] entrywise, signs alternating, so no entry ties within a finite-difference step
 * of another and both orders occur.
 */
export function apartArgs(rng: RandomGenerator, shapes: readonly (Shape | number)[], dims: Dims): (Tensor | null)[] {
  const constant = shapes.findIndex((s) => typeof s === 'number');
  const scalar = shapes.findIndex((s) => typeof s !== 'number' && s.length === 0);
  const pivot = constant >= 0 ? constant : Math.max(scalar, 0);
  const p = shapes[pivot]!;
  const base = typeof p === 'number' ? tensor([], [p]) : randomTensor(rng, p, dims);
  return shapes.map((s, k) => {
    if (typeof s === 'number') return null;
    if (k === pivot) return base;
    const t = randomTensor(rng, s, dims, 'positive');
    const flip = rng.uniform() < 0.5 ? 1 : -1;
    t.data.forEach((v, i) => (t.data[i] = base.data[base.data.length === 1 ? 0 : i]! + (i % 2 === 0 ? flip : -flip) * v));
    return t;
  });
}

/**
 * The condition of an op with domain `condition` (the conditional): nonzero where it varies (a
 * derivative test perturbs it, and must not cross 0), else zero at every other entry, so that
 * both branches are taken.
 */
export function conditionArg(rng: RandomGenerator, shape: Shape, dims: Dims, varies: boolean): Tensor {
  const t = randomTensor(rng, shape, dims, 'nonzero');
  if (!varies) t.data.forEach((_, i) => i % 2 === 0 && (t.data[i] = 0));
  return t;
}

/**
 * A well-conditioned square matrix (domain `invertible`): entries in [-2, 2] plus ±2n on the
 * diagonal, so each row is diagonally dominant (no pivot near 0) and both signs occur.
 */
export function invertibleArg(rng: RandomGenerator, shape: Shape, dims: Dims): Tensor {
  const t = randomTensor(rng, shape, dims);
  const n = t.shape[0]!;
  if (t.shape.length !== 2 || t.shape[1] !== n) throw new Error(`invertibleArg: a square matrix, got [${t.shape.join(', ')}]`);
  for (let i = 0; i < n; i++) t.data[i * n + i]! += (i % 2 === 0 ? 2 : -2) * n;
  return t;
}

/** Standard-normal direction of a given shape. */
export function randomDirection(rng: RandomGenerator, shape: Shape, dims: Dims): Tensor {
  const sizes = sizesOf(shape, dims);
  return { shape: sizes, data: rng.vector(sizes.reduce((p, d) => p * d, 1), 'normal') };
}

export const tensor = (shape: number[], data: readonly number[]): Tensor => ({ shape, data: Float64Array.from(data) });

/** An interpreter environment from [role:name, tensor] pairs. */
export function environment(entries: Iterable<readonly [string, Tensor]>): Map<string, Tensor> {
  return new Map(entries);
}

export const keyOf = (role: Parameters<typeof inputKey>[0]['role'], name: string) => inputKey({ role, name });

/** Values of `node` (null = the exact zero of `shape`). */
export function valueOf(node: Node | null, shape: Shape, env: Environment, dims: Dims): Float64Array {
  if (node === null) return new Float64Array(sizeOf(shape, dims));
  const [t] = evaluate([node], env, dims);
  return t!.data;
}

export function innerProduct(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`inner product of lengths ${a.length} and ${b.length}`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** |a − b| / max(|a|, |b|), 0 when both are zero. */
export function relativeScalar(a: number, b: number): number {
  const scale = Math.max(Math.abs(a), Math.abs(b));
  return scale === 0 ? 0 : Math.abs(a - b) / scale;
}

/** The largest entry difference over the largest entry of b: a relative error of a whole vector. */
export function relativeMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

export function concat(parts: readonly ArrayLike<number>[]): Float64Array {
  const out = new Float64Array(parts.reduce((p, a) => p + a.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(Array.from(p), at);
    at += p.length;
  }
  return out;
}

/** Splits `flat` into consecutive pieces of the given lengths. */
export function split(flat: Float64Array, lengths: readonly number[]): Float64Array[] {
  const out: Float64Array[] = [];
  let at = 0;
  for (const n of lengths) {
    out.push(flat.slice(at, at + n));
    at += n;
  }
  if (at !== flat.length) throw new Error(`split: ${flat.length} entries for pieces summing to ${at}`);
  return out;
}

/** A compact s-expression of a node: `(sub x (neg y))`, constants as `2` or `0[n]`. */
export function sexpr(node: Node): string {
  if (node.kind === 'const') return node.shape.length ? `${node.value}[${node.shape.join(',')}]` : String(node.value);
  if (node.kind === 'input') return node.name;
  return `(${node.op} ${node.args.map(sexpr).join(' ')})`;
}

/** A hand-written loop-IR segment: its locals' scope and names as the lowering would give them. */
export function testSegment(fields: Pick<Segment, 'name' | 'doc' | 'batched' | 'body'>): Segment {
  const scope = NameScope.module().child();
  return { ...fields, scope, batchIndex: 'd', loopNames: ['i', 'j', 'l'] };
}
