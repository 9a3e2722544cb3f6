// The name-hygiene property: every name a spec may use works in every role (dim, state, param,
// data, constant, helper, outer data) and gives bit-identical results to the same map under
// other names. The names tried are every identifier that appears in generated modules (all
// modes, baked and unbaked dims, both kernel paths, the GPU module), and every one- and
// two-letter name. Names are placed many to a spec, each role in turn, beside a fixture map.

import { describe, expect, it } from 'vitest';
import { ROLES, candidateNames, hygieneDims, hygieneSpec, runAll, type Placed } from './helpers/hygiene.js';

const candidates = await candidateNames();

/** Configurations the placements cycle through: dims baked or bound at create(), SIMD kernels or plain loops. */
const CONFIGS = [
  { bake: false, kernels: 'wasm' as const },
  { bake: true, kernels: 'wasm' as const },
  { bake: false, kernels: 'js' as const },
  { bake: true, kernels: 'js' as const },
  // the implicit method (GMRES, a warm start) and checkpointed reverse mode: their own generated names
  { bake: false, kernels: 'wasm' as const, method: 'implicit' as const, truncate: 0, warmStart: true },
  { bake: true, kernels: 'js' as const, checkpoints: 2 },
  // Φ linear in the state and large dims: the VJP's fused reverse sweep and its paired kernel
  { bake: true, kernels: 'wasm' as const, fused: true },
];
/** Names per spec: the tangent step grows with the names and the Jacobians run it once per parameter, so a spec's cost grows with the square of this. */
const CHUNK = 100;

/** Reference results by layout (chunk size, role shift, configuration): the same for every chunk. */
const references = new Map<string, Promise<string>>();

describe('name hygiene', () => {
  it('the candidates include the generated code\'s own identifiers and every short name', () => {
    for (const n of ['d', 'i', 'j', 'k', 'step', 'fail', 'toFlat', 'create', 'K', 'T', 'meta', 'layout', 'x_dot', 'theta_bar', 'count', 'inputs', 'tid', 'acc', 'kernels', 'threads', 'ready', 'whenReady', 'implicitSolve', 'symmetryCheck', 'revolve', 'binomialSplit', 'chainSteps', 'rowBlocks', 'columnBlocks', 'tangentInvariants', 'dh', 'sparse', 'checked', 'due', 'failed', 'Qx0_checked', 'sweeps', 'vjpFused', 'fusedSweep', 'fusedGradient', 'reverseStep', 'paramAdjoint', 'Qx0_bar_tape', 'PAIRED_KERNELS', 'result']) expect(candidates).toContain(n);
    expect(candidates.length).toBeGreaterThan(3300);
  });

  const chunks: string[][] = [];
  for (let at = 0; at < candidates.length; at += CHUNK) chunks.push(candidates.slice(at, at + CHUNK));
  const cases = chunks.flatMap((chunk, c) => ROLES.map((_, offset) => ({ chunk, c, offset, configIndex: c % CONFIGS.length, label: `${chunk[0]} .. ${chunk.at(-1)}` })));

  it.each(cases)('$label, roles shifted by $offset: the results of the reference names, bit for bit', async ({ chunk, offset, configIndex }) => {
    const config = CONFIGS[configIndex]!;
    const placed: Placed[] = chunk.map((name, i) => ({ name, role: ROLES[(i + offset) % ROLES.length]! }));
    const reference: Placed[] = placed.map((p, i) => ({ name: `Qr${i}`, role: p.role }));
    const key = `${chunk.length}:${offset}:${configIndex}`;
    const fused = 'fused' in config;
    if (!references.has(key)) references.set(key, runAll(hygieneSpec(reference, fused), hygieneDims(reference, fused), config));
    const got = await runAll(hygieneSpec(placed, fused), hygieneDims(placed, fused), config);
    const want = await references.get(key)!;
    expect(got.length).toBeGreaterThan(1000);
    // one comparison of the whole byte string: a failure names the chunk, the shift and the configuration
    expect(got === want, `names ${chunk.join(' ')} with roles shifted by ${offset}, ${JSON.stringify(config)}`).toBe(true);
  });
});
