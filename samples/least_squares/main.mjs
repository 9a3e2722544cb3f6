// Least-squares sample: the sensitivity of the solution to the data, dx/du for u = (A, b).
import { readFileSync } from 'node:fs';
import { implicitJacobian, relativeDifference } from 'phic/runtime';
import { create, meta } from './generated/least_squares.js';

const data = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8'));
const ls = create();

// Unrolled gradient descent: x_K and the full Jacobians dx_K/dA (n × mn) and dx_K/db (n × m).
const { state, jacobian } = ls.jacobianReverse(data);
const { A: dA, b: db } = jacobian.x;

// At the minimiser, the implicit function theorem gives dx*/du = (I − ∂ₓΦ)⁻¹ ∂ᵤΦ; for b this is
// the pseudo-inverse (AᵀA)⁻¹Aᵀ. partialTheta's columns are A's entries, then b's.
const implicit = implicitJacobian(ls.partialX(data, state), ls.partialTheta(data, state));
const n = db.rows, mn = dA.cols, m = db.cols;
const implicitB = Float64Array.from({ length: n * m }, (_, k) => implicit.data[Math.floor(k / m) * implicit.cols + mn + (k % m)]);

console.log(`least squares: K = ${meta.K}, m = ${meta.dims.m}, n = ${meta.dims.n}`);
console.log(`  x_K = ${Array.from(state.x, (v) => v.toFixed(6)).join('  ')}`);
console.log('  dx_K/db (rows of the pseudo-inverse of A):');
for (let r = 0; r < n; r++) console.log('   ', Array.from(db.data.subarray(r * m, (r + 1) * m), (v) => v.toFixed(4).padStart(8)).join(''));
console.log(`  unrolled vs implicit dx/db: relative difference ${relativeDifference(db.data, implicitB).toExponential(2)}`);
console.log(`  ‖dx_K/dA‖_max = ${Math.max(...Array.from(dA.data, Math.abs)).toFixed(4)}`);
