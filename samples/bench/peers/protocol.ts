// What a child process (one peer × one workload) reports, the timing rule every peer follows
// (torch_peer.py implements the same rule), and the agreement check made before timing.

import { median } from '../../../src/lab/stats.js';

/**
 * pytorch: 2 threads; pytorch1t: the same on 1 thread. jax: JAX with jit on XLA's default
 * threads, jax1t on one; jaxata(1t): the same with AᵀA and Aᵀb formed by hand outside the loop.
 */
export type PeerId = 'phic' | 'phic1t' | 'phicfma' | 'phicjs' | 'handwritten' | 'pytorch' | 'pytorch1t' | 'jax' | 'jax1t' | 'jaxata' | 'jaxata1t' | 'jaxjs' | 'tfjs';

export interface Timing {
  /** Median wall time of one call over the timed repetitions, ms. */
  medianMs: number;
  minMs: number;
  maxMs: number;
  reps: number;
  /** Calls made before the timed ones (the checked call included). */
  warmupCalls: number;
  /** With rounds (rounds.ts): each round's median, in round order; medianMs is their median. */
  roundMediansMs?: number[];
}

export interface Check {
  /** Relative difference (‖a − b‖₂ / max(‖a‖₂, ‖b‖₂)) of x_K, or of ½‖x_K‖² where the peer gives only the loss. */
  state: number;
  derivative: number;
  tolerance: number;
  passed: boolean;
  against: string;
  /** Why the tolerance is looser than the peer's precision gives. */
  toleranceWhy?: string;
}

export interface ChildResult {
  peer: PeerId;
  workload: string;
  status: 'ok' | 'disagrees' | 'failed' | 'skipped';
  message?: string;
  version?: string;
  /** 'float64' or 'float32', and how the derivative was computed. */
  precision?: string;
  method?: string;
  check?: Check;
  timing?: Timing;
  memory?: {
    /** Resident set after the runtime and the peer library are loaded, before any data (bytes). */
    baselineRss: number;
    /** Peak resident set of the whole child process (bytes). */
    maxRss: number;
    /** Node only: bytes of ArrayBuffers held after setup (phic: the module's buffers). */
    setupArrayBuffers?: number;
  };
  /** JAX: trace + XLA compile of the jitted call (.lower().compile()), ms, apart from the timed calls. */
  peerCompileMs?: number;
  /** phic only: compile() wall time, cold (first in the process) and warm (second), ms. */
  compileMs?: { cold: number; warm: number };
  /** phic only: bytes allocated by create() (ArrayBuffer delta), and the tape part expected. */
  phicBuffers?: { createBytes: number; expectedTapeBytes: number; dataBytes: number };
  extra?: Record<string, unknown>;
}

/** ‖a − b‖₂ / max(‖a‖₂, ‖b‖₂, tiny). */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let d = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    d += (x - y) * (x - y);
    na += x * x;
    nb += y * y;
  }
  const r = Math.sqrt(d) / Math.max(Math.sqrt(na), Math.sqrt(nb), 1e-300);
  return Number.isNaN(r) ? Number.POSITIVE_INFINITY : r;
}

/** Tolerances of the agreement check, relative to phic. */
export const TOLERANCE = { handwritten: 1e-10, float64: 1e-9, float32: 2e-3 } as const;

/**
 * The timing rule (the same in torch_peer.py): after the checked call, warm up until at
 * least 2 more calls and 1 s have passed (at most 50 calls; only 1 more call when it takes over 3 s), then
 * time reps = ceil(BUDGET_S / last warm-up call), clamped to [MIN_REPS, MAX_REPS], and take the median.
 */
export const TIMING_RULE = { budgetS: 5, minReps: 5, maxReps: 60, slowCallS: 2, slowMinReps: 3 } as const;

export function timeCalls(call: () => void): Timing {
  let warmupCalls = 1; // the checked call
  let spent = 0;
  let last = 0;
  const started = performance.now();
  do {
    const t0 = performance.now();
    call();
    last = (performance.now() - t0) / 1e3;
    warmupCalls++;
    spent = (performance.now() - started) / 1e3;
  } while (warmupCalls < 50 && ((warmupCalls < 3 && spent < 3) || spent < 1));
  let reps = Math.ceil(TIMING_RULE.budgetS / Math.max(last, 1e-6));
  reps = Math.min(TIMING_RULE.maxReps, Math.max(last > TIMING_RULE.slowCallS ? TIMING_RULE.slowMinReps : TIMING_RULE.minReps, reps));
  const samples: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    call();
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  return { medianMs: median(samples), minMs: samples[0]!, maxMs: samples[samples.length - 1]!, reps, warmupCalls };
}
