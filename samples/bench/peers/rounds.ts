// Rounds of the peer benchmark: each child (one peer × one workload) runs again in every round,
// the rounds interleaving the peers of a workload, and a peer's time is the median of its
// rounds' medians. Why: on a shared virtual machine the speed of the whole machine changes in
// phases of seconds to minutes (measured: the same phic module and data, one thread, 52 ms in
// one process and 85–91 ms in the next few, then 52 again), so one child per peer can land a
// slow phase on one peer and not on its rival. Interleaved rounds spread the phases over all.

import type { ChildResult } from './protocol.js';
import { median } from '../../../src/lab/stats.js';

/**
 * One result from the rounds of one peer on one workload. All rounds ok: the first round's
 * result (its check, versions, memory: peak of all) with the median of the round medians, the
 * fastest and slowest call of any round, and the round medians themselves. Any round not ok:
 * that round's result, as it is (a failure is not hidden by other rounds that passed).
 */
export function mergeRounds(rounds: readonly ChildResult[]): ChildResult {
  if (rounds.length === 0) throw new Error('mergeRounds: no rounds');
  const bad = rounds.find((r) => r.status !== 'ok' || !r.timing);
  if (bad || rounds.length === 1) return bad ?? rounds[0]!;
  const first = rounds[0]!;
  const timings = rounds.map((r) => r.timing!);
  const roundMediansMs = timings.map((t) => t.medianMs);
  const maxRss = Math.max(...rounds.map((r) => r.memory?.maxRss ?? 0));
  return {
    ...first,
    timing: {
      medianMs: median(roundMediansMs),
      minMs: Math.min(...timings.map((t) => t.minMs)),
      maxMs: Math.max(...timings.map((t) => t.maxMs)),
      reps: timings.reduce((s, t) => s + t.reps, 0),
      warmupCalls: timings.reduce((s, t) => s + t.warmupCalls, 0),
      roundMediansMs,
    },
    ...(first.memory ? { memory: { ...first.memory, maxRss } } : {}),
  };
}
