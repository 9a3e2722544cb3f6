// The runtime text generated modules carry is written once, typed; its JavaScript twin is
// generated (npm run runtimes) by cutting the types out. These tests fail when a generated
// file is stale, and pin what the cutting keeps: everything but the types, byte for byte.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stripTypes } from '../compiler/build/strip-types.js';
import { TYPED_SOURCES, generatedModule } from '../compiler/build/runtimes.js';
import { gpuHostModule, hostText } from '../compiler/build/gpu-host.js';
import { GPU_RUNTIME, GPU_RUNTIME_TS } from '../compiler/codegen/gpu/runtime-gpu.js';
import { ROOT } from './helpers/cli.js';

describe('typed runtime sources', () => {
  it.each(Object.keys(TYPED_SOURCES))('%s: the generated twin is the current typed text with the types cut out (else run npm run runtimes)', async (source) => {
    const exports = await TYPED_SOURCES[source]!();
    const committed = readFileSync(join(ROOT, 'compiler', 'codegen', `${source}.generated.ts`), 'utf8');
    expect(committed).toBe(generatedModule(source, exports));
  });

  it('the GPU host runtime: its typed text is the current host/*.ts (else run npm run runtimes)', () => {
    const committed = readFileSync(join(ROOT, 'compiler', 'codegen', 'gpu', 'runtime-gpu-typed.generated.ts'), 'utf8');
    expect(committed).toBe(gpuHostModule(ROOT));
  });

  it('the GPU host runtime: the typed text declares every function and constant the JavaScript does, with types', () => {
    const declared = (text: string) => [...text.matchAll(/^(?:async function|function|const) (\w+)/gm)].map((m) => m[1]).sort();
    expect(declared(GPU_RUNTIME_TS)).toEqual(declared(GPU_RUNTIME));
    const { functions, types } = hostText(ROOT);
    expect(functions.runStep).toMatch(/^function runStep\(run: ProgramRun, step: Step\): void \{/);
    expect(types.some((t) => t.startsWith('interface HostModule {'))).toBe(true);
  });

  it('cuts annotations, optional marks, casts (with the parentheses that only held them), non-null marks and type declarations, and keeps the rest byte for byte', () => {
    const ts = [
      'type Pair = [number, number];',
      'interface P { x: number }',
      'function f(a: number, b?: string, ...rest: unknown[]): number {',
      '  const h = (apply: (w: number[], out?: number[]) => void) => apply;',
      '  const m = new Map<string, number>();',
      '  const g0 = (globalThis as unknown as { p?: number }).p;',
      '  let v: number | undefined = m.get(b!);',
      '  if  (a>1) return (rest as number[]).length + (a as number) * (v ?? 0);',
      '  return g<number>((x: number): number => x)(a as number) satisfies number;',
      '}',
      '',
    ].join('\n');
    expect(stripTypes(ts)).toBe(
      [
        'function f(a, b, ...rest) {',
        '  const h = (apply) => apply;',
        '  const m = new Map();',
        '  const g0 = globalThis.p;',
        '  let v = m.get(b);',
        '  if  (a>1) return rest.length + a * (v ?? 0);',
        '  return g((x) => x)(a);',
        '}',
        '',
      ].join('\n'),
    );
  });
});
