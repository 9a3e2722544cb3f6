// The back end's listed passes, each alone: kernel choice is tested in wasm-kernels.test.ts;
// here tangent batching and deferred rank-1 updates (Plan → Plan), on plans built the way the
// CPU pipeline builds them, and their effect on the emitted module.

import { describe, expect, it } from 'vitest';
import { compileSpec } from '../compiler/pipeline.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { printSegments } from '../compiler/lower/print.js';
import { num, type Stmt } from '../compiler/lower/loop-ir.js';
import { deferRankOneUpdates } from '../compiler/optimise/defer-updates.js';
import type { MapSpec } from '../src/index.js';

const layer = (wRole: 'params' | 'data'): MapSpec => ({
  name: 'layer',
  state: { x: 'n' },
  params: { theta: 'p', ...(wRole === 'params' ? { W: 'n,n' } : {}) },
  data: { U: 'n,p', c: 'n', ...(wRole === 'data' ? { W: 'n,n' } : {}) },
  update: { x: 'tanh(W * x + U * theta + c)' },
});
const ridge: MapSpec = { name: 'ridge', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' }, constants: { alpha: 0.1 }, update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" } };
const plan = (spec: MapSpec, options: object) => compileSpec(inMemorySource(spec), { mode: 'both', K: 12, truncate: 3, dims: { n: 37, p: 11 }, ...options } as never);
const kernels = (body: readonly Stmt[]) => body.filter((s) => s.kind === 'kernel').map((s) => (s.kind === 'kernel' ? s.call.kernel : ''));

describe('batch-tangents', () => {
  it('takes W ẋ out of the tangent step: the batched step copies its row of one product over all directions', () => {
    const { plan: p, moduleCode } = plan(layer('data'), {});
    const batch = p.tangentBatch!;
    expect(batch.products.map((b) => [b.call.A.buffer, b.state.name, b.transposed !== null])).toEqual([['W', 'x', true]]);
    // W ẋ and U θ̇ are gemv calls; U θ̇ (a parameter direction, not a state tangent) stays
    const gemvsOf = (body: readonly Stmt[]) => body.flatMap((s) => (s.kind === 'kernel' && s.call.kernel === 'gemv' ? [s.call.A.buffer] : []));
    expect(gemvsOf(p.segments.tangent!.body).sort()).toEqual(['U', 'W']);
    expect(gemvsOf(batch.segment.body)).toEqual(['U']);
    expect(batch.segment.batched).toContain(batch.products[0]!.products);
    expect(moduleCode).toContain('transposeForProducts();');
  });

  it('a symmetric hoisted AᵀA is read as its own transpose: no copy, no transposeForProducts', () => {
    const { plan: p, moduleCode } = plan(ridge, { K: 200, truncate: 0, dims: { m: 500, n: 500 }, mode: 'forward' });
    const [product] = p.tangentBatch!.products;
    expect(product!.transposed).toBeNull();
    expect(moduleCode).not.toContain('transposeForProducts');
    expect(moduleCode).toMatch(/kernels\.gemm\(\w+_all\.byteOffset, 500, x_dot\.byteOffset, 500, 1, h\d*\.byteOffset/);
  });

  it('leaves a matrix the iteration writes, and modules without kernels, alone', () => {
    expect(plan(layer('params'), { kernels: 'js' }).plan.tangentBatch).toBeUndefined();
    expect(plan(layer('data'), { kernels: 'js' }).plan.tangentBatch).toBeUndefined();
  });
});

describe('defer-updates', () => {
  it('W̄ += δ xᵀ becomes a copy of δ into its row of the block; the driver applies blocks as one gemm', () => {
    const { plan: p, moduleCode } = plan(layer('params'), {});
    const deferral = p.deferral!;
    expect(deferral.updates.map((u) => [u.call.B.buffer, u.state.name])).toEqual([['W_bar', 'x']]);
    expect(kernels(p.segments.adjoint!.body)).toContain('ger');
    expect(kernels(deferral.segment.body)).not.toContain('ger');
    expect(printSegments([deferral.segment])).toContain(`${deferral.updates[0]!.buffer}[(15 + (-1)*(${deferral.counter}))*(n) + i] = `);
    expect(moduleCode).toContain(`[W_bar_defer_at + (15 - ${deferral.counter}) * 37 + i]`);
    expect(moduleCode).toContain(`applyDeferred(count, k, observe !== undefined || k === T ? 1 : 0)`);
    // nothing else in the backward step touches W̄ or the tape: a block may run on a worker
    expect(deferral.concurrent).toBe(true);
    expect(moduleCode).toContain('kernels.deferredGemm(W_bar.byteOffset');
  });

  it('is not concurrent where the adjoint step also writes (or reads) a deferred update\'s W̄', () => {
    const { plan: p } = plan(layer('params'), {});
    const adjoint = p.segments.adjoint!;
    const undeferred = { ...p, deferral: undefined };
    expect(deferRankOneUpdates(undeferred).deferral!.concurrent).toBe(true);
    // W̄[0] += 1, and θ̄[0] += W̄[0]
    const extra: Stmt = { kind: 'store', buffer: 'W_bar', index: num(0), value: { kind: 'num', value: 1 }, accumulate: true };
    const reads: Stmt = { kind: 'store', buffer: 'theta_bar', index: num(0), value: { kind: 'load', buffer: 'W_bar', index: num(0) }, accumulate: true };
    for (const st of [extra, reads]) {
      const touched = { ...undeferred, segments: { ...p.segments, adjoint: { ...adjoint, body: [...adjoint.body, st] } } };
      const deferral = deferRankOneUpdates(touched).deferral!;
      expect(deferral.updates.map((u) => u.call.B.buffer)).toEqual(['W_bar']);
      expect(deferral.concurrent).toBe(false);
    }
  });

  it('needs a tape: not with t = K, nor without kernels', () => {
    expect(plan(layer('params'), { K: 3, truncate: 3 }).plan.deferral).toBeUndefined();
    expect(plan(layer('params'), { kernels: 'js' }).plan.deferral).toBeUndefined();
  });
});

describe('unroll', () => {
  it('a reduction becomes a loop by 4 with three lane accumulators and a remainder; Aᵀv is unrolled and jammed', () => {
    const { plan: p } = plan(layer('data'), { kernels: 'js' });
    const text = printSegments([p.segments.step, p.segments.adjoint!]);
    // W x, a dot product per row: s += W[i, j] x[j] four lanes at a time
    expect(text).toMatch(/s_1, s_2, s_3 := 0\n\s+for j < n by 4:/);
    expect(text).toMatch(/remainder j < n:/);
    // Aᵀr walks A by rows: four rows per pass, one store of y[j] for all four
    const ridgeStep = printSegments([plan(ridge, { kernels: 'js', dims: null }).plan.segments.step]);
    expect(ridgeStep).toMatch(/for i < m by 4:\n(\s+\w+ := .*\n){4}\s+for j < n:\n\s+t\d*\[j\] \+= add\(add\(add\(/);
  });

  it('is a CPU pass: the GPU module gets plain loops', () => {
    const { plan: p } = plan(layer('data'), { backend: 'gpu' });
    expect(printSegments(Object.values(p.segments).filter((s) => s !== undefined))).not.toContain(' by 4:');
  });
});
