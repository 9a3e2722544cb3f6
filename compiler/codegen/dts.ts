// Type declarations for a generated module, from the plan's names and shapes: a `.d.ts`
// beside the `.js`, or the type block at the top of an `--emit ts` module.

import type { Plan } from '../plan.js';
import { sharedTypes } from './dts-shared.js';

export function declarations(plan: Plan, declare: boolean): string {
  const forward = !!plan.segments.tangent;
  const reverse = !!plan.segments.adjoint;
  const d = declare ? 'declare ' : '';
  // --method implicit: each derivative result reports its linear solve at x_K
  const solved = plan.options.implicit ? '; solve: SolveReport' : '';
  const lines = [
    ...sharedTypes(plan, { input: 'typed arrays, plain arrays or numbers', backend: 'cpu' }),
    ...(plan.options.implicit
      ? [
          `/** The derivative entries solve (I − ∂ₓΦ) ẋ = ∂θΦ θ̇ or (I − ∂ₓΦ)ᵀ v = x̄ at x_K by ${plan.options.implicit.solver}: the one-step JVPs/VJPs (products) the call ran, and the largest true relative residual ‖b − (I − ∂ₓΦ)v‖ / ‖b‖. */`,
          `export interface SolveReport { solver: '${plan.options.implicit.solver}'; products: number; residual: number }`,
        ]
      : []),
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
          `  jvp(inputs: Inputs, direction: Direction, x0?: InitialState, observe?: Observer): { state: State; tangent: State${solved} };`,
          '  /** Forward mode over every parameter direction: the full Jacobian dx_K/dθ (dx_K/dx0: jvp with state directions, or jacobianReverse). */',
          `  jacobianForward(inputs: Inputs, x0?: InitialState, observe?: Observer): { state: State; jacobian: Jacobian${solved} };`,
        ]
      : []),
    ...(reverse
      ? [
          '  /** Reverse mode: x_K, cotangent · dx_K/dθ and cotangent · dx_K/dx0, the backward sweep stopped at T (with T > 0 x0Gradient is zero). */',
          `  vjp(inputs: Inputs, cotangent: Cotangent, x0?: InitialState, observe?: Observer): { state: State; gradient: Gradient; x0Gradient: State${solved} };`,
          '  /** Reverse mode with a cotangent per state entry: the full Jacobians dx_K/dθ and dx_K/dx0. */',
          `  jacobianReverse(inputs: Inputs, x0?: InitialState, observe?: Observer): { state: State; jacobian: Jacobian; x0Jacobian: X0Jacobian${solved} };`,
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
            ? ['  /** d/dθ ℓ(x_K(θ), θ) by reverse mode (truncated at T): the hypergradient; x0Gradient: d/dx0 (zero when T > 0). */', `  hypergradient(inputs: Inputs, x0?: InitialState, observe?: Observer): { state: State; loss: number; gradient: Gradient; x0Gradient: State${solved} };`]
            : []),
        ]
      : []),
    '}',
    '/** threads: how many threads the SIMD kernels may use (1: none started); by default the cores Node reports, at most 4, each large call split only where that has been faster. */',
    'export interface CreateOptions {\n  threads?: number;\n  /** The most bytes all buffers together may take (default 4 GiB): create() refuses a larger instance before allocating it. */\n  maxBytes?: number;\n  /** Which SIMD kernels: \'relaxed\' (fused multiply-adds, relaxed SIMD) where the engine has it, else \'simd\' (the default picks). */\n  kernels?: \'simd\' | \'relaxed\';\n}',
    `export ${d}const meta: Meta;`,
  ];
  if (declare) {
    lines.push(`export declare function create(dims${plan.options.dims ? '?' : ''}: Dims, options?: CreateOptions): Instance;`);
  }
  return lines.join('\n') + '\n';
}
