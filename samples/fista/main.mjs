// FISTA for the Lasso with the momentum k/(k + 3): the derivative of x_K with respect to λ by
// reverse mode (one VJP per entry), checked against central differences.
import { readFileSync } from 'node:fs';
import { create, meta } from './generated/fista.js';

const { x0, ...data } = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8'));
const model = create();

const x = model.iterate(data, x0).state.x;
const rows = Array.from(x, (_, i) => {
  const unit = new Float64Array(x.length);
  unit[i] = 1;
  return model.vjp(data, { x: unit }, x0).gradient.lambda[0];
});
const h = 1e-6;
const at = (lambda) => model.iterate({ ...data, lambda }, x0).state.x;
const [up, down] = [at(data.lambda + h), at(data.lambda - h)];
const fd = Array.from(up, (v, j) => (v - down[j]) / (2 * h));
const error = Math.max(...fd.map((v, j) => Math.abs(v - rows[j]))) / Math.max(...fd.map(Math.abs));

console.log(`FISTA for the Lasso: K = ${meta.K}, λ = ${data.lambda}, ${Array.from(x).filter((v) => v === 0).length} of ${x.length} entries exactly 0`);
console.log(`  x_K                      = ${Array.from(x, (v) => v.toFixed(5)).join('  ')}`);
console.log(`  dx_K/dλ (reverse mode)   = ${rows.map((v) => v.toFixed(5)).join('  ')}`);
console.log(`  dx_K/dλ (finite diff.)   = ${fd.map((v) => v.toFixed(5)).join('  ')}`);
console.log(`  relative difference      = ${error.toExponential(2)}`);
if (!(error < 1e-6)) process.exitCode = 1;
