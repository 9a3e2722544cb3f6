// Loop IR segment -> a JavaScript function. Batched buffers are read at an offset computed
// once per call from the batch index `d`; everything else is plain indexed access.

import type CodeBlockWriter from 'code-block-writer';
import type { IndexExpr, ScalarExpr, Segment, Stmt } from '../lower/loop-ir.js';
import { printIndex, printScalar, type ExprPrinter } from './js-templates.js';

export interface SegmentEmitContext {
  /** Literal size of a dim when baked, else null. */
  dimValue(name: string): number | null;
  /** Entries per batch copy of a batched buffer, as code. */
  batchStride(buffer: string): string;
  /** Name of the offset local for a batched buffer. */
  offsetName(buffer: string): string;
  /** Name of the batch index parameter. */
  readonly batchIndex: string;
}

/** Buffers a segment reads or writes, in a fixed order: they are passed as parameters. */
export function segmentBuffers(seg: Segment): string[] {
  const found = new Set<string>();
  const scalar = (e: ScalarExpr) => {
    if (e.kind === 'load') found.add(e.buffer);
    if (e.kind === 'call') e.args.forEach(scalar);
  };
  const visit = (st: Stmt) => {
    if (st.kind === 'for') st.body.forEach(visit);
    else if (st.kind === 'store') {
      found.add(st.buffer);
      scalar(st.value);
    } else if (st.kind === 'let' || st.kind === 'add-to-local') scalar(st.value);
  };
  seg.body.forEach(visit);
  return [...found].sort();
}

/** The call of a segment from driver code (`d` is the batch index expression). */
export function segmentCall(seg: Segment, d = 'd'): string {
  return `${seg.name}(${[...(seg.batched.length ? [d] : []), ...segmentBuffers(seg)].join(', ')})`;
}

/**
 * Emits the segment as a function whose buffers are parameters: V8 keeps parameters in
 * registers, whereas variables captured from create() are reloaded from the closure.
 */
export function emitSegment(w: CodeBlockWriter, seg: Segment, ctx: SegmentEmitContext) {
  const batched = new Set(seg.batched);
  const printer: ExprPrinter = {
    dim: (name) => {
      const v = ctx.dimValue(name);
      return v === null ? name : String(v);
    },
    load: (buffer, index) => `${buffer}[${indexText(buffer, index)}]`,
  };
  const indexText = (buffer: string, index: IndexExpr) => {
    const text = printIndex(fold(index, ctx), printer).text;
    return batched.has(buffer) ? `${ctx.offsetName(buffer)} + ${text}` : text;
  };

  w.writeLine(`// ${seg.doc}`);
  const params = [...(batched.size ? [ctx.batchIndex] : []), ...segmentBuffers(seg)];
  w.write(`function ${seg.name}(${params.join(', ')}) `).block(() => {
    for (const b of seg.batched) w.writeLine(`const ${ctx.offsetName(b)} = ${ctx.batchIndex} * ${ctx.batchStride(b)};`);
    const emit = (s: Stmt) => {
      switch (s.kind) {
        case 'for':
          w.write(`for (let ${s.index} = 0; ${s.index} < ${printIndex(fold(s.extent, ctx), printer).text}; ${s.index}++) `).block(() => s.body.forEach(emit));
          break;
        case 'let':
          w.writeLine(`${s.mutable ? 'let' : 'const'} ${s.name} = ${printScalar(s.value, printer).text};`);
          break;
        case 'add-to-local':
          w.writeLine(`${s.name} += ${printScalar(s.value, printer).text};`);
          break;
        case 'store':
          w.writeLine(`${s.buffer}[${indexText(s.buffer, s.index)}] ${s.accumulate ? '+=' : '='} ${printScalar(s.value, printer).text};`);
          break;
        case 'comment':
          w.writeLine(`// ${s.text}`);
          break;
      }
    };
    seg.body.forEach(emit);
  });
}

/** Fold constant index arithmetic when dims are baked (e.g. `i * 40 + j`, `0 * 40` -> `0`). */
function fold(e: IndexExpr, ctx: SegmentEmitContext): IndexExpr {
  if (e.k === 'dim') {
    const v = ctx.dimValue(e.name);
    return v === null ? e : { k: 'num', v };
  }
  if (e.k === 'add' || e.k === 'mul') {
    const a = fold(e.a, ctx);
    const b = fold(e.b, ctx);
    if (a.k === 'num' && b.k === 'num') return { k: 'num', v: e.k === 'add' ? a.v + b.v : a.v * b.v };
    if (e.k === 'add' && a.k === 'num' && a.v === 0) return b;
    if (e.k === 'add' && b.k === 'num' && b.v === 0) return a;
    if (e.k === 'mul' && ((a.k === 'num' && a.v === 0) || (b.k === 'num' && b.v === 0))) return { k: 'num', v: 0 };
    if (e.k === 'mul' && a.k === 'num' && a.v === 1) return b;
    if (e.k === 'mul' && b.k === 'num' && b.v === 1) return a;
    return { k: e.k, a, b };
  }
  return e;
}
