// The one source of the helpers every generated CPU module carries at top level, typed:
// `--emit ts` prints this text, and `--emit js` prints runtime-typed.generated.ts, which
// `npm run runtimes` derives from it by cutting the annotations out (compiler/build/strip-types.ts,
// byte for byte otherwise; a test fails when the generated file is stale). The derivation runs
// at build time so that the compiler needs no `typescript` package when it runs.
// Each export is named *_TS; the generated module exports the same text without types, without the suffix.

/** Error reporting, input conversion and validation, the non-finite check. */
export const JS_RUNTIME_TS = `function fail(category: string, message: string, details?: object): never {
  const error: Error & { category?: string } = new Error(message);
  error.name = 'PhicError';
  error.category = category;
  if (details) Object.assign(error, details);
  throw error;
}

/** Copies a typed array, a nested array or a number into dest, checking shape and finiteness. */
function toFlat(value: unknown, dest: Float64Array | Float32Array, what: string, shape: readonly number[]): void {
  const size = dest.length;
  const shapeText = shape.length === 0 ? 'a number' : shape.length === 1 ? 'a vector of length ' + shape[0] : 'a ' + shape[0] + '×' + shape[1] + ' matrix';
  const put = (i: number, v: unknown) => {
    if (typeof v !== 'number' || v - v !== 0) fail('data', what + ': entry ' + i + ' is ' + (typeof v === 'number' ? v : typeof v) + ', not a finite number');
    dest[i] = v;
  };
  if (shape.length === 0 && typeof value === 'number') return put(0, value);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    if ((value as Float64Array).length !== size) fail('data', what + ' must be ' + shapeText + ', got ' + (value as Float64Array).length + ' entries');
    if (value instanceof Float64Array) {
      // a block copy, then one pass for NaN and Infinity (put() names the first bad entry)
      dest.set(value);
      const bad = nonFinite(dest, size);
      if (bad >= 0) put(bad, dest[bad]);
      return;
    }
    for (let i = 0; i < size; i++) put(i, (value as Float64Array)[i]);
    return;
  }
  if (!Array.isArray(value)) fail('data', what + ' must be ' + shapeText + (value === undefined ? ', but it is missing' : ''));
  if (shape.length === 2 && value.length === shape[0] && value.every((row) => Array.isArray(row))) {
    const cols = shape[1]!;
    value.forEach((row: unknown[], r) => {
      if (row.length !== cols) fail('data', what + ' must be ' + shapeText + ': row ' + r + ' has ' + row.length + ' entries');
      for (let c = 0; c < cols; c++) put(r * cols + c, row[c]);
    });
    return;
  }
  if (value.length !== size || value.some((v) => Array.isArray(v))) fail('data', what + ' must be ' + shapeText + ', got ' + (Array.isArray(value[0]) ? 'nested arrays of another shape' : value.length + ' entries'));
  for (let i = 0; i < size; i++) put(i, value[i]);
}

/** Index of the first non-finite entry among the first count, or -1. */
function nonFinite(buffer: Float64Array | Float32Array, count: number): number {
  for (let i = 0; i < count; i++) {
    const v = buffer[i]!;
    if (v - v !== 0) return i;
  }
  return -1;
}

function checkKeys(object: unknown, allowed: readonly string[], what: string): void {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) fail('data', what + ' must be an object keyed by name');
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) fail('data', what + ": unknown name '" + key + "' (expected " + allowed.join(', ') + ')');
  }
}

function matrix(rows: number, cols: number, data: Float64Array) {
  return { rows, cols, data };
}

/**
 * The blocks target[state][column] of a reverse-mode Jacobian: row r of each is direction r's
 * adjoint of the column variable (rows: [name, size] per state; columns: [name, size, adjoints,
 * or null for zeros]). A loop over tables, so the code does not grow with states × columns.
 */
function rowBlocks(target: Record<string, Record<string, { rows: number; cols: number; data: Float64Array }>>, rows: readonly (readonly [string, number])[], columns: readonly (readonly [string, number, Float64Array | null])[]): void {
  let offset = 0;
  for (const [s, size] of rows) {
    const block: Record<string, { rows: number; cols: number; data: Float64Array }> = (target[s] = {});
    for (const [c, cols, adjoints] of columns) {
      block[c] = matrix(size, cols, adjoints ? adjoints.slice(offset * cols, (offset + size) * cols) : new Float64Array(size * cols));
    }
    offset += size;
  }
}

/** The blocks target[state][param] of a forward-mode Jacobian: direction d of a state's tangents is column d (states: [name, size, tangents]; params: [name, size]). */
function columnBlocks(target: Record<string, Record<string, { rows: number; cols: number; data: Float64Array }>>, states: readonly (readonly [string, number, Float64Array])[], params: readonly (readonly [string, number])[]): void {
  for (const [s, rows, tangents] of states) {
    const block: Record<string, { rows: number; cols: number; data: Float64Array }> = (target[s] = {});
    let offset = 0;
    for (const [p, cols] of params) {
      const out = new Float64Array(rows * cols);
      for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) out[r * cols + c] = tangents[(offset + c) * rows + r];
      block[p] = matrix(rows, cols, out);
      offset += cols;
    }
  }
}`;

/** create()'s option checks (JS_HELPERS in js-templates.ts puts the scalar helpers after them). */
export const CREATE_OPTIONS_TS = `/** create()'s options, checked: { threads } (1 to 64; 1: no worker threads), { maxBytes } (a positive integer) and { kernels } ('simd' or 'relaxed'). */
function createOptions(options: CreateOptions | undefined): CreateOptions {
  if (options === undefined) return {};
  checkKeys(options, ['threads', 'maxBytes', 'kernels'], 'options');
  const { threads, maxBytes, kernels } = options;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) fail('usage', 'options.threads must be an integer from 1 to 64, got ' + threads);
  if (kernels !== undefined && kernels !== 'simd' && kernels !== 'relaxed') fail('usage', "options.kernels must be 'simd' or 'relaxed', got " + JSON.stringify(kernels));
  if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 1)) fail('usage', 'options.maxBytes must be a positive integer up to 2^53, got ' + maxBytes);
  return options;
}

/** Refuses, before they are allocated, buffers of more than options.maxBytes (default 4 GiB) in all: entries are float64. */
function checkBytes(entries: number, what: string, options: CreateOptions | undefined): void {
  const limit = createOptions(options).maxBytes ?? 4294967296;
  const bytes = entries * 8;
  if (!(bytes <= limit)) fail('data', what + ' need ' + bytes + ' bytes, more than the ' + limit + ' an instance may hold: use smaller dims, K or truncation, or raise create(dims, { maxBytes })');
}`;

/** Loading mini-batched inputs: printed only in modules that have them (it calls toFlat and fail above). */
export const JS_BATCH_RUNTIME_TS = `/** Mini-batches into dest: a list of count values of the batch's shape, or all of them in one flat typed array. */
function toFlatBatches(value: unknown, dest: Float64Array, what: string, shape: readonly number[], count: number): void {
  const size = dest.length / count;
  if (ArrayBuffer.isView(value)) return toFlat(value, dest, what + ' (' + count + ' batches)', [count * size]);
  if (!Array.isArray(value) || value.length !== count) fail('data', what + ' must be a list of ' + count + ' batches' + (Array.isArray(value) ? ', got ' + value.length : value === undefined ? ', but it is missing' : ''));
  value.forEach((batch, j) => toFlat(batch, dest.subarray(j * size, (j + 1) * size), what + ' batch ' + j, shape));
}`;

/** What the iteration loops of a module that solves call on an error (it follows the LU routine). */
export const AT_ITERATION_TS = `/** An error thrown inside iteration k without its iteration (a singular solve), with it added. */
function atIteration(error: unknown, k: number): unknown {
  if (error !== null && typeof error === 'object' && (error as Error).name === 'PhicError' && (error as { iteration?: number }).iteration === undefined) {
    (error as Error).message += ' at iteration ' + (k + 1) + ' of ' + K;
    (error as { iteration?: number }).iteration = k + 1;
  }
  return error;
}`;


/** The linear solvers of `--method implicit` (runtime-solvers.ts says what they do). */
export const SOLVER_RUNTIME_TS = `/**
 * Solves M v = b matrix-free (apply(w, out): out = M w) from the start v holds (zeros or a warm
 * start), in place; returns the number of products with M it ran, at most \`steps\`.
 *   neumann:  v ← v + (b − M v): from v = 0, the partial sums Σ_{j≤s} (I − M)ʲ b of the Neumann series.
 *   cg:       conjugate gradients; M must be symmetric positive definite.
 *   gmres:    GMRES(restart), modified Gram–Schmidt and Givens rotations.
 *   bicgstab: BiCGSTAB (two products an iteration).
 * It stops early once ‖b − M v‖ ≤ tol·‖b‖ (tol = 0: never early). With checkSymmetry, CG first
 * makes sure M is symmetric here (symmetryCheck), since on a nonsymmetric M it would return a
 * wrong answer without noticing.
 */
function implicitSolve(solver: string, steps: number, restart: number, tol: number, n: number, apply: (w: Float64Array, out: Float64Array) => void, b: Float64Array, v: Float64Array, work: Float64Array, checkSymmetry: boolean): number {
  const dot = (x: Float64Array, y: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += x[i] * y[i];
    return s;
  };
  const target = tol * Math.sqrt(dot(b, b));
  let zero = true;
  for (let i = 0; i < n && zero; i++) zero = v[i] === 0;
  // r = b − M v; a product only when v is not zero
  const residual = (r: Float64Array, Mv: Float64Array) => {
    if (zero) r.set(b.subarray(0, n));
    else {
      apply(v, Mv);
      for (let i = 0; i < n; i++) r[i] = b[i] - Mv[i];
    }
    return zero ? 0 : 1;
  };
  const part = (j: number) => work.subarray(j * n, (j + 1) * n);
  let products = 0;
  if (solver === 'neumann') {
    const r = part(0), Mv = part(1);
    for (;;) {
      products += residual(r, Mv);
      if (tol > 0 && Math.sqrt(dot(r, r)) <= target) break;
      for (let i = 0; i < n; i++) v[i] += r[i];
      zero = false;
      if (products >= steps) break;
    }
    return products;
  }
  if (solver === 'cg') {
    if (checkSymmetry) products += symmetryCheck(n, apply, work);
    const r = part(0), p = part(1), Mp = part(2);
    products += residual(r, Mp);
    p.set(r);
    let rr = dot(r, r);
    while (Math.sqrt(rr) > target && products < steps) {
      apply(p, Mp);
      products++;
      const pMp = dot(p, Mp);
      if (!(pMp > 0)) fail('numeric', 'cg: I − ∂ₓΦ is not positive definite at x_K (pᵀMp = ' + pMp + '); use --solver gmres or bicgstab', { solver });
      const alpha = rr / pMp;
      for (let i = 0; i < n; i++) {
        v[i] += alpha * p[i];
        r[i] -= alpha * Mp[i];
      }
      const next = dot(r, r);
      const beta = next / rr;
      rr = next;
      for (let i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
    }
    return products;
  }
  if (solver === 'bicgstab') {
    const r = part(0), rhat = part(1), p = part(2), Mp = part(3), s = part(4), Ms = part(5);
    products += residual(r, Mp);
    rhat.set(r);
    p.fill(0);
    Mp.fill(0);
    let rho = 1, alpha = 1, omega = 1;
    while (Math.sqrt(dot(r, r)) > target && products + 1 <= steps) {
      const rhoNext = dot(rhat, r);
      if (rhoNext === 0) fail('numeric', 'bicgstab broke down (r̂ᵀr = 0) at x_K; use --solver gmres', { solver });
      const beta = (rhoNext / rho) * (alpha / omega);
      rho = rhoNext;
      for (let i = 0; i < n; i++) p[i] = r[i] + beta * (p[i] - omega * Mp[i]);
      apply(p, Mp);
      products++;
      alpha = rho / dot(rhat, Mp);
      for (let i = 0; i < n; i++) s[i] = r[i] - alpha * Mp[i];
      if (Math.sqrt(dot(s, s)) <= target || products >= steps) {
        for (let i = 0; i < n; i++) v[i] += alpha * p[i];
        r.set(s);
        break;
      }
      apply(s, Ms);
      products++;
      const tt = dot(Ms, Ms);
      omega = tt > 0 ? dot(Ms, s) / tt : 0;
      for (let i = 0; i < n; i++) {
        v[i] += alpha * p[i] + omega * s[i];
        r[i] = s[i] - omega * Ms[i];
      }
      if (omega === 0) break;
    }
    return products;
  }
  // GMRES(m): the basis V₀..V_m in work, then H ((m+1)×m), the rotations and the rotated right-hand side
  const m = Math.min(restart, steps);
  const w = part(m + 1);
  const small = work.subarray((m + 2) * n);
  const H = small.subarray(0, (m + 1) * m), cs = small.subarray((m + 1) * m, (m + 1) * m + m);
  const sn = small.subarray((m + 2) * m, (m + 3) * m), g = small.subarray((m + 3) * m, (m + 3) * m + m + 1);
  const y = small.subarray((m + 4) * m + 1, (m + 5) * m + 1);
  for (;;) {
    const V0 = part(0);
    products += residual(V0, w);
    zero = false;
    const beta = Math.sqrt(dot(V0, V0));
    if (beta <= target || beta === 0 || products >= steps) break;
    for (let i = 0; i < n; i++) V0[i] /= beta;
    g.fill(0);
    g[0] = beta;
    let used = 0;
    for (let j = 0; j < m && products < steps; j++) {
      const Vj = part(j), Vn = part(j + 1);
      apply(Vj, w);
      products++;
      for (let i = 0; i <= j; i++) {
        const Vi = part(i);
        const h = dot(w, Vi);
        H[i * m + j] = h;
        for (let l = 0; l < n; l++) w[l] -= h * Vi[l];
      }
      const norm = Math.sqrt(dot(w, w));
      H[(j + 1) * m + j] = norm;
      if (norm > 0) for (let l = 0; l < n; l++) Vn[l] = w[l] / norm;
      // the earlier rotations on column j, then the one that zeroes H[j+1, j]
      for (let i = 0; i < j; i++) {
        const a = H[i * m + j], c = H[(i + 1) * m + j];
        H[i * m + j] = cs[i] * a + sn[i] * c;
        H[(i + 1) * m + j] = -sn[i] * a + cs[i] * c;
      }
      const a = H[j * m + j], c = H[(j + 1) * m + j];
      const rr = Math.hypot(a, c);
      cs[j] = rr === 0 ? 1 : a / rr;
      sn[j] = rr === 0 ? 0 : c / rr;
      H[j * m + j] = rr;
      H[(j + 1) * m + j] = 0;
      g[j + 1] = -sn[j] * g[j];
      g[j] = cs[j] * g[j];
      used = j + 1;
      if (Math.abs(g[j + 1]) <= target || norm === 0) break;
    }
    // v += V y, where H y = g on the first \`used\` rows (upper triangular)
    for (let i = used - 1; i >= 0; i--) {
      let s = g[i];
      for (let l = i + 1; l < used; l++) s -= H[i * m + l] * y[l];
      y[i] = H[i * m + i] === 0 ? 0 : s / H[i * m + i];
    }
    for (let i = 0; i < used; i++) {
      const Vi = part(i);
      for (let l = 0; l < n; l++) v[l] += y[i] * Vi[l];
    }
    if (used === 0 || Math.abs(g[used]) <= target || products >= steps) break;
  }
  return products;
}

/**
 * The dot-product test ⟨u, M w⟩ = ⟨M u, w⟩ for two fixed vectors: a numeric error when M is not
 * symmetric at this point (CG needs it; a gradient step's ∂ₓΦ is, a general map's is not).
 * Two products.
 */
function symmetryCheck(n: number, apply: (w: Float64Array, out: Float64Array) => void, work: Float64Array): number {
  const u = work.subarray(0, n), w = work.subarray(n, 2 * n), Mu = work.subarray(2 * n, 3 * n), Mw = work.subarray(3 * n, 4 * n);
  for (let i = 0; i < n; i++) {
    u[i] = Math.sin(i + 1);
    w[i] = Math.cos(2 * i + 1);
  }
  apply(u, Mu);
  apply(w, Mw);
  let uMw = 0, Muw = 0, uu = 0, ww = 0, MuMu = 0, MwMw = 0;
  for (let i = 0; i < n; i++) {
    uMw += u[i] * Mw[i];
    Muw += Mu[i] * w[i];
    uu += u[i] * u[i];
    ww += w[i] * w[i];
    MuMu += Mu[i] * Mu[i];
    MwMw += Mw[i] * Mw[i];
  }
  const scale = Math.sqrt(uu * MwMw) + Math.sqrt(MuMu * ww);
  if (Math.abs(uMw - Muw) > 1e-9 * scale) {
    fail('numeric', 'cg: I − ∂ₓΦ is not symmetric at x_K (⟨u, Mw⟩ = ' + uMw + ' but ⟨Mu, w⟩ = ' + Muw + '); use --solver gmres or bicgstab', { solver: 'cg' });
  }
  return 2;
}`;
