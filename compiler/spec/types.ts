// The spec a user writes: the update map Φ(x, θ) (or an objective plus a method), with
// the names and shapes of everything it refers to. Shapes are strings: '' for a scalar,
// 'n' for a vector of length n, 'm,n' for an m×n matrix.

export type ShapeString = string;

/** A scalar helper function, applied elementwise: `{ args: ['r'], body: 'sqrt(1 + r^2) - 1' }`. */
export interface FunctionSpec {
  args: string[];
  body: string;
}

export type MethodName = 'gd' | 'heavy-ball' | 'nesterov';

/** An optimisation method that turns `objective` into an update map. */
export interface MethodSpec {
  name: MethodName;
  /** Step size: a number or a formula of constants and scalar params. */
  step: number | string;
  /** Momentum β for heavy-ball and nesterov. */
  momentum?: number | string;
}

/** An outer objective ℓ(x, θ) for bilevel optimisation, with its own data. */
export interface OuterSpec {
  objective: string;
  data?: Record<string, ShapeString>;
}

export interface MapSpec {
  name: string;
  state: Record<string, ShapeString>;
  params: Record<string, ShapeString>;
  data?: Record<string, ShapeString>;
  constants?: Record<string, number>;
  functions?: Record<string, FunctionSpec>;
  update?: Record<string, string>;
  /**
   * Update the state components in the order of `state` (Gauss–Seidel): a formula may read the
   * new value of an earlier component as `<name>_next`. Default: all at once, from x_k.
   */
  sequential?: boolean;
  objective?: string;
  method?: MethodSpec;
  outer?: OuterSpec;
  /**
   * Mini-batches: the listed data are given as `count` batches (a list of that many values of
   * their declared shape, or all of them stacked in one flat array), and step k reads batch
   * k mod count. `count` is a dim.
   */
  batches?: BatchesSpec;
}

export interface BatchesSpec {
  count: string;
  data: string[];
}

/** Identity with types: `export default defineMap({...})` in a `.phi.ts` spec. */
export function defineMap<const T extends MapSpec>(spec: T): T {
  return spec;
}
