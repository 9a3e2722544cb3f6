// The playground page: type a spec, compile it with phic's browser build and read the
// generated code, run it on seeded random or pasted data, and see the curse of unrolling and
// a CPU-vs-GPU timing. Plain DOM. Everything the page shows is also in window.__phicPlayground
// (status, code, inputs, curse, timing, error) for tests and for the console.

import { compile, generate, PHIC_VERSION } from '../../../dist/src/browser.js';
import { curse } from './curse.js';
import { parseDims, randomInputs } from './data.js';
import { drawCurse } from './plot.js';
import { SAMPLE_SPEC } from './sample.js';
import { timing } from './timing.js';

const $ = (id) => document.getElementById(id);
const state = (window.__phicPlayground = { version: PHIC_VERSION, status: 'idle', code: '', curse: null, timing: null, error: null });

function options() {
  const K = Number($('K').value);
  const t = Number($('t').value);
  const Kref = Number($('Kref').value);
  for (const [name, v] of [['K', K], ['t', t], ['K for J*', Kref]]) if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer`);
  if (Kref <= K) throw new Error('K for J* must be larger than K (J* stands for the limit K → ∞)');
  return { K, t, Kref, dims: parseDims($('dims').value), seed: Number($('seed').value) >>> 0 };
}

function show(status, message = '') {
  state.status = status;
  $('status').textContent = message;
  $('status').className = status === 'error' ? 'error' : '';
}

function fail(err) {
  // PhicError.format() names the field and position; anything else by its message.
  state.error = typeof err?.format === 'function' ? err.format() : err instanceof Error ? err.message : String(err);
  show('error', state.error);
}

function onCompile() {
  try {
    state.error = null;
    const { K, t } = options();
    const g = generate($('spec').value, { mode: 'both', K, truncate: t });
    state.code = g.code;
    $('code').textContent = g.code;
    show('compiled', `compiled: ${g.files.map((f) => f.name).join(', ')} (${g.code.split('\n').length} lines of JavaScript)`);
  } catch (err) {
    fail(err);
  }
}

async function randomData(o) {
  const { meta } = await compile($('spec').value, { mode: 'forward', K: 1 });
  const inputs = randomInputs(meta, o.dims, o.seed);
  $('data').value = JSON.stringify(inputs, (_, v) => (typeof v === 'number' ? Number(v.toPrecision(6)) : v));
  return JSON.parse($('data').value);
}

async function onRandom() {
  try {
    state.error = null;
    await randomData(options());
    show('data', 'random data filled in (edit it or paste your own)');
  } catch (err) {
    fail(err);
  }
}

async function onRun() {
  try {
    state.error = null;
    onCompile();
    if (state.status === 'error') return;
    const o = options();
    show('running', 'running…');
    const inputs = $('data').value.trim() ? JSON.parse($('data').value) : await randomData(o);
    state.inputs = inputs;
    const spec = $('spec').value;
    state.curse = await curse(compile, spec, { ...o, inputs });
    drawCurse($('plot'), state.curse);
    show('timing', 'timing CPU and GPU…');
    state.timing = await timing(compile, spec, { ...o, inputs });
    $('timing').textContent = describeTiming(state.timing);
    show('done', `done: ${state.curse.points.length} points, final error ${state.curse.points.at(-1).error.toExponential(2)}`);
  } catch (err) {
    fail(err);
  }
}

function describeTiming({ cpu, gpu }) {
  const lines = [`CPU (float64, JS + WebAssembly): ${cpu.ms.toFixed(2)} ms per vjp`];
  if (gpu.unavailable) lines.push(`GPU: not measured: ${gpu.unavailable}`);
  else lines.push(`GPU (float32, gpu.js backend '${gpu.backend}'${gpu.fallback ? ', a CPU fallback: no WebGL here' : ''}): ${gpu.ms.toFixed(2)} ms per vjp`);
  return lines.join('\n');
}

$('spec').value = SAMPLE_SPEC;
$('compile').addEventListener('click', onCompile);
$('random').addEventListener('click', onRandom);
$('run').addEventListener('click', onRun);
$('version').textContent = `phic ${PHIC_VERSION}`;
state.status = 'ready';
