// Writes data.json of the decaying-step sample: ridge regression with A 10×4, b, θ and γ, from
// phic's seeded generator (run `npm run build` first).
//
//   node samples/gd_schedule/make-data.mjs
import { writeFileSync } from 'node:fs';
import { randomGenerator } from '../../dist/runtime/reference.js';

const rng = randomGenerator(37);
const round = (v) => Math.round(v * 1000) / 1000;
const A = Array.from({ length: 10 }, () => Array.from({ length: 4 }, () => round(rng.normal() / Math.sqrt(10))));
const b = Array.from({ length: 10 }, () => round(rng.normal()));
writeFileSync(new URL('./data.json', import.meta.url), JSON.stringify({ theta: [0.1, 0.2, 0.3, 0.4], gamma: 0.05, A, b }, null, 1) + '\n');
