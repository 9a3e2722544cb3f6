// Whole sweeps as WebAssembly functions: the loops over k that the schedule marks for sparse
// finiteness checks (idle, taped and forward iterations, the backward sweep), with their
// segments inlined, so an unobserved one-direction call runs K steps in one call instead of
// several JavaScript-to-WebAssembly calls and JavaScript loops per step. The JavaScript
// module keeps everything else: the observed and many-direction calls, the checks (one at the
// end of the sweep; a failed one reruns the same steps in JavaScript, checking each, to name
// the iteration) and every error. A sweep is made only when every statement and step of it
// has a form here (else NotInWasm: the sweep stays JavaScript), the dims are baked, and every
// product is below the size the kernels split over threads, so the same calls run either way.
// Results are the same bits as the JavaScript loops' (scalar-wasm.ts).

import type { Plan } from '../../plan.js';
import { buffersOf, foldIndex, type IndexExpr, type KernelCall, type Operand, type ScalarExpr, type Segment, type Stmt } from '../../lower/loop-ir.js';
import type { ProcedureName, Schedule, SegmentKey, Step } from '../../schedule/schedule.js';
import { Code, encodeModule, F64, I32, type FunctionType, type ModuleParts, type ValueType } from './encode.js';
import { emitScalar, NotInWasm, type ScalarContext } from './scalar-wasm.js';

/** A sweep's function: its export name, and the buffers whose byte offsets it takes after (from, to). */
export interface WasmSweep {
  readonly name: string;
  readonly buffers: readonly string[];
}

export interface WasmSweeps {
  /** The module importing a plain memory, and the same importing a shared one (worker threads). */
  readonly plain: Uint8Array;
  readonly shared: Uint8Array;
  /** The sweep of each iteration loop that has one. */
  readonly of: ReadonlyMap<Step, WasmSweep>;
  /** What the module imports besides the kernels and the memory: Math functions and helpers, by name. */
  readonly math: readonly string[];
  readonly helpers: readonly string[];
  /** Whether a sweep pushes or restores the tape (which must then be in the kernels' memory). */
  readonly usesTape: boolean;
}

export interface SweepInput {
  readonly plan: Plan;
  readonly schedule: Schedule;
  readonly segmentOf: (key: SegmentKey) => Segment | undefined;
  /** Baked dims. */
  readonly dimValue: (name: string) => number;
  /** Entries of a state (its dims' product). */
  readonly size: (dims: readonly string[]) => number;
  /** Products of this many multiply-adds or more may be split over threads: no sweep calls one. */
  readonly splitWork: number;
  /** A tape of more bytes stays outside the kernels' memory: no sweep pushes or restores it. */
  readonly tapeBytesMax: number;
}

const PROCEDURES: readonly ProcedureName[] = ['idle', 'record', 'forwardSweep', 'unitSweep', 'backwardSweep'];

const KERNEL_ARITY: Readonly<Record<Exclude<KernelCall['kernel'], 'solve'>, number>> = { gemv: 6, gemvT: 6, ger: 7, gemm: 11 };

/** The WebAssembly sweeps of a schedule, or null when no loop has one. */
export function wasmSweeps(input: SweepInput): WasmSweeps | null {
  const imports = new Imports();
  const of = new Map<Step, WasmSweep>();
  const functions: { name: string; type: FunctionType; code: Code }[] = [];
  let usesTape = false;
  for (const name of PROCEDURES) {
    for (const step of input.schedule.procedures[name] ?? []) {
      if (step.kind !== 'iterations' || !step.sparseChecks) continue;
      try {
        const built = new SweepFunction(input, step, imports.fork()).build();
        imports.adopt(built.imports);
        of.set(step, { name, buffers: built.buffers });
        functions.push({ name, type: { params: [I32, I32, ...built.buffers.map((): ValueType => I32)], results: [] }, code: built.code });
        usesTape ||= built.usesTape;
      } catch (e) {
        if (!(e instanceof NotInWasm)) throw e;
      }
    }
  }
  if (!functions.length) return null;
  const parts = (sharedMemory: boolean): ModuleParts => ({ imports: imports.list, sharedMemory, functions });
  return { plain: encodeModule(parts(false)), shared: encodeModule(parts(true)), of, math: imports.names('Math'), helpers: imports.names('helpers'), usesTape };
}

/** The imported functions, numbered in first-use order; a sweep that fails leaves none behind (fork, adopt). */
class Imports {
  constructor(readonly list: { module: string; name: string; type: FunctionType }[] = []) {}
  index(module: string, name: string, type: FunctionType): number {
    const at = this.list.findIndex((i) => i.module === module && i.name === name);
    if (at >= 0) return at;
    this.list.push({ module, name, type });
    return this.list.length - 1;
  }
  fork(): Imports {
    return new Imports([...this.list]);
  }
  adopt(other: Imports) {
    this.list.splice(0, this.list.length, ...other.list);
  }
  names(module: string): string[] {
    return this.list.filter((i) => i.module === module).map((i) => i.name);
  }
}

/** One sweep: the loop over k of an `iterations` step, its body's steps and segments inlined. */
class SweepFunction {
  private readonly buffers: string[];
  private readonly code: Code;
  private readonly base = new Map<string, number>();
  private readonly from: number;
  private readonly to: number;
  private readonly k: number;
  private usesTape = false;

  constructor(
    private readonly input: SweepInput,
    private readonly step: Extract<Step, { kind: 'iterations' }>,
    private readonly imports: Imports,
  ) {
    this.buffers = [...this.buffersOf(step.body)].sort();
    // the parameters: from, to, then each buffer's byte offset
    this.code = new Code(2 + this.buffers.length);
    this.buffers.forEach((b, i) => this.base.set(b, 2 + i));
    this.from = 0;
    this.to = 1;
    this.k = this.code.local(I32);
  }

  build() {
    const { code: c, step, k } = this;
    const { down } = step;
    // k = from (up) or to − 1 (down)
    if (down) c.op('local.get', this.to).i32(1).op('i32.sub').op('local.set', k);
    else c.op('local.get', this.from).op('local.set', k);
    c.structured('block', () =>
      c.structured('loop', () => {
        // leave when k < from (down) or k >= to (up)
        if (down) c.op('local.get', k).op('local.get', this.from).op('i32.lt_s');
        else c.op('local.get', k).op('local.get', this.to).op('i32.ge_s');
        c.op('br_if', 1);
        this.steps(step.body);
        c.op('local.get', k).i32(down ? -1 : 1).op('i32.add').op('local.set', k);
        c.op('br', 0);
      }),
    );
    return { buffers: this.buffers, code: c, imports: this.imports, usesTape: this.usesTape };
  }

  /** Buffers the steps read or write. */
  private buffersOf(steps: readonly Step[]): Set<string> {
    const out = new Set<string>();
    const { plan } = this.input;
    for (const s of steps) {
      if (s.kind === 'segment') buffersOf(this.segment(s.segment).body).forEach((b) => out.add(b));
      else if (s.kind === 'directions') this.buffersOf(s.body).forEach((b) => out.add(b));
      else if (s.kind === 'tapePush' || s.kind === 'tapeRestore') plan.state.forEach((x) => out.add(x.tape).add(x.current));
      else if (s.kind === 'keepNext') plan.state.forEach((x) => out.add(x.next).add(x.current));
      else if (s.kind === 'advance') plan.state.forEach((x) => (s.what === 'state' ? out.add(x.current).add(x.next) : s.what === 'tangents' ? out.add(x.dot).add(x.dotNext) : out.add(x.bar).add(x.barNext)));
      else if (s.kind === 'iterationIndex') out.add(plan.iteration!);
    }
    return out;
  }

  private segment(key: SegmentKey): Segment {
    const seg = this.input.segmentOf(key);
    if (!seg) throw new Error(`phic internal error: the schedule runs segment ${key}, which the plan does not have`);
    return seg;
  }

  private steps(steps: readonly Step[]) {
    const { plan } = this.input;
    for (const s of steps) {
      switch (s.kind) {
        case 'segment':
          new SegmentCode(this.input, this.code, this.base, this.imports).emit(this.segment(s.segment));
          break;
        case 'directions':
          // the one direction of a sparse-checked call (it carries tangents or adjoints only with one)
          if (s.unit !== null || this.step.sparseChecks?.carried === null) throw new NotInWasm('directions');
          this.steps(s.body);
          break;
        case 'tapePush':
        case 'tapeRestore': {
          const T = plan.options.truncate;
          this.usesTape = true;
          for (const x of plan.state) {
            const bytes = 8 * this.input.size(x.dims);
            if ((plan.options.K - T) * bytes > this.input.tapeBytesMax) throw new NotInWasm('a tape too large for the kernels\' memory');
            // the tape's entry for step k: tape + (k − T)·bytes
            const slot = () => this.code.op('local.get', this.base.get(x.tape)!).op('local.get', this.k).i32(T).op('i32.sub').i32(bytes).op('i32.mul').op('i32.add');
            const current = () => this.code.op('local.get', this.base.get(x.current)!);
            if (s.kind === 'tapePush') slot(), current();
            else current(), slot();
            this.code.i32(bytes).copy();
          }
          break;
        }
        case 'keepNext':
          for (const x of plan.state) this.copy(x.next, x.current, x.dims);
          break;
        case 'advance':
          for (const x of plan.state) {
            if (s.what === 'state') this.copy(x.current, x.next, x.dims);
            else if (s.what === 'tangents') this.copy(x.dot, x.dotNext, x.dims);
            else this.copy(x.bar, x.barNext, x.dims);
          }
          break;
        case 'iterationIndex':
          if (s.value !== 'k') throw new NotInWasm('iteration index at a point');
          this.code.op('local.get', this.base.get(plan.iteration!)!).op('local.get', this.k).op('f64.convert_i32_s').memory('f64.store');
          break;
        // the checks run once, after the sweep (the JavaScript around it); a sweep runs unobserved
        case 'check':
        case 'observe':
          break;
        default:
          throw new NotInWasm(`step ${s.kind}`);
      }
    }
  }

  /** One copy's worth of `from` into `to` (one direction of a per-direction buffer). */
  private copy(to: string, from: string, dims: readonly string[]) {
    this.code.op('local.get', this.base.get(to)!).op('local.get', this.base.get(from)!).i32(8 * this.input.size(dims)).copy();
  }
}

/** A segment's statements inlined into a sweep, for direction 0 (batched buffers at their start). */
class SegmentCode {
  private readonly ints = new Map<string, number>();
  private readonly floats = new Map<string, number>();
  private readonly scalar: ScalarContext;

  constructor(
    private readonly input: SweepInput,
    private readonly code: Code,
    private readonly base: ReadonlyMap<string, number>,
    private readonly imports: Imports,
  ) {
    this.scalar = {
      code,
      leaf: (e: ScalarExpr) => {
        // the JavaScript printer writes −0 as 0
        if (e.kind === 'num') code.f64(Object.is(e.value, -0) ? 0 : e.value);
        else if (e.kind === 'local') code.op('local.get', this.float(e.name));
        else if (e.kind === 'load') this.address(e.buffer, e.index), code.memory('f64.load');
      },
      importIndex: (module, name, arity) => imports.index(module, name, { params: Array(arity).fill(F64), results: [F64] }),
    };
  }

  emit(seg: Segment) {
    seg.body.forEach((s) => this.stmt(s));
  }

  private int(name: string): number {
    let at = this.ints.get(name);
    if (at === undefined) this.ints.set(name, (at = this.code.local(I32)));
    return at;
  }

  private float(name: string): number {
    let at = this.floats.get(name);
    if (at === undefined) this.floats.set(name, (at = this.code.local(F64)));
    return at;
  }

  private index(e: IndexExpr) {
    const c = this.code;
    const f = foldIndex(e, this.input.dimValue);
    switch (f.k) {
      case 'num':
        c.i32(f.v);
        return;
      case 'var': {
        const at = this.ints.get(f.name);
        if (at === undefined) throw new NotInWasm(`index ${f.name}`);
        c.op('local.get', at);
        return;
      }
      case 'dim':
        throw new NotInWasm(`dim ${f.name} not baked`);
      case 'add':
      case 'mul':
        this.index(f.a);
        this.index(f.b);
        c.op(f.k === 'add' ? 'i32.add' : 'i32.mul');
    }
  }

  /** The byte address of buffer[index]. */
  private address(buffer: string, index: IndexExpr) {
    const at = this.base.get(buffer);
    if (at === undefined) throw new Error(`phic internal error: a sweep reads ${buffer}, which it was not given`);
    this.code.op('local.get', at);
    const f = foldIndex(index, this.input.dimValue);
    if (f.k === 'num' && f.v === 0) return;
    if (f.k === 'num') this.code.i32(8 * f.v);
    else {
      this.index(f);
      this.code.i32(8).op('i32.mul');
    }
    this.code.op('i32.add');
  }


  /** A loop `for (index = start; index < extent − slack; index += step) body`, index kept afterwards. */
  private loop(index: number, extent: IndexExpr, slack: number, step: number, body: () => void) {
    const c = this.code;
    c.structured('block', () =>
      c.structured('loop', () => {
        c.op('local.get', index);
        this.index(extent);
        if (slack) c.i32(slack).op('i32.sub');
        c.op('i32.ge_s').op('br_if', 1);
        body();
        c.op('local.get', index).i32(step).op('i32.add').op('local.set', index).op('br', 0);
      }),
    );
  }

  private stmt(s: Stmt) {
    const c = this.code;
    switch (s.kind) {
      case 'for': {
        const i = this.int(s.index);
        c.i32(0).op('local.set', i);
        this.loop(i, s.extent, 0, 1, () => s.body.forEach((b) => this.stmt(b)));
        return;
      }
      case 'strided': {
        // unrolled (optimise/unroll.ts): lanes from 0, the loop by step, the remainder, then `after`
        for (const lanes of s.zeroed) for (const l of lanes) c.f64(0).op('local.set', this.float(l));
        const i = this.int(s.index);
        c.i32(0).op('local.set', i);
        this.loop(i, s.extent, s.step - 1, s.step, () => s.body.forEach((b) => this.stmt(b)));
        this.loop(i, s.extent, 0, 1, () => s.remainder.forEach((b) => this.stmt(b)));
        s.after.forEach((b) => this.stmt(b));
        return;
      }
      case 'let':
        emitScalar(s.value, this.scalar);
        c.op('local.set', this.float(s.name));
        return;
      case 'add-to-local': {
        const at = this.float(s.name);
        if (s.combine) emitScalar({ kind: 'call', op: s.combine, args: [{ kind: 'local', name: s.name }, s.value] }, this.scalar);
        else {
          c.op('local.get', at);
          emitScalar(s.value, this.scalar);
          c.op('f64.add');
        }
        c.op('local.set', at);
        return;
      }
      case 'store':
        this.address(s.buffer, s.index);
        if (s.accumulate) {
          this.address(s.buffer, s.index);
          c.memory('f64.load');
        }
        emitScalar(s.value, this.scalar);
        if (s.accumulate) c.op('f64.add');
        c.memory('f64.store');
        return;
      case 'kernel':
        return this.kernel(s.call);
      case 'comment':
        return;
    }
  }

  private kernel(call: KernelCall) {
    if (call.kernel === 'solve') throw new NotInWasm('solve');
    const int = (e: IndexExpr) => {
      const f = foldIndex(e, this.input.dimValue);
      if (f.k !== 'num') throw new NotInWasm('a kernel size that is not a number');
      return f.v;
    };
    const work = call.kernel === 'gemm' ? int(call.m) * int(call.n) * int(call.k) : int(call.m) * int(call.n);
    if (work >= this.input.splitWork) throw new NotInWasm('a product the kernels may split over threads');
    const pointer = (o: Operand) => this.address(o.buffer, o.base);
    const i = (e: IndexExpr) => this.code.i32(int(e));
    switch (call.kernel) {
      case 'gemv':
        pointer(call.A), i(call.lda), pointer(call.x), pointer(call.y), i(call.m), i(call.n);
        break;
      case 'gemvT':
        pointer(call.A), i(call.lda), pointer(call.v), pointer(call.y), i(call.m), i(call.n);
        break;
      case 'ger':
        pointer(call.B), i(call.ldb), pointer(call.u), i(call.incu), pointer(call.w), i(call.m), i(call.n);
        break;
      case 'gemm':
        pointer(call.C), i(call.ldc), pointer(call.A), i(call.ai), i(call.al), pointer(call.B), i(call.ldb), i(call.m), i(call.n), i(call.k), this.code.i32(call.symmetric ? 1 : 0);
        break;
    }
    const arity = KERNEL_ARITY[call.kernel];
    this.code.op('call', this.imports.index('kernels', call.kernel, { params: Array(arity).fill(I32), results: [] }));
  }
}

