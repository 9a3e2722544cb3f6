// Helpers every generated CPU module carries at top level (it imports nothing): error
// reporting, input conversion and validation, the non-finite check. A module that solves
// linear systems carries SOLVE_RUNTIME too. The text is written once, typed, in
// runtime-typed.ts; the JavaScript here is its generated twin (types cut out at build time),
// and the *_TS exports are the typed text `--emit ts` prints.

import { LU_SOLVE_SOURCE } from '../ops/lu-source.js';
import { AT_ITERATION, JS_BATCH_RUNTIME, JS_RUNTIME } from './runtime-typed.generated.js';
import { AT_ITERATION_TS, JS_BATCH_RUNTIME_TS, JS_RUNTIME_TS } from './runtime-typed.js';

export { JS_BATCH_RUNTIME, JS_BATCH_RUNTIME_TS, JS_RUNTIME, JS_RUNTIME_TS };

/**
 * The LU routine of lusolve and inv, and what the iteration loops of a module that solves call
 * on an error: a singular matrix is found inside a step, which does not know its iteration.
 */
export const SOLVE_RUNTIME = `${LU_SOLVE_SOURCE}

${AT_ITERATION}`;
/** SOLVE_RUNTIME for `--emit ts` (the LU routine is not typed yet: it is shared with the compiler's own evaluator). */
export const SOLVE_RUNTIME_TS = `${LU_SOLVE_SOURCE}

${AT_ITERATION_TS}`;
