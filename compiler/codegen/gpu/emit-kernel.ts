// One gpu.js kernel -> its source text. The thread index `tid` runs over the output's
// entries (`count × size` when batched); it is split into the direction `d` and the entry,
// and the entry into the loop variables of the stored index (row-major). Divisions are
// rounded away from integer boundaries and corrected, so the split is exact in float32 too.
// Loops over the stored index disappear; other loops stay, bounded by dims (literals when
// baked, `this.constants.dim_<dim>` otherwise: gpu.js bakes constants into the shader).

import { combinedValue, type IndexExpr, type ScalarExpr, type Stmt } from '../../lower/loop-ir.js';
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

/** What the parts of emitKernel share: the kernel, its generated names, its printer and the lines so far. */
interface KernelText {
  readonly kernel: GpuKernel;
  readonly ctx: KernelEmitContext;
  /** The thread index, the direction, the entry within a direction, the accumulator. */
  readonly names: { readonly tid: string; readonly d: string; readonly r: string; readonly acc: string };
  readonly printer: GpuPrinter;
  /** Helpers the kernel calls, and the extents of the loops it keeps. */
  readonly helpers: Set<string>;
  readonly loops: IndexExpr[];
  readonly lines: string[];
}

export function emitKernel(kernel: GpuKernel, ctx: KernelEmitContext): EmittedKernel {
  const names = generatedNames(kernel);
  const helpers = new Set<string>();
  const t: KernelText = { kernel, ctx, names, printer: kernelPrinter(kernel, ctx, names.d, helpers), helpers, loops: [], lines: [] };
  emitThreadIndex(t);
  emitBody(t);
  const source = `function (${kernel.params.join(', ')}) {\n${t.lines.join('\n')}\n}`;
  const sortedHelpers = [...helpers].sort();
  for (const h of sortedHelpers) if (!GPU_HELPERS[h]) throw new Error(`no GPU helper ${h}`);
  return { source, helpers: sortedHelpers, loops: t.loops };
}

/** tid, d, r and acc, numbered where the kernel's own names (parameters, locals, loop variables) have them. */
function generatedNames(kernel: GpuKernel): KernelText['names'] {
  const used = new Set<string>([...kernel.params, kernel.writes]);
  if (kernel.body.kind !== 'value') identifiers(kernel.body.stmts, used);
  const fresh = (base: string) => {
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}${n}`;
    used.add(name);
    return name;
  };
  const [tid, d, r, acc] = [fresh('tid'), fresh('d'), fresh('r'), fresh('acc')];
  return { tid, d, r, acc };
}

/** Prints dims, loads (per direction `d` when batched) and locals (inlined scalars expanded) for one kernel. */
function kernelPrinter(kernel: GpuKernel, ctx: KernelEmitContext, d: string, helpers: Set<string>): GpuPrinter {
  const dim = (name: string) => {
    const v = ctx.dimValue(name);
    // prefixed: gpu.js gives this.constants.output, .thread and .constants meanings of its own
    return v === null ? `this.constants.dim_${name}` : String(v);
  };
  const indexText = (e: IndexExpr) => printIndex(foldIndex(e, ctx.dimValue), { dim }).text;
  const own = kernel.body.kind === 'scalar' ? kernel.body.local : null;
  const printer: GpuPrinter = {
    dim,
    load: (buffer, ix) => {
      const batched = kernel.batchedParams.has(buffer);
      if (ctx.scalars.has(buffer)) return `${buffer}[${batched ? d : '0'}]`;
      const at = indexText(ix);
      if (!batched) return `${buffer}[${at}]`;
      const stride = indexText(ctx.size(buffer));
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
  return printer;
}

const writeLine = (t: KernelText, depth: number, text: string) => t.lines.push(`${'  '.repeat(depth + 1)}${text}`);
const index = (t: KernelText, e: IndexExpr) => printIndex(foldIndex(e, t.ctx.dimValue), { dim: t.printer.dim }).text;
const value = (t: KernelText, e: ScalarExpr) => printScalar(e, t.printer, t.helpers).text;
/** `previous + ` when the kernel adds onto its buffer's previous contents. */
const previous = (t: KernelText, ix: IndexExpr) => (t.kernel.prev ? `${t.printer.load(t.kernel.writes, ix)} + ` : '');
const outVarsOf = (kernel: GpuKernel) => (kernel.body.kind === 'store' ? kernel.body.outVars : []);

/** The thread index -> direction d and entry r -> the stored index's loop variables. */
function emitThreadIndex(t: KernelText): void {
  const { kernel } = t;
  const { tid, d, r } = t.names;
  const line = (depth: number, text: string) => writeLine(t, depth, text);
  const outVars = outVarsOf(kernel);
  const size = index(t, kernel.size);
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
  if (outVars.length === 2) divide(line, entry, index(t, outVars[1]!.extent), outVars[0]!.name, outVars[1]!.name);
}

/** The kernel's statements and its return: a value, a scalar sum, or a store (accumulated when a reduction). */
function emitBody(t: KernelText): void {
  const { body } = t.kernel;
  const { acc } = t.names;
  if (body.kind === 'value') writeLine(t, 0, `return ${previous(t, { k: 'num', v: 0 })}${value(t, body.value)};`);
  else if (body.kind === 'scalar') {
    writeLine(t, 0, `let ${body.local} = ${value(t, body.init)};`);
    emitStatements(t, body.stmts, 0);
    writeLine(t, 0, `return ${body.local};`);
  } else {
    if (body.reduction) writeLine(t, 0, `let ${acc} = 0;`);
    emitStatements(t, body.stmts, 0);
    if (body.reduction) {
      const p = previous(t, body.target.index);
      writeLine(t, 0, `return ${p}${acc};`);
    }
  }
}

/** Loop-IR statements as kernel code: loops over the stored index are the thread's and disappear. */
function emitStatements(t: KernelText, stmts: readonly Stmt[], depth: number): void {
  const { body } = t.kernel;
  const flattened = new Set(outVarsOf(t.kernel).map((v) => v.name));
  for (const s of stmts) {
    switch (s.kind) {
      case 'for':
        if (flattened.has(s.index)) emitStatements(t, s.body, depth);
        else {
          t.loops.push(foldIndex(s.extent, t.ctx.dimValue));
          writeLine(t, depth, `for (let ${s.index} = 0; ${s.index} < ${index(t, s.extent)}; ${s.index}++) {`);
          emitStatements(t, s.body, depth + 1);
          writeLine(t, depth, '}');
        }
        break;
      case 'let':
        writeLine(t, depth, `${s.mutable ? 'let' : 'const'} ${s.name} = ${value(t, s.value)};`);
        break;
      case 'add-to-local': {
        const combined = combinedValue(s);
        writeLine(t, depth, combined ? `${s.name} = ${value(t, combined)};` : `${s.name} += ${value(t, s.value)};`);
        break;
      }
      case 'store': {
        const v = value(t, s.value);
        if (body.kind === 'store' && body.reduction) writeLine(t, depth, `${t.names.acc} += ${v};`);
        else writeLine(t, depth, `return ${previous(t, s.index)}${v};`);
        break;
      }
      case 'comment':
        break;
    }
  }
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
