// Entropic optimal transport by Sinkhorn's iterations in the log domain, stable at ε = 0.01:
// one step updates the row potential f from g, then g from the new f, each with a max-shifted
// log-sum-exp. The state is g alone, with f written inside its update, since both halves of a
// step must run in order (updating f and g side by side from the previous step would
// interleave two Sinkhorn runs whose potentials differ by a shift). The param is the cost C;
// the plan is exp((f_i + g_j − C_ij)/ε).
import { defineMap } from 'phic';

export default defineMap({
  name: 'sinkhorn',
  state: { g: 'm' },
  params: { C: 'n,m' },
  data: { a: 'n', b: 'm' },
  constants: { eps: 0.01 },
  update: {
    g: 'eps * log(b) - eps * logsumexp((outer(eps * log(a) - eps * logsumexp((g - C) / eps, 2), ones(m)) - C) / eps, 1)',
  },
});
