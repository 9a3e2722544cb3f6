// Entropic optimal transport by Sinkhorn's iterations in the log domain, stable at ε = 0.01:
// each step updates the row potential f from g, then g from the new f (`sequential`: g's
// formula reads f_next), each with a max-shifted log-sum-exp along one dimension. The param is
// the cost matrix C; the plan is exp((f_i + g_j − C_ij)/ε). (Updating f and g side by side,
// both from the previous step, would interleave two Sinkhorn runs whose potentials differ by a
// shift.)
import { defineMap } from 'phic';

export default defineMap({
  name: 'sinkhorn',
  state: { f: 'n', g: 'm' },
  params: { C: 'n,m' },
  data: { a: 'n', b: 'm' },
  constants: { eps: 0.01 },
  sequential: true,
  update: {
    f: 'eps * log(a) - eps * logsumexp((g - C) / eps, 2)',
    g: 'eps * log(b) - eps * logsumexp((outer(f_next, ones(m)) - C) / eps, 1)',
  },
});
