// The schedule as text, for `--dump schedule`: each sweep, then each entry point with where it
// starts, its directions and seeds, and its steps, indented as they nest.

import type { Bound, EntrySchedule, Schedule, Step } from './schedule.js';

export function printSchedule(schedule: Schedule): string {
  const lines: string[] = [];
  for (const [name, steps] of Object.entries(schedule.procedures)) {
    lines.push(`procedure ${name}${name === 'idle' ? '(from, to)' : ''}:`);
    printSteps(steps, 1, lines);
  }
  for (const e of schedule.entries) {
    lines.push(`entry ${e.name} (${describe(e)}):`);
    printSteps(e.steps, 1, lines);
    if (e.fused) {
      lines.push(`  or, unobserved, with the fused sweep (the steps above when it gives up):`);
      printSteps(e.fused, 2, lines);
    }
  }
  return lines.join('\n');
}

function describe(e: EntrySchedule): string {
  const count = { none: 'no directions', one: '1 direction', params: 'a direction per param entry', states: 'a direction per state entry' }[e.directions];
  const seed = e.seed === 'none' ? '' : `, seeded by ${{ direction: 'the given direction', cotangent: 'the given cotangent', unitParams: 'unit directions e_d of θ', unitStates: 'unit cotangents e_r of x' }[e.seed]}`;
  const x0 = e.x0 === 'none' ? '' : e.x0 === 'exact' ? '; with d/dx0' : e.steps.some((step) => step.kind === 'directions' && step.body.some((b) => b.kind === 'solve')) ? '; d/dx0 = 0 (implicit: x* does not depend on x0)' : '; d/dx0 = 0 (T > 0)';
  return `from ${e.at}; ${count}${e.side ? ` in the ${e.side}` : ''}${seed}${x0}${e.outerData ? '; needs the outer data' : ''}`;
}

const bound = (b: Bound) => String(b);

function printSteps(steps: readonly Step[], depth: number, lines: string[]) {
  const pad = '  '.repeat(depth);
  for (const s of steps) {
    switch (s.kind) {
      case 'segment': lines.push(`${pad}${s.segment}`); break;
      case 'directions': lines.push(`${pad}for each direction d${s.unit ? ' (θ̇ = e_d)' : ''}:`); printSteps(s.body, depth + 1, lines); break;
      case 'columns': lines.push(`${pad}for each unit direction of ${s.of === 'states' ? 'x' : 'θ'}, a column:`); printSteps(s.body, depth + 1, lines); break;
      case 'iterations': {
        const sparse = s.sparseChecks ? ` (checks every ${s.sparseChecks.every} steps when unobserved, one direction)` : '';
        lines.push(`${pad}for k in ${s.down ? `${bound(s.to)} - 1 down to ${bound(s.from)}` : `${bound(s.from)} .. ${bound(s.to)} - 1`}${sparse}:`);
        printSteps(s.body, depth + 1, lines);
        break;
      }
      case 'run': lines.push(`${pad}${s.procedure}${s.from !== undefined ? `(${bound(s.from)}, ${bound(s.to!)})` : ''}`); break;
      case 'tapePush': lines.push(`${pad}push x_k on the tape`); break;
      case 'tapeRestore': lines.push(`${pad}restore x_k from the tape`); break;
      case 'adjointTape': lines.push(`${pad}${s.op === 'push' ? 'push' : 'restore'} ${{ mirror: 'x̄ = λ_{K−k+T} (the adjoint step beside iteration k is K − 1 − (k − T))', next: 'λ_{k+1}', first: 'λ_T' }[s.slot]} ${s.op === 'push' ? 'on' : 'from'} the adjoint tape`); break;
      case 'finiteOrGiveUp': lines.push(`${pad}give up unless x and x̄ are finite`); break;
      case 'keepNext': lines.push(`${pad}x_{k+1} into the next-state buffers`); break;
      case 'advance': lines.push(`${pad}advance ${s.what}`); break;
      case 'check': lines.push(`${pad}check ${s.what} for NaN or Inf`); break;
      case 'observe': lines.push(`${pad}observe (${s.phase})`); break;
      case 'transposeForProducts': lines.push(`${pad}transposed copies for the tangent products`); break;
      case 'tangentProducts': lines.push(`${pad}tangent products of every direction, as one product`); break;
      case 'applyDeferred': lines.push(`${pad}apply the deferred rank-1 updates${s.now ? ' now' : ' (a block at a time)'}`); break;
      case 'outer': lines.push(`${pad}ℓ and its gradients at x${s.seed ? ', seeding the adjoints' : ''}`); break;
      case 'snapshot': lines.push(`${pad}the state result`); break;
      case 'loadBatch': lines.push(`${pad}${s.value === 'k' ? 'mini-batch k mod B' : 'mini-batch 0'} into the current-batch buffers`); break;
      case 'solve': lines.push(`${pad}${s.side === 'tangents' ? 'solve (I − ∂ₓΦ) ẋ = ∂θΦ θ̇ at x' : 'solve (I − ∂ₓΦ)ᵀ v = x̄ at x, then θ̄ += ∂θΦᵀ v'}`); break;
      case 'checkpointStart': lines.push(`${pad}the binomial chain of checkpoint steps from T`); break;
      case 'checkpointSave': lines.push(`${pad}x_k into the next checkpoint slot, when k is on the chain`); break;
      case 'revolve':
        lines.push(`${pad}binomial reversal over the checkpoint slots, k from K − 1 down to T; to recompute a state:`);
        printSteps(s.advance, depth + 1, lines);
        lines.push(`${pad}and the adjoint of step k, with x_k in the state buffers:`);
        printSteps(s.adjoint, depth + 1, lines);
        break;
      case 'iterationIndex': lines.push(`${pad}${s.value === 'k' ? 'k' : 'k = 0'} into the buffer formulas read k from`); break;
    }
  }
}
