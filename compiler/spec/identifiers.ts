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

/**
 * Names a generated module declares at its top level or in create(), where the user's buffers
 * live: a user name equal to one would not compile (\`let step\` beside \`function step\`) or,
 * worse, would shadow it (a param \`K\` hiding the iteration count). A test compiles CPU and GPU
 * modules and checks that every such name the compiler does not allocate fresh is listed here.
 */
export const GENERATED_NAMES = `meta create K T fail checkKeys toFlat nonFinite matrix sigmoid softplus createOptions
KERNELS_WASM KERNELS_WASM_SHARED PARALLEL_MIN_WORK releaseWhenCollected defaultKernelThreads kernelThreadsCommon
threadedKernels instantiateKernels dims options instance layout tangentCount adjointCount deferredSteps applyDeferred
invariants step stepForTangent tangentStep forwardStep adjointPrep adjointStep outerGradient loadInputs loadState
advance snapshot checkNext checkState checkTangents checkAdjoints useTangents useAdjoints idle iterate record
forwardSweep backwardSweep jvp jacobianForward vjp jacobianReverse setStateDirection setParamDirection partialRows
partialX partialTheta outerAt outerDataLoaded hypergradient bufferBytes threads release transposeForProducts tangentProducts
BACKEND_BY_CLASS BAKED CPU_BACKENDS D DATA HELPERS KERNELS OUTER PARAMS SEGMENTS STATE backendOf checkFloat32
gpu instantiate requireGpuMessage`.split(/\s+/);

const RESERVED = new Set([...JS_RESERVED, ...PROTOTYPE_NAMES, ...GENERATED_GLOBALS, ...GENERATED_NAMES, ...FORMULA_FUNCTIONS, ...FORMULA_CONSTANTS]);

/** Why `name` cannot be used, or null when it can. */
export function identifierProblem(name: string): string | null {
  if (typeof name !== 'string' || !IDENTIFIER.test(name)) {
    return `'${String(name)}' is not a plain identifier (a letter, then letters, digits or _)`;
  }
  if (RESERVED.has(name)) return `'${name}' is reserved (a JavaScript word, an Object property, a formula function or a name the generated code uses)`;
  if (name.length > 64) return `'${name}' is longer than 64 characters`;
  return null;
}
