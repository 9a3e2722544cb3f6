// Binomial checkpointing for reverse mode (`--checkpoints c`), written once as JavaScript source
// text that a checkpointed CPU module declares at its top level. Instead of a tape of K − T
// states, c slots hold states, and the backward sweep recomputes the others from the nearest
// slot, splitting each stretch where Griewank's binomial rule says (A. Griewank, "Achieving
// logarithmic growth of temporal and spatial complexity in reverse automatic differentiation",
// 1992; Griewank & Walther, "Algorithm 799: revolve", 2000). Reversing l steps with the start
// and s more slots then takes the fewest forward steps there are:
//   r·l − β(s + 2, r − 1),   β(s, r) = C(s + r, s),   r the least with β(s + 1, r) ≥ l,
// on top of the first sweep, from which the first checkpoints are kept. Tests evaluate this text.
// Written once, typed (REVOLVE_RUNTIME_TS, what `--emit ts` prints); `npm run runtimes` writes
// its JavaScript twin, REVOLVE_RUNTIME, into runtime-revolve.generated.ts.

export { REVOLVE_RUNTIME } from './runtime-revolve.generated.js';

export const REVOLVE_RUNTIME_TS = `/** β(s, r) = C(s + r, s), capped at cap (the counts only need comparing with a number of steps). */
function binomialCount(s: number, r: number, cap: number): number {
  if (r < 0) return 0;
  let c = 1;
  for (let i = 1; i <= s; i++) {
    c = (c * (r + i)) / i;
    if (c > cap) return cap + 1;
  }
  return Math.round(c);
}

/** Where to put the next checkpoint when reversing l steps from a slot with s free slots above it. */
function binomialSplit(l: number, s: number): number {
  let r = 0;
  while (binomialCount(s + 1, r, l) < l) r++;
  const m = Math.max(1, binomialCount(s + 1, r - 2, l), l - binomialCount(s, r, l));
  return Math.min(l - 1, m);
}

/** The steps whose states the first sweep from \`from\` keeps in slots 0, 1, …: what the reversal stores first. */
function checkpointChain(from: number, to: number, slots: number): number[] {
  const chain: number[] = [from];
  for (let slot = 0; slot + 1 < slots; slot++) {
    const a = chain[slot]!;
    if (to - a <= 1) break;
    chain.push(a + binomialSplit(to - a, slots - 1 - slot));
  }
  return chain;
}

/**
 * Reverses steps to−1 … from with \`slots\` slots, slot i holding the state of step stored[i]
 * (the first sweep's chain). load(slot) puts a slot's state in the state buffers, save(slot)
 * keeps them, advance(k) runs step k (x_k → x_{k+1}), adjoint(k) runs the adjoint of step k
 * with x_k in the state buffers. Returns the forward steps it ran.
 */
function revolve(from: number, to: number, slots: number, stored: number[], load: (slot: number) => void, save: (slot: number) => void, advance: (k: number) => void, adjoint: (k: number) => void): number {
  let steps = 0;
  const forward = (a: number, b: number): void => {
    for (let j = a; j < b; j++) advance(j);
    steps += b - a;
  };
  const run = (a: number, b: number, slot: number): void => {
    const free = slots - 1 - slot;
    if (b - a === 1) {
      load(slot);
      adjoint(a);
      return;
    }
    if (free === 0) {
      for (let k = b - 1; k >= a; k--) {
        load(slot);
        forward(a, k);
        adjoint(k);
      }
      return;
    }
    const m = binomialSplit(b - a, free);
    // the first sweep may have kept this state already
    if (stored[slot + 1] !== a + m) {
      load(slot);
      forward(a, a + m);
      save(slot + 1);
      stored[slot + 1] = a + m;
    }
    run(a + m, b, slot + 1);
    stored[slot + 1] = -1;
    run(a, a + m, slot);
  };
  if (to > from) run(from, to, 0);
  return steps;
}`;
