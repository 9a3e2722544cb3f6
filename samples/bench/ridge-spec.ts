// The ridge-regression map both benchmarks compile: gradient descent with a per-feature penalty,
// x ← x − α(Aᵀ(Ax − b) + θ∘x), α a literal constant of the spec.

import type { MapSpec } from '../../src/index.js';

export function ridgeSpec(alpha: number): MapSpec {
  return {
    name: 'ridge',
    state: { x: 'n' },
    params: { theta: 'n' },
    data: { A: 'm,n', b: 'm' },
    constants: { alpha },
    update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" },
  };
}
