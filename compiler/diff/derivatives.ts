// The derivative graphs of one step of the iteration: the tangent map
// (ẋ, θ̇) ↦ ∂ₓΦ ẋ + ∂θΦ θ̇ (forward mode) and the adjoint map x̄ ↦ (x̄ ∂ₓΦ, x̄ ∂θΦ)
// (reverse mode), both symbolic, from the model's update nodes.

import type { InputNode, Node } from '../ir/nodes.js';
import type { MapModel } from '../model.js';
import { jvp } from './jvp.js';
import { vjp } from './vjp.js';

export interface StepDerivatives {
  /** Tangent input per state component and per parameter (role 'tangent'). */
  readonly stateTangents: readonly InputNode[];
  readonly paramTangents: readonly InputNode[];
  /** The tangent input of each state and parameter node, by node id. */
  readonly tangentOf: ReadonlyMap<number, InputNode>;
  /** ẋ⁺ per state component. */
  readonly tangent: readonly (Node | null)[];
  /** Cotangent input per state component (role 'cotangent'): x̄ of the next iterate. */
  readonly stateCotangents: readonly InputNode[];
  /** x̄ of the current iterate per state component. */
  readonly stateAdjoint: readonly (Node | null)[];
  /** Contribution of this step to θ̄ per parameter. */
  readonly paramAdjoint: readonly (Node | null)[];
}

export function differentiateStep(model: MapModel): StepDerivatives {
  const b = model.builder;
  const stateTangents = model.state.map((s) => b.input(s.name, 'tangent', s.shape) as InputNode);
  const paramTangents = model.params.map((p) => b.input(p.name, 'tangent', p.shape) as InputNode);
  const tangentOf = new Map<number, InputNode>();
  model.state.forEach((s, i) => tangentOf.set(s.node.id, stateTangents[i]!));
  model.params.forEach((p, i) => tangentOf.set(p.node.id, paramTangents[i]!));
  const tangent = jvp(b, model.update, (input) => tangentOf.get(input.id) ?? null);

  const stateCotangents = model.state.map((s) => b.input(s.name, 'cotangent', s.shape) as InputNode);
  const wrt = [...model.state.map((s) => s.node), ...model.params.map((p) => p.node)];
  const adjoint = vjp(b, model.update, stateCotangents, wrt);
  return {
    stateTangents,
    paramTangents,
    tangentOf,
    tangent,
    stateCotangents,
    stateAdjoint: adjoint.slice(0, model.state.length),
    paramAdjoint: adjoint.slice(model.state.length),
  };
}
