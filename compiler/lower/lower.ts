// Tensor IR -> loop IR for one segment. Decides which nodes get their own buffer (reused
// values, reduction operands, results of matvec/matmul) and inlines the rest as scalar
// expressions, so elementwise chains fuse into the loop that consumes them. Scalars become
// locals. Results are written straight into their destination buffers.

import { topoSort, type Node, type Shape } from '../ir/nodes.js';
import { getOp, type LoweringSite, type StructuralLowering } from '../ops/registry.js';
import type { NameScope } from '../names.js';
import { dim, iadd, imul, ivar, kernelInputs, kernelOutput, num, type BufferDecl, type IndexExpr, type KernelCall, type ScalarExpr, type Segment, type Stmt } from './loop-ir.js';

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

/** A structural op's lowering (its registry entry's), or null for an elementwise op. */
function loweringOf(n: Node): StructuralLowering | null {
  if (n.kind !== 'op') return null;
  const def = getOp(n.op);
  return def.kind === 'structural' ? def.lowering : null;
}

export function lowerSegment(ctx: LoweringContext, name: string, doc: string, outputs: readonly Output[]): Segment {
  return new SegmentLowering(ctx).run(name, doc, outputs);
}

class SegmentLowering implements LoweringSite {
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
      if (o.accumulate && n && loweringOf(n)?.form === 'product' && !argUses.has(n.id) && outputs.filter((p) => p.node === n).length === 1) materialize.delete(n.id);
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
        const buffer = this.scratch(node.shape, 't');
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
      // operands read many times per entry of the result need their own buffer
      const lowering = loweringOf(n);
      if (lowering && lowering.form !== 'scalar-reduction') for (const a of lowering.mustLoad?.(this, n.args) ?? []) mustLoad.add(a.id);
    }
    for (const r of roots) uses.set(r.id, (uses.get(r.id) ?? 0) + 1);
    const out = new Set<number>();
    for (const n of order) {
      if (n.kind !== 'op') continue;
      const form = loweringOf(n)?.form;
      if (n.shape.length === 0 || form === 'product' || form === 'scalar-reduction') out.add(n.id);
      else if (form === 'view') {
        if (mustLoad.has(n.id)) out.add(n.id);
      } else if ((uses.get(n.id) ?? 0) > 1 || mustLoad.has(n.id)) out.add(n.id);
    }
    return out;
  }

  isView(n: Node, op: string): boolean {
    return n.kind === 'op' && n.op === op && !this.refs.has(n.id);
  }

  local(base: string): string {
    return this.scope.fresh(base);
  }

  private touch(buffer: string) {
    if (this.ctx.batched.has(buffer)) this.touched.add(buffer);
  }

  loopVar(depth: number): string {
    return this.loopNames[depth]!;
  }

  /** Loops over `shape`, giving the body the index expressions per dim. */
  loops(shape: Shape, body: (idx: IndexExpr[]) => Stmt[]): Stmt[] {
    const vars = shape.map((_d, i) => this.loopVar(i));
    let stmts = body(vars.map(ivar));
    for (let i = shape.length - 1; i >= 0; i--) stmts = [{ kind: 'for', index: vars[i]!, extent: dim(shape[i]!), body: stmts }];
    return stmts;
  }

  flat(idx: readonly IndexExpr[], shape: Shape): IndexExpr {
    if (shape.length === 0) return num(0);
    if (shape.length === 1) return idx[0]!;
    return iadd(imul(idx[0]!, dim(shape[1]!)), idx[1]!);
  }

  store(buffer: string, index: IndexExpr, value: ScalarExpr, accumulate: boolean): Stmt {
    this.touch(buffer);
    return { kind: 'store', buffer, index, value, accumulate };
  }

  fill(buffer: string, shape: Shape, value: ScalarExpr) {
    this.body.push(...this.loops(shape, (idx) => [this.store(buffer, this.flat(idx, shape), value, false)]));
  }

  /** The value of `node` at index `idx` as a scalar expression. */
  expr(node: Node, idx: readonly IndexExpr[]): ScalarExpr {
    const ref = this.refs.get(node.id);
    if (ref?.kind === 'local') return { kind: 'local', name: ref.name };
    if (ref?.kind === 'buffer') {
      this.touch(ref.name);
      return { kind: 'load', buffer: ref.name, index: this.flat(idx, node.shape) };
    }
    if (node.kind === 'const') return { kind: 'num', value: node.value };
    if (node.kind === 'input') throw new Error(`input ${node.name} (${node.role}) has no buffer in this segment`);
    const lowering = loweringOf(node);
    if (lowering?.form === 'view') return lowering.at(this, node.args, idx);
    if (lowering) throw new Error(`${node.op} must be materialized before use`);
    return { kind: 'call', op: node.op, args: node.args.map((a) => this.expr(a, a.shape.length === 0 ? [] : idx)) };
  }

  private computeScalar(node: Node): string {
    // A scalar sits at the segment's top level, where the GPU back end gives it a buffer of its
    // own: its name is unique in the module, not only in the segment.
    const lowering = loweringOf(node);
    if (node.kind === 'op' && lowering?.form === 'scalar-reduction') {
      const acc = this.ctx.names.fresh('s');
      const { combine } = lowering;
      const shape = node.args[0]!.shape;
      // a sum starts at 0; a combined reduction (a maximum) at the first term, met again after
      const init: ScalarExpr = combine ? lowering.term(this, node.args, shape.map(() => num(0))) : { kind: 'num', value: 0 };
      this.body.push({ kind: 'let', name: acc, value: init, mutable: true });
      this.body.push(...this.loops(shape, (idx) => [{ kind: 'add-to-local', name: acc, value: lowering.term(this, node.args, idx), ...(combine ? { combine } : {}) }]));
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
    const lowering = computed ? null : loweringOf(node);
    if (node.kind === 'op' && lowering?.form === 'product') return lowering.write(this, node.args, buffer, accumulate);
    if (shape.length === 0 && node.kind === 'op' && !computed) {
      const local = this.computeScalar(node);
      this.refs.set(node.id, { kind: 'local', name: local });
    }
    const loops = this.loops(shape, (idx) => [this.store(buffer, this.flat(idx, shape), this.expr(node, idx), accumulate)]);
    if (accumulate && node.kind === 'op' && lowering?.form === 'view' && lowering.accumulate?.(this, node.args, buffer, shape, loops)) return;
    this.body.push(...loops);
  }

  /** The buffer a node is read from, when it has one. */
  bufferOf(n: Node): string | null {
    const ref = this.refs.get(n.id);
    return ref?.kind === 'buffer' ? ref.name : null;
  }

  /** Scratch: computed and consumed within one call, so one copy serves every direction. */
  scratch(shape: Shape, base: string): string {
    const buffer = this.ctx.names.fresh(base);
    this.ctx.declare({ name: buffer, dims: shape, batched: false });
    return buffer;
  }

  /** A kernel statement with no loop form (a solve), its buffers noted as touched. */
  routine(call: KernelCall) {
    for (const o of [kernelOutput(call), ...kernelInputs(call)]) this.touch(o.buffer);
    this.body.push({ kind: 'kernel', call, loops: [] });
  }

  /** `loops` as one kernel statement when `call` is a product of distinct buffers, else as they are. */
  product(call: KernelCall | null, loops: Stmt[]) {
    const output = call && kernelOutput(call).buffer;
    const distinct = call && kernelInputs(call).every((o) => o === kernelOutput(call) || o.buffer !== output);
    if (call && distinct) this.body.push({ kind: 'kernel', call, loops });
    else this.body.push(...loops);
  }
}
