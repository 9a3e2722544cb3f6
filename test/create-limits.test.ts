// Sizes that cannot be allocated are refused by create() (and by calls that need more
// directions) before anything is allocated, with a data error that names the size; the
// maxBytes option moves the limit and is checked itself.

import { describe, expect, it } from 'vitest';
import { compile, type MapSpec } from '../src/index.js';

const ridge: MapSpec = {
  name: 'ridge',
  state: { x: 'n' },
  params: { theta: 'n' },
  data: { A: 'm,n', b: 'm' },
  constants: { alpha: 0.1 },
  update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" },
};

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as { name: string; category: string; message: string };
  }
  throw new Error('expected an error');
};

describe('create() refuses what cannot be allocated', () => {
  for (const kernels of ['wasm', 'js'] as const) {
    it(`a tape of K = 1e9 states on n = 2 (16 GB), dims at create(), kernels ${kernels}: a data error naming the bytes`, async () => {
      const map = await compile(ridge, { mode: 'reverse', K: 1_000_000_000, kernels });
      const e = refusal(() => map.create({ m: 3, n: 2 }));
      expect(e).toMatchObject({ name: 'PhicError', category: 'data' });
      expect(e.message).toContain('need 16000000');
      expect(e.message).toContain('K - T = 1000000000 states');
      expect(e.message).toContain('maxBytes');
    });
  }

  it('dims baked in: the same refusal at create()', async () => {
    const map = await compile(ridge, { mode: 'reverse', K: 1_000_000_000, dims: { m: 3, n: 2 } });
    expect(refusal(() => map.create())).toMatchObject({ category: 'data' });
  });

  it('huge dims: refused, not a RangeError', async () => {
    const map = await compile(ridge, { mode: 'forward', K: 3, kernels: 'js' });
    const e = refusal(() => map.create({ m: 100_000, n: 100_000 }));
    expect(e).toMatchObject({ name: 'PhicError', category: 'data' });
    expect(e.message).toMatch(/the buffers need \d+ bytes/);
  });

  it('a dim above 2^53 is refused', async () => {
    const map = await compile(ridge, { mode: 'forward', K: 3 });
    expect(refusal(() => map.create({ m: 3, n: 2 ** 53 + 2 }))).toMatchObject({ category: 'data', message: expect.stringContaining('up to 2^53') });
  });

  it('a full Jacobian whose per-direction buffers do not fit is refused at the call; maxBytes moves the limit', async () => {
    const map = await compile(ridge, { mode: 'both', K: 2, kernels: 'js' });
    const n = 2000;
    const small = map.create({ m: 2, n }, { maxBytes: 60 * 1024 * 1024 });
    const inputs = { A: new Float64Array(2 * n), b: [1, 2], theta: new Float64Array(n) };
    // n directions of two n-entry tangents: 2 · n² · 8 bytes = 64 MB, beyond a 60 MiB limit
    const e = refusal(() => small.jacobianForward!(inputs));
    expect(e).toMatchObject({ category: 'data', message: expect.stringContaining(`the buffers for ${n} directions need`) });
    // jvp needs one direction: it fits
    expect(small.jvp!(inputs, { theta: new Float64Array(n) }).tangent.x.length).toBe(n);
    const large = map.create({ m: 2, n }, { maxBytes: 1024 * 1024 * 1024 });
    expect(large.jacobianForward!(inputs).jacobian.x!.theta!.rows).toBe(n);
  });

  it.each([0, -1, 1.5, 2 ** 60, '8', null])('maxBytes %s is a usage error', async (maxBytes) => {
    const map = await compile(ridge, { mode: 'forward', K: 3, dims: { m: 3, n: 2 } });
    expect(refusal(() => map.create(undefined, { maxBytes } as never))).toMatchObject({ category: 'usage', message: expect.stringContaining('options.maxBytes') });
  });
});
