// gpu.js templates for loop-IR scalar expressions: one entry per elementwise op, plus one
// precedence table, the same shape as the JavaScript emitter's JS_TEMPLATES. Kernel bodies
// are gpu.js's JavaScript subset, which it translates to GLSL (WebGL), WGSL or WebAssembly,
// so the operators are JavaScript's; what differs is the functions. GLSL has no `tanh` of
// its own (gpu.js's polyfill overflows to NaN for |v| > 44), no `log1p`, and `pow(v, e)` is
// undefined for v < 0 even when e is an integer, so those go through helpers written here.

import { PhicError } from '../../errors.js';
import type { IndexExpr, ScalarExpr } from '../../lower/loop-ir.js';
import { numberLiteral } from '../js-templates.js';
import { Level, wrap, type Printed } from '../precedence.js';


/** A template prints an op from its printed arguments and records the helpers it calls. */
type Template = (args: readonly Printed[], helpers: Set<string>) => Printed;

const call = (fn: string, helper?: string): Template => (args, helpers) => {
  if (helper) helpers.add(helper);
  return { text: `${fn}(${args.map((a) => a.text).join(', ')})`, level: Level.Atom };
};

/** An integer literal, as printed (`2`, `-3`), or null. */
function integerLiteral(p: Printed): number | null {
  return /^-?\d+$/.test(p.text) ? Number(p.text) : null;
}

/** Entry per registry op; a test checks that every elementwise op has one. */
export const GPU_TEMPLATES: Readonly<Record<string, Template>> = {
  add: ([a, b]) => ({ text: `${wrap(a!, Level.Sum)} + ${wrap(b!, Level.Sum)}`, level: Level.Sum }),
  sub: ([a, b]) => ({ text: `${wrap(a!, Level.Sum)} - ${wrap(b!, Level.Product)}`, level: Level.Sum }),
  mul: ([a, b]) => ({ text: `${wrap(a!, Level.Product)} * ${wrap(b!, Level.Product)}`, level: Level.Product }),
  div: ([a, b]) => ({ text: `${wrap(a!, Level.Product)} / ${wrap(b!, Level.Unary)}`, level: Level.Product }),
  neg: ([a]) => ({ text: `-${a!.text.startsWith('-') ? `(${a!.text})` : wrap(a!, Level.Unary)}`, level: Level.Unary }),
  // GLSL's pow is undefined for a negative base: integer exponents go through |v|^e with the sign put back.
  pow: ([a, e], helpers) => {
    const k = integerLiteral(e!);
    if (k === 2) {
      helpers.add('phic_sq');
      return { text: `phic_sq(${a!.text})`, level: Level.Atom };
    }
    if (k !== null) {
      const helper = k % 2 === 0 ? 'phic_pow_even' : 'phic_pow_odd';
      helpers.add(helper);
      return { text: `${helper}(${a!.text}, ${e!.text})`, level: Level.Atom };
    }
    return { text: `Math.pow(${a!.text}, ${e!.text})`, level: Level.Atom };
  },
  exp: call('Math.exp'),
  log: call('Math.log'),
  sqrt: call('Math.sqrt'),
  abs: call('Math.abs'),
  sign: call('Math.sign'),
  tanh: call('phic_tanh', 'phic_tanh'),
  sin: call('Math.sin'),
  cos: call('Math.cos'),
  sigmoid: call('phic_sigmoid', 'phic_sigmoid'),
  softplus: call('phic_softplus', 'phic_softplus'),
};

/**
 * Helper functions, by name, as gpu.js function sources (added per kernel, only those it
 * calls). Each is accurate to a few float32 ulps over the whole real line.
 */
export const GPU_HELPERS: Readonly<Record<string, string>> = {
  phic_sq: `function phic_sq(v) {
  return v * v;
}`,
  phic_pow_even: `function phic_pow_even(v, e) {
  return Math.pow(Math.abs(v), e);
}`,
  phic_pow_odd: `function phic_pow_odd(v, e) {
  return Math.sign(v) * Math.pow(Math.abs(v), e);
}`,
  // Cephes' tanhf: a minimax polynomial near 0 (no cancellation), 1 - 2/(e^2|v| + 1) beyond,
  // and exactly +-1 past |v| = 9, where float32 rounds tanh to 1 anyway (no exp overflow).
  phic_tanh: `function phic_tanh(v) {
  const a = Math.abs(v);
  if (a < 0.625) {
    const z = v * v;
    return ((((-0.00570498872745 * z + 0.0206390887954) * z - 0.0537397155531) * z + 0.133314422036) * z - 0.333332819422) * z * v + v;
  }
  if (a > 9) {
    return Math.sign(v);
  }
  const t = 1 - 2 / (Math.exp(2 * a) + 1);
  if (v < 0) {
    return -t;
  }
  return t;
}`,
  phic_sigmoid: `function phic_sigmoid(v) {
  if (v >= 0) {
    return 1 / (1 + Math.exp(-v));
  }
  const e = Math.exp(v);
  return e / (1 + e);
}`,
  // log(1 + e^v) = max(v, 0) + log(1 + e^-|v|); the log term by its series when e^-|v| is tiny.
  phic_softplus: `function phic_softplus(v) {
  const e = Math.exp(-Math.abs(v));
  let l = Math.log(1 + e);
  if (e < 0.0001) {
    l = e * (1 - 0.5 * e);
  }
  return Math.max(v, 0) + l;
}`,
};

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
    case 'call': {
      const template = GPU_TEMPLATES[e.op];
      if (!template) throw unsupportedOp(e.op);
      return template(e.args.map((a) => printScalar(a, p, helpers)), helpers);
    }
  }
}

export function unsupportedOp(op: string): PhicError {
  return new PhicError('spec', `the GPU backend cannot express op '${op}': it has no gpu.js template (use --backend cpu for this spec)`);
}
