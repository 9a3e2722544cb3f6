// Writes data.json of the SVM sample: two classes (y = ±1) in R⁴ that overlap, so some margins
// stay below 1, from phic's seeded generator (run `npm run build` first).
//
//   node samples/svm/make-data.mjs
import { writeFileSync } from 'node:fs';
import { randomGenerator } from '../../dist/runtime/reference.js';

const rng = randomGenerator(23);
const round = (v) => Math.round(v * 1000) / 1000;
const y = Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? 1 : -1));
const X = y.map((label) => [0.8 * label, -0.4 * label, 0, 0.3].map((v) => round(v + 0.7 * rng.normal())));
writeFileSync(new URL('./data.json', import.meta.url), JSON.stringify({ lambda: 0.5, X, y }, null, 1) + '\n');
