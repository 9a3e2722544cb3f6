// ISTA (proximal gradient) for the Lasso ½‖Ax − b‖² + λ‖x‖₁: a gradient step, then
// soft-thresholding sign(z) .* maximum(|z| − tλ, 0). Its derivative is exact away from the
// kinks; entries in the dead zone have zero derivative (README, spec language).
import { defineMap } from 'phic';

export default defineMap({
  name: 'ista',
  state: { x: 'n' },
  params: { lambda: '' },
  data: { A: 'm,n', b: 'm' },
  constants: { t: 0.1 },
  functions: { shrink: { args: ['z', 'tau'], body: 'sign(z) * maximum(abs(z) - tau, 0)' } },
  update: { x: "shrink(x - t * A' * (A * x - b), t * lambda)" },
});
