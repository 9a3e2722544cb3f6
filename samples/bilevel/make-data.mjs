// Writes data.json for the ridge hyperparameter-tuning sample (seeded, so reruns give the same
// file): training data A, b for the inner ridge problem, validation data Av, bv for the outer
// loss, and the initial theta (the penalty on feature j is sigmoid(theta_j)).
// Run: node samples/bilevel/make-data.mjs
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SEED = 20260223;
const m = 60; // training rows
const k = 100; // validation rows
const n = 20; // features
const noise = 0.3;
const theta0 = -4; // initial penalty sigmoid(theta) ≈ 0.018 on every feature

// mulberry32 (as in runtime/reference.ts) and Box–Muller (cosine branch only).
let state = SEED >>> 0;
const uniform = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());

// Features with decaying scales and a shared factor: an ill-conditioned inner problem, so
// gradient descent converges slowly and a cold start is far from the fixed point.
const scales = Array.from({ length: n }, (_, j) => 0.5 ** (j / (n - 1)));
const features = (rows) =>
  Array.from({ length: rows }, () => {
    const shared = normal();
    return scales.map((s) => s * (0.6 * shared + 0.8 * normal()));
  });
// Half of the features matter; the other half only fit noise (and want a large penalty).
const xTrue = Array.from({ length: n }, (_, j) => (j % 2 === 0 ? 2 * normal() : 0));
const targets = (rows) => rows.map((r) => r.reduce((p, a, j) => p + a * xTrue[j], 0) + noise * normal());

const A0 = features(m);
const Av0 = features(k);
const b = targets(A0);
const bv = targets(Av0);

// Scale both design matrices by ‖A‖₂ (power iteration on AᵀA): the inner Hessian
// AᵀA + diag(sigmoid(theta)) then has eigenvalues in (0, 2), so the spec's step size
// alpha = 0.9 makes the map a contraction for every theta.
let v = Array.from({ length: n }, () => 1);
let sigma2 = 0;
for (let it = 0; it < 500; it++) {
  const Av = A0.map((r) => r.reduce((p, a, j) => p + a * v[j], 0));
  const w = Array.from({ length: n }, (_, j) => A0.reduce((p, r, i) => p + r[j] * Av[i], 0));
  sigma2 = Math.sqrt(w.reduce((p, x) => p + x * x, 0));
  v = w.map((x) => x / sigma2);
}
const c = Math.sqrt(sigma2);
const round = (x) => Number(x.toPrecision(8));
const scaled = (rows) => rows.map((r) => r.map((a) => round(a / c)));

const data = {
  theta: Array.from({ length: n }, () => round(theta0)),
  A: scaled(A0),
  b: b.map(round),
  Av: scaled(Av0),
  bv: bv.map(round),
};
const here = dirname(fileURLToPath(import.meta.url));
writeFileSync(join(here, 'data.json'), JSON.stringify(data) + '\n');
console.log(`wrote ${join(here, 'data.json')}: m=${m}, k=${k}, n=${n}, ‖A‖₂ scaled from ${c.toFixed(3)} to 1`);
