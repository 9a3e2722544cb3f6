// TensorFlow.js 4.x with its WebAssembly backend, float32 (TF.js has no float64). The iteration
// is unrolled eagerly and differentiated with tf.grad / tf.grads / tf.valueAndGrad; idle
// iterations (t) run outside the gradient. TF.js has no forward mode, no jvp and no Jacobian
// helper: the JVP (P2) is the double-VJP trick (the VJP is linear in the cotangent ū, so
// d/dū ⟨VJP(ū), u̇⟩ = J u̇), and the Jacobian (P3) is reverse mode batched by hand over its
// rows (p copies of the iteration, one per output entry). The library is loaded at run time
// from the folder main.ts installs it into; it is not a dependency of phic.

import { peerRequire, peerVersion } from './paths.js';
import type { NodePeer, Prepared } from './peer.js';
import type { Arrays, WorkloadMeta } from './workloads.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type T = any;

export async function loadTfjs(): Promise<NodePeer & { backendInfo: Record<string, unknown> }> {
  const tf = peerRequire('@tensorflow/tfjs') as T;
  peerRequire('@tensorflow/tfjs-backend-wasm');
  const ok = await tf.setBackend('wasm');
  await tf.ready();
  if (!ok || tf.getBackend() !== 'wasm') throw new Error(`TF.js: the wasm backend did not start (backend: ${tf.getBackend()})`);
  const backendInfo = {
    backend: tf.getBackend(),
    simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
    multithread: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
  };
  const f32 = (a: Float64Array) => Float32Array.from(a);
  return {
    version: `${peerVersion('@tensorflow/tfjs') ?? '?'} (wasm ${peerVersion('@tensorflow/tfjs-backend-wasm') ?? '?'}, simd ${String(backendInfo.simd)}, threads ${String(backendInfo.multithread)})`,
    backendInfo,
    async setup(meta: WorkloadMeta, arrays: Arrays): Promise<Prepared> {
      const { K, t, alpha } = meta;
      const col = (a: Float64Array) => tf.tensor2d(f32(a), [a.length, 1]);
      const mat = (a: Float64Array, r: number, c: number) => tf.tensor2d(f32(a), [r, c]);
      if (meta.problem === 'ridge') {
        const { m, n } = meta.dims as { m: number; n: number };
        const A = mat(arrays.A!, m, n);
        const b = col(arrays.b!);
        const theta = col(arrays.theta!);
        // x ← x − α(Aᵀ(Ax − b) + θ∘x), x a column [n, 1]
        const step = (x: T, th: T) => tf.sub(x, tf.mul(alpha, tf.add(tf.matMul(A, tf.sub(tf.matMul(A, x), b), true, false), tf.mul(th, x))));
        const run = (th: T, x0: T, from: number, to: number) => { let x = x0; for (let k = from; k < to; k++) x = step(x, th); return x; };
        const primal = () => tf.tidy(() => run(theta, tf.zeros([n, 1]), 0, K).dataSync() as Float32Array);
        if (meta.derivative === 'hypergradient') {
          let xt: T; // x_t, set by each call before the gradient
          const valueAndGrad = tf.valueAndGrad((th: T) => tf.mul(0.5, tf.sum(tf.square(run(th, xt, t, K)))));
          return {
            call: () => tf.tidy(() => {
              xt = run(theta, tf.zeros([n, 1]), 0, t); // idle iterations: outside the gradient
              const { value, grad } = valueAndGrad(theta);
              return { loss: (value.dataSync() as Float32Array)[0]!, deriv: grad.dataSync() as Float32Array };
            }),
            checkState: primal,
            precision: 'float32',
            method: 'tf.valueAndGrad of ½‖x_K‖²; idle iterations outside it',
          };
        }
        if (meta.derivative === 'vjp') {
          const ct = col(arrays.cotangent!);
          const g = tf.grad((th: T) => tf.sum(tf.mul(run(th, tf.zeros([n, 1]), 0, K), ct)));
          return {
            call: () => tf.tidy(() => ({ deriv: g(theta).dataSync() as Float32Array })),
            checkState: primal,
            precision: 'float32',
            method: 'tf.grad of ⟨x_K, ū⟩',
          };
        }
        // Jacobian: p = n copies of the iteration as rows of X [p, n]; Θ [p, n] has θ in every
        // row; ∂/∂Θ Σ_i X_K[i, i] has row i = ∂x_K[i]/∂θ = row i of the Jacobian.
        const p = n;
        const Arow = A; // X Aᵀ then (·) A, all row-major
        const bRow = tf.reshape(b, [1, m]);
        const Theta = tf.tile(tf.reshape(theta, [1, n]), [p, 1]);
        const eye = tf.eye(p, n);
        const stepRows = (X: T, Th: T) => tf.sub(X, tf.mul(alpha, tf.add(tf.matMul(tf.sub(tf.matMul(X, Arow, false, true), bRow), Arow), tf.mul(Th, X))));
        const g = tf.grad((Th: T) => { let X = tf.zeros([p, n]); for (let k = 0; k < K; k++) X = stepRows(X, Th); return tf.sum(tf.mul(X, eye)); });
        return {
          call: () => tf.tidy(() => ({ deriv: g(Theta).dataSync() as Float32Array })),
          checkState: primal,
          precision: 'float32',
          method: 'reverse mode batched by hand over the Jacobian rows (tf.grad of Σᵢ X_K[i,i] over p copies)',
        };
      }
      if (meta.problem === 'least_squares') {
        const { m, n } = meta.dims as { m: number; n: number };
        const A = mat(arrays.A!, m, n);
        const b = col(arrays.b!);
        const Adot = mat(arrays.Adot!, m, n);
        const bdot = col(arrays.bdot!);
        const run = (A_: T, b_: T) => { let x = tf.zeros([n, 1]); for (let k = 0; k < K; k++) x = tf.sub(x, tf.mul(alpha, tf.matMul(A_, tf.sub(tf.matMul(A_, x), b_), true, false))); return x; };
        // VJP(ū) = ∇_{A,b} ⟨x_K(A, b), ū⟩ is linear in ū; J·u̇ = ∇_ū ⟨VJP(ū), (Ȧ, ḃ)⟩ (at any ū).
        const inner = (u: T) => tf.grads((A_: T, b_: T) => tf.sum(tf.mul(run(A_, b_), u)));
        const jvp = tf.grad((u: T) => { const [gA, gb] = inner(u)([A, b]); return tf.add(tf.sum(tf.mul(gA, Adot)), tf.sum(tf.mul(gb, bdot))); });
        const u0 = tf.zeros([n, 1]);
        return {
          call: () => tf.tidy(() => ({ deriv: jvp(u0).dataSync() as Float32Array })),
          checkState: () => tf.tidy(() => run(A, b).dataSync() as Float32Array),
          precision: 'float32',
          method: 'double-VJP trick (tf.grad of ⟨tf.grads(⟨x_K, ū⟩), u̇⟩ with respect to ū): TF.js has no forward mode',
        };
      }
      const { n, p } = meta.dims as { n: number; p: number };
      const W = mat(arrays.W!, n, n);
      const U = mat(arrays.U!, n, p);
      const theta = col(arrays.theta!);
      const c = col(arrays.c!);
      const ct = col(arrays.cotangent!);
      const run = (W_: T, c_: T) => { const u = tf.matMul(U, theta); let x = tf.zeros([n, 1]); for (let k = 0; k < K; k++) x = tf.tanh(tf.add(tf.add(tf.matMul(W_, x), u), c_)); return x; };
      const g = tf.grads((W_: T, c_: T) => tf.sum(tf.mul(run(W_, c_), ct)));
      return {
        call: () => tf.tidy(() => {
          const [gW, gc] = g([W, c]);
          const a = gW.dataSync() as Float32Array;
          const out = new Float32Array(a.length + n);
          out.set(a);
          out.set(gc.dataSync() as Float32Array, a.length);
          return { deriv: out };
        }),
        checkState: () => tf.tidy(() => run(W, c).dataSync() as Float32Array),
        precision: 'float32',
        method: 'tf.grads of ⟨x_K, ū⟩ with respect to W and c',
      };
    },
  };
}
