// Writes data.json of the hyper-cleaning sample: B = 4 mini-batches of b = 5 samples in R³ with
// labels 0/1, a quarter of them flipped (the noise the weights should learn to ignore), clean
// validation data, and Θ = 0 (every weight σ(0) = ½), from phic's seeded generator (run
// `npm run build` first).
//
//   node samples/hyper_cleaning/make-data.mjs
import { writeFileSync } from 'node:fs';
import { randomGenerator } from '../../dist/runtime/reference.js';

const rng = randomGenerator(43);
const round = (v) => Math.round(v * 1000) / 1000;
const [B, b, d, v] = [4, 5, 3, 12];
const truth = [1.5, -1, 0.5];
const sample = () => {
  const x = Array.from({ length: d }, () => round(rng.normal()));
  return { x, label: x.reduce((s, a, j) => s + a * truth[j], 0) > 0 ? 1 : 0 };
};
const batches = Array.from({ length: B }, () => Array.from({ length: b }, sample));
// flip the labels of every fourth training sample
const X = batches.map((batch) => batch.map((s) => s.x));
const y = batches.map((batch, j) => batch.map((s, i) => ((j * b + i) % 4 === 3 ? 1 - s.label : s.label)));
const onehot = Array.from({ length: B }, (_, j) => Array.from({ length: B }, (_, i) => (i === j ? 1 : 0)));
const valid = Array.from({ length: v }, sample);
const data = { Theta: Array.from({ length: B }, () => new Array(b).fill(0)), X, y, onehot, Xv: valid.map((s) => s.x), yv: valid.map((s) => s.label) };
writeFileSync(new URL('./data.json', import.meta.url), JSON.stringify(data, null, 1) + '\n');
