// Registers every op family with the registry (import for its side effect).
import './elementwise.js';
import './linalg.js';
export { getOp, findOp, allOps, formulaFunctions, FORMULA_STRUCTURAL_OPS } from './registry.js';
