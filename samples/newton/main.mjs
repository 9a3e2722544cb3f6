// Damped Newton sample: the sensitivity dw*/dθ of regularised logistic regression to its
// per-feature L2 weights θ, three ways: unrolled through K damped Newton steps (reverse mode),
// by the implicit function theorem at the fixed point, (I − ∂ₓΦ)⁻¹ ∂θΦ, and in closed form,
// −H⁻¹ diag(w*) (the gradient's θ-derivative is diag(w)). Exits with status 1 if they disagree.
import { readFileSync } from 'node:fs';
import { implicitJacobian, relativeDifference } from 'phic/runtime';
import { create, meta } from './generated/newton.js';

const data = JSON.parse(readFileSync(new URL('./data.json', import.meta.url), 'utf8'));
const newton = create();
const { X, y, theta } = data;
const n = theta.length;

const sigmoid = (v) => 1 / (1 + Math.exp(-v));
const margins = (w) => X.map((row) => row.reduce((s, a, j) => s + a * w[j], 0));
/** ∇f(w) = Xᵀ(σ(Xw) − y) + θ ⊙ w. */
const gradient = (w) => {
  const p = margins(w).map(sigmoid);
  return w.map((wj, j) => X.reduce((s, row, i) => s + row[j] * (p[i] - y[i]), 0) + theta[j] * wj);
};
/** H(w) = Xᵀ diag(σ'(Xw)) X + diag(θ), row-major. */
const hessian = (w) => {
  const s = margins(w).map((z) => sigmoid(z) * (1 - sigmoid(z)));
  return Float64Array.from({ length: n * n }, (_, k) => {
    const [r, c] = [Math.floor(k / n), k % n];
    return X.reduce((acc, row, i) => acc + row[r] * s[i] * row[c], 0) + (r === c ? theta[r] : 0);
  });
};

// Unrolled: w_K and dw_K/d(θ, μ) in one reverse sweep per state entry.
const { state, jacobian } = newton.jacobianReverse(data);
const w = Array.from(state.w);
const unrolled = jacobian.w.theta.data;

// Implicit: ∂Φ/∂x and ∂Φ/∂θ at w_K from the generated module; its columns are θ's entries, then μ.
const implicit = implicitJacobian(newton.partialX(data, state), newton.partialTheta(data, state));
const implicitTheta = Float64Array.from({ length: n * n }, (_, k) => implicit.data[Math.floor(k / n) * implicit.cols + (k % n)]);
const implicitMu = Float64Array.from({ length: n }, (_, r) => implicit.data[r * implicit.cols + n]);

// Closed form: −H⁻¹ diag(w*), solved as (I − (I − H))⁻¹ (−diag(w*)) by the same reference routine.
const H = hessian(w);
const identityMinusH = { rows: n, cols: n, data: H.map((v, k) => (Math.floor(k / n) === k % n ? 1 : 0) - v) };
const minusDiagW = { rows: n, cols: n, data: Float64Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? -w[k % n] : 0)) };
const closed = implicitJacobian(identityMinusH, minusDiagW).data;

const gradNorm = Math.hypot(...gradient(w));
const checks = [
  ['‖∇f(w_K)‖ (converged)', gradNorm, 1e-10],
  ['unrolled vs implicit dw/dθ', relativeDifference(unrolled, implicitTheta), 1e-8],
  ['implicit vs closed-form dw/dθ', relativeDifference(implicitTheta, closed), 1e-10],
  ['‖implicit dw/dμ‖ (μ moves no fixed point)', Math.hypot(...implicitMu), 1e-10],
];

console.log(`damped Newton for logistic regression: K = ${meta.K}, m = ${meta.dims.m}, n = ${meta.dims.n}, μ = ${data.mu}`);
console.log(`  w_K = ${w.map((v) => v.toFixed(6)).join('  ')}`);
console.log('  dw/dθ (unrolled, reverse mode):');
for (let r = 0; r < n; r++) console.log('   ', Array.from(unrolled.subarray(r * n, (r + 1) * n), (v) => v.toFixed(6).padStart(11)).join(''));
for (const [what, value, tolerance] of checks) {
  const ok = value <= tolerance;
  console.log(`  ${what}: ${value.toExponential(2)} ${ok ? '≤' : '>'} ${tolerance.toExponential(0)}`);
  if (!ok) process.exitCode = 1;
}
