// Helpers every generated CPU module carries at top level (it imports nothing): error
// reporting, input conversion and validation, the non-finite check. A module that solves
// linear systems carries SOLVE_RUNTIME too.

import { LU_SOLVE_SOURCE } from '../ops/lu-source.js';

export const JS_RUNTIME = `function fail(category, message, details) {
  const error = new Error(message);
  error.name = 'PhicError';
  error.category = category;
  if (details) Object.assign(error, details);
  throw error;
}

/** Copies a typed array, a nested array or a number into dest, checking shape and finiteness. */
function toFlat(value, dest, what, shape) {
  const size = dest.length;
  const shapeText = shape.length === 0 ? 'a number' : shape.length === 1 ? 'a vector of length ' + shape[0] : 'a ' + shape[0] + '×' + shape[1] + ' matrix';
  const put = (i, v) => {
    if (typeof v !== 'number' || v - v !== 0) fail('data', what + ': entry ' + i + ' is ' + (typeof v === 'number' ? v : typeof v) + ', not a finite number');
    dest[i] = v;
  };
  if (shape.length === 0 && typeof value === 'number') return put(0, value);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    if (value.length !== size) fail('data', what + ' must be ' + shapeText + ', got ' + value.length + ' entries');
    if (value instanceof Float64Array) {
      // a block copy, then one pass for NaN and Infinity (put() names the first bad entry)
      dest.set(value);
      const bad = nonFinite(dest, size);
      if (bad >= 0) put(bad, dest[bad]);
      return;
    }
    for (let i = 0; i < size; i++) put(i, value[i]);
    return;
  }
  if (!Array.isArray(value)) fail('data', what + ' must be ' + shapeText + (value === undefined ? ', but it is missing' : ''));
  if (shape.length === 2 && value.length === shape[0] && value.every((row) => Array.isArray(row))) {
    const cols = shape[1];
    value.forEach((row, r) => {
      if (row.length !== cols) fail('data', what + ' must be ' + shapeText + ': row ' + r + ' has ' + row.length + ' entries');
      for (let c = 0; c < cols; c++) put(r * cols + c, row[c]);
    });
    return;
  }
  if (value.length !== size || value.some((v) => Array.isArray(v))) fail('data', what + ' must be ' + shapeText + ', got ' + (Array.isArray(value[0]) ? 'nested arrays of another shape' : value.length + ' entries'));
  for (let i = 0; i < size; i++) put(i, value[i]);
}

/** Index of the first non-finite entry among the first count, or -1. */
function nonFinite(buffer, count) {
  for (let i = 0; i < count; i++) {
    const v = buffer[i];
    if (v - v !== 0) return i;
  }
  return -1;
}

function checkKeys(object, allowed, what) {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) fail('data', what + ' must be an object keyed by name');
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) fail('data', what + ": unknown name '" + key + "' (expected " + allowed.join(', ') + ')');
  }
}

function matrix(rows, cols, data) {
  return { rows, cols, data };
}

/**
 * The blocks target[state][column] of a reverse-mode Jacobian: row r of each is direction r's
 * adjoint of the column variable (rows: [name, size] per state; columns: [name, size, adjoints,
 * or null for zeros]). A loop over tables, so the code does not grow with states × columns.
 */
function rowBlocks(target, rows, columns) {
  let offset = 0;
  for (const [s, size] of rows) {
    const block = (target[s] = {});
    for (const [c, cols, adjoints] of columns) {
      block[c] = matrix(size, cols, adjoints ? adjoints.slice(offset * cols, (offset + size) * cols) : new Float64Array(size * cols));
    }
    offset += size;
  }
}

/** The blocks target[state][param] of a forward-mode Jacobian: direction d of a state's tangents is column d (states: [name, size, tangents]; params: [name, size]). */
function columnBlocks(target, states, params) {
  for (const [s, rows, tangents] of states) {
    const block = (target[s] = {});
    let offset = 0;
    for (const [p, cols] of params) {
      const out = new Float64Array(rows * cols);
      for (let c = 0; c < cols; c++) for (let r = 0; r < rows; r++) out[r * cols + c] = tangents[(offset + c) * rows + r];
      block[p] = matrix(rows, cols, out);
      offset += cols;
    }
  }
}`;

/** Loading mini-batched inputs: printed only in modules that have them (it calls toFlat and fail above). */
export const JS_BATCH_RUNTIME = `/** Mini-batches into dest: a list of count values of the batch's shape, or all of them in one flat typed array. */
function toFlatBatches(value, dest, what, shape, count) {
  const size = dest.length / count;
  if (ArrayBuffer.isView(value)) return toFlat(value, dest, what + ' (' + count + ' batches)', [count * size]);
  if (!Array.isArray(value) || value.length !== count) fail('data', what + ' must be a list of ' + count + ' batches' + (Array.isArray(value) ? ', got ' + value.length : value === undefined ? ', but it is missing' : ''));
  value.forEach((batch, j) => toFlat(batch, dest.subarray(j * size, (j + 1) * size), what + ' batch ' + j, shape));
}`;

/**
 * The LU routine of lusolve and inv, and what the iteration loops of a module that solves call
 * on an error: a singular matrix is found inside a step, which does not know its iteration.
 */
export const SOLVE_RUNTIME = `${LU_SOLVE_SOURCE}

/** An error thrown inside iteration k without its iteration (a singular solve), with it added. */
function atIteration(error, k) {
  if (error !== null && typeof error === 'object' && error.name === 'PhicError' && error.iteration === undefined) {
    error.message += ' at iteration ' + (k + 1) + ' of ' + K;
    error.iteration = k + 1;
  }
  return error;
}`;
