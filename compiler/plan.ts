// The execution plan of a compiled map: buffers and the loop-IR segments one iteration
// runs (hoisted invariants, the primal step, the tangent step, the adjoint step), built from
// the model and its symbolic derivatives. Backends emit their drivers around these segments.

import type { ImplicitOptions } from './implicit/options.js';
import type { MapModel } from './model.js';
import { differentiateStep, type StepDerivatives } from './diff/derivatives.js';
import { vjp } from './diff/vjp.js';
import { topoSort, type Node } from './ir/nodes.js';
import { invariantNodes } from './optimise/invariance.js';
import { reassociate, type CostModel } from './optimise/reassociate.js';
import { sweptTangent } from './optimise/sweep-invariants.js';
import { lowerSegment as lowerUnfused, type LoweringContext, type Output, type Ref } from './lower/lower.js';
import type { BufferDecl, Segment } from './lower/loop-ir.js';
import type { TangentBatch } from './optimise/batch-tangents.js';
import type { Deferral } from './optimise/defer-updates.js';
import { NameScope } from './names.js';
import { REFUSED_NAMES } from './spec/identifiers.js';
import { isViewOp } from './ops/registry.js';

export type Mode = 'forward' | 'reverse' | 'both';

export interface PlanOptions {
  readonly mode: Mode;
  readonly K: number;
  readonly truncate: number;
  /** Numeric dims baked into the code, or null to bind them at instantiation. */
  readonly dims: Readonly<Record<string, number>> | null;
  /**
   * The loop-IR passes every segment goes through after lowering, in order (the back end's
   * list: kernel choice, loop fusion; see pipeline.ts). Default: none.
   */
  readonly segmentPasses?: readonly SegmentPass[];
  /** The back end computes products with the SIMD kernels (the cost model counts them at kernel speed). */
  readonly kernels?: boolean;
  /**
   * The driver puts x_{k+1} in the next-state buffers before the adjoint of step k runs (the
   * CPU backward sweep has it: the tape entry restored one step earlier, or x_K), so the
   * adjoint reads Φ(x_k) instead of recomputing it (tanh(Wx + c) for the derivative of tanh).
   */
  readonly nextStateKnown?: boolean;
  /** `--method implicit`: the derivative entries solve a linear system at x_K instead of sweeping (null or absent: unrolled). */
  readonly implicit?: ImplicitOptions | null;
  /** Reverse mode keeps this many checkpoint slots instead of a tape of K − t states (null or absent: the tape). */
  readonly checkpoints?: number | null;
}

/** A Plan → Plan pass (tangent batching, deferred updates), with a name for `--dump`. */
export interface PlanPass {
  readonly name: string;
  run(plan: Plan): Plan;
}

/** A loop-IR → loop-IR pass over one segment, with a name for `--dump`. */
export interface SegmentPass {
  readonly name: string;
  run(seg: Segment): Segment;
}

export interface StateBuffers {
  readonly name: string;
  readonly dims: readonly string[];
  readonly current: string;
  readonly next: string;
  readonly dot: string;
  readonly dotNext: string;
  readonly bar: string;
  readonly barNext: string;
  readonly tape: string;
  readonly initialFrom?: string;
}

/** A state component's buffers of what a step carries (its values, tangents or adjoints): the current ones and the next. */
export function carriedPair(s: StateBuffers, what: 'state' | 'tangents' | 'adjoints'): readonly [current: string, next: string] {
  return what === 'state' ? [s.current, s.next] : what === 'tangents' ? [s.dot, s.dotNext] : [s.bar, s.barNext];
}

export interface ParamBuffers {
  readonly name: string;
  readonly dims: readonly string[];
  readonly value: string;
  readonly dot: string;
  readonly bar: string;
}

export interface Plan {
  readonly model: MapModel;
  readonly options: PlanOptions;
  /** The module scope: every identifier of the module's create() and top level is allocated here. */
  readonly names: NameScope;
  /** The identifier of each dim in generated code (its name, unless that is a runtime name). */
  readonly dimNames: ReadonlyMap<string, string>;
  readonly state: readonly StateBuffers[];
  readonly params: readonly ParamBuffers[];
  /** `batches`: the buffer holding every mini-batch of a batched input, whose current batch is `value`. */
  readonly data: readonly { readonly name: string; readonly dims: readonly string[]; readonly value: string; readonly outer: boolean; readonly batches?: string }[];
  /** Buffers the outer-objective segment writes: ℓ, ∇ₓℓ per state component, ∇θℓ per param. */
  readonly outer?: { readonly loss: string; readonly stateGradient: readonly string[]; readonly paramGradient: readonly string[] };
  /** Every buffer that is neither an input nor a state/tangent/adjoint buffer (hoisted values, temporaries). */
  readonly temporaries: readonly BufferDecl[];
  readonly segments: {
    readonly invariants: Segment;
    readonly step: Segment;
    /** The step plus the values the tangent step reads; absent when it reads none (use `step`). */
    readonly stepForTangent?: Segment;
    readonly tangent?: Segment;
    /** Step and tangent step in one segment, for a single direction: loops over the same data fuse. */
    readonly forwardStep?: Segment;
    /**
     * Tangents of loop invariants along the given direction (Ġ = ȦᵀA + AᵀȦ), computed once per
     * sweep before `forwardStep`, which then reads them; absent when that does not pay.
     */
    readonly tangentInvariants?: Segment;
    readonly adjointPrep?: Segment;
    readonly adjoint?: Segment;
    /** ℓ(x, θ) and its gradients at the current state (when the spec has an outer objective). */
    readonly outerGradient?: Segment;
    /**
     * The fused reverse sweep (`fusedReverse`): one iteration x_{k+1} = Φ(x_k) and, in the same
     * segment, the state part of the adjoint of another, x̄ ← x̄ ∂ₓΦ, which reads no state.
     */
    readonly reverseStep?: Segment;
    /** The fused reverse sweep's parameter part of the adjoint step, θ̄ += x̄ ∂θΦ at the taped x_k. */
    readonly paramAdjoint?: Segment;
  };
  /**
   * Set where x̄ ← x̄ ∂ₓΦ does not read the state (∂ₓΦ is the same at every iterate: a linear
   * least-squares or ridge step): a VJP may then run the adjoint chain beside the iterations
   * instead of after them, each step of both in one segment (reverseStep), whose products on
   * the same matrix the pair-products pass joins into one pass over it. θ̄ is summed after, from
   * the tape of states and this tape of adjoints (per state component, K − T + 1 entries).
   */
  readonly fusedReverse?: { readonly adjointTape: readonly string[] };
  /** The one-entry buffer that holds k, the index of the step being run, when Φ depends on it. */
  readonly iteration?: string;
  /** Set by the batch-tangents pass: the tangent step of multi-direction forward sweeps. */
  readonly tangentBatch?: TangentBatch;
  /** Set by the defer-updates pass: the adjoint step whose rank-1 gradient updates wait for a block of steps. */
  readonly deferral?: Deferral;
  /** The symbolic derivatives the segments were lowered from (for --dump). */
  readonly derivatives: StepDerivatives;
  /** The graphs after optimisation, by stage (for --dump). */
  readonly graphs: { readonly update: readonly Node[]; readonly tangent: readonly (Node | null)[]; readonly sweptTangent?: readonly (Node | null)[]; readonly adjoint: readonly (Node | null)[] };
}

/** Cost of a multiply-add of gemm (general, symmetric AᵀA) against one of gemv, measured at 500² (kernels.wat). */
const PRODUCT_COST = { general: 0.75, symmetric: 0.4 };

/**
 * `topLevel`: the names the back end's module declares at its top level (its runtime's
 * functions and constants). They keep their spelling; a user name equal to one gets a suffix
 * on its buffer (the user-facing name, an input or result key, never changes).
 */
export function buildPlan(model: MapModel, options: PlanOptions, topLevel: Iterable<string> = []): Plan {
  const b = model.builder;
  const d = differentiateStep(model);
  const derivativeSteps = options.K - options.truncate;
  // With the kernels a hoisted product is computed by gemm, and one hoisted product serves the
  // primal and the derivative step alike: a call applies it K times plus K − t times.
  const costModel = (applications: number): CostModel | null => {
    if (!options.dims) return null;
    return options.kernels ? { dims: options.dims, applications: options.K + derivativeSteps, productCost: PRODUCT_COST } : { dims: options.dims, applications };
  };
  const update = reassociate(b, model.update, costModel(options.K));
  const tangent = orNull(reassociate(b, nonNull(d.tangent), costModel(derivativeSteps)), d.tangent);
  const adjointAll = [...d.stateAdjoint, ...d.paramAdjoint];
  const adjoint = orNull(reassociate(b, nonNull(adjointAll), costModel(derivativeSteps)), adjointAll);

  const named = planNames(model, topLevel);
  const { names, state, params } = named;
  const base = new Map<number, Ref>();
  model.state.forEach((s, i) => base.set(s.node.id, buf(state[i]!.current)));
  model.params.forEach((p, i) => base.set(p.node.id, buf(params[i]!.value)));
  [...model.data, ...model.outerData].forEach((v, i) => base.set(v.node.id, buf(named.data[i]!.value)));
  if (model.iteration) base.set(model.iteration.id, buf(named.iteration!));
  d.stateTangents.forEach((t, i) => base.set(t.id, buf(state[i]!.dot)));
  d.paramTangents.forEach((t, i) => base.set(t.id, buf(params[i]!.dot)));
  d.stateCotangents.forEach((t, i) => base.set(t.id, buf(state[i]!.bar)));
  const lower = segmentLowering(options, names, new Set([...state.flatMap((s) => [s.dot, s.dotNext, s.bar, s.barNext]), ...params.map((p) => p.bar)]));

  // Hoisting: invariant subexpressions used by the per-step graphs get a buffer each.
  const wantTangent = options.mode !== 'reverse';
  const wantAdjoint = options.mode !== 'forward';
  const perStepRoots = [...update, ...(wantTangent ? nonNull(tangent) : []), ...(wantAdjoint ? nonNull(adjoint) : [])];
  const invariant = invariantNodes(perStepRoots);
  const hoisted = lower.buffered(frontier(perStepRoots, (n) => invariant.has(n.id), base), 'h', base);
  const withHoisted = hoisted.available;
  const segmentNames = named.segmentNames;
  const invariants = lower.segment(base, segmentNames.invariants, 'loop invariants, computed once per call', hoisted.outputs);
  const stepOutputs: Output[] = update.map((u, i) => ({ node: u, buffer: state[i]!.next, accumulate: false }));
  const step = lower.segment(withHoisted, segmentNames.step, 'one iteration: next state from the current one', stepOutputs);

  const derivativeInputs = new Set([...d.stateTangents, ...d.paramTangents, ...d.stateCotangents].map((n) => n.id));
  // Values a derivative step reads that do not depend on the derivative inputs: computed with the step, kept in buffers.
  const shared = (roots: readonly Node[], prefix: string, known: ReadonlyMap<number, Ref>) => {
    const varying = dependsOn(roots, derivativeInputs);
    return lower.buffered(frontier(roots, (n) => !varying.has(n.id) && !known.has(n.id), known), prefix, known);
  };

  const forward: Mutable<Partial<Plan['segments']>> = {};
  let sweptGraph: readonly (Node | null)[] | undefined;
  if (wantTangent) {
    const s = shared(nonNull(tangent), 'p', withHoisted);
    if (s.outputs.length) forward.stepForTangent = lower.segment(withHoisted, segmentNames.stepForTangent, 'one iteration, also keeping the values the tangent step reads', [...stepOutputs, ...s.outputs]);
    const tangentOutputs: Output[] = tangent.map((t, i) => ({ node: t, buffer: state[i]!.dotNext, accumulate: false }));
    forward.tangent = lower.segment(s.available, segmentNames.tangentStep, 'tangent of one iteration: ẋ⁺ = ∂ₓΦ ẋ + ∂θΦ θ̇', tangentOutputs);
    // one given direction: the tangent of the reassociated step, its invariants' tangents formed once per sweep, when that pays
    const swept = options.dims && options.kernels ? sweptTangent({ b, update, tangent, dims: options.dims, steps: derivativeSteps, paramTangents: d.paramTangents, tangentOf: d.tangentOf }) : null;
    let fused = { available: withHoisted as ReadonlyMap<number, Ref>, outputs: tangentOutputs };
    if (swept) {
      sweptGraph = swept.tangent;
      const once = lower.buffered(frontier(nonNull(swept.tangent), (n) => swept.sweepInvariant.has(n.id), withHoisted), 'dh', withHoisted);
      forward.tangentInvariants = lower.segment(withHoisted, segmentNames.tangentInvariants, 'tangents of loop invariants along the given direction, once per sweep', once.outputs);
      fused = { available: once.available, outputs: swept.tangent.map((t, i) => ({ node: t, buffer: state[i]!.dotNext, accumulate: false })) };
    }
    forward.forwardStep = lower.segment(fused.available, segmentNames.forwardStep, 'one iteration and its tangent along one direction, in fused loops', [...stepOutputs, ...fused.outputs]);
  }
  const reverse: Mutable<Partial<Plan['segments']>> = {};
  if (wantAdjoint) {
    const withNext = new Map(withHoisted);
    if (options.nextStateKnown) {
      for (const list of [model.update, update]) list.forEach((u, i) => u.kind === 'op' && !withNext.has(u.id) && withNext.set(u.id, buf(state[i]!.next)));
    }
    const s = shared(nonNull(adjoint), 'q', withNext);
    reverse.adjointPrep = lower.segment(withNext, segmentNames.adjointPrep, 'values the adjoint step reads, at the taped iterate', s.outputs);
    const outs: Output[] = [
      ...state.map((st, i) => ({ node: adjoint[i] ?? null, buffer: st.barNext, accumulate: false })),
      ...params.map((p, i) => ({ node: adjoint[state.length + i] ?? null, buffer: p.bar, accumulate: true })),
    ];
    reverse.adjoint = lower.segment(s.available, segmentNames.adjointStep, 'adjoint of one iteration: x̄ ← x̄ ∂ₓΦ, θ̄ += x̄ ∂θΦ', outs);
  }
  const outer = model.outer ? outerSegment(model, named, lower, withHoisted) : undefined;
  lower.temporaries.push(...stepInputBuffers(model, named));
  const fused = wantAdjoint ? fusedReverse(model, options, named, lower, withHoisted, stepOutputs, adjoint) : null;

  return {
    model, options, names, dimNames: named.dimNames, state, params, data: named.data, temporaries: lower.temporaries, derivatives: d, outer: outer?.buffers,
    ...(named.iteration ? { iteration: named.iteration } : {}),
    graphs: { update, tangent, ...(sweptGraph ? { sweptTangent: sweptGraph } : {}), adjoint },
    segments: { invariants, step, ...forward, ...reverse, ...(outer ? { outerGradient: outer.segment } : {}), ...(fused?.segments ?? {}) },
    ...(fused ? { fusedReverse: fused.buffers } : {}),
  };
}

/** The adjoint tape of the fused reverse sweep stays below this many bytes (it doubles the tape's memory). */
const FUSED_ADJOINT_TAPE_MAX = 256 * 2 ** 20;

/** Ops whose work is a product (a kernel call per step), not a pass over their arguments. */
const PRODUCT_OPS: ReadonlySet<string> = new Set(['matvec', 'matmul', 'outer', 'lusolve', 'inv']);

/**
 * The segments of the fused reverse sweep (Plan.fusedReverse), where it applies: the CPU
 * kernels with baked dims, a map that is the same at every step (no k, no mini-batch), the
 * plain tape (no checkpoints, not implicit), a state adjoint that reads no state, and a
 * parameter adjoint without products of its own (it runs after the sweep, apart from the
 * state adjoint: a product the two shared would be computed twice). Whether it pays is the
 * pair-products pass's to say: it drops them where no product pairs.
 */
function fusedReverse(model: MapModel, options: PlanOptions, named: ReturnType<typeof planNames>, lower: ReturnType<typeof segmentLowering>, available: ReadonlyMap<number, Ref>, stepOutputs: readonly Output[], adjoint: readonly (Node | null)[]) {
  const { names, state, params } = named;
  if (!options.kernels || !options.dims || options.implicit || options.checkpoints || model.iteration || model.batches) return null;
  const stateAdjoint = adjoint.slice(0, state.length);
  const paramAdjoint = adjoint.slice(state.length);
  const readsState = dependsOn(nonNull(stateAdjoint), new Set(model.state.map((s) => s.node.id)));
  if (nonNull(stateAdjoint).some((r) => readsState.has(r.id)) || computesProduct(nonNull(paramAdjoint), available)) return null;
  const dims = options.dims;
  const entries = model.state.reduce((sum, s) => sum + s.shape.reduce((p, d) => p * dims[d]!, 1), 0);
  if ((options.K - options.truncate + 1) * entries * 8 > FUSED_ADJOINT_TAPE_MAX) return null;
  // the adjoint's outputs first: its product then comes first, and the step's, which reads
  // only the state, can move up to it past the loops between (optimise/pair-products.ts)
  const reverseStep = lower.segment(available, names.fresh('reverseStep'), 'the fused sweep: one iteration, and x̄ ← x̄ ∂ₓΦ of another', [
    ...state.map((st, i) => ({ node: stateAdjoint[i] ?? null, buffer: st.barNext, accumulate: false })),
    ...stepOutputs,
  ]);
  const paramStep = lower.segment(available, names.fresh('paramAdjoint'), 'the fused sweep: θ̄ += x̄ ∂θΦ at a taped x_k', params.map((p, i) => ({ node: paramAdjoint[i] ?? null, buffer: p.bar, accumulate: true })));
  return { segments: { reverseStep, paramAdjoint: paramStep }, buffers: { adjointTape: state.map((s) => names.fresh(`${s.name}_bar_tape`)) } };
}

/** Whether computing `roots` (from what is `available` in buffers) takes a product. */
function computesProduct(roots: readonly Node[], available: ReadonlyMap<number, Ref>): boolean {
  const seen = new Set<number>();
  const visit = (n: Node): boolean => {
    if (seen.has(n.id) || available.has(n.id) || n.kind !== 'op') return false;
    seen.add(n.id);
    return PRODUCT_OPS.has(n.op) || n.args.some(visit);
  };
  return roots.some(visit);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const buf = (name: string): Ref => ({ kind: 'buffer', name });

/**
 * The module scope and the names of the plan's buffers. User names come first, in spec order:
 * each keeps its spelling unless a top-level name of the runtime has it. Constants and helpers
 * become no identifier; they are held all the same.
 */
function planNames(model: MapModel, topLevel: Iterable<string>) {
  const names = NameScope.module([...REFUSED_NAMES, ...topLevel]);
  const dimNames = new Map(model.dims.map((dim) => [dim, names.fresh(dim)] as const));
  const stateIds = model.state.map((s) => names.fresh(s.name));
  const paramIds = model.params.map((p) => names.fresh(p.name));
  const dataIds = [...model.data, ...model.outerData].map((v) => names.fresh(v.name));
  for (const name of [...Object.keys(model.spec.constants ?? {}), ...Object.keys(model.spec.functions ?? {})]) names.fresh(name);
  const segmentNames = names.table(['invariants', 'step', 'stepForTangent', 'tangentStep', 'forwardStep', 'adjointPrep', 'adjointStep', 'outerGradient', 'tangentInvariants']);
  const state: StateBuffers[] = model.state.map((s, i) => ({
    name: s.name, dims: s.shape, current: stateIds[i]!, next: names.fresh(`${s.name}_next`), dot: names.fresh(`${s.name}_dot`),
    dotNext: names.fresh(`${s.name}_dot_next`), bar: names.fresh(`${s.name}_bar`), barNext: names.fresh(`${s.name}_bar_next`),
    tape: names.fresh(`${s.name}_tape`), initialFrom: s.initialFrom,
  }));
  const params: ParamBuffers[] = model.params.map((p, i) => ({
    name: p.name, dims: p.shape, value: paramIds[i]!, dot: names.fresh(`${p.name}_dot`), bar: names.fresh(`${p.name}_bar`),
  }));
  const iteration = model.iteration ? names.fresh('iteration') : undefined;
  const data = [
    ...model.data.map((v) => ({ name: v.name, dims: v.shape, outer: false })),
    ...model.outerData.map((v) => ({ name: v.name, dims: v.shape, outer: true })),
  ].map((v, i) => ({ ...v, value: dataIds[i]!, ...(model.batches?.data.includes(v.name) ? { batches: names.fresh(`${v.name}_batches`) } : {}) }));
  return { names, dimNames, segmentNames, state, params, data, iteration };
}

/**
 * The buffers of what the drivers write every step: k (schedule step iterationIndex), and every
 * mini-batch of a batched input, copied batch by batch into its current-batch buffer.
 */
function stepInputBuffers(model: MapModel, named: ReturnType<typeof planNames>): BufferDecl[] {
  return [
    ...(named.iteration ? [{ name: named.iteration, dims: [], batched: false }] : []),
    ...named.data.flatMap((v) => (v.batches ? [{ name: v.batches, dims: [model.batches!.count, ...v.dims], batched: false }] : [])),
  ];
}

/** Lowering with the back end's segment passes, and the temporary buffers it declares. */
function segmentLowering(options: PlanOptions, names: NameScope, batched: ReadonlySet<string>) {
  const temporaries: BufferDecl[] = [];
  const context = (available: ReadonlyMap<number, Ref>): LoweringContext => ({ names, available, batched, declare: (decl) => temporaries.push(decl) });
  return {
    temporaries,
    /** Every segment is lowered, then goes through the back end's passes. */
    segment: (available: ReadonlyMap<number, Ref>, name: string, doc: string, outputs: readonly Output[]) =>
      (options.segmentPasses ?? []).reduce((seg, pass) => pass.run(seg), lowerUnfused(context(available), name, doc, outputs)),
    /** A buffer `prefix…` for each node, and `known` with them added. */
    buffered(nodes: readonly Node[], prefix: string, known: ReadonlyMap<number, Ref>) {
      const available = new Map(known);
      const outputs: Output[] = nodes.map((n) => {
        const name = names.fresh(prefix);
        temporaries.push({ name, dims: n.shape, batched: false });
        available.set(n.id, buf(name));
        return { node: n, buffer: name, accumulate: false };
      });
      return { outputs, available };
    },
  };
}

/** ℓ(x, θ) and its gradients at the current state, into buffers of their own. */
function outerSegment(model: MapModel, named: ReturnType<typeof planNames>, lower: ReturnType<typeof segmentLowering>, available: ReadonlyMap<number, Ref>) {
  const b = model.builder;
  const { names, state, params } = named;
  const grads = vjp(b, [model.outer!], [b.constant(1)], [...model.state.map((s) => s.node), ...model.params.map((p) => p.node)]);
  const buffers = {
    loss: names.fresh('loss'),
    stateGradient: state.map((s) => names.fresh(`${s.name}_outer`)),
    paramGradient: params.map((p) => names.fresh(`${p.name}_outer`)),
  };
  const list = [buffers.loss, ...buffers.stateGradient, ...buffers.paramGradient];
  const shapes = [[], ...state.map((s) => s.dims), ...params.map((p) => p.dims)];
  list.forEach((name, i) => lower.temporaries.push({ name, dims: shapes[i]!, batched: false }));
  const outputs: Output[] = [model.outer!, ...grads].map((node, i) => ({ node, buffer: list[i]!, accumulate: false }));
  return { buffers, segment: lower.segment(available, named.segmentNames.outerGradient, 'the outer objective ℓ(x, θ) and its gradients at the current state', outputs) };
}

const nonNull = (xs: readonly (Node | null)[]) => xs.filter((x): x is Node => x !== null);
/** Put rewritten non-null nodes back in the positions of the original list. */
function orNull(rewritten: readonly Node[], original: readonly (Node | null)[]): (Node | null)[] {
  let k = 0;
  return original.map((o) => (o ? rewritten[k++]! : null));
}

/** Ids of nodes under `roots` that depend on any of `inputs`. */
function dependsOn(roots: readonly Node[], inputs: ReadonlySet<number>): Set<number> {
  const out = new Set<number>();
  for (const n of topoSort(roots)) {
    if (inputs.has(n.id) || (n.kind === 'op' && n.args.some((a) => out.has(a.id)))) out.add(n.id);
  }
  return out;
}

/**
 * The op nodes satisfying `inSet` that some node outside the set uses (or that are roots):
 * what must be computed ahead and kept. Views (transpose, outer) are looked through, since
 * consumers read them by index; nodes already available are skipped.
 */
function frontier(roots: readonly Node[], inSet: (n: Node) => boolean, available: ReadonlyMap<number, Ref>): Node[] {
  const picked = new Map<number, Node>();
  const take = (n: Node) => {
    if (n.kind !== 'op' || available.has(n.id) || picked.has(n.id)) return;
    if (isViewOp(n.op)) n.args.forEach(take);
    else picked.set(n.id, n);
  };
  for (const n of topoSort(roots)) {
    // an available node is read from its buffer, so it consumes none of its arguments
    if (inSet(n) || available.has(n.id)) continue;
    if (n.kind === 'op') for (const a of n.args) if (inSet(a)) take(a);
  }
  for (const r of roots) if (inSet(r)) take(r);
  return [...picked.values()].sort((a, b) => a.id - b.id);
}
