// The linear solvers of `--method implicit`, written once as typed source text (runtime-typed.ts) that an
// implicit CPU module declares at its top level (it imports nothing). Each solves M v = b for an
// n-vector, M = I − ∂ₓΦ or its transpose at x_K, matrix-free: the module passes apply(w, out),
// which runs the generated one-step JVP (or VJP) and puts M w in out. The workspace is the
// module's, allocated once by create(). Tests evaluate the same text (test/implicit-solvers).

import { SOLVER_RUNTIME } from './runtime-typed.generated.js';
import { SOLVER_RUNTIME_TS } from './runtime-typed.js';

export const IMPLICIT_SOLVE = 'implicitSolve';

/** The solvers' text (written once, typed, in runtime-typed.ts; this is its generated JavaScript twin). */
export { SOLVER_RUNTIME, SOLVER_RUNTIME_TS };

