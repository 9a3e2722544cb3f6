// The names a new user reported trouble with, each as it was found: a dim called d, i, j or k
// gave wrong derivatives with no error; a state, param or data named d gave a module that did
// not load; data named k gave a Jacobian full of null through `phic run`; data named like a
// dim, or like a driver's argument, broke loading or changed results; a step size called
// `step` was refused. Each now gives the results of the same map under other names, bit for
// bit. (The property test in name-hygiene.test.ts tries every name in every role.)

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, type MapSpec } from '../src/index.js';
import { cli, removeTempDirs, tempDir } from './helpers/cli.js';

afterAll(removeTempDirs);

/** The README's ridge map with its names replaced (dim n, state x, param theta, data A and b, constant alpha). */
function ridge(names: Partial<Record<'n' | 'x' | 'theta' | 'A' | 'b' | 'alpha', string>> = {}): MapSpec {
  const { n = 'n', x = 'x', theta = 'theta', A = 'A', b = 'b', alpha = 'alpha' } = names;
  return {
    name: 'ridge',
    state: { [x]: n },
    params: { [theta]: n },
    data: { [A]: `m,${n}`, [b]: 'm' },
    constants: { [alpha]: 0.1 },
    update: { [x]: `${x} - ${alpha} * (${A}' * (${A} * ${x} - ${b}) + ${theta} .* ${x})` },
  };
}
const A = [[1, 0.5], [0, 1], [0.2, 0.1]];

async function jacobians(names: Parameters<typeof ridge>[0], kernels: 'wasm' | 'js') {
  const n = names?.n ?? 'n';
  const map = (await compile(ridge(names), { mode: 'both', K: 50, kernels })).create({ m: 3, [n]: 2 });
  const inputs = { [names?.A ?? 'A']: A, [names?.b ?? 'b']: [1, 2, 3], [names?.theta ?? 'theta']: [0.1, 0.2] };
  const x = names?.x ?? 'x';
  const theta = names?.theta ?? 'theta';
  return [map.jacobianForward!(inputs).jacobian[x]![theta]!.data, map.jacobianReverse!(inputs).jacobian[x]![theta]!.data];
}

describe('names that broke the generated code', () => {
  for (const kernels of ['wasm', 'js'] as const) {
    it.each(['d', 'i', 'j', 'k', 'l', 's', 't', 'h'])(`a dim named %s gives the Jacobians of dim n, bit for bit (kernels ${kernels})`, async (dim) => {
      const [forward, reverse] = await jacobians({ n: dim }, kernels);
      const [forwardN, reverseN] = await jacobians({}, kernels);
      expect(Array.from(forward!)).toEqual(Array.from(forwardN!));
      expect(Array.from(reverse!)).toEqual(Array.from(reverseN!));
      // and forward = reverse, to rounding: the two modes agree
      forward!.forEach((v, i) => expect(v).toBeCloseTo(reverse![i]!, 13));
    });
  }

  it.each([
    ['a state named d', { x: 'd' }],
    ['a param named d', { theta: 'd' }],
    ['data named d', { A: 'd' }],
    ['data named like the dim (n)', { b: 'n' }],
    ['params named step, options, K and T', { theta: 'step', alpha: 'options', A: 'K', b: 'T' }],
    ['data named state, inputs, direction, cotangent', { x: 'state', theta: 'inputs', A: 'direction', b: 'cotangent' }],
    ['names count, from, at_x, value, index, rows', { x: 'count', theta: 'from', A: 'at_x', b: 'value', alpha: 'index', n: 'rows' }],
  ] as const)('%s: the module loads and gives the same numbers', async (_, names) => {
    const [forward, reverse] = await jacobians(names, 'wasm');
    const [forwardN, reverseN] = await jacobians({}, 'wasm');
    expect(Array.from(forward!)).toEqual(Array.from(forwardN!));
    expect(Array.from(reverse!)).toEqual(Array.from(reverseN!));
  });

  it('data named k: phic run --jacobian prints the numbers of data named b', async () => {
    const dir = tempDir();
    const run = async (b: string) => {
      const spec = join(dir, `${b}.json`);
      const data = join(dir, `${b}-data.json`);
      writeFileSync(spec, JSON.stringify(ridge({ b })));
      writeFileSync(data, JSON.stringify({ A, [b]: [1, 2, 3], theta: [0.1, 0.2] }));
      const r = await cli(['run', spec, '--data', data, '--mode', 'reverse', '-K', '20', '--jacobian']);
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout).jacobian;
    };
    const withK = await run('k');
    expect(JSON.stringify(withK)).not.toContain('null');
    expect(withK).toEqual(await run('b'));
  });
});
