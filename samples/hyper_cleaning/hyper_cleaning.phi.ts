// Data hyper-cleaning (Franceschi et al. 2017): logistic regression trained by SGD over B
// mini-batches of b samples, each sample's loss weighted by σ(θᵢ); the outer objective is the
// validation loss, so the hypergradient says which training samples to trust. Step k reads
// batch k mod B. Θ holds one logit per training sample, batch by batch (row j for batch j); the
// batch's row is Θᵀ onehot, with the batch's one-hot vector, given as data batch by batch.
import { defineMap } from 'phic';

export default defineMap({
  name: 'hyper_cleaning',
  state: { w: 'd' },
  params: { Theta: 'B,b' },
  data: { X: 'b,d', y: 'b', onehot: 'B' },
  batches: { count: 'B', data: ['X', 'y', 'onehot'] },
  constants: { lr: 1, reg: 0.01 },
  update: { w: "w - lr * (X' * (sigmoid(Theta' * onehot) .* (sigmoid(X * w) - y)) / b + reg * w)" },
  outer: {
    data: { Xv: 'v,d', yv: 'v' },
    objective: 'sum(softplus(-(2 * yv - 1) .* (Xv * w))) / v',
  },
});
