// lusolve, inv and diag beyond the registry-generated op tests: the LU routine against an
// independent LU (ml-matrix), transposed, with the identity and at offsets; singular and
// non-finite matrices as numeric errors naming the op (and, in generated modules, the
// iteration); small maps that solve with a state, a parameter or a matrix right-hand side and
// a differentiated matrix, forward vs reverse vs finite differences on both CPU kernel paths;
// the GPU backend's refusal; shape errors at the formula; hygiene of the routine's names.

import { describe, expect, it } from 'vitest';
import { LuDecomposition, Matrix as MlMatrix } from 'ml-matrix';
import { compile, PhicError, type MapInstance, type MapSpec } from '../src/index.js';
import { compileSpec } from '../compiler/pipeline.js';
import { inMemorySource } from '../compiler/spec/source.js';
import { luSolveFunction } from '../compiler/ops/lu-source.js';
import { topLevelNames } from '../compiler/codegen/top-level.js';
import { SOLVE_RUNTIME } from '../compiler/codegen/runtime-js.js';
import { finiteDifferenceJacobian, randomGenerator, relativeDifference } from '../runtime/reference.js';
import { readSpecFile } from '../compiler/spec/read-file.js';
import { join } from 'node:path';
import { ROOT } from './helpers/cli.js';

const luSolve = luSolveFunction((category, message, details) => {
  throw Object.assign(new PhicError(category as 'numeric', message), details);
});

/** A⁻¹B (or A⁻ᵀB) by ml-matrix's LU, row-major. */
function reference(a: Float64Array, b: Float64Array, n: number, nrhs: number, transposed: boolean): Float64Array {
  let A = new MlMatrix(Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n))));
  if (transposed) A = A.transpose();
  const B = new MlMatrix(Array.from({ length: n }, (_, i) => Array.from(b.subarray(i * nrhs, (i + 1) * nrhs))));
  return Float64Array.from(new LuDecomposition(A).solve(B).to1DArray());
}

describe('the LU routine (one source: the interpreter and generated modules run it)', () => {
  const rng = randomGenerator(99);
  it.each([
    [1, 1],
    [3, 1],
    [5, 1],
    [5, 3],
    [8, 2],
  ])('solves n = %i with %i right-hand sides, plain and transposed, at offsets, like an independent LU', (n, nrhs) => {
    for (let trial = 0; trial < 4; trial++) {
      // entries in [-1, 1]: no diagonal dominance, so the pivoting matters
      const a = Float64Array.from({ length: n * n }, () => 2 * rng.uniform() - 1);
      const b = rng.vector(n * nrhs, 'normal');
      for (const transposed of [false, true]) {
        const want = reference(a, b, n, nrhs, transposed);
        // the operands at offsets 3, 5 and 2 in longer arrays
        const A = new Float64Array(3 + n * n);
        A.set(a, 3);
        const B = new Float64Array(5 + n * nrhs);
        B.set(b, 5);
        const X = new Float64Array(2 + n * nrhs).fill(7);
        luSolve('lusolve', A, 3, B, 5, X, 2, new Float64Array(n * n), n, nrhs, transposed);
        expect(X.subarray(0, 2)).toEqual(new Float64Array([7, 7]));
        expect(relativeDifference(X.subarray(2), want)).toBeLessThan(1e-10);
      }
    }
  });

  it('solves with the identity when B is null (the inverse)', () => {
    const n = 4;
    const a = Float64Array.from({ length: n * n }, () => 2 * rng.uniform() - 1);
    const X = new Float64Array(n * n);
    luSolve('inv', a, 0, null, 0, X, 0, new Float64Array(n * n), n, n, false);
    const identity = Float64Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? 1 : 0));
    expect(relativeDifference(X, reference(a, identity, n, n, false))).toBeLessThan(1e-10);
  });

  it.each([
    ['an exactly singular matrix', [1, 2, 2, 4], 2, /lusolve: the 2×2 matrix is singular to working precision \(no pivot in column 2\)/],
    ['a matrix singular up to rounding', [1, 2, 3, 4, 5, 6, 7, 8, 9], 3, /lusolve: the 3×3 matrix is singular to working precision/],
    ['the zero matrix', [0, 0, 0, 0], 2, /no pivot in column 1/],
    ['a non-finite entry', [1, NaN, 0, 1], 2, /lusolve: the matrix has a non-finite entry/],
    ['an infinite entry', [Infinity, 0, 0, 1], 2, /lusolve: the matrix has a non-finite entry/],
  ])('refuses %s with a numeric error naming the op', (_what, entries, n, message) => {
    const run = () => luSolve('lusolve', Float64Array.from(entries), 0, new Float64Array(n), 0, new Float64Array(n), 0, new Float64Array(n * n), n, 1, false);
    expect(run).toThrow(message);
    try {
      run();
    } catch (e) {
      expect(e).toMatchObject({ name: 'PhicError', category: 'numeric', op: 'lusolve' });
    }
  });

  it('is declared at the top level of the modules that solve, under the name they call', () => {
    expect(topLevelNames(SOLVE_RUNTIME)).toEqual(['luSolve', 'atIteration']);
  });
});

const KERNEL_PATHS = ['wasm', 'js'] as const;

/** A spec compiled on one CPU kernel path: dims baked for plain JavaScript, bound at create() for the kernels. */
async function instance(spec: MapSpec, dims: Record<string, number>, K: number, kernels: (typeof KERNEL_PATHS)[number], mode: 'forward' | 'reverse' | 'both' = 'both'): Promise<MapInstance> {
  if (kernels === 'wasm') return (await compile(spec, { mode, K })).create(dims);
  return (await compile(spec, { mode, K, dims, kernels })).create();
}

const flat = (x: number | number[] | number[][]) => (typeof x === 'number' ? [x] : (x as (number | number[])[]).flat());
const square = (n: number, diagonal: number, rng: ReturnType<typeof randomGenerator>) =>
  Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? diagonal : 0) + 0.6 * (rng.uniform() - 0.5)));

interface MapCase {
  readonly label: string;
  readonly spec: MapSpec;
  readonly dims: Record<string, number>;
  readonly inputs: Record<string, number | number[] | number[][]>;
}

const rng = randomGenerator(2024);
const MAPS: MapCase[] = [
  {
    // the state is the right-hand side: a per-direction tangent and adjoint solved in place
    label: 'a state right-hand side',
    spec: { name: 'state_rhs', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'n,n' }, update: { x: '0.5 * lusolve(A, x) + theta' } },
    dims: { n: 4 },
    inputs: { theta: [0.3, -0.2, 0.5, 0.1], A: square(4, 2, rng) },
  },
  {
    // the gradient of θ is a transposed solve added into it
    label: 'a parameter right-hand side',
    spec: { name: 'param_rhs', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'n,n' }, update: { x: 'lusolve(A, theta) + 0.5 * sin(x)' } },
    dims: { n: 3 },
    inputs: { theta: [0.3, -0.2, 0.5], A: square(3, 2, rng) },
  },
  {
    label: 'a matrix right-hand side and a differentiated matrix',
    spec: { name: 'matrix_rhs', state: { X: 'n,k' }, params: { P: 'n,n' }, data: { A: 'n,n', B: 'n,k' }, update: { X: '0.3 * lusolve(A + P, tanh(X) + B)' } },
    dims: { n: 3, k: 2 },
    inputs: { P: square(3, 0, rng), A: square(3, 3, rng), B: [[1, -1], [0.5, 2], [-1, 0.3]] },
  },
  {
    label: 'inv of a differentiated matrix',
    spec: { name: 'inverse', state: { x: 'n' }, params: { P: 'n,n' }, data: { A: 'n,n', c: 'n' }, update: { x: '0.5 * inv(A + P) * x + c' } },
    dims: { n: 3 },
    inputs: { P: square(3, 0, rng), A: square(3, 2, rng), c: [1, -0.5, 0.25] },
  },
  {
    // Aᵀ and Bᵀ are read in place: the forward solves are the transposed ones, the adjoint's plain
    label: 'transposed matrices',
    spec: { name: 'transposed', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'n,n', B: 'n,n' }, update: { x: "0.5 * lusolve(A', x) + inv(B') * theta" } },
    dims: { n: 3 },
    inputs: { theta: [0.3, -0.2, 0.5], A: square(3, 2, rng), B: square(3, 2, rng) },
  },
  {
    label: 'diag of a vector and of a matrix',
    spec: { name: 'diagonals', state: { x: 'n' }, params: { theta: 'n', M: 'n,n' }, data: {}, update: { x: 'diag(theta) * tanh(x) + diag(M .* M) .* x / 4 + 1' } },
    dims: { n: 3 },
    inputs: { theta: [0.3, -0.2, 0.5], M: square(3, 0.5, rng) },
  },
];

describe.each(KERNEL_PATHS.flatMap((kernels) => MAPS.map((m) => ({ ...m, kernels }))))('a map with $label ($kernels kernels)', (c) => {
  const K = 6;
  const params = Object.keys(c.spec.params);
  it('forward and reverse Jacobians agree, and match central differences of iterate', async () => {
    const inst = await instance(c.spec, c.dims, K, c.kernels);
    const states = Object.keys(c.spec.state);
    // block by block: for each state, for each param, the rows × cols block row-major
    const blocks = (j: Record<string, Record<string, { data: Float64Array }>>) => Float64Array.from(states.flatMap((s) => params.flatMap((p) => Array.from(j[s]![p]!.data))));
    const fwd = blocks(inst.jacobianForward!(c.inputs).jacobian);
    const rev = blocks(inst.jacobianReverse!(c.inputs).jacobian);
    expect(fwd.some((v) => v !== 0)).toBe(true);
    expect(relativeDifference(fwd, rev)).toBeLessThan(1e-12);

    const sizes = params.map((p) => flat(c.inputs[p]!).length);
    const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((a, b) => a + b, 0));
    const rows = states.map((s) => inst.iterate(c.inputs).state[s]!.length);
    const f = (theta: Float64Array) => {
      const given = { ...c.inputs };
      params.forEach((p, i) => (given[p] = Array.from(theta.subarray(starts[i]!, starts[i]! + sizes[i]!))));
      return Float64Array.from(states.flatMap((s) => Array.from(inst.iterate(given).state[s]!)));
    };
    const fd = finiteDifferenceJacobian(f, Float64Array.from(params.flatMap((p) => flat(c.inputs[p]!))));
    // the central-difference Jacobian (rows: state entries, columns: param entries) in the same blocks
    const expected: number[] = [];
    states.forEach((_, si) => {
      const r0 = rows.slice(0, si).reduce((a, b) => a + b, 0);
      params.forEach((_p, pi) => {
        for (let r = r0; r < r0 + rows[si]!; r++) for (let k = 0; k < sizes[pi]!; k++) expected.push(fd.data[r * fd.cols + starts[pi]! + k]!);
      });
    });
    expect(relativeDifference(fwd, Float64Array.from(expected))).toBeLessThan(1e-6);
  });
});

describe('a singular matrix in a generated module', () => {
  // k counts the iterations, so diag(d − k) = diag(0, 2) is singular in iteration 4 (k = 3)
  const SINGULAR: MapSpec = { name: 'singular', state: { k: '', x: 'n' }, params: { b: 'n' }, data: { d: 'n' }, update: { k: 'k + 1', x: 'lusolve(diag(d - k), b)' } };
  const inputs = { b: [1, 2], d: [3, 5] };

  it.each(KERNEL_PATHS)('is a numeric error naming lusolve and the iteration, in every entry point (%s kernels)', async (kernels) => {
    const inst = await instance(SINGULAR, { n: 2 }, 10, kernels);
    const message = /^lusolve: the 2×2 matrix is singular to working precision \(no pivot in column 1\) at iteration 4 of 10$/;
    const runs = [() => inst.iterate(inputs), () => inst.jvp!(inputs, { b: [1, 0] }), () => inst.jacobianForward!(inputs), () => inst.vjp!(inputs, { k: 0, x: [1, 1] }), () => inst.jacobianReverse!(inputs)];
    for (const run of runs) {
      expect(run).toThrow(message);
      try {
        run();
      } catch (e) {
        expect(e).toMatchObject({ name: 'PhicError', category: 'numeric', op: 'lusolve', iteration: 4 });
      }
    }
    // three iterations never meet it; at a point (no iteration) the message has none
    expect(Array.from((await instance(SINGULAR, { n: 2 }, 3, kernels)).iterate(inputs).state.x!)).toEqual([1 / 1, 2 / 3]);
    expect(() => inst.partialX({ ...inputs }, { k: 3, x: [0, 0] })).toThrow(/^lusolve: the 2×2 matrix is singular to working precision \(no pivot in column 1\)$/);
  });

  it('is a numeric error naming inv; a solve of data alone runs once before the iterations, so with no iteration', async () => {
    const spec: MapSpec = { name: 'inverse', state: { x: 'n' }, params: { b: 'n' }, data: { A: 'n,n' }, update: { x: 'inv(A) * b + 0.5 * x' } };
    const inst = await instance(spec, { n: 2 }, 2, 'js');
    const run = () => inst.iterate({ b: [1, 1], A: [[1, 2], [2, 4]] });
    expect(run).toThrow(/^inv: the 2×2 matrix is singular to working precision \(no pivot in column 2\)$/);
    try {
      run();
    } catch (e) {
      expect(e).toMatchObject({ category: 'numeric', op: 'inv' });
      expect((e as { iteration?: number }).iteration).toBeUndefined();
    }
  });
});

describe('the GPU backend', () => {
  const gpu = (spec: MapSpec) => () => compileSpec(inMemorySource(spec), { mode: 'both', K: 3, backend: 'gpu' });
  const expectRefusal = (run: () => unknown, message: RegExp, field: string) => {
    expect(run).toThrow(message);
    try {
      run();
    } catch (e) {
      expect(e).toBeInstanceOf(PhicError);
      expect((e as PhicError).category).toBe('usage');
      expect((e as PhicError).context.field).toBe(field);
    }
  };

  it('refuses lusolve, inv and diag, naming each op and why', () => {
    expectRefusal(gpu(MAPS[0]!.spec), /^lusolve is not supported by the GPU backend: LU with partial pivoting chooses its row swaps from the data/, 'update.x');
    expectRefusal(gpu(MAPS[3]!.spec), /^inv is not supported by the GPU backend: LU with partial pivoting/, 'update.x');
    expectRefusal(gpu(MAPS[5]!.spec), /^diag is not supported by the GPU backend: diag\(v\) writes only the diagonal/, 'update.x');
    const objective: MapSpec = { name: 'obj', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'n,n' }, objective: 'dot(x, lusolve(A, x)) + dot(theta, x)', method: { name: 'gd', step: 0.1 } };
    expectRefusal(gpu(objective), /^lusolve is not supported by the GPU backend/, 'objective');
  });

  it('refuses the damped Newton sample, naming both ops it uses', async () => {
    const source = await readSpecFile(join(ROOT, 'samples', 'newton', 'newton.phi.ts'));
    const run = () => compileSpec(source, { mode: 'both', K: 3, backend: 'gpu' });
    expect(run).toThrow(/^diag is not supported by the GPU backend: .*; lusolve is not supported by the GPU backend: /);
  });
});

describe('formulas', () => {
  const model = (formula: string, data: Record<string, string> = { A: 'n,n', R: 'm,n', c: 'm' }) => () =>
    compileSpec(inMemorySource({ name: 'f', state: { x: 'n' }, params: { s: '' }, data, update: { x: formula } }), { mode: 'forward', K: 1 });
  it.each([
    ['lusolve(A, c) + x', /lusolve of a \[n×n\] matrix needs a right-hand side with n rows, got \[m\]/],
    ['lusolve(R, x)', /the matrix of lusolve must be square, got \[m×n\]/],
    ['lusolve(A, s) + x', /the right-hand side of lusolve must be a vector or a matrix, got scalar/],
    ['lusolve(A)', /lusolve takes 2 arguments, got 1/],
    ['inv(x) * x', /the operand of inv must be a matrix, got \[n\]/],
    ['diag(s) * x', /diag takes a vector or a square matrix, got scalar/],
    ['diag(R) + x', /the matrix of diag must be square, got \[m×n\]/],
  ])('%s is a spec error at the formula', (formula, message) => {
    expect(model(formula)).toThrow(message);
    try {
      model(formula)();
    } catch (e) {
      expect((e as PhicError).category).toBe('spec');
      expect((e as PhicError).context).toMatchObject({ field: 'update.x', formula });
    }
  });

  it('lusolve, inv and diag are reserved names', () => {
    for (const name of ['lusolve', 'inv', 'diag']) expect(model('x', { [name]: 'n' })).toThrow(new RegExp(`'${name}' is reserved`));
  });
});

describe('names', () => {
  it('user names equal to the routine, its helper or their locals change nothing (bit-identical results)', async () => {
    const plain: MapSpec = { name: 'plain', state: { x: 'n' }, params: { theta: 'n' }, data: { A: 'n,n', B: 'n,n' }, update: { x: '0.5 * lusolve(A + diag(theta), x) + inv(B) * theta' } };
    const clash: MapSpec = { name: 'clash', state: { luSolve: 'n' }, params: { atIteration: 'n' }, data: { error: 'n,n', lu: 'n,n' }, update: { luSolve: '0.5 * lusolve(error + diag(atIteration), luSolve) + inv(lu) * atIteration' } };
    const A = square(3, 2, rng);
    const B = square(3, 2, rng);
    const theta = [0.2, -0.1, 0.3];
    for (const kernels of KERNEL_PATHS) {
      const a = await instance(plain, { n: 3 }, 5, kernels);
      const b = await instance(clash, { n: 3 }, 5, kernels);
      const ja = a.jacobianReverse!({ theta, A, B });
      const jb = b.jacobianReverse!({ atIteration: theta, error: A, lu: B });
      expect(Array.from(jb.state.luSolve!)).toEqual(Array.from(ja.state.x!));
      expect(Array.from(jb.jacobian.luSolve!.atIteration!.data)).toEqual(Array.from(ja.jacobian.x!.theta!.data));
    }
  });
});
