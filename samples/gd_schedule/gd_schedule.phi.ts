// Gradient descent on ridge regression with a decaying step size α/(1 + γk), where k is the
// iteration index (0-based): the map changes from step to step. The params are the per-feature
// penalty θ and the decay γ itself.
import { defineMap } from 'phic';

export default defineMap({
  name: 'gd_schedule',
  state: { x: 'n' },
  params: { theta: 'n', gamma: '' },
  data: { A: 'm,n', b: 'm' },
  constants: { alpha: 0.1 },
  objective: '0.5 * sum((A * x - b) .^ 2) + 0.5 * sum(theta .* x .^ 2)',
  method: { name: 'gd', step: 'alpha / (1 + gamma * k)' },
});
