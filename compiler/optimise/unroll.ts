// Unrolling (a loop-IR pass of the CPU back end, the last before emission). Two loop shapes
// gain from it in JavaScript:
// - a reduction, acc += f(j) for j < n: UNROLL independent accumulators, so the additions of
//   one lane no longer wait for the previous lane's (a float add takes several cycles) and the
//   loop runs at the speed of its loads; the lanes are summed into acc at the end;
// - an axpy nest, y[j] += Σ_i a(i, j) s_i (Aᵀv walked by rows): four rows per pass (unroll and
//   jam), so each y[j] is loaded and stored once per four rows instead of once per row.
// Each becomes a `strided` statement: a loop by UNROLL over the unrolled body, then the
// remainder loop over the original body. Lane locals come from the segment's scope.

import type { NameScope } from '../names.js';
import type { IndexExpr, ScalarExpr, Segment, Stmt } from '../lower/loop-ir.js';

/** Lanes per unrolled loop. */
export const UNROLL = 4;

type For = Extract<Stmt, { kind: 'for' }>;

export function unrollLoops(seg: Segment): Segment {
  const visit = (body: readonly Stmt[]): Stmt[] =>
    body.map((s) => {
      if (s.kind !== 'for') return s;
      // sums only: a combined reduction (a running max) keeps its one accumulator
      if (s.body.length > 0 && s.body.every((b) => b.kind === 'add-to-local' && !b.combine)) return reduction(s, seg.scope);
      if (isAxpyNest(s)) return unrollAndJam(s, seg.scope, visit);
      return { ...s, body: visit(s.body) };
    });
  return { ...seg, body: visit(seg.body) };
}

function reduction(s: For, scope: NameScope): Stmt {
  const sums = s.body as readonly Extract<Stmt, { kind: 'add-to-local' }>[];
  const lanes = sums.map((a) => Array.from({ length: UNROLL - 1 }, (_, u) => scope.fresh(`${a.name}_${u + 1}`)));
  const body: Stmt[] = [];
  for (let u = 0; u < UNROLL; u++) {
    sums.forEach((a, k) => body.push({ kind: 'add-to-local', name: u === 0 ? a.name : lanes[k]![u - 1]!, value: shiftVar(a.value, s.index, u) }));
  }
  const local = (name: string): ScalarExpr => ({ kind: 'local', name });
  const after: Stmt[] = sums.map((a, k) => ({ kind: 'add-to-local', name: a.name, value: lanes[k]!.map(local).reduce((x, y) => ({ kind: 'call', op: 'add', args: [x, y] })) }));
  return { kind: 'strided', index: s.index, extent: s.extent, step: UNROLL, zeroed: lanes, body, remainder: s.body, after };
}

function unrollAndJam(s: For, scope: NameScope, visit: (body: readonly Stmt[]) => Stmt[]): Stmt {
  const lets = s.body.slice(0, -1) as readonly Extract<Stmt, { kind: 'let' }>[];
  const inner = s.body[s.body.length - 1] as For;
  const stores = inner.body as readonly Extract<Stmt, { kind: 'store' }>[];
  // lane u reads row i + u; its locals get their own names
  const laneNames = Array.from({ length: UNROLL }, (_, u) => new Map(lets.map((l) => [l.name, u === 0 ? l.name : scope.fresh(`${l.name}_${u}`)])));
  const lane = (e: ScalarExpr, u: number) => renameLocals(shiftVar(e, s.index, u), laneNames[u]!);
  const body: Stmt[] = [];
  for (let u = 0; u < UNROLL; u++) for (const l of lets) body.push({ kind: 'let', name: laneNames[u]!.get(l.name)!, value: lane(l.value, u), mutable: false });
  const jammed: Stmt[] = stores.map((st) => {
    const terms = Array.from({ length: UNROLL }, (_, u) => lane(st.value, u));
    return { ...st, value: terms.reduce((acc, t) => ({ kind: 'call', op: 'add', args: [acc, t] })) };
  });
  body.push({ ...inner, body: jammed });
  return { kind: 'strided', index: s.index, extent: s.extent, step: UNROLL, zeroed: [], body, remainder: visit(s.body), after: [] };
}

/** for i { const s = f(i)...; for j { y[g(j)] += h(i, j, s)... } } with y's index free of i. */
function isAxpyNest(s: For): boolean {
  const inner = s.body[s.body.length - 1];
  if (!inner || inner.kind !== 'for' || inner.body.length === 0) return false;
  if (!s.body.slice(0, -1).every((b) => b.kind === 'let' && !b.mutable)) return false;
  return inner.body.every((b) => b.kind === 'store' && b.accumulate && !usesVar(b.index, s.index));
}

function usesVar(e: IndexExpr, name: string): boolean {
  if (e.k === 'var') return e.name === name;
  if (e.k === 'add' || e.k === 'mul') return usesVar(e.a, name) || usesVar(e.b, name);
  return false;
}

function renameLocals(e: ScalarExpr, names: ReadonlyMap<string, string>): ScalarExpr {
  if (e.kind === 'local') return names.has(e.name) ? { kind: 'local', name: names.get(e.name)! } : e;
  if (e.kind === 'call') return { ...e, args: e.args.map((a) => renameLocals(a, names)) };
  return e;
}

/** `e` with loop variable `name` replaced by `name + offset`. */
function shiftVar(e: ScalarExpr, name: string, offset: number): ScalarExpr {
  if (offset === 0) return e;
  const index = (i: IndexExpr): IndexExpr => {
    switch (i.k) {
      case 'var':
        return i.name === name ? { k: 'add', a: i, b: { k: 'num', v: offset } } : i;
      case 'add':
      case 'mul':
        return { k: i.k, a: index(i.a), b: index(i.b) };
      default:
        return i;
    }
  };
  switch (e.kind) {
    case 'load':
      return { ...e, index: index(e.index) };
    case 'call':
      return { ...e, args: e.args.map((a) => shiftVar(a, name, offset)) };
    default:
      return e;
  }
}
