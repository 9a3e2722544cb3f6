// The name-hygiene property on the GPU module (gpu.js, webasm backend here): every identifier
// that appears in generated GPU modules (host code and kernel sources) and every one-letter
// name, in every role, gives the results of the reference names bit for bit. The other names
// run through the CPU module (name-hygiene.test.ts): both modules take their names from the
// same scopes, and the GPU host code holds user names only as strings.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGpu, type GpuInstance } from '../runtime/gpu.js';
import { ROLES, candidateNames, hygieneDims, hygieneSpec, runAll, type Placed } from './helpers/hygiene.js';

// Names of letters only: the host runtime's and the kernel sources' own (tid, acc, thread,
// constants, ...) and the one-letter names. Derived names (x_dot, t12, kernel ids) are the
// plan's, shared with the CPU module and tried there in every role.
const candidates = (await candidateNames(true)).filter((n) => /^[A-Za-z]+$/.test(n));
const CHUNK = 60;

let gpu: GpuInstance;
beforeAll(async () => {
  gpu = await createGpu('webasm');
}, 60_000);
afterAll(() => gpu?.destroy());

const references = new Map<string, Promise<string>>();

describe('name hygiene on the GPU module', () => {
  it('the candidates include the kernel sources\' and the host runtime\'s names', () => {
    for (const n of ['tid', 'acc', 'd', 'r', 'i', 'thread', 'constants', 'D', 'BAKED', 'STATE', 'instantiate', 'kernels', 'gpu']) expect(candidates).toContain(n);
  });

  const chunks: string[][] = [];
  for (let at = 0; at < candidates.length; at += CHUNK) chunks.push(candidates.slice(at, at + CHUNK));
  const cases = chunks.flatMap((chunk, c) => ROLES.map((_, offset) => ({ chunk, offset, bake: c % 2 === 1, label: `${chunk[0]} .. ${chunk.at(-1)}` })));

  it.each(cases)('$label, roles shifted by $offset: the results of the reference names, bit for bit', async ({ chunk, offset, bake }) => {
    const placed: Placed[] = chunk.map((name, i) => ({ name, role: ROLES[(i + offset) % ROLES.length]! }));
    const reference: Placed[] = placed.map((p, i) => ({ name: `Qr${i}`, role: p.role }));
    const key = `${chunk.length}:${offset}:${bake}`;
    if (!references.has(key)) references.set(key, runAll(hygieneSpec(reference), hygieneDims(reference), { bake, gpu }));
    const want = await references.get(key)!;
    const got = await runAll(hygieneSpec(placed), hygieneDims(placed), { bake, gpu });
    expect(got.length).toBeGreaterThan(1000);
    expect(got === want, `names ${chunk.join(' ')} with roles shifted by ${offset}, dims ${bake ? 'baked' : 'at create()'}`).toBe(true);
  });
});
