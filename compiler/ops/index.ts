// Registers every op family with the registry (import for its side effect).
import './elementwise.js';
import './linalg.js';
export { getOp, findOp, allOps } from './registry.js';
