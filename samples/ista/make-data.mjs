// Writes data.json of the ISTA sample: a Lasso problem with A 10×6 (columns of norm about 1)
// and b from a sparse x, plus noise, from phic's seeded generator (run `npm run build` first).
//
//   node samples/ista/make-data.mjs
import { writeFileSync } from 'node:fs';
import { randomGenerator } from '../../dist/runtime/reference.js';

const rng = randomGenerator(29);
const round = (v) => Math.round(v * 1000) / 1000;
const [m, n] = [10, 6];
const A = Array.from({ length: m }, () => Array.from({ length: n }, () => round(rng.normal() / Math.sqrt(m))));
const truth = [1.5, 0, -1, 0, 0, 0.7];
const b = A.map((row) => round(row.reduce((s, a, j) => s + a * truth[j], 0) + 0.05 * rng.normal()));
writeFileSync(new URL('./data.json', import.meta.url), JSON.stringify({ lambda: 0.3, A, b }, null, 1) + '\n');
