// Structural (linear and bilinear) ops: shape rule, JVP, transpose rule and a reference
// evaluation each. Reverse mode is "linearise, then transpose" through these rules.

import { ShapeError, formatShape, type Shape } from '../ir/nodes.js';
import { defineOp, type Tensor } from './registry.js';

const tensor = (shape: number[]): Tensor => ({ shape, data: new Float64Array(shape.reduce((p, d) => p * d, 1)) });

function expectRank(s: Shape, rank: number, what: string) {
  if (s.length !== rank) {
    const kinds = ['a scalar', 'a vector', 'a matrix'];
    throw new ShapeError(`${what} must be ${kinds[rank]}, got ${formatShape(s)}`);
  }
}
function expectDim(a: string, b: string, what: string) {
  if (a !== b) throw new ShapeError(`${what}: inner dimensions ${a} and ${b} do not match`);
}

// y = M v; ẏ = Ṁ v + M v̇; M̄ = ȳ vᵀ, v̄ = Mᵀ ȳ
defineOp({
  kind: 'structural',
  name: 'matvec',
  arity: 2,
  shape([m, v]) {
    expectRank(m!, 2, 'left operand of matrix-vector product');
    expectRank(v!, 1, 'right operand of matrix-vector product');
    expectDim(m![1]!, v![0]!, `matrix ${formatShape(m!)} times vector ${formatShape(v!)}`);
    return [m![0]!];
  },
  jvp: (b, [m, v], [dm, dv]) => b.addAll([dm ? b.matvec(dm, v!) : null, dv ? b.matvec(m!, dv) : null]),
  vjp: (b, [m, v], y) => [b.outer(y, v!), b.matvec(b.transpose(m!), y)],
  evaluate([m, v]) {
    const [r, c] = m!.shape as [number, number];
    const out = tensor([r]);
    for (let i = 0; i < r; i++) {
      let s = 0;
      for (let j = 0; j < c; j++) s += m!.data[i * c + j]! * v!.data[j]!;
      out.data[i] = s;
    }
    return out;
  },
});

// Y = M N; Ẏ = Ṁ N + M Ṅ; M̄ = Ȳ Nᵀ, N̄ = Mᵀ Ȳ
defineOp({
  kind: 'structural',
  name: 'matmul',
  arity: 2,
  shape([m, n]) {
    expectRank(m!, 2, 'left operand of matrix product');
    expectRank(n!, 2, 'right operand of matrix product');
    expectDim(m![1]!, n![0]!, `matrix ${formatShape(m!)} times matrix ${formatShape(n!)}`);
    return [m![0]!, n![1]!];
  },
  jvp: (b, [m, n], [dm, dn]) => b.addAll([dm ? b.matmul(dm, n!) : null, dn ? b.matmul(m!, dn) : null]),
  vjp: (b, [m, n], y) => [b.matmul(y, b.transpose(n!)), b.matmul(b.transpose(m!), y)],
  evaluate([m, n]) {
    const [r, k] = m!.shape as [number, number];
    const c = n!.shape[1]!;
    const out = tensor([r, c]);
    for (let i = 0; i < r; i++)
      for (let j = 0; j < c; j++) {
        let s = 0;
        for (let l = 0; l < k; l++) s += m!.data[i * k + l]! * n!.data[l * c + j]!;
        out.data[i * c + j] = s;
      }
    return out;
  },
});

// Y = Mᵀ is linear: Ẏ = Ṁᵀ, M̄ = Ȳᵀ
defineOp({
  kind: 'structural',
  name: 'transpose',
  arity: 1,
  shape([m]) {
    expectRank(m!, 2, 'operand of matrix transpose');
    return [m![1]!, m![0]!];
  },
  jvp: (b, _a, [dm]) => (dm ? b.transpose(dm) : null),
  vjp: (b, _a, y) => [b.transpose(y)],
  evaluate([m]) {
    const [r, c] = m!.shape as [number, number];
    const out = tensor([c, r]);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out.data[j * r + i] = m!.data[i * c + j]!;
    return out;
  },
});

// s = Σ x is linear: ṡ = Σ ẋ, x̄ = s̄ broadcast
defineOp({
  kind: 'structural',
  name: 'sum',
  arity: 1,
  shape: () => [],
  jvp: (b, _a, [dx]) => (dx ? b.sum(dx) : null),
  vjp: (b, [x], y) => [b.broadcastTo(y, x!.shape)],
  evaluate([x]) {
    const out = tensor([]);
    out.data[0] = x!.data.reduce((p, v) => p + v, 0);
    return out;
  },
});

// s = uᵀv; ṡ = u̇ᵀv + uᵀv̇; ū = s̄ v, v̄ = s̄ u
defineOp({
  kind: 'structural',
  name: 'dot',
  arity: 2,
  shape([u, v]) {
    expectRank(u!, 1, 'left operand of dot product');
    expectRank(v!, 1, 'right operand of dot product');
    expectDim(u![0]!, v![0]!, `dot product of ${formatShape(u!)} and ${formatShape(v!)}`);
    return [];
  },
  jvp: (b, [u, v], [du, dv]) => b.addAll([du ? b.dot(du, v!) : null, dv ? b.dot(u!, dv) : null]),
  vjp: (b, [u, v], y) => [b.mul(y, v!), b.mul(y, u!)],
  evaluate([u, v]) {
    const out = tensor([]);
    out.data[0] = u!.data.reduce((p, x, i) => p + x * v!.data[i]!, 0);
    return out;
  },
});

// Y = u vᵀ; Ẏ = u̇ vᵀ + u v̇ᵀ; ū = Ȳ v, v̄ = Ȳᵀ u
defineOp({
  kind: 'structural',
  name: 'outer',
  arity: 2,
  shape([u, v]) {
    expectRank(u!, 1, 'left operand of outer product');
    expectRank(v!, 1, 'right operand of outer product');
    return [u![0]!, v![0]!];
  },
  jvp: (b, [u, v], [du, dv]) => b.addAll([du ? b.outer(du, v!) : null, dv ? b.outer(u!, dv) : null]),
  vjp: (b, [u, v], y) => [b.matvec(y, v!), b.matvec(b.transpose(y), u!)],
  evaluate([u, v]) {
    const r = u!.data.length;
    const c = v!.data.length;
    const out = tensor([r, c]);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out.data[i * c + j] = u!.data[i]! * v!.data[j]!;
    return out;
  },
});
