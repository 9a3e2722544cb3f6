// Two builds of phic side by side on the peer benchmark's workloads, in one run: for each
// workload, each build compiles its own module and times it in its own child process (the
// same child.js protocol as the peer benchmark), alternating the builds over several rounds
// so that drift in the machine's speed falls on both. Prints a Markdown table of the median
// over rounds of each child's median call time, and the after/before ratio.
//
//   node dist/samples/bench/peers/compare-builds.js <before root> <after root> [--rounds 3] [--peers phic,phic1t] [--only P1-t0,P3,S-n1000-K100]
//
// A root is a checkout with its own `npm run build` (dist/) and node_modules.

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChildResult } from './protocol.js';
import { DEFS, defById, generate, writeWorkload } from './workloads.js';
import { median } from '../../../src/lab/stats.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1]! : fallback;
}

const [beforeArg, afterArg] = process.argv.slice(2);
if (!beforeArg || !afterArg) throw new Error('usage: compare-builds.js <before root> <after root> [--rounds N] [--peers phic,phic1t] [--only ids]');
const builds = [{ label: 'before', root: resolve(beforeArg) }, { label: 'after', root: resolve(afterArg) }];
const rounds = Number(option('--rounds', '3'));
const peers = option('--peers', 'phic,phic1t').split(',');
const only = option('--only', '').split(',').filter(Boolean);
const tmp = mkdtempSync(join(tmpdir(), 'phic-compare-'));

const script = (root: string, file: string) => join(root, 'dist', 'samples', 'bench', 'peers', file);
const node = (root: string, file: string, args: string[]) => spawnSync(process.execPath, ['--max-old-space-size=4096', script(root, file), ...args], { cwd: root, encoding: 'utf8', timeout: 600_000 });

const rows: string[] = [];
try {
  // --only also takes scaling points (S-n<n>-K<K>)
  for (const def of only.length ? only.map(defById) : DEFS) {
    const { meta, arrays } = generate(def);
    const dirs = builds.map((b) => join(tmp, `${def.id}-${b.label}`));
    writeWorkload(dirs[0]!, meta, arrays);
    cpSync(dirs[0]!, dirs[1]!, { recursive: true });
    builds.forEach((b, i) => {
      const r = node(b.root, 'phic-compile.js', [dirs[i]!, join(dirs[i]!, 'phic-compile.json')]);
      if (r.status !== 0) throw new Error(`${b.label}: compiling ${def.id} failed: ${r.stderr}`);
    });
    for (const peer of peers) {
      const times: number[][] = builds.map(() => []);
      for (let round = 0; round < rounds; round++) {
        builds.forEach((b, i) => {
          const out = join(dirs[i]!, `result-${peer}-${round}.json`);
          const r = node(b.root, 'child.js', [peer, dirs[i]!, out]);
          if (!existsSync(out)) throw new Error(`${b.label} ${peer} ${def.id}: no result (exit ${r.status}): ${r.stderr.slice(-400)}`);
          const res = JSON.parse(readFileSync(out, 'utf8')) as ChildResult;
          if (res.status !== 'ok' || !res.timing) throw new Error(`${b.label} ${peer} ${def.id}: ${res.status} ${res.message ?? ''}`);
          times[i]!.push(res.timing.medianMs);
        });
      }
      const [before, after] = times.map((t) => median(t));
      rows.push(`| ${def.id} | ${peer} | ${before!.toFixed(2)} | ${after!.toFixed(2)} | ${(after! / before!).toFixed(3)} | ${times.map((t) => t.map((x) => x.toFixed(1)).join(' ')).join(' / ')} |`);
      process.stderr.write(`${rows.at(-1)}\n`);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`Machine: ${cpus().length}× ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; ${rounds} rounds, builds alternating; each time is a child's median call time.\n`);
console.log('| workload | peer | before (ms) | after (ms) | after / before | rounds (before / after) |');
console.log('|---|---|---:|---:|---:|---|');
rows.forEach((r) => console.log(r));
