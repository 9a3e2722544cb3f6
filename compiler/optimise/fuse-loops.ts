// Loop fusion on loop IR: adjacent-able loops with the same index and extent become one
// loop, so values read by both (a matrix row, a vector entry) are loaded once. A loop may be
// moved up to a fusion partner only past statements it does not depend on, and two loops
// fuse only if they touch disjoint data (neither writes what the other reads or writes).
// Locals are hoisted to the top of their block first when nothing before them writes what
// they read, which lets inner loops meet. Assumes locals have unique names (they do: the
// lowering allocates them fresh). Guarantees the same values in every buffer. Kernel
// statements are not loops: they fuse with nothing, and loops move past them only when the
// data they touch is disjoint.

import { kernelInputs, kernelOutput, sameIndex, type ScalarExpr, type Segment, type Stmt } from '../lower/loop-ir.js';

interface Access {
  readonly reads: ReadonlySet<string>;
  readonly writes: ReadonlySet<string>;
}

export function fuseLoops(seg: Segment): Segment {
  return { ...seg, body: fuseBlock(seg.body) };
}

function fuseBlock(body: readonly Stmt[]): Stmt[] {
  const out: Stmt[] = [];
  for (const stmt of hoistLocals(body)) {
    const s = stmt.kind === 'for' ? { ...stmt, body: fuseBlock(stmt.body) } : stmt;
    if (s.kind === 'for') {
      const target = findPartner(out, s);
      if (target >= 0) {
        const partner = out[target] as Extract<Stmt, { kind: 'for' }>;
        out[target] = { ...partner, body: fuseBlock([...partner.body, ...s.body]) };
        continue;
      }
    }
    out.push(s);
  }
  return out;
}

/**
 * The loop in `out` that `s` should join: among loops with the same header that `s` can
 * reach (it commutes with everything after them), the one sharing the most data with `s`,
 * the earliest on ties. -1 when there is none.
 */
function findPartner(out: readonly Stmt[], s: Extract<Stmt, { kind: 'for' }>): number {
  const mine = access(s);
  let best = -1;
  let bestShared = -1;
  for (let i = out.length - 1; i >= 0; i--) {
    const other = out[i]!;
    const theirs = access(other);
    if (!commute(mine, theirs)) break;
    if (other.kind === 'for' && other.index === s.index && sameIndex(other.extent, s.extent)) {
      const shared = [...mine.reads].filter((r) => theirs.reads.has(r)).length;
      if (shared >= bestShared) {
        best = i;
        bestShared = shared;
      }
    }
  }
  return best;
}

/** Locals whose inputs nothing earlier in the block writes move to the top of the block. */
function hoistLocals(body: readonly Stmt[]): Stmt[] {
  const hoisted: Stmt[] = [];
  const rest: Stmt[] = [];
  const written = new Set<string>();
  for (const s of body) {
    const a = access(s);
    if (s.kind === 'let' && ![...a.reads].some((r) => written.has(r))) hoisted.push(s);
    else {
      rest.push(s);
      a.writes.forEach((w) => written.add(w));
    }
  }
  return [...hoisted, ...rest];
}

const commute = (a: Access, b: Access) => disjoint(a.writes, b.reads) && disjoint(a.writes, b.writes) && disjoint(b.writes, a.reads);
const disjoint = (a: ReadonlySet<string>, b: ReadonlySet<string>) => ![...a].some((x) => b.has(x));

/** Buffers and locals a statement reads and writes (loop indices are private to their loop). */
function access(s: Stmt): Access {
  const reads = new Set<string>();
  const writes = new Set<string>();
  const scalar = (e: ScalarExpr) => {
    if (e.kind === 'load') reads.add(e.buffer);
    else if (e.kind === 'local') reads.add(e.name);
    else if (e.kind === 'call') e.args.forEach(scalar);
  };
  const visit = (st: Stmt) => {
    switch (st.kind) {
      case 'for':
        st.body.forEach(visit);
        break;
      case 'let':
        scalar(st.value);
        writes.add(st.name);
        break;
      case 'add-to-local':
        scalar(st.value);
        reads.add(st.name);
        writes.add(st.name);
        break;
      case 'store':
        scalar(st.value);
        if (st.accumulate) reads.add(st.buffer);
        writes.add(st.buffer);
        break;
      case 'comment':
        break;
      case 'strided':
        [...st.body, ...st.remainder, ...st.after].forEach(visit);
        break;
      case 'kernel':
        for (const o of kernelInputs(st.call)) reads.add(o.buffer);
        writes.add(kernelOutput(st.call).buffer);
        break;
    }
  };
  visit(s);
  return { reads, writes };
}
