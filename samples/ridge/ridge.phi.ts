// Ridge regression with a per-feature penalty θ, solved by gradient descent.
import { defineMap } from 'phic';

export default defineMap({
  name: 'ridge',
  state: { x: 'n' },
  params: { theta: 'n' },
  data: { A: 'm,n', b: 'm' },
  constants: { alpha: 0.1 },
  update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" },
});
