// Elementwise loops of the WebAssembly sweeps on float64 pairs (compiler/codegen/wasm/vector-wasm.ts):
// which loops qualify, that a sweep's bytes use f64x2 arithmetic where they do, and that the
// pairs give the bits of the JavaScript loops, the odd last entry included.

import { describe, expect, it } from 'vitest';
import { vectorizable } from '../compiler/codegen/wasm/vector-wasm.js';
import { ivar, num, type IndexExpr, type ScalarExpr, type Stmt } from '../compiler/lower/loop-ir.js';
import { compile, type MapSpec } from '../src/index.js';

type For = Extract<Stmt, { kind: 'for' }>;
const load = (buffer: string, index: IndexExpr = ivar('i')): ScalarExpr => ({ kind: 'load', buffer, index });
const op = (name: string, ...args: ScalarExpr[]): ScalarExpr => ({ kind: 'call', op: name, args });
const store = (buffer: string, value: ScalarExpr, index: IndexExpr = ivar('i'), accumulate = false): Stmt => ({ kind: 'store', buffer, index, value, accumulate });
const loop = (body: Stmt[], extent = 100): For => ({ kind: 'for', index: 'i', extent: num(extent), body });
const noDims = () => null;
const plus = (a: IndexExpr, b: IndexExpr): IndexExpr => ({ k: 'add', a, b });

describe('which loops run as pairs', () => {
  it('stores of +, −, ·, ÷, negation, sqrt and abs over loads at the index, invariant loads, locals and literals', () => {
    const value = op('add', load('x'), op('mul', { kind: 'num', value: -0.1 }, op('sub', op('sqrt', load('t')), op('neg', op('abs', load('theta', num(3)))))));
    expect(vectorizable(loop([store('y', value), store('z', op('div', load('y'), { kind: 'local', name: 'alpha' }), ivar('i'), true)]), noDims)).toBe(true);
    // an offset index moves with the loop at unit stride too
    expect(vectorizable(loop([store('y', load('x', plus(ivar('i'), num(7))), plus(num(100), ivar('i')))]), noDims)).toBe(true);
  });

  it('not: a Math call, a comparison, a reduction or a nested loop; a short loop; a stride of 2; a stored buffer read at another entry', () => {
    expect(vectorizable(loop([store('y', op('tanh', load('x')))]), noDims)).toBe(false);
    expect(vectorizable(loop([store('y', op('maximum', load('x'), { kind: 'num', value: 0 }))]), noDims)).toBe(false);
    expect(vectorizable(loop([store('y', op('select', load('x'), load('t'), load('z')))]), noDims)).toBe(false);
    // an op the sweeps do not know at all: not pairs either (the scalar sweep refuses it)
    expect(vectorizable(loop([store('y', op('no such op', load('x')))]), noDims)).toBe(false);
    expect(vectorizable(loop([{ kind: 'add-to-local', name: 's', value: load('x') }]), noDims)).toBe(false);
    expect(vectorizable(loop([loop([store('y', load('x'))])]), noDims)).toBe(false);
    expect(vectorizable(loop([store('y', load('x'))], 3), noDims)).toBe(false);
    expect(vectorizable(loop([store('y', load('x', { k: 'mul', a: num(2), b: ivar('i') }))]), noDims)).toBe(false);
    expect(vectorizable(loop([store('y', load('x'), { k: 'mul', a: num(2), b: ivar('i') })]), noDims)).toBe(false);
    // y[i] = y[i + 1]: the pair would read y[i + 1] before the scalar loop wrote it... or after
    expect(vectorizable(loop([store('y', load('y', plus(ivar('i'), num(1))))]), noDims)).toBe(false);
    // y[i] = …; z[i] = y[0]: entry 0 of y changes under the second pair
    expect(vectorizable(loop([store('y', load('x')), store('z', load('y', num(0)))]), noDims)).toBe(false);
    // a buffer stored at two indices
    expect(vectorizable(loop([store('y', load('x')), store('y', load('x'), plus(ivar('i'), num(100)))]), noDims)).toBe(false);
  });
});

describe('sweeps with pairs', () => {
  // odd n: every pass of pairs leaves one entry to the scalar tail
  const spec: MapSpec = { name: 'ridge', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' }, constants: { alpha: 0.05 }, update: { x: "x - alpha * (A' * (A * x - b) + theta .* x) ./ sqrt(1 + abs(theta))" } };
  const [m, n] = [41, 37];
  const vec = (len: number, seed: number) => Float64Array.from({ length: len }, (_, i) => Math.sin(seed + i * 0.7) * 0.3);
  const inputs = { A: vec(m * n, 1), b: vec(m, 2), theta: vec(n, 3) };

  it('use f64x2 arithmetic, and give the bits of the JavaScript loops (observed calls) in every sweep', async () => {
    const compiled = await compile(spec, { mode: 'both', K: 30, truncate: 4, dims: { m, n } });
    const code = compiled.files[0]!.contents;
    const base64 = [...code.matchAll(/kernels\.sweeps\('([^']+)'/g)].map((x) => x[1]!);
    expect(base64.length).toBe(1);
    const bytes = Buffer.from(base64[0]!, 'base64');
    // f64x2.mul and f64x2.sub (0xfd, then the opcode as a LEB128), and a v128.store
    for (const opcode of [[0xfd, 0xf2, 0x01], [0xfd, 0xf1, 0x01], [0xfd, 0x0b]]) expect(bytes.includes(Buffer.from(opcode))).toBe(true);
    const mod = compiled.create(undefined, { threads: 1 });
    const bits = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
    const observe = () => undefined;
    expect(bits(mod.iterate(inputs).state.x!)).toBe(bits(mod.iterate(inputs, undefined, observe).state.x!));
    const cot = { x: vec(n, 4) };
    expect(bits(mod.vjp!(inputs, cot).gradient.theta!)).toBe(bits(mod.vjp!(inputs, cot, undefined, observe).gradient.theta!));
    const dir = { theta: vec(n, 5) };
    expect(bits(mod.jvp!(inputs, dir).tangent.x!)).toBe(bits(mod.jvp!(inputs, dir, undefined, observe).tangent.x!));
    expect(bits(mod.jacobianForward!(inputs).jacobian.x!.theta!.data)).toBe(bits(mod.jacobianForward!(inputs, undefined, observe).jacobian.x!.theta!.data));
    mod.release();
  });
});
