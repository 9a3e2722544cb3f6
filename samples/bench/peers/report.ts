// The peer benchmark's outputs: docs/peers.md (Markdown tables), docs/peers.json (everything
// measured), docs/peers.svg + .png (a bar chart of the median times, log scale) and
// docs/peers-scaling.svg + .png (scaling-report.ts), drawn with vega-lite through src/lab/plot.ts.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as vegaLite from 'vega-lite';
import { renderSvg, svgToPng } from '../../../src/lab/plot.js';
import { performedProducts, productFlops, shapeKey, type Product } from './performed.js';
import type { ProfileSummary } from './profile.js';
import type { ChildResult, PeerId } from './protocol.js';
import { scalingChart, scalingMarkdown, isScaling } from './scaling-report.js';
import { bestSetting, familiesOf, SETTING } from './settings.js';
import type { WorkloadMeta } from './workloads.js';

export interface RooflineEntry {
  kind: 'matvec' | 'matvecT' | 'matmul';
  m: number;
  n: number;
  k?: number;
  peak?: boolean;
  gflops: number;
  usPerCall: number;
}

export interface Roofline {
  numpy: string;
  env: Record<string, string | null>;
  blas: unknown;
  defaultThreads: RooflineEntry[];
  oneThread?: RooflineEntry[];
  unsetForThisCommand: Record<string, string | null>;
}

export interface PeerInfo {
  id: PeerId;
  version?: string;
  skipped?: string;
}

export interface Report {
  date: string;
  machine: { cpu: string; cpuDetails: string; cores: number; memoryGiB: number; os: string; node: string; loadAverageAtStart: number[]; loadAverageAtEnd: number[] };
  peers: PeerInfo[];
  workloads: WorkloadMeta[];
  results: ChildResult[];
  roofline?: Roofline;
  notes: string[];
  profile?: ProfileSummary;
  /** Rounds (rounds.ts): how many, and the peers that ran in every round (the others ran once). Absent: one. */
  rounds?: { count: number; peers: PeerId[] };
  wallS: number;
}

const NAMES: Record<PeerId, string> = {
  phic: 'phic',
  phic1t: 'phic, 1 thread',
  phicfma: 'phic, relaxed SIMD',
  phicjs: 'phic, JS loops',
  handwritten: 'hand-written',
  pytorch: 'PyTorch (2 threads)',
  pytorch1t: 'PyTorch (1 thread)',
  jax: 'JAX jit',
  jax1t: 'JAX jit, 1 thread',
  jaxata: 'JAX, AᵀA by hand',
  jaxata1t: 'JAX, AᵀA by hand, 1 thread',
  jaxjs: 'jax-js',
  tfjs: 'TF.js (wasm)',
};
const MB = 2 ** 20;

const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));
const fmtG = (g: number) => (g >= 10 ? g.toFixed(1) : g >= 1 ? g.toFixed(2) : g.toFixed(3));
const fmtRatio = (r: number) => (r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(2));
/** Ratios against a target threshold, with enough digits that 1.96 is not shown as 2.0. */
const fmtTargetRatio = (r: number) => (r >= 10 ? r.toFixed(0) : r.toFixed(2));

function get(report: Report, workload: string, peer: PeerId): ChildResult | undefined {
  return report.results.find((r) => r.workload === workload && r.peer === peer);
}

function status(r: ChildResult | undefined): string {
  if (!r) return '—';
  if (r.status === 'ok') return '';
  return r.status === 'skipped' ? 'skipped' : r.status === 'disagrees' ? 'DISAGREES' : 'FAILED';
}

/** numpy's microseconds per call of the same-shaped BLAS call as a product, at a thread setting. */
function blasUs(report: Report, p: Product, threads: 'defaultThreads' | 'oneThread'): number | undefined {
  return report.roofline?.[threads]?.find((e) => !e.peak && shapeKey(e) === shapeKey(p))?.usPerCall;
}

/**
 * The roofline of a workload: the products phic performed (performed.ts, hoisting from its compile
 * report), their flops, and the time numpy's same-shaped BLAS calls take for them all.
 */
export function rooflineOf(report: Report, w: WorkloadMeta) {
  const hoisted = get(report, w.id, 'phic')?.extra?.hoistedInvariants ?? report.results.find((r) => r.workload === w.id && r.extra?.hoistedInvariants !== undefined)?.extra?.hoistedInvariants;
  if (hoisted === undefined) return undefined;
  const swept = report.results.find((r) => r.workload === w.id && r.extra?.sweptTangent !== undefined)?.extra?.sweptTangent === true;
  const products = performedProducts(w, hoisted === true, swept);
  const blasMs = (threads: 'defaultThreads' | 'oneThread') => {
    let us = 0;
    for (const p of products) {
      const one = blasUs(report, p, threads);
      if (one === undefined) return undefined;
      us += one * p.count;
    }
    return us / 1e3;
  };
  return { hoisted: hoisted === true, products, performedFlops: products.reduce((s, p) => s + productFlops(p), 0), blasMs: { defaultThreads: blasMs('defaultThreads'), oneThread: blasMs('oneThread') } };
}

export function summarise(report: Report) {
  const peers = report.peers.map((p) => p.id);
  const families = familiesOf(peers);
  const phicFamily = families.find((f) => f.id === 'phic');
  return report.workloads
    .filter((w) => !isScaling(w.id))
    .map((w) => {
      const mine = phicFamily && bestSetting(report.results, w.id, phicFamily);
      const per: Partial<Record<PeerId, { medianMs?: number; maxRssMB?: number; baselineRssMB?: number; status: string }>> = {};
      for (const p of peers) {
        const r = get(report, w.id, p);
        per[p] = {
          medianMs: r?.status === 'ok' ? r.timing!.medianMs : undefined,
          maxRssMB: r?.memory?.maxRss ? r.memory.maxRss / MB : undefined,
          baselineRssMB: r?.memory?.baselineRss ? r.memory.baselineRss / MB : undefined,
          status: r?.status ?? 'missing',
        };
      }
      // the headline: every peer at its best thread setting, against phic at its best
      const best: Record<string, { peer: PeerId; medianMs: number; ratio?: number } | undefined> = {};
      for (const f of families) {
        const b = bestSetting(report.results, w.id, f);
        best[f.id] = b && { peer: b.peer, medianMs: b.medianMs, ratio: mine ? b.medianMs / mine.medianMs : undefined };
      }
      const roof = rooflineOf(report, w);
      return { workload: w.id, title: w.title, flops: w.flops, roofline: roof, best, peers: per };
    });
}

/** The head of a targets table, its ratios against `who`. */
const targetsHead = (who: string) => [
  `| workload | JAX jit / ${who} | ≥ 1× | PyTorch / ${who} | ≥ 1× | JAX, AᵀA by hand / ${who} | within 1.5× (P2, P3, P5) |`,
  '|---|---:|---|---:|---|---:|---|',
];

/** The targets' rows: each rival family at its best, divided by `base` (phic at its best, or phic on relaxed SIMD). */
function targets(rows: ReturnType<typeof summarise>, base: 'phic' | 'phicfma' = 'phic'): string[] {
  const verdict = (r: number | undefined, need: number) => (r === undefined ? 'not measured' : r >= need ? 'met' : 'NOT met');
  const cell = (r: number | undefined) => (r === undefined ? '—' : `${fmtTargetRatio(r)}×`);
  return rows.map((row) => {
    const mine = row.best[base]?.medianMs;
    const ratio = (family: string) => {
      const theirs = row.best[family]?.medianMs;
      return theirs === undefined || mine === undefined ? undefined : theirs / mine;
    };
    const torch = ratio('pytorch');
    const jax = ratio('jax');
    const ata = ratio('jaxata');
    // within 1.5× of JAX with AᵀA by hand: JAX-AᵀA / phic ≥ 1/1.5, on P2, P3 and P5
    const ataNeed = ['P2', 'P3', 'P5'].includes(row.workload) ? 1 / 1.5 : undefined;
    return `| ${row.workload} | ${cell(jax)} | ${verdict(jax, 1)} | ${cell(torch)} | ${verdict(torch, 1)} | ${cell(ata)} | ${ataNeed === undefined ? 'n/a' : `≥ 0.67×: ${verdict(ata, ataNeed)}`} |`;
  });
}

const scalingPointsOf = (report: Report) => report.workloads.filter((w) => isScaling(w.id));

export function markdown(report: Report): string {
  const rows = summarise(report);
  const peers = report.peers.map((p) => p.id);
  const others = peers.filter((p) => p !== 'phic');
  const m = report.machine;
  const out: string[] = [];
  const push = (...s: string[]) => out.push(...s);
  push(
    '# phic against its peers',
    '',
    'Generated by `npm run bench:peers` (samples/bench/peers/); the whole file is rewritten by each run. ',
    'All numbers below come from one run, in one process tree: every peer × workload ran in its own child process, ',
    'on the same data (seeded, written once to binary files), with the same algorithm, K and t, and its result was ',
    'checked against phic\'s before it was timed.',
    '',
    `**Machine:** ${m.cpu} (${m.cpuDetails}), ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}. ` +
      `Measured ${report.date}; load average ${m.loadAverageAtStart.join(' / ')} at the start and ${m.loadAverageAtEnd.join(' / ')} at the end ` +
      `(1/5/15 min; anything near ${m.cores} means another process shared the cores). The run took ${(report.wallS / 60).toFixed(1)} min.`,
    '',
    '## Peers',
    '',
    '| peer | version | precision | how it differentiates |',
    '|---|---|---|---|',
  );
  for (const p of report.peers) {
    const rs = report.results.filter((r) => r.peer === p.id && r.method);
    const byMethod = new Map<string, string[]>();
    for (const r of rs) byMethod.set(r.method!, [...(byMethod.get(r.method!) ?? []), r.workload]);
    const methods = [...byMethod].map(([method, ws]) => `${ws.join(', ')}: ${method}`);
    const precision = [...new Set(rs.map((r) => r.precision).filter(Boolean))].join(', ');
    push(`| ${NAMES[p.id]} | ${p.skipped ? `**SKIPPED: ${p.skipped}**` : (p.version ?? '?')} | ${precision || '—'} | ${methods.join('<br>') || '—'} |`);
  }
  const families = familiesOf(peers);
  const rivalsAll = familiesOf([...new Set(report.results.map((r) => r.peer))]);
  const main = report.workloads.filter((w) => !isScaling(w.id));
  push(
    '',
    '## Where phic\'s lead comes from',
    '',
    'Much of phic\'s lead over PyTorch on the ridge and least-squares workloads comes from one rewrite: phic forms AᵀA and Aᵀb once per call, outside the loop ',
    '(when that is cheaper for the dims and K), so each step is one n×n product instead of two m×n products. PyTorch and "JAX jit" run the algorithm as written. ',
    '"JAX, AᵀA by hand" is JAX with the same rewrite done by the user; the distance between the two JAX columns is what the rewrite is worth, ',
    'and phic against "JAX, AᵀA by hand" compares the rest (kernels, per-step overhead). The tanh layer (P4) has no AᵀA: the rewrite does not apply there.',
    '',
    '## Workloads',
    '',
    '| id | problem | sizes | K | t | derivative | nominal flops per call | flops phic performs |',
    '|---|---|---|---:|---:|---|---:|---:|',
    ...main.map((w) => {
      const roof = rooflineOf(report, w);
      return `| ${w.id} | ${w.problem} | ${Object.entries(w.dims).map(([k, v]) => `${k} = ${v}`).join(', ')} | ${w.K} | ${w.t} | ${w.what} | ${(w.flops / 1e6).toFixed(1)} M | ${roof ? `${(roof.performedFlops / 1e6).toFixed(1)} M${roof.hoisted && w.problem !== 'tanh' ? ' (AᵀA hoisted)' : ''}` : '—'} |`;
    }),
    '',
    'Nominal flops: the algorithm as written (workloads.ts, `flops()`; a multiply-add counts 2, each elementwise operation 1, nothing hoisted but Uθ). ',
    'Flops phic performs: its matrix products only (performed.ts: the kernel calls its generated code makes, with AᵀA formed once where its compile report says it hoisted), elementwise work not counted.',
    '',
    '## Headline: median time per call, each peer at its best thread setting',
    '',
    'Each peer that has a thread setting (phic: default threads or `{ threads: 1 }`; PyTorch: 2 or 1 threads; JAX: XLA\'s default or one thread) ',
    'is taken at its faster median on each workload; the cell says which setting won. Ratio = peer / phic (both at their best): above 1, phic is faster; ',
    '**bold: the peer is faster than phic**. Both settings\' numbers are in the next table.',
    '',
    `| workload | ${families.map((f) => f.name).join(' | ')} |`,
    `|---|${families.map(() => '---:').join('|')}|`,
  );
  for (const row of rows) {
    const cells = families.map((f) => {
      const b = row.best[f.id];
      if (!b) {
        const why = f.settings.map((p) => get(report, row.workload, p)).find((r) => r && r.status !== 'ok');
        return why?.status === 'skipped' && why.message?.startsWith('not applicable') ? 'n/a' : status(why) || '—';
      }
      const setting = f.settings.length > 1 ? `, ${SETTING[b.peer]}` : '';
      if (f.id === 'phic') return `**${fmtMs(b.medianMs)} ms**${setting}`;
      const ratio = b.ratio === undefined ? '?' : `${fmtRatio(b.ratio)}×`;
      return b.ratio !== undefined && b.ratio < 1 ? `${fmtMs(b.medianMs)} ms (**${ratio}, faster than phic**)${setting}` : `${fmtMs(b.medianMs)} ms (${ratio})${setting}`;
    });
    push(`| ${row.title} | ${cells.join(' | ')} |`);
  }
  push(
    '',
    '## Every setting of every peer',
    '',
    'Median ms per call; ratio = that setting / phic at its default setting.',
    '',
    `| workload | ${peers.map((p) => NAMES[p]).join(' | ')} |`,
    `|---|${peers.map(() => '---:').join('|')}|`,
  );
  for (const row of rows) {
    const phicMs = row.peers.phic?.medianMs;
    const cells = peers.map((p) => {
      const c = row.peers[p]!;
      const r = get(report, row.workload, p);
      if (c.medianMs === undefined) return r?.status === 'skipped' && r.message?.startsWith('not applicable') ? 'n/a' : status(r) || '—';
      return p === 'phic' ? `**${fmtMs(c.medianMs)} ms**` : `${fmtMs(c.medianMs)} ms (${phicMs === undefined ? '?' : `${fmtRatio(c.medianMs / phicMs)}×`})`;
    });
    push(`| ${row.title} | ${cells.join(' | ')} |`);
  }
  push('', '![median time per call, log scale](peers.svg)', '');

  push(
    '## Against the same BLAS calls (roofline)',
    '',
    'For each workload, the matrix products phic\'s generated code performs in one call (performed.ts) and the time numpy (`/usr/bin/python3`, OpenBLAS) takes for the same-shaped calls ',
    '(A @ x, A.T @ x, A @ B, with out= buffers; roofline.py), added up over the call, at 1 thread and at OpenBLAS\'s default thread count. ',
    '"BLAS / phic" = that BLAS time / phic\'s median at the matching thread setting: the share of phic\'s time the products would take as BLAS calls. ',
    'Each BLAS time is the faster of one call from Python and the same call repeated over a stack in numpy\'s C loop (`np.matmul` on a broadcast stack), so Python\'s per-call overhead does not count at small sizes. ',
    'phic\'s time also holds its elementwise work and per-step overhead, which the BLAS time does not. phic runs JavaScript with WebAssembly SIMD kernels for its products (float64 pairs, no FMA).',
    '',
    `| workload | products phic performs per call | BLAS, 1 thread | phic, 1 thread | BLAS / phic, 1 thread | BLAS, ${m.cores} threads | phic, default threads | BLAS / phic, default |`,
    '|---|---|---:|---:|---:|---:|---:|---:|',
  );
  for (const row of rows) {
    const roof = row.roofline;
    if (!roof) {
      push(`| ${row.workload} | — (no phic compile report) | — | — | — | — | — | — |`);
      continue;
    }
    const list = roof.products.map((p) => `${p.count}× ${shapeKey(p)} (${p.what})`).join('<br>');
    const one = row.peers.phic1t?.medianMs;
    const dflt = row.peers.phic?.medianMs;
    const b1 = roof.blasMs.oneThread;
    const b2 = roof.blasMs.defaultThreads;
    const frac = (b: number | undefined, t: number | undefined) => (b === undefined || t === undefined ? '—' : `${((b / t) * 100).toFixed(0)} %`);
    push(`| ${row.workload} | ${list} | ${b1 === undefined ? '—' : `${fmtMs(b1)} ms`} | ${one === undefined ? '—' : `${fmtMs(one)} ms`} | ${frac(b1, one)} | ${b2 === undefined ? '—' : `${fmtMs(b2)} ms`} | ${dflt === undefined ? '—' : `${fmtMs(dflt)} ms`} | ${frac(b2, dflt)} |`);
  }
  const roof = report.roofline;
  if (roof) {
    const peak2 = roof.defaultThreads.find((e) => e.peak);
    const peak1 = roof.oneThread?.find((e) => e.peak);
    const blas = Array.isArray(roof.blas)
      ? (roof.blas as Record<string, unknown>[]).map((b) => `${String(b.internal_api)} ${String(b.version)}, kernel ${String(b.architecture)}, ${String(b.threading_layer)}, ${String(b.num_threads)} threads (${String(b.filepath)})`).join('; ')
      : String(roof.blas);
    push(
      '',
      `Compute ceiling: a 1000³ dgemm runs at ${peak2 ? fmtG(peak2.gflops) : '?'} GFLOP/s (${m.cores} threads) and ${peak1 ? fmtG(peak1.gflops) : '?'} GFLOP/s (1 thread). ` +
        `numpy ${roof.numpy}; BLAS: ${blas}. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE were ${JSON.stringify(roof.unsetForThisCommand)} in the benchmark\'s environment and unset for this command only.`,
    );
  } else push('', '**The roofline was not measured** (see the failures below).');

  push(
    '',
    '## Peak resident memory',
    '',
    'Peak resident set (MB) of each child process, the whole process: runtime, library, data and work (the phic child holds the generated module only, not the compiler). In brackets: the resident set ',
    'after the runtime and the peer\'s library were loaded, before any data (Node ≈ 40–60 MB, Python + torch ≈ 150–250 MB).',
    '',
    `| workload | ${peers.map((p) => NAMES[p]).join(' | ')} |`,
    `|---|${peers.map(() => '---:').join('|')}|`,
  );
  for (const row of rows) {
    push(`| ${row.workload} | ${peers.map((p) => { const c = row.peers[p]!; return c.maxRssMB === undefined ? '—' : `${c.maxRssMB.toFixed(0)} (${c.baselineRssMB?.toFixed(0) ?? '?'})`; }).join(' | ')} |`);
  }

  const p1 = report.workloads.filter((w) => w.id.startsWith('P1'));
  if (p1.length) {
    push(
      '',
      '## phic\'s reverse-mode memory on P1',
      '',
      'Bytes of the buffers `create()` lays out (`bufferBytes()` right after it: all of the module\'s buffers are allocated there and reused by every call; with the SIMD kernels they are views into one WebAssembly memory, which is whole 64 KiB pages), ',
      'against the expected data (inputs are copied in) + (K − t)·n·8 bytes of tape + a fixed cost (work vectors).',
      '',
      '| workload | K − t | create() bytes | data bytes | tape expected (K − t)·n·8 | fixed = create − data − tape | child peak RSS |',
      '|---|---:|---:|---:|---:|---:|---:|',
    );
    const creates: Record<string, number> = {};
    for (const w of p1) {
      const r = get(report, w.id, 'phic');
      const b = r?.phicBuffers;
      if (!b) {
        push(`| ${w.id} | ${w.K - w.t} | — | — | ${((w.K - w.t) * w.dims.n! * 8).toLocaleString('en-US')} | — | — |`);
        continue;
      }
      creates[w.id] = b.createBytes;
      push(`| ${w.id} | ${w.K - w.t} | ${b.createBytes.toLocaleString('en-US')} | ${b.dataBytes.toLocaleString('en-US')} | ${b.expectedTapeBytes.toLocaleString('en-US')} | ${(b.createBytes - b.dataBytes - b.expectedTapeBytes).toLocaleString('en-US')} | ${r?.memory ? (r.memory.maxRss / MB).toFixed(0) : '—'} MB |`);
    }
    if (creates['P1-t0'] !== undefined && creates['P1-t100'] !== undefined) {
      const d = creates['P1-t0'] - creates['P1-t100'];
      const w = p1[0]!;
      const expected = 100 * w.dims.n! * 8;
      push('', `t = 0 minus t = 100: ${d.toLocaleString('en-US')} bytes, expected 100·n·8 = ${expected.toLocaleString('en-US')} bytes: ${d === expected ? 'exactly the tape, as required' : 'NOT exactly the tape'}.`);
    }
  }

  const jaxPeers = (['jax', 'jax1t', 'jaxata', 'jaxata1t'] as const).filter((p) => peers.includes(p));
  push(
    '',
    '## Compile time, apart from the calls',
    '',
    'phic: wall time of `compile(spec, { mode, K, truncate, dims })` in a fresh process of its own (phic-compile.ts, which writes the module the phic child then imports, as `phic compile` does ahead of time): cold is the first compile of the process (lazy loading of the compiler included), warm is the same spec compiled again; target < 1 s. ',
    'JAX: trace + XLA compile of the jitted call (`jax.jit(f).lower(...).compile()`) in its child, once, before the checked call; the timed calls run the compiled executable. Neither is in the medians above.',
    '',
    `| workload | mode | phic cold | phic warm | phic target | ${jaxPeers.map((p) => `${NAMES[p]}: jit compile`).join(' | ')} |`,
    `|---|---|---:|---:|---|${jaxPeers.map(() => '---:|').join('')}`,
  );
  for (const w of report.workloads) {
    const c = get(report, w.id, 'phic')?.compileMs;
    const jc = jaxPeers.map((p) => {
      const ms = get(report, w.id, p)?.peerCompileMs;
      return ms === undefined ? '—' : `${fmtMs(ms)} ms`;
    });
    push(`| ${w.id} | ${w.mode} | ${c ? `${fmtMs(c.cold)} ms` : '—'} | ${c ? `${fmtMs(c.warm)} ms` : '—'} | ${c ? (c.cold < 1000 ? 'met' : c.warm < 1000 ? 'met warm, NOT cold' : 'NOT met') : '—'} | ${jc.join(' | ')} |`);
  }

  push(
    '',
    '## Targets (for the compiler work)',
    '',
    'Every peer at its best thread setting, against phic at its best; ratio = peer / phic.',
    '',
    ...targetsHead('phic'),
    ...targets(rows),
  );
  for (const p of scalingPointsOf(report)) {
    const phicFamily = rivalsAll.find((f) => f.id === 'phic');
    const mine = phicFamily && bestSetting(report.results, p.id, phicFamily);
    const rs = ['pytorch', 'jax'].map((id) => {
      const f = rivalsAll.find((x) => x.id === id);
      const b = f && bestSetting(report.results, p.id, f);
      return b && mine ? b.medianMs / mine.medianMs : undefined;
    });
    const ok = rs.every((r) => r !== undefined) ? rs.every((r) => r! >= 1) : undefined;
    push(`| ${p.title} (scaling) | ${rs[1] === undefined ? '—' : `${fmtTargetRatio(rs[1])}×`} | ${ok === undefined ? 'not measured' : rs[1]! >= 1 ? 'met' : 'NOT met'} | ${rs[0] === undefined ? '—' : `${fmtTargetRatio(rs[0])}×`} | ${ok === undefined ? 'not measured' : rs[0]! >= 1 ? 'met' : 'NOT met'} | | |`);
  }
  if (rows.some((row) => row.best.phicfma))
    push(
      '',
      'The same targets with phic on its relaxed-SIMD kernels (fused multiply-adds, `create(dims, { kernels: \'relaxed\' })` at the default threads), ' +
        'which Node 20 runs only with `--experimental-wasm-relaxed-simd` (Node 22 and Chromium have relaxed SIMD by default). Not counted in the table above, whose phic is what this Node runs by default:',
      '',
      ...targetsHead('phic relaxed'),
      ...targets(rows, 'phicfma'),
    );
  push('', ...scalingMarkdown(report.workloads, report.results, NAMES));

  push('', '## Agreement, checked before timing', '', 'Relative difference ‖a − b‖₂ / max(‖a‖₂, ‖b‖₂) against phic, of x_K (TF.js on P1: of ½‖x_K‖²) and of the derivative.', '', '| workload | peer | x_K | derivative | tolerance | |', '|---|---|---:|---:|---:|---|');
  for (const w of report.workloads) {
    for (const p of others) {
      const c = get(report, w.id, p)?.check;
      if (c) push(`| ${w.id} | ${NAMES[p]} | ${c.state.toExponential(1)} | ${c.derivative.toExponential(1)} | ${c.tolerance} | ${c.passed ? 'ok' : '**DISAGREES**'} |`);
    }
  }
  push('', 'Tolerances: hand-written 1e-10; float64 peers (PyTorch, JAX, jax-js) 1e-9; float32 peers (TF.js) 2e-3, the accumulated float32 rounding over K steps.');

  const rounds = report.rounds?.count ?? 1;
  if (rounds > 1) {
    const cols = Array.from({ length: rounds }, (_, i) => `round ${i + 1}`);
    push('', '## Rounds', '', "Each round's median time per call (ms), the median of them (the time used above), and the slowest round over the fastest: how much a peer's time moved from one process to the next.", '', `| workload | peer | ${cols.join(' | ')} | median | slowest / fastest |`, `|---|---|${cols.map(() => '---:').join('|')}|---:|---:|`);
    for (const w of report.workloads) {
      for (const p of report.rounds!.peers) {
        const t = get(report, w.id, p)?.timing;
        if (!t?.roundMediansMs) continue;
        const ms = t.roundMediansMs;
        push(`| ${w.id} | ${NAMES[p]} | ${ms.map(fmtMs).join(' | ')} | ${fmtMs(t.medianMs)} | ${(Math.max(...ms) / Math.min(...ms)).toFixed(2)} |`);
      }
    }
  }

  if (report.profile) {
    const pr = report.profile;
    push(
      '',
      `## Where phic's time goes (${pr.workload})`,
      '',
      `\`node --cpu-prof\` on the phic child of ${pr.workload} (${pr.chosenBecause}): self time per function over the whole child ` +
        `(loading the generated module, the checked call, warm-up and timed calls; ${fmtMs(pr.totalMs)} ms sampled). ${pr.generatedPercent.toFixed(0)} % of it is in the generated module.`,
      '',
      '| function | where | self time | share |',
      '|---|---|---:|---:|',
      ...pr.top.map((e) => `| \`${e.name}\` | ${e.where} | ${fmtMs(e.ms)} ms | ${e.percent.toFixed(1)} % |`),
    );
    if (pr.hotLines.length) {
      push('', 'The hottest lines of the generated module (share of its samples that V8 attributes to the line):', '', '| share | line | code |', '|---:|---:|---|');
      for (const l of pr.hotLines) push(`| ${l.percent.toFixed(1)} % | ${l.line} | \`${l.code.replace(/\|/g, '\\|')}\` |`);
    }
  }

  const bad = report.results.filter((r) => r.status !== 'ok');
  push('', '## Failures and skips', '');
  if (!bad.length && !report.notes.length) push('None: every peer ran every workload.');
  for (const r of bad) push(`- **${r.workload} ${NAMES[r.peer]}: ${r.status.toUpperCase()}**: ${(r.message ?? '').split('\n')[0]}`);
  for (const n of report.notes) push(`- ${n}`);

  push(
    '',
    '## How it is measured',
    '',
    '- Each call computes everything from the inputs: x_0 = 0, K iterations (the first t idle), the derivative, and returns the results on the host (phic: fresh Float64Arrays; jax-js: `dataSync()`, which also forces its lazy arrays; TF.js: `dataSync()` inside `tf.tidy`; PyTorch: `.numpy()`). Data are placed in each library\'s arrays once, outside the timed calls; phic copies its inputs in on every call, as its API does.',
    '- Timing rule (protocol.ts, the same in peer_common.py for PyTorch and JAX): after the checked call, warm up for at least 1 s and 2 more calls (1 more call when a call takes over 3 s); then time ceil(5 s / last call) calls, at least 5 (3 for calls over 2 s) and at most 60; report the median.',
    ...(report.rounds && report.rounds.count > 1
      ? [`- Rounds: every child of ${report.rounds.peers.map((p) => `"${NAMES[p]}"`).join(', ')} ran ${report.rounds.count} times, in ${report.rounds.count} rounds that each run the peers of a workload in turn (the others once); a time above is the median of its rounds' medians, and the table below gives each round's. A child's speed depends on the core it is given, and on a virtual machine the cores need not be alike for long: on the 2-core machine of 2026-12-05, for a stretch of minutes one core ran memory-bound code 1.6 times as slowly as the other (pinned with \`taskset\`: streaming reads of a 1 MB array 1.13 against 0.70 ns a float64, the same one-thread phic module on P4 4.1 against 2.7 ms), then both ran alike. One child per peer can put the slow core on one peer and not on its rival; interleaved rounds spread it over all of them.`]
      : []),
    '- Thread settings: PyTorch with `torch.set_num_threads(2)` and with 1 thread (OpenBLAS held to the same count); JAX with XLA\'s CPU client as it comes and with `XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`; phic splits its large kernel calls over worker threads by default (one per core, up to 4) and "phic, 1 thread" is the same module created with `{ threads: 1 }`. TF.js wasm reports no thread support in Node, jax-js\'s wasm backend in Node runs on the main thread, the hand-written loops are plain JavaScript. The headline and the targets take each peer at its faster setting per workload: on a machine whose other core is busy, 2 threads can be much slower than 1 (a thread waits for a descheduled partner), and the load average above says how busy it was. "phic" against "phic, 1 thread" here compares two child processes, each on whatever core it was given; `node dist/samples/bench/threads.js [--hog]` compares the same settings in one process, call by call, on these workloads (docs/benchmarks.md).',
    '- JAX: float64 (`jax_enable_x64`), one `jax.jit` over the whole call, the unroll as `lax.scan`, `jax.vjp` / `jax.jvp` / `jax.jacfwd`, the idle iterations (t > 0) a first scan with θ behind `stop_gradient`; installed with pip into a venv of its own (node_modules/.cache/phic-peers/jax-venv). Its data are placed on the device once, and each call brings its results back to the host with `jax.device_get`.',
    '- Peak memory: `process.resourceUsage().maxRSS` (Node) and `resource.getrusage(RUSAGE_SELF).ru_maxrss` (Python) at the end of the child.',
  );
  return `${out.join('\n')}\n`;
}

function chartSpec(report: Report): vegaLite.TopLevelSpec {
  const rows = summarise(report);
  const peers = report.peers.map((p) => p.id);
  const values = rows.flatMap((r) => peers.filter((p) => r.peers[p]?.medianMs !== undefined).map((p) => ({ workload: r.workload, peer: NAMES[p], ms: r.peers[p]!.medianMs! })));
  const order = peers.map((p) => NAMES[p]);
  // Bars start at the power of ten below the smallest time, so the fastest bar is visible.
  const floor = 10 ** Math.floor(Math.log10(Math.max(1e-6, Math.min(...values.map((v) => v.ms), 1e9) * 0.9)));
  const ceiling = 10 ** Math.ceil(Math.log10(Math.max(...values.map((v) => v.ms), 1e-6)));
  // Peers without a time (failed, disagreed, skipped) get a label where their bar would be.
  const missing = rows.flatMap((r) =>
    peers.filter((p) => r.peers[p]?.medianMs === undefined && r.peers[p]?.status !== 'missing').map((p) => ({ workload: r.workload, peer: NAMES[p], label: `${NAMES[p]}: ${get(report, r.workload, p)?.message?.startsWith('not applicable') ? 'n/a' : String(r.peers[p]!.status)}`, ms: floor * 1.3 })),
  );
  const x = { field: 'workload', type: 'nominal', title: null, sort: rows.map((r) => r.workload), axis: { labelAngle: 0 } };
  const xOffset = { field: 'peer', type: 'nominal', sort: order, scale: { domain: order } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Median time per call (log scale; lower is better)', subtitle: `${report.machine.cpu}, ${report.machine.cores} cores, ${report.date}` },
    background: 'white',
    width: 720,
    height: 340,
    encoding: {
      x,
      xOffset,
      // stack: null, or vega-lite stacks the bars and a log scale cannot draw them.
      y: { field: 'ms', type: 'quantitative', title: 'ms per call (log scale)', stack: null, scale: { type: 'log', domain: [floor, ceiling] } },
    },
    layer: [
      {
        data: { values },
        mark: { type: 'bar' },
        encoding: {
          // up to 12 peers: a 20-colour scheme (the default 10 repeat), the legend in rows of 6
          color: { field: 'peer', type: 'nominal', sort: order, scale: { domain: order, scheme: 'tableau20' }, title: null, legend: { orient: 'bottom', direction: 'horizontal', columns: 6 } },
          tooltip: [{ field: 'peer' }, { field: 'workload' }, { field: 'ms', format: '.3g' }],
        },
      },
      {
        data: { values: missing },
        mark: { type: 'text', angle: 270, align: 'left', baseline: 'middle', fontSize: 10, color: '#b00' },
        encoding: { text: { field: 'label' } },
      },
    ],
  } as unknown as vegaLite.TopLevelSpec;
}

export async function writeReport(report: Report, docsDir: string): Promise<string[]> {
  mkdirSync(docsDir, { recursive: true });
  const files: string[] = [];
  const write = (name: string, data: string | Buffer) => {
    const file = join(docsDir, name);
    writeFileSync(file, data);
    files.push(file);
  };
  write('peers.md', markdown(report));
  write('peers.json', `${JSON.stringify({ ...report, summary: summarise(report) }, null, 1)}\n`);
  try {
    const svg = await renderSvg(chartSpec(report));
    write('peers.svg', svg);
    write('peers.png', svgToPng(svg));
    const scaling = scalingChart(report.workloads, report.results, NAMES, `${report.machine.cpu}, ${report.machine.cores} cores, ${report.date}`);
    if (scaling) {
      const s2 = await renderSvg(scaling);
      write('peers-scaling.svg', s2);
      write('peers-scaling.png', svgToPng(s2));
    }
  } catch (e) {
    process.stderr.write(`\n!!!!!!!! THE CHART WAS NOT DRAWN: ${e instanceof Error ? e.message : String(e)}\n`);
  }
  return files;
}
