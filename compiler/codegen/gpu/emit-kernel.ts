// One gpu.js kernel -> its source text. The thread index `tid` runs over the output's
// entries (`count × size` when batched); it is split into the direction `d` and the entry,
// and the entry into the loop variables of the stored index (row-major). Divisions are
// rounded away from integer boundaries and corrected, so the split is exact in float32 too.
// Loops over the stored index disappear; other loops stay, bounded by dims (literals when
// baked, `this.constants.dim_<dim>` otherwise: gpu.js bakes constants into the shader).

import type { IndexExpr, ScalarExpr, Stmt } from '../../lower/loop-ir.js';
import type { GpuKernel } from './kernels.js';
import { GPU_HELPERS, printScalar, type GpuPrinter } from './templates.js';
import { foldIndex, printIndex, type Printed } from '../precedence.js';

export interface KernelEmitContext {
  /** Literal size of a dim when baked, else null. */
  dimValue(name: string): number | null;
  /** Entries per copy of a buffer (1 for a scalar). */
  size(buffer: string): IndexExpr;
  /** Top-level scalars held in 1-entry buffers. */
  readonly scalars: ReadonlySet<string>;
  /** Top-level scalar lets inlined into consumers. */
  readonly inline: ReadonlyMap<string, ScalarExpr>;
}

export interface EmittedKernel {
  readonly source: string;
  /** Helper function names the kernel calls (sources in GPU_HELPERS). */
  readonly helpers: readonly string[];
  /** Extents of the loops left in the kernel, for gpu.js's loopMaxIterations. */
  readonly loops: readonly IndexExpr[];
}


/** Identifiers a statement list uses (locals, loop variables), to keep generated names apart. */
function identifiers(stmts: readonly Stmt[], out: Set<string>) {
  const scalar = (e: ScalarExpr) => {
    if (e.kind === 'local') out.add(e.name);
    else if (e.kind === 'call') e.args.forEach(scalar);
  };
  for (const s of stmts) {
    if (s.kind === 'for') {
      out.add(s.index);
      identifiers(s.body, out);
    } else if (s.kind === 'let' || s.kind === 'add-to-local') {
      out.add(s.name);
      scalar(s.value);
    } else if (s.kind === 'store') scalar(s.value);
  }
}

export function emitKernel(kernel: GpuKernel, ctx: KernelEmitContext): EmittedKernel {
  const body = kernel.body;
  const used = new Set<string>([...kernel.params, kernel.writes]);
  if (body.kind !== 'value') identifiers(body.stmts, used);
  const fresh = (base: string) => {
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}${n}`;
    used.add(name);
    return name;
  };
  const [tid, d, r, acc] = [fresh('tid'), fresh('d'), fresh('r'), fresh('acc')];
  const helpers = new Set<string>();
  const loops: IndexExpr[] = [];
  const dim = (name: string) => {
    const v = ctx.dimValue(name);
    // prefixed: gpu.js gives this.constants.output, .thread and .constants meanings of its own
    return v === null ? `this.constants.dim_${name}` : String(v);
  };
  const index = (e: IndexExpr) => printIndex(foldIndex(e, ctx.dimValue), { dim }).text;
  const own = body.kind === 'scalar' ? body.local : null;
  const printer: GpuPrinter = {
    dim,
    load: (buffer, ix) => {
      const batched = kernel.batchedParams.has(buffer);
      if (ctx.scalars.has(buffer)) return `${buffer}[${batched ? d : '0'}]`;
      const at = index(ix);
      if (!batched) return `${buffer}[${at}]`;
      const stride = index(ctx.size(buffer));
      return at === '0' ? `${buffer}[${d} * ${stride}]` : `${buffer}[${d} * ${stride} + ${at}]`;
    },
    local: (name): Printed => {
      if (name === own) return { text: name, level: 4 };
      const inlined = ctx.inline.get(name);
      if (inlined) return printScalar(inlined, printer, helpers);
      if (ctx.scalars.has(name)) return { text: printer.load(name, { k: 'num', v: 0 }), level: 4 };
      return { text: name, level: 4 };
    },
  };
  const value = (e: ScalarExpr) => printScalar(e, printer, helpers).text;

  const lines: string[] = [];
  const line = (depth: number, text: string) => lines.push(`${'  '.repeat(depth + 1)}${text}`);
  const outVars = body.kind === 'store' ? body.outVars : [];
  const size = index(kernel.size);

  // The thread index -> direction d and entry r -> the stored index's loop variables.
  line(0, `const ${tid} = this.thread.x;`);
  let entry = tid;
  if (kernel.batched) {
    if (size === '1') {
      line(0, `const ${d} = ${tid};`);
      entry = '0';
    } else {
      divide(line, tid, size, d, r);
      entry = r;
    }
  }
  if (outVars.length === 1) line(0, `const ${outVars[0]!.name} = ${entry};`);
  if (outVars.length === 2) divide(line, entry, index(outVars[1]!.extent), outVars[0]!.name, outVars[1]!.name);

  const flattened = new Set(outVars.map((v) => v.name));
  const emit = (stmts: readonly Stmt[], depth: number) => {
    for (const s of stmts) {
      switch (s.kind) {
        case 'for':
          if (flattened.has(s.index)) emit(s.body, depth);
          else {
            loops.push(foldIndex(s.extent, ctx.dimValue));
            line(depth, `for (let ${s.index} = 0; ${s.index} < ${index(s.extent)}; ${s.index}++) {`);
            emit(s.body, depth + 1);
            line(depth, '}');
          }
          break;
        case 'let':
          line(depth, `${s.mutable ? 'let' : 'const'} ${s.name} = ${value(s.value)};`);
          break;
        case 'add-to-local':
          line(depth, `${s.name} += ${value(s.value)};`);
          break;
        case 'store': {
          const v = value(s.value);
          if (body.kind === 'store' && body.reduction) line(depth, `${acc} += ${v};`);
          else line(depth, `return ${previous(s.index)}${v};`);
          break;
        }
        case 'comment':
          break;
      }
    }
  };
  const previous = (ix: IndexExpr) => (kernel.prev ? `${printer.load(kernel.writes, ix)} + ` : '');

  if (body.kind === 'value') line(0, `return ${previous({ k: 'num', v: 0 })}${value(body.value)};`);
  else if (body.kind === 'scalar') {
    line(0, `let ${body.local} = ${value(body.init)};`);
    emit(body.stmts, 0);
    line(0, `return ${body.local};`);
  } else {
    if (body.reduction) line(0, `let ${acc} = 0;`);
    emit(body.stmts, 0);
    if (body.reduction) {
      const p = previous(body.target.index);
      line(0, `return ${p}${acc};`);
    }
  }
  const source = `function (${kernel.params.join(', ')}) {\n${lines.join('\n')}\n}`;
  const sortedHelpers = [...helpers].sort();
  for (const h of sortedHelpers) if (!GPU_HELPERS[h]) throw new Error(`no GPU helper ${h}`);
  return { source, helpers: sortedHelpers, loops };
}

/** `q = floor(n / m)`, `rem = n - q m`, exact in float32: the quotient is nudged off integers, then corrected. */
function divide(line: (depth: number, text: string) => void, n: string, divisor: string, q: string, rem: string) {
  const m = /^[\w.]+$/.test(divisor) ? divisor : `(${divisor})`;
  line(0, `let ${q} = Math.floor((${n} + 0.5) / ${m});`);
  line(0, `let ${rem} = ${n} - ${q} * ${m};`);
  line(0, `if (${rem} < 0) {`);
  line(1, `${q} = ${q} - 1;`);
  line(1, `${rem} = ${rem} + ${m};`);
  line(0, '}');
  line(0, `if (${rem} >= ${m}) {`);
  line(1, `${q} = ${q} + 1;`);
  line(1, `${rem} = ${rem} - ${m};`);
  line(0, '}');
}
