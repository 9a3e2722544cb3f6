// FISTA for the Lasso ½‖Ax − b‖² + λ‖x‖₁: a proximal-gradient step from the extrapolated point
// y = x + β_k (x − x_prev), with the momentum β_k = k/(k + 3) a closed-form function of the
// iteration index k (0-based). Start with x_prev = x (data.json's x0).
import { defineMap } from 'phic';

export default defineMap({
  name: 'fista',
  state: { x: 'n', x_prev: 'n' },
  params: { lambda: '' },
  data: { A: 'm,n', b: 'm' },
  constants: { t: 0.1 },
  functions: { shrink: { args: ['z', 'tau'], body: 'sign(z) * maximum(abs(z) - tau, 0)' } },
  update: {
    x: "shrink(x + k / (k + 3) * (x - x_prev) - t * A' * (A * (x + k / (k + 3) * (x - x_prev)) - b), t * lambda)",
    x_prev: 'x',
  },
});
