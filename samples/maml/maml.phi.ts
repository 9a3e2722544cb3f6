// MAML's inner loop: K gradient steps of a 2-layer tanh MLP on one task's training set, started
// from the meta-parameters. The state's initial value x⁰ = (W1, b1, w2, b2) is what MAML learns:
// its meta-gradient is d/dx⁰ of the validation loss after the K steps (the hypergradient's
// x0Gradient), through every inner step. The inner step size alpha is the param, so its
// hypergradient comes out too (learning it is Meta-SGD with one scalar step).
// The hidden bias b1 is added to every row of X W1ᵀ (a vector of the row length broadcasts).
import { defineMap } from 'phic';

export default defineMap({
  name: 'maml',
  state: { W1: 'h,d', b1: 'h', w2: 'h', b2: '' },
  params: { alpha: '' },
  data: { X: 'm,d', y: 'm' },
  objective: "0.5 * sum((tanh(X * W1' + b1) * w2 + b2 - y).^2)",
  method: { name: 'gd', step: 'alpha' },
  outer: {
    objective: "0.5 * sum((tanh(Xv * W1' + b1) * w2 + b2 - yv).^2)",
    data: { Xv: 'q,d', yv: 'q' },
  },
});
