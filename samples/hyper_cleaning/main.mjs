// Data hyper-cleaning: the hypergradient of the validation loss with respect to every training
// sample's weight logit, by one reverse pass through SGD over the mini-batches, checked against
// central differences. A positive entry says that trusting that sample less would lower the
// validation loss; the samples whose labels were flipped are printed.
import { readFileSync } from 'node:fs';
import { create, meta } from './generated/hyper_cleaning.js';

const data = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8'));
const model = create();

const { loss, gradient } = model.hypergradient(data);
const lossAt = (Theta) => model.outerAt({ ...data, Theta }, model.iterate({ ...data, Theta }).state).loss;
const h = 1e-6;
const [B, b] = [data.Theta.length, data.Theta[0].length];
let worst = 0;
for (let j = 0; j < B; j++) {
  for (let i = 0; i < b; i++) {
    const shifted = (s) => data.Theta.map((row, p) => row.map((v, q) => (p === j && q === i ? v + s : v)));
    const fd = (lossAt(shifted(h)) - lossAt(shifted(-h))) / (2 * h);
    worst = Math.max(worst, Math.abs(fd - gradient.Theta[j * b + i]));
  }
}
const flipped = Array.from(gradient.Theta, (g, s) => ({ g, s })).filter(({ s }) => s % 4 === 3);
const scale = Math.max(...Array.from(gradient.Theta, Math.abs));

console.log(`hyper-cleaning: K = ${meta.K} SGD steps over ${B} mini-batches of ${b}, validation loss ${loss.toFixed(6)}`);
console.log(`  dL/dΘ of the flipped samples  = ${flipped.map(({ g }) => g.toFixed(5)).join('  ')}`);
console.log(`  largest |dL/dΘ|               = ${scale.toFixed(5)}`);
console.log(`  largest difference to finite differences = ${worst.toExponential(2)} (${(worst / scale).toExponential(2)} relative)`);
if (!(worst < 1e-7 * scale)) process.exitCode = 1;
