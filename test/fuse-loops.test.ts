// Loop fusion on loop IR: which loops fuse, which must not, and that fused segments compute
// the same buffers as unfused ones (checked with a small loop-IR interpreter).

import { describe, expect, it } from 'vitest';
import { fuseLoops } from '../compiler/optimise/fuse-loops.js';
import { buildModel } from '../compiler/model.js';
import { buildPlan } from '../compiler/plan.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { getOp } from '../compiler/ops/index.js';
import type { IndexExpr, ScalarExpr, Segment, Stmt } from '../compiler/lower/loop-ir.js';
import { randomGenerator } from '../runtime/reference.js';
import { testSegment } from './helpers/ir.js';

const dims = { m: 5, n: 4, p: 3 };

/** Runs a segment over named buffers (batch index 0, so offsets are 0). */
function run(seg: Segment, buffers: Map<string, Float64Array>) {
  const locals = new Map<string, number>();
  const vars = new Map<string, number>();
  const index = (e: IndexExpr): number => {
    switch (e.k) {
      case 'num':
        return e.v;
      case 'var':
        return vars.get(e.name)!;
      case 'dim':
        return dims[e.name as keyof typeof dims];
      case 'add':
        return index(e.a) + index(e.b);
      case 'mul':
        return index(e.a) * index(e.b);
    }
  };
  const value = (e: ScalarExpr): number => {
    switch (e.kind) {
      case 'num':
        return e.value;
      case 'local':
        return locals.get(e.name)!;
      case 'load':
        return buffers.get(e.buffer)![index(e.index)]!;
      case 'call': {
        const op = getOp(e.op);
        if (op.kind !== 'elementwise') throw new Error(e.op);
        return op.scalar(...e.args.map(value));
      }
    }
  };
  const exec = (s: Stmt) => {
    switch (s.kind) {
      case 'for':
        for (let i = 0; i < index(s.extent); i++) {
          vars.set(s.index, i);
          s.body.forEach(exec);
        }
        break;
      case 'let':
        locals.set(s.name, value(s.value));
        break;
      case 'add-to-local':
        locals.set(s.name, locals.get(s.name)! + value(s.value));
        break;
      case 'store': {
        const b = buffers.get(s.buffer)!;
        const i = index(s.index);
        b[i] = (s.accumulate ? b[i]! : 0) + value(s.value);
        break;
      }
      case 'comment':
        break;
    }
  };
  seg.body.forEach(exec);
}

const loops = (stmts: readonly Stmt[]): number => stmts.reduce((c, s) => c + (s.kind === 'for' ? 1 + loops(s.body) : 0), 0);

const specs = {
  ridge: { name: 'ridge', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'm,n', b: 'm' }, constants: { alpha: 0.1 }, update: { x: "x - alpha * (A' * (A * x - b) + theta .* x)" } },
  tanh: { name: 'tanh_layer', state: { x: 'n' }, params: { theta: 'p' }, data: { W: 'n,n', U: 'n,p', c: 'n' }, update: { x: 'tanh(W*x + U*theta + c)' } },
  lsq: { name: 'lsq', state: { x: 'n' }, params: { A: 'm,n', b: 'm' }, objective: '0.5*sum((A*x - b).^2)', method: { name: 'heavy-ball', step: 0.01, momentum: 0.5 } },
};

describe('fused segments compute the same buffers', () => {
  for (const [label, spec] of Object.entries(specs)) {
    it(label, () => {
      const plan = (fuse: boolean) => buildPlan(buildModel(inMemorySource(spec)), { mode: 'both', K: 5, truncate: 0, dims: null, segmentPasses: fuse ? [{ name: 'fuse-loops', run: fuseLoops }] : [] });
      const fusedPlan = plan(true);
      const rng = randomGenerator(7);
      let fewerLoops = false;
      for (const seg of Object.values(plan(false).segments)) {
        if (!seg) continue;
        const refused = Object.values(fusedPlan.segments).find((f) => f?.name === seg.name)!;
        if (loops(refused.body) < loops(seg.body)) fewerLoops = true;
        const sizes = new Map<string, number>();
        const collect = (s: Stmt) => {
          if (s.kind === 'for') s.body.forEach(collect);
          if (s.kind === 'store') sizes.set(s.buffer, 64);
          const scan = (e: ScalarExpr) => {
            if (e.kind === 'load') sizes.set(e.buffer, 64);
            if (e.kind === 'call') e.args.forEach(scan);
          };
          if (s.kind === 'store' || s.kind === 'let' || s.kind === 'add-to-local') scan(s.value);
        };
        seg.body.forEach(collect);
        const a = new Map([...sizes].map(([k, n]) => [k, rng.vector(n, 'normal').map((v) => v * 0.5)]));
        const b = new Map([...a].map(([k, v]) => [k, v.slice()]));
        run(seg, a);
        run(refused, b);
        for (const [k, v] of a) expect(Array.from(b.get(k)!), `${seg.name}: ${k}`).toEqual(Array.from(v));
      }
      expect(fewerLoops).toBe(true);
    });
  }
});

describe('which loops fuse', () => {
  const A = (i: string, j: string): ScalarExpr => ({ kind: 'load', buffer: 'A', index: { k: 'add', a: { k: 'mul', a: { k: 'var', name: i }, b: { k: 'dim', name: 'n' } }, b: { k: 'var', name: j } } });
  const rowDot = (acc: string, v: string, out: string): Stmt[] => [
    { kind: 'let', name: acc, value: { kind: 'num', value: 0 }, mutable: true },
    { kind: 'for', index: 'j', extent: { k: 'dim', name: 'n' }, body: [{ kind: 'add-to-local', name: acc, value: { kind: 'call', op: 'mul', args: [A('i', 'j'), { kind: 'load', buffer: v, index: { k: 'var', name: 'j' } }] } }] },
    { kind: 'store', buffer: out, index: { k: 'var', name: 'i' }, value: { kind: 'local', name: acc }, accumulate: false },
  ];
  const matvec = (acc: string, v: string, out: string): Stmt => ({ kind: 'for', index: 'i', extent: { k: 'dim', name: 'm' }, body: rowDot(acc, v, out) });

  it('two matrix-vector products over the same matrix share one pass over its rows', () => {
    const seg: Segment = testSegment({ name: 's', doc: '', batched: [], body: [matvec('s1', 'x', 'y1'), matvec('s2', 'z', 'y2')] });
    const fused = fuseLoops(seg);
    expect(fused.body).toHaveLength(1);
    expect(loops(fused.body)).toBe(2); // one row loop, one inner loop
  });

  it('a product that reads the result of another does not fuse with it', () => {
    const seg: Segment = testSegment({ name: 's', doc: '', batched: [], body: [matvec('s1', 'x', 'y1'), matvec('s2', 'y1', 'y2')] });
    expect(fuseLoops(seg).body).toHaveLength(2);
  });

  it('a loop is not moved past a statement it depends on', () => {
    const fill: Stmt = { kind: 'for', index: 'i', extent: { k: 'dim', name: 'n' }, body: [{ kind: 'store', buffer: 'x', index: { k: 'var', name: 'i' }, value: { kind: 'num', value: 1 }, accumulate: false }] };
    const seg: Segment = testSegment({ name: 's', doc: '', batched: [], body: [matvec('s1', 'z', 'y1'), fill, matvec('s2', 'x', 'y2')] });
    const fused = fuseLoops(seg);
    // the second product reads x, which the fill writes: it stays after the fill
    expect(fused.body).toHaveLength(3);
  });
});
