import { it, expect } from 'vitest';
import { compile } from '../src/index.js';
import { compileSpec } from '../compiler/pipeline.js';
import { inMemorySource } from '../compiler/spec/source.js';
const ridge = {
  name: 'ridge', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' }, constants: { alpha: 0.1 },
  update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" },
};
it('smoke', async () => {
  const r = compileSpec(inMemorySource(ridge), { mode: 'both', K: 20, truncate: 5, dims: { m: 4, n: 3 } });
  console.log(r.moduleCode);
  const c = await compile(ridge, { mode: 'both', K: 20, truncate: 5, dims: { m: 4, n: 3 } });
  const inst = c.create();
  const inputs = { theta: [0.5, 0.2, 0.1], A: [[1, 0.2, 0.3], [0.1, 1, 0.2], [0.3, 0.1, 1], [0.2, 0.2, 0.2]], b: [1, 2, 3, 4] };
  const f = inst.jacobianForward!(inputs);
  const rv = inst.jacobianReverse!(inputs);
  console.log(f.jacobian.x!.theta, rv.jacobian.x!.theta);
  expect(Array.from(f.jacobian.x!.theta!.data)).toEqual(Array.from(rv.jacobian.x!.theta!.data).map((v, i) => expect.closeTo(v, 12)));
});
