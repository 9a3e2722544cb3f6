// The config file of `phic generate` (phic.config.ts or phic.config.json): which maps to
// generate from which spec files, with which options, into which folders. `defineConfig`
// gives it its type in a .ts config; the file is read statically, never run (like specs).

/** Options a target takes, each defaulting to the config's top level, then to phic's default. */
export interface GenerateOptions {
  /** Derivative code to emit (default 'both'). */
  mode?: 'forward' | 'reverse' | 'both';
  /** Iterations K: required, in the target or at the top level. */
  K?: number;
  /** Truncation index t (default 0). */
  truncate?: number;
  /** Dims baked into the code, e.g. { m: 100, n: 40 } (default: bound by create(dims)). */
  dims?: Record<string, number>;
  /** `.js` + `.d.ts` (default), or one `.ts`. */
  emit?: 'js' | 'ts';
  /** 'cpu' (default, float64) or 'gpu' (gpu.js kernels, float32). */
  backend?: 'cpu' | 'gpu';
  /** CPU backend: 'wasm' SIMD kernels (default) or plain 'js' loops. */
  kernels?: 'wasm' | 'js';
  /** 'unrolled' (default) or 'implicit': a matrix-free linear solve at x_K (CPU backend). */
  method?: 'unrolled' | 'implicit';
  /** method implicit: 'neumann', 'cg', 'gmres' (default) or 'bicgstab'. */
  solver?: 'neumann' | 'cg' | 'gmres' | 'bicgstab';
  /** method implicit: the most products with ∂ₓΦ per solve (default 100; neumann runs exactly this many). */
  solverSteps?: number;
  /** method implicit, solver gmres: the restart length (default 30). */
  restart?: number;
  /** method implicit: stop at this relative residual (default 1e-12; neumann: 0). */
  tolerance?: number;
  /** method implicit: start each single-direction solve from the previous call's solution. */
  warmStart?: boolean;
  /** Reverse mode: keep this many checkpoint states instead of a tape of K − t, recomputing the rest (binomial checkpointing). */
  checkpoints?: number;
  /** Output folder, relative to the config file (default: the config file's folder). */
  out?: string;
}

/** One spec file to generate from. */
export interface GenerateTarget extends GenerateOptions {
  /** The spec file (.json, .ts or .mts), relative to the config file. */
  spec: string;
  /** The maps to generate from a file that defines several (default: all of them). */
  maps?: string[];
}

export interface PhicConfig extends GenerateOptions {
  /** A JSON Schema for editors (phic ships node_modules/phic/schema/config.schema.json). */
  $schema?: string;
  /** The spec files to generate from, in order. */
  generate: GenerateTarget[];
}

/** Identity with types: `export default defineConfig({...})` in phic.config.ts. */
export function defineConfig<const T extends PhicConfig>(config: T): T {
  return config;
}
