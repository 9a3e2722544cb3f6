// A tanh fixed-point (deep equilibrium) layer x ← tanh(W x + U θ + c), contractive since ‖W‖ < 1.
import { defineMap } from 'phic';

export default defineMap({
  name: 'tanh_layer',
  state: { x: 'n' },
  params: { theta: 'p' },
  data: { W: 'n,n', U: 'n,p', c: 'n' },
  update: { x: 'tanh(W * x + U * theta + c)' },
});
