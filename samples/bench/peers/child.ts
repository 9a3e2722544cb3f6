// One peer × one workload, in its own process (so its peak resident set is its own):
//   node dist/samples/bench/peers/child.js <peer> <workload dir> <result file>
// Loads the peer, reads the workload's data, makes one call and checks it against phic's
// result (phic itself writes that reference), then times it (protocol.ts) and writes a
// ChildResult as JSON. Python peers follow the same steps in torch_peer.py.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Outputs } from './handwritten.js';
import type { NodePeer, Prepared } from './peer.js';
import { relDiff, timeCalls, TOLERANCE, type ChildResult, type PeerId } from './protocol.js';
import { readF64, readWorkload, writeF64 } from './workloads.js';

async function loadPeer(peer: PeerId): Promise<NodePeer> {
  if (peer === 'phic') return (await import('./phic-peer.js')).phicPeer;
  if (peer === 'phic1t') return (await import('./phic-peer.js')).phicOneThreadPeer;
  if (peer === 'phicjs') return (await import('./phic-peer.js')).phicJsPeer;
  if (peer === 'phicfma') return (await import('./phic-peer.js')).phicRelaxedPeer;
  if (peer === 'handwritten') {
    const { handwritten } = await import('./handwritten.js');
    return {
      version: 'plain Float64Array loops (samples/bench/peers/handwritten.ts, P5 via samples/bench/handwritten-ridge.ts)',
      setup: async (meta, arrays) => ({ call: handwritten(meta, arrays), precision: 'float64', method: 'derivative recursions written by hand' }),
    };
  }
  if (peer === 'tfjs') return (await import('./tfjs-peer.js')).loadTfjs();
  if (peer === 'jaxjs') return (await import('./jaxjs-peer.js')).loadJaxjs();
  throw new Error(`unknown Node peer ${peer}`);
}

function tolerance(peer: PeerId, prepared: Prepared): number {
  if (peer === 'handwritten' || peer === 'phicjs' || peer === 'phic1t' || peer === 'phicfma') return TOLERANCE.handwritten;
  if (prepared.tolerance) return prepared.tolerance.value;
  return prepared.precision === 'float32' ? TOLERANCE.float32 : TOLERANCE.float64;
}

async function main(): Promise<void> {
  const [peerArg, dir, outFile] = process.argv.slice(2);
  if (!peerArg || !dir || !outFile) throw new Error('usage: child.js <peer> <workload dir> <result file>');
  const peer = peerArg as PeerId;
  const result: ChildResult = { peer, workload: dir, status: 'failed' };
  const write = () => {
    result.memory = { ...(result.memory ?? { baselineRss: 0 }), maxRss: process.resourceUsage().maxRSS * 1024 };
    writeFileSync(outFile, JSON.stringify(result, null, 1));
  };
  try {
    const lib = await loadPeer(peer);
    result.version = lib.version;
    const baselineRss = process.memoryUsage().rss;
    result.memory = { baselineRss, maxRss: 0 };
    const { meta, arrays } = readWorkload(dir);
    result.workload = meta.id;
    const abBefore = process.memoryUsage().arrayBuffers;
    const prepared = await lib.setup(meta, arrays, dir);
    result.memory.setupArrayBuffers = process.memoryUsage().arrayBuffers - abBefore;
    result.precision = prepared.precision;
    result.method = prepared.method;
    if (prepared.extra) {
      const { compileMs, phicBuffers, ...rest } = prepared.extra as { compileMs?: ChildResult['compileMs']; phicBuffers?: ChildResult['phicBuffers'] };
      if (compileMs) result.compileMs = compileMs;
      if (phicBuffers) result.phicBuffers = phicBuffers;
      result.extra = rest;
    }
    const first: Outputs = prepared.call();
    const state = first.state ?? prepared.checkState?.();
    if (peer === 'phic') {
      writeF64(join(dir, 'ref-state.f64'), state!);
      writeF64(join(dir, 'ref-deriv.f64'), first.deriv);
      writeFileSync(join(dir, 'ref-loss.json'), JSON.stringify({ loss: first.loss ?? null }));
    } else {
      if (!existsSync(join(dir, 'ref-deriv.f64'))) throw new Error('no phic reference to check against (the phic child failed)');
      const refState = readF64(join(dir, 'ref-state.f64'));
      const refDeriv = readF64(join(dir, 'ref-deriv.f64'));
      const tol = tolerance(peer, prepared);
      let stateDiff: number;
      if (state) stateDiff = relDiff(state, refState);
      else {
        const refLoss = (JSON.parse(readFileSync(join(dir, 'ref-loss.json'), 'utf8')) as { loss: number }).loss;
        stateDiff = relDiff([first.loss ?? Number.NaN], [refLoss]);
      }
      const derivDiff = relDiff(first.deriv, refDeriv);
      const passed = stateDiff < tol && derivDiff < tol;
      result.check = { state: stateDiff, derivative: derivDiff, tolerance: tol, passed, against: 'phic', ...(prepared.tolerance ? { toleranceWhy: prepared.tolerance.why } : {}) };
      if (!passed) {
        result.status = 'disagrees';
        result.message = `${peer} disagrees with phic on ${meta.id}: relative difference x_K ${stateDiff.toExponential(2)}, derivative ${derivDiff.toExponential(2)} (tolerance ${tol})`;
        write();
        return;
      }
    }
    result.timing = timeCalls(() => { prepared.call(); });
    result.status = 'ok';
  } catch (e) {
    result.status = 'failed';
    result.message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  }
  write();
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`child failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
