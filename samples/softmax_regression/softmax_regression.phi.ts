// Multinomial (softmax) logistic regression by gradient descent on the mean cross-entropy with a
// per-class L2 penalty λ_j on column j of W; the outer objective is the validation
// cross-entropy, so `hypergradient` gives d/dλ of the validation loss after K steps.
import { defineMap } from 'phic';

export default defineMap({
  name: 'softmax_regression',
  state: { W: 'd,c' },
  params: { lambda: 'c' },
  data: { X: 'm,d', Y: 'm,c' },
  constants: { alpha: 0.5 },
  update: { W: "W - alpha * (X' * (softmax(X * W, 2) - Y) / m + W .* lambda)" },
  outer: {
    data: { Xv: 'v,d', Yv: 'v,c' },
    objective: 'sum(Yv .* (outer(logsumexp(Xv * W, 2), ones(c)) - Xv * W)) / v',
  },
});
