// The map model: a validated spec turned into tensor IR. It lists the state components,
// parameters and data with their shapes, and holds Φ as one IR node per state component
// (and the outer objective ℓ when the spec declares one). Every later stage starts here.

import { specError } from './errors.js';
import { Builder } from './ir/builder.js';
import { sameShape, formatShape, topoSort, type InputNode, type Node, type Shape } from './ir/nodes.js';
import { FormulaTranslator, type HelperFunction } from './parse/from-mathjs.js';
import type { SpecSource } from './spec/source.js';
import type { MapSpec } from './spec/types.js';
import { parseShape, validateSpec } from './spec/validate.js';
import { deriveUpdate } from './derive/methods.js';

export interface Variable {
  readonly name: string;
  readonly shape: Shape;
  readonly node: InputNode;
}

export interface StateVariable extends Variable {
  /** For state added by a method (heavy-ball's previous iterate): the component it starts equal to. */
  readonly initialFrom?: string;
}

export interface MapModel {
  readonly spec: MapSpec;
  readonly name: string;
  readonly builder: Builder;
  readonly state: readonly StateVariable[];
  readonly params: readonly Variable[];
  readonly data: readonly Variable[];
  /** Data of the outer objective only. */
  readonly outerData: readonly Variable[];
  /** Φ, one node per state component, aligned with `state`. */
  readonly update: readonly Node[];
  /** ℓ(x, θ), when the spec has an outer objective. */
  readonly outer?: Node;
  /** Dimension names in order of first appearance. */
  readonly dims: readonly string[];
  /** The iteration index k (0-based) when a formula of Φ uses it: the map then changes from step to step. */
  readonly iteration: InputNode | null;
  /** Data given as `count` mini-batches (step k reads batch k mod count), or null. */
  readonly batches: { readonly count: string; readonly data: readonly string[] } | null;
}

export function buildModel(source: SpecSource): MapModel {
  const spec = validateSpec(source);
  const b = new Builder();
  const shapeOf = (text: string) => parseShape(text) as Shape;
  const vars = (group: Record<string, string> | undefined, role: 'state' | 'param' | 'data'): Variable[] =>
    Object.entries(group ?? {}).map(([name, text]) => {
      const shape = shapeOf(text);
      return { name, shape, node: b.input(name, role, shape) as InputNode };
    });

  let state: StateVariable[] = vars(spec.state, 'state');
  const params = vars(spec.params, 'param');
  // data split into mini-batches vary from step to step (role 'batch'): never hoisted
  const batched = new Set(spec.batches?.data ?? []);
  const data = vars(spec.data, 'data').map((v) => (batched.has(v.name) ? { ...v, node: b.input(v.name, 'batch', v.shape) as InputNode } : v));
  const outerData = vars(spec.outer?.data, 'data');

  const symbols = new Map<string, Node>();
  for (const v of [...state, ...params, ...data]) symbols.set(v.name, v.node);
  for (const [name, value] of Object.entries(spec.constants ?? {})) symbols.set(name, b.constant(value));
  const functions = new Map<string, HelperFunction>(Object.entries(spec.functions ?? {}));
  // every dim a shape names: formulas may use it as a number and in ones(n) / zeros(n)
  const dimNames = new Set([...[...state, ...params, ...data, ...outerData].flatMap((v) => v.shape), ...(spec.batches ? [spec.batches.count] : [])]);
  const translator = new FormulaTranslator(b, { symbols, functions, dims: dimNames, state: state.map((s) => s.name), sequential: spec.sequential === true }, source);

  let update: Node[];
  if (spec.update) {
    update = translateUpdates(spec, state, translator, source, (name) => symbols.has(name));
  } else {
    const derived = deriveUpdate(b, spec, state, translator, source);
    state = derived.state;
    update = derived.update;
  }

  update = update.map((u, i) => {
    const s = state[i]!;
    if (sameShape(u.shape, s.shape)) return u;
    if (u.shape.length === 0) return b.broadcastTo(u, s.shape);
    const field = spec.update ? `update.${s.name}` : 'objective';
    throw specError(`the update of '${s.name}' has shape ${formatShape(u.shape)} but the state is ${formatShape(s.shape)}`, {
      field,
      formula: spec.update?.[s.name] ?? spec.objective,
      location: source.locate(field),
    });
  });

  const iteration = translator.iteration;
  let outer: Node | undefined;
  if (spec.outer) {
    const outerSymbols = new Map(outerData.map((v) => [v.name, v.node as Node]));
    outer = translator.translate(spec.outer.objective, 'outer.objective', outerSymbols);
    if (topoSort([outer]).some((n) => n.kind === 'input' && n.role === 'iteration')) {
      throw specError('the outer objective is evaluated once, after the iterations: the iteration index k has no value there', {
        field: 'outer.objective', formula: spec.outer.objective, location: source.locate('outer.objective'),
      });
    }
    if (outer.shape.length !== 0) {
      throw specError(`the outer objective must be a scalar, got ${formatShape(outer.shape)}`, {
        field: 'outer.objective',
        formula: spec.outer.objective,
        location: source.locate('outer.objective'),
      });
    }
  }

  const dims: string[] = [];
  for (const v of [...state, ...params, ...data, ...outerData]) for (const d of v.shape) if (!dims.includes(d)) dims.push(d);
  if (spec.batches && !dims.includes(spec.batches.count)) dims.push(spec.batches.count);
  return { spec, name: spec.name, builder: b, state, params, data, outerData, update, outer, dims, iteration, batches: spec.batches ? { count: spec.batches.count, data: [...spec.batches.data] } : null };
}

/**
 * The update formulas, one per state component in the order of state; in sequential order a
 * formula reads the new values of the components before it as <name>_next (unless the spec
 * gives that name to something else). An update for a name that is not a state is an error.
 */
function translateUpdates(spec: MapSpec, state: readonly StateVariable[], translator: FormulaTranslator, source: SpecSource, taken: (name: string) => boolean): Node[] {
  const b = translator.builder;
  const earlier = new Map<string, Node>();
  const update = state.map((s) => {
    const formula = spec.update![s.name];
    if (formula === undefined) {
      throw specError(`missing update for state '${s.name}'`, { field: 'update', location: source.locate('update') });
    }
    const node = translator.translate(formula, `update.${s.name}`, spec.sequential ? earlier : undefined);
    if (spec.sequential && !taken(`${s.name}_next`)) earlier.set(`${s.name}_next`, node.shape.length === 0 ? b.broadcastTo(node, s.shape) : node);
    return node;
  });
  for (const name of Object.keys(spec.update!)) {
    if (!state.some((s) => s.name === name)) {
      throw specError(`update for '${name}', which is not a state (states: ${state.map((s) => s.name).join(', ')})`, {
        field: `update.${name}`,
        location: source.locate(`update.${name}`),
      });
    }
  }
  return update;
}
