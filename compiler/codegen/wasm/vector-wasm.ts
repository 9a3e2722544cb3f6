// Elementwise loops of the WebAssembly sweeps on float64 pairs (f64x2). A loop whose body
// only stores arithmetic of loads at its index (x_dot_next[i] = x_dot[i] + c·(t[i] + θ[i]·x[i]))
// runs two entries per pass, then the odd last one as the scalar loop does. Each lane takes
// the operations the scalar loop takes, in the same order (WebAssembly fuses nothing), so the
// bits are those of the JavaScript loops. Only +, −, ·, ÷, negation, sqrt and abs: a Math
// function is an imported call of one float, and a comparison would need lane masks.

import { foldIndex, type IndexExpr, type ScalarExpr, type Stmt } from '../../lower/loop-ir.js';
import { NotInWasm, treeOf, type Tree } from './scalar-wasm.js';
import type { Code, SimdName } from './encode.js';

type For = Extract<Stmt, { kind: 'for' }>;
type Store = Extract<Stmt, { kind: 'store' }>;

const ARITHMETIC: Readonly<Record<'+' | '-' | '*' | '/', SimdName>> = { '+': 'f64x2.add', '-': 'f64x2.sub', '*': 'f64x2.mul', '/': 'f64x2.div' };
const NATIVE: Readonly<Record<'f64.sqrt' | 'f64.abs', SimdName>> = { 'f64.sqrt': 'f64x2.sqrt', 'f64.abs': 'f64x2.abs' };

/** Loops shorter than this stay scalar: a pass of pairs saves little on a few entries. */
const MIN_EXTENT = 4;

/** The coefficient of `index` in an affine index expression (NaN when not affine in it). */
function coefficient(e: IndexExpr, index: string): number {
  switch (e.k) {
    case 'num':
    case 'dim':
      return 0;
    case 'var':
      return e.name === index ? 1 : 0;
    case 'add':
      return coefficient(e.a, index) + coefficient(e.b, index);
    case 'mul': {
      const [a, b] = [coefficient(e.a, index), coefficient(e.b, index)];
      return a === 0 && b === 0 ? 0 : NaN;
    }
  }
}

/** The expression's tree, or null where the sweeps cannot compute it (the scalar sweep then refuses it too). */
function treeOrNull(e: ScalarExpr): Tree | null {
  try {
    return treeOf(e);
  } catch (error) {
    if (error instanceof NotInWasm) return null;
    throw error;
  }
}

/** Whether the tree is arithmetic that f64x2 computes lane by lane as f64 does. */
function pairwise(tree: Tree | null): boolean {
  if (tree === null) return false;
  switch (tree.t) {
    case 'leaf':
      return true;
    case 'bin':
      return pairwise(tree.a) && pairwise(tree.b);
    case 'neg':
    case 'native':
      return pairwise(tree.a);
    default:
      return false;
  }
}

function loadsOf(e: ScalarExpr, out: Extract<ScalarExpr, { kind: 'load' }>[] = []) {
  if (e.kind === 'load') out.push(e);
  else if (e.kind === 'call') e.args.forEach((a) => loadsOf(a, out));
  return out;
}

/**
 * Whether the loop runs as pairs: a body of stores only, each at a unit-stride index of the
 * loop, of pairwise arithmetic whose loads are at unit stride or loop-invariant; a buffer the
 * body stores is read only at the index it is stored at (so pairs see what single entries
 * would), and the extent is a number of at least MIN_EXTENT.
 */
export function vectorizable(loop: For, dimValue: (name: string) => number | null): boolean {
  const extent = foldIndex(loop.extent, dimValue);
  if (extent.k !== 'num' || extent.v < MIN_EXTENT) return false;
  const stores = loop.body.filter((s) => s.kind !== 'comment');
  if (!stores.every((s): s is Store => s.kind === 'store')) return false;
  const key = (e: IndexExpr) => JSON.stringify(foldIndex(e, dimValue));
  const stored = new Map<string, string>();
  for (const s of stores) {
    if (coefficient(foldIndex(s.index, dimValue), loop.index) !== 1) return false;
    if ((stored.get(s.buffer) ?? key(s.index)) !== key(s.index)) return false;
    stored.set(s.buffer, key(s.index));
    if (!pairwise(treeOrNull(s.value))) return false;
  }
  return stores.every((s) =>
    loadsOf(s.value).every((l) => {
      const c = coefficient(foldIndex(l.index, dimValue), loop.index);
      if (c !== 0 && c !== 1) return false;
      return !stored.has(l.buffer) || stored.get(l.buffer) === key(l.index);
    }),
  );
}

/** How a vector store reaches memory: the byte address of buffer[index] (lane 0) on the stack. */
export interface VectorContext {
  readonly code: Code;
  address(buffer: string, index: IndexExpr): void;
  /** Pushes a loop-invariant scalar leaf's value (a literal or a local) as an f64. */
  scalar(e: ScalarExpr): void;
  /** The loop's index variable, and the baked dims. */
  readonly index: string;
  dimValue(name: string): number | null;
}

/** One store of a vectorizable loop, for entries i and i + 1. */
export function emitVectorStore(s: Store, ctx: VectorContext) {
  const c = ctx.code;
  ctx.address(s.buffer, s.index);
  if (s.accumulate) {
    ctx.address(s.buffer, s.index);
    c.simd('v128.load');
  }
  emitTree(treeOf(s.value), ctx);
  if (s.accumulate) c.simd('f64x2.add');
  c.simd('v128.store');
}

function emitTree(tree: Tree, ctx: VectorContext) {
  const c = ctx.code;
  switch (tree.t) {
    case 'leaf': {
      const e = tree.expr;
      if (e.kind === 'load') {
        ctx.address(e.buffer, e.index);
        // an entry that does not move with the loop is loaded once into both lanes
        c.simd(coefficient(foldIndex(e.index, ctx.dimValue), ctx.index) === 1 ? 'v128.load' : 'v128.load64_splat');
      } else {
        ctx.scalar(e);
        c.simd('f64x2.splat');
      }
      return;
    }
    case 'bin':
      emitTree(tree.a, ctx);
      emitTree(tree.b, ctx);
      c.simd(ARITHMETIC[tree.op]);
      return;
    case 'neg':
      emitTree(tree.a, ctx);
      c.simd('f64x2.neg');
      return;
    case 'native':
      emitTree(tree.a, ctx);
      c.simd(NATIVE[tree.op]);
      return;
    default:
      throw new Error(`phic internal error: a vectorized loop computes ${tree.t}`);
  }
}
