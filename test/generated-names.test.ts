// User names and the generated code's own: every name a CPU or GPU module declares at its top
// level or in create() (where the user's buffers live) is either allocated fresh by the compiler
// (so it avoids user names) or refused as a user name, with the spec field in the error.

import { Project, SyntaxKind, type FunctionDeclaration, type SourceFile } from 'ts-morph';
import { describe, expect, it } from 'vitest';
import { compileSpec } from '../compiler/pipeline.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { identifierProblem } from '../compiler/spec/identifiers.js';
import { compile, type MapSpec } from '../src/index.js';

/** Names declared directly in a block of statements (functions, const and let, destructured too). */
function declaredIn(node: SourceFile | FunctionDeclaration): string[] {
  const names: string[] = [];
  for (const st of node.getStatements()) {
    if (st.isKind(SyntaxKind.FunctionDeclaration)) names.push(st.getName()!);
    if (st.isKind(SyntaxKind.VariableStatement)) {
      for (const d of st.getDeclarations()) {
        const nameNode = d.getNameNode();
        if (nameNode.isKind(SyntaxKind.Identifier)) names.push(nameNode.getText());
        else for (const e of nameNode.getDescendantsOfKind(SyntaxKind.Identifier)) names.push(e.getText());
      }
    }
  }
  return names;
}

// every user name starts with z, so what the compiler derives from them does too
const spec: MapSpec = {
  name: 'zz',
  state: { zx: 'zn', zv: 'zn' },
  params: { zt: 'zn', zW: 'zn,zn' },
  data: { zA: 'zm,zn', zb: 'zm' },
  constants: { zal: 0.5 },
  update: { zx: "zx - zal * (zA' * (zA * zx - zb) + zt .* zx) + 0.1 * zv + 0.01 * tanh(zW * zx)", zv: 'zx - zv' },
  outer: { objective: '0.5 * sum((zAv * zx - zbv).^2)', data: { zAv: 'zk,zn', zbv: 'zk' } },
};

describe('names of the generated code', () => {
  it.each([
    ['CPU, dims at create()', { mode: 'both', K: 5 }],
    ['CPU, dims baked, SIMD kernels and worker threads', { mode: 'both', K: 5, dims: { zm: 40, zn: 40, zk: 3 } }],
    ['GPU', { mode: 'both', K: 5, backend: 'gpu' }],
  ] as const)('%s: every top-level and create() name is fresh or refused as a user name', (_, options) => {
    const result = compileSpec(inMemorySource(spec), options as never);
    const code = result.files.find((f) => f.name.endsWith('.js'))!.contents;
    const file = new Project({ useInMemoryFileSystem: true }).createSourceFile('module.js', code);
    const create = file.getFunctionOrThrow('create');
    const names = new Set([...declaredIn(file), ...create.getParameters().map((p) => p.getName()), ...declaredIn(create)]);
    const fresh = result.plan.names.allocated();
    const fixed = [...names].filter((n) => !n.startsWith('z') && !fresh.has(n));
    expect(fixed.length).toBeGreaterThan(20);
    expect(fixed.filter((n) => identifierProblem(n) === null)).toEqual([]);
  });

  it('a param named K (the iteration count) or step (a function in create()) is refused, naming the field', async () => {
    for (const name of ['K', 'step', 'dims', 'threads']) {
      const bad: MapSpec = { name: 'c', state: { x: 'n' }, params: { [name]: 'n' }, update: { x: `x - 0.1 * (x - ${name})` } };
      const error = await compile(bad, { mode: 'reverse', K: 3, dims: { n: 4 } }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'PhicError', category: 'spec', context: { field: `params.${name}` } });
      expect(String(error)).toContain(`name '${name}' is reserved`);
    }
  });
});
