// Logistic sample: the hypergradient of a validation loss with respect to the L2 weight λ.
import { readFileSync } from 'node:fs';
import { create, meta } from './generated/logistic.js';

const read = (file) => JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8'));
const data = read('./data.json');
const val = read('./validation.json');
const model = create();

const softplus = (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
const sigmoid = (v) => 1 / (1 + Math.exp(-v));
const margins = (w) => val.X.map((row, i) => val.y[i] * row.reduce((s, a, j) => s + a * w[j], 0));
// Validation loss L(w) = Σ softplus(−y_i x_iᵀw) and its gradient −Σ y_i σ(−y_i x_iᵀw) x_i.
const loss = (w) => margins(w).reduce((s, z) => s + softplus(-z), 0);
const grad = (w) => {
  const z = margins(w);
  return w.map((_, j) => -val.X.reduce((s, row, i) => s + val.y[i] * sigmoid(-z[i]) * row[j], 0));
};

// One reverse-mode pass: dL/dλ = (∇_w L)ᵀ dw_K/dλ.
const w = model.iterate(data).state.w;
const { gradient } = model.vjp(data, { w: grad(w) });

// Check with central differences of the whole training run.
const h = 1e-5;
const at = (lambda) => loss(model.iterate({ ...data, lambda }).state.w);
const fd = (at(data.lambda + h) - at(data.lambda - h)) / (2 * h);

console.log(`logistic regression: K = ${meta.K} steps, λ = ${data.lambda}`);
console.log(`  w_K = ${Array.from(w, (v) => v.toFixed(5)).join('  ')}`);
console.log(`  validation loss          = ${loss(w).toFixed(6)}`);
console.log(`  dL/dλ (reverse mode)     = ${gradient.lambda[0].toFixed(8)}`);
console.log(`  dL/dλ (finite difference) = ${fd.toFixed(8)}`);
