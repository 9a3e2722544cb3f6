// Where phic's time goes: re-runs one phic child under `node --cpu-prof` and sums the V8
// profile's self time per function (functions of the generated module are named as phic
// emits them: step, adjointStep, tangentStep, ...). The profile covers the whole child:
// loading the generated module, the checked call, warm-up and the timed calls.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  positionTicks?: { line: number; ticks: number }[];
}

export interface ProfileSummary {
  workload: string;
  /** Why this workload was profiled. */
  chosenBecause: string;
  totalMs: number;
  /** Self time per function, largest first. */
  top: { name: string; where: string; ms: number; percent: number }[];
  /** Share of the self time spent in the generated module's functions. */
  generatedPercent: number;
  /** The generated module's hottest source lines (share of its line ticks). */
  hotLines: { line: number; percent: number; code: string }[];
}

export function profilePhic(childJs: string, heapMb: number, workloadDir: string, workload: string, chosenBecause: string, outDir: string, cwd: string): ProfileSummary | { error: string } {
  mkdirSync(outDir, { recursive: true });
  const r = spawnSync(process.execPath, [`--max-old-space-size=${heapMb}`, '--cpu-prof', `--cpu-prof-dir=${outDir}`, childJs, 'phic', workloadDir, join(outDir, 'result.json')], { cwd, encoding: 'utf8', timeout: 300e3 });
  if (r.status !== 0) return { error: `the profiled phic child exited with ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' | ')}` };
  const file = readdirSync(outDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return { error: 'node --cpu-prof wrote no profile' };
  const p = JSON.parse(readFileSync(join(outDir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, { name: string; where: string; us: number; generated: boolean }>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i]!);
    const us = p.timeDeltas[i] ?? 0;
    if (!node) continue;
    const f = node.callFrame;
    if (f.functionName === '(idle)' || f.functionName === '(program)') continue;
    total += us;
    // The generated module: phic-module.mjs in the workload's folder (or a content-hashed file of src/load-module.ts).
    const generated = /phic-module\.mjs$|\/phic-modules\/|[0-9a-f]{32}\.mjs$/.test(f.url);
    const where = generated ? 'generated module' : f.url ? `${basename(f.url)}:${f.lineNumber + 1}` : 'V8';
    const name = f.functionName || '(anonymous)';
    const key = `${name}@${where}`;
    const e = self.get(key) ?? { name, where, us: 0, generated };
    e.us += us;
    self.set(key, e);
  }
  // Line ticks of the generated module, and its source to quote.
  const lineTicks = new Map<number, number>();
  let moduleUrl: string | undefined;
  let lineTotal = 0;
  for (const node of p.nodes) {
    if (!/phic-module\.mjs$/.test(node.callFrame.url)) continue;
    moduleUrl = node.callFrame.url;
    for (const t of node.positionTicks ?? []) {
      lineTicks.set(t.line, (lineTicks.get(t.line) ?? 0) + t.ticks);
      lineTotal += t.ticks;
    }
  }
  let source: string[] = [];
  try {
    if (moduleUrl) source = readFileSync(fileURLToPath(moduleUrl), 'utf8').split('\n');
  } catch {
    source = [];
  }
  const hotLines = [...lineTicks]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([line, ticks]) => ({ line, percent: (100 * ticks) / Math.max(lineTotal, 1), code: (source[line - 1] ?? '').trim().slice(0, 160) }));
  const all = [...self.values()].sort((a, b) => b.us - a.us);
  const generatedUs = all.filter((e) => e.generated).reduce((s, e) => s + e.us, 0);
  return {
    workload,
    chosenBecause,
    totalMs: total / 1e3,
    top: all.slice(0, 10).map((e) => ({ name: e.name, where: e.where, ms: e.us / 1e3, percent: (100 * e.us) / Math.max(total, 1) })),
    generatedPercent: (100 * generatedUs) / Math.max(total, 1),
    hotLines,
  };
}
