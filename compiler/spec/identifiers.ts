// Which names a user may give to states, params, data, constants, functions and dims.
// Names become identifiers in generated code, so anything that is not a plain identifier,
// or that could shadow JavaScript or the generated code's own globals, is refused.

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]*$/;

const JS_RESERVED = `break case catch class const continue debugger default delete do else enum export extends
false finally for function if import in instanceof new null return super switch this throw true try typeof var
void while with yield let static implements interface package private protected public await async of get set
arguments eval undefined NaN Infinity globalThis`.split(/\s+/);

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).concat(
  Object.getOwnPropertyNames(Function.prototype),
);

/** Globals the generated code uses. */
const GENERATED_GLOBALS = ['Math', 'Float64Array', 'Float32Array', 'Array', 'ArrayBuffer', 'Number', 'Error', 'Object', 'RangeError', 'TypeError', 'JSON', 'Symbol'];

/** Names formulas already give a meaning to. */
export const FORMULA_FUNCTIONS = ['exp', 'log', 'sqrt', 'abs', 'tanh', 'sigmoid', 'softplus', 'sin', 'cos', 'sum', 'dot', 'transpose', 'outer'];
export const FORMULA_CONSTANTS = ['pi', 'e'];

const RESERVED = new Set([...JS_RESERVED, ...PROTOTYPE_NAMES, ...GENERATED_GLOBALS, ...FORMULA_FUNCTIONS, ...FORMULA_CONSTANTS]);

/** Why `name` cannot be used, or null when it can. */
export function identifierProblem(name: string): string | null {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    return `'${String(name)}' is not a plain identifier (a letter, then letters, digits or _)`;
  }
  if (RESERVED.has(name)) return `'${name}' is reserved (a JavaScript word, an Object property or a formula function)`;
  if (name.length > 64) return `'${name}' is longer than 64 characters`;
  return null;
}
