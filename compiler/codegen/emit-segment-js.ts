// Loop IR segment -> a JavaScript function. Batched buffers are read at an offset computed
// once per call from the batch index `d`; everything else is plain indexed access.

import type CodeBlockWriter from 'code-block-writer';
import type { IndexExpr, Segment, Stmt } from '../lower/loop-ir.js';
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
  w.write(`function ${seg.name}(${batched.size ? ctx.batchIndex : ''}) `).block(() => {
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
