// Reverse mode with binomial checkpointing (`--checkpoints c`): the same derivatives as the tape,
// bit for bit, with c slots instead of K − t states, and the number of recomputed steps that
// Griewank's binomial rule promises.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile, type MapInstance } from '../src/index.js';
import { readSpecFile } from '../compiler/spec/read-file.js';
import { buildModel } from '../compiler/model.js';
import { compileSpec, dumpStage } from '../compiler/pipeline.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { inferDims } from '../src/infer-dims.js';
import { REVOLVE_RUNTIME } from '../compiler/codegen/runtime-revolve.js';
import { ROOT, cli } from './helpers/cli.js';

type Named<T> = Record<string, T>;

async function sample(name: string) {
  const source = await readSpecFile(join(ROOT, 'samples', name, `${name}.phi.ts`));
  const { x0, ...inputs } = JSON.parse(readFileSync(join(ROOT, 'samples', name, 'data.json'), 'utf8')) as Named<unknown>;
  return { source, inputs, x0: x0 as Named<unknown> | undefined, dims: inferDims(buildModel(source), inputs, x0 as Named<unknown> | undefined) };
}

const flat = (r: object): number[] => Object.values(r).flatMap((v) => (v instanceof Float64Array ? Array.from(v) : typeof v === 'object' && v !== null ? ('data' in v ? Array.from((v as { data: Float64Array }).data) : flat(v)) : typeof v === 'number' ? [v] : []));

describe('checkpointed reverse mode', () => {
  // a map with two state components, one that reads x_{k+1} (tanh), mini-batches (step inputs), an outer objective
  it.each(['heavy_ball', 'tanh_layer', 'hyper_cleaning', 'softmax_regression'])('%s: the same bits as the tape for every slot count, on both kernel paths', async (name) => {
    const s = await sample(name);
    for (const kernels of ['wasm', 'js'] as const) {
      const K = 41, truncate = 3;
      const taped = (await compile(s.source, { mode: 'reverse', K, truncate, kernels })).create(s.dims) as MapInstance & { hypergradient?: (i: object, x0?: object) => object };
      const expected = flat(taped.jacobianReverse!(s.inputs as never, s.x0 as never));
      const expectedHyper = taped.hypergradient ? flat(taped.hypergradient(s.inputs, s.x0)) : [];
      for (const checkpoints of [1, 2, 3, 7, K - truncate - 1]) {
        const m = (await compile(s.source, { mode: 'reverse', K, truncate, kernels, checkpoints })).create(s.dims) as typeof taped;
        expect(flat(m.jacobianReverse!(s.inputs as never, s.x0 as never)), `${kernels} c=${checkpoints}`).toEqual(expected);
        if (m.hypergradient) expect(flat(m.hypergradient(s.inputs, s.x0))).toEqual(expectedHyper);
        m.release();
      }
      taped.release();
    }
  }, 120_000);

  it('the observer sees the backward sweep k = K … T + 1 in order, as with the tape', async () => {
    const s = await sample('ridge');
    const seen = async (checkpoints?: number) => {
      const m = (await compile(s.source, { mode: 'reverse', K: 30, truncate: 4, ...(checkpoints ? { checkpoints } : {}) })).create(s.dims);
      const ks: string[] = [];
      m.vjp!(s.inputs as never, { x: [1, 0, 0, 0] }, undefined, (o) => ks.push(`${o.phase}:${o.k}`));
      return ks;
    };
    expect(await seen(3)).toEqual(await seen());
  });

  it('memory does not grow with K: c slots, where a tape of K states would be refused before it is allocated', async () => {
    const s = await sample('ridge');
    const bytes = async (K: number) => (await compile(s.source, { mode: 'reverse', K, checkpoints: 10 })).create(s.dims).bufferBytes();
    expect(await bytes(1000)).toBe(await bytes(1_000_000));
    const huge = (await compile(s.source, { mode: 'reverse', K: 200_000_000 })).create;
    expect(() => huge(s.dims)).toThrow(/tape holds K - T = 200000000 states/);
    const m = (await compile(s.source, { mode: 'reverse', K: 200_000_000, checkpoints: 10 })).create(s.dims);
    expect(m.bufferBytes()).toBeLessThan(10_000);
  });

  it('recomputes as many steps as the binomial rule says: r·l − β(s + 2, r − 1), less the first sweep\'s checkpoints', () => {
    const { revolve, checkpointChain } = new Function(`${REVOLVE_RUNTIME}; return { revolve, checkpointChain };`)() as {
      revolve: (from: number, to: number, slots: number, stored: number[], load: (s: number) => void, save: (s: number) => void, advance: (k: number) => void, adjoint: (k: number) => void) => number;
      checkpointChain: (from: number, to: number, slots: number) => number[];
    };
    const beta = (s: number, r: number) => { if (r < 0) return 0; let c = 1; for (let i = 1; i <= s; i++) c = (c * (r + i)) / i; return Math.round(c); };
    /** Griewank's minimal forward steps to reverse l steps with the start slot and s more. */
    const least = (l: number, s: number) => { if (s === 0) return (l * (l - 1)) / 2; let r = 0; while (beta(s + 1, r) < l) r++; return r * l - beta(s + 2, r - 1); };
    for (const [l, c] of [[10, 2], [100, 3], [1000, 5], [777, 4], [50, 1], [5000, 20], [6, 10]] as const) {
      // the state is the step it belongs to: every adjoint must see x_k = k, in order K − 1 … 0
      let x = 0;
      const slots: number[] = [];
      const order: number[] = [];
      const chain = checkpointChain(0, l, c);
      const stored = new Array<number>(c).fill(-1);
      chain.forEach((k, i) => { slots[i] = k; stored[i] = k; });
      x = l;
      const steps = revolve(0, l, c, stored, (s) => { x = slots[s]!; }, (s) => { slots[s] = x; }, (k) => { expect(x).toBe(k); x = k + 1; }, (k) => { expect(x).toBe(k); order.push(k); });
      expect(order).toEqual(Array.from({ length: l }, (_, i) => l - 1 - i));
      // the first sweep already advanced to the chain's last checkpoint
      expect(steps + chain.at(-1)!).toBe(least(l, c - 1));
    }
  });

  it('the tape is a plain array outside the kernels\' WebAssembly memory where it is only copied, inside where deferred updates read it', async () => {
    const ridge = await sample('ridge');
    const code = compileSpec(ridge.source, { mode: 'reverse', K: 10 }).moduleCode;
    expect(code).toMatch(/const x_tape = new Float64Array\(10 \* n\); \/\/ only copied: outside the kernels' memory/);
    expect(code).toMatch(/return kernels\.bytes\(\) \+ x_tape\.byteLength;/);
    const m = (await compile(ridge.source, { mode: 'reverse', K: 10 })).create(ridge.dims);
    const plain = (await compile(ridge.source, { mode: 'reverse', K: 10, kernels: 'js' })).create(ridge.dims);
    // the same vjp as plain JavaScript loops (to rounding: the kernels sum in another order)
    const [a, b] = [m, plain].map((inst) => flat(inst.vjp!(ridge.inputs as never, { x: [1, 2, 3, 4] })));
    a!.forEach((v, i) => expect(Math.abs(v - b![i]!)).toBeLessThanOrEqual(1e-13 * Math.max(1, Math.abs(v))));
    // a layer whose weight W is a param: W̄ += ū xᵀ is deferred and reads the taped x in place, so that tape stays in the kernels' memory
    const layer = inMemorySource({ name: 'layer', state: { x: 'n' }, params: { W: 'n,n' }, data: { c: 'n' }, update: { x: 'tanh(W * x + c)' } });
    const deferred = compileSpec(layer, { mode: 'reverse', K: 12, truncate: 3, dims: { n: 37 } }).moduleCode;
    expect(deferred).toMatch(/byteOffset \+ 8 \* \(k - T\)/);
    expect(deferred).not.toMatch(/only copied: outside the kernels' memory/);
  });

  it('refuses what it cannot do, with one line and exit 2; the header and the schedule dump say it', async () => {
    const s = await sample('ridge');
    expect(() => compileSpec(s.source, { mode: 'forward', K: 10, checkpoints: 2 })).toThrow(/--checkpoints is for reverse mode/);
    expect(() => compileSpec(s.source, { mode: 'both', K: 10, checkpoints: 0 })).toThrow(/--checkpoints must be a positive integer/);
    expect(() => compileSpec(s.source, { mode: 'both', K: 10, checkpoints: 2, backend: 'gpu' })).toThrow(/CPU backend only/);
    expect(() => compileSpec(s.source, { mode: 'both', K: 10, checkpoints: 2, method: 'implicit' })).toThrow(/does not apply to --method implicit/);
    // c ≥ K − t: the tape, unchanged
    expect(compileSpec(s.source, { mode: 'both', K: 10, checkpoints: 10 }).moduleCode).toBe(compileSpec(s.source, { mode: 'both', K: 10 }).moduleCode);
    const dump = dumpStage(compileSpec(s.source, { mode: 'reverse', K: 10, checkpoints: 3 }), 'schedule');
    expect(dump).toMatch(/binomial reversal over the checkpoint slots/);
    const spec = join(ROOT, 'samples', 'ridge', 'ridge.phi.ts');
    const out = await cli(['compile', spec, '-K', '100', '--mode', 'reverse', '--checkpoints', '5', '-o', '-']);
    expect(out.status, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/^\/\/ options: mode=reverse K=100 .* checkpoints=5$/m);
    const bad = await cli(['compile', spec, '-K', '100', '--mode', 'forward', '--checkpoints', '5', '-o', '-']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^phic: usage error: --checkpoints is for reverse mode/);
  });
});
