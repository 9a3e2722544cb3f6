// Heavy-ball sample: differentiating a momentum method through its two-part state (x, x_prev).
import { readFileSync } from 'node:fs';
import { create, meta } from './generated/heavy_ball.js';

const data = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8'));
const { Q, c, mu } = data;
const hb = create();

// The minimiser solves (Q + μI) x = c; check the residual of x_K.
const { state, tangent } = hb.jvp(data, { mu: 1 }); // forward mode in the direction μ̇ = 1
const x = state.x;
const apply = (v) => Q.map((row, i) => row.reduce((s, q, j) => s + q * v[j], 0) + mu * v[i]);
const residual = apply(x).map((v, i) => v - c[i]);

// Differentiating (Q + μI) x = c in μ gives (Q + μI) dx/dμ + x = 0: the tangent must satisfy it.
const tangentResidual = apply(tangent.x).map((v, i) => v + x[i]);
const norm = (v) => Math.hypot(...v);

// The reverse-mode gradient of sum(x_K) with respect to c and μ (x_prev gets no cotangent).
const { gradient } = hb.vjp(data, { x: x.map(() => 1) });

console.log(`heavy ball: K = ${meta.K}, state components ${meta.state.map((s) => s.name).join(', ')}`);
console.log(`  x_K = ${Array.from(x, (v) => v.toFixed(6)).join('  ')}`);
console.log(`  ‖(Q + μI) x_K − c‖          = ${norm(residual).toExponential(2)}`);
console.log(`  dx_K/dμ (JVP)               = ${Array.from(tangent.x, (v) => v.toFixed(6)).join('  ')}`);
console.log(`  ‖(Q + μI) dx/dμ + x_K‖      = ${norm(tangentResidual).toExponential(2)}`);
console.log(`  d sum(x_K)/dc = ${Array.from(gradient.c, (v) => v.toFixed(4)).join('  ')},  d sum(x_K)/dμ = ${gradient.mu[0].toFixed(4)}`);
