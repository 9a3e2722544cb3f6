// Which names a user may give to states, params, data, constants, functions and dims.
// Names become identifiers in generated code, so a name must be a plain identifier and may
// not be a JavaScript word, an Object.prototype property (inputs are read as object
// properties), a global object name, or a name formulas already give a meaning to. Every
// other name works in every role: the generated code allocates its own names around the
// user's (compiler/names.ts), so there is no list of names the generated code keeps for itself.

import { formulaFunctions } from '../ops/index.js';

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]*$/;

const JS_RESERVED = `break case catch class const continue debugger default delete do else enum export extends
false finally for function if import in instanceof new null return super switch this throw true try typeof var
void while with yield let static implements interface package private protected public await async of get set
arguments eval undefined NaN Infinity globalThis`.split(/\s+/);

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).concat(
  Object.getOwnPropertyNames(Function.prototype),
);

/**
 * Global object names: the ECMAScript globals, and the host globals of Node and browsers that
 * generated code or an app around it may use. A fixed list, so the refusal does not depend on
 * the engine that compiles.
 */
export const GLOBAL_NAMES = `Array ArrayBuffer Atomics BigInt BigInt64Array BigUint64Array Boolean DataView Date Error
EvalError FinalizationRegistry Float32Array Float64Array Function Int8Array Int16Array Int32Array Intl Iterator JSON Map
Math Number Object Promise Proxy RangeError ReferenceError Reflect RegExp Set SharedArrayBuffer String Symbol SyntaxError
TypeError Uint8Array Uint8ClampedArray Uint16Array Uint32Array URIError WeakMap WeakRef WeakSet AggregateError
decodeURI decodeURIComponent encodeURI encodeURIComponent escape unescape isFinite isNaN parseFloat parseInt
WebAssembly atob btoa console process Buffer require module exports global window self document navigator Worker
queueMicrotask setTimeout clearTimeout setInterval clearInterval setImmediate structuredClone URL Blob fetch
performance crypto`.split(/\s+/);

/** Names formulas already give a meaning to: the functions come from the op registry, so a new op is refused as a name without an edit here. */
export const FORMULA_FUNCTIONS: readonly string[] = formulaFunctions();
export const FORMULA_CONSTANTS = ['pi', 'e'];

/** Every name a spec may not use. Generated modules also keep these out of their own allocations. */
export const REFUSED_NAMES: ReadonlySet<string> = new Set([...JS_RESERVED, ...PROTOTYPE_NAMES, ...GLOBAL_NAMES, ...FORMULA_FUNCTIONS, ...FORMULA_CONSTANTS]);

/** Why `name` cannot be used, or null when it can. */
export function identifierProblem(name: string): string | null {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    return `'${String(name)}' is not a plain identifier (a letter, then letters, digits or _)`;
  }
  if (REFUSED_NAMES.has(name)) return `'${name}' is reserved (a JavaScript word, an Object property, a global object name, or a formula function or constant)`;
  if (name.length > 64) return `'${name}' is longer than 64 characters`;
  return null;
}
