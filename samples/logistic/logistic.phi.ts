// L2-regularised logistic regression by gradient descent; the param is the L2 weight lambda.
import { defineMap } from 'phic';

export default defineMap({
  name: 'logistic',
  state: { w: 'n' },
  params: { lambda: '' },
  data: { X: 'm,n', y: 'm' },
  objective: 'sum(softplus(-y .* (X * w))) + 0.5 * lambda * sum(w.^2)',
  method: { name: 'gd', step: 0.1 },
});
