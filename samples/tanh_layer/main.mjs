// Tanh fixed-point layer: truncated backpropagation against the implicit-function Jacobian.
import { readFileSync } from 'node:fs';
import { implicitJacobian, relativeDifference } from 'phic/runtime';
import { create, meta } from './generated/tanh_layer.js';

const data = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8'));
const layer = create();

// K iterations of x ← tanh(Wx + Uθ + c); derivatives only over the last K − T of them.
const fwd = layer.jacobianForward(data);
const rev = layer.jacobianReverse(data);
const x = fwd.state.x;

// How far from a fixed point: ‖Φ(x_K) − x_K‖ from one more iteration started at x_K.
const again = layer.iterate(data, { x }).state.x; // K more steps: should not move
const moved = Math.hypot(...Array.from(x, (v, i) => v - again[i]));

// The implicit-function Jacobian at x_K: (I − ∂ₓΦ)⁻¹ ∂θΦ, from the module's own partials.
const implicit = implicitJacobian(layer.partialX(data, { x }), layer.partialTheta(data, { x }));

console.log(`tanh layer: K = ${meta.K}, derivatives over the last ${meta.K - meta.truncate} iterations`);
console.log(`  x_K = ${Array.from(x, (v) => v.toFixed(6)).join('  ')}   (moves ${moved.toExponential(1)} in K more steps)`);
console.log(`  forward vs reverse Jacobian:  relative difference ${relativeDifference(fwd.jacobian.x.theta.data, rev.jacobian.x.theta.data).toExponential(2)}`);
console.log(`  truncated vs implicit:        relative difference ${relativeDifference(rev.jacobian.x.theta.data, implicit.data).toExponential(2)}`);
console.log('  dx*/dθ (implicit):');
for (let r = 0; r < implicit.rows; r++) console.log('   ', Array.from(implicit.data.subarray(r * implicit.cols, (r + 1) * implicit.cols), (v) => v.toFixed(5).padStart(10)).join(''));
