// The peer benchmark's outputs: docs/peers.md (Markdown tables), docs/peers.json (everything
// measured) and docs/peers.svg + .png (a bar chart of the median times, log scale), drawn
// with vega-lite through src/lab/plot.ts.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as vegaLite from 'vega-lite';
import { renderSvg, svgToPng } from '../../../src/lab/plot.js';
import type { ProfileSummary } from './profile.js';
import type { ChildResult, PeerId } from './protocol.js';
import type { WorkloadMeta } from './workloads.js';

export interface RooflineEntry {
  kind: 'matvec' | 'matmul';
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
  wallS: number;
}

const NAMES: Record<PeerId, string> = { phic: 'phic', phic1t: 'phic, 1 thread', phicjs: 'phic, JS loops', handwritten: 'hand-written', pytorch: 'PyTorch (2 threads)', pytorch1t: 'PyTorch (1 thread)', jaxjs: 'jax-js', tfjs: 'TF.js (wasm)' };
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

function hot(report: Report, meta: WorkloadMeta, threads: 'defaultThreads' | 'oneThread'): RooflineEntry | undefined {
  const h = meta.hotOp;
  return report.roofline?.[threads]?.find((e) => !e.peak && e.kind === h.kind && e.m === h.m && e.n === h.n && (e.k ?? undefined) === (h.k ?? undefined));
}

const hotName = (h: WorkloadMeta['hotOp']) => (h.kind === 'matvec' ? `matvec ${h.m}×${h.n}` : `matmul ${h.m}×${h.n}·${h.n}×${h.k}`);

export function summarise(report: Report) {
  const peers = report.peers.map((p) => p.id);
  return report.workloads.map((w) => {
    const phic = get(report, w.id, 'phic');
    const phicMs = phic?.status === 'ok' ? phic.timing!.medianMs : undefined;
    const per: Partial<Record<PeerId, { medianMs?: number; ratio?: number; gflops?: number; maxRssMB?: number; baselineRssMB?: number; status: string }>> = {};
    for (const p of peers) {
      const r = get(report, w.id, p);
      const ms = r?.status === 'ok' ? r.timing!.medianMs : undefined;
      per[p] = {
        medianMs: ms,
        ratio: ms !== undefined && phicMs !== undefined ? ms / phicMs : undefined,
        gflops: ms !== undefined ? w.flops / (ms * 1e6) : undefined,
        maxRssMB: r?.memory?.maxRss ? r.memory.maxRss / MB : undefined,
        baselineRssMB: r?.memory?.baselineRss ? r.memory.baselineRss / MB : undefined,
        status: r?.status ?? 'missing',
      };
    }
    const roof2 = hot(report, w, 'defaultThreads');
    const roof1 = hot(report, w, 'oneThread');
    const phicG = per.phic?.gflops;
    return {
      workload: w.id,
      title: w.title,
      flops: w.flops,
      hotOp: hotName(w.hotOp),
      rooflineGflops: { defaultThreads: roof2?.gflops, oneThread: roof1?.gflops },
      phicFractionOfRoofline: phicG !== undefined && roof1 ? { oneThread: phicG / roof1.gflops, defaultThreads: roof2 ? phicG / roof2.gflops : undefined } : undefined,
      peers: per,
    };
  });
}

function targets(report: Report, rows: ReturnType<typeof summarise>): string[] {
  const lines: string[] = [];
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'not measured' : ok ? 'met' : 'NOT met');
  for (const row of rows) {
    const torch = row.peers.pytorch?.ratio;
    const need = ['P2', 'P4', 'P5'].includes(row.workload) ? 2 : 1;
    const js = (['jaxjs', 'tfjs'] as const).map((p) => row.peers[p]?.ratio);
    const jsOk = js.every((r) => r !== undefined) ? js.every((r) => r! >= 10) : undefined;
    lines.push(
      `| ${row.workload} | ${torch === undefined ? '—' : `${fmtTargetRatio(torch)}×`} | ≥ ${need}× | ${verdict(torch === undefined ? undefined : torch >= need)} | ${js.map((r) => (r === undefined ? '—' : `${fmtTargetRatio(r)}×`)).join(' / ')} | ${verdict(jsOk)} |`,
    );
  }
  return lines;
}

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
  push(
    '',
    '## Workloads',
    '',
    '| id | problem | sizes | K | t | derivative | flops per call |',
    '|---|---|---|---:|---:|---|---:|',
    ...report.workloads.map((w) => `| ${w.id} | ${w.problem} | ${Object.entries(w.dims).map(([k, v]) => `${k} = ${v}`).join(', ')} | ${w.K} | ${w.t} | ${w.what} | ${(w.flops / 1e6).toFixed(1)} M |`),
    '',
    'Flops are counted analytically for the algorithm as written (workloads.ts, `flops()`): a multiply-add counts 2, ',
    'each elementwise operation 1, nothing hoisted but Uθ. A code that hoists AᵀA or fuses loops does fewer; its GFLOP/s is then an effective rate.',
    '',
    '## Median time per call, and ratio peer / phic',
    '',
    'Ratio = peer\'s median / phic\'s median: above 1, phic is faster.',
    '',
    `| workload | ${peers.map((p) => NAMES[p]).join(' | ')} |`,
    `|---|${peers.map(() => '---:').join('|')}|`,
  );
  for (const row of rows) {
    const cells = peers.map((p) => {
      const c = row.peers[p]!;
      if (c.medianMs === undefined) return status(get(report, row.workload, p)) || '—';
      return p === 'phic' ? `**${fmtMs(c.medianMs)} ms**` : `${fmtMs(c.medianMs)} ms (${c.ratio === undefined ? '?' : `${fmtRatio(c.ratio)}×`})`;
    });
    push(`| ${row.title} | ${cells.join(' | ')} |`);
  }
  push('', '![median time per call, log scale](peers.svg)', '');

  push(
    '## Achieved GFLOP/s against the roofline',
    '',
    'Roofline: numpy (`/usr/bin/python3`) on the workload\'s hot operation at its size, OpenBLAS\'s default thread count and 1 thread. ',
    'phic runs JavaScript with WebAssembly SIMD kernels for its matrix products (float64 pairs, no FMA); by default the kernel calls of at least 8192 multiply-adds are split over worker threads (as many as the cores, at most 4), so its ceiling is the multi-thread figure, and the 1-thread one for "phic, 1 thread". Small sizes are bound by numpy\'s per-call overhead, not the BLAS kernel. ',
    'GFLOP/s = the workload\'s nominal flops / median time. "phic hoisted invariants": the generated module computes loop invariants once per call ',
    '(e.g. AᵀA and Aᵀb, when cheaper for the dims), so it does fewer flops than counted and its rate is an effective one.',
    '',
    `| workload | hot op | numpy, ${m.cores} threads | numpy, 1 thread | ${peers.map((p) => NAMES[p]).join(' | ')} | phic / numpy 1 thread | phic hoisted invariants | phic SIMD kernels |`,
    `|---|---|---:|---:|${peers.map(() => '---:').join('|')}|---:|---|---|`,
  );
  for (const row of rows) {
    const g = peers.map((p) => (row.peers[p]!.gflops === undefined ? '—' : fmtG(row.peers[p]!.gflops!)));
    const r2 = row.rooflineGflops.defaultThreads;
    const r1 = row.rooflineGflops.oneThread;
    const frac = row.phicFractionOfRoofline?.oneThread;
    const extra = get(report, row.workload, 'phic')?.extra;
    const hoisted = extra?.hoistedInvariants;
    const kernels = extra?.kernels as string[] | undefined;
    push(`| ${row.workload} | ${row.hotOp} | ${r2 === undefined ? '—' : fmtG(r2)} | ${r1 === undefined ? '—' : fmtG(r1)} | ${g.join(' | ')} | ${frac === undefined ? '—' : `${(frac * 100).toFixed(0)} %`} | ${hoisted === undefined ? '—' : hoisted ? 'yes' : 'no'} | ${kernels === undefined ? '—' : kernels.join(', ') || 'none'} |`);
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

  push('', '## phic compile time', '', 'Wall time of `compile(spec, { mode, K, truncate, dims })` in a fresh process of its own (phic-compile.ts, which writes the module the phic child then imports, as `phic compile` does ahead of time): cold is the first compile of the process (lazy loading of the compiler included), warm is the same spec compiled again. Target: < 1 s.', '', '| workload | mode | cold | warm | target |', '|---|---|---:|---:|---|');
  for (const w of report.workloads) {
    const c = get(report, w.id, 'phic')?.compileMs;
    push(`| ${w.id} | ${w.mode} | ${c ? `${fmtMs(c.cold)} ms` : '—'} | ${c ? `${fmtMs(c.warm)} ms` : '—'} | ${c ? (c.cold < 1000 ? 'met' : c.warm < 1000 ? 'met warm, NOT cold' : 'NOT met') : '—'} |`);
  }

  push('', '## Targets (for the compiler work)', '', '| workload | PyTorch (2 threads) / phic | target | verdict | jax-js / phic, TF.js / phic | ≥ 10× |', '|---|---:|---|---|---|---|', ...targets(report, rows));

  push('', '## Agreement, checked before timing', '', 'Relative difference ‖a − b‖₂ / max(‖a‖₂, ‖b‖₂) against phic, of x_K (TF.js on P1: of ½‖x_K‖²) and of the derivative.', '', '| workload | peer | x_K | derivative | tolerance | |', '|---|---|---:|---:|---:|---|');
  for (const w of report.workloads) {
    for (const p of others) {
      const c = get(report, w.id, p)?.check;
      if (c) push(`| ${w.id} | ${NAMES[p]} | ${c.state.toExponential(1)} | ${c.derivative.toExponential(1)} | ${c.tolerance} | ${c.passed ? 'ok' : '**DISAGREES**'} |`);
    }
  }
  push('', 'Tolerances: hand-written 1e-10; float64 peers (PyTorch, jax-js) 1e-9; float32 peers (TF.js) 2e-3, the accumulated float32 rounding over K steps.');

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
    '- Timing rule (protocol.ts, the same in torch_peer.py): after the checked call, warm up for at least 1 s and 2 more calls (1 more call when a call takes over 3 s); then time ceil(5 s / last call) calls, at least 5 (3 for calls over 2 s) and at most 60; report the median.',
    '- PyTorch: float64, autograd through the unrolled loop, `torch.set_num_threads(2)` as the issue asks, and again with 1 thread (and OpenBLAS limited to 1 thread), like every other peer here: TF.js wasm reports no thread support in Node, jax-js\'s wasm backend in Node runs on the main thread, the hand-written loops are plain JavaScript, and phic splits its large kernel calls over worker threads (the default, one per core up to 4; "phic, 1 thread" is the same module created with `{ threads: 1 }`). On a machine whose other core is busy, 2 OpenMP threads can be much slower than 1 (a thread waits for a descheduled partner at every parallel region): compare the two PyTorch columns with the load average above.',
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
    peers.filter((p) => r.peers[p]?.medianMs === undefined && r.peers[p]?.status !== 'missing').map((p) => ({ workload: r.workload, peer: NAMES[p], label: `${NAMES[p]}: ${String(r.peers[p]!.status)}`, ms: floor * 1.3 })),
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
          color: { field: 'peer', type: 'nominal', sort: order, scale: { domain: order }, title: null, legend: { orient: 'bottom', direction: 'horizontal' } },
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
  } catch (e) {
    process.stderr.write(`\n!!!!!!!! THE CHART WAS NOT DRAWN: ${e instanceof Error ? e.message : String(e)}\n`);
  }
  return files;
}
