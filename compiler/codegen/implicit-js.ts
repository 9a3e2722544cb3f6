// The CPU module's linear solves for `--method implicit`: per direction d, a function that puts
// the right-hand side and the operator w ↦ (I − ∂ₓΦ)w (or its transpose) together from the
// generated tangent (adjoint) step, calls the runtime's solver (runtime-solvers.ts), measures
// the true residual, and leaves the solution where the unrolled sweeps leave theirs: the
// tangents of direction d (forward), the parameter adjoints of direction d (reverse).

import type { Plan } from '../plan.js';
import type { ImplicitOptions } from '../implicit/options.js';
import { workEntries } from '../implicit/options.js';
import type { DriverContext } from './drivers-js.js';
import { typedName } from './typed.js';

/** The solves' buffers (create-level), and the size of each as code. */
export interface SolveBuffers {
  readonly rhs: string;
  readonly solution: string;
  readonly product: string;
  readonly work: string;
  /** The parameter directions (forward) or the parameter adjoints' start (reverse), set aside during the solve. */
  readonly saved: string;
  readonly warmTangents: string | null;
  readonly warmAdjoints: string | null;
  /** The products and the largest relative residual of the call so far. */
  readonly stats: string;
}

/** Names the solves' buffers in the plan's module scope, and lists them with their sizes. */
export function solveBuffers(plan: Plan, total: (vs: readonly { dims: readonly string[] }[]) => string): { names: SolveBuffers; fixed: { name: string; size: string; comment?: string }[] } {
  const o = plan.options.implicit!;
  const fresh = (base: string) => plan.names.fresh(base);
  const N = total(plan.state);
  const forward = !!plan.segments.tangent;
  const reverse = !!plan.segments.adjoint;
  const names: SolveBuffers = {
    rhs: fresh('solveRhs'), solution: fresh('solveSolution'), product: fresh('solveProduct'), work: fresh('solveWork'), saved: fresh('solveSaved'),
    warmTangents: o.warmStart && forward ? fresh('warmTangents') : null,
    warmAdjoints: o.warmStart && reverse ? fresh('warmAdjoints') : null,
    stats: fresh('solveStats'),
  };
  const P = plan.params.length ? total(plan.params) : '0';
  const fixed = [
    { name: names.rhs, size: N, comment: `the implicit solves (${o.solver}): right-hand side, solution, a product, the solver's workspace, and what the solve sets aside` },
    { name: names.solution, size: N },
    { name: names.product, size: N },
    { name: names.work, size: workEntries(o, `(${N})`) },
    { name: names.saved, size: P },
    ...(names.warmTangents ? [{ name: names.warmTangents, size: N, comment: 'the last single-direction solutions, where the next solve starts (--warm-start)' }] : []),
    ...(names.warmAdjoints ? [{ name: names.warmAdjoints, size: N }] : []),
  ];
  return { names, fixed };
}

/** The stats object, the two solve functions, and the report a result carries. */
export function emitSolves(ctx: DriverContext, b: SolveBuffers) {
  const { w, plan } = ctx;
  w.writeLine(`const ${b.stats} = { products: 0, residual: 0 };`).blankLine();
  if (plan.segments.tangent) emitSolve(ctx, b, 'tangents');
  if (plan.segments.adjoint) emitSolve(ctx, b, 'adjoints');
}

/** What a result says of its solves: the solver, the products with ∂ₓΦ they ran, the largest relative residual. */
export function solveReport(plan: Plan, b: SolveBuffers, types: boolean): string {
  // TypeScript: the solver stays its literal, as the declarations have it
  return `solve: { solver: '${plan.options.implicit!.solver}'${types ? ' as const' : ''}, products: ${b.stats}.products, residual: ${b.stats}.residual }`;
}

/** Zeroes the stats at the start of a call. */
export function resetStats(b: SolveBuffers): string {
  return `${b.stats}.products = 0; ${b.stats}.residual = 0;`;
}

function emitSolve(ctx: DriverContext, b: SolveBuffers, side: 'tangents' | 'adjoints') {
  const { w, plan, n, size, drivers } = ctx;
  const o: ImplicitOptions = plan.options.implicit!;
  const tangents = side === 'tangents';
  const [d, count, i, vec, out, apply, products, norm, residual, at] = ['d', 'count', 'i', 'w', 'out', 'apply', 'products', 'norm', 'residual', 'at'].map((x) => drivers.fresh(x));
  const segment = ctx.segmentCall(tangents ? 'tangent' : 'adjoint', d!);
  const current = (s: Plan['state'][number]) => (tangents ? s.dot : s.bar);
  const next = (s: Plan['state'][number]) => (tangents ? s.dotNext : s.barNext);
  const warm = tangents ? b.warmTangents : b.warmAdjoints;
  const N = ctx.total(plan.state);
  /** Copies between a flat n-vector and the direction-d slices of the state buffers. */
  const eachState = (body: (s: Plan['state'][number], offset: string, sz: string) => string) => {
    let offset = '0';
    for (const s of plan.state) {
      const sz = size(s);
      w.writeLine(`for (let ${i} = 0; ${i} < ${sz}; ${i}++) ${body(s, offset, sz)};`);
      offset = `${offset} + ${sz}`;
    }
  };
  const eachParam = (body: (p: Plan['params'][number], offset: string, sz: string) => string) => {
    let offset = '0';
    for (const p of plan.params) {
      const sz = size(p);
      w.writeLine(body(p, offset, sz));
      offset = `${offset} + ${sz}`;
    }
  };
  const slot = (sz: string) => `${d} * ${sz} + ${i}`;
  const doc = tangents
    ? `(I − ∂ₓΦ) ẋ = ∂θΦ θ̇ at x_K for direction ${'d'}, by ${o.solver}: the implicit tangent, left in the direction's tangents.`
    : `(I − ∂ₓΦ)ᵀ v = x̄ at x_K for direction ${'d'}, by ${o.solver}, then θ̄ += ∂θΦᵀ v: the implicit gradient, left in the direction's parameter adjoints.`;
  w.writeLine(`/** ${doc} */`);
  w.write(`function ${tangents ? n.solveTangents : n.solveAdjoints}(${typedName(ctx.types, d!, ': number')}, ${typedName(ctx.types, count!, ': number')}) `).block(() => {
    if (tangents) {
      w.writeLine('// b = ∂θΦ θ̇: the tangent step from ẋ = 0');
      for (const s of plan.state) w.writeLine(`${s.dot}.fill(0, ${d} * ${size(s)}, (${d} + 1) * ${size(s)});`);
      w.writeLine(`${segment};`);
      eachState((s, off, sz) => `${b.rhs}[${off} + ${i}] = ${s.dotNext}[${slot(sz)}]`);
      w.writeLine('// with the parameter directions set aside (zero), the tangent step is the product ∂ₓΦ w');
      eachParam((p, off) => `${b.saved}.set(${p.dot}, ${off}); ${p.dot}.fill(0);`);
    } else {
      w.writeLine('// b = x̄ (the cotangent, or ∇ₓℓ); the parameter adjoints\' start (0, or ∇θℓ) is set aside while the adjoint step is the product ∂ₓΦᵀ w');
      eachState((s, off, sz) => `${b.rhs}[${off} + ${i}] = ${s.bar}[${slot(sz)}]`);
      eachParam((p, off, sz) => `for (let ${i} = 0; ${i} < ${sz}; ${i}++) ${b.saved}[${off} + ${i}] = ${p.bar}[${slot(sz)}];`);
    }
    w.write(`const ${apply} = (${typedName(ctx.types, vec!, ': Float64Array')}, ${typedName(ctx.types, out!, ': Float64Array')}) => `).block(() => {
      eachState((s, off, sz) => `${current(s)}[${slot(sz)}] = ${vec}[${off} + ${i}]`);
      if (!tangents) eachParam((p, _off, sz) => `${p.bar}.fill(0, ${d} * ${sz}, (${d} + 1) * ${sz});`);
      w.writeLine(`${segment};`);
      eachState((s, off, sz) => `${out}[${off} + ${i}] = ${vec}[${off} + ${i}] - ${next(s)}[${slot(sz)}]`);
    }).write(';').newLine();
    if (warm) w.writeLine(`if (${count} === 1) ${b.solution}.set(${warm}); else ${b.solution}.fill(0);`);
    else w.writeLine(`${b.solution}.fill(0);`);
    w.writeLine(`let ${products} = implicitSolve('${o.solver}', ${o.steps}, ${o.restart}, ${o.tolerance}, ${N}, ${apply}, ${b.rhs}, ${b.solution}, ${b.work}, ${o.solver === 'cg' && !gradientStep(plan) ? `${d} === 0` : 'false'});`);
    if (tangents) {
      w.writeLine('// the true residual, with one more product; then the directions back, and the solution in the tangents');
      w.writeLine(`${apply}(${b.solution}, ${b.product});`);
      eachParam((p, off, sz) => `${p.dot}.set(${b.saved}.subarray(${off}, ${off} + ${sz}));`);
      eachState((s, off, sz) => `${s.dot}[${slot(sz)}] = ${b.solution}[${off} + ${i}]`);
    } else {
      w.writeLine('// θ̄ = θ̄₀ + ∂θΦᵀ v, and ∂ₓΦᵀ v for the true residual, in one more adjoint step');
      eachState((s, off, sz) => `${s.bar}[${slot(sz)}] = ${b.solution}[${off} + ${i}]`);
      eachParam((p, off, sz) => `for (let ${i} = 0; ${i} < ${sz}; ${i}++) ${p.bar}[${slot(sz)}] = ${b.saved}[${off} + ${i}];`);
      w.writeLine(`${segment};`);
      eachState((s, off, sz) => `${b.product}[${off} + ${i}] = ${b.solution}[${off} + ${i}] - ${s.barNext}[${slot(sz)}]`);
    }
    w.writeLine(`${products}++;`);
    w.writeLine(`let ${norm} = 0, ${residual} = 0;`);
    w.writeLine(`for (let ${i} = 0; ${i} < ${N}; ${i}++) { ${norm} += ${b.rhs}[${i}] * ${b.rhs}[${i}]; const ${at} = ${b.rhs}[${i}] - ${b.product}[${i}]; ${residual} += ${at} * ${at}; }`);
    w.writeLine(`${residual} = ${norm} > 0 ? Math.sqrt(${residual} / ${norm}) : Math.sqrt(${residual});`);
    w.writeLine(`if (!(${residual} < Infinity)) fail('numeric', 'the implicit solve (${o.solver}) gave non-finite values: I − ∂ₓΦ may be singular at x_K, or the iterates diverged', { solver: '${o.solver}' });`);
    if (warm) w.writeLine(`if (${count} === 1) ${warm}.set(${b.solution});`);
    w.writeLine(`${b.stats}.products += ${products};`);
    w.writeLine(`if (${residual} > ${b.stats}.residual) ${b.stats}.residual = ${residual};`);
  }).blankLine();
}

/** Φ = x − α∇ₓf(x, θ) from an objective: ∂ₓΦ = I − α∇²f is symmetric, so CG needs no check. */
function gradientStep(plan: Plan): boolean {
  return plan.model.spec.method?.name === 'gd';
}
