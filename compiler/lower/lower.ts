// Tensor IR -> loop IR for one segment. Decides which nodes get their own buffer (reused
// values, reduction operands, results of matvec/matmul) and inlines the rest as scalar
// expressions, so elementwise chains fuse into the loop that consumes them. Scalars become
// locals. Results are written straight into their destination buffers.

import { topoSort, type Node, type Shape } from '../ir/nodes.js';
import { getOp } from '../ops/registry.js';
import type { NameScope } from '../names.js';
import { dim, iadd, imul, ivar, kernelInputs, kernelOutput, num, type BufferDecl, type IndexExpr, type KernelCall, type Operand, type ScalarExpr, type Segment, type Stmt } from './loop-ir.js';

/** Where an already-computed node lives. */
export type Ref = { readonly kind: 'buffer'; readonly name: string } | { readonly kind: 'local'; readonly name: string };

export interface Output {
  readonly node: Node | null;
  readonly buffer: string;
  /** Add into the buffer (gradient accumulation) instead of overwriting it. */
  readonly accumulate: boolean;
}

export interface LoweringContext {
  /** The module scope: temporary buffers get their names here, each segment's locals in a child of it. */
  readonly names: NameScope;
  /** Nodes computed elsewhere (inputs, invariants, shared intermediates). */
  readonly available: ReadonlyMap<number, Ref>;
  /** Buffers marked batched. */
  readonly batched: ReadonlySet<string>;
  /** New temporary buffers are declared here. */
  declare(buffer: BufferDecl): void;
}

const REDUCTIONS = new Set(['matvec', 'matmul', 'sum', 'dot']);
const VIEWS = new Set(['transpose', 'outer']);

export function lowerSegment(ctx: LoweringContext, name: string, doc: string, outputs: readonly Output[]): Segment {
  return new SegmentLowering(ctx).run(name, doc, outputs);
}

class SegmentLowering {
  private readonly refs = new Map<number, Ref>();
  private readonly body: Stmt[] = [];
  private readonly touched = new Set<string>();
  /** Locals of this segment: loop indices, accumulators, the batch index. */
  private readonly scope: NameScope;
  private readonly loopNames: readonly string[];
  private readonly batchIndex: string;

  constructor(private readonly ctx: LoweringContext) {
    for (const [id, ref] of ctx.available) this.refs.set(id, ref);
    this.scope = ctx.names.child();
    this.loopNames = ['i', 'j', 'l'].map((n) => this.scope.fresh(n));
    this.batchIndex = this.scope.fresh('d');
  }

  run(name: string, doc: string, outputs: readonly Output[]): Segment {
    const roots = outputs.map((o) => o.node).filter((n): n is Node => n !== null);
    // Values already computed elsewhere are leaves here: what lies below them is not recomputed.
    const order = topoSort(roots, (n) => this.refs.has(n.id)).filter((n) => n.kind === 'op' && !this.refs.has(n.id));
    const materialize = this.chooseMaterialized(order, roots);
    // A product accumulated straight into its output (θ̄ += Uᵀv) needs no buffer of its own.
    const argUses = new Set(order.flatMap((n) => (n.kind === 'op' ? n.args.map((a) => a.id) : [])));
    for (const o of outputs) {
      const n = o.node;
      if (o.accumulate && n?.kind === 'op' && (n.op === 'matvec' || n.op === 'matmul') && !argUses.has(n.id) && outputs.filter((p) => p.node === n).length === 1) materialize.delete(n.id);
    }

    // Give results that are materialized anyway their destination buffer as home.
    const homes = new Map<number, Output>();
    for (const o of outputs) {
      if (o.node && !o.accumulate && materialize.has(o.node.id) && o.node.shape.length > 0 && !homes.has(o.node.id)) homes.set(o.node.id, o);
    }
    for (const node of order) {
      if (!materialize.has(node.id)) continue;
      const home = homes.get(node.id);
      if (home) {
        this.compute(node, home.buffer, false);
        this.refs.set(node.id, { kind: 'buffer', name: home.buffer });
      } else if (node.shape.length === 0) {
        this.refs.set(node.id, { kind: 'local', name: this.computeScalar(node) });
      } else {
        const buffer = this.ctx.names.fresh('t');
        // Scratch: computed and consumed within one call, so one copy serves every direction.
        this.ctx.declare({ name: buffer, dims: node.shape, batched: false });
        this.compute(node, buffer, false);
        this.refs.set(node.id, { kind: 'buffer', name: buffer });
      }
    }
    for (const o of outputs) {
      const ref = o.node ? this.refs.get(o.node.id) : undefined;
      if (ref?.kind === 'buffer' && ref.name === o.buffer && !o.accumulate) continue;
      if (!o.node) {
        if (!o.accumulate) this.fill(o.buffer, this.outputShape(o), { kind: 'num', value: 0 });
        continue;
      }
      this.compute(o.node, o.buffer, o.accumulate);
    }
    return { name, doc, body: this.body, batched: [...this.touched].sort(), scope: this.scope, batchIndex: this.batchIndex, loopNames: this.loopNames };
  }

  private outputShape(o: Output): Shape {
    return o.node?.shape ?? [];
  }

  private chooseMaterialized(order: readonly Node[], roots: readonly Node[]): Set<number> {
    const uses = new Map<number, number>();
    const mustLoad = new Set<number>();
    for (const n of order) {
      if (n.kind !== 'op') continue;
      for (const a of n.args) uses.set(a.id, (uses.get(a.id) ?? 0) + 1);
      // Operands read many times per entry of the result need their own buffer.
      if (n.op === 'matvec') mustLoad.add(n.args[1]!.id);
      // matmul reads its left operand once per (row, inner) pair, so a transpose view of it is read in place
      if (n.op === 'matmul') n.args.forEach((a, k) => (k === 1 || !isView(a, 'transpose')) && mustLoad.add(a.id));
      // outer(u, v) reads u(i) for every j: u and v need buffers. transpose reads each entry once.
      if (n.op === 'outer') n.args.forEach((a) => mustLoad.add(a.id));
      if (n.op === 'matvec' && isView(n.args[0]!, 'transpose')) mustLoad.add((n.args[0] as unknown as { args: Node[] }).args[0]!.id);
    }
    for (const r of roots) uses.set(r.id, (uses.get(r.id) ?? 0) + 1);
    const out = new Set<number>();
    for (const n of order) {
      if (n.kind !== 'op') continue;
      const def = getOp(n.op);
      if (n.shape.length === 0) out.add(n.id);
      else if (REDUCTIONS.has(n.op)) out.add(n.id);
      else if (VIEWS.has(n.op)) {
        if (mustLoad.has(n.id)) out.add(n.id);
      } else if (def.kind === 'elementwise' && ((uses.get(n.id) ?? 0) > 1 || mustLoad.has(n.id))) out.add(n.id);
    }
    return out;
  }

  private touch(buffer: string) {
    if (this.ctx.batched.has(buffer)) this.touched.add(buffer);
  }

  private loopVar(depth: number): string {
    return this.loopNames[depth]!;
  }

  /** Loops over `shape`, giving the body the index expressions per dim. */
  private loops(shape: Shape, body: (idx: IndexExpr[]) => Stmt[]): Stmt[] {
    const vars = shape.map((_d, i) => this.loopVar(i));
    let stmts = body(vars.map(ivar));
    for (let i = shape.length - 1; i >= 0; i--) stmts = [{ kind: 'for', index: vars[i]!, extent: dim(shape[i]!), body: stmts }];
    return stmts;
  }

  private flat(idx: readonly IndexExpr[], shape: Shape): IndexExpr {
    if (shape.length === 0) return num(0);
    if (shape.length === 1) return idx[0]!;
    return iadd(imul(idx[0]!, dim(shape[1]!)), idx[1]!);
  }

  private store(buffer: string, index: IndexExpr, value: ScalarExpr, accumulate: boolean): Stmt {
    this.touch(buffer);
    return { kind: 'store', buffer, index, value, accumulate };
  }

  private fill(buffer: string, shape: Shape, value: ScalarExpr) {
    this.body.push(...this.loops(shape, (idx) => [this.store(buffer, this.flat(idx, shape), value, false)]));
  }

  /** The value of `node` at index `idx` as a scalar expression. */
  private expr(node: Node, idx: readonly IndexExpr[]): ScalarExpr {
    const ref = this.refs.get(node.id);
    if (ref?.kind === 'local') return { kind: 'local', name: ref.name };
    if (ref?.kind === 'buffer') {
      this.touch(ref.name);
      return { kind: 'load', buffer: ref.name, index: this.flat(idx, node.shape) };
    }
    if (node.kind === 'const') return { kind: 'num', value: node.value };
    if (node.kind === 'input') throw new Error(`input ${node.name} (${node.role}) has no buffer in this segment`);
    if (node.op === 'transpose') return this.expr(node.args[0]!, [idx[1]!, idx[0]!]);
    if (node.op === 'outer') return { kind: 'call', op: 'mul', args: [this.expr(node.args[0]!, [idx[0]!]), this.expr(node.args[1]!, [idx[1]!])] };
    const def = getOp(node.op);
    if (def.kind !== 'elementwise') throw new Error(`${node.op} must be materialized before use`);
    return { kind: 'call', op: node.op, args: node.args.map((a) => this.expr(a, a.shape.length === 0 ? [] : idx)) };
  }

  private computeScalar(node: Node): string {
    // A scalar sits at the segment's top level, where the GPU back end gives it a buffer of its
    // own: its name is unique in the module, not only in the segment.
    if (node.kind === 'op' && (node.op === 'sum' || node.op === 'dot')) {
      const acc = this.ctx.names.fresh('s');
      this.body.push({ kind: 'let', name: acc, value: { kind: 'num', value: 0 }, mutable: true });
      const [u, v] = (node as unknown as { args: Node[] }).args;
      const shape = u!.shape;
      this.body.push(
        ...this.loops(shape, (idx) => {
          const term = node.op === 'sum' ? this.expr(u!, idx) : { kind: 'call' as const, op: 'mul', args: [this.expr(u!, idx), this.expr(v!, idx)] };
          return [{ kind: 'add-to-local', name: acc, value: term }];
        }),
      );
      return acc;
    }
    const name = this.ctx.names.fresh('s');
    this.body.push({ kind: 'let', name, value: this.expr(node, []), mutable: false });
    return name;
  }

  /** Statements writing `node` into `buffer` (overwriting or accumulating). */
  private compute(node: Node, buffer: string, accumulate: boolean) {
    const shape = node.shape;
    const computed = this.refs.has(node.id);
    if (!computed && node.kind === 'op' && node.op === 'matvec') return this.matvec(node.args[0]!, node.args[1]!, buffer, accumulate);
    if (!computed && node.kind === 'op' && node.op === 'matmul') return this.matmul(node.args[0]!, node.args[1]!, buffer, accumulate);
    if (shape.length === 0 && node.kind === 'op' && !computed) {
      const local = this.computeScalar(node);
      this.refs.set(node.id, { kind: 'local', name: local });
    }
    const loops = this.loops(shape, (idx) => [this.store(buffer, this.flat(idx, shape), this.expr(node, idx), accumulate)]);
    // B += u wᵀ of two vectors in buffers: a rank-1 update
    if (accumulate && node.kind === 'op' && node.op === 'outer' && !computed) {
      const [u, w] = node.args.map((x) => this.bufferOf(x));
      if (u && w) {
        const [rows, cols] = shape as [string, string];
        this.product({ kernel: 'ger', B: { buffer, base: num(0) }, ldb: dim(cols), u: { buffer: u, base: num(0) }, incu: num(1), w: { buffer: w, base: num(0) }, m: dim(rows), n: dim(cols) }, loops);
        return;
      }
    }
    this.body.push(...loops);
  }

  /** The buffer a node is read from, when it has one. */
  private bufferOf(n: Node): string | null {
    const ref = this.refs.get(n.id);
    return ref?.kind === 'buffer' ? ref.name : null;
  }

  /** `loops` as one kernel statement when `call` is a product of distinct buffers, else as they are. */
  private product(call: KernelCall | null, loops: Stmt[]) {
    const output = call && kernelOutput(call).buffer;
    const distinct = call && kernelInputs(call).every((o) => o === kernelOutput(call) || o.buffer !== output);
    if (call && distinct) this.body.push({ kind: 'kernel', call, loops });
    else this.body.push(...loops);
  }

  private matvec(m: Node, v: Node, buffer: string, accumulate: boolean) {
    const [rows, cols] = m.shape as [string, string];
    const [i, j] = [this.loopVar(0), this.loopVar(1)];
    const at = (name: string | null): Operand | null => (name ? { buffer: name, base: num(0) } : null);
    if (isView(m, 'transpose') && !this.refs.has(m.id)) {
      if (!accumulate) this.fill(buffer, [rows], { kind: 'num', value: 0 });
      // y = Aᵀv, A stored row-major: walk A by rows (axpy form) for unit-stride access.
      const a = (m as unknown as { args: Node[] }).args[0]!;
      const s = this.scope.fresh('s');
      const loops: Stmt[] = [{
        kind: 'for', index: i, extent: dim(cols),
        body: [
          { kind: 'let', name: s, value: this.expr(v, [ivar(i)]), mutable: false },
          { kind: 'for', index: j, extent: dim(rows), body: [this.store(buffer, ivar(j), { kind: 'call', op: 'mul', args: [this.expr(a, [ivar(i), ivar(j)]), { kind: 'local', name: s }] }, true)] },
        ],
      }];
      const [A, x] = [at(this.bufferOf(a)), at(this.bufferOf(v))];
      this.product(A && x ? { kernel: 'gemvT', A, lda: dim(rows), v: x, y: { buffer, base: num(0) }, m: dim(cols), n: dim(rows) } : null, loops);
      return;
    }
    const acc = this.scope.fresh('s');
    const loops: Stmt[] = [{
      kind: 'for', index: i, extent: dim(rows),
      body: [
        { kind: 'let', name: acc, value: { kind: 'num', value: 0 }, mutable: true },
        { kind: 'for', index: j, extent: dim(cols), body: [{ kind: 'add-to-local', name: acc, value: { kind: 'call', op: 'mul', args: [this.expr(m, [ivar(i), ivar(j)]), this.expr(v, [ivar(j)])] } }] },
        this.store(buffer, ivar(i), { kind: 'local', name: acc }, accumulate),
      ],
    }];
    // gemv overwrites its output: an accumulated matvec stays loops
    const [A, x] = [at(this.bufferOf(m)), at(this.bufferOf(v))];
    this.product(A && x && !accumulate ? { kernel: 'gemv', A, lda: dim(cols), x, y: { buffer, base: num(0) }, m: dim(rows), n: dim(cols) } : null, loops);
  }

  private matmul(l: Node, r: Node, buffer: string, accumulate: boolean) {
    const [rows, inner] = l.shape as [string, string];
    const cols = r.shape[1]!;
    const [i, j, k] = [this.loopVar(0), this.loopVar(1), this.loopVar(2)];
    if (!accumulate) this.fill(buffer, [rows, cols], { kind: 'num', value: 0 });
    const a = this.scope.fresh('s');
    // C += L R in k-i-j order: unit stride along rows of R and C.
    const loops: Stmt[] = [{
      kind: 'for', index: k, extent: dim(inner),
      body: [{
        kind: 'for', index: i, extent: dim(rows),
        body: [
          { kind: 'let', name: a, value: this.expr(l, [ivar(i), ivar(k)]), mutable: false },
          { kind: 'for', index: j, extent: dim(cols), body: [this.store(buffer, this.flat([ivar(i), ivar(j)], [rows, cols]), { kind: 'call', op: 'mul', args: [{ kind: 'local', name: a }, this.expr(r, [ivar(k), ivar(j)])] }, true)] },
        ],
      }],
    }];
    // L is a buffer, or a transpose view of one (Xᵀ, read in place): L[i, l] = X[l, i]
    const transposed = isView(l, 'transpose') && !this.refs.has(l.id) ? this.bufferOf((l as unknown as { args: Node[] }).args[0]!) : null;
    const left = transposed ?? this.bufferOf(l);
    const right = this.bufferOf(r);
    const call: KernelCall | null = left && right
      ? {
          kernel: 'gemm', C: { buffer, base: num(0) }, ldc: dim(cols), A: { buffer: left, base: num(0) }, ai: transposed ? num(1) : dim(inner), al: transposed ? dim(rows) : num(1),
          B: { buffer: right, base: num(0) }, ldb: dim(cols), m: dim(rows), n: dim(cols), k: dim(inner), symmetric: !!transposed && transposed === right && rows === cols,
        }
      : null;
    this.product(call, loops);
  }
}

function isView(n: Node, op: string): boolean {
  return n.kind === 'op' && n.op === op;
}
