// The types of a module compiled in-process from a spec whose literal types are known
// (`defineMap({...})`, or a spec written inline): input, state and result names from the spec,
// each input typed by the rank of its shape string, the entry points the mode has, and `meta`
// with the literal K, t, mode and dims of the options. A widened spec (`MapSpec`) or mode
// falls back to the loose types of index.ts.

import type { MapSpec } from '../compiler/spec/types.js';
import type { CompileOptions } from '../compiler/pipeline.js';

/** A dense row-major matrix, as generated modules return them. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** A scalar input: the runtime takes a number. */
export type ScalarInput = number;
/** A vector input: a typed array or a plain array of numbers, of the vector's length. */
export type VectorInput = Float64Array | Float32Array | readonly number[];
/** A matrix input: row-major and flat (as a vector of rows × cols entries), or an array of rows. */
export type MatrixInput = VectorInput | readonly (readonly number[])[];
/** Any input, when its shape is not known to the type checker. */
export type TensorInput = MatrixInput | number;

type Trim<S extends string> = S extends ` ${infer R}` ? Trim<R> : S extends `${infer R} ` ? Trim<R> : S;
/** The input type of a shape string: '' a scalar, 'n' a vector, 'm,n' a matrix (as the spec reader parses it). */
export type InputOfShape<S> = S extends string ? (string extends S ? TensorInput : Trim<S> extends '' ? ScalarInput : S extends `${string},${string}` ? MatrixInput : VectorInput) : TensorInput;
/** The dim names a shape string uses. */
type DimsOfShape<S> = S extends `${infer A},${infer B}` ? Trim<A> | Trim<B> : S extends string ? Exclude<Trim<S>, ''> : never;

type Shapes = Readonly<Record<string, string>>;
type FieldOf<T, K extends string> = T extends { readonly [P in K]: infer R extends Shapes } ? R : {};
type StateOf<S> = FieldOf<S, 'state'>;
type ParamsOf<S> = FieldOf<S, 'params'>;
type DataOf<S> = FieldOf<S, 'data'>;
type OuterDataOf<S> = S extends { readonly outer: infer O } ? FieldOf<O, 'data'> : {};
type BatchedOf<S> = S extends { readonly batches: { readonly data: readonly (infer B extends string)[] } } ? B : never;
type BatchCountOf<S> = S extends { readonly batches: { readonly count: infer C extends string } } ? Trim<C> : never;
type HasOuter<S> = S extends { readonly outer: object } ? true : false;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type Inputs<R extends Shapes> = { [K in keyof R]: InputOfShape<R[K]> };
type OptionalInputs<R extends Shapes> = { [K in keyof R]?: InputOfShape<R[K]> };
type Vectors<R extends Shapes> = { [K in keyof R]: Float64Array };
type Blocks<R extends Shapes, C extends Shapes> = { [K in keyof R]: { [J in keyof C]: Matrix } };

/** Whether the spec's names are known to the type checker (a literal spec), not widened to MapSpec. */
export type IsExactSpec<S> = string extends keyof StateOf<S> ? false : string extends keyof ParamsOf<S> ? false : true;

/** The params and data by name; mini-batched data as a list of batches or one flat array; the outer objective's data optional. */
export type SpecInputs<S> = Simplify<
  Inputs<ParamsOf<S>> &
    { [K in Exclude<keyof DataOf<S>, BatchedOf<S>>]: InputOfShape<DataOf<S>[K]> } &
    { [K in Extract<keyof DataOf<S>, BatchedOf<S>>]: readonly InputOfShape<DataOf<S>[K]>[] | Float64Array | Float32Array } &
    OptionalInputs<OuterDataOf<S>>
>;
export type SpecInitialState<S> = Simplify<OptionalInputs<StateOf<S>>>;
export type SpecState<S> = Simplify<Vectors<StateOf<S>>>;
export type SpecGradient<S> = Simplify<Vectors<ParamsOf<S>>>;
/** A direction in (θ, x0): by param and by state name. */
export type SpecDirection<S> = Simplify<OptionalInputs<ParamsOf<S>> & OptionalInputs<StateOf<S>>>;
export type SpecJacobian<S> = Blocks<StateOf<S>, ParamsOf<S>>;
export type SpecX0Jacobian<S> = Blocks<StateOf<S>, StateOf<S>>;
/** The dims the spec's shapes (and its batch count) name. */
export type SpecDimName<S> = { [K in keyof StateOf<S>]: DimsOfShape<StateOf<S>[K]> }[keyof StateOf<S>] | { [K in keyof ParamsOf<S>]: DimsOfShape<ParamsOf<S>[K]> }[keyof ParamsOf<S>] | { [K in keyof DataOf<S>]: DimsOfShape<DataOf<S>[K]> }[keyof DataOf<S>] | { [K in keyof OuterDataOf<S>]: DimsOfShape<OuterDataOf<S>[K]> }[keyof OuterDataOf<S>] | BatchCountOf<S>;
export type SpecDims<S> = Readonly<Record<SpecDimName<S>, number>>;

type ModeOf<O> = O extends { readonly mode: infer M } ? M : CompileOptions['mode'];
type HasForward<O> = ModeOf<O> extends 'forward' | 'both' ? true : false;
type HasReverse<O> = ModeOf<O> extends 'reverse' | 'both' ? true : false;
/** Whether the mode is a literal the checker knows (not widened to Mode). */
type KnownMode<O> = CompileOptions['mode'] extends ModeOf<O> ? false : true;
/** Whether create() may be called without dims: they are baked in. */
export type BakedDims<O> = O extends { readonly dims: object } ? true : false;

/** The module's meta object, with the literals the options fixed. */
export interface SpecMeta<S, O> {
  readonly name: S extends { readonly name: infer N extends string } ? N : string;
  readonly phicVersion: string;
  readonly specHash: string;
  readonly backend: O extends { readonly backend: 'gpu' } ? 'gpu' : 'cpu';
  readonly precision: O extends { readonly backend: 'gpu' } ? 'float32' : 'float64';
  readonly mode: ModeOf<O>;
  readonly K: O extends { readonly K: infer K extends number } ? K : number;
  readonly truncate: O extends { readonly truncate: infer T extends number } ? T : 0;
  readonly dims: O extends { readonly dims: infer D extends object } ? Readonly<D> : null;
  readonly state: readonly { readonly name: string; readonly shape: readonly string[]; readonly initialFrom?: string }[];
  readonly params: readonly { readonly name: string; readonly shape: readonly string[] }[];
  readonly data: readonly { readonly name: string; readonly shape: readonly string[] }[];
  readonly iterationDependent?: true;
  readonly batches?: { readonly count: string; readonly data: readonly string[] };
  /** `method: 'implicit'`: the solver and its budget. */
  readonly method?: 'implicit';
  readonly implicit?: { readonly solver: SolveReport['solver']; readonly steps: number; readonly restart: number; readonly tolerance: number; readonly warmStart: boolean };
}

/** What an `observe` callback sees (live buffers: copy what you keep). */
export type SpecObservation<S> =
  | { phase: 'idle' | 'record'; k: number; state: SpecState<S> }
  | { phase: 'forward'; k: number; state: SpecState<S>; tangent: SpecState<S> }
  | { phase: 'backward'; k: number; adjoint: SpecState<S>; gradient: SpecGradient<S> };
export type SpecObserver<S> = (observation: SpecObservation<S>) => void;

/**
 * An entry point's result R, synchronous (CPU) or as a promise with the run's info (GPU). `Wrap`
 * maps the result type: one interface per entry list serves both back ends.
 */
interface Wrapper {
  readonly result: unknown;
  readonly out: unknown;
}
type Wrap<W extends Wrapper, R> = (W & { readonly result: R })['out'];

/** What a result of `--method implicit` adds: its solve's solver, one-step products and true relative residual. */
export interface SolveReport {
  readonly solver: 'neumann' | 'cg' | 'gmres' | 'bicgstab';
  readonly products: number;
  readonly residual: number;
}
/** The fields the options add to every derivative result: the solve report for `method: 'implicit'`. */
export type SolveOf<O> = O extends { readonly method: 'implicit' } ? { solve: SolveReport } : {};

type ForwardEntries<S, W extends Wrapper, Obs extends unknown[], X = {}> = {
  /** Forward mode: x_K and dx_K/d(θ, x0) · direction over the last K - T iterations (with T > 0 the x0 part is zero). */
  jvp(inputs: SpecInputs<S>, direction: SpecDirection<S>, x0?: SpecInitialState<S>, ...observe: Obs): Wrap<W, { state: SpecState<S>; tangent: SpecState<S> } & X>;
  /** Forward mode over every parameter direction: the full Jacobian dx_K/dθ. */
  jacobianForward(inputs: SpecInputs<S>, x0?: SpecInitialState<S>, ...observe: Obs): Wrap<W, { state: SpecState<S>; jacobian: SpecJacobian<S> } & X>;
};
type ReverseEntries<S, W extends Wrapper, Obs extends unknown[], X = {}> = {
  /** Reverse mode: x_K, cotangent · dx_K/dθ and cotangent · dx_K/dx0 (zero when T > 0). */
  vjp(inputs: SpecInputs<S>, cotangent: SpecInitialState<S>, x0?: SpecInitialState<S>, ...observe: Obs): Wrap<W, { state: SpecState<S>; gradient: SpecGradient<S>; x0Gradient: SpecState<S> } & X>;
  /** Reverse mode with a cotangent per state entry: the full Jacobians dx_K/dθ and dx_K/dx0. */
  jacobianReverse(inputs: SpecInputs<S>, x0?: SpecInitialState<S>, ...observe: Obs): Wrap<W, { state: SpecState<S>; jacobian: SpecJacobian<S>; x0Jacobian: SpecX0Jacobian<S> } & X>;
};
type HypergradientEntry<S, W extends Wrapper, Obs extends unknown[], X = {}> = {
  /** d/dθ ℓ(x_K(θ), θ) by reverse mode (truncated at T): the hypergradient. */
  hypergradient(inputs: SpecInputs<S>, x0?: SpecInitialState<S>, ...observe: Obs): Wrap<W, { state: SpecState<S>; loss: number; gradient: SpecGradient<S>; x0Gradient: SpecState<S> } & X>;
};

/** The derivative entry points of the mode: present when the mode has them, all optional when the mode is not a literal. */
export type ModeEntries<S, O, W extends Wrapper, Obs extends unknown[]> =
  KnownMode<O> extends false
    ? Partial<ForwardEntries<S, W, Obs, SolveOf<O>> & ReverseEntries<S, W, Obs, SolveOf<O>> & HypergradientEntry<S, W, Obs, SolveOf<O>>>
    : (HasForward<O> extends true ? ForwardEntries<S, W, Obs, SolveOf<O>> : {}) &
        (HasReverse<O> extends true ? ReverseEntries<S, W, Obs, SolveOf<O>> & (HasOuter<S> extends true ? HypergradientEntry<S, W, Obs, SolveOf<O>> : {}) : {});

export interface CpuResult extends Wrapper {
  readonly out: this['result'];
}

/** A CPU instance of a module compiled from a literal spec. */
export type SpecMapInstance<S, O> = {
  readonly meta: SpecMeta<S, O>;
  readonly dims: SpecDims<S>;
  /** Runs all K iterations and returns x_K. */
  iterate(inputs: SpecInputs<S>, x0?: SpecInitialState<S>, observe?: SpecObserver<S>): { state: SpecState<S> };
  partialX(inputs: SpecInputs<S>, point: SpecInitialState<S>): Matrix;
  partialTheta(inputs: SpecInputs<S>, point: SpecInitialState<S>): Matrix;
  bufferBytes(): number;
  threads(): number;
  ready(): Promise<void>;
  release(): void;
} & ModeEntries<S, O, CpuResult, [observe?: SpecObserver<S>]> &
  (HasOuter<S> extends true ? { outerAt(inputs: SpecInputs<S>, point: SpecInitialState<S>): { loss: number; stateGradient: SpecState<S>; paramGradient: SpecGradient<S> } } : {});

/** What every GPU result carries: the gpu.js backend that actually ran, and float32 precision. */
export interface GpuRunInfo {
  backend: string;
  precision: 'float32';
  executor: 'pipeline' | 'kernels';
}
export interface GpuResult extends Wrapper {
  readonly out: Promise<this['result'] & GpuRunInfo>;
}

/** A GPU instance of a module compiled from a literal spec: asynchronous, float32 results as Float64Array copies. */
export type SpecGpuMapInstance<S, O> = {
  readonly meta: SpecMeta<S, O>;
  readonly dims: SpecDims<S>;
  readonly precision: 'float32';
  readonly backend: string;
  iterate(inputs: SpecInputs<S>, x0?: SpecInitialState<S>): Promise<{ state: SpecState<S> } & GpuRunInfo>;
  ready(): Promise<void>;
  destroy(): Promise<void>;
} & ModeEntries<S, O, GpuResult, []>;
