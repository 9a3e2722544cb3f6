// Logistic regression with one L2 penalty per feature, exp(θᵢ), trained by gradient descent; the
// outer objective is the validation log-loss, so the hypergradient says which features to
// penalise more. The second bilevel sample beside samples/bilevel (ridge): its inner map is not
// affine in w, so warm starts help less (see README.md).
import { defineMap } from 'phic';

export default defineMap({
  name: 'logistic_bilevel',
  state: { w: 'n' },
  params: { theta: 'n' },
  data: { X: 'm,n', y: 'm' },
  constants: { alpha: 1 },
  update: { w: "w - alpha * (X' * (sigmoid(X * w) - y) / m + exp(theta) .* w)" },
  outer: {
    data: { Xv: 'v,n', yv: 'v' },
    objective: 'sum(softplus(-(2 * yv - 1) .* (Xv * w))) / v',
  },
});
