// Writes data.json of the softmax-regression sample: λ, a training set (X, Y) and a validation
// set (Xv, Yv, the outer objective's data) of three classes around three centres in R⁴, from
// phic's seeded generator (run `npm run build` first).
//
//   node samples/softmax_regression/make-data.mjs
import { writeFileSync } from 'node:fs';
import { randomGenerator } from '../../dist/runtime/reference.js';

const rng = randomGenerator(17);
const centres = [[1, 0, 0, 0.5], [0, 1, 0, -0.5], [0, 0, 1, 0]];
const round = (v) => Math.round(v * 1000) / 1000;
const set = (count) => {
  const X = [];
  const Y = [];
  for (let i = 0; i < count; i++) {
    const c = i % 3;
    X.push(centres[c].map((v) => round(v + 0.6 * rng.normal())));
    Y.push([0, 1, 2].map((j) => (j === c ? 1 : 0)));
  }
  return { X, Y };
};
const train = set(12);
const val = set(9);
const write = (file, value) => writeFileSync(new URL(file, import.meta.url), JSON.stringify(value, null, 1) + '\n');
write('./data.json', { lambda: [0.3, 0.5, 0.8], ...train, Xv: val.X, Yv: val.Y });
