// Type declarations for a generated module, from the plan's names and shapes: a `.d.ts`
// beside the `.js`, or the type block at the top of an `--emit ts` module.

import type { Plan } from '../plan.js';

export function declarations(plan: Plan, declare: boolean): string {
  const forward = !!plan.segments.tangent;
  const reverse = !!plan.segments.adjoint;
  const d = declare ? 'declare ' : '';
  const lines = [
    ...sharedTypes(plan, { input: 'typed array, (nested) array or number' }),
    '/**',
    ' * Seen by an `observe` callback after every iteration (k counts completed iterations). The',
    " * arrays are the module's live buffers: copy what you keep. Tangent and adjoint buffers hold one",
    ' * copy per direction. In the backward sweep, after step k, `gradient` holds the sweep stopped at k.',
    ' */',
    "export type Observation =\n  | { phase: 'idle' | 'record'; k: number; state: State }\n  | { phase: 'forward'; k: number; state: State; tangent: State }\n  | { phase: 'backward'; k: number; adjoint: State; gradient: Gradient };",
    'export type Observer = (observation: Observation) => void;',
    'export interface Instance {',
    '  readonly meta: Meta;',
    '  readonly dims: Readonly<Required<Dims>>;',
    '  /** Runs all K iterations and returns x_K. */',
    '  iterate(inputs: Inputs, x0?: InitialState, observe?: Observer): { state: State };',
    ...(forward
      ? [
          '  /** Forward mode: x_K and dx_K/d(θ, x0) · direction over the last K - T iterations (with T > 0 the x0 part is zero). */',
          '  jvp(inputs: Inputs, direction: Direction, x0?: InitialState, observe?: Observer): { state: State; tangent: State };',
          '  /** Forward mode over every parameter direction: the full Jacobian dx_K/dθ (dx_K/dx0: jvp with state directions, or jacobianReverse). */',
          '  jacobianForward(inputs: Inputs, x0?: InitialState, observe?: Observer): { state: State; jacobian: Jacobian };',
        ]
      : []),
    ...(reverse
      ? [
          '  /** Reverse mode: x_K, cotangent · dx_K/dθ and cotangent · dx_K/dx0, the backward sweep stopped at T (with T > 0 x0Gradient is zero). */',
          '  vjp(inputs: Inputs, cotangent: Cotangent, x0?: InitialState, observe?: Observer): { state: State; gradient: Gradient; x0Gradient: State };',
          '  /** Reverse mode with a cotangent per state entry: the full Jacobians dx_K/dθ and dx_K/dx0. */',
          '  jacobianReverse(inputs: Inputs, x0?: InitialState, observe?: Observer): { state: State; jacobian: Jacobian; x0Jacobian: X0Jacobian };',
        ]
      : []),
    '  /** Bytes held by the buffers: all of them allocated by create(), the per-direction ones by the first call that needs them. */',
    '  bufferBytes(): number;',
    '  /** Threads the SIMD kernels run on now: 1 until the worker threads, started by the first large call, are ready (and always 1 without kernels or worker threads). */',
    '  threads(): number;',
    '  /** Starts the worker threads and resolves once they are ready (at once without kernels or worker threads): a synchronous loop of calls after `await ready()` uses them. */',
    '  ready(): Promise<void>;',
    '  /** Stops the worker threads, if any; the instance goes on, on one thread. */',
    '  release(): void;',
    '  /** ∂Φ/∂x at a point, over the concatenated state components. */',
    '  partialX(inputs: Inputs, point: InitialState): Matrix;',
    '  /** ∂Φ/∂θ at a point: rows over the state, columns over the concatenated params. */',
    '  partialTheta(inputs: Inputs, point: InitialState): Matrix;',
    ...(plan.outer
      ? [
          '  /** The outer objective ℓ(x, θ) at x = point, with its gradients. */',
          '  outerAt(inputs: Inputs, point: InitialState): { loss: number; stateGradient: State; paramGradient: Gradient };',
          ...(reverse
            ? ['  /** d/dθ ℓ(x_K(θ), θ) by reverse mode (truncated at T): the hypergradient; x0Gradient: d/dx0 (zero when T > 0). */', '  hypergradient(inputs: Inputs, x0?: InitialState, observe?: Observer): { state: State; loss: number; gradient: Gradient; x0Gradient: State };']
            : []),
        ]
      : []),
    '}',
    '/** threads: how many threads the SIMD kernels may use (1: none started); by default the cores Node reports, at most 4. */',
    'export interface CreateOptions {\n  threads?: number;\n  /** The most bytes all buffers together may take (default 4 GiB): create() refuses a larger instance before allocating it. */\n  maxBytes?: number;\n}',
    `export ${d}const meta: Meta;`,
  ];
  if (declare) {
    lines.push(`export declare function create(dims${plan.options.dims ? '?' : ''}: Dims, options?: CreateOptions): Instance;`);
  }
  return lines.join('\n') + '\n';
}

/** The data types both backends' declarations share: inputs, state, results, dims, meta. */
export function sharedTypes(plan: Plan, notes: { input: string; state?: string }): string[] {
  const { model } = plan;
  const fields = (names: readonly string[], type: string, optional = false) => names.map((n) => `  ${n}${optional ? '?' : ''}: ${type};`).join('\n');
  const stateNames = model.state.map((s) => s.name);
  const paramNames = model.params.map((p) => p.name);
  const inputNames = [...paramNames, ...model.data.map((d) => d.name)];
  const outerNames = model.outerData.map((d) => d.name);
  // mini-batched data: a list of batches, or all of them in one flat array
  const batched = new Set(model.batches?.data ?? []);
  return [
    '/** A dense row-major matrix. */',
    'export interface Matrix {\n  rows: number;\n  cols: number;\n  data: Float64Array;\n}',
    `/** A scalar, a vector or a row-major matrix: ${notes.input}. */`,
    'export type TensorInput = Float64Array | Float32Array | readonly number[] | readonly (readonly number[])[] | number;',
    `export interface Inputs {\n${[fields(inputNames.filter((x) => !batched.has(x)), 'TensorInput'), ...(batched.size ? [fields([...batched], 'readonly TensorInput[] | Float64Array | Float32Array')] : []), ...(outerNames.length ? [fields(outerNames, 'TensorInput', true)] : [])].filter(Boolean).join('\n')}\n}`,
    `export interface InitialState {\n${fields(stateNames, 'TensorInput', true)}\n}`,
    ...(notes.state ? [`/** ${notes.state} */`] : []),
    `export interface State {\n${fields(stateNames, 'Float64Array')}\n}`,
    '/** A direction in (θ, x0): by param and by state name (names are unique across fields). */',
    `export interface Direction {\n${fields([...paramNames, ...stateNames], 'TensorInput', true)}\n}`,
    `export interface Cotangent {\n${fields(stateNames, 'TensorInput', true)}\n}`,
    `export interface Gradient {\n${fields(paramNames, 'Float64Array')}\n}`,
    `/** jacobian[state][param]: rows are the state's entries, columns the param's. */\nexport type Jacobian = {\n${stateNames.map((s) => `  ${s}: {\n${paramNames.map((p) => `    ${p}: Matrix;`).join('\n')}\n  };`).join('\n')}\n};`,
    `/** x0Jacobian[state][initial state]: dx_K/dx0, rows are the state's entries, columns the initial state's. */\nexport type X0Jacobian = {\n${stateNames.map((s) => `  ${s}: {\n${stateNames.map((c) => `    ${c}: Matrix;`).join('\n')}\n  };`).join('\n')}\n};`,
    `export interface Dims {\n${fields(model.dims, 'number', !!plan.options.dims)}\n}`,
    'export interface Meta {\n  name: string;\n  phicVersion: string;\n  specHash: string;\n  backend: string;\n  precision: string;\n  mode: string;\n  K: number;\n  truncate: number;\n  dims: Record<string, number> | null;\n  state: { name: string; shape: string[]; initialFrom?: string }[];\n  params: { name: string; shape: string[] }[];\n  data: { name: string; shape: string[] }[];\n  /** Present when the map reads the iteration index k. */\n  iterationDependent?: true;\n  /** Present when data come as mini-batches (step k reads batch k mod count). */\n  batches?: { count: string; data: string[] };\n}',
  ];
}
