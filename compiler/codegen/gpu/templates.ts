// gpu.js code for loop-IR scalar expressions: each op prints by the `gpu` template of its
// registry entry (compiler/ops/elementwise.ts) through the shared template printer, and
// GPU_HELPERS holds the scalar helpers (compiler/ops/helpers.ts) as gpu.js function sources.
// Kernel bodies are gpu.js's JavaScript subset, which it translates to GLSL (WebGL), WGSL or
// WebAssembly, so the operators are JavaScript's; what differs is the functions. In float32,
// gpu.js's tanh polyfill overflows to NaN for |v| > 44 and its log1p is log(1 + v), which
// rounds small v away: on the GPU, Math.tanh and Math.log1p are the helpers of those names.

import { PhicError } from '../../errors.js';
import type { IndexExpr, ScalarExpr } from '../../lower/loop-ir.js';
import { findOp } from '../../ops/index.js';
import { helperNames, helperSource } from '../../ops/helpers.js';
import { numberLiteral, printTemplate, type Callees } from '../print-template.js';
import { Level, type Printed } from '../precedence.js';

/** Math functions replaced on the GPU by the scalar helper of the same name. */
const REPLACED_MATH: ReadonlySet<string> = new Set(['tanh', 'log1p']);

/** A helper's name in kernels. */
const gpuName = (helper: string) => `phic_${helper}`;

/** A helper's gpu.js source: its one source text with helpers and replaced Math functions called by their kernel names. */
function gpuSource(name: string): string {
  let text = helperSource(name);
  for (const h of helperNames()) text = text.replace(new RegExp(`(?<![\\w$.])${h}\\(`, 'g'), `${gpuName(h)}(`);
  for (const fn of REPLACED_MATH) text = text.replaceAll(`Math.${fn}(`, `${gpuName(fn)}(`);
  return text;
}

/**
 * Helper functions, by kernel name, as gpu.js function sources (added per kernel, only those
 * it calls).
 */
export const GPU_HELPERS: Readonly<Record<string, string>> = Object.fromEntries(helperNames().map((h) => [gpuName(h), gpuSource(h)]));

/** The helpers a helper calls, directly or through others, by kernel name. */
function helperClosure(name: string, into: Set<string>) {
  if (into.has(name)) return;
  into.add(name);
  for (const m of GPU_HELPERS[name]!.matchAll(/(?<![\w$.])(phic_\w+)\(/g)) helperClosure(m[1]!, into);
}

/** Callees in kernels, recording the helpers they call in `helpers`. */
const callees = (helpers: Set<string>): Callees => {
  const helper = (name: string) => {
    helperClosure(gpuName(name), helpers);
    return gpuName(name);
  };
  return { helper, math: (fn) => (REPLACED_MATH.has(fn) ? helper(fn) : `Math.${fn}`) };
};

/** An op's gpu.js code from its printed arguments, by its registry entry's `gpu` template. */
export function printOp(op: string, args: readonly Printed[], helpers: Set<string>): Printed {
  const def = findOp(op);
  if (def?.kind !== 'elementwise') throw unsupportedOp(op);
  return printTemplate(def.emit.gpu, args, callees(helpers));
}

export interface GpuPrinter {
  /** A dim: its literal size when baked, else a reference to the kernel's constants. */
  dim(name: string): string;
  /** A load, given the buffer and its flat index within one copy. */
  load(buffer: string, index: IndexExpr): string;
  /** A local: its name, or (for a value computed outside the kernel) an expression. */
  local(name: string): Printed;
}

/** Prints a scalar expression, collecting the helpers it calls. Unknown ops are an error naming the op. */
export function printScalar(e: ScalarExpr, p: GpuPrinter, helpers: Set<string>): Printed {
  switch (e.kind) {
    case 'num':
      return { text: numberLiteral(e.value), level: e.value < 0 ? Level.Unary : Level.Atom };
    case 'local':
      return p.local(e.name);
    case 'load':
      return { text: p.load(e.buffer, e.index), level: Level.Atom };
    case 'call':
      return printOp(e.op, e.args.map((a) => printScalar(a, p, helpers)), helpers);
  }
}

export function unsupportedOp(op: string): PhicError {
  return new PhicError('spec', `the GPU backend cannot express op '${op}': it has no gpu.js template (use --backend cpu for this spec)`);
}
