// Piecewise ops: sign, the elementwise maximum and minimum, the comparisons and the
// conditional. Each is smooth away from its kinks and there gets the derivative of the piece
// it is on; at a kink the convention is JAX's: sign' = 0, maximum and minimum split a tie
// evenly (½ to each argument, as lax.max), comparisons have derivative 0, and a conditional
// passes the derivative to the branch it takes only. Unrolled derivatives are those of the
// piecewise-smooth map the generated code actually runs.

import type { Builder } from '../ir/builder.js';
import type { Node } from '../ir/nodes.js';
import { byMath, elementwise, one } from './elementwise.js';
import { compare, conditional } from './templates.js';

// sign is piecewise constant: its derivative is zero wherever it exists, and taken as zero at 0
elementwise('sign', { arity: 1, ...byMath('sign'), partials: () => [null], domain: 'nonzero', callable: true });

/**
 * ½(1 + s·sign(a − c)): with s = 1, 1 where a > c, 0 where a < c and ½ at a tie (s = −1: the
 * other way round). The share of the derivative an argument of maximum or minimum gets.
 */
const share = (b: Builder, a: Node, c: Node, s: 1 | -1): Node => {
  const sign = b.op('sign', b.sub(a, c));
  return b.mul(b.constant(0.5), s === 1 ? b.add(one(b), sign) : b.sub(one(b), sign));
};

// maximum(a, b): ∂/∂a = [a > b] + ½[a = b], ∂/∂b = [a < b] + ½[a = b]; maximum(z, 0) is a ReLU
elementwise('maximum', {
  arity: 2, ...byMath('max'), partials: (b, [x, y]) => [share(b, x!, y!, 1), share(b, x!, y!, -1)], domain: 'apart', callable: true,
});
// minimum(a, b): ∂/∂a = [a < b] + ½[a = b], ∂/∂b = [a > b] + ½[a = b]
elementwise('minimum', {
  arity: 2, ...byMath('min'), partials: (b, [x, y]) => [share(b, x!, y!, -1), share(b, x!, y!, 1)], domain: 'apart', callable: true,
});

// Comparisons give 1 or 0 (floats on the GPU, where GLSL has no number from a bool) and
// have derivative 0. They are exact, IEEE comparisons (mathjs' evaluate allows a tolerance).
const comparison = (name: string, operator: '<' | '>' | '<=' | '>=', scalar: (a: number, b: number) => number) =>
  elementwise(name, { arity: 2, scalar, partials: () => [null, null], domain: 'apart', js: compare(operator, '1', '0'), gpu: compare(operator, '1.0', '0.0') });
comparison('lt', '<', (a, b) => (a < b ? 1 : 0));
comparison('gt', '>', (a, b) => (a > b ? 1 : 0));
comparison('le', '<=', (a, b) => (a <= b ? 1 : 0));
comparison('ge', '>=', (a, b) => (a >= b ? 1 : 0));

// select(c, a, b) is the conditional c ? a : b, true where c ≠ 0: ∂/∂a = [c ≠ 0], ∂/∂b = [c = 0],
// and the condition has derivative 0 (a comparison already has; any other c is piecewise constant here).
elementwise('select', {
  arity: 3,
  scalar: (c, a, b) => (c !== 0 ? a : b),
  partials: (b, [c]) => [null, b.op('select', c!, one(b), b.constant(0)), b.op('select', c!, b.constant(0), one(b))],
  domain: 'condition',
  js: conditional('0'),
  gpu: conditional('0.0'),
});
