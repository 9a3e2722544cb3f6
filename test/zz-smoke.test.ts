import { it } from 'vitest';
import { buildModel } from '../compiler/model.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { printGraph } from '../compiler/ir/print.js';
it('smoke', () => {
  const m = buildModel(inMemorySource({
    name: 'ridge', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' }, constants: { alpha: 0.1 },
    update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" },
  }));
  console.log(printGraph(m.state.map((s, i) => ({ label: s.name, node: m.update[i]! }))));
  const h = buildModel(inMemorySource({
    name: 'hb', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' },
    objective: '0.5*sum((A*x - b).^2) + 0.5*sum(theta .* x.^2)', method: { name: 'nesterov', step: 0.1, momentum: 0.5 },
  }));
  console.log(printGraph(h.state.map((s, i) => ({ label: s.name, node: h.update[i]! }))));
});
