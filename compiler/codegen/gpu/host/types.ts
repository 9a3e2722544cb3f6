// Types of the GPU module's host runtime (types only: nothing here reaches a generated module).
// HostModule is what a generated module hands its runtime: the tables the emitter writes and
// the shared helpers of the JS runtime. The gpu.js interfaces are the small part of gpu.js the
// runtime uses.

/** The dims by name (D in the generated module). */
export type HostDims = Readonly<Record<string, number>>;

import type { Bound, EntryName, EntrySchedule, ProcedureName, SegmentKey, Step } from '../../../schedule/schedule.js';
export type { Bound, EntryName, SegmentKey, Step };

/** The schedule as the module carries it: the procedures, and the entries it offers by name. */
export interface HostSchedule {
  readonly procedures: Readonly<Partial<Record<ProcedureName, readonly Step[]>>>;
  readonly entries: Readonly<Partial<Record<EntryName, EntrySchedule>>>;
}

/** One kernel of the KERNELS table. */
export interface KernelSpec {
  /** The buffer it writes. */
  readonly writes: string;
  /** Whether it holds a copy per direction. */
  readonly batched: boolean;
  /** Entries per copy. */
  size(D: HostDims): number;
  /** The longest loop in its source. */
  loop(D: HostDims): number;
  /** The buffers it reads, in argument order. */
  readonly params: readonly string[];
  /** Keys of HELPERS it calls. */
  readonly helpers: readonly string[];
  readonly source: string;
}

/** A state component, a param or a data input: its user name and its size. */
export interface Variable {
  readonly name: string;
  size(D: HostDims): number;
  shape(D: HostDims): number[];
}

/** The buffers of a state component: iterate, next, tangent, adjoint. */
export interface StateSpec extends Variable {
  readonly current: string;
  readonly next: string;
  readonly dot: string;
  readonly dotNext: string;
  readonly bar: string;
  readonly barNext: string;
  /** A previous-iterate component starts equal to this one unless given. */
  readonly initialFrom?: string;
}

export interface ParamSpec extends Variable {
  readonly value: string;
  readonly dot: string;
  readonly bar: string;
}

export interface DataSpec extends Variable {
  readonly value: string;
  /** Read only by the outer objective. */
  readonly outer: boolean;
}

/** Buffers the outer objective's gradient segment writes. */
export interface OuterSpec {
  readonly loss: string;
  readonly stateGradient: readonly string[];
  readonly paramGradient: readonly string[];
}

export interface HostMatrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

/** The generated module's tables and the JS runtime's helpers, as its create() passes them. */
export interface HostModule {
  readonly K: number;
  readonly T: number;
  readonly BAKED: boolean;
  readonly meta: object;
  readonly HELPERS: Readonly<Record<string, string>>;
  readonly KERNELS: Readonly<Record<string, KernelSpec>>;
  readonly SEGMENTS: Readonly<Partial<Record<SegmentKey, readonly string[]>>>;
  readonly SCHEDULE: HostSchedule;
  readonly STATE: readonly StateSpec[];
  readonly PARAMS: readonly ParamSpec[];
  readonly DATA: readonly DataSpec[];
  readonly OUTER: OuterSpec | null;
  fail(category: string, message: string, details?: object): never;
  checkKeys(object: unknown, allowed: readonly string[], what: string): void;
  toFlat(value: unknown, dest: Float32Array, what: string, shape: readonly number[]): void;
  nonFinite(buffer: ArrayLike<number>, count: number): number;
  matrix(rows: number, cols: number, data: Float64Array): HostMatrix;
}

/** A gpu.js kernel class: gpu.Kernel, or the constructor of a built kernel. */
export interface KernelClass {
  readonly name: string;
  readonly mode?: string;
  readonly features?: { readonly maxTextureSize?: number | null } | null;
}

/** A kernel gpu.js built: called with its arguments, it returns a texture (GL) or an array. */
export interface GpuKernelFunction {
  (...args: unknown[]): unknown;
  readonly kernel: { readonly constructor: KernelClass; readonly context?: unknown; readonly fallbackReason?: string | null };
  destroy?(): void;
}

/** A gpu.js pipeline: one traced program, results by the keys the program returns. */
export interface GpuPipeline {
  (...args: unknown[]): Promise<Record<string, unknown>>;
  readonly backend?: string;
  readonly fallbackReason?: string | null;
  destroy(): Promise<void> | void;
}

/** The app's gpu.js GPU instance. */
export interface GpuLike {
  readonly mode?: string;
  readonly Kernel?: KernelClass | null;
  readonly context?: unknown;
  createKernel(source: string, settings: object): GpuKernelFunction;
  createPipeline(fn: (...args: unknown[]) => unknown): GpuPipeline;
}

/** What create()'s options may say. */
export interface HostOptions {
  readonly requireGpu?: boolean;
  readonly executor?: ExecutorChoice;
  readonly maxTextureSize?: number;
}

export type ExecutorChoice = 'auto' | 'kernels' | 'pipeline';

/** The state of one instance, shared by the host functions. */
export interface Host {
  readonly m: HostModule;
  readonly gpu: GpuLike;
  readonly D: HostDims;
  readonly requireGpu: boolean;
  readonly executor: ExecutorChoice;
  readonly asyncMode: boolean;
  readonly maxTexture: number | null;
  /** Built kernels by id and copies, and the utility kernels by kind and size. */
  readonly kernels: Map<string, GpuKernelFunction>;
  /** Traced pipelines by entry, copies and input names. */
  readonly pipelines: Map<string, GpuPipeline>;
  /** The backend gpu.js picked, before and after the probe. */
  predicted: string;
  probed: string | null;
  /** The backend that ran the last call. */
  actual: string | null;
  destroyed: boolean;
}

/** How program() runs kernels: run(kernel id, args), zeros(n), hold/drop (reference counts). */
export interface Executor {
  run(id: string, args: unknown[]): unknown;
  zeros(n: number): unknown;
  hold(h: unknown): void;
  drop(h: unknown): void;
}

/** The results of one call, read back: keys like 'state:x', 'tangent:x', 'gradient:p', 'x0Gradient:x', 'loss'. */
export interface Execution {
  readonly values: Record<string, Float64Array>;
  readonly backend: string;
  readonly executor: 'pipeline' | 'kernels';
  readonly fallbackReason: string | null | undefined;
}

/** Inputs, x0, directions and cotangents by user name. */
export type ByName = Readonly<Record<string, unknown>>;
