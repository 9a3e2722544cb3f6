// The scaling section of docs/peers.md: ridge reverse mode (VJP) over n at K = 100 and over K
// at n = 1000, one line per peer setting, as a table and as docs/peers-scaling.{svg,png}
// (vega-lite, log–log, two panels).

import type * as vegaLite from 'vega-lite';
import type { ChildResult, PeerId } from './protocol.js';
import { bestSetting, familiesOf, SETTING } from './settings.js';
import type { WorkloadMeta } from './workloads.js';

export interface ScalingPoint {
  workload: string;
  n: number;
  K: number;
  /** Median ms of every peer setting that ran, and why the others have none. */
  ms: Partial<Record<PeerId, number>>;
  missing: Partial<Record<PeerId, string>>;
}

export const isScaling = (id: string): boolean => id.startsWith('S-');

export function scalingPoints(workloads: readonly WorkloadMeta[], results: readonly ChildResult[]): ScalingPoint[] {
  return workloads
    .filter((w) => isScaling(w.id))
    .map((w) => {
      const ms: ScalingPoint['ms'] = {};
      const missing: ScalingPoint['missing'] = {};
      for (const r of results.filter((x) => x.workload === w.id)) {
        if (r.status === 'ok' && r.timing) ms[r.peer] = r.timing.medianMs;
        else missing[r.peer] = r.status === 'skipped' ? (r.message ?? 'skipped') : r.status.toUpperCase();
      }
      return { workload: w.id, n: w.dims.n!, K: w.K, ms, missing };
    });
}

const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : ms >= 10 ? `${ms.toFixed(0)} ms` : `${ms.toFixed(2)} ms`);

/** Markdown lines of the scaling section (empty when no scaling point ran). */
export function scalingMarkdown(workloads: readonly WorkloadMeta[], results: readonly ChildResult[], names: Record<PeerId, string>): string[] {
  const points = scalingPoints(workloads, results);
  if (!points.length) return [];
  const peers = [...new Set(results.filter((r) => isScaling(r.workload)).map((r) => r.peer))];
  const families = familiesOf(peers);
  const out = [
    '## Scaling: ridge reverse mode over n and K',
    '',
    'Ridge regression, m = n, the VJP ū · dx_K/dθ (t = 0), over n at K = 100 and over K at n = 1000. Every setting of every peer is shown; ',
    'the ratio columns take each peer at its best setting on that point (named), divided by phic at its best: above 1, phic is faster; **bold**: the peer is faster. ',
    'phic forms AᵀA once per call only where that is cheaper than the products it saves (K large against n; the column "phic hoists AᵀA" says where it did); ',
    '"JAX, AᵀA by hand" forms it on every call regardless, which costs 2n³ flops. A point over the time budget of its child is skipped and says so.',
    '',
    `| n | K | phic hoists AᵀA | ${peers.map((p) => names[p]).join(' | ')} | ${families.filter((f) => f.id !== 'phic').map((f) => `${f.name} / phic`).join(' | ')} |`,
    `|---:|---:|---|${peers.map(() => '---:').join('|')}|${families.filter((f) => f.id !== 'phic').map(() => '---|').join('')}`,
  ];
  const phic = families.find((f) => f.id === 'phic');
  for (const p of points) {
    const cells = peers.map((peer) => (p.ms[peer] !== undefined ? fmt(p.ms[peer]!) : p.missing[peer] ? p.missing[peer]!.replace(/\|/g, '/').slice(0, 60) : '—'));
    const mine = phic && bestSetting(results, p.workload, phic);
    const ratios = families
      .filter((f) => f.id !== 'phic')
      .map((f) => {
        const b = bestSetting(results, p.workload, f);
        if (!b || !mine) return '—';
        const r = b.medianMs / mine.medianMs;
        const text = `${r >= 10 ? r.toFixed(0) : r.toFixed(2)}× (${SETTING[b.peer]} / ${SETTING[mine.peer]})`;
        return r < 1 ? `**${text}**` : text;
      });
    const hoisted = results.find((r) => r.workload === p.workload && r.extra?.hoistedInvariants !== undefined)?.extra?.hoistedInvariants;
    out.push(`| ${p.n} | ${p.K} | ${hoisted === undefined ? '—' : hoisted ? 'yes' : 'no'} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
  }
  out.push('', '![time per call against n and against K, log–log](peers-scaling.svg)');
  return out;
}

/** Two panels, log–log: ms per call against n (K = 100) and against K (n = 1000); one line per peer setting. */
export function scalingChart(workloads: readonly WorkloadMeta[], results: readonly ChildResult[], names: Record<PeerId, string>, subtitle: string): vegaLite.TopLevelSpec | undefined {
  const points = scalingPoints(workloads, results);
  if (!points.length) return undefined;
  const values = points.flatMap((p) => Object.entries(p.ms).map(([peer, ms]) => ({ peer: names[peer as PeerId], n: p.n, K: p.K, ms })));
  const order = [...new Set(results.filter((r) => isScaling(r.workload)).map((r) => names[r.peer]))];
  const panel = (x: 'n' | 'K', filter: string, title: string) => ({
    width: 340,
    height: 300,
    title,
    transform: [{ filter }],
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: x, type: 'quantitative', scale: { type: 'log' }, axis: { values: [...new Set(points.map((p) => p[x]))] }, title: x },
      y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'ms per call (log scale)' },
      color: { field: 'peer', type: 'nominal', sort: order, scale: { domain: order }, title: null, legend: { orient: 'bottom', direction: 'horizontal', columns: 3 } },
      strokeDash: { field: 'peer', type: 'nominal', sort: order, scale: { domain: order }, legend: null },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Ridge reverse mode (VJP): time per call, lower is better', subtitle },
    background: 'white',
    data: { values },
    hconcat: [panel('n', 'datum.K === 100', 'against n (m = n, K = 100)'), panel('K', 'datum.n === 1000', 'against K (n = m = 1000)')],
  } as unknown as vegaLite.TopLevelSpec;
}
