// Peers that come in more than one thread setting (phic default / { threads: 1 }, PyTorch 2 / 1
// threads, JAX's XLA CPU client default / 1 thread): the headline of docs/peers.md compares each
// peer at its best setting per workload (the faster median), and says which setting that was.

import type { ChildResult, PeerId } from './protocol.js';

export interface Family {
  id: string;
  name: string;
  /** The peer ids of its settings, the default first. */
  settings: readonly PeerId[];
}

export const FAMILIES: readonly Family[] = [
  { id: 'phic', name: 'phic', settings: ['phic', 'phic1t'] },
  { id: 'phicfma', name: 'phic, relaxed SIMD', settings: ['phicfma'] },
  { id: 'phicjs', name: 'phic, JS loops', settings: ['phicjs'] },
  { id: 'handwritten', name: 'hand-written', settings: ['handwritten'] },
  { id: 'pytorch', name: 'PyTorch', settings: ['pytorch', 'pytorch1t'] },
  { id: 'jax', name: 'JAX (jit)', settings: ['jax', 'jax1t'] },
  { id: 'jaxata', name: 'JAX, AᵀA by hand', settings: ['jaxata', 'jaxata1t'] },
  { id: 'jaxjs', name: 'jax-js', settings: ['jaxjs'] },
  { id: 'tfjs', name: 'TF.js (wasm)', settings: ['tfjs'] },
];

/** The thread setting of a peer id, as the headline names it. */
export const SETTING: Record<PeerId, string> = {
  phic: 'default threads',
  phic1t: '1 thread',
  phicfma: 'default threads',
  phicjs: '1 thread',
  handwritten: '1 thread',
  pytorch: '2 threads',
  pytorch1t: '1 thread',
  jax: 'XLA default threads',
  jax1t: '1 thread',
  jaxata: 'XLA default threads',
  jaxata1t: '1 thread',
  jaxjs: '1 thread',
  tfjs: '1 thread',
};

export interface Best {
  peer: PeerId;
  medianMs: number;
  /** The settings that ran (ok) and were compared. */
  compared: number;
}

/** The family's fastest setting on the workload (by median), among the settings that ran and agreed. */
export function bestSetting(results: readonly ChildResult[], workload: string, family: Family): Best | undefined {
  let best: Best | undefined;
  let compared = 0;
  for (const peer of family.settings) {
    const r = results.find((x) => x.workload === workload && x.peer === peer && x.status === 'ok');
    if (!r?.timing) continue;
    compared++;
    if (!best || r.timing.medianMs < best.medianMs) best = { peer, medianMs: r.timing.medianMs, compared: 0 };
  }
  return best && { ...best, compared };
}

/** The families with at least one of their settings among the peers. */
export const familiesOf = (peers: readonly PeerId[]): Family[] => FAMILIES.filter((f) => f.settings.some((p) => peers.includes(p)));
