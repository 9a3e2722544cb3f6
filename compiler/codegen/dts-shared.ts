// The declarations every back end's `.d.ts` shares: inputs, state, directions, results, dims and
// meta, typed from the plan's names and shapes.

import type { Plan } from '../plan.js';

/** The data types both backends' declarations share: inputs, state, results, dims, meta. */
export function sharedTypes(plan: Plan, notes: { input: string; state?: string }): string[] {
  const { model } = plan;
  const fields = (names: readonly string[], type: string, optional = false) => names.map((n) => `  ${n}${optional ? '?' : ''}: ${type};`).join('\n');
  const stateNames = model.state.map((s) => s.name);
  const paramNames = model.params.map((p) => p.name);
  const inputNames = [...paramNames, ...model.data.map((d) => d.name)];
  const outerNames = model.outerData.map((d) => d.name);
  // mini-batched data: a list of batches, or all of them in one flat array
  const batched = new Set(model.batches?.data ?? []);
  return [
    '/** A dense row-major matrix. */',
    'export interface Matrix {\n  rows: number;\n  cols: number;\n  data: Float64Array;\n}',
    `/** A scalar, a vector or a row-major matrix: ${notes.input}. */`,
    'export type TensorInput = Float64Array | Float32Array | readonly number[] | readonly (readonly number[])[] | number;',
    `export interface Inputs {\n${[fields(inputNames.filter((x) => !batched.has(x)), 'TensorInput'), ...(batched.size ? [fields([...batched], 'readonly TensorInput[] | Float64Array | Float32Array')] : []), ...(outerNames.length ? [fields(outerNames, 'TensorInput', true)] : [])].filter(Boolean).join('\n')}\n}`,
    `export interface InitialState {\n${fields(stateNames, 'TensorInput', true)}\n}`,
    ...(notes.state ? [`/** ${notes.state} */`] : []),
    `export interface State {\n${fields(stateNames, 'Float64Array')}\n}`,
    '/** A direction in (θ, x0): by param and by state name (names are unique across fields). */',
    `export interface Direction {\n${fields([...paramNames, ...stateNames], 'TensorInput', true)}\n}`,
    `export interface Cotangent {\n${fields(stateNames, 'TensorInput', true)}\n}`,
    `export interface Gradient {\n${fields(paramNames, 'Float64Array')}\n}`,
    `/** jacobian[state][param]: rows are the state's entries, columns the param's. */\nexport type Jacobian = {\n${stateNames.map((s) => `  ${s}: {\n${paramNames.map((p) => `    ${p}: Matrix;`).join('\n')}\n  };`).join('\n')}\n};`,
    `/** x0Jacobian[state][initial state]: dx_K/dx0, rows are the state's entries, columns the initial state's. */\nexport type X0Jacobian = {\n${stateNames.map((s) => `  ${s}: {\n${stateNames.map((c) => `    ${c}: Matrix;`).join('\n')}\n  };`).join('\n')}\n};`,
    `export interface Dims {\n${fields(model.dims, 'number', !!plan.options.dims)}\n}`,
    'export interface Meta {\n  name: string;\n  phicVersion: string;\n  specHash: string;\n  backend: string;\n  precision: string;\n  mode: string;\n  K: number;\n  truncate: number;\n  dims: Record<string, number> | null;\n  state: { name: string; shape: string[]; initialFrom?: string }[];\n  params: { name: string; shape: string[] }[];\n  data: { name: string; shape: string[] }[];\n  /** Present when the map reads the iteration index k. */\n  iterationDependent?: true;\n  /** Present when data come as mini-batches (step k reads batch k mod count). */\n  batches?: { count: string; data: string[] };\n}',
  ];
}
