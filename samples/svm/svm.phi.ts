// A linear SVM with the squared hinge loss, trained by gradient descent; the param is the L2
// weight λ. The hinge max(0, 1 − y xᵀw) is written with maximum: its square is smooth, and its
// gradient's kink (a margin of exactly 1) gets the tie rule (README, spec language).
import { defineMap } from 'phic';

export default defineMap({
  name: 'svm',
  state: { w: 'n' },
  params: { lambda: '' },
  data: { X: 'm,n', y: 'm' },
  objective: 'sum(maximum(1 - y .* (X * w), 0) .^ 2) / m + 0.5 * lambda * sum(w .^ 2)',
  method: { name: 'gd', step: 0.2 },
});
