// Pseudo-Huber sample: how much each observation moves the fitted line (its influence).
import { readFileSync } from 'node:fs';
import { create, meta } from './generated/pseudo_huber.js';

const data = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8'));
const fit = create();

// The Jacobian dx_K/db: row 0 is the intercept, row 1 the slope, one column per observation.
const { state, jacobian } = fit.jacobianReverse(data);
const J = jacobian.x.b;
const [intercept, slope] = state.x;

console.log(`pseudo-Huber line fit: K = ${meta.K}, ${J.cols} observations`);
console.log(`  fitted line: y = ${intercept.toFixed(4)} + ${slope.toFixed(4)} t`);
console.log('   obs      t       b   residual  d intercept/db  d slope/db');
for (let i = 0; i < J.cols; i++) {
  const t = data.A[i][1];
  const r = data.b[i] - (intercept + slope * t);
  const cells = [t.toFixed(3), data.b[i].toFixed(3), r.toFixed(3), J.data[i].toFixed(4), J.data[J.cols + i].toFixed(4)];
  console.log(`   ${String(i).padStart(3)} ${cells.map((c, k) => c.padStart(k < 3 ? 8 : 14)).join('')}${Math.abs(r) > 1 ? '   <- outlier: almost no influence' : ''}`);
}

// Least squares would give every observation influence (AᵀA)⁻¹aᵢ; the robust loss caps it.
const total = Array.from({ length: J.cols }, (_, i) => J.data[i]).reduce((s, v) => s + v, 0);
console.log(`  Σ d intercept/db = ${total.toFixed(4)} (shifting every b by 1 shifts the line by ≈ 1)`);
