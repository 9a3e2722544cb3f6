// Writes data.json of the FISTA sample: the ISTA sample's Lasso problem (A 10×6, b from a sparse
// x plus noise) with a start x0 = x_prev0, from phic's seeded generator (run `npm run build` first).
//
//   node samples/fista/make-data.mjs
import { writeFileSync } from 'node:fs';
import { randomGenerator } from '../../dist/runtime/reference.js';

const rng = randomGenerator(41);
const round = (v) => Math.round(v * 1000) / 1000;
const [m, n] = [10, 6];
const A = Array.from({ length: m }, () => Array.from({ length: n }, () => round(rng.normal() / Math.sqrt(m))));
const truth = [1.5, 0, -1, 0, 0, 0.7];
const b = A.map((row) => round(row.reduce((s, a, j) => s + a * truth[j], 0) + 0.05 * rng.normal()));
const start = Array.from({ length: n }, () => round(0.1 * rng.normal()));
writeFileSync(new URL('./data.json', import.meta.url), JSON.stringify({ lambda: 0.3, A, b, x0: { x: start, x_prev: start } }, null, 1) + '\n');
