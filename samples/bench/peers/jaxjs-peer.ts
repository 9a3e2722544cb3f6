// jax-js (@jax-js/jax) as a peer: float64 arrays on its WebAssembly backend (the only one Node
// runs). The iteration is unrolled in JavaScript, one step being a jit-compiled function, and
// differentiated with vjp / jvp / jacfwd; idle iterations (t) run before the vjp, untraced.
// jax-js owns arrays by reference count: every function consumes its arguments, `.ref` keeps
// one. It needs two things Node 20 lacks (Float16Array, iterator helpers): shimmed below,
// only as far as jax-js uses them. Loaded at run time from the folder main.ts installs it into.

import { peerRequire, peerVersion } from './paths.js';
import type { NodePeer, Prepared } from './peer.js';
import type { Arrays, WorkloadMeta } from './workloads.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type J = any;

function shimNode20(): string[] {
  const shims: string[] = [];
  const g = globalThis as Record<string, unknown>;
  if (typeof g.Float16Array === 'undefined') {
    // jax-js only tests `data instanceof Float16Array`; nothing here makes float16 arrays.
    g.Float16Array = class Float16ArrayUnavailable {};
    shims.push('Float16Array (instanceof only)');
  }
  const iteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as Record<string, unknown>;
  if (typeof iteratorPrototype.map !== 'function') {
    const define = (name: string, value: unknown) => Object.defineProperty(iteratorPrototype, name, { configurable: true, writable: true, value });
    define('map', function* (this: Iterable<unknown>, f: (v: unknown, i: number) => unknown) { let i = 0; for (const v of this) yield f(v, i++); });
    define('filter', function* (this: Iterable<unknown>, f: (v: unknown, i: number) => unknown) { let i = 0; for (const v of this) if (f(v, i++)) yield v; });
    define('toArray', function (this: Iterable<unknown>) { return [...this]; });
    shims.push('Iterator.prototype.map/filter/toArray');
  }
  return shims;
}

export async function loadJaxjs(): Promise<NodePeer & { shims: string[] }> {
  const shims = shimNode20();
  const jax = peerRequire('@jax-js/jax') as J;
  const devices = (await jax.init('wasm')) as string[];
  if (!devices.includes('wasm')) throw new Error(`jax-js: the wasm device did not start (devices: ${devices.join(', ')})`);
  jax.defaultDevice('wasm');
  const np = jax.numpy;
  const useJit = process.env.PHIC_PEERS_JAX_JIT !== '0';
  const arr = (a: Float64Array, shape: number[]) => np.array(a, { dtype: np.float64 }).reshape(shape);
  const zeros = (shape: number[]) => np.zeros(shape, { dtype: np.float64 });
  const maybeJit = (f: (...args: J[]) => J) => (useJit ? jax.jit(f) : f);
  return {
    version: `${peerVersion('@jax-js/jax') ?? '?'} (wasm device${useJit ? ', jit per step' : ', eager'}${shims.length ? `; Node 20 shims: ${shims.join(', ')}` : ''})`,
    shims,
    async setup(meta: WorkloadMeta, arrays: Arrays): Promise<Prepared> {
      const { K, t, alpha } = meta;
      if (meta.problem === 'ridge') {
        const { m, n } = meta.dims as { m: number; n: number };
        const A = arr(arrays.A!, [m, n]);
        const b = arr(arrays.b!, [m]);
        const theta = arr(arrays.theta!, [n]);
        // x ← x − α(Aᵀ(Ax − b) + θ∘x); consumes every argument.
        const stepFn = maybeJit((x: J, th: J, A_: J, b_: J) => {
          const r = np.matvec(A_.ref, x.ref).sub(b_);
          const g = np.vecmat(r, A_);
          return x.ref.sub(g.add(th.mul(x)).mul(alpha));
        });
        const step = (x: J, th: J) => stepFn(x, th, A.ref, b.ref);
        const run = (th: J, x0: J, from: number, to: number) => { let x = x0; for (let k = from; k < to; k++) x = step(x, th.ref); th.dispose(); return x; };
        const primal = () => run(theta.ref, zeros([n]), 0, K).dataSync() as Float64Array;
        if (meta.derivative === 'hypergradient' || meta.derivative === 'vjp') {
          const ct = meta.derivative === 'vjp' ? arr(arrays.cotangent!, [n]) : undefined;
          return {
            call: () => {
              const xt = run(theta.ref, zeros([n]), 0, t); // idle iterations, not traced
              const [xK, back] = jax.vjp((th: J) => run(th, xt, t, K), [theta.ref]);
              const [g] = back(ct ? ct.ref : xK.ref);
              back.dispose();
              const deriv = g.dataSync() as Float64Array;
              const state = xK.dataSync() as Float64Array;
              let loss = 0;
              for (let j = 0; j < n; j++) loss += 0.5 * state[j]! * state[j]!;
              return { state, loss, deriv };
            },
            precision: 'float64',
            method: ct ? 'vjp with cotangent ū' : 'vjp with cotangent x_K (= ∇ ½‖x_K‖²); idle iterations before it',
          };
        }
        // jax-js 0.1.25's jacfwd returns shape in.shape + out.shape, the transpose of JAX's
        // out.shape + in.shape (checked on a 2×3 linear map: it gave 3×2 = Aᵀ); transpose back.
        const jac = new Float64Array(n * n);
        return {
          call: () => {
            const Jt = jax.jacfwd((th: J) => run(th, zeros([n]), 0, K))(theta.ref).dataSync() as Float64Array;
            for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) jac[i * n + j] = Jt[j * n + i]!;
            return { deriv: jac.slice() };
          },
          checkState: primal,
          precision: 'float64',
          method: 'jacfwd (forward mode, vmapped over the 100 directions; its output is transposed: jax-js returns in × out)',
        };
      }
      if (meta.problem === 'least_squares') {
        const { m, n } = meta.dims as { m: number; n: number };
        const A = arr(arrays.A!, [m, n]);
        const b = arr(arrays.b!, [m]);
        const Adot = arr(arrays.Adot!, [m, n]);
        const bdot = arr(arrays.bdot!, [m]);
        const stepFn = maybeJit((x: J, A_: J, b_: J) => x.ref.sub(np.vecmat(np.matvec(A_.ref, x).sub(b_), A_).mul(alpha)));
        const run = (A_: J, b_: J) => { let x = zeros([n]); for (let k = 0; k < K; k++) x = stepFn(x, A_.ref, b_.ref); A_.dispose(); b_.dispose(); return x; };
        return {
          call: () => {
            const [x, xDot] = jax.jvp(run, [A.ref, b.ref], [Adot.ref, bdot.ref]);
            return { deriv: xDot.dataSync() as Float64Array, state: x.dataSync() as Float64Array };
          },
          precision: 'float64',
          method: 'jvp (forward mode)',
        };
      }
      const { n, p } = meta.dims as { n: number; p: number };
      const W = arr(arrays.W!, [n, n]);
      const U = arr(arrays.U!, [n, p]);
      const theta = arr(arrays.theta!, [p]);
      const c = arr(arrays.c!, [n]);
      const ct = arr(arrays.cotangent!, [n]);
      const stepFn = maybeJit((x: J, W_: J, u: J, c_: J) => np.tanh(np.matvec(W_, x).add(u).add(c_)));
      const run = (W_: J, c_: J) => {
        const u = np.matvec(U.ref, theta.ref); // Uθ once per call
        let x = zeros([n]);
        for (let k = 0; k < K; k++) x = stepFn(x, W_.ref, u.ref, c_.ref);
        W_.dispose(); c_.dispose(); u.dispose();
        return x;
      };
      return {
        call: () => {
          const [xK, back] = jax.vjp(run, [W.ref, c.ref]);
          const [gW, gc] = back(ct.ref);
          back.dispose();
          const a = gW.dataSync() as Float64Array;
          const deriv = new Float64Array(a.length + n);
          deriv.set(a);
          deriv.set(gc.dataSync() as Float64Array, a.length);
          return { state: xK.dataSync() as Float64Array, deriv };
        },
        precision: 'float64',
        method: 'vjp with respect to W and c',
        tolerance: { value: 1e-6, why: 'jax-js evaluates tanh through float32 even on float64 arrays (its transcendentals are float32)' },
      };
    },
  };
}
