// Registers every op family with the registry (import for its side effect).
import './elementwise.js';
import './piecewise.js';
import './linalg.js';
import './reductions.js';
import './solve.js';
export { getOp, findOp, allOps, formulaFunctions, FORMULA_STRUCTURAL_OPS, FORMULA_SCALAR_FUNCTIONS, FORMULA_COMPOSITE_FUNCTIONS } from './registry.js';
