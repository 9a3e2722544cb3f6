// ISTA for the Lasso: the sparse solution path's derivative in λ (forward mode) against central
// differences. Entries held at zero by the soft-threshold have derivative exactly 0.
import { readFileSync } from 'node:fs';
import { create, meta } from './generated/ista.js';

const data = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8'));
const model = create();

const { state, tangent } = model.jvp(data, { lambda: 1 });
const h = 1e-6;
const at = (lambda) => model.iterate({ ...data, lambda }).state.x;
const [up, down] = [at(data.lambda + h), at(data.lambda - h)];
const fd = Array.from(up, (v, j) => (v - down[j]) / (2 * h));
const error = Math.max(...fd.map((v, j) => Math.abs(v - tangent.x[j]))) / Math.max(...fd.map(Math.abs));
const zeros = Array.from(state.x).filter((v) => v === 0).length;

console.log(`ISTA for the Lasso: K = ${meta.K} steps, λ = ${data.lambda}, ${zeros} of ${state.x.length} entries exactly 0`);
console.log(`  x_K                       = ${Array.from(state.x, (v) => v.toFixed(5)).join('  ')}`);
console.log(`  dx_K/dλ (forward mode)    = ${Array.from(tangent.x, (v) => v.toFixed(5)).join('  ')}`);
console.log(`  dx_K/dλ (finite diff.)    = ${fd.map((v) => v.toFixed(5)).join('  ')}`);
console.log(`  relative difference       = ${error.toExponential(2)}`);
if (!(error < 1e-6)) process.exitCode = 1;
