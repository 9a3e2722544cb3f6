// Gradient descent with the step α/(1 + γk): the derivative of x_K with respect to the decay γ
// by forward mode, checked against central differences, and the steps taken.
import { readFileSync } from 'node:fs';
import { create, meta } from './generated/gd_schedule.js';

const data = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8'));
const model = create();

const { state, tangent } = model.jvp(data, { gamma: 1 });
const h = 1e-6;
const at = (gamma) => model.iterate({ ...data, gamma }).state.x;
const [up, down] = [at(data.gamma + h), at(data.gamma - h)];
const fd = Array.from(up, (v, j) => (v - down[j]) / (2 * h));
const error = Math.max(...fd.map((v, j) => Math.abs(v - tangent.x[j]))) / Math.max(...fd.map(Math.abs));

console.log(`decaying step: K = ${meta.K}, steps ${(0.1).toFixed(3)} at k = 0 down to ${(0.1 / (1 + data.gamma * (meta.K - 1))).toFixed(4)} at k = ${meta.K - 1}`);
console.log(`  x_K                      = ${Array.from(state.x, (v) => v.toFixed(5)).join('  ')}`);
console.log(`  dx_K/dγ (forward mode)   = ${Array.from(tangent.x, (v) => v.toFixed(6)).join('  ')}`);
console.log(`  dx_K/dγ (finite diff.)   = ${fd.map((v) => v.toFixed(6)).join('  ')}`);
console.log(`  relative difference      = ${error.toExponential(2)}`);
if (!(error < 1e-6) || meta.iterationDependent !== true) process.exitCode = 1;
