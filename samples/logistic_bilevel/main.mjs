// Logistic regression with per-feature penalties: the hypergradient of the validation loss with
// respect to every feature's log-penalty θᵢ, by one reverse pass through K gradient steps,
// checked against central differences of the validation loss at x_K(θ); exits 1 on a mismatch.
import { readFileSync } from 'node:fs';
import { create, meta } from './generated/logistic_bilevel.js';

const data = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8'));
const model = create();

const { loss, gradient } = model.hypergradient(data);
const lossAt = (theta) => model.outerAt({ ...data, theta }, model.iterate({ ...data, theta }).state).loss;
const h = 1e-5;
let worst = 0;
const fd = data.theta.map((_, i) => {
  const shifted = (s) => data.theta.map((v, j) => (j === i ? v + s : v));
  const d = (lossAt(shifted(h)) - lossAt(shifted(-h))) / (2 * h);
  worst = Math.max(worst, Math.abs(d - gradient.theta[i]));
  return d;
});
const scale = Math.max(...Array.from(gradient.theta, Math.abs));

console.log(`logistic with per-feature penalties: K = ${meta.K} gradient steps, validation loss ${loss.toFixed(6)}`);
console.log(`  dL/dθ (reverse mode)      = ${Array.from(gradient.theta, (g) => g.toExponential(3)).join('  ')}`);
console.log(`  dL/dθ (central differences) = ${fd.map((g) => g.toExponential(3)).join('  ')}`);
console.log(`  largest difference to finite differences = ${worst.toExponential(2)} (${(worst / scale).toExponential(2)} relative)`);
if (!(worst < 1e-6 * scale)) process.exitCode = 1;
