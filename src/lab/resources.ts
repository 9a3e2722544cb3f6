// What one compiled variant (K iterations, truncation index t) costs when it runs: the bytes its
// buffers hold after a jvp / vjp (bufferBytes of fresh forward- and reverse-mode instances: the
// reverse tape holds the K − t states it needs) and the median wall time of a few jvp and vjp calls
// along a fixed unit direction. Times are measurements of this machine, for reports only.

import { performance } from 'node:perf_hooks';
import { randomGenerator } from '../../runtime/reference.js';
import { split, type LabProblem } from './problem.js';
import { median, unitVector } from './stats.js';

export interface RunResources {
  /** bufferBytes() of the forward-mode (jvp) and of the reverse-mode (vjp) instance. */
  readonly forwardBytes: number;
  readonly reverseBytes: number;
  /** Median wall time of one jvp and of one vjp call, in milliseconds. */
  readonly jvpMs: number;
  readonly vjpMs: number;
  readonly calls: number;
}

export async function measureResources(problem: LabProblem, K: number, t: number, calls = 3): Promise<RunResources> {
  const { model, inputs, dims, x0 } = problem;
  // Fresh instances: the shared ones may hold buffers that other calls (full Jacobians) allocated.
  const fwd = await problem.freshInstance(K, t, 'forward');
  const rev = await problem.freshInstance(K, t, 'reverse');
  const rng = randomGenerator(7);
  const v = split(unitVector(rng, problem.paramSize), model.params, dims);
  const u = split(unitVector(rng, problem.stateSize), model.state, dims);
  const time = (f: () => void) => {
    f(); // warm-up: the first call pays for compilation by the JavaScript engine
    const ms: number[] = [];
    for (let i = 0; i < calls; i++) {
      const start = performance.now();
      f();
      ms.push(performance.now() - start);
    }
    return median(ms);
  };
  const jvpMs = time(() => fwd.jvp!(inputs as never, v as never, x0 as never));
  const vjpMs = time(() => rev.vjp!(inputs as never, u as never, x0 as never));
  // After the calls: what a jvp and a vjp needed, lazily allocated buffers included.
  return { forwardBytes: fwd.bufferBytes(), reverseBytes: rev.bufferBytes(), jvpMs, vjpMs, calls };
}
