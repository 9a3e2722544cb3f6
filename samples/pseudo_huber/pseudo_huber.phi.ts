// Robust line fit with the pseudo-Huber loss; params are the observations b (influence analysis).
import { defineMap } from 'phic';

export default defineMap({
  name: 'pseudo_huber',
  state: { x: 'n' },
  params: { b: 'm' },
  data: { A: 'm,n' },
  constants: { delta: 0.5 },
  functions: {
    huber: { args: ['r'], body: 'delta^2 * (sqrt(1 + (r/delta)^2) - 1)' },
  },
  objective: 'sum(huber(A * x - b))',
  method: { name: 'gd', step: 0.12 },
});
