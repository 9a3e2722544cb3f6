// What a Node peer provides to ./child.ts: load the library once, then set up one workload and
// return the call to time. A call computes the whole thing (x_K and the derivative) and returns
// the results on the host, as plain numbers.

import type { Outputs } from './handwritten.js';
import type { Arrays, WorkloadMeta } from './workloads.js';

export type { Outputs };

export interface Prepared {
  call: () => Outputs;
  /** x_K, where call() does not return it (computed once, for the check only). */
  checkState?: () => ArrayLike<number>;
  precision: 'float64' | 'float32';
  method: string;
  /** A looser agreement tolerance than the precision's, with the reason. */
  tolerance?: { value: number; why: string };
  /** Bytes of ArrayBuffers the setup allocated (phic: create()). */
  extra?: Record<string, unknown>;
}

export interface NodePeer {
  version: string;
  /** dir: the workload's folder (phic reads its generated module there). */
  setup(meta: WorkloadMeta, arrays: Arrays, dir: string): Promise<Prepared>;
}
