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
function toFlat(value: unknown, dest: Float64Array, what: string, shape: readonly number[]): void {
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
function nonFinite(buffer: Float64Array, count: number): number {
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
}`;

/** create()'s option checks (JS_HELPERS in js-templates.ts puts the scalar helpers after them). */
export const CREATE_OPTIONS_TS = `/** create()'s options, checked: { threads } (1 to 64; 1: no worker threads) and { maxBytes } (a positive integer). */
function createOptions(options: CreateOptions | undefined): CreateOptions {
  if (options === undefined) return {};
  checkKeys(options, ['threads', 'maxBytes'], 'options');
  const { threads, maxBytes } = options;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 64)) fail('usage', 'options.threads must be an integer from 1 to 64, got ' + threads);
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
