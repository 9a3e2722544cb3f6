// Type declarations for a generated GPU module: the same names and shapes as the CPU
// module's, with asynchronous functions (gpu.js readback is asynchronous) whose results
// carry their precision and the gpu.js backend that ran.

import type { Plan } from '../../plan.js';
import { sharedTypes } from '../dts-shared.js';

export function gpuDeclarations(plan: Plan, declare: boolean): string {
  const forward = !!plan.segments.tangent;
  const reverse = !!plan.segments.adjoint;
  const d = declare ? 'declare ' : '';
  const lines = [
    ...sharedTypes(plan, { input: 'typed arrays, plain arrays or numbers, rounded to float32', state: 'Float64Array copies of float32 results.', backend: 'gpu' }),
    "/** gpu.js backends: the GL ones and webgpu run on a GPU; webasm and cpu are CPU fallbacks. */\nexport type Backend = 'headlessgl' | 'webgl2' | 'webgl' | 'webgpu' | 'webasm' | 'cpu' | (string & {});",
    "/** What every result carries: the backend that actually ran, and float32 precision. */\nexport interface RunInfo {\n  backend: Backend;\n  precision: 'float32';\n  /** How the kernels were driven: one gpu.js pipeline, or kernel by kernel with device textures. */\n  executor: 'pipeline' | 'kernels';\n}",
    "export interface Options {\n  /** Fail instead of running on a CPU fallback (webasm, cpu). */\n  requireGpu?: boolean;\n  /** 'auto' (default): a gpu.js pipeline on webasm and webgpu, kernel by kernel on GL. */\n  executor?: 'auto' | 'pipeline' | 'kernels';\n  /** Largest texture side to allow (default: the device's). */\n  maxTextureSize?: number;\n}",
    '/** The gpu.js GPU instance the app created (only its createKernel/createPipeline are used). */',
    'export interface GPULike {\n  createKernel(source: string, settings?: object): unknown;\n  createPipeline(fn: (...args: unknown[]) => unknown, settings?: object): unknown;\n  mode?: string;\n}',
    'export interface Instance {',
    '  readonly meta: Meta;',
    '  readonly dims: Readonly<Required<Dims>>;',
    "  readonly precision: 'float32';",
    '  /** The gpu.js backend that ran the last call (before any call: the one gpu.js picked). */',
    '  readonly backend: Backend;',
    '  /** Runs all K iterations and returns x_K. */',
    '  iterate(inputs: Inputs, x0?: InitialState): Promise<{ state: State } & RunInfo>;',
    ...(forward
      ? [
          '  /** Forward mode: x_K and dx_K/d(θ, x0) · direction over the last K - T iterations (with T > 0 the x0 part is zero). */',
          '  jvp(inputs: Inputs, direction: Direction, x0?: InitialState): Promise<{ state: State; tangent: State } & RunInfo>;',
          '  /** Forward mode over every parameter direction at once: the full Jacobian dx_K/dθ (dx_K/dx0: jvp with state directions, or jacobianReverse). */',
          '  jacobianForward(inputs: Inputs, x0?: InitialState): Promise<{ state: State; jacobian: Jacobian } & RunInfo>;',
        ]
      : []),
    ...(reverse
      ? [
          '  /** Reverse mode: x_K, cotangent · dx_K/dθ and cotangent · dx_K/dx0, the backward sweep stopped at T (with T > 0 x0Gradient is zero). */',
          '  vjp(inputs: Inputs, cotangent: Cotangent, x0?: InitialState): Promise<{ state: State; gradient: Gradient; x0Gradient: State } & RunInfo>;',
          '  /** Reverse mode with a cotangent per state entry, all at once: the full Jacobians dx_K/dθ and dx_K/dx0. */',
          '  jacobianReverse(inputs: Inputs, x0?: InitialState): Promise<{ state: State; jacobian: Jacobian; x0Jacobian: X0Jacobian } & RunInfo>;',
        ]
      : []),
    ...(plan.outer && reverse
      ? ['  /** d/dθ ℓ(x_K(θ), θ) by reverse mode (truncated at T): the hypergradient; x0Gradient: d/dx0 (zero when T > 0). */', '  hypergradient(inputs: Inputs, x0?: InitialState): Promise<{ state: State; loss: number; gradient: Gradient; x0Gradient: State } & RunInfo>;']
      : []),
    '  /** Resolves at once: kernels are built, and the backend probed, by the first call (ready() is there for code written for either backend). */',
    '  ready(): Promise<void>;',
    "  /** Releases this instance's kernels and pipelines (not the app's GPU). */",
    '  destroy(): Promise<void>;',
    '}',
    `export ${d}const meta: Meta;`,
  ];
  if (declare) lines.push(`export declare function create(gpu: GPULike, dims${plan.options.dims ? '?' : ''}: Dims${plan.options.dims ? ' | null' : ''}, options?: Options): Instance;`);
  return lines.join('\n') + '\n';
}
