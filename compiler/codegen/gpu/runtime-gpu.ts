// The host glue every generated GPU module carries at top level (it imports nothing, so it
// runs in Node and in a browser page alike). It reads the module's tables (KERNELS,
// SEGMENTS, STATE, PARAMS, DATA, OUTER, HELPERS) and runs them on the app's gpu.js `GPU`:
//
// - `program` is the whole unrolled computation (idle iterations, recorded iterations with
//   the tape, the forward tangents or the backward sweep) written against an executor, so
//   the same code runs two ways: traced once by gpu.createPipeline (webasm fuses the plan
//   into one wasm memory; webgpu into one command encoder), or called kernel by kernel with
//   `pipeline: true, immutable: true` (GL: textures stay on the device and are deleted by
//   reference count as soon as nothing needs them). createPipeline is not used on GL for
//   reverse mode: its generic executor compiles one shader per live tape slot.
// - Results are read back once, at the end, and returned as Float64Array copies of the
//   float32 values, with `precision: 'float32'` and the gpu.js backend that actually ran.

export const GPU_RUNTIME = `const CPU_BACKENDS = ['webasm', 'cpu'];
const BACKEND_BY_CLASS = { HeadlessGLKernel: 'headlessgl', WebGL2Kernel: 'webgl2', WebGLKernel: 'webgl', WebGPUKernel: 'webgpu', WebAssemblyKernel: 'webasm', CPUKernel: 'cpu' };

/** The gpu.js backend of a kernel class: headlessgl, webgl2, webgl, webgpu, webasm or cpu. */
function backendOf(KernelClass, context) {
  if (!KernelClass) return 'unknown';
  const named = BACKEND_BY_CLASS[KernelClass.name];
  if (named) return named;
  const mode = KernelClass.mode;
  if (mode !== 'gpu') return String(mode);
  // Minified builds may drop class names: tell the GL flavours apart by their context.
  if (typeof WebGL2RenderingContext !== 'undefined' && context instanceof WebGL2RenderingContext) return 'webgl2';
  if (typeof WebGLRenderingContext !== 'undefined' && context instanceof WebGLRenderingContext) return 'webgl';
  return typeof window === 'undefined' ? 'headlessgl' : 'webgl';
}

function requireGpuMessage(backend) {
  return 'requireGpu: gpu.js runs this module on its ' + backend + ' backend, a CPU fallback, not a GPU. ' +
    'In a browser that means no WebGL/WebGPU context; in Node, the headlessgl backend needs the optional native package gl (built) and a display (run under xvfb-run).';
}

/** Float32 inputs: a finite float64 can still overflow float32. */
function checkFloat32(array, what) {
  for (let i = 0; i < array.length; i++) {
    if (array[i] - array[i] !== 0) fail('data', what + ': entry ' + i + ' is beyond the float32 range (the GPU backend computes in float32)');
  }
}

function instantiate(gpu, D, options) {
  if (gpu === null || typeof gpu !== 'object' || typeof gpu.createKernel !== 'function') {
    fail('usage', 'create(gpu, dims) needs the app\\'s gpu.js GPU instance first (new GPU({ mode }) from gpu.js)');
  }
  const opts = options ?? {};
  checkKeys(opts, ['requireGpu', 'executor', 'maxTextureSize'], 'options');
  const requireGpu = opts.requireGpu === true;
  const executor = opts.executor ?? 'auto';
  if (!['auto', 'kernels', 'pipeline'].includes(executor)) fail('usage', "options.executor must be 'auto', 'kernels' or 'pipeline', got " + executor);
  const asyncMode = gpu.mode === 'async';
  if (executor === 'kernels' && asyncMode) fail('usage', "options.executor 'kernels' needs a synchronous GPU instance; with mode 'async' use 'pipeline'");
  let predicted = backendOf(gpu.Kernel, gpu.context);
  if (requireGpu && !asyncMode && CPU_BACKENDS.includes(predicted)) fail('usage', requireGpuMessage(predicted));
  let features = null;
  try {
    features = gpu.Kernel && gpu.Kernel.features;
  } catch (e) {
    features = null;
  }
  const maxTexture = opts.maxTextureSize ?? (features && features.maxTextureSize) ?? null;

  const S = STATE.reduce((t, s) => t + s.size(D), 0);
  const P = PARAMS.reduce((t, p) => t + p.size(D), 0);
  const kernels = new Map();
  const pipelines = new Map();
  let probed = null;
  let actual = null;
  let destroyed = false;

  function checkSize(what, entries) {
    if (!maxTexture) return;
    const side = Math.ceil(Math.sqrt(entries));
    if (side > maxTexture) {
      fail('data', what + ' needs ' + entries + ' float32 entries, a ' + side + '×' + side + ' texture: beyond the texture limit of ' + maxTexture + '×' + maxTexture +
        ' here. Use smaller dims, jvp/vjp instead of a full Jacobian, or the CPU backend.');
    }
  }

  function kernelFor(id, count) {
    const spec = KERNELS[id];
    const copies = spec.batched ? count : 1;
    const key = id + '@' + copies;
    let k = kernels.get(key);
    if (k === undefined) {
      const entries = copies * spec.size(D);
      checkSize('kernel ' + id + ' (' + spec.writes + (copies > 1 ? ', ' + copies + ' directions' : '') + ')', entries);
      const settings = {
        output: [entries], pipeline: true, immutable: true, precision: 'single', tactic: 'precision',
        loopMaxIterations: Math.max(1000, spec.loop(D) + 1), functions: spec.helpers.map((h) => HELPERS[h]),
      };
      // gpu.js reads this.constants.output, .thread and .constants as its own: every dim's key has a prefix
      if (!BAKED) settings.constants = Object.fromEntries(Object.keys(D).map((name) => ['dim_' + name, D[name]]));
      k = gpu.createKernel(spec.source, settings);
      kernels.set(key, k);
    }
    return k;
  }

  function utility(kind, entries) {
    const key = kind + '@' + entries;
    let k = kernels.get(key);
    if (k === undefined) {
      checkSize('a buffer', entries);
      const source = kind === 'upload' ? 'function (v) { return v[this.thread.x]; }' : 'function () { return 0; }';
      k = gpu.createKernel(source, { output: [entries], pipeline: true, immutable: true, precision: 'single', tactic: 'precision' });
      kernels.set(key, k);
    }
    return k;
  }

  /** The computation, against an executor: run(kernel id, args), zeros(n), hold/drop (reference counts). */
  function program(entry, count, ex, inputs) {
    const b = Object.create(null);
    const set = (name, h) => {
      const old = b[name];
      ex.hold(h);
      b[name] = h;
      if (old !== undefined) ex.drop(old);
    };
    for (const name of Object.keys(inputs)) set(name, inputs[name]);
    const segment = (name) => {
      for (const id of SEGMENTS[name]) {
        const spec = KERNELS[id];
        const args = spec.params.map((p) => {
          if (b[p] === undefined) throw new Error('phic internal error: kernel ' + id + ' reads ' + p + ', which has no value');
          return b[p];
        });
        set(spec.writes, ex.run(id, args));
      }
    };
    const advance = () => {
      for (const s of STATE) set(s.current, b[s.next]);
    };
    const idle = (n) => {
      for (let k = 0; k < n; k++) {
        segment('step');
        advance();
      }
    };
    const out = {};
    segment('invariants');
    if (entry === 'iterate') idle(K);
    else if (entry === 'forward') {
      idle(T);
      for (const s of STATE) set(s.dot, ex.zeros(count * s.size(D)));
      for (let k = T; k < K; k++) {
        segment(SEGMENTS.stepForTangent ? 'stepForTangent' : 'step');
        segment('tangent');
        advance();
        for (const s of STATE) set(s.dot, b[s.dotNext]);
      }
      for (const s of STATE) out['tangent:' + s.name] = b[s.dot];
    } else {
      idle(T);
      const tape = STATE.map(() => []);
      for (let k = T; k < K; k++) {
        STATE.forEach((s, i) => {
          ex.hold(b[s.current]);
          tape[i].push(b[s.current]);
        });
        segment('step');
        advance();
      }
      for (const s of STATE) out['state:' + s.name] = b[s.current];
      if (entry === 'hypergradient') {
        segment('outerGradient');
        out.loss = b[OUTER.loss];
        STATE.forEach((s, i) => set(s.bar, b[OUTER.stateGradient[i]]));
        PARAMS.forEach((p, i) => set(p.bar, b[OUTER.paramGradient[i]]));
      } else {
        for (const p of PARAMS) set(p.bar, ex.zeros(count * p.size(D)));
      }
      for (let k = K - 1; k >= T; k--) {
        STATE.forEach((s, i) => {
          set(s.current, tape[i][k - T]);
          ex.drop(tape[i][k - T]);
        });
        if (SEGMENTS.adjointPrep) segment('adjointPrep');
        segment('adjoint');
        for (const s of STATE) set(s.bar, b[s.barNext]);
      }
      for (const p of PARAMS) out['gradient:' + p.name] = b[p.bar];
    }
    if (entry === 'iterate' || entry === 'forward') for (const s of STATE) out['state:' + s.name] = b[s.current];
    for (const key of Object.keys(out)) ex.hold(out[key]);
    for (const name of Object.keys(b)) ex.drop(b[name]);
    return out;
  }

  async function probe() {
    if (probed !== null) return probed;
    const k = gpu.createKernel('function () { return 1; }', { output: [1] });
    await k();
    probed = backendOf(k.kernel.constructor, k.kernel.context);
    if (typeof k.destroy === 'function') k.destroy();
    predicted = probed;
    return probed;
  }

  async function execute(entry, count, arrays) {
    if (destroyed) fail('usage', 'this GPU instance was destroyed');
    const chosen = await probe();
    if (requireGpu && CPU_BACKENDS.includes(chosen)) fail('usage', requireGpuMessage(chosen));
    const names = Object.keys(arrays).sort();
    for (const n of names) checkSize('input ' + n, arrays[n].length);
    const mode = executor !== 'auto' ? executor : asyncMode || chosen === 'webasm' || chosen === 'webgpu' ? 'pipeline' : 'kernels';
    const raw = {};
    let backend = chosen;
    let fallbackReason = null;
    if (mode === 'pipeline') {
      const key = entry + '@' + count + '@' + names.join(',');
      let pipe = pipelines.get(key);
      if (pipe === undefined) {
        const traced = { run: (id, args) => kernelFor(id, count)(...args), zeros: (n) => utility('zeros', n)(), hold: () => {}, drop: () => {} };
        const fn = function () {
          const inputs = {};
          for (let i = 0; i < names.length; i++) inputs[names[i]] = arguments[i];
          return program(entry, count, traced, inputs);
        };
        Object.defineProperty(fn, 'length', { value: names.length });
        pipe = gpu.createPipeline(fn);
        pipelines.set(key, pipe);
      }
      const result = await pipe(...names.map((n) => arrays[n]));
      for (const key of Object.keys(result)) raw[key] = result[key];
      const ran = pipe.backend;
      backend = ran === 'gpu' ? chosen : ran ?? chosen;
      fallbackReason = pipe.fallbackReason;
    } else {
      const gl = !CPU_BACKENDS.includes(chosen);
      const refs = new Map();
      const used = new Set();
      const deletable = (h) => h !== null && typeof h === 'object' && typeof h.delete === 'function';
      const ex = {
        run: (id, args) => {
          const k = kernelFor(id, count);
          used.add(k);
          return k(...args);
        },
        zeros: (n) => utility('zeros', n)(),
        hold: (h) => {
          if (deletable(h)) refs.set(h, (refs.get(h) ?? 0) + 1);
        },
        drop: (h) => {
          if (!deletable(h)) return;
          const n = (refs.get(h) ?? 0) - 1;
          if (n > 0) refs.set(h, n);
          else {
            refs.delete(h);
            h.delete();
          }
        },
      };
      const inputs = {};
      for (const n of names) inputs[n] = gl ? utility('upload', arrays[n].length)(arrays[n]) : arrays[n];
      const handles = program(entry, count, ex, inputs);
      for (const key of Object.keys(handles)) {
        const h = handles[key];
        raw[key] = typeof h.toArray === 'function' ? await h.toArray() : h;
        ex.drop(h);
      }
      for (const k of used) {
        const b = backendOf(k.kernel.constructor, k.kernel.context);
        if (b !== chosen) {
          backend = b;
          fallbackReason = k.kernel.fallbackReason ?? fallbackReason;
        }
      }
    }
    actual = backend;
    if (requireGpu && CPU_BACKENDS.includes(backend)) fail('usage', requireGpuMessage(backend) + (fallbackReason ? ' (' + fallbackReason + ')' : ''));
    const values = {};
    for (const key of Object.keys(raw)) {
      const v = raw[key];
      values[key] = Float64Array.from(ArrayBuffer.isView(v) ? v : Array.from(v).flat());
    }
    return { values, backend, executor: mode, fallbackReason };
  }

  // ---- inputs, seeds and results ----
  const inputNames = [...PARAMS.map((p) => p.name), ...DATA.map((d) => d.name)];
  function loadInputs(inputs, outer) {
    checkKeys(inputs, inputNames, 'inputs');
    const arrays = {};
    const put = (v, what) => {
      const a = new Float32Array(v.size(D));
      toFlat(inputs[v.name], a, what, v.shape(D));
      checkFloat32(a, what);
      arrays[v.value] = a;
    };
    for (const p of PARAMS) put(p, 'input ' + p.name);
    for (const d of DATA.filter((d) => !d.outer)) put(d, 'input ' + d.name);
    const outerData = DATA.filter((d) => d.outer);
    if (outer) {
      const missing = outerData.filter((d) => inputs[d.name] === undefined).map((d) => d.name);
      if (missing.length) fail('data', 'the outer objective needs the inputs ' + missing.join(', '));
      for (const d of outerData) put(d, 'input ' + d.name);
    }
    return arrays;
  }
  function loadState(x0, arrays) {
    const given = x0 ?? {};
    checkKeys(given, STATE.map((s) => s.name), 'x0');
    // A previous-iterate component starts equal to its iterate unless given.
    for (const s of [...STATE.filter((s) => s.initialFrom === undefined), ...STATE.filter((s) => s.initialFrom !== undefined)]) {
      const a = new Float32Array(s.size(D));
      if (given[s.name] !== undefined) toFlat(given[s.name], a, 'x0.' + s.name, s.shape(D));
      else if (s.initialFrom !== undefined) a.set(arrays[STATE.find((o) => o.name === s.initialFrom).current]);
      checkFloat32(a, 'x0.' + s.name);
      arrays[s.current] = a;
    }
  }
  function stateOf(values) {
    const state = {};
    for (const s of STATE) state[s.name] = values['state:' + s.name];
    return state;
  }
  function checkFinite(values) {
    for (const key of Object.keys(values)) {
      const bad = nonFinite(values[key], values[key].length);
      if (bad >= 0) {
        const [group, name] = key.split(':');
        fail('numeric', (group === 'state' ? 'state ' : group === 'tangent' ? 'the tangent of ' : group === 'gradient' ? 'the gradient for ' : '') + (name ?? key) +
          ' is non-finite (entry ' + bad + ') after ' + K + ' iterations in float32 (the GPU backend checks the final results only)', { variable: name ?? key });
      }
    }
  }
  const report = (r, rest) => Object.assign({ state: stateOf(r.values) }, rest, { backend: r.backend, precision: 'float32', executor: r.executor });
  const flatVectors = (values, group, vars, copies) => {
    const out = {};
    for (const v of vars) out[v.name] = values[group + ':' + v.name].slice(0, copies * v.size(D));
    return out;
  };

  async function iterate(inputs, x0) {
    const arrays = loadInputs(inputs, false);
    loadState(x0, arrays);
    const r = await execute('iterate', 0, arrays);
    checkFinite(r.values);
    return report(r, {});
  }
  async function jvp(inputs, direction, x0) {
    const arrays = loadInputs(inputs, false);
    loadState(x0, arrays);
    checkKeys(direction ?? {}, PARAMS.map((p) => p.name), 'direction');
    for (const p of PARAMS) {
      const a = new Float32Array(p.size(D));
      if (direction?.[p.name] !== undefined) toFlat(direction[p.name], a, 'direction.' + p.name, p.shape(D));
      checkFloat32(a, 'direction.' + p.name);
      arrays[p.dot] = a;
    }
    const r = await execute('forward', 1, arrays);
    checkFinite(r.values);
    return report(r, { tangent: flatVectors(r.values, 'tangent', STATE, 1) });
  }
  async function jacobianForward(inputs, x0) {
    const arrays = loadInputs(inputs, false);
    loadState(x0, arrays);
    let off = 0;
    for (const p of PARAMS) {
      const n = p.size(D);
      const a = new Float32Array(P * n);
      for (let c = 0; c < n; c++) a[(off + c) * n + c] = 1;
      arrays[p.dot] = a;
      off += n;
    }
    const r = await execute('forward', P, arrays);
    checkFinite(r.values);
    const jacobian = {};
    off = 0;
    for (const p of PARAMS) {
      const cols = p.size(D);
      for (const s of STATE) {
        const rows = s.size(D), dot = r.values['tangent:' + s.name], data = new Float64Array(rows * cols);
        for (let c = 0; c < cols; c++) for (let row = 0; row < rows; row++) data[row * cols + c] = dot[(off + c) * rows + row];
        (jacobian[s.name] ??= {})[p.name] = matrix(rows, cols, data);
      }
      off += cols;
    }
    return report(r, { jacobian });
  }
  async function vjp(inputs, cotangent, x0) {
    const arrays = loadInputs(inputs, false);
    loadState(x0, arrays);
    checkKeys(cotangent ?? {}, STATE.map((s) => s.name), 'cotangent');
    for (const s of STATE) {
      const a = new Float32Array(s.size(D));
      if (cotangent?.[s.name] !== undefined) toFlat(cotangent[s.name], a, 'cotangent.' + s.name, s.shape(D));
      checkFloat32(a, 'cotangent.' + s.name);
      arrays[s.bar] = a;
    }
    const r = await execute('reverse', 1, arrays);
    checkFinite(r.values);
    return report(r, { gradient: flatVectors(r.values, 'gradient', PARAMS, 1) });
  }
  async function jacobianReverse(inputs, x0) {
    const arrays = loadInputs(inputs, false);
    loadState(x0, arrays);
    let off = 0;
    for (const s of STATE) {
      const n = s.size(D);
      const a = new Float32Array(S * n);
      for (let i = 0; i < n; i++) a[(off + i) * n + i] = 1;
      arrays[s.bar] = a;
      off += n;
    }
    const r = await execute('reverse', S, arrays);
    checkFinite(r.values);
    const jacobian = {};
    off = 0;
    for (const s of STATE) {
      const rows = s.size(D);
      for (const p of PARAMS) {
        const cols = p.size(D);
        (jacobian[s.name] ??= {})[p.name] = matrix(rows, cols, r.values['gradient:' + p.name].slice(off * cols, (off + rows) * cols));
      }
      off += rows;
    }
    return report(r, { jacobian });
  }
  async function hypergradient(inputs, x0) {
    const arrays = loadInputs(inputs, true);
    loadState(x0, arrays);
    const r = await execute('hypergradient', 1, arrays);
    checkFinite(r.values);
    return report(r, { loss: r.values.loss[0], gradient: flatVectors(r.values, 'gradient', PARAMS, 1) });
  }
  async function destroy() {
    destroyed = true;
    for (const p of pipelines.values()) await p.destroy();
    for (const k of kernels.values()) if (typeof k.destroy === 'function') k.destroy();
    pipelines.clear();
    kernels.clear();
  }

  const api = { meta, dims: Object.freeze({ ...D }), precision: 'float32', iterate, destroy };
  Object.defineProperty(api, 'backend', { enumerable: true, get: () => actual ?? predicted });
  if (SEGMENTS.tangent) Object.assign(api, { jvp, jacobianForward });
  if (SEGMENTS.adjoint) Object.assign(api, { vjp, jacobianReverse });
  if (SEGMENTS.adjoint && SEGMENTS.outerGradient) Object.assign(api, { hypergradient });
  return Object.freeze(api);
}`;
