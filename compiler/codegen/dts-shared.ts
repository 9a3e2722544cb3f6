// The declarations every back end's `.d.ts` shares: inputs, state, directions, results, dims and
// meta, typed from the plan's names and shapes.

import type { Plan } from '../plan.js';

/** The type of an input of this shape: the runtime's toFlat takes a number for a scalar, a flat or nested array for a matrix. */
const inputType = (shape: readonly string[]) => (shape.length === 0 ? 'ScalarInput' : shape.length === 1 ? 'VectorInput' : 'MatrixInput');

/** The data types both backends' declarations share: inputs, state, results, dims, meta. */
export function sharedTypes(plan: Plan, notes: { input: string; state?: string; backend: 'cpu' | 'gpu' }): string[] {
  const { model, options } = plan;
  const fields = (names: readonly string[], type: string, optional = false) => names.map((n) => `  ${n}${optional ? '?' : ''}: ${type};`).join('\n');
  /** Fields typed by each variable's rank; `batch` wraps the type of a mini-batched one. */
  const inputs = (vars: readonly { name: string; shape: readonly string[] }[], optional = false, batch = (t: string) => t) =>
    vars.map((v) => `  ${v.name}${optional ? '?' : ''}: ${batch(inputType(v.shape))};`).join('\n');
  const stateNames = model.state.map((s) => s.name);
  const paramNames = model.params.map((p) => p.name);
  // mini-batched data: a list of batches, or all of them in one flat array
  const batched = new Set(model.batches?.data ?? []);
  const literal = (v: string | number | boolean) => JSON.stringify(v);
  const dims = options.dims ? `{ ${Object.entries(options.dims).map(([k, v]) => `readonly ${k}: ${literal(v)};`).join(' ')} }` : 'null';
  return [
    '/** A dense row-major matrix. */',
    'export interface Matrix {\n  rows: number;\n  cols: number;\n  data: Float64Array;\n}',
    `/** Inputs by rank (${notes.input}): a scalar is a number, a vector a typed or plain array, a matrix row-major, flat or as an array of rows. */`,
    'export type ScalarInput = number;\nexport type VectorInput = Float64Array | Float32Array | readonly number[];\nexport type MatrixInput = VectorInput | readonly (readonly number[])[];',
    '/** Any of them. */\nexport type TensorInput = MatrixInput | ScalarInput;',
    `export interface Inputs {\n${[inputs(model.params), inputs(model.data.filter((d) => !batched.has(d.name))), inputs(model.data.filter((d) => batched.has(d.name)), false, (t) => `readonly ${t}[] | Float64Array | Float32Array`), inputs(model.outerData, true)].filter(Boolean).join('\n')}\n}`,
    `export interface InitialState {\n${inputs(model.state, true)}\n}`,
    ...(notes.state ? [`/** ${notes.state} */`] : []),
    `export interface State {\n${fields(stateNames, 'Float64Array')}\n}`,
    '/** A direction in (θ, x0): by param and by state name (names are unique across fields). */',
    `export interface Direction {\n${inputs([...model.params, ...model.state], true)}\n}`,
    `export interface Cotangent {\n${inputs(model.state, true)}\n}`,
    `export interface Gradient {\n${fields(paramNames, 'Float64Array')}\n}`,
    `/** jacobian[state][param]: rows are the state's entries, columns the param's. */\nexport type Jacobian = {\n${stateNames.map((s) => `  ${s}: {\n${paramNames.map((p) => `    ${p}: Matrix;`).join('\n')}\n  };`).join('\n')}\n};`,
    `/** x0Jacobian[state][initial state]: dx_K/dx0, rows are the state's entries, columns the initial state's. */\nexport type X0Jacobian = {\n${stateNames.map((s) => `  ${s}: {\n${stateNames.map((c) => `    ${c}: Matrix;`).join('\n')}\n  };`).join('\n')}\n};`,
    `export interface Dims {\n${fields(model.dims, 'number', !!plan.options.dims)}\n}`,
    '/** The frozen meta object: name, mode, K, truncation and dims as compiled (dims null when bound at create()). */',
    `export interface Meta {\n  readonly name: ${literal(model.name)};\n  readonly phicVersion: string;\n  readonly specHash: string;\n  readonly backend: ${literal(notes.backend)};\n  readonly precision: ${literal(notes.backend === 'gpu' ? 'float32' : 'float64')};\n  readonly mode: ${literal(options.mode)};\n  readonly K: ${literal(options.K)};\n  readonly truncate: ${literal(options.truncate)};\n  readonly dims: ${dims};\n  readonly state: readonly { readonly name: string; readonly shape: readonly string[]; readonly initialFrom?: string }[];\n  readonly params: readonly { readonly name: string; readonly shape: readonly string[] }[];\n  readonly data: readonly { readonly name: string; readonly shape: readonly string[] }[];\n  /** Present when the map reads the iteration index k. */\n  readonly iterationDependent?: true;\n  /** Present when data come as mini-batches (step k reads batch k mod count). */\n  readonly batches?: { readonly count: string; readonly data: readonly string[] };\n${options.implicit ? `  /** The derivative entries solve at x_K (--method implicit), with this solver and budget. */\n  readonly method: 'implicit';\n  readonly implicit: { readonly solver: ${literal(options.implicit.solver)}; readonly steps: ${literal(options.implicit.steps)}; readonly restart: ${literal(options.implicit.restart)}; readonly tolerance: ${literal(options.implicit.tolerance)}; readonly warmStart: ${literal(options.implicit.warmStart)} };\n` : ''}}`,
  ];
}
