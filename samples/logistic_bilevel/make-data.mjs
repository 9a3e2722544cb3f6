// Writes data.json of the logistic bilevel sample: m = 40 training and v = 60 validation rows in
// R⁸, labels 0/1 from a logistic model in which only the first four features matter, 15% of the
// training labels flipped, and θ = −3 on every feature (penalty e⁻³ ≈ 0.05). The design is
// scaled so that ‖X‖₂²/m = 1: the loss curvature is at most 1/4, so with penalties e^θ ≤ 1 the
// step α = 1 keeps the map a contraction. From phic's seeded generator (run `npm run build` first).
//
//   node samples/logistic_bilevel/make-data.mjs
import { writeFileSync } from 'node:fs';
import { randomGenerator, spectralNorm, denseMatrix } from '../../dist/runtime/reference.js';

const rng = randomGenerator(2027);
const round = (v) => Math.round(v * 10000) / 10000;
const [m, v, n] = [40, 60, 8];
const truth = [2, -1.5, 1, -1, 0, 0, 0, 0];
const rows = (count) => Array.from({ length: count }, () => Array.from({ length: n }, () => rng.normal()));
const Xraw = rows(m);
const Vraw = rows(v);
const scale = Math.sqrt(m) / spectralNorm(denseMatrix(m, n, Float64Array.from(Xraw.flat())));
const label = (x) => (rng.uniform() < 1 / (1 + Math.exp(-x.reduce((s, a, j) => s + a * truth[j], 0))) ? 1 : 0);
const X = Xraw.map((r) => r.map((a) => round(a * scale)));
const y = Xraw.map((r) => { const l = label(r); return rng.uniform() < 0.15 ? 1 - l : l; });
const Xv = Vraw.map((r) => r.map((a) => round(a * scale)));
const yv = Vraw.map(label);
const data = { theta: new Array(n).fill(-3), X, y, Xv, yv };
writeFileSync(new URL('./data.json', import.meta.url), JSON.stringify(data, null, 1) + '\n');
