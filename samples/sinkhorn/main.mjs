// Log-domain Sinkhorn at ε = 0.01, f then g in each step: the transport plan's column sums (b,
// since g is updated last), and the gradient of ⟨b, g_K⟩ with respect to the cost C by one
// reverse pass, checked against central differences.
import { readFileSync } from 'node:fs';
import { create, meta } from './generated/sinkhorn.js';

const data = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8'));
const model = create();
const eps = 0.01;
const value = (g) => data.b.reduce((t, v, j) => t + v * g[j], 0);

const { state, gradient } = model.vjp(data, { g: data.b });
const { f, g } = state;
const plan = data.C.map((row, i) => row.map((c, j) => Math.exp((f[i] + g[j] - c) / eps)));
const columnSums = data.b.map((_, j) => plan.reduce((s, row) => s + row[j], 0));
const h = 1e-7;
let worst = 0;
data.C.forEach((row, i) => row.forEach((_, j) => {
  const shifted = (s) => data.C.map((r, p) => r.map((v, q) => (p === i && q === j ? v + s : v)));
  const fd = (value(model.iterate({ ...data, C: shifted(h) }).state.g) - value(model.iterate({ ...data, C: shifted(-h) }).state.g)) / (2 * h);
  worst = Math.max(worst, Math.abs(fd - gradient.C[i * row.length + j]));
}));

console.log(`log-domain Sinkhorn: K = ${meta.K} steps, ε = ${eps}`);
console.log(`  column sums of the plan   = ${columnSums.map((v) => v.toFixed(5)).join('  ')}`);
console.log(`  b                         = ${data.b.map((v) => v.toFixed(5)).join('  ')}`);
console.log(`  d⟨b, g_K⟩/dC, largest entry = ${Math.max(...gradient.C.map(Math.abs)).toFixed(5)}`);
console.log(`  largest difference to finite differences = ${worst.toExponential(2)}`);
const marginal = Math.max(...columnSums.map((v, j) => Math.abs(v - data.b[j])));
if (!(worst < 1e-5) || !(marginal < 1e-6)) process.exitCode = 1;
