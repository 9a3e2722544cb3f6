// Text form of loop-IR segments, for `--dump lower` and golden tests.

import { combinedValue, type IndexExpr, type KernelCall, type Operand, type ScalarExpr, type Segment, type Stmt } from './loop-ir.js';

const index = (e: IndexExpr): string => {
  switch (e.k) {
    case 'num':
      return String(e.v);
    case 'var':
    case 'dim':
      return e.name;
    case 'add':
      return `${index(e.a)} + ${index(e.b)}`;
    case 'mul':
      return `(${index(e.a)})*(${index(e.b)})`;
  }
};

const scalar = (e: ScalarExpr): string => {
  switch (e.kind) {
    case 'num':
      return String(e.value);
    case 'local':
      return e.name;
    case 'load':
      return `${e.buffer}[${index(e.index)}]`;
    case 'call':
      return `${e.op}(${e.args.map(scalar).join(', ')})`;
  }
};

function stmt(s: Stmt, indent: string): string[] {
  switch (s.kind) {
    case 'for':
      return [`${indent}for ${s.index} < ${index(s.extent)}:`, ...s.body.flatMap((b) => stmt(b, indent + '  '))];
    case 'let':
      return [`${indent}${s.name} := ${scalar(s.value)}`];
    case 'add-to-local': {
      const combined = combinedValue(s);
      return [combined ? `${indent}${s.name} = ${scalar(combined)}` : `${indent}${s.name} += ${scalar(s.value)}`];
    }
    case 'store':
      return [`${indent}${s.buffer}[${index(s.index)}] ${s.accumulate ? '+=' : '='} ${scalar(s.value)}`];
    case 'comment':
      return [`${indent}# ${s.text}`];
    case 'kernel':
      return [`${indent}${kernelText(s.call)}`];
    case 'strided':
      return [
        ...s.zeroed.map((lanes) => `${indent}${lanes.join(', ')} := 0`),
        `${indent}for ${s.index} < ${index(s.extent)} by ${s.step}:`, ...s.body.flatMap((b) => stmt(b, indent + '  ')),
        `${indent}remainder ${s.index} < ${index(s.extent)}:`, ...s.remainder.flatMap((b) => stmt(b, indent + '  ')),
        ...s.after.flatMap((b) => stmt(b, indent)),
      ];
  }
}

const at = (o: Operand) => (o.base.k === 'num' && o.base.v === 0 ? o.buffer : `${o.buffer}@${index(o.base)}`);

/** A kernel statement as the call it is: operands, strides and sizes. */
function kernelText(c: KernelCall): string {
  switch (c.kernel) {
    case 'gemv':
      return `gemv ${at(c.y)} = ${at(c.A)} ${at(c.x)}  (A ${index(c.m)}×${index(c.n)}, lda ${index(c.lda)})`;
    case 'gemvT':
      return `gemvT ${at(c.y)} += ${at(c.A)}ᵀ ${at(c.v)}  (A ${index(c.m)}×${index(c.n)}, lda ${index(c.lda)})`;
    case 'gemvGemvT':
      return `gemvGemvT ${at(c.y)} += ${at(c.A)}ᵀ ${at(c.v)}, ${at(c.v)} = ${at(c.u)}${c.c ? ` − ${at(c.c)}` : ''}, ${at(c.u)} = ${at(c.A)} ${at(c.x)}  (A ${index(c.m)}×${index(c.n)}, lda ${index(c.lda)}, scratch ${at(c.s)})`;
    case 'gemvGemvT2':
    case 'gemv2':
      return `${kernelText(c.first)}\n  and in the same pass over ${at(c.first.A)}: ${kernelText(c.second)}`;
    case 'ger':
      return `ger ${at(c.B)} += ${at(c.u)} ${at(c.w)}ᵀ  (${index(c.m)}×${index(c.n)}, ldb ${index(c.ldb)}, incu ${index(c.incu)})`;
    case 'gemm':
      return `gemm ${at(c.C)} += ${at(c.A)} ${at(c.B)}  (${index(c.m)}×${index(c.n)}, k ${index(c.k)}, A strides ${index(c.ai)}, ${index(c.al)}, ldb ${index(c.ldb)}${c.symmetric ? ', symmetric' : ''})`;
    case 'solve':
      return `solve ${at(c.X)} = ${at(c.A)}${c.transposed ? '⁻ᵀ' : '⁻¹'} ${c.B ? at(c.B) : 'I'}  (${c.op}: ${index(c.n)}×${index(c.n)}, ${index(c.nrhs)} right-hand side${index(c.nrhs) === '1' ? '' : 's'}, scratch ${at(c.lu)})`;
  }
}

export function printSegments(segments: readonly Segment[]): string {
  return segments
    .map((seg) => [`segment ${seg.name}${seg.batched.length ? ` (batched: ${seg.batched.join(', ')})` : ''}  # ${seg.doc}`, ...seg.body.flatMap((s) => stmt(s, '  '))].join('\n'))
    .join('\n\n');
}
