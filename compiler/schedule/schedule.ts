// The drivers as data: what each entry point of a compiled module runs, in order, as a list of
// steps over the plan's segments (build.ts makes it from a plan). Every back end runs the same
// schedule: the CPU back end prints it as JavaScript (codegen/schedule-js.ts), the GPU module
// carries it as a table that its host runtime interprets (codegen/gpu/host/program.ts). The
// framing around the steps (reading the caller's inputs and seeds, shaping the results) is
// each back end's, since it depends on how that back end holds memory.

/** A segment of one iteration, by the key its plan (or a plan pass) gives it. */
export type SegmentKey =
  | 'invariants' | 'step' | 'stepForTangent' | 'tangent' | 'forwardStep' | 'tangentInvariants' | 'tangentBatched'
  | 'adjointPrep' | 'adjoint' | 'outerGradient' | 'reverseStep' | 'paramAdjoint';

/** An iteration bound: a literal 0, the truncation index T, K, or the enclosing procedure's range. */
export type Bound = 0 | 'T' | 'K' | 'from' | 'to';

/** The sweeps entries share; a back end may print each once (the CPU prints a function each). */
export type ProcedureName = 'idle' | 'record' | 'forwardSweep' | 'unitSweep' | 'backwardSweep' | 'fusedSweep' | 'fusedGradient';

/** The buffers a step advances or checks: the iterate, the tangents or the adjoints. */
export type Carried = 'state' | 'tangents' | 'adjoints';

/** Sparse finiteness checks of an iteration loop: how often, and what a rewind restores besides the state. */
export interface SparseChecks {
  readonly every: number;
  readonly carried: 'tangents' | 'adjoints' | null;
}

/** What the observer is told a call is doing. */
export type Phase = 'idle' | 'record' | 'forward' | 'backward';

export type Step =
  /** Run a segment: for the direction of the enclosing `directions`, or once (direction 0 / every copy). */
  | { readonly kind: 'segment'; readonly segment: SegmentKey }
  /**
   * For every direction d of the call: set the unit seed e_d (when `unit`), then the body. A back
   * end whose segments hold every direction at once (the GPU) runs the body once, seeded up front.
   */
  | { readonly kind: 'directions'; readonly unit: 'params' | null; readonly body: readonly Step[] }
  /** Dense partials at a point, one column at a time: seed e_c on the `of` side, run the body, keep the column. */
  | { readonly kind: 'columns'; readonly of: 'states' | 'params'; readonly body: readonly Step[] }
  /**
   * k from `from` up to `to` − 1, or from `to` − 1 down to `from`. With `sparseChecks` (where
   * optimise/finite-checks.ts proves a bad value cannot vanish), a back end may run the body's
   * checks every `every` steps and at the last, when the call is unobserved and has one
   * direction: a failed check rewinds to the last checked iterate (the state and what the loop
   * carries, kept at each check) and runs on checking every step, to name the same iteration.
   */
  | { readonly kind: 'iterations'; readonly from: Bound; readonly to: Bound; readonly down: boolean; readonly body: readonly Step[]; readonly sparseChecks?: SparseChecks }
  /** Run a procedure (over [from, to) when it has a range). */
  | { readonly kind: 'run'; readonly procedure: ProcedureName; readonly from?: Bound; readonly to?: Bound }
  /** Push x_k on the tape (iteration k). */
  | { readonly kind: 'tapePush' }
  /** Restore x_k from the tape (iteration k). */
  | { readonly kind: 'tapeRestore' }
  /**
   * The fused reverse sweep's tape of adjoints, slot j holding x̄ = λ_{T+j}: push the adjoint
   * the loop's step k carries in (`mirror`: the adjoint step beside iteration k is step
   * K − 1 − (k − T), so λ_{K−k+T}, slot K − k) or λ_T (`first`, slot 0); restore λ_{k+1}
   * (`next`), or λ_T (`first`).
   */
  | { readonly kind: 'adjointTape'; readonly op: 'push' | 'restore'; readonly slot: 'mirror' | 'next' | 'first' }
  /** The fused reverse sweep gives up (returns false) unless the state and the adjoints are all finite. */
  | { readonly kind: 'finiteOrGiveUp' }
  /** Before the restore: x_{k+1} (the iterate now held) into the next-state buffers, which the adjoint reads. */
  | { readonly kind: 'keepNext' }
  /** The next values become the current ones. */
  | { readonly kind: 'advance'; readonly what: Carried }
  /** NaN or Inf in the next values is an error that names iteration k. */
  | { readonly kind: 'check'; readonly what: Carried }
  /** Call the caller's observer, if any. */
  | { readonly kind: 'observe'; readonly phase: Phase }
  /** The tangent products of every direction as one product (the batch-tangents pass), and the transposed copies it reads first. */
  | { readonly kind: 'transposeForProducts' }
  | { readonly kind: 'tangentProducts' }
  /** Apply the rank-1 updates the defer-updates pass holds back: when a block is full (or at the end), or `now`. */
  | { readonly kind: 'applyDeferred'; readonly now: boolean }
  /** Evaluate ℓ and its gradients at the current state; `seed`: they become the adjoints (the hypergradient). */
  | { readonly kind: 'outer'; readonly seed: boolean }
  /** The state result, taken here (before a backward sweep changes the iterate). */
  | { readonly kind: 'snapshot' }
  /** The step index k (or 0 at a point) into the buffer formulas read k from, when Φ depends on it. */
  | { readonly kind: 'iterationIndex'; readonly value: 'k' | 0 }
  /** Mini-batch k mod B (or batch 0 at a point) of every batched input into its current-batch buffer. */
  | { readonly kind: 'loadBatch'; readonly value: 'k' | 0 }
  /**
   * The implicit method, for the direction of the enclosing `directions`: solve (I − ∂ₓΦ) ẋ =
   * ∂θΦ θ̇ (tangents) or (I − ∂ₓΦ)ᵀ v = x̄ then θ̄ += ∂θΦᵀ v (adjoints) at the current state, by
   * the plan's solver, each product with ∂ₓΦ one run of the tangent (adjoint) segment.
   */
  | { readonly kind: 'solve'; readonly side: 'tangents' | 'adjoints' }
  /** Checkpointing: before the taped sweep, the steps whose states the first sweep keeps (the binomial chain). */
  | { readonly kind: 'checkpointStart' }
  /** Checkpointing: x_k into the next slot when k is the chain's next step. */
  | { readonly kind: 'checkpointSave' }
  /**
   * Checkpointing: the backward sweep from K down to T by binomial reversal over the slots. It
   * runs `advance` (one primal step from x_k) to recompute states and `adjoint` (the adjoint of
   * step k with x_k in the state buffers) for each k from K − 1 down to T.
   */
  | { readonly kind: 'revolve'; readonly advance: readonly Step[]; readonly adjoint: readonly Step[] };

/** The public entry points. */
export type EntryName = 'iterate' | 'jvp' | 'jacobianForward' | 'vjp' | 'jacobianReverse' | 'partialX' | 'partialTheta' | 'partialRows' | 'outerAt' | 'hypergradient';

/** One entry point: where it starts, how many directions it carries and how they are seeded, and its steps. */
export interface EntrySchedule {
  readonly name: EntryName;
  /** The state it starts from: the caller's x0 (then iterated) or a point (one step, no iterations). */
  readonly at: 'x0' | 'point';
  /** The number of directions: one, one per param entry, one per state entry; none for a primal call. */
  readonly directions: 'none' | 'one' | 'params' | 'states';
  /** Which buffers carry the directions: the tangents (forward mode) or the adjoints (reverse mode). */
  readonly side: 'tangents' | 'adjoints' | null;
  /**
   * The seeds, set before the steps: a given direction θ̇ or cotangent x̄_K (zeros where not
   * given), unit vectors (e_d per direction, with zero parameter adjoints), or none. The outer
   * objective's seed is a step (`outer`), since it is taken at x_K.
   */
  readonly seed: 'none' | 'direction' | 'cotangent' | 'unitParams' | 'unitStates';
  /**
   * The derivative with respect to the initial point x⁰: the state part of the direction seeds
   * ẋ where the forward sweep starts, and the state adjoints the backward sweep leaves (x̄ at
   * step T) are the gradient. That is the x⁰ derivative only when the sweeps start at x⁰ (T = 0):
   * 'exact'. With T > 0 the idle iterations carry no derivative, so it is exactly zero: 'zero'
   * (the seed is checked, then dropped; the result is zeros). 'none': the entry has no x⁰ part
   * (a point, a primal call, or the forward Jacobian, which sweeps the parameter directions).
   */
  readonly x0: 'exact' | 'zero' | 'none';
  /** The call needs the outer objective's data. */
  readonly outerData: boolean;
  readonly steps: readonly Step[];
  /**
   * The same entry with the fused reverse sweep (Plan.fusedReverse), which a back end may run
   * instead when the call is unobserved: its `fusedSweep` gives up on a value that is not
   * finite, and the call then runs `steps` from the start, whose checks name the iteration.
   */
  readonly fused?: readonly Step[];
}

export interface Schedule {
  readonly procedures: Readonly<Partial<Record<ProcedureName, readonly Step[]>>>;
  readonly entries: readonly EntrySchedule[];
}

/** Whether a step list (or a procedure it runs) contains a step of `kind`. */
export function uses(steps: readonly Step[], kind: Step['kind'], schedule?: Schedule): boolean {
  return steps.some((s) => {
    if (s.kind === kind) return true;
    if ('body' in s) return uses(s.body, kind, schedule);
    if (s.kind === 'revolve') return uses(s.advance, kind, schedule) || uses(s.adjoint, kind, schedule);
    if (s.kind === 'run' && schedule) return uses(schedule.procedures[s.procedure] ?? [], kind, schedule);
    return false;
  });
}
