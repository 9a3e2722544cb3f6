// The peer benchmark: phic against PyTorch, jax-js, TensorFlow.js (wasm) and hand-written
// Float64Array loops on the five workloads of workloads.ts, in one run, with the same data, the
// same algorithm, K and t. Every peer × workload runs in its own child process (child.ts, or
// torch_peer.py for PyTorch), checks its result against phic's before timing, and reports its
// median time and peak resident set. numpy measures the roofline of the hot operations
// (roofline.py). Writes docs/peers.md, docs/peers.json and docs/peers.{svg,png}.
//
//   npm run bench:peers                 (builds first; ~10–15 min on 2 cores)
//   node dist/samples/bench/peers/main.js [--only P1-t0,P5] [--peers phic,pytorch] [--no-install] [--no-profile] [--keep]
//   node dist/samples/bench/peers/main.js --render      (re-draws docs/peers.{md,svg,png} from docs/peers.json)
//
// Installs what it needs: the JS peers with npm into node_modules/.cache/phic-peers (not into
// the project's dependencies), python3-torch (and OpenBLAS) with apt-get when /usr/bin/python3
// cannot import torch. A peer that still cannot run is skipped with a loud line, never silently.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, arch, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompileReport } from './phic-compile.js';
import type { ChildResult, PeerId } from './protocol.js';
import { PEER_DEPS_DIR, ROOT, SOURCE_DIR, peerVersion } from './paths.js';
import { profilePhic, type ProfileSummary } from './profile.js';
import { writeReport, type Report, type PeerInfo, type Roofline } from './report.js';
import { DEFS, generate, writeWorkload, type WorkloadMeta } from './workloads.js';

const PEERS: readonly PeerId[] = ['phic', 'phic1t', 'phicjs', 'handwritten', 'pytorch', 'pytorch1t', 'jaxjs', 'tfjs'];
const PYTHON = '/usr/bin/python3';
const JS_PACKAGES = ['@tensorflow/tfjs@4.22.0', '@tensorflow/tfjs-backend-wasm@4.22.0', '@jax-js/jax@0.1.25'];
const CHILD_TIMEOUT_S = 300;
/** The JS heap of every Node child (Node's default depends on the machine's memory). */
const NODE_HEAP_MB = 4096;

const here = dirname(fileURLToPath(import.meta.url));
const log = (s: string) => process.stderr.write(`${s}\n`);
const loud = (s: string) => log(`\n!!!!!!!! ${s}\n`);

function args() {
  const a = process.argv.slice(2);
  const value = (flag: string) => {
    const i = a.indexOf(flag);
    return i >= 0 ? a[i + 1] : undefined;
  };
  return {
    only: value('--only')?.split(','),
    peers: (value('--peers')?.split(',') as PeerId[] | undefined) ?? [...PEERS],
    install: !a.includes('--no-install'),
    keep: a.includes('--keep'),
    profile: !a.includes('--no-profile'),
    render: a.includes('--render'),
  };
}

function run(cmd: string, argv: string[], opts: { cwd?: string; timeoutS?: number; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, argv, { cwd: opts.cwd ?? ROOT, encoding: 'utf8', timeout: (opts.timeoutS ?? 600) * 1e3, env: opts.env ?? process.env, maxBuffer: 64 << 20 });
  return { ok: r.status === 0, status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, error: r.error };
}

/** The JS peers: installed on demand into PEER_DEPS_DIR. Returns why they are unavailable, if they are. */
function ensureJsPeers(install: boolean): string | undefined {
  const have = () => ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', '@jax-js/jax'].every((p) => existsSync(join(PEER_DEPS_DIR, 'node_modules', ...p.split('/'), 'package.json')));
  if (have()) return undefined;
  if (!install) return `the JS peers are not installed in ${PEER_DEPS_DIR} and --no-install was given`;
  log(`installing the JS peers into ${PEER_DEPS_DIR}: npm install --no-save ${JS_PACKAGES.join(' ')}`);
  mkdirSync(PEER_DEPS_DIR, { recursive: true });
  const pkg = join(PEER_DEPS_DIR, 'package.json');
  if (!existsSync(pkg)) writeFileSync(pkg, '{ "name": "phic-bench-peers", "private": true }\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = run(npm, ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', ...JS_PACKAGES], { cwd: PEER_DEPS_DIR });
  if (!r.ok || !have()) return `npm install failed (exit ${r.status}): ${r.out.trim().split('\n').slice(-4).join(' | ')}`;
  return undefined;
}

const PY_PROBE = [
  'import json, torch, numpy',
  'info = {"torch": torch.__version__, "numpy": numpy.__version__}',
  'try:\n import threadpoolctl\n info["blas"] = [i.get("internal_api") for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]\nexcept Exception as e:\n info["blas"] = None',
  'print(json.dumps(info))',
].join('\n');

/** PyTorch from Debian: apt-get installs python3-torch (and OpenBLAS, its recommended BLAS) when missing. */
function ensureTorch(install: boolean): { error?: string; notes: string[]; version?: string } {
  const notes: string[] = [];
  const probe = () => {
    if (!existsSync(PYTHON)) return undefined;
    const r = run(PYTHON, ['-B', '-c', PY_PROBE], { timeoutS: 120 });
    if (!r.ok) return undefined;
    try {
      return JSON.parse(r.out.trim().split('\n').pop()!) as { torch: string; numpy: string; blas: string[] | null };
    } catch {
      return undefined;
    }
  };
  let info = probe();
  const good = () => info !== undefined && Array.isArray(info.blas) && info.blas.includes('openblas');
  const version = () => (info ? `torch ${info.torch} (numpy ${info.numpy}, BLAS ${JSON.stringify(info.blas)})` : undefined);
  if (good()) return { notes, version: version() };
  if (!install) return info ? { notes: [`${PYTHON}: BLAS is ${JSON.stringify(info.blas)}, not OpenBLAS (--no-install given)`] } : { error: `${PYTHON} cannot import torch and --no-install was given`, notes };
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const aptGet = existsSync('/usr/bin/apt-get');
  if (!aptGet) return info ? { notes } : { error: `${PYTHON} cannot import torch and there is no apt-get`, notes };
  const packages = ['python3-torch', 'python3-numpy', 'python3-threadpoolctl', 'libopenblas0-pthread'];
  log(`installing with apt-get: ${packages.join(' ')} (${info ? 'torch imports, but numpy/torch do not run on OpenBLAS: Debian recommends libopenblas0 for libtorch' : `${PYTHON} cannot import torch`})`);
  const sudo = isRoot ? [] : ['sudo', '-n'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (argv: string[]) => (sudo.length ? run(sudo[0]!, [...sudo.slice(1), 'apt-get', ...argv], { env, timeoutS: 900 }) : run('apt-get', argv, { env, timeoutS: 900 }));
  let r = apt(['install', '-y', '-q', ...packages]);
  if (!r.ok) {
    apt(['update', '-q']);
    r = apt(['install', '-y', '-q', ...packages]);
  }
  if (!r.ok) notes.push(`apt-get install failed (exit ${r.status}): ${r.out.trim().split('\n').slice(-3).join(' | ')}`);
  else notes.push(`installed with apt-get: ${packages.join(' ')}`);
  info = probe();
  if (!info) return { error: `${PYTHON} still cannot import torch after apt-get install ${packages.join(' ')}`, notes };
  if (!good()) notes.push(`numpy/torch BLAS is ${JSON.stringify(info.blas)}, not OpenBLAS: PyTorch and the roofline run on it as it is`);
  return { notes, version: version() };
}

function childEnv(peer: PeerId): NodeJS.ProcessEnv {
  if (peer === 'pytorch1t') return { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
  if (peer === 'pytorch') return { ...process.env, OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '2' };
  return process.env;
}

/** Compiles the workload's spec in its own process (phic-compile.ts); the module lands in wdir. */
function compilePhic(wdir: string, logDir: string): CompileReport | { error: string } {
  const out = join(wdir, 'phic-compile.json');
  const r = spawnSync(process.execPath, [`--max-old-space-size=${NODE_HEAP_MB}`, join(here, 'phic-compile.js'), wdir, out], { cwd: ROOT, encoding: 'utf8', timeout: CHILD_TIMEOUT_S * 1e3 });
  writeFileSync(join(logDir, `phic-compile-${wdir.split('/').pop()}.log`), `${r.stdout ?? ''}${r.stderr ?? ''}`);
  if (r.status !== 0 || !existsSync(out)) return { error: `exit ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(0, 3).join(' | ')}` };
  return JSON.parse(readFileSync(out, 'utf8')) as CompileReport;
}

function runChild(peer: PeerId, wdir: string, logDir: string): ChildResult {
  const out = join(wdir, `result-${peer}.json`);
  const logFile = join(logDir, `${peer}-${wdir.split('/').pop()}.log`);
  const fd = openSync(logFile, 'w');
  const [cmd, argv] = peer === 'pytorch' || peer === 'pytorch1t' ? [PYTHON, ['-B', join(SOURCE_DIR, 'torch_peer.py'), wdir, out, peer === 'pytorch' ? '2' : '1']] : [process.execPath, [`--max-old-space-size=${NODE_HEAP_MB}`, join(here, 'child.js'), peer, wdir, out]];
  const started = Date.now();
  const r = spawnSync(cmd, argv, { cwd: ROOT, stdio: ['ignore', fd, fd], timeout: CHILD_TIMEOUT_S * 1e3, env: childEnv(peer) });
  closeSync(fd);
  const wall = (Date.now() - started) / 1e3;
  const tail = () => {
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    const key = lines.find((l) => /FATAL ERROR|^\w*Error\b|Error:/.test(l));
    return [key?.trim() ?? '(no error line in its log)', ...lines.slice(-4)].join('\n    ');
  };
  if (existsSync(out)) {
    const res = JSON.parse(readFileSync(out, 'utf8')) as ChildResult;
    res.extra = { ...(res.extra ?? {}), childWallS: wall };
    return res;
  }
  const why = r.error?.message.includes('ETIMEDOUT') || r.signal === 'SIGTERM' ? `timed out after ${CHILD_TIMEOUT_S} s` : `exited with ${r.status ?? r.signal} after ${wall.toFixed(0)} s and wrote no result`;
  return { peer, workload: wdir, status: 'failed', message: `${why}: ${tail()}` };
}

function roofline(metas: readonly WorkloadMeta[], dir: string): Roofline | { error: string } {
  const sizes: { kind: string; m: number; n: number; k?: number }[] = [];
  for (const m of metas) {
    const s = m.hotOp;
    if (!sizes.some((x) => x.kind === s.kind && x.m === s.m && x.n === s.n && x.k === s.k)) sizes.push({ ...s });
  }
  const sizesFile = join(dir, 'roofline-sizes.json');
  const out = join(dir, 'roofline.json');
  writeFileSync(sizesFile, JSON.stringify(sizes));
  // OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set on some machines to keep old OpenBLAS builds
  // correct; they slow a current one. Unset both for this command only.
  const env = { ...process.env };
  const wasSet = { OPENBLAS_CORETYPE: env.OPENBLAS_CORETYPE ?? null, OPENBLAS_L2_SIZE: env.OPENBLAS_L2_SIZE ?? null };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const r = run(PYTHON, ['-B', join(SOURCE_DIR, 'roofline.py'), sizesFile, out], { env, timeoutS: 300 });
  if (!r.ok || !existsSync(out)) return { error: `roofline.py failed (exit ${r.status}): ${r.out.trim().split('\n').slice(-3).join(' | ')}` };
  return { ...(JSON.parse(readFileSync(out, 'utf8')) as Omit<Roofline, 'unsetForThisCommand'>), unsetForThisCommand: wasSet };
}

/** CPU family/model, clock, vector extensions and caches, from /proc/cpuinfo and sysfs (Linux). */
function cpuDetails(): string {
  const parts: string[] = [];
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(info)?.[1]?.trim();
    const flags = new Set((field('flags') ?? '').split(/\s+/));
    parts.push(`family ${field('cpu family') ?? '?'} model ${field('model') ?? '?'}`);
    const mhz = Number(field('cpu MHz'));
    if (mhz) parts.push(`${(mhz / 1000).toFixed(2)} GHz`);
    const simd = ['avx512f', 'avx2', 'fma', 'avx'].filter((f) => flags.has(f));
    parts.push(simd.length ? simd.join('/').toUpperCase() : 'no AVX');
    if (flags.has('hypervisor')) parts.push('virtual machine');
  } catch {
    parts.push('no /proc/cpuinfo');
  }
  try {
    const base = '/sys/devices/system/cpu/cpu0/cache';
    const caches = readdirSync(base).filter((d) => d.startsWith('index')).map((d) => {
      const read = (f: string) => readFileSync(join(base, d, f), 'utf8').trim();
      return `L${read('level')}${read('type') === 'Data' ? 'd' : read('type') === 'Instruction' ? 'i' : ''} ${read('size')}`;
    });
    if (caches.length) parts.push(caches.join(', '));
  } catch {
    // no cache information
  }
  return parts.join(', ');
}

function machine() {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cpuDetails: cpuDetails(),
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100),
    loadAverageAtEnd: [] as number[],
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const opts = args();
  if (opts.render) {
    // Re-render docs/peers.{md,svg,png} from docs/peers.json: no measurement.
    const { summary: _summary, ...report } = JSON.parse(readFileSync(join(ROOT, 'docs', 'peers.json'), 'utf8')) as Report & { summary?: unknown };
    const files = await writeReport(report, join(ROOT, 'docs'));
    log(`re-rendered ${files.join(', ')} from the measurements of ${report.date}`);
    return;
  }
  const host = machine();
  log(`machine: ${host.cpu} (${host.cpuDetails}), ${host.cores} cores, ${host.memoryGiB} GiB, ${host.os}, Node ${host.node}, load average ${host.loadAverageAtStart.join(' ')}`);
  if (host.loadAverageAtStart[0]! > 0.5 * host.cores) loud(`the machine is busy (load average ${host.loadAverageAtStart[0]} on ${host.cores} cores): timings will be noisy`);

  const skipped: Record<string, string> = {};
  const notes: string[] = [];
  const wantJs = opts.peers.includes('tfjs') || opts.peers.includes('jaxjs');
  if (wantJs) {
    const why = ensureJsPeers(opts.install);
    if (why) {
      for (const p of ['tfjs', 'jaxjs'] as const) if (opts.peers.includes(p)) skipped[p] = why;
      loud(`SKIPPING TensorFlow.js and jax-js: ${why}`);
    }
  }
  // Also for the roofline: numpy on OpenBLAS comes with the same packages.
  const torch = ensureTorch(opts.install);
  notes.push(...torch.notes);
  for (const n of torch.notes) log(n);
  if (torch.error) {
    if (opts.peers.includes('pytorch')) skipped.pytorch = torch.error;
    if (opts.peers.includes('pytorch1t')) skipped.pytorch1t = torch.error;
    loud(`SKIPPING PyTorch: ${torch.error}`);
  }

  const tmp = mkdtempSync(join(tmpdir(), 'phic-peers-'));
  const logDir = join(tmp, 'logs');
  mkdirSync(logDir);
  const defs = DEFS.filter((d) => !opts.only || opts.only.includes(d.id));
  const metas: WorkloadMeta[] = [];
  for (const d of defs) {
    const { meta, arrays } = generate(d);
    writeWorkload(join(tmp, d.id), meta, arrays);
    metas.push(meta);
  }
  log(`data for ${metas.length} workloads in ${tmp}`);

  let roof: Roofline | undefined;
  if (existsSync(PYTHON)) {
    log('roofline: numpy matvec/matmul at the workloads\' sizes (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for this command)');
    const r = roofline(metas, tmp);
    if ('error' in r) loud(`ROOFLINE NOT MEASURED: ${r.error}`);
    else roof = r;
  } else loud(`ROOFLINE NOT MEASURED: ${PYTHON} is missing`);

  const results: ChildResult[] = [];
  const versions: Record<string, string> = {};
  for (const meta of metas) {
    for (const peer of opts.peers) {
      if (skipped[peer]) {
        results.push({ peer, workload: meta.id, status: 'skipped', message: skipped[peer] });
        continue;
      }
      const t0 = Date.now();
      let compiled: CompileReport | { error: string } | undefined;
      // phic-compile writes both modules (phic and phic1t run the first, phicjs the second)
      if (peer === opts.peers.find((p) => p.startsWith('phic'))) compiled = compilePhic(join(tmp, meta.id), logDir);
      const res: ChildResult =
        compiled && 'error' in compiled ? { peer, workload: meta.id, status: 'failed', message: `phic compile failed: ${compiled.error}` } : runChild(peer, join(tmp, meta.id), logDir);
      if (compiled && !('error' in compiled)) {
        res.compileMs = compiled.compileMs;
        res.extra = { ...(res.extra ?? {}), generatedBytes: compiled.generatedBytes, hoistedInvariants: compiled.hoistedInvariants, kernels: compiled.kernels };
      }
      res.workload = meta.id;
      results.push(res);
      if (res.version) versions[peer] = res.version;
      const secs = ((Date.now() - t0) / 1e3).toFixed(1);
      if (res.status === 'ok') {
        const tm = res.timing!;
        const chk = res.check ? `, check ${res.check.derivative.toExponential(1)}` : '';
        log(`${meta.id.padEnd(8)} ${peer.padEnd(12)} ${tm.medianMs.toFixed(2).padStart(10)} ms  (${tm.reps} reps, RSS ${(res.memory!.maxRss / 2 ** 20).toFixed(0)} MB${chk}; ${secs} s)`);
      } else loud(`${meta.id} ${peer}: ${res.status.toUpperCase()}: ${res.message ?? ''}`);
    }
  }
  host.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);

  // Versions from the children; where every child of a peer failed, from the installed packages.
  const fallback: Partial<Record<PeerId, string | undefined>> = {
    tfjs: peerVersion('@tensorflow/tfjs') && `${peerVersion('@tensorflow/tfjs')} (wasm ${peerVersion('@tensorflow/tfjs-backend-wasm') ?? '?'})`,
    jaxjs: peerVersion('@jax-js/jax'),
    pytorch: torch.version,
    pytorch1t: torch.version,
  };
  const peers: PeerInfo[] = opts.peers.map((p) => ({ id: p, version: versions[p] ?? fallback[p], skipped: skipped[p] }));

  // Profile phic on the workload where PyTorch is furthest ahead (or the first one).
  let profile: ProfileSummary | undefined;
  if (opts.profile && opts.peers.includes('phic')) {
    const ratio = (id: string) => {
      const a = results.find((r) => r.workload === id && r.peer === 'pytorch' && r.status === 'ok');
      const b = results.find((r) => r.workload === id && r.peer === 'phic' && r.status === 'ok');
      return a && b ? a.timing!.medianMs / b.timing!.medianMs : Number.POSITIVE_INFINITY;
    };
    const target = [...metas].sort((a, b) => ratio(a.id) - ratio(b.id))[0];
    if (target) {
      log(`profiling phic on ${target.id} (node --cpu-prof)`);
      const why = Number.isFinite(ratio(target.id)) ? `the workload where PyTorch is furthest ahead: PyTorch / phic = ${ratio(target.id).toFixed(2)}` : 'the first workload: no PyTorch time to compare with';
      const p = profilePhic(join(here, 'child.js'), NODE_HEAP_MB, join(tmp, target.id), target.id, why, join(tmp, 'profile'), ROOT);
      if ('error' in p) loud(`PROFILE NOT TAKEN: ${p.error}`);
      else profile = p;
    }
  }
  const report: Report = {
    date: new Date().toISOString().slice(0, 10),
    machine: host,
    peers,
    workloads: metas,
    results,
    roofline: roof,
    notes,
    profile,
    wallS: (Date.now() - started) / 1e3,
  };
  const files = await writeReport(report, join(ROOT, 'docs'));
  log(`\nwrote ${files.join(', ')} (${report.wallS.toFixed(0)} s in all)`);
  if (opts.keep) log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  process.stderr.write(`PEER BENCHMARK FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
