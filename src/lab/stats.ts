// The small numeric helpers the lab (and the benchmarks) share: the Euclidean norm and dot
// product (summed in index order, unscaled: runtime's overflow-safe norm rounds differently),
// the median, the index of the largest and of the smallest value, and random unit directions.

import type { RandomGenerator } from '../../runtime/reference.js';

/** ‖v‖₂ = √(Σ vᵢ²), summed in index order. */
export function norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i]! * v[i]!;
  return Math.sqrt(s);
}

/** aᵀb, summed in index order. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** ‖a − b‖₂. */
export function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

/** The middle value (the mean of the two middle values for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** The index of the first largest value (0 for none). */
export function argMax(xs: readonly number[]): number {
  return xs.reduce((b, v, i) => (v > xs[b]! ? i : b), 0);
}

/** The index of the first smallest value (0 for none). */
export function argMin(xs: readonly number[]): number {
  return xs.reduce((b, v, i) => (v < xs[b]! ? i : b), 0);
}

/** A random direction of length 1 (normal entries, scaled by their norm). */
export function unitVector(rng: RandomGenerator, n: number): Float64Array {
  const v = rng.vector(n, 'normal');
  const s = norm(v);
  return v.map((x) => x / s);
}
