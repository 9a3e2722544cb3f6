// Softmax regression: the hypergradient of the validation cross-entropy with respect to the
// per-class L2 weights λ, by one reverse pass, checked against central differences.
import { readFileSync } from 'node:fs';
import { create, meta } from './generated/softmax_regression.js';

const data = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8'));
const model = create();

const { loss, gradient } = model.hypergradient(data);
const lossAt = (lambda) => model.outerAt({ ...data, lambda }, model.iterate({ ...data, lambda }).state).loss;
const h = 1e-6;
const fd = data.lambda.map((_, j) => {
  const shifted = (s) => data.lambda.map((v, i) => (i === j ? v + s : v));
  return (lossAt(shifted(h)) - lossAt(shifted(-h))) / (2 * h);
});
const error = Math.max(...fd.map((v, j) => Math.abs(v - gradient.lambda[j]))) / Math.max(...fd.map(Math.abs));

console.log(`softmax regression: K = ${meta.K} steps, λ = ${data.lambda.join(', ')}`);
console.log(`  validation cross-entropy  = ${loss.toFixed(6)}`);
console.log(`  dL/dλ (reverse mode)      = ${Array.from(gradient.lambda, (v) => v.toFixed(7)).join('  ')}`);
console.log(`  dL/dλ (finite difference) = ${fd.map((v) => v.toFixed(7)).join('  ')}`);
console.log(`  relative difference       = ${error.toExponential(2)}`);
if (!(error < 1e-6)) process.exitCode = 1;
