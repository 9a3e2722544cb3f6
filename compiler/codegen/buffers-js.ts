// The buffers of a generated CPU module: which there are, and how they are declared. With
// plain loops each is a Float64Array of its own; when a segment calls a SIMD kernel, all of
// them are views into the kernels' WebAssembly memory, laid out by `layout()`, which runs
// again when the number of directions changes (growing the memory detaches every view).

import type CodeBlockWriter from 'code-block-writer';
import type { Plan } from '../plan.js';
import type { NameScope } from '../names.js';
import type { CreateNames } from './module-js.js';
import { typedName } from './typed.js';

interface Buffer {
  readonly name: string;
  /** Entries, as code. */
  readonly size: string;
  readonly comment?: string;
}

export interface BufferSet {
  readonly fixed: readonly Buffer[];
  readonly tape: readonly Buffer[];
  /**
   * With the SIMD kernels: whether the tape lives in the kernels' memory. Only the deferred
   * rank-1 updates and the WebAssembly sweeps read it in place; otherwise it is only copied, so it stays a plain array
   * outside, where it does not count against the kernels' 4 GiB WebAssembly memory.
   */
  readonly tapeInKernels: boolean;
  /** Per-direction buffers: size per direction, as code. */
  readonly tangents: readonly (readonly [string, string])[];
  readonly adjoints: readonly (readonly [string, string])[];
}

/** Buffers beyond the plan's: per-direction ones (name, size of one direction) and fixed ones. */
export interface MoreBuffers {
  readonly adjoints?: readonly (readonly [string, string])[];
  readonly tangents?: readonly (readonly [string, string])[];
  readonly fixed?: readonly Buffer[];
  /** The tape in the kernels' memory even without deferred updates: a WebAssembly sweep pushes or restores it (sweep-wasm.ts). */
  readonly tapeInKernels?: boolean;
}

export function bufferSet(plan: Plan, size: (v: { readonly dims: readonly string[] }) => string, more: MoreBuffers = {}): BufferSet {
  const state = plan.state;
  // with checkpointing the tape buffers hold the c slots
  const tapeStates = plan.options.checkpoints ?? plan.options.K - plan.options.truncate;
  const fixed: Buffer[] = [
    ...plan.params.map((p) => ({ name: p.value, size: size(p) })),
    ...plan.data.map((d) => ({ name: d.value, size: size(d) })),
    ...state.map((s) => ({ name: s.current, size: size(s) })),
    ...state.map((s) => ({ name: s.next, size: size(s) })),
    ...plan.params.map((p) => ({ name: p.dot, size: size(p) })),
    ...plan.temporaries.map((t, i) => ({ name: t.name, size: t.copies ? `${t.copies} * ${size(t)}` : size(t), ...(i === 0 ? { comment: 'hoisted invariants, shared intermediates and scratch' } : {}) })),
    ...(more.fixed ?? []),
  ];
  fixed[0] = { ...fixed[0]!, comment: 'inputs and state' };
  // the implicit method keeps no tape: its reverse mode solves at x_K
  const reverse = !!plan.segments.adjoint && !plan.options.implicit;
  return {
    fixed,
    tapeInKernels: !!plan.deferral || !!more.tapeInKernels,
    tape: reverse
      ? [
          ...state.map((s, i) => ({ name: s.tape, size: `${tapeStates} * ${size(s)}`, ...(i === 0 ? { comment: plan.options.checkpoints ? `reverse-mode checkpoints: ${tapeStates} slots per component (the other states are recomputed)` : `reverse tape: exactly K - T = ${tapeStates} states per component` } : {}) })),
          ...(plan.fusedReverse?.adjointTape ?? []).map((name, i) => ({ name, size: `${tapeStates + 1} * ${size(state[i]!)}`, ...(i === 0 ? { comment: `the fused sweep's adjoint tape: K - T + 1 = ${tapeStates + 1} adjoints per component` } : {}) })),
        ]
      : [],
    tangents: [...state.flatMap((s) => [[s.dot, size(s)], [s.dotNext, size(s)]] as const), ...(more.tangents ?? [])],
    adjoints: [...state.flatMap((s) => [[s.bar, size(s)], [s.barNext, size(s)]] as const), ...plan.params.map((p) => [p.bar, size(p)] as const), ...(more.adjoints ?? [])],
  };
}

/** Per-direction buffers once each (a state's adjoint and tangent never share a name), with their sizes for the current counts. */
function perDirection(set: BufferSet, n: Pick<CreateNames, 'tangentCount' | 'adjointCount'>): [string, string][] {
  return [...new Map([...set.tangents.map(([b, sz]) => [b, `${n.tangentCount} * ${sz}`] as const), ...set.adjoints.map(([b, sz]) => [b, `${n.adjointCount} * ${sz}`] as const)])];
}

/** The create()-level names the buffer code prints. */
type BufferNames = Pick<CreateNames, 'kernels' | 'options' | 'tangentCount' | 'adjointCount' | 'layout' | 'bufferBytes' | 'threads' | 'ready' | 'release'>;

/**
 * Declarations at the top of create(); `outerLine` is written where plain modules always had it.
 * `kernels`: the buffers are views into the SIMD kernels' memory ('paired': with the paired
 * kernel, whose builds the module embeds as PAIRED_KERNELS), or null: plain arrays.
 */
export function emitBufferDeclarations(w: CodeBlockWriter, set: BufferSet, n: BufferNames, outerLine: string | undefined, kernels: 'kernels' | 'paired' | null, types = false) {
  // TypeScript: a view laid out later by layout() is declared with its type
  const view = (name: string) => `let ${typedName(types, name, ': Float64Array')};`;
  const declare = (buffers: readonly Buffer[], init: (b: Buffer) => string) => {
    for (const b of buffers) {
      if (b.comment) w.writeLine(`// ${b.comment}`);
      w.writeLine(init(b));
    }
  };
  if (kernels) {
    w.writeLine('// every buffer is a view into the memory of the SIMD kernels, which read them in place');
    w.writeLine(`const ${n.kernels} = kernelsFor(${n.options}${kernels === 'paired' ? ', PAIRED_KERNELS' : ''});`);
    declare([...set.fixed, ...(set.tapeInKernels ? set.tape : [])], (b) => view(b.name));
    if (!set.tapeInKernels) declare(set.tape, (b) => `const ${b.name} = new Float64Array(${b.size}); // only copied: outside the kernels' memory`);
    w.writeLine('// per-direction buffers: one copy per direction, laid out again when the count changes');
    for (const [name] of perDirection(set, n)) w.writeLine(view(name));
    w.writeLine(`let ${n.tangentCount} = 0;`).writeLine(`let ${n.adjointCount} = 0;`);
    w.writeLine('/** Lays every buffer out in the kernels\' memory; growing it detaches the views, so all are made again. */');
    w.write(`function ${n.layout}() `).block(() => {
      const all = [...set.fixed, ...(set.tapeInKernels ? set.tape : []), ...perDirection(set, n).map(([name, size]) => ({ name, size }))];
      w.writeLine(`[${all.map((b) => b.name).join(', ')}] = ${n.kernels}.views([${all.map((b) => b.size).join(', ')}]);`);
    });
    w.writeLine(`${n.layout}();`);
    if (outerLine) w.writeLine(outerLine);
    return;
  }
  w.writeLine(`createOptions(${n.options});`);
  declare(set.fixed, (b) => `const ${b.name} = new Float64Array(${b.size});`);
  w.writeLine('// per-direction buffers: one copy per direction, (re)allocated when the count changes');
  for (const [name] of perDirection(set, n)) w.writeLine(`let ${name} = new Float64Array(0);`);
  w.writeLine(`let ${n.tangentCount} = 0;`).writeLine(`let ${n.adjointCount} = 0;`);
  if (outerLine) w.writeLine(outerLine);
  declare(set.tape, (b) => `const ${b.name} = new Float64Array(${b.size});`);
}

/** threads(), ready() and release(): the kernels' worker threads; a module without kernels runs on one thread. */
export function emitThreadFunctions(w: CodeBlockWriter, n: BufferNames, kernels: boolean) {
  w.writeLine('/** Threads the kernels run on now: 1 until the worker threads, started by the first large call or by ready(), are ready. */');
  w.writeLine(kernels ? `function ${n.threads}() { return ${n.kernels}.threads(); }` : `function ${n.threads}() { return 1; }`);
  w.writeLine('/** Starts the worker threads; resolves once they are ready (at once without them), so that a synchronous loop after it uses them. */');
  w.writeLine(kernels ? `function ${n.ready}() { return ${n.kernels}.whenReady(); }` : `function ${n.ready}() { return Promise.resolve(); }`);
  w.writeLine('/** Stops the worker threads, if any; the instance goes on, on one thread. */');
  w.writeLine(kernels ? `function ${n.release}() { ${n.kernels}.release(); }` : `function ${n.release}() {}`).blankLine();
}

export function emitBufferBytes(w: CodeBlockWriter, set: BufferSet, n: BufferNames, locals: NameScope, kernels: boolean) {
  w.writeLine('/** Bytes held by the buffers (the per-direction ones as laid out by the last call). */');
  if (kernels) {
    const outside = set.tapeInKernels ? [] : set.tape.map((b) => ` + ${b.name}.byteLength`);
    w.writeLine(`function ${n.bufferBytes}() { return ${n.kernels}.bytes()${outside.join('')}; }`).blankLine();
    return;
  }
  const { bytes, b } = locals.child().table(['bytes', 'b']);
  const all = [...set.fixed, ...set.tape].map((x) => x.name).concat(perDirection(set, n).map(([name]) => name));
  w.writeLine(`function ${n.bufferBytes}() { return [${all.join(', ')}].reduce((${bytes}, ${b}) => ${bytes} + ${b}.byteLength, 0); }`).blankLine();
}
