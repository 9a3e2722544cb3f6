// Whole sweeps as WebAssembly functions: the loops over k of the sweeps (idle, taped and
// forward iterations, the unit-direction sweep, the backward sweep), with their segments
// inlined and every direction's, so an unobserved call runs K steps in one call instead of
// several JavaScript-to-WebAssembly calls and JavaScript loops per step. The JavaScript module
// keeps everything else: the observed calls, the errors, and the checks of a loop the schedule
// marks sparse (one at the end of the sweep, which the sparse-check proof makes enough; a
// failed one reruns the sweep in JavaScript, checking each step, to name the iteration). In
// any other loop the sweep checks each step's values itself and returns the step whose check
// failed (else −1), where the JavaScript checks then throw the usual error. A sweep is made
// only when every statement and step of it has a form here (else NotInWasm: the sweep stays
// JavaScript) and the dims are baked. Products below the size the kernels split
// over threads call the kernels directly; larger ones (or of a size known only at run time)
// call the module's JavaScript kernel functions, which split them as they would any call.
// Results are the same bits as the JavaScript loops' (scalar-wasm.ts).

import { carriedPair, type Plan } from '../../plan.js';
import { buffersOf, foldIndex, walk, writesOf, type IndexExpr, type KernelCall, type Operand, type ScalarExpr, type Segment, type Stmt } from '../../lower/loop-ir.js';
import type { ProcedureName, Schedule, SegmentKey, Step } from '../../schedule/schedule.js';
import { Code, encodeModule, F64, I32, type FunctionType, type ModuleParts, type ValueType } from './encode.js';
import { emitScalar, NotInWasm, type ScalarContext } from './scalar-wasm.js';
import { emitVectorStore, vectorizable, type VectorContext } from './vector-wasm.js';
import type { TangentBatch } from '../../optimise/batch-tangents.js';
import { DEFER_STEPS, type Deferral } from '../../optimise/defer-updates.js';
import { SWEEP_BUFFERS_MAX } from './runtime-wasm-typed.js';

/**
 * A sweep's function: its export name, and the buffers whose byte offsets it takes after (from,
 * to, count, the deferred steps, the first direction).
 */
export interface WasmSweep {
  readonly name: string;
  readonly buffers: readonly string[];
  /** The module's counter of steps whose rank-1 updates wait, when the loop defers updates: passed in, 0 after a whole sweep. */
  readonly deferred: string | null;
  /** How its directions may run in parts on several threads, or null where they may not. */
  readonly split: DirectionSplit | null;
}

/**
 * A sweep whose directions never meet: each direction's tangents (or adjoints) evolve on their
 * own, from the iterates every direction shares. Parts of the directions can then run the whole
 * sweep at once on different threads, each with its own copy of every buffer the sweep writes
 * that is not per direction (the iterate, the scratch, the unit seed), and the per-direction
 * buffers cut at the part's first direction: one synchronisation a sweep instead of one a product.
 * Each part recomputes the iterates, by the same operations: every direction's values are the
 * bits of a whole sweep.
 */
export interface DirectionSplit {
  /** Multiply-adds (and entries touched) per direction and step, roughly: what a part's size is weighed by. */
  readonly work: number;
  /**
   * The loop checks each step's values (no sparse checks): a part may stop at a failed check,
   * and the call then runs again whole from the values it started with (kept for that), to
   * stop where a whole sweep does.
   */
  readonly checked: boolean;
  /** Per buffer, in the sweep's order: 0, read by every part; > 0, per direction with this many entries each; < 0, a copy per part of −n entries. */
  readonly buffers: readonly number[];
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
  /** Products of this many multiply-adds or more may be split over threads: a sweep calls them through JavaScript. */
  readonly splitWork: number;
  /** Entries per direction of a per-direction buffer (baked), or null for any other. */
  readonly stride: (buffer: string) => number | null;
  /** The batched tangent products (optimise/batch-tangents.ts), when the plan has them. */
  readonly batch?: TangentBatch;
  /** The deferred rank-1 updates (optimise/defer-updates.ts), when the plan has them. */
  readonly deferral?: Deferral;
  /** A tape of more bytes stays outside the kernels' memory: no sweep pushes or restores it. */
  readonly tapeBytesMax: number;
  /** Entries of a buffer that is not per direction (baked), or null where the module lays out no such buffer. */
  readonly entries: (buffer: string) => number | null;
}

const PROCEDURES: readonly ProcedureName[] = ['idle', 'record', 'forwardSweep', 'unitSweep', 'backwardSweep'];

/**
 * What a sweep pays per call of an imported Math function beyond the same call inlined in
 * JavaScript (ns, V8 on x86-64: `node dist/samples/bench/import-calls.js --fn
 * tanh,exp,log,log1p,expm1,sign,max`), and saves per load or store
 * (samples/bench/step-overhead.ts). V8 calls exp and log directly, faster than JavaScript does
 * (negative: a saving), the others through a wrapper; min is taken to cost what max does. tanh
 * measured 19–23 ns in runs a session apart: 19 is taken. A function not measured (pow, phic's
 * helpers) is charged the dearest measured.
 */
const IMPORT_EXTRA_NS: Readonly<Record<string, number>> = { tanh: 19, expm1: 5, log1p: 2.5, sign: 3, max: 4.5, min: 4.5, exp: -8.5, log: -8 };
const IMPORT_EXTRA_NS_MOST = Math.max(...Object.values(IMPORT_EXTRA_NS));
const ACCESS_SAVED_NS = 2.5;
const importExtraNs = (module: string, name: string) => (module === 'Math' ? (IMPORT_EXTRA_NS[name] ?? IMPORT_EXTRA_NS_MOST) : IMPORT_EXTRA_NS_MOST);

/**
 * The kernels a sweep calls (a solve has no kernel; gemvGemvT2 is only in the fused reverse
 * sweep, which stays JavaScript; gemv2, the forward step's pair, is among the kernels' exports
 * where the module embeds the paired kernels, as it then does).
 */
type SweepKernel = Exclude<KernelCall['kernel'], 'solve' | 'gemvGemvT2'>;
const KERNEL_ARITY: Readonly<Record<SweepKernel, number>> = { gemv: 6, gemvT: 6, ger: 7, gemm: 11, gemvGemvT: 10, gemv2: 8 };

/** The WebAssembly sweeps of a schedule, or null when no loop has one. */
export function wasmSweeps(input: SweepInput): WasmSweeps | null {
  const imports = new Imports();
  const of = new Map<Step, WasmSweep>();
  const functions: { name: string; type: FunctionType; code: Code }[] = [];
  let usesTape = false;
  for (const name of PROCEDURES) {
    for (const step of input.schedule.procedures[name] ?? []) {
      if (step.kind !== 'iterations') continue;
      try {
        const built = new SweepFunction(input, step, imports.fork()).build();
        imports.adopt(built.imports);
        of.set(step, { name, buffers: built.buffers, deferred: step.body.some((b) => b.kind === 'applyDeferred') ? input.deferral!.counter : null, split: built.split });
        functions.push({ name, type: { params: [I32, I32, I32, I32, I32, ...built.buffers.map((): ValueType => I32)], results: [I32] }, code: built.code });
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
  private readonly from = 0;
  private readonly to = 1;
  private readonly count = 2;
  private readonly counter = 3;
  /** The index of the sweep's first direction among the call's (a part of a split sweep starts past 0). */
  private readonly first = 4;
  /** Index variables of the module that segments read (the deferred-steps counter), by their locals. */
  private readonly vars = new Map<string, number>();
  private readonly k: number;
  /** A scratch f64 (the value a check tests). */
  private readonly value: number;
  /** The direction of the enclosing `directions` step (0 outside one). */
  private readonly d: number;
  private usesTape = false;
  private readonly tally = { accesses: 0, importNs: 0 };
  /** The (current, next) pairs the loop swaps. */
  private readonly swapped: [string, string, readonly string[]][] = [];

  constructor(
    private readonly input: SweepInput,
    private readonly step: Extract<Step, { kind: 'iterations' }>,
    private readonly imports: Imports,
  ) {
    this.buffers = [...this.buffersOf(step.body)].sort();
    // the parameters: from, to, the direction count, the steps whose rank-1 updates wait (0
    // without deferred updates), the first direction's index, then each buffer's byte offset
    this.code = new Code(5 + this.buffers.length);
    this.buffers.forEach((b, i) => this.base.set(b, 5 + i));
    if (input.deferral) this.vars.set(input.deferral.counter, this.counter);
    this.k = this.code.local(I32);
    this.d = this.code.local(I32);
    this.value = this.code.local(F64);
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
    // An imported function can cost more called from WebAssembly than inlined in JavaScript
    // (IMPORT_EXTRA_NS), and each load or store about 3 ns less: a loop whose imports cost more
    // than its accesses save stays JavaScript.
    if (this.tally.importNs > ACCESS_SAVED_NS * this.tally.accesses) throw new NotInWasm('imported calls cost more than WebAssembly saves');
    // the last values, in whichever buffer the swaps left them, into the other too
    for (const [current, next, dims] of this.swapped) this.copy(next, current, dims);
    // every step passed its checks
    c.i32(-1);
    return { buffers: this.buffers, code: c, imports: this.imports, usesTape: this.usesTape, split: this.directionSplit() };
  }

  /**
   * How the sweep's directions may run in parts (DirectionSplit), or null. Only a loop whose
   * steps have directions, and that writes no tape and holds back no updates (their buffers
   * and counter are the call's, not a direction's), with no helper imported (a worker thread
   * has only Math), and no more than SWEEP_BUFFERS_MAX buffers (its arguments must fit the
   * threads' control block).
   */
  private directionSplit(): DirectionSplit | null {
    const { step, input } = this;
    const kinds = new Set<string>();
    const visit = (steps: readonly Step[]) => steps.forEach((s) => (kinds.add(s.kind), s.kind === 'directions' && visit(s.body)));
    visit(step.body);
    if (!(kinds.has('directions') || kinds.has('tangentProducts'))) return null;
    if (kinds.has('tapePush') || kinds.has('applyDeferred') || this.imports.names('helpers').length || this.buffers.length > SWEEP_BUFFERS_MAX) return null;
    const written = this.buffersOf(step.body, true);
    const buffers: number[] = [];
    for (const b of this.buffers) {
      const stride = input.stride(b);
      const entries = input.entries(b);
      if (stride !== null) buffers.push(stride);
      else if (!written.has(b)) buffers.push(0);
      else if (entries !== null) buffers.push(-entries);
      else return null;
    }
    return { work: Math.max(1, this.directionWork(step.body, false)), checked: !step.sparseChecks, buffers };
  }

  /** Multiply-adds of the products a direction runs each step, and the entries its per-direction buffers hold. */
  private directionWork(steps: readonly Step[], inDirection: boolean): number {
    const { input } = this;
    let work = 0;
    for (const s of steps) {
      if (s.kind === 'directions') work += this.directionWork(s.body, true);
      else if (s.kind === 'tangentProducts') for (const b of input.batch?.products ?? []) work += number(b.call.m, input.dimValue) * number(b.call.n, input.dimValue);
      else if (s.kind === 'segment' && inDirection) {
        const body = this.segment(s.segment).body;
        walk(body, (st) => {
          // (a sweep has no solve and no gemvGemvT2: NotInWasm)
          if (st.kind !== 'kernel' || st.call.kernel === 'solve' || st.call.kernel === 'gemvGemvT2') return;
          const call = st.call.kernel === 'gemv2' ? st.call.first : st.call;
          const int = (e: IndexExpr) => number(e, input.dimValue);
          work += int(call.m) * int(call.n) * (call.kernel === 'gemm' ? int(call.k) : st.call.kernel === 'gemv2' ? 2 : 1);
        });
        for (const b of buffersOf(body)) work += input.stride(b) ?? 0;
      }
    }
    return work;
  }

  /** Buffers the steps read or write (with \`writes\`, those they write). */
  private buffersOf(steps: readonly Step[], writes = false): Set<string> {
    const out = new Set<string>();
    const { plan } = this.input;
    const add = (written: readonly string[], read: readonly string[] = []) => [...written, ...(writes ? [] : read)].forEach((b) => out.add(b));
    for (const s of steps) {
      if (s.kind === 'segment') (writes ? writesOf : buffersOf)(this.segment(s.segment).body).forEach((b) => out.add(b));
      else if (s.kind === 'directions') this.buffersOf(s.body, writes).forEach((b) => out.add(b));
      else if (s.kind === 'tapePush') plan.state.forEach((x) => add([x.tape], [x.current]));
      else if (s.kind === 'tapeRestore') plan.state.forEach((x) => add([x.current], [x.tape]));
      else if (s.kind === 'keepNext') plan.state.forEach((x) => add([x.next], [x.current]));
      else if (s.kind === 'advance') plan.state.forEach((x) => add(carriedPair(x, s.what)));
      else if (s.kind === 'iterationIndex') add([plan.iteration!]);
      else if (s.kind === 'tangentProducts') for (const b of this.input.batch?.products ?? []) add([b.products], [b.state.dot, b.transposed ?? b.call.A.buffer]);
      if (s.kind === 'directions' && s.unit === 'params') add(plan.params.map((p) => p.dot));
      if (s.kind === 'applyDeferred') for (const u of this.input.deferral?.updates ?? []) add([u.call.B.buffer], [u.buffer, u.state.tape]);
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
          new SegmentCode(this.input, this.code, this.base, this.imports, this.d, this.tally, this.vars).emit(this.segment(s.segment));
          break;
        case 'directions':
          this.directions(s.unit, s.body);
          break;
        case 'tangentProducts':
          this.tangentProducts();
          break;
        case 'applyDeferred':
          if (s.now) throw new NotInWasm('deferred updates applied at once');
          this.applyDeferred();
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
            const [current, next] = carriedPair(x, s.what);
            // a check's early return leaves the buffers as they are: only a loop without one swaps
            if (this.step.sparseChecks) this.swap(current, next, x.dims);
            else this.copy(current, next, x.dims);
          }
          break;
        case 'iterationIndex':
          if (s.value !== 'k') throw new NotInWasm('iteration index at a point');
          this.code.op('local.get', this.base.get(plan.iteration!)!).op('local.get', this.k).op('f64.convert_i32_s').memory('f64.store');
          break;
        // a sparse-checked loop is checked once, after the sweep (the JavaScript around it)
        case 'check':
          if (!this.step.sparseChecks) this.check(s.what);
          break;
        // a sweep runs unobserved
        case 'observe':
          break;
        default:
          throw new NotInWasm(`step ${s.kind}`);
      }
    }
  }

  /**
   * The next values become the current ones by swapping the two buffers' offsets (the locals
   * every access reads), not by copying. After the loop both buffers are given the last values
   * (one copy), as the JavaScript loop's copy each step leaves them.
   */
  private swap(current: string, next: string, dims: readonly string[]) {
    const c = this.code;
    const [a, b] = [this.base.get(current)!, this.base.get(next)!];
    const t = c.local(I32);
    c.op('local.get', a).op('local.set', t).op('local.get', b).op('local.set', a).op('local.get', t).op('local.set', b);
    if (!this.swapped.some(([cur]) => cur === current)) this.swapped.push([current, next, dims]);
  }

  /** Returns k when a next value (of every direction) is NaN or ±Inf: v − v is then NaN, which is not 0. */
  private check(what: 'state' | 'tangents' | 'adjoints') {
    const c = this.code;
    const at = c.local(I32);
    const end = c.local(I32);
    for (const x of this.input.plan.state) {
      const base = this.base.get(carriedPair(x, what)[1])!;
      c.op('local.get', base).op('local.set', at);
      c.op('local.get', base).i32(8 * this.input.size(x.dims));
      if (what !== 'state') c.op('local.get', this.count).op('i32.mul');
      c.op('i32.add').op('local.set', end);
      c.structured('block', () =>
        c.structured('loop', () => {
          c.op('local.get', at).op('local.get', end).op('i32.ge_u').op('br_if', 1);
          c.op('local.get', at).memory('f64.load').op('local.tee', this.value).op('local.get', this.value).op('f64.sub').f64(0).op('f64.ne');
          c.structured('if', () => c.op('local.get', this.k).op('return'));
          c.op('local.get', at).i32(8).op('i32.add').op('local.set', at).op('br', 0);
        }),
      );
    }
  }

  /** `from` into `to`: a state's one copy, or every direction's (count copies) of a per-direction buffer. */
  private copy(to: string, from: string, dims: readonly string[]) {
    const c = this.code;
    c.op('local.get', this.base.get(to)!).op('local.get', this.base.get(from)!).i32(8 * this.input.size(dims));
    if (this.input.stride(to) !== null) c.op('local.get', this.count).op('i32.mul');
    c.copy();
  }

  /** For d in [0, count): with unit seeds, e_d replaces e_{d−1} in the parameter direction; then the body. */
  private directions(unit: 'params' | null, body: readonly Step[]) {
    const { code: c, d, count } = this;
    c.i32(0).op('local.set', d);
    c.structured('block', () =>
      c.structured('loop', () => {
        c.op('local.get', d).op('local.get', count).op('i32.ge_s').op('br_if', 1);
        if (unit === 'params') {
          // index d − 1 (count − 1 for d = 0) to 0, then d to 1
          // (indices from the call's first direction: a part of a split sweep sets its own)
          this.setParamDirection(() => c.op('local.get', d).i32(1).op('i32.sub').op('local.get', d).op('i32.eqz')
            .op('local.get', count).op('i32.mul').op('i32.add').op('local.get', this.first).op('i32.add'), 0);
          this.setParamDirection(() => c.op('local.get', d).op('local.get', this.first).op('i32.add'), 1);
        }
        this.steps(body);
        c.op('local.get', d).i32(1).op('i32.add').op('local.set', d).op('br', 0);
      }),
    );
  }

  /** Entry `index` of the parameters' directions, concatenated in their order, set to `value`. */
  private setParamDirection(index: () => void, value: number) {
    const c = this.code;
    const at = c.local(I32);
    index();
    c.op('local.set', at);
    c.structured('block', () => {
      for (const p of this.input.plan.params) {
        const size = this.input.size(p.dims);
        c.op('local.get', at).i32(size).op('i32.lt_s');
        c.structured('if', () => {
          c.op('local.get', this.base.get(p.dot)!).op('local.get', at).i32(8).op('i32.mul').op('i32.add').f64(value).memory('f64.store');
          c.op('br', 1);
        });
        c.op('local.get', at).i32(size).op('i32.sub').op('local.set', at);
      }
    });
  }

  /**
   * One more step waits; when DEFER_STEPS do, or at the sweep's last step (k = T), the block of
   * steps k .. k + counter − 1 as one gemm per direction and update (deferred-updates.ts prints the same).
   */
  private applyDeferred() {
    const { code: c, counter, k } = this;
    const deferral = this.input.deferral;
    if (!deferral) throw new Error('phic internal error: the schedule applies deferred updates, but the plan defers none');
    const T = this.input.plan.options.truncate;
    c.op('local.get', counter).i32(1).op('i32.add').op('local.set', counter);
    c.op('local.get', counter).i32(DEFER_STEPS).op('i32.eq').op('local.get', k).i32(T).op('i32.eq').op('i32.or');
    c.structured('if', () => {
      // a concurrent deferral's gemms may run on a worker thread while the sweep goes on (the
      // kernels' deferredGemm and flushDeferred; the module settles them when the sweep returns)
      let posted = false;
      const d = c.local(I32);
      c.i32(0).op('local.set', d);
      c.structured('block', () =>
        c.structured('loop', () => {
          c.op('local.get', d).op('local.get', this.count).op('i32.ge_s').op('br_if', 1);
          for (const u of deferral.updates) {
            const [m, nn, ldb] = [number(u.call.m, this.input.dimValue), number(u.call.n, this.input.dimValue), number(u.call.ldb, this.input.dimValue)];
            const stride = this.input.stride(u.call.B.buffer);
            if (stride === null) throw new NotInWasm(`the stride of ${u.call.B.buffer}`);
            const at = (buffer: string) => c.op('local.get', this.base.get(buffer)!);
            // B + 8·d·stride, ldb
            at(u.call.B.buffer).op('local.get', d).i32(8 * stride).op('i32.mul').op('i32.add').i32(ldb);
            // the waiting u's: 8·(d·DEFER_STEPS + DEFER_STEPS − counter)·m, 1, m
            at(u.buffer).op('local.get', d).i32(DEFER_STEPS).op('i32.mul').i32(DEFER_STEPS).op('i32.add').op('local.get', counter).op('i32.sub').i32(8 * m).op('i32.mul').op('i32.add').i32(1).i32(m);
            // the taped states from step k: tape + 8·(k − T)·nn, nn; then m, nn, counter, not symmetric
            at(u.state.tape).op('local.get', k).i32(T).op('i32.sub').i32(8 * nn).op('i32.mul').op('i32.add').i32(nn);
            c.i32(m).i32(nn).op('local.get', counter).i32(0);
            const threaded = m * nn * DEFER_STEPS >= this.input.splitWork;
            if (threaded && deferral.concurrent) {
              c.op('call', this.imports.index('threaded', 'deferredGemm', { params: Array(KERNEL_ARITY.gemm).fill(I32), results: [] }));
              posted = true;
            } else c.op('call', kernelImport(this.imports, 'gemm', threaded));
          }
          c.op('local.get', d).i32(1).op('i32.add').op('local.set', d).op('br', 0);
        }),
      );
      // the sweep's last block (k = T) is needed at once: wait for it
      if (posted) c.op('local.get', k).i32(T).op('i32.eq').op('call', this.imports.index('threaded', 'flushDeferred', { params: [I32], results: [] }));
      c.i32(0).op('local.set', counter);
    });
  }

  /** Every direction's tangent products as one gemm each (batched-tangents.ts prints the same in JavaScript). */
  private tangentProducts() {
    const c = this.code;
    const batch = this.input.batch;
    if (!batch) throw new Error('phic internal error: the schedule runs tangentProducts, but the plan batches none');
    for (const b of batch.products) {
      const [m, n] = [number(b.call.m, this.input.dimValue), number(b.call.n, this.input.dimValue)];
      const at = (buffer: string) => c.op('local.get', this.base.get(buffer)!);
      // products.fill(0): count directions of m entries
      at(b.products).i32(0).i32(8 * m).op('local.get', this.count).op('i32.mul').fill();
      at(b.products).i32(m);
      at(b.state.dot).i32(n).i32(1);
      at(b.transposed ?? b.call.A.buffer).i32(m).op('local.get', this.count).i32(m).i32(n).i32(0);
      // the direction count is known only at run time: through the kernels' JavaScript, which splits a large call
      c.op('call', kernelImport(this.imports, 'gemm', true));
    }
  }
}

/** A size that must be a number once the dims are baked. */
function number(e: IndexExpr, dimValue: (name: string) => number): number {
  const f = foldIndex(e, dimValue);
  if (f.k !== 'num') throw new NotInWasm('a size that is not a number');
  return f.v;
}

/** A kernel's import: the kernels' own export, or (`split`) the module's JavaScript function that may split the call over threads. */
function kernelImport(imports: Imports, kernel: SweepKernel, split: boolean): number {
  return imports.index(split ? 'threaded' : 'kernels', kernel, { params: Array(KERNEL_ARITY[kernel]).fill(I32), results: [] });
}

/** A segment's statements inlined into a sweep, for the direction in local `d` (batched buffers at d · their stride). */
class SegmentCode {
  private readonly ints = new Map<string, number>();
  private readonly floats = new Map<string, number>();
  private readonly scalar: ScalarContext;

  private batched = new Set<string>();
  /** Iterations of the loops around the statement being written (1 outside any). */
  private trips = 1;

  constructor(
    private readonly input: SweepInput,
    private readonly code: Code,
    private readonly base: ReadonlyMap<string, number>,
    private readonly imports: Imports,
    /** The local holding the direction d. */
    private readonly d: number,
    /** Per step: the loads and stores of the segments' loops, and their calls of imported functions. */
    private readonly tally: { accesses: number; importNs: number },
    /** Index variables of the module the statements read, by their locals. */
    private readonly vars: ReadonlyMap<string, number>,
  ) {
    this.scalar = {
      code,
      leaf: (e: ScalarExpr) => {
        // the JavaScript printer writes −0 as 0
        if (e.kind === 'num') code.f64(Object.is(e.value, -0) ? 0 : e.value);
        else if (e.kind === 'local') code.op('local.get', this.float(e.name));
        else if (e.kind === 'load') this.address(e.buffer, e.index), code.memory('f64.load'), (this.tally.accesses += this.trips);
      },
      importIndex: (module, name, arity) => ((this.tally.importNs += this.trips * importExtraNs(module, name)), imports.index(module, name, { params: Array(arity).fill(F64), results: [F64] })),
    };
  }

  emit(seg: Segment) {
    this.batched = new Set(seg.batched);
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
        const at = this.ints.get(f.name) ?? this.vars.get(f.name);
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

  /** The byte address of buffer[index], in direction d's copy of a batched buffer (at d · its stride). */
  private address(buffer: string, index: IndexExpr) {
    const c = this.code;
    const at = this.base.get(buffer);
    if (at === undefined) throw new Error(`phic internal error: a sweep reads ${buffer}, which it was not given`);
    c.op('local.get', at);
    if (this.batched.has(buffer)) {
      const stride = this.input.stride(buffer);
      if (stride === null) throw new NotInWasm(`the stride of ${buffer}`);
      c.op('local.get', this.d).i32(8 * stride).op('i32.mul').op('i32.add');
    }
    const f = foldIndex(index, this.input.dimValue);
    if (f.k === 'num' && f.v === 0) return;
    if (f.k === 'num') c.i32(8 * f.v);
    else {
      this.index(f);
      c.i32(8).op('i32.mul');
    }
    c.op('i32.add');
  }


  /** A loop `for (index = start; index < extent − slack; index += step) body`, index kept afterwards. */
  private loop(index: number, extent: IndexExpr, slack: number, step: number, body: () => void) {
    const c = this.code;
    const outer = this.trips;
    const f = foldIndex(extent, this.input.dimValue);
    this.trips = outer * (f.k === 'num' ? Math.max(1, Math.floor(f.v / step)) : 1);
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
    this.trips = outer;
  }

  private stmt(s: Stmt) {
    const c = this.code;
    switch (s.kind) {
      case 'for': {
        const i = this.int(s.index);
        c.i32(0).op('local.set', i);
        if (vectorizable(s, this.input.dimValue)) {
          // pairs of entries, then the odd last one as scalars (vector-wasm.ts)
          const pairs: VectorContext = {
            code: c,
            address: (buffer, index) => this.address(buffer, index),
            scalar: (e) => this.scalar.leaf(e),
            index: s.index,
            dimValue: this.input.dimValue,
          };
          this.loop(i, s.extent, 1, 2, () => {
            for (const b of s.body) {
              if (b.kind !== 'store') continue;
              this.tally.accesses += this.trips;
              emitVectorStore(b, pairs);
            }
          });
        }
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
        this.tally.accesses += this.trips;
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
    if (call.kernel === 'solve' || call.kernel === 'gemvGemvT2') throw new NotInWasm(call.kernel);
    const int = (e: IndexExpr) => number(e, this.input.dimValue);
    const work = call.kernel === 'gemm' ? int(call.m) * int(call.n) * int(call.k) : call.kernel === 'gemv2' ? int(call.first.m) * int(call.first.n) : int(call.m) * int(call.n);
    const pointer = (o: Operand) => this.address(o.buffer, o.base);
    const i = (e: IndexExpr) => this.code.i32(int(e));
    switch (call.kernel) {
      case 'gemv':
        pointer(call.A), i(call.lda), pointer(call.x), pointer(call.y), i(call.m), i(call.n);
        break;
      case 'gemv2': {
        const [p, q] = [call.first, call.second];
        pointer(p.A), i(p.lda), pointer(p.x), pointer(q.x), pointer(p.y), pointer(q.y), i(p.m), i(p.n);
        break;
      }
      case 'gemvT':
        pointer(call.A), i(call.lda), pointer(call.v), pointer(call.y), i(call.m), i(call.n);
        break;
      case 'gemvGemvT':
        pointer(call.A), i(call.lda), pointer(call.x), pointer(call.u);
        if (call.c) pointer(call.c);
        else this.code.i32(-1);
        pointer(call.v), pointer(call.y), pointer(call.s), i(call.m), i(call.n);
        // always the module's JavaScript function: the kernel itself runs one of its parts a call
        this.code.op('call', kernelImport(this.imports, call.kernel, true));
        return;
      case 'ger':
        pointer(call.B), i(call.ldb), pointer(call.u), i(call.incu), pointer(call.w), i(call.m), i(call.n);
        break;
      case 'gemm':
        pointer(call.C), i(call.ldc), pointer(call.A), i(call.ai), i(call.al), pointer(call.B), i(call.ldb), i(call.m), i(call.n), i(call.k), this.code.i32(call.symmetric ? 1 : 0);
        break;
    }
    this.code.op('call', kernelImport(this.imports, call.kernel, work >= this.input.splitWork));
  }
}

