// The peer benchmark's reporting (samples/bench/peers/), from fixtures: the flops phic's
// generated code performs (not the nominal count), the choice of each peer's best thread
// setting for the headline, and docs/peers.md as rendered from a fixture report (roofline
// against the same-shaped BLAS calls, the n/a of JAX with AᵀA by hand on the tanh layer, a
// peer faster than phic said so, the scaling section), and the rounds' merge (the median of
// the round medians; a failed round not hidden). No benchmark runs here.

import { describe, expect, it } from 'vitest';
import { performedProducts, productFlops } from '../samples/bench/peers/performed.js';
import type { ChildResult, PeerId } from '../samples/bench/peers/protocol.js';
import { markdown, type Report } from '../samples/bench/peers/report.js';
import { mergeRounds } from '../samples/bench/peers/rounds.js';
import { bestSetting, FAMILIES } from '../samples/bench/peers/settings.js';
import type { WorkloadMeta } from '../samples/bench/peers/workloads.js';

const total = (ps: ReturnType<typeof performedProducts>) => ps.reduce((s, p) => s + productFlops(p), 0);

function meta(id: WorkloadMeta['id'], problem: WorkloadMeta['problem'], derivative: WorkloadMeta['derivative'], dims: Record<string, number>, K: number, t = 0): WorkloadMeta {
  return { id, title: `${id} title`, problem, derivative, mode: derivative === 'jvp' || derivative === 'jacobian' ? 'forward' : 'reverse', dims, K, t, alpha: 0.1, arrays: {}, flops: 1e6, what: `${id} what` };
}

function ok(peer: PeerId, workload: string, medianMs: number, extra?: Record<string, unknown>): ChildResult {
  return { peer, workload, status: 'ok', precision: 'float64', method: `${peer} method`, timing: { medianMs, minMs: medianMs, maxMs: medianMs, reps: 5, warmupCalls: 3 }, memory: { baselineRss: 2 ** 20, maxRss: 2 ** 21 }, ...(extra ? { extra } : {}) };
}

describe('the flops phic performs', () => {
  it('ridge reverse mode with AᵀA hoisted: 2mn² + 2mn once, then one n×n product per step each way', () => {
    const [m, n, K, t] = [500, 500, 200, 100];
    const ps = performedProducts(meta('P1-t100', 'ridge', 'hypergradient', { m, n }, K, t), true);
    expect(total(ps)).toBe(2 * m * n * n + 2 * m * n + 2 * n * n * (K + (K - t)));
  });

  it('ridge reverse mode not hoisted: A x and Aᵀ r every step, forward and backward', () => {
    const [m, n, K] = [1000, 1000, 100];
    const ps = performedProducts(meta('S-n1000-K100', 'ridge', 'vjp', { m, n }, K), false);
    expect(total(ps)).toBe(4 * m * n * 2 * K);
    expect(ps.map((p) => p.kind).sort()).toEqual(['matvec', 'matvec', 'matvecT', 'matvecT']);
  });

  it('the full forward Jacobian is one n×n·n×n product per step, and P2 keeps four m×n tangent products unless it forms Ġ once', () => {
    const n = 100;
    const jac = performedProducts(meta('P3', 'ridge', 'jacobian', { m: n, n }, 500), true);
    expect(jac.find((p) => p.kind === 'matmul' && p.count === 500)).toMatchObject({ m: n, n, k: n });
    const ls = performedProducts(meta('P2', 'least_squares', 'jvp', { m: 100, n: 50 }, 1000), true);
    expect(ls.filter((p) => p.m === 100 && p.n === 50 && p.kind !== 'matmul').reduce((s, p) => s + p.count, 0)).toBe(1 + 5 * 1000);
    // with the invariants' tangents formed once per sweep: three n×n products per step, none m×n
    const swept = performedProducts(meta('P2', 'least_squares', 'jvp', { m: 100, n: 50 }, 1000), true, true);
    expect(swept.filter((p) => p.m === 50 && p.n === 50 && p.kind === 'matvec').reduce((s, p) => s + p.count, 0)).toBe(3 * 1000);
    expect(swept.filter((p) => p.m === 100 && p.kind !== 'matmul').reduce((s, p) => s + p.count, 0)).toBe(1 + 2);
  });

  it('the tanh layer applies W̄ += δxᵀ as rank-16 products, the remainder in one more', () => {
    const ps = performedProducts(meta('P4', 'tanh', 'vjp', { n: 256, p: 64 }, 100), true);
    expect(ps.filter((p) => p.kind === 'matmul').map((p) => [p.n, p.count])).toEqual([[16, 6], [4, 1]]);
    // 2n² per backward step for W̄, whatever the grouping
    expect(ps.filter((p) => p.kind === 'matmul').reduce((s, p) => s + productFlops(p), 0)).toBe(2 * 256 * 256 * 100);
  });
});

describe('the best thread setting', () => {
  const phic = FAMILIES.find((f) => f.id === 'phic')!;
  it('takes the faster median, ignoring a setting that did not run', () => {
    expect(bestSetting([ok('phic', 'P5', 10), ok('phic1t', 'P5', 8)], 'P5', phic)).toEqual({ peer: 'phic1t', medianMs: 8, compared: 2 });
    const failed: ChildResult = { peer: 'phic1t', workload: 'P5', status: 'failed' };
    expect(bestSetting([ok('phic', 'P5', 10), failed], 'P5', phic)).toEqual({ peer: 'phic', medianMs: 10, compared: 1 });
    expect(bestSetting([failed], 'P5', phic)).toBeUndefined();
  });
});

describe('docs/peers.md from a fixture report', () => {
  const P5 = meta('P5', 'ridge', 'vjp', { m: 20, n: 20 }, 5000);
  const P4 = meta('P4', 'tanh', 'vjp', { n: 256, p: 64 }, 100);
  const S = meta('S-n1000-K100', 'ridge', 'vjp', { m: 1000, n: 1000 }, 100);
  const entry = (kind: 'matvec' | 'matvecT' | 'matmul', m: number, n: number, usPerCall: number, k?: number) => ({ kind, m, n, ...(k === undefined ? {} : { k }), gflops: 1, usPerCall });
  const report: Report = {
    date: '2026-01-01',
    machine: { cpu: 'test cpu', cpuDetails: 'details', cores: 2, memoryGiB: 8, os: 'linux', node: 'v20', loadAverageAtStart: [3.5, 2, 1], loadAverageAtEnd: [4, 3, 2] },
    peers: (['phic', 'phic1t', 'pytorch', 'pytorch1t', 'jax', 'jaxata'] as PeerId[]).map((id) => ({ id, version: `${id} 1.0` })),
    workloads: [P5, P4, S],
    results: [
      ok('phic', 'P5', 12, { hoistedInvariants: true }),
      ok('phic1t', 'P5', 10.004),
      ok('pytorch', 'P5', 200),
      ok('pytorch1t', 'P5', 100),
      ok('jax', 'P5', 5),
      ok('jaxata', 'P5', 2.5),
      ok('phic', 'P4', 20, { hoistedInvariants: true }),
      ok('jax', 'P4', 40),
      { peer: 'jaxata', workload: 'P4', status: 'skipped', message: 'not applicable: the tanh layer has no AᵀA to form' },
      ok('phic', 'S-n1000-K100', 300, { hoistedInvariants: false }),
      ok('phic1t', 'S-n1000-K100', 250),
      ok('jax', 'S-n1000-K100', 500),
      { peer: 'pytorch1t', workload: 'S-n1000-K100', status: 'skipped', message: 'over the time budget: stopped after 150 s' },
    ],
    roofline: {
      numpy: '2.0',
      env: {},
      blas: 'fixture',
      // P5 with AᵀA hoisted: once 20×20·20 and Aᵀb, then 10 000 20×20 matvecs
      oneThread: [entry('matmul', 20, 20, 1, 20), entry('matvecT', 20, 20, 1), entry('matvec', 20, 20, 0.5)],
      defaultThreads: [entry('matmul', 20, 20, 1, 20), entry('matvecT', 20, 20, 1), entry('matvec', 20, 20, 0.6)],
      unsetForThisCommand: {},
    },
    notes: [],
    wallS: 60,
  };
  const md = markdown(report);
  const line = (start: string, after = 0) => md.split('\n').filter((l) => l.startsWith(start))[after] ?? '';

  it('the headline takes each peer at its best setting and says which, and a faster peer is called faster', () => {
    const headline = line('| P5 title');
    expect(headline).toContain('**10.0 ms**, 1 thread');
    expect(headline).toContain('100 ms (10.0×), 1 thread');
    expect(headline).toContain('5.00 ms (**0.50×, faster than phic**), XLA default threads');
    expect(headline).toContain('2.50 ms (**0.25×, faster than phic**)');
  });

  it('JAX with AᵀA by hand is n/a on the tanh layer', () => {
    expect(line('| P4 title')).toContain('| n/a |');
  });

  it('the roofline divides the same-shaped BLAS calls\' time by phic\'s, per thread setting', () => {
    const roof = line('| P5 | 1× matmul 20×20·20');
    // 1 thread: (1 + 1 + 0.5 · 10 000) µs = 5.002 ms against phic, 1 thread 10.004 ms
    expect(roof).toContain('| 5.00 ms | 10.0 ms | 50 % |');
    // default: (1 + 1 + 0.6 · 10 000) µs = 6.002 ms against phic 12 ms
    expect(roof).toContain('| 6.00 ms | 12.0 ms | 50 % |');
    expect(md).toContain('Much of phic\'s lead over PyTorch');
  });

  it('the scaling section has the point, its skip and the best-setting ratios, and the load average is recorded', () => {
    const row = line('| 1000 | 100 |');
    expect(row).toContain('| no |');
    expect(row).toContain('over the time budget: stopped after 150 s');
    expect(row).toContain('2.00× (XLA default threads / 1 thread)');
    expect(md).toContain('![time per call against n and against K, log–log](peers-scaling.svg)');
    expect(md).toContain('load average 3.5 / 2 / 1 at the start');
  });
});

describe('rounds', () => {
  const timed = (peer: PeerId, medianMs: number, minMs: number, maxMs: number, maxRss: number): ChildResult => ({ ...ok(peer, 'P4', medianMs), timing: { medianMs, minMs, maxMs, reps: 10, warmupCalls: 4 }, memory: { baselineRss: 1, maxRss } });

  it('a peer\'s time is the median of its round medians, with every round\'s median kept and the peak memory of all', () => {
    const m = mergeRounds([timed('jax', 5, 4, 9, 100), timed('jax', 9, 8, 30, 300), timed('jax', 4, 3.5, 6, 200)]);
    expect(m.status).toBe('ok');
    expect(m.timing).toEqual({ medianMs: 5, minMs: 3.5, maxMs: 30, reps: 30, warmupCalls: 12, roundMediansMs: [5, 9, 4] });
    expect(m.memory!.maxRss).toBe(300);
    expect(m.check).toBe(undefined);
    expect(mergeRounds([timed('jax', 5, 4, 9, 100)]).timing!.roundMediansMs).toBe(undefined);
  });

  it('a round that failed is what the peer reports, whatever the other rounds gave', () => {
    const failed: ChildResult = { peer: 'pytorch', workload: 'P4', status: 'failed', message: 'exited with 1' };
    expect(mergeRounds([timed('pytorch', 5, 4, 9, 100), failed, timed('pytorch', 4, 3, 5, 100)])).toBe(failed);
    expect(() => mergeRounds([])).toThrow();
  });

  it('the report says how the rounds ran and lists each round\'s median', () => {
    const P4 = meta('P4', 'tanh', 'vjp', { n: 256, p: 64 }, 100);
    const report: Report = {
      date: '2026-01-01',
      machine: { cpu: 'test cpu', cpuDetails: 'details', cores: 2, memoryGiB: 8, os: 'linux', node: 'v20', loadAverageAtStart: [1, 1, 1], loadAverageAtEnd: [1, 1, 1] },
      peers: (['phic', 'jax'] as PeerId[]).map((id) => ({ id, version: `${id} 1.0` })),
      workloads: [P4],
      results: [mergeRounds([timed('phic', 3, 2, 4, 1), timed('phic', 6, 5, 7, 1), timed('phic', 3.5, 3, 4, 1)]), mergeRounds([timed('jax', 4, 3, 5, 1), timed('jax', 4.4, 4, 5, 1), timed('jax', 8, 7, 9, 1)])],
      notes: [],
      rounds: { count: 3, peers: ['phic', 'jax'] },
      wallS: 1,
    };
    const md = markdown(report);
    expect(md).toContain('ran 3 times, in 3 rounds');
    expect(md).toContain('| P4 | phic | 3.00 | 6.00 | 3.50 | 3.50 | 2.00 |');
    expect(md).toContain('| P4 | JAX jit | 4.00 | 4.40 | 8.00 | 4.40 | 2.00 |');
    expect(markdown({ ...report, rounds: undefined })).not.toContain('## Rounds');
  });
});
