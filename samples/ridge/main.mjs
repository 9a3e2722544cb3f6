// Ridge sample: how the training fit responds to each per-feature penalty θ_j (a hypergradient).
import { readFileSync } from 'node:fs';
import { relativeDifference } from 'phic/runtime';
import { create, meta } from './generated/ridge.js';

const data = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8'));
const { A, b } = data;
const ridge = create(); // dims are baked in by build.mjs

// Run K steps of gradient descent: x_K ≈ argmin ½‖Ax − b‖² + ½ Σ θ_j x_j².
const { state } = ridge.iterate(data);
const x = state.x;
const residual = A.map((row) => row.reduce((s, a, j) => s + a * x[j], 0));
residual.forEach((r, i) => (residual[i] = r - b[i]));

// Loss L(x_K) = ½‖A x_K − b‖²; its gradient in x is Aᵀ(A x_K − b), the cotangent for one VJP.
const cotangent = x.map((_, j) => A.reduce((s, row, i) => s + row[j] * residual[i], 0));
const { gradient } = ridge.vjp(data, { x: cotangent });

// The full Jacobian dx_K/dθ both ways: forward and reverse mode agree to rounding.
const fwd = ridge.jacobianForward(data).jacobian.x.theta;
const rev = ridge.jacobianReverse(data).jacobian.x.theta;

const fmt = (v) => Array.from(v, (t) => t.toFixed(5)).join('  ');
console.log(`ridge: K = ${meta.K} gradient-descent steps, dims ${JSON.stringify(meta.dims)}`);
console.log(`  x_K            = ${fmt(x)}`);
console.log(`  L(x_K)         = ${(0.5 * residual.reduce((s, r) => s + r * r, 0)).toFixed(6)}`);
console.log(`  dL/dθ (VJP)    = ${fmt(gradient.theta)}   (> 0: raising θ_j worsens the fit)`);
console.log(`  forward vs reverse Jacobian: relative difference ${relativeDifference(fwd.data, rev.data).toExponential(2)}`);
