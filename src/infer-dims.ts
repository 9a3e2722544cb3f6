// Dim sizes from the arrays in a data file: each declared shape is matched against the
// array given for it, and every dim must get one consistent size. Dims that only the outer
// objective's data use may be left out when those data are (`phic run` never needs them).

import { dataError } from '../compiler/errors.js';
import type { MapModel } from '../compiler/model.js';

/** The dims only outer data use: nothing but `outerAt` and `hypergradient` needs them. */
export function outerOnlyDims(model: MapModel): string[] {
  const inner = new Set([...model.state, ...model.params, ...model.data].flatMap((v) => v.shape));
  return model.dims.filter((d) => !inner.has(d));
}

export function inferDims(
  model: MapModel,
  inputs: Record<string, unknown>,
  x0?: Record<string, unknown>,
  options: { optionalOuterDims?: boolean } = {},
): Record<string, number> {
  const dims: Record<string, number> = {};
  const from: Record<string, string> = {};
  const see = (dim: string, size: number, what: string) => {
    if (dims[dim] === undefined) {
      dims[dim] = size;
      from[dim] = what;
    } else if (dims[dim] !== size) {
      throw dataError(`dim ${dim} is ${dims[dim]} from ${from[dim]} but ${size} from ${what}`);
    }
  };
  const batched = new Set(model.batches?.data ?? []);
  const vars = [...model.params, ...model.data, ...model.outerData].map((v) => ({ ...v, value: inputs[v.name], what: v.name }));
  // a batched input is a list of count batches of its declared shape: the count, then the first batch's dims
  for (const v of vars) {
    if (!batched.has(v.name) || !Array.isArray(v.value)) continue;
    see(model.batches!.count, v.value.length, `${v.name} (batches)`);
    v.value = v.value[0];
    v.what = `${v.name} (batch 0)`;
  }
  for (const s of model.state) if (x0?.[s.name] !== undefined) vars.push({ ...s, value: x0[s.name], what: `x0.${s.name}` });
  for (const v of vars) {
    if (v.value === undefined) continue;
    if (v.shape.length === 1 && Array.isArray(v.value)) see(v.shape[0]!, v.value.length, v.what);
    if (v.shape.length === 2 && Array.isArray(v.value) && Array.isArray(v.value[0])) {
      see(v.shape[0]!, v.value.length, `${v.what} (rows)`);
      see(v.shape[1]!, (v.value[0] as unknown[]).length, `${v.what} (columns)`);
    }
  }
  const optional = new Set(options.optionalOuterDims ? outerOnlyDims(model) : []);
  for (const d of model.dims) {
    if (dims[d] === undefined && optional.has(d)) continue;
    if (dims[d] === undefined) throw dataError(`cannot tell the size of dim ${d} from the data: give every input as (nested) arrays`);
    if (dims[d] < 1) throw dataError(`dim ${d} is 0 in ${from[d]}: inputs must not be empty`);
  }
  return dims;
}
