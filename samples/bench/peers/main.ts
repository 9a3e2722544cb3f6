// The peer benchmark: phic against JAX (jit), PyTorch, jax-js, TensorFlow.js (wasm) and
// hand-written Float64Array loops on the five workloads of workloads.ts, plus the scaling points
// (ridge reverse mode over n and K), in one run, with the same data, the same algorithm, K and
// t. Every peer × workload runs in its own child process (child.ts, torch_peer.py for PyTorch,
// jax_peer.py for JAX), checks its result against phic's before timing, and reports its median
// time and peak resident set. numpy times the same-shaped BLAS calls as the products phic
// performs (roofline.py, performed.ts). The children of phic, PyTorch and JAX run in three
// interleaved rounds (--rounds; rounds.ts says why). Writes docs/peers.md, docs/peers.json,
// docs/peers.{svg,png} and docs/peers-scaling.{svg,png}.
//
//   npm run bench:peers                 (builds first; ~30–40 min on 2 cores, scaling included)
//   node dist/samples/bench/peers/main.js [--only P1-t0,P5,scaling] [--peers phic,pytorch] [--rounds 3] [--no-install] [--no-profile] [--keep]
//        [--scaling-n 1000,2000,4000] [--scaling-k 100,1000,10000] [--scaling-peers phic,phic1t,pytorch,pytorch1t,jax,jax1t,jaxata]
//   node dist/samples/bench/peers/main.js --only scaling      (the scaling section alone)
//   node dist/samples/bench/peers/main.js --render      (re-draws docs/peers.{md,svg,png} from docs/peers.json)
//
// Installs what it needs: the JS peers with npm into node_modules/.cache/phic-peers (not into
// the project's dependencies), python3-torch (and OpenBLAS) with apt-get when /usr/bin/python3
// cannot import torch, JAX with pip into a venv in node_modules/.cache/phic-peers/jax-venv. A
// peer that still cannot run is skipped with a loud line, never silently.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, arch, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CompileReport } from './phic-compile.js';
import type { ChildResult, PeerId } from './protocol.js';
import { PEER_DEPS_DIR, ROOT, SOURCE_DIR, peerVersion } from './paths.js';
import { profilePhic, type ProfileSummary } from './profile.js';
import { mergeRounds } from './rounds.js';
import { writeReport, type Report, type PeerInfo, type Roofline } from './report.js';
import { performedProducts, shapeKey } from './performed.js';
import { DEFS, SCALING_K, SCALING_N, scalingDefs, type WorkloadMeta } from './workloads.js';

const PEERS: readonly PeerId[] = ['phic', 'phic1t', 'phicfma', 'phicjs', 'handwritten', 'pytorch', 'pytorch1t', 'jax', 'jax1t', 'jaxata', 'jaxata1t', 'jaxjs', 'tfjs'];
/** The scaling points run these by default (the calls take seconds each: JAX on its default threads only). */
const SCALING_PEERS: readonly PeerId[] = ['phic', 'phic1t', 'phicfma', 'pytorch', 'pytorch1t', 'jax', 'jax1t', 'jaxata'];
/** Peers of the targets (phic against PyTorch and JAX): each runs in every round (rounds.ts); the others once. */
const ROUND_PEERS: readonly PeerId[] = ['phic', 'phic1t', 'pytorch', 'pytorch1t', 'jax', 'jax1t', 'jaxata', 'jaxata1t'];
/** Rounds by default: the fewest whose median can set aside one round in a slow phase of the machine. */
const ROUNDS = 3;
const JAX_PEERS: readonly PeerId[] = ['jax', 'jax1t', 'jaxata', 'jaxata1t'];
const PYTHON = '/usr/bin/python3';
/** Pinned: the jaxlib wheel must match. */
const JAX_PACKAGES = ['jax==0.10.2', 'jaxlib==0.10.2'];
const JAX_VENV = join(PEER_DEPS_DIR, 'jax-venv');
const JAX_PYTHON = join(JAX_VENV, 'bin', 'python');
/** The XLA CPU client on one thread (the 1t JAX peers). */
const XLA_ONE_THREAD = '--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1';
/** A scaling point's child is stopped after this long and reported as over the time budget. */
const SCALING_TIMEOUT_S = 150;
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
  const numbers = (flag: string, fallback: readonly number[]) => value(flag)?.split(',').map(Number) ?? [...fallback];
  return {
    only: value('--only')?.split(','),
    peers: (value('--peers')?.split(',') as PeerId[] | undefined) ?? [...PEERS],
    scalingPeers: (value('--scaling-peers')?.split(',') as PeerId[] | undefined) ?? [...SCALING_PEERS],
    scalingN: numbers('--scaling-n', SCALING_N),
    scalingK: numbers('--scaling-k', SCALING_K),
    rounds: Math.max(1, Math.floor(Number(value('--rounds') ?? ROUNDS)) || 1),
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

/** JAX (CPU, float64) with pip into its own venv; returns why it is unavailable, if it is. */
function ensureJax(install: boolean): { error?: string; version?: string } {
  const probe = () => {
    if (!existsSync(JAX_PYTHON)) return undefined;
    const r = run(JAX_PYTHON, ['-B', '-c', 'import jax, jaxlib; print(jax.__version__, jaxlib.__version__)'], { timeoutS: 120 });
    return r.ok ? `jax ${r.out.trim().split('\n').pop()!.replace(' ', ', jaxlib ')}` : undefined;
  };
  let version = probe();
  if (version) return { version };
  if (!install) return { error: `JAX is not installed in ${JAX_VENV} and --no-install was given` };
  if (!existsSync(PYTHON)) return { error: `${PYTHON} is missing: no venv for JAX` };
  log(`installing JAX into ${JAX_VENV}: ${PYTHON} -m venv, pip install ${JAX_PACKAGES.join(' ')}`);
  mkdirSync(PEER_DEPS_DIR, { recursive: true });
  let r = run(PYTHON, ['-m', 'venv', JAX_VENV], { timeoutS: 300 });
  if (!r.ok) return { error: `${PYTHON} -m venv failed (exit ${r.status}; Debian needs python3-venv): ${r.out.trim().split('\n').slice(-2).join(' | ')}` };
  // few retries: where the default index cannot be reached, pip falls back to the configured ones quickly
  r = run(join(JAX_VENV, 'bin', 'pip'), ['install', '-q', '--disable-pip-version-check', '--retries', '1', '--timeout', '15', ...JAX_PACKAGES], { timeoutS: 900 });
  if (!r.ok) return { error: `pip install ${JAX_PACKAGES.join(' ')} failed (exit ${r.status}): ${r.out.trim().split('\n').slice(-3).join(' | ')}` };
  version = probe();
  return version ? { version } : { error: `JAX installed in ${JAX_VENV} but does not import` };
}

function childEnv(peer: PeerId): NodeJS.ProcessEnv {
  if (peer === 'jax1t' || peer === 'jaxata1t') return { ...process.env, XLA_FLAGS: XLA_ONE_THREAD, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };
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

function childCommand(peer: PeerId, wdir: string, out: string): [string, string[]] {
  if (peer === 'pytorch' || peer === 'pytorch1t') return [PYTHON, ['-B', join(SOURCE_DIR, 'torch_peer.py'), wdir, out, peer === 'pytorch' ? '2' : '1']];
  if (JAX_PEERS.includes(peer)) return [JAX_PYTHON, ['-B', join(SOURCE_DIR, 'jax_peer.py'), wdir, out, peer.startsWith('jaxata') ? 'ata' : 'jit', peer.endsWith('1t') ? '1' : 'default']];
  // phicfma: Node 20 has WebAssembly relaxed SIMD (the kernels' fused multiply-adds) behind this flag; Node 22 and Chromium by default
  const engine = peer === 'phicfma' ? ['--experimental-wasm-relaxed-simd'] : [];
  return [process.execPath, [...engine, `--max-old-space-size=${NODE_HEAP_MB}`, join(here, 'child.js'), peer, wdir, out]];
}

function runChild(peer: PeerId, wdir: string, logDir: string, timeoutS: number): ChildResult {
  const out = join(wdir, `result-${peer}.json`);
  const logFile = join(logDir, `${peer}-${wdir.split('/').pop()}.log`);
  const fd = openSync(logFile, 'w');
  const [cmd, argv] = childCommand(peer, wdir, out);
  const started = Date.now();
  const r = spawnSync(cmd, argv, { cwd: ROOT, stdio: ['ignore', fd, fd], timeout: timeoutS * 1e3, env: childEnv(peer) });
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
  const timedOut = r.error?.message.includes('ETIMEDOUT') || r.signal === 'SIGTERM';
  if (timedOut && timeoutS < CHILD_TIMEOUT_S) return { peer, workload: wdir, status: 'skipped', message: `over the time budget: stopped after ${timeoutS} s` };
  const why = timedOut ? `timed out after ${timeoutS} s` : `exited with ${r.status ?? r.signal} after ${wall.toFixed(0)} s and wrote no result`;
  return { peer, workload: wdir, status: 'failed', message: `${why}: ${tail()}` };
}

/** numpy on the same-shaped BLAS calls as the products phic performed (hoisted: from phic's compile report). */
function roofline(metas: readonly WorkloadMeta[], results: readonly ChildResult[], dir: string): Roofline | { error: string } {
  const sizes = new Map<string, { kind: string; m: number; n: number; k?: number }>();
  for (const m of metas) {
    const hoisted = results.find((r) => r.workload === m.id && r.extra?.hoistedInvariants !== undefined)?.extra?.hoistedInvariants;
    if (hoisted === undefined) continue;
    const swept = results.find((r) => r.workload === m.id && r.extra?.sweptTangent !== undefined)?.extra?.sweptTangent === true;
    for (const { kind, m: rows, n, k } of performedProducts(m, hoisted === true, swept)) sizes.set(shapeKey({ kind, m: rows, n, k }), { kind, m: rows, n, ...(k === undefined ? {} : { k }) });
  }
  if (!sizes.size) return { error: 'no phic compile report: the products phic performs are not known' };
  const sizesFile = join(dir, 'roofline-sizes.json');
  const out = join(dir, 'roofline.json');
  writeFileSync(sizesFile, JSON.stringify([...sizes.values()]));
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

  const defs = DEFS.filter((d) => !opts.only || opts.only.includes(d.id));
  const scaling = !opts.only || opts.only.includes('scaling') ? scalingDefs(opts.scalingN, opts.scalingK) : [];
  const peersOf = (id: string) => (id.startsWith('S-') ? opts.scalingPeers : opts.peers);
  // every peer that runs somewhere, in the order of PEERS
  const used = new Set([...(defs.length ? opts.peers : []), ...(scaling.length ? opts.scalingPeers : [])]);
  const allPeers = [...PEERS.filter((p) => used.has(p)), ...[...used].filter((p) => !PEERS.includes(p))];

  const skipped: Record<string, string> = {};
  const notes: string[] = [];
  const wantJs = allPeers.includes('tfjs') || allPeers.includes('jaxjs');
  if (wantJs) {
    const why = ensureJsPeers(opts.install);
    if (why) {
      for (const p of ['tfjs', 'jaxjs'] as const) if (allPeers.includes(p)) skipped[p] = why;
      loud(`SKIPPING TensorFlow.js and jax-js: ${why}`);
    }
  }
  // Also for the roofline: numpy on OpenBLAS comes with the same packages.
  const torch = ensureTorch(opts.install);
  notes.push(...torch.notes);
  for (const n of torch.notes) log(n);
  if (torch.error) {
    if (allPeers.includes('pytorch')) skipped.pytorch = torch.error;
    if (allPeers.includes('pytorch1t')) skipped.pytorch1t = torch.error;
    loud(`SKIPPING PyTorch: ${torch.error}`);
  }
  const jax = allPeers.some((p) => JAX_PEERS.includes(p)) ? ensureJax(opts.install) : {};
  if (jax.error) {
    for (const p of JAX_PEERS) if (allPeers.includes(p)) skipped[p] = jax.error;
    loud(`SKIPPING JAX: ${jax.error}`);
  }

  const tmp = mkdtempSync(join(tmpdir(), 'phic-peers-'));
  const logDir = join(tmp, 'logs');
  mkdirSync(logDir);
  // in a process of its own (write-data.ts): the orchestrator's peak resident set would be inherited by every child's
  const ids = [...defs, ...scaling].map((d) => d.id);
  const wrote = spawnSync(process.execPath, [`--max-old-space-size=${NODE_HEAP_MB}`, join(here, 'write-data.js'), tmp, ...ids], { cwd: ROOT, encoding: 'utf8', timeout: CHILD_TIMEOUT_S * 1e3 });
  if (wrote.status !== 0) throw new Error(`writing the workloads' data failed (exit ${wrote.status ?? wrote.signal}): ${(wrote.stderr ?? '').trim().split('\n').slice(0, 3).join(' | ')}`);
  const metas = ids.map((id) => JSON.parse(readFileSync(join(tmp, id, 'meta.json'), 'utf8')) as WorkloadMeta);
  log(`data for ${metas.length} workloads in ${tmp}`);

  const results: ChildResult[] = [];
  const versions: Record<string, string> = {};
  for (const meta of metas) {
    const peersHere = peersOf(meta.id);
    const rounds = new Map<PeerId, ChildResult[]>();
    let compiled: CompileReport | { error: string } | undefined;
    for (let round = 0; round < opts.rounds; round++) {
      for (const peer of peersHere) {
        if (round > 0 && (!ROUND_PEERS.includes(peer) || skipped[peer])) continue;
        if (skipped[peer]) {
          rounds.set(peer, [{ peer, workload: meta.id, status: 'skipped', message: skipped[peer] }]);
          continue;
        }
        const t0 = Date.now();
        // phic-compile writes both modules (phic and phic1t run the first, phicjs the second), once
        if (!compiled && peer.startsWith('phic')) compiled = compilePhic(join(tmp, meta.id), logDir);
        const timeoutS = meta.id.startsWith('S-') ? SCALING_TIMEOUT_S : CHILD_TIMEOUT_S;
        const res: ChildResult =
          peer.startsWith('phic') && compiled && 'error' in compiled ? { peer, workload: meta.id, status: 'failed', message: `phic compile failed: ${compiled.error}` } : runChild(peer, join(tmp, meta.id), logDir, timeoutS);
        if (round === 0 && peer === peersHere.find((p) => p.startsWith('phic')) && compiled && !('error' in compiled)) {
          res.compileMs = compiled.compileMs;
          res.extra = { ...(res.extra ?? {}), generatedBytes: compiled.generatedBytes, hoistedInvariants: compiled.hoistedInvariants, sweptTangent: compiled.sweptTangent, kernels: compiled.kernels };
        }
        res.workload = meta.id;
        rounds.set(peer, [...(rounds.get(peer) ?? []), res]);
        if (res.version) versions[peer] = res.version;
        const secs = ((Date.now() - t0) / 1e3).toFixed(1);
        const tag = opts.rounds > 1 ? ` [round ${round + 1}]` : '';
        if (res.status === 'ok') {
          const tm = res.timing!;
          const chk = res.check ? `, check ${res.check.derivative.toExponential(1)}` : '';
          log(`${meta.id.padEnd(8)} ${peer.padEnd(12)} ${tm.medianMs.toFixed(2).padStart(10)} ms  (${tm.reps} reps, RSS ${(res.memory!.maxRss / 2 ** 20).toFixed(0)} MB${chk}; ${secs} s)${tag}`);
        } else loud(`${meta.id} ${peer}: ${res.status.toUpperCase()}: ${res.message ?? ''}${tag}`);
      }
    }
    for (const peer of peersHere) results.push(mergeRounds(rounds.get(peer)!));
    // a scaling point's data take up to 128 MB: gone once its children ran
    if (meta.id.startsWith('S-')) for (const f of readdirSync(join(tmp, meta.id))) if (f.endsWith('.f64') && !f.startsWith('ref-')) rmSync(join(tmp, meta.id, f));
  }

  let roof: Roofline | undefined;
  if (existsSync(PYTHON)) {
    log('roofline: numpy on the same-shaped BLAS calls as the products phic performed (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for this command)');
    const r = roofline(metas, results, tmp);
    if ('error' in r) loud(`ROOFLINE NOT MEASURED: ${r.error}`);
    else roof = r;
  } else loud(`ROOFLINE NOT MEASURED: ${PYTHON} is missing`);
  host.loadAverageAtEnd = loadavg().map((x) => Math.round(x * 100) / 100);

  // Versions from the children; where every child of a peer failed, from the installed packages.
  const fallback: Partial<Record<PeerId, string | undefined>> = {
    tfjs: peerVersion('@tensorflow/tfjs') && `${peerVersion('@tensorflow/tfjs')} (wasm ${peerVersion('@tensorflow/tfjs-backend-wasm') ?? '?'})`,
    jaxjs: peerVersion('@jax-js/jax'),
    pytorch: torch.version,
    pytorch1t: torch.version,
    ...Object.fromEntries(JAX_PEERS.map((p) => [p, jax.version])),
  };
  const peers: PeerInfo[] = allPeers.map((p) => ({ id: p, version: versions[p] ?? fallback[p], skipped: skipped[p] }));

  // Profile phic on the workload where PyTorch is furthest ahead (or the first one).
  let profile: ProfileSummary | undefined;
  if (opts.profile && opts.peers.includes('phic')) {
    const ratio = (id: string) => {
      const a = results.find((r) => r.workload === id && r.peer === 'pytorch' && r.status === 'ok');
      const b = results.find((r) => r.workload === id && r.peer === 'phic' && r.status === 'ok');
      return a && b ? a.timing!.medianMs / b.timing!.medianMs : Number.POSITIVE_INFINITY;
    };
    const target = metas.filter((m) => !m.id.startsWith('S-')).sort((a, b) => ratio(a.id) - ratio(b.id))[0];
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
    rounds: { count: opts.rounds, peers: ROUND_PEERS.filter((p) => allPeers.includes(p)) },
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
