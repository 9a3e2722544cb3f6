// Scalar helper functions that generated code calls, each written once as JavaScript source
// text, and that one text is what every back end emits and what the compiler runs:
// - CPU modules declare it at their top level under its name (`function sigmoid(v)`);
// - GPU kernels get it as a gpu.js function named phic_<name> (codegen/gpu/templates.ts);
// - the reference interpreter and constant folding call the function the text evaluates to.
// An op computed by a helper defines it in its registry entry (sigmoid, softplus); the
// helpers here serve back ends (GPU float32). Sources keep to the JavaScript subset gpu.js
// translates: Math functions, arithmetic, comparisons, ternaries, if, const and let, and
// calls of helpers defined before them.

// Helpers of GPU kernels (float32): GLSL's pow is undefined for a negative base, and gpu.js's
// tanh, expm1 and log1p polyfills overflow or cancel.
const BACK_END_SOURCES: readonly string[] = [
  `function sq(v) {
  return v * v;
}`,
  `function pow_even(v, e) {
  return Math.pow(Math.abs(v), e);
}`,
  `function pow_odd(v, e) {
  return Math.sign(v) * Math.pow(Math.abs(v), e);
}`,
  // Cephes' tanhf: a minimax polynomial near 0 (no cancellation), 1 - 2/(e^2|v| + 1) beyond,
  // and exactly +-1 past |v| = 9, where float32 rounds tanh to 1 anyway (no exp overflow).
  `function tanh(v) {
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
  // e^x - 1, by its Taylor series (to x^9/9!, below float32 rounding) where e^x - 1 would cancel.
  `function expm1(x) {
  if (Math.abs(x) < 0.5) {
    return x * (1 + x * (0.5 + x * (0.16666667 + x * (0.041666668 + x * (0.008333334 + x * (0.0013888889 + x * (0.0001984127 + x * 0.000024801587)))))));
  }
  return Math.exp(x) - 1;
}`,
  // log(1 + x) = 2 atanh(s), s = x / (2 + x), by its odd series in s (|s| < 1/3, to s^15) where
  // float32 1 + x would round away most of x; no cancellation, so a few ulps everywhere.
  `function log1p(x) {
  if (x > -0.5 && x < 1) {
    const s = x / (2 + x);
    const z = s * s;
    return 2 * s * (1 + z * (0.33333334 + z * (0.2 + z * (0.14285715 + z * (0.11111111 + z * (0.09090909 + z * (0.07692308 + z * 0.06666667)))))));
  }
  return Math.log(1 + x);
}`,
];

const nameOf = (source: string): string => {
  const m = /^function ([A-Za-z_]\w*)\(/.exec(source);
  if (!m) throw new Error(`a helper source must start with 'function name(': ${source.slice(0, 40)}`);
  return m[1]!;
};

const SOURCES = new Map<string, string>();
const FUNCTIONS = new Map<string, (...x: number[]) => number>();

/**
 * Defines a scalar helper from its source, `function <name>(...) { ... }`, and returns its
 * name. The function is evaluated with the helpers defined before it in scope.
 */
export function defineHelper(source: string): string {
  const name = nameOf(source);
  if (SOURCES.has(name)) throw new Error(`scalar helper ${name} defined twice`);
  SOURCES.set(name, source);
  FUNCTIONS.set(name, new Function(`${[...SOURCES.values()].join('\n\n')}\nreturn ${name};`)() as (...x: number[]) => number);
  return name;
}

BACK_END_SOURCES.forEach(defineHelper);

/** Every helper's name, in definition order. */
export const helperNames = (): string[] => [...SOURCES.keys()];

/** A helper's source text. */
export function helperSource(name: string): string {
  const source = SOURCES.get(name);
  if (source === undefined) throw new Error(`no scalar helper named '${name}'`);
  return source;
}

/** The function a helper's source evaluates to (float64), for the interpreter and constant folding. */
export function helperFunction(name: string): (...x: number[]) => number {
  helperSource(name);
  return FUNCTIONS.get(name)!;
}

/** The other helpers a helper's source calls, directly or through them, in definition order. */
export function helperCalls(name: string): string[] {
  const names = helperNames();
  const found = new Set<string>();
  const visit = (n: string) => {
    for (const other of names) {
      if (other === n || found.has(other)) continue;
      if (new RegExp(`(?<![\\w$.])${other}\\(`).test(helperSource(n))) {
        found.add(other);
        visit(other);
      }
    }
  };
  visit(name);
  return names.filter((n) => found.has(n));
}
