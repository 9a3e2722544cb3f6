// The generated modules' `meta` object, one description for every back end: the map's name,
// version and spec hash, mode, K, t, dims, and the names and shapes of its variables.

import type { Plan } from '../plan.js';
import type { HeaderInfo } from './header.js';

/** The module's meta object; `backend` and `precision` name the back end that emits it. */
export function metaObject(plan: Plan, info: HeaderInfo, backend: { backend: 'cpu' | 'gpu'; precision: 'float64' | 'float32' }) {
  const { options, model } = plan;
  const vars = (vs: readonly { name: string; shape: readonly string[] }[]) => vs.map((v) => ({ name: v.name, shape: [...v.shape] }));
  return {
    name: model.name,
    phicVersion: info.version,
    specHash: info.specHash,
    backend: backend.backend,
    precision: backend.precision,
    mode: options.mode,
    K: options.K,
    truncate: options.truncate,
    dims: options.dims,
    state: model.state.map((s) => ({ name: s.name, shape: [...s.shape], ...(s.initialFrom ? { initialFrom: s.initialFrom } : {}) })),
    params: vars(model.params),
    data: vars([...model.data, ...model.outerData]),
    // the map changes from step to step (it reads k): the lab's theory assumes it does not
    ...(model.iteration ? { iterationDependent: true } : {}),
    ...(model.batches ? { batches: { count: model.batches.count, data: [...model.batches.data] } } : {}),
    // the derivative entries solve at x_K (--method implicit), with this solver and budget
    ...(options.implicit ? { method: 'implicit', implicit: { ...options.implicit } } : {}),
  };
}
