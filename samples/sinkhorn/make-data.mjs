// Writes data.json of the Sinkhorn sample: marginals a (5 points) and b (4 points) and the
// squared distances between points on a line as the cost C, from phic's seeded generator
// (run `npm run build` first).
//
//   node samples/sinkhorn/make-data.mjs
import { writeFileSync } from 'node:fs';
import { randomGenerator } from '../../dist/runtime/reference.js';

const rng = randomGenerator(31);
const round = (v) => Math.round(v * 1000) / 1000;
const weights = (k) => {
  const w = Array.from({ length: k }, () => 0.5 + rng.uniform());
  const total = w.reduce((s, v) => s + v, 0);
  return w.map((v) => v / total);
};
const xs = Array.from({ length: 5 }, () => rng.uniform());
const ys = Array.from({ length: 4 }, () => rng.uniform());
const C = xs.map((x) => ys.map((y) => round((x - y) ** 2)));
writeFileSync(new URL('./data.json', import.meta.url), JSON.stringify({ C, a: weights(5), b: weights(4) }, null, 1) + '\n');
