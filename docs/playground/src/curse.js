// The curse of unrolling, measured: for a chosen truncation index t, the error
// ‖∂x_k/∂θ − J*‖_F of the truncated forward-mode Jacobian at each step k = t+1..K.
// ∂x_k/∂θ is read from one jvp pass per parameter entry (its observer sees the tangent at every
// k). J* is a reference: jacobianForward after Kref untruncated steps (t = 0), which is the
// implicit Jacobian ∂x*/∂θ up to ρ^Kref for a map that contracts at rate ρ.

import { sizes } from './data.js';

const count = (shape, dims) => sizes(shape, dims).reduce((a, b) => a * b, 1);

/** `compile` is phic/browser's. Returns { t, K, Kref, points: [{ k, error }] }. */
export async function curse(compile, specText, { K, t, Kref, dims, inputs }) {
  const run = await compile(specText, { mode: 'forward', K, truncate: t });
  const ref = await compile(specText, { mode: 'forward', K: Kref, truncate: 0 });
  const { jacobian } = ref.module.create(dims).jacobianForward(inputs);
  const inst = run.module.create(dims);
  const { params, state } = run.meta;
  const squares = new Float64Array(K - t);
  for (const p of params) {
    const n = count(p.shape, dims);
    for (let j = 0; j < n; j++) {
      // A unit direction on entry j of p (a scalar parameter's direction is a number).
      const direction = Object.fromEntries(params.map((q) => [q.name, q.shape.length === 0 ? 0 : new Float64Array(count(q.shape, dims))]));
      if (p.shape.length === 0) direction[p.name] = 1;
      else direction[p.name][j] = 1;
      inst.jvp(inputs, direction, undefined, (o) => {
        if (o.phase !== 'forward') return;
        for (const s of state) {
          const J = jacobian[s.name][p.name];
          const tangent = o.tangent[s.name];
          for (let i = 0; i < tangent.length; i++) {
            const d = tangent[i] - J.data[i * J.cols + j];
            squares[o.k - t - 1] += d * d;
          }
        }
      });
    }
  }
  return { t, K, Kref, points: Array.from(squares, (sq, i) => ({ k: t + 1 + i, error: Math.sqrt(sq) })) };
}
