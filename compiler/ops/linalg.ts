// Structural (linear and bilinear) ops: shape rule, JVP, transpose rule, reference evaluation
// and lowering (loops, and the kernel statement a product becomes) each. Reverse mode is
// "linearise, then transpose" through these rules.

import { ShapeError, formatShape, type Node, type Shape } from '../ir/nodes.js';
import { dim, ivar, num, type KernelCall, type Operand, type Stmt } from '../lower/loop-ir.js';
import { defineOp, type LoweringSite, type Tensor } from './registry.js';

export const tensor = (shape: number[]): Tensor => ({ shape, data: new Float64Array(shape.reduce((p, d) => p * d, 1)) });

export function expectRank(s: Shape, rank: number, what: string) {
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
  multilinear: true,
  name: 'matvec',
  keepsNonFinite: [0, 1],
  arity: 2,
  shape([m, v]) {
    expectRank(m!, 2, 'left operand of matrix-vector product');
    expectRank(v!, 1, 'right operand of matrix-vector product');
    expectDim(m![1]!, v![0]!, `matrix ${formatShape(m!)} times vector ${formatShape(v!)}`);
    return [m![0]!];
  },
  jvp: (b, [m, v], [dm, dv]) => b.addAll([dm ? b.matvec(dm, v!) : null, dv ? b.matvec(m!, dv) : null]),
  vjp: (b, [m, v], y) => [b.outer(y, v!), b.matvec(b.transpose(m!), y)],
  lowering: {
    form: 'product',
    // v is read once per row; Aᵀ of a transpose view is read in place, so A needs a buffer
    mustLoad: (site, [m, v]) => [v!, ...(site.isView(m!, 'transpose') ? [(m as OpNode).args[0]!] : [])],
    write: (site, [m, v], buffer, accumulate) => (site.isView(m!, 'transpose') ? matvecT(site, (m as OpNode).args[0]!, v!, buffer, accumulate) : matvec(site, m!, v!, buffer, accumulate)),
  },
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
  multilinear: true,
  name: 'matmul',
  keepsNonFinite: [0, 1],
  arity: 2,
  shape([m, n]) {
    expectRank(m!, 2, 'left operand of matrix product');
    expectRank(n!, 2, 'right operand of matrix product');
    expectDim(m![1]!, n![0]!, `matrix ${formatShape(m!)} times matrix ${formatShape(n!)}`);
    return [m![0]!, n![1]!];
  },
  jvp: (b, [m, n], [dm, dn]) => b.addAll([dm ? b.matmul(dm, n!) : null, dn ? b.matmul(m!, dn) : null]),
  vjp: (b, [m, n], y) => [b.matmul(y, b.transpose(n!)), b.matmul(b.transpose(m!), y)],
  lowering: {
    form: 'product',
    // the left operand is read once per (row, inner) pair, so a transpose view of it is read in place
    mustLoad: (site, [l, r]) => [...(site.isView(l!, 'transpose') ? [] : [l!]), r!],
    write: (site, [l, r], buffer, accumulate) => matmul(site, l!, r!, buffer, accumulate),
  },
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
  multilinear: true,
  name: 'transpose',
  keepsNonFinite: [0],
  arity: 1,
  shape([m]) {
    expectRank(m!, 2, 'operand of matrix transpose');
    return [m![1]!, m![0]!];
  },
  jvp: (b, _a, [dm]) => (dm ? b.transpose(dm) : null),
  vjp: (b, _a, y) => [b.transpose(y)],
  // read in place: entry (i, j) is M's (j, i)
  lowering: { form: 'view', at: (site, [m], [i, j]) => site.expr(m!, [j!, i!]) },
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
  multilinear: true,
  name: 'sum',
  keepsNonFinite: [0],
  arity: 1,
  shape: () => [],
  jvp: (b, _a, [dx]) => (dx ? b.sum(dx) : null),
  vjp: (b, [x], y) => [b.broadcastTo(y, x!.shape)],
  lowering: { form: 'scalar-reduction', term: (site, [x], idx) => site.expr(x!, idx) },
  evaluate([x]) {
    const out = tensor([]);
    out.data[0] = x!.data.reduce((p, v) => p + v, 0);
    return out;
  },
});

// s = uᵀv; ṡ = u̇ᵀv + uᵀv̇; ū = s̄ v, v̄ = s̄ u
defineOp({
  kind: 'structural',
  multilinear: true,
  name: 'dot',
  keepsNonFinite: [0, 1],
  arity: 2,
  shape([u, v]) {
    expectRank(u!, 1, 'left operand of dot product');
    expectRank(v!, 1, 'right operand of dot product');
    expectDim(u![0]!, v![0]!, `dot product of ${formatShape(u!)} and ${formatShape(v!)}`);
    return [];
  },
  jvp: (b, [u, v], [du, dv]) => b.addAll([du ? b.dot(du, v!) : null, dv ? b.dot(u!, dv) : null]),
  vjp: (b, [u, v], y) => [b.mul(y, v!), b.mul(y, u!)],
  lowering: { form: 'scalar-reduction', term: (site, [u, v], idx) => ({ kind: 'call', op: 'mul', args: [site.expr(u!, idx), site.expr(v!, idx)] }) },
  evaluate([u, v]) {
    const out = tensor([]);
    out.data[0] = u!.data.reduce((p, x, i) => p + x * v!.data[i]!, 0);
    return out;
  },
});

// Y = u vᵀ; Ẏ = u̇ vᵀ + u v̇ᵀ; ū = Ȳ v, v̄ = Ȳᵀ u
defineOp({
  kind: 'structural',
  multilinear: true,
  name: 'outer',
  keepsNonFinite: [0, 1],
  arity: 2,
  shape([u, v]) {
    expectRank(u!, 1, 'left operand of outer product');
    expectRank(v!, 1, 'right operand of outer product');
    return [u![0]!, v![0]!];
  },
  jvp: (b, [u, v], [du, dv]) => b.addAll([du ? b.outer(du, v!) : null, dv ? b.outer(u!, dv) : null]),
  vjp: (b, [u, v], y) => [b.matvec(y, v!), b.matvec(b.transpose(y), u!)],
  lowering: {
    form: 'view',
    // entry (i, j) is u(i) v(j): u is read for every j, v for every i, so both need buffers
    at: (site, [u, v], [i, j]) => ({ kind: 'call', op: 'mul', args: [site.expr(u!, [i!]), site.expr(v!, [j!])] }),
    mustLoad: (_site, args) => args,
    // B += u wᵀ of two vectors in buffers: a rank-1 update
    accumulate(site, args, buffer, shape, loops) {
      const [u, w] = args.map((x) => site.bufferOf(x));
      if (!u || !w) return false;
      const [rows, cols] = shape as [string, string];
      site.product({ kernel: 'ger', B: at(buffer), ldb: dim(cols), u: at(u), incu: num(1), w: at(w), m: dim(rows), n: dim(cols) }, loops);
      return true;
    },
  },
  evaluate([u, v]) {
    const r = u!.data.length;
    const c = v!.data.length;
    const out = tensor([r, c]);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out.data[i * c + j] = u!.data[i]! * v!.data[j]!;
    return out;
  },
});

type OpNode = Node & { readonly args: readonly Node[] };

export const at = (buffer: string): Operand => ({ buffer, base: num(0) });
const atBuffer = (name: string | null): Operand | null => (name ? at(name) : null);

/** y = M v: a dot product per row; gemv when M and v are buffers (gemv overwrites: an accumulated matvec stays loops). */
function matvec(site: LoweringSite, m: Node, v: Node, buffer: string, accumulate: boolean) {
  const [rows, cols] = m.shape as [string, string];
  const [i, j] = [site.loopVar(0), site.loopVar(1)];
  const acc = site.local('s');
  const loops: Stmt[] = [{
    kind: 'for', index: i, extent: dim(rows),
    body: [
      { kind: 'let', name: acc, value: { kind: 'num', value: 0 }, mutable: true },
      { kind: 'for', index: j, extent: dim(cols), body: [{ kind: 'add-to-local', name: acc, value: { kind: 'call', op: 'mul', args: [site.expr(m, [ivar(i), ivar(j)]), site.expr(v, [ivar(j)])] } }] },
      site.store(buffer, ivar(i), { kind: 'local', name: acc }, accumulate),
    ],
  }];
  const [A, x] = [atBuffer(site.bufferOf(m)), atBuffer(site.bufferOf(v))];
  site.product(A && x && !accumulate ? { kernel: 'gemv', A, lda: dim(cols), x, y: at(buffer), m: dim(rows), n: dim(cols) } : null, loops);
}

/** y = Aᵀv, A stored row-major: walk A by rows (axpy form) for unit-stride access; gemvT when A and v are buffers. */
function matvecT(site: LoweringSite, a: Node, v: Node, buffer: string, accumulate: boolean) {
  const [cols, rows] = a.shape as [string, string];
  const [i, j] = [site.loopVar(0), site.loopVar(1)];
  if (!accumulate) site.fill(buffer, [rows], { kind: 'num', value: 0 });
  const s = site.local('s');
  const loops: Stmt[] = [{
    kind: 'for', index: i, extent: dim(cols),
    body: [
      { kind: 'let', name: s, value: site.expr(v, [ivar(i)]), mutable: false },
      { kind: 'for', index: j, extent: dim(rows), body: [site.store(buffer, ivar(j), { kind: 'call', op: 'mul', args: [site.expr(a, [ivar(i), ivar(j)]), { kind: 'local', name: s }] }, true)] },
    ],
  }];
  const [A, x] = [atBuffer(site.bufferOf(a)), atBuffer(site.bufferOf(v))];
  site.product(A && x ? { kernel: 'gemvT', A, lda: dim(rows), v: x, y: at(buffer), m: dim(cols), n: dim(rows) } : null, loops);
}

/** C (+)= L R in k-i-j order (unit stride along rows of R and C); gemm when both are buffers, L possibly a transpose view Xᵀ read in place. */
function matmul(site: LoweringSite, l: Node, r: Node, buffer: string, accumulate: boolean) {
  const [rows, inner] = l.shape as [string, string];
  const cols = r.shape[1]!;
  const [i, j, k] = [site.loopVar(0), site.loopVar(1), site.loopVar(2)];
  if (!accumulate) site.fill(buffer, [rows, cols], { kind: 'num', value: 0 });
  const a = site.local('s');
  const loops: Stmt[] = [{
    kind: 'for', index: k, extent: dim(inner),
    body: [{
      kind: 'for', index: i, extent: dim(rows),
      body: [
        { kind: 'let', name: a, value: site.expr(l, [ivar(i), ivar(k)]), mutable: false },
        { kind: 'for', index: j, extent: dim(cols), body: [site.store(buffer, site.flat([ivar(i), ivar(j)], [rows, cols]), { kind: 'call', op: 'mul', args: [{ kind: 'local', name: a }, site.expr(r, [ivar(k), ivar(j)])] }, true)] },
      ],
    }],
  }];
  // L[i, l] = X[l, i] when L is the view Xᵀ; the product XᵀX is symmetric
  const transposed = site.isView(l, 'transpose') ? site.bufferOf((l as OpNode).args[0]!) : null;
  const left = transposed ?? site.bufferOf(l);
  const right = site.bufferOf(r);
  const call: KernelCall | null = left && right
    ? {
        kernel: 'gemm', C: at(buffer), ldc: dim(cols), A: at(left), ai: transposed ? num(1) : dim(inner), al: transposed ? dim(rows) : num(1),
        B: at(right), ldb: dim(cols), m: dim(rows), n: dim(cols), k: dim(inner), symmetric: !!transposed && transposed === right && rows === cols,
      }
    : null;
  site.product(call, loops);
}
