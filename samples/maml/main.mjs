// MAML on one task: the meta-gradient d/dx⁰ ℓ(x_K(x⁰)) of the validation loss after K inner
// gradient steps, through every step, from the hypergradient's x0Gradient; checked against
// central finite differences, then used for a few meta-steps.
import { readFileSync } from 'node:fs';
import { relativeDifference } from 'phic/runtime';
import { create, meta } from './generated/maml.js';

const { x0, ...inputs } = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8'));
const inner = create();
const names = meta.state.map((s) => s.name);

// x⁰ as one flat vector (W1 row-major, then b1, w2, b2) and back: central differences perturb it entry by entry
const parts = (x) => names.map((n) => Float64Array.from(typeof x[n] === 'number' ? [x[n]] : ArrayBuffer.isView(x[n]) ? x[n] : x[n].flat()));
const flatten = (x) => Float64Array.from(parts(x).flatMap((p) => [...p]));
const sizes = parts(x0).map((p) => p.length);
const unflatten = (v) => Object.fromEntries(names.map((n, i) => [n, v.slice(sizes.slice(0, i).reduce((a, b) => a + b, 0), sizes.slice(0, i + 1).reduce((a, b) => a + b, 0))]));

/** The validation loss after the K inner steps from the meta-parameters `start`. */
const adaptedLoss = (start) => inner.outerAt(inputs, inner.iterate(inputs, start).state).loss;

const hyper = inner.hypergradient(inputs, x0);
const metaGradient = flatten(hyper.x0Gradient);
const h = 1e-6;
const point = flatten(x0);
const differences = Float64Array.from(point, (_, i) => {
  const up = point.slice(), down = point.slice();
  up[i] += h;
  down[i] -= h;
  return (adaptedLoss(unflatten(up)) - adaptedLoss(unflatten(down))) / (2 * h);
});

console.log(`MAML inner loop: K = ${meta.K} gradient steps of a 1-8-1 tanh MLP from the meta-parameters x0 (${point.length} entries)`);
console.log(`  validation loss at x0: ${inner.outerAt(inputs, x0).loss.toFixed(6)}, after the inner loop: ${hyper.loss.toFixed(6)}`);
console.log(`  meta-gradient d/dx0 (reverse mode) vs central differences: relative difference ${relativeDifference(metaGradient, differences).toExponential(2)}`);
console.log(`  d/dalpha (the inner step size): ${hyper.gradient.alpha[0].toFixed(6)}`);
if (!(relativeDifference(metaGradient, differences) < 1e-7)) process.exitCode = 1;

// A few meta-steps x0 ← x0 − η · meta-gradient: the loss after adaptation falls.
let current = point;
for (let step = 1; step <= 5; step++) {
  const g = flatten(inner.hypergradient(inputs, unflatten(current)).x0Gradient);
  current = current.map((v, i) => v - 0.05 * g[i]);
  console.log(`  meta-step ${step}: validation loss after adaptation ${adaptedLoss(unflatten(current)).toFixed(6)}`);
}
