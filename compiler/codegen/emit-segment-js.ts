// Loop IR segment -> a JavaScript function. Batched buffers are read at an offset computed
// once per call from the batch index `d`; everything else is plain indexed access. Kernel
// statements (the products select-kernels.ts left to a kernel) become calls of the
// WebAssembly SIMD kernels.

import type CodeBlockWriter from 'code-block-writer';
import { buffersOf, combinedValue, type GemvGemvT, type IndexExpr, type KernelCall, type Operand, type Segment, type Stmt } from '../lower/loop-ir.js';
import { printScalar, type ExprPrinter } from './js-templates.js';
import { foldIndex, indexCode, printIndex } from './precedence.js';
import { LU_SOLVE } from '../ops/lu-source.js';
import { typedName } from './typed.js';

export interface SegmentEmitContext {
  /** Literal size of a dim when baked, else null. */
  dimValue(name: string): number | null;
  /** The identifier of an unbaked dim. */
  dimName(name: string): string;
  /** Entries per batch copy of a batched buffer, as code. */
  batchStride(buffer: string): string;
  /** The name of the instantiated SIMD kernels, or undefined for plain JavaScript loops. */
  readonly kernels?: string;
  /** Print TypeScript: parameters with their types (a batch index is a number, a buffer a Float64Array). */
  readonly types?: boolean;
}

/** Buffers a segment reads or writes, in a fixed order: they are passed as parameters. */
export function segmentBuffers(seg: Segment): string[] {
  return [...buffersOf(seg.body)].sort();
}

/** The call of a segment from driver code (`d` is the batch index expression). */
export function segmentCall(seg: Segment, d: string): string {
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
      return v === null ? ctx.dimName(name) : String(v);
    },
    load: (buffer, index) => `${buffer}[${indexText(buffer, index)}]`,
  };
  const indexText = (buffer: string, index: IndexExpr) => {
    const text = printIndex(foldIndex(index, ctx.dimValue), printer).text;
    return batched.has(buffer) ? `${offsetName(buffer)} + ${text}` : text;
  };
  const offsetName = (buffer: string) => offsetNames(seg).get(buffer)!;
  const extentText = (e: IndexExpr) => printIndex(foldIndex(e, ctx.dimValue), printer).text;

  w.writeLine(`// ${seg.doc}`);
  const types = ctx.types ?? false;
  const params = [...(batched.size ? [typedName(types, seg.batchIndex, ': number')] : []), ...segmentBuffers(seg).map((b) => typedName(types, b, ': Float64Array'))];
  w.write(`function ${seg.name}(${params.join(', ')}) `).block(() => {
    for (const b of seg.batched) w.writeLine(`const ${offsetName(b)} = ${seg.batchIndex} * ${ctx.batchStride(b)};`);
    const emit = (s: Stmt) => {
      switch (s.kind) {
        case 'kernel':
          if (s.call.kernel === 'solve') {
            solveCallLines(s.call, offset, int).forEach((l) => w.writeLine(l));
            break;
          }
          if (ctx.kernels === undefined) throw new Error(`segment ${seg.name} calls a kernel, but the module has none`);
          emitKernelCall(s.call, ctx.kernels);
          break;
        case 'for':
          w.write(`for (let ${s.index} = 0; ${s.index} < ${extentText(s.extent)}; ${s.index}++) `).block(() => s.body.forEach(emit));
          break;
        case 'strided':
          // unrolled by optimise/unroll.ts: the loop by step, then the remainder
          w.block(() => {
            s.zeroed.forEach((lanes) => w.writeLine(`let ${lanes.map((l) => `${l} = 0`).join(', ')};`));
            w.writeLine(`let ${s.index} = 0;`);
            w.write(`for (; ${s.index} < ${extentText(s.extent)} - ${s.step - 1}; ${s.index} += ${s.step}) `).block(() => s.body.forEach(emit));
            w.write(`for (; ${s.index} < ${extentText(s.extent)}; ${s.index}++) `).block(() => s.remainder.forEach(emit));
            s.after.forEach(emit);
          });
          break;
        case 'let':
          w.writeLine(`${s.mutable ? 'let' : 'const'} ${s.name} = ${printScalar(s.value, printer).text};`);
          break;
        case 'add-to-local': {
          const combined = combinedValue(s);
          w.writeLine(combined ? `${s.name} = ${printScalar(combined, printer).text};` : `${s.name} += ${printScalar(s.value, printer).text};`);
          break;
        }
        case 'store':
          w.writeLine(`${s.buffer}[${indexText(s.buffer, s.index)}] ${s.accumulate ? '+=' : '='} ${printScalar(s.value, printer).text};`);
          break;
        case 'comment':
          w.writeLine(`// ${s.text}`);
          break;
      }
    };
    const int = (e: IndexExpr) => indexCode(e, ctx.dimValue, ctx.dimName);
    /** Byte address of an operand's first entry in the kernels' memory. */
    const pointer = (o: Operand) => {
      const base = foldIndex(o.base, ctx.dimValue);
      const index = base.k === 'num' && base.v === 0 && batched.has(o.buffer) ? offsetName(o.buffer) : indexText(o.buffer, base);
      return index === '0' ? `${o.buffer}.byteOffset` : `${o.buffer}.byteOffset + 8 * (${index})`;
    };
    /** Index of an operand's first entry in its array (the routine reads plain arrays). */
    const offset = (o: Operand) => {
      const base = foldIndex(o.base, ctx.dimValue);
      return base.k === 'num' && base.v === 0 && batched.has(o.buffer) ? offsetName(o.buffer) : indexText(o.buffer, base);
    };
    const emitKernelCall = (k: ProductCall, kernels: string) => kernelCallLines(k, kernels, pointer, int).forEach((l) => w.writeLine(l));
    seg.body.forEach(emit);
  });
}

const offsets = new WeakMap<Segment['scope'], Map<string, string>>();

/**
 * The offset local of each batched buffer (`x_dot_at = d * n`), one set per segment scope: a
 * segment and its variants (optimise/batch-tangents.ts, defer-updates.ts) share the names.
 */
function offsetNames(seg: Segment): ReadonlyMap<string, string> {
  let names = offsets.get(seg.scope);
  if (!names) offsets.set(seg.scope, (names = new Map()));
  for (const b of seg.batched) if (!names.has(b)) names.set(b, seg.scope.fresh(`${b}_at`));
  return names;
}

type SolveCall = Extract<KernelCall, { kernel: 'solve' }>;
type ProductCall = Exclude<KernelCall, SolveCall>;

/** A solve as a call of the runtime's LU routine (ops/lu-source.ts), with a comment of what it computes. */
function solveCallLines(k: SolveCall, offset: (o: Operand) => string, int: (e: IndexExpr) => string): string[] {
  const rhs = k.B ? [k.B.buffer, offset(k.B)] : ['null', '0'];
  return [
    `// ${k.X.buffer} = ${k.A.buffer}${k.transposed ? '⁻ᵀ' : '⁻¹'} ${k.B ? k.B.buffer : 'I'}   (${k.op}: ${int(k.n)}×${int(k.n)}, ${int(k.nrhs)} right-hand side${int(k.nrhs) === '1' ? '' : 's'})`,
    `${LU_SOLVE}('${k.op}', ${k.A.buffer}, ${offset(k.A)}, ${rhs.join(', ')}, ${k.X.buffer}, ${offset(k.X)}, ${k.lu.buffer}, ${int(k.n)}, ${int(k.nrhs)}, ${k.transposed});`,
  ];
}

/** A kernel statement as its call, with a comment of what it computes. */
function kernelCallLines(k: ProductCall, kernels: string, pointer: (o: Operand) => string, int: (e: IndexExpr) => string): string[] {
  switch (k.kernel) {
    case 'gemv':
      return [
        `// ${k.y.buffer}[i] = Σ_j ${k.A.buffer}[i, j] ${k.x.buffer}[j]   (i < ${int(k.m)}, j < ${int(k.n)})`,
        `${kernels}.gemv(${pointer(k.A)}, ${int(k.lda)}, ${pointer(k.x)}, ${pointer(k.y)}, ${int(k.m)}, ${int(k.n)});`,
      ];
    case 'gemvT':
      return [
        `// ${k.y.buffer}[j] += Σ_i ${k.A.buffer}[i, j] ${k.v.buffer}[i]   (i < ${int(k.m)}, j < ${int(k.n)})`,
        `${kernels}.gemvT(${pointer(k.A)}, ${int(k.lda)}, ${pointer(k.v)}, ${pointer(k.y)}, ${int(k.m)}, ${int(k.n)});`,
      ];
    case 'gemvGemvT':
      return [
        `// ${k.u.buffer} = ${k.A.buffer} ${k.x.buffer}${k.c ? `, ${k.v.buffer} = ${k.u.buffer} − ${k.c.buffer}` : ''}, ${k.y.buffer}[j] += Σ_i ${k.A.buffer}[i, j] ${k.v.buffer}[i]   (i < ${int(k.m)}, j < ${int(k.n)}; A read once, in eight fixed parts)`,
        `${kernels}.gemvGemvT(${pointer(k.A)}, ${int(k.lda)}, ${pointer(k.x)}, ${pointer(k.u)}, ${k.c ? pointer(k.c) : '-1'}, ${pointer(k.v)}, ${pointer(k.y)}, ${pointer(k.s)}, ${int(k.m)}, ${int(k.n)});`,
      ];
    case 'gemvGemvT2': {
      const [a, b] = [k.first, k.second];
      const args = (c: GemvGemvT) => [pointer(c.x), pointer(c.u), c.c ? pointer(c.c) : '-1', pointer(c.v), pointer(c.y), pointer(c.s)];
      return [
        `// two gemvGemvT on ${a.A.buffer} in one pass over it: ${a.y.buffer} and ${b.y.buffer}[j] += Σ_i ${a.A.buffer}[i, j] (${a.v.buffer}, ${b.v.buffer})[i], from ${a.x.buffer} and ${b.x.buffer}   (i < ${int(a.m)}, j < ${int(a.n)})`,
        `${kernels}.gemvGemvT2(${[pointer(a.A), int(a.lda), ...args(a), ...args(b), int(a.m), int(a.n)].join(', ')});`,
      ];
    }
    case 'gemv2': {
      const [a, b] = [k.first, k.second];
      return [
        `// ${a.y.buffer}[i] = Σ_j ${a.A.buffer}[i, j] ${a.x.buffer}[j] and ${b.y.buffer}[i] = Σ_j ${a.A.buffer}[i, j] ${b.x.buffer}[j] in one pass over ${a.A.buffer}   (i < ${int(a.m)}, j < ${int(a.n)})`,
        `${kernels}.gemv2(${pointer(a.A)}, ${int(a.lda)}, ${pointer(a.x)}, ${pointer(b.x)}, ${pointer(a.y)}, ${pointer(b.y)}, ${int(a.m)}, ${int(a.n)});`,
      ];
    }
    case 'ger':
      return [
        `// ${k.B.buffer}[i, j] += ${k.u.buffer}[i] ${k.w.buffer}[j]   (i < ${int(k.m)}, j < ${int(k.n)})`,
        `${kernels}.ger(${pointer(k.B)}, ${int(k.ldb)}, ${pointer(k.u)}, ${int(k.incu)}, ${pointer(k.w)}, ${int(k.m)}, ${int(k.n)});`,
      ];
    case 'gemm':
      return [
        k.symmetric
          ? `// ${k.C.buffer}[i, j] += Σ_l ${k.A.buffer}[l, i] ${k.B.buffer}[l, j]   (i, j < ${int(k.m)}, l < ${int(k.k)}; symmetric: half the products)`
          : `// ${k.C.buffer}[i, j] += Σ_l ${k.A.buffer}[i, l] ${k.B.buffer}[l, j]   (i < ${int(k.m)}, j < ${int(k.n)}, l < ${int(k.k)})`,
        `${kernels}.gemm(${pointer(k.C)}, ${int(k.ldc)}, ${pointer(k.A)}, ${int(k.ai)}, ${int(k.al)}, ${pointer(k.B)}, ${int(k.ldb)}, ${int(k.m)}, ${int(k.n)}, ${int(k.k)}, ${k.symmetric ? 1 : 0});`,
      ];
  }
}
