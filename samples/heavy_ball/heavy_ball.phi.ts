// Heavy-ball momentum on a regularised quadratic ½xᵀQx + ½μ‖x‖² − cᵀx; params c and μ.
import { defineMap } from 'phic';

export default defineMap({
  name: 'heavy_ball',
  state: { x: 'n' },
  params: { c: 'n', mu: '' },
  data: { Q: 'n,n' },
  objective: '0.5 * dot(x, Q * x) + 0.5 * mu * dot(x, x) - dot(c, x)',
  method: { name: 'heavy-ball', step: 0.3, momentum: 0.3 },
});
