// The playground's inputs: dims typed as `m=8, n=4`, and seeded random values for every
// parameter and data input of a compiled module (its meta lists them with their shapes).
// Parameters are drawn in [0.1, 1] (positive, as penalties and step sizes are); data in
// [-1, 1] / sqrt(rows), so that a matrix's spectral norm stays near 1 and gradient steps contract.

/** `m=8, n=4` -> { m: 8, n: 4 }; throws a one-line reason on anything else. */
export function parseDims(text) {
  const dims = {};
  for (const part of text.split(/[,\s]+/).filter(Boolean)) {
    const m = /^([A-Za-z_$][\w$]*)=(\d+)$/.exec(part);
    if (!m || Number(m[2]) < 1) throw new Error(`dims: expected name=size (a positive integer), got '${part}'`);
    dims[m[1]] = Number(m[2]);
  }
  return dims;
}

/** mulberry32: a small seeded generator of numbers in [0, 1). */
export function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A shape's sizes: each entry a dim name (looked up in dims) or a literal size. */
export function sizes(shape, dims) {
  return shape.map((d) => {
    if (typeof d === 'number') return d;
    if (!(d in dims)) throw new Error(`dims: give ${d} (the spec uses it)`);
    return dims[d];
  });
}

function filled(shape, draw) {
  if (shape.length === 0) return draw();
  const [n, ...rest] = shape;
  return Array.from({ length: n }, () => filled(rest, draw));
}

/** Random inputs for a module's params and data, from `seed`. */
export function randomInputs(meta, dims, seed) {
  const next = seeded(seed);
  const inputs = {};
  for (const p of meta.params) inputs[p.name] = filled(sizes(p.shape, dims), () => 0.1 + 0.9 * next());
  for (const d of meta.data) {
    const shape = sizes(d.shape, dims);
    const scale = shape.length >= 2 ? 1 / Math.sqrt(shape[0]) : 1;
    inputs[d.name] = filled(shape, () => (2 * next() - 1) * scale);
  }
  return inputs;
}
