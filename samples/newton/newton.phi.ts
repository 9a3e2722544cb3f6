// Damped Newton (Levenberg–Marquardt) for logistic regression with a per-feature L2 penalty θ:
// w ← w − (H + μ·diag(diag(H)))⁻¹ ∇f(w), with H = Xᵀ diag(σ'(Xw)) X + diag(θ) the Hessian and
// ∇f(w) = Xᵀ(σ(Xw) − y) + θ ⊙ w the gradient of f(w) = Σ logistic losses + ½ Σ θ_j w_j².
// μ > 0 damps the step along each coordinate by its curvature (Marquardt's scaling). The fixed
// point ∇f(w*) = 0 depends on θ, not on μ; near it Φ contracts, at a rate set by μ.
import { defineMap } from 'phic';

export default defineMap({
  name: 'newton',
  state: { w: 'n' },
  params: { theta: 'n', mu: '' },
  data: { X: 'm,n', y: 'm' },
  functions: { curvature: { args: ['z'], body: 'sigmoid(z) * (1 - sigmoid(z))' } },
  update: {
    w: "w - lusolve(X' * diag(curvature(X * w)) * X + diag(theta) + mu * diag(diag(X' * diag(curvature(X * w)) * X) + theta), X' * (sigmoid(X * w) - y) + theta .* w)",
  },
});
