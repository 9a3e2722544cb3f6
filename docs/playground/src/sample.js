// The spec the playground starts with: ridge regression by gradient descent, θ a per-feature penalty.
export const SAMPLE_SPEC = `{
  "name": "ridge",
  "state": { "x": "n" },
  "params": { "theta": "n" },
  "data": { "A": "m,n", "b": "m" },
  "constants": { "alpha": 0.5 },
  "update": { "x": "x - alpha * (A' * (A * x - b) + theta .* x)" }
}
`;
