// Squared-hinge SVM: how the trained weights move with the L2 weight λ (forward mode), checked
// against central differences, and the margins that stay inside the hinge.
import { readFileSync } from 'node:fs';
import { create, meta } from './generated/svm.js';

const data = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8'));
const model = create();

const { state, tangent } = model.jvp(data, { lambda: 1 });
const h = 1e-6;
const at = (lambda) => model.iterate({ ...data, lambda }).state.w;
const [up, down] = [at(data.lambda + h), at(data.lambda - h)];
const fd = Array.from(up, (v, j) => (v - down[j]) / (2 * h));
const error = Math.max(...fd.map((v, j) => Math.abs(v - tangent.w[j]))) / Math.max(...fd.map(Math.abs));
const inside = data.X.filter((row, i) => data.y[i] * row.reduce((s, a, j) => s + a * state.w[j], 0) < 1).length;

console.log(`squared-hinge SVM: K = ${meta.K} steps, λ = ${data.lambda}, ${inside} of ${data.y.length} margins below 1`);
console.log(`  w_K                       = ${Array.from(state.w, (v) => v.toFixed(5)).join('  ')}`);
console.log(`  dw_K/dλ (forward mode)    = ${Array.from(tangent.w, (v) => v.toFixed(6)).join('  ')}`);
console.log(`  dw_K/dλ (finite diff.)    = ${fd.map((v) => v.toFixed(6)).join('  ')}`);
console.log(`  relative difference       = ${error.toExponential(2)}`);
if (!(error < 1e-6)) process.exitCode = 1;
