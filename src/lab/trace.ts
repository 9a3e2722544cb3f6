// The curse-of-unrolling trace of a problem: at every iteration k, the iterate error
// ‖x_k − x*‖, the forward-mode error ‖ẋ_t^k − J*‖ (k = t..K) and the error of the backward
// sweep stopped at k, ‖X̄_k − J*‖ (k = K..t), all observed while the generated code runs.
// Errors are spectral norms of full Jacobians when these are small; otherwise (as in the
// paper) norms of JVPs ‖(ẋ_t^k − J*)v‖ and VJPs ‖uᵀ(X̄_k − J*)‖ along random unit directions,
// averaged over the directions. Either way they are at most the spectral-norm errors.

import { randomGenerator, spectralNorm, denseMatrix, type RandomGenerator } from '../../runtime/reference.js';
import { usageError } from '../../compiler/errors.js';
import type { Mode } from '../../compiler/plan.js';
import type { Observation } from '../index.js';
import { concat, initialState, split, type LabInstance, type LabProblem } from './problem.js';
import { DENSE_REFERENCE_LIMIT, type Reference } from './fixed-point.js';
import { norm, unitVector } from './stats.js';

export type Measure = 'spectral' | 'directions';

export interface Point {
  readonly k: number;
  readonly error: number;
}

export interface CurseTrace {
  readonly K: number;
  readonly truncate: number;
  readonly measure: Measure;
  readonly directions: number;
  /** ‖x_k − x*‖ for k = 0..K. */
  readonly iterate: readonly Point[];
  /** ‖ẋ_t^k − J*‖ for k = t..K (forward or both). */
  readonly forward?: readonly Point[];
  /** ‖X̄_k − J*‖ for k = t..K (reverse or both), ascending in k. */
  readonly reverse?: readonly Point[];
  /**
   * The scales for one normalisation of both panels: the mean of ‖J*v‖ over the forward
   * directions (‖J*‖₂ for full Jacobians), which is the forward error at k = t (ẋ_t^t = 0), and
   * the mean of ‖uᵀJ*‖ over the reverse directions (‖J*‖₂), the reverse error at k = K.
   * error / scale is the relative error (mean error over mean norm, so a bound on the mean
   * error divided by the same scale still bounds it).
   */
  readonly forwardScale?: number;
  readonly reverseScale?: number;
  /** Where the forward error peaks, and where the reverse error is least. */
  readonly kMax?: number;
  readonly kMin?: number;
}

export interface TraceOptions {
  readonly K: number;
  readonly truncate?: number;
  readonly mode?: Mode;
  readonly measure?: Measure;
  /** Random directions for the 'directions' measure (default 3). */
  readonly directions?: number;
  readonly seed?: number;
}

/** Full Jacobians are used while the state × parameter count stays below this. */
export const SPECTRAL_LIMIT = 10_000;


/** What the forward and the reverse sweeps share; `onState` records ‖x_k − x*‖ the first time k is seen. */
interface Sweeps {
  readonly problem: LabProblem;
  readonly ref: Reference;
  readonly inst: LabInstance;
  readonly K: number;
  readonly t: number;
  readonly measure: Measure;
  readonly count: number;
  readonly rng: RandomGenerator;
  readonly onState: (o: Observation) => void;
}

export async function traceCurse(problem: LabProblem, ref: Reference, options: TraceOptions): Promise<CurseTrace> {
  const { K } = options;
  const t = options.truncate ?? 0;
  const mode = options.mode ?? 'both';
  const measure = options.measure ?? (problem.stateSize * problem.paramSize <= SPECTRAL_LIMIT && ref.J ? 'spectral' : 'directions');
  if (measure === 'spectral' && !ref.J) throw usageError(`--measure spectral needs the dense J*, which is not formed above ${DENSE_REFERENCE_LIMIT} entries (state × params = ${problem.stateSize * problem.paramSize}): use --measure directions`);
  const count = measure === 'spectral' ? 1 : (options.directions ?? 3);
  const inst = await problem.instance(K, t, mode);
  const xStar = ref.fixedPoint.vector;

  const iterate: Point[] = [];
  const stateError = (state: Record<string, Float64Array>) => {
    let s = 0;
    let at = 0;
    for (const c of problem.model.state) for (const v of state[c.name]!) s += (v - xStar[at++]!) ** 2;
    return Math.sqrt(s);
  };
  const onState = (o: Observation) => {
    if ((o.phase === 'idle' || o.phase === 'forward' || o.phase === 'record') && iterate.length === o.k) iterate.push({ k: o.k, error: stateError(o.state) });
  };
  iterate.push({ k: 0, error: 0 }); // set below, once x0 is known

  const sweeps: Sweeps = { problem, ref, inst, K, t, measure, count, rng: randomGenerator(options.seed ?? 1), onState };
  const forward = mode !== 'reverse' ? forwardErrors(sweeps) : undefined;
  const reverse = mode !== 'forward' ? reverseErrors(sweeps) : undefined;

  iterate[0] = { k: 0, error: stateError(initialState(problem)) };
  const argBy = (pts: readonly Point[], better: (a: number, b: number) => boolean) => pts.reduce((best, p) => (better(p.error, best.error) ? p : best), pts[0]!).k;
  return {
    K, truncate: t, measure, directions: count, iterate, forward, reverse,
    forwardScale: forward?.[0]!.error, reverseScale: reverse?.[reverse.length - 1]!.error,
    kMax: forward ? argBy(forward, (a, b) => a > b) : undefined,
    kMin: reverse ? argBy(reverse, (a, b) => a < b) : undefined,
  };
}

/** ‖ẋ_t^k − J*‖ for k = t..K, from the forward sweep (full Jacobians or JVPs), averaged over the directions. */
function forwardErrors(s: Sweeps): Point[] {
  const { problem, ref, inst, t } = s;
  const { model, inputs, dims } = problem;
  const S = problem.stateSize;
  const P = problem.paramSize;
  const J = ref.J!; // read only by the spectral measure, which needs it
  const sums = new Float64Array(s.K - t + 1);
  for (let r = 0; r < s.count; r++) {
    if (s.measure === 'spectral') {
      sums[0]! += ref.jNorm;
      inst.jacobianForward!(inputs as never, problem.x0 as never, (o) => {
        s.onState(o);
        if (o.phase !== 'forward') return;
        const diff = new Float64Array(S * P);
        let at = 0;
        for (const c of model.state) {
          const tan = o.tangent[c.name]!;
          const size = tan.length / P;
          for (let d = 0; d < P; d++) for (let i = 0; i < size; i++) diff[(at + i) * P + d] = tan[d * size + i]! - J.data[(at + i) * P + d]!;
          at += size;
        }
        sums[o.k - t]! += spectralNorm(denseMatrix(S, P, diff));
      });
    } else {
      const v = unitVector(s.rng, P);
      const jv = ref.jv(v);
      sums[0]! += norm(jv);
      inst.jvp!(inputs as never, split(v, model.params, dims) as never, problem.x0 as never, (o) => {
        s.onState(o);
        if (o.phase !== 'forward') return;
        const tan = concat(o.tangent, model.state);
        sums[o.k - t]! += norm(tan.map((x, i) => x - jv[i]!));
      });
    }
  }
  return Array.from(sums, (x, i) => ({ k: t + i, error: x / s.count }));
}

/** ‖X̄_k − J*‖ for k = t..K (ascending), from the backward sweep (full Jacobians or VJPs), averaged over the directions. */
function reverseErrors(s: Sweeps): Point[] {
  const { problem, ref, inst, K, t } = s;
  const { model, inputs, dims } = problem;
  const S = problem.stateSize;
  const P = problem.paramSize;
  const J = ref.J!; // read only by the spectral measure, which needs it
  const sums = new Float64Array(K - t + 1);
  for (let r = 0; r < s.count; r++) {
    if (s.measure === 'spectral') {
      sums[K - t]! += ref.jNorm;
      inst.jacobianReverse!(inputs as never, problem.x0 as never, (o) => {
        s.onState(o);
        if (o.phase !== 'backward') return;
        const diff = new Float64Array(S * P);
        let at = 0;
        for (const p of model.params) {
          const g = o.gradient[p.name]!;
          const size = g.length / S;
          for (let row = 0; row < S; row++) for (let j = 0; j < size; j++) diff[row * P + at + j] = g[row * size + j]! - J.data[row * P + at + j]!;
          at += size;
        }
        sums[o.k - t]! += spectralNorm(denseMatrix(S, P, diff));
      });
    } else {
      const u = unitVector(s.rng, S);
      const uJ = ref.uJ(u);
      sums[K - t]! += norm(uJ);
      inst.vjp!(inputs as never, split(u, model.state, dims) as never, problem.x0 as never, (o) => {
        s.onState(o);
        if (o.phase !== 'backward') return;
        const g = concat(o.gradient, model.params);
        sums[o.k - t]! += norm(g.map((x, i) => x - uJ[i]!));
      });
    }
  }
  return Array.from(sums, (x, i) => ({ k: t + i, error: x / s.count }));
}

export { vecMat } from './fixed-point.js';
