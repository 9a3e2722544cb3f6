"""JAX with jit as a peer (one workload, in its own process), for samples/bench/peers/main.ts.

    <venv>/bin/python -B jax_peer.py <workload dir> <result file> <variant> <threads>

variant 'jit': the algorithm as written, x <- x - a(A'(Ax - b) + theta*x), one jax.jit over
the whole call; the unroll is lax.scan, the idle iterations (t > 0) a first scan whose theta
goes through lax.stop_gradient. Reverse mode: jax.vjp; forward mode: jax.jvp (P2) and
jax.jacfwd (P3). variant 'ata': the same, but the user forms G = A'A and A'b once per call,
outside the scan (what phic's hoisting rewrite does by itself); the tanh layer (P4) has no
A'A, so there it reports 'skipped: not applicable'. threads 'default': XLA's CPU client as
it comes; '1': XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1,
set by the orchestrator before the process starts. float64 (jax_enable_x64). The compile
(trace + XLA compile of the jitted call, via .lower().compile()) is timed apart from the
calls; the timed calls run the compiled executable and bring the results to the host.
"""
import sys
import time

from peer_common import NotApplicable, run_child


def setup(jax, meta, arrays, variant):
    import numpy as np
    jnp, lax = jax.numpy, jax.lax
    K, t, alpha = meta['K'], meta['t'], meta['alpha']
    D = {k: jnp.asarray(v.reshape(meta['arrays'][k])) for k, v in arrays.items()}
    ata = variant == 'ata'
    n = meta['dims']['n']

    def unroll(step, x, steps, *params):
        """x after `steps` applications of step(x, *params), as one lax.scan."""
        if steps == 0:
            return x
        return lax.scan(lambda xc, _: (step(xc, *params), None), x, None, length=steps)[0]

    if meta['problem'] == 'ridge':
        def ridge(A, b, th):
            """x_K as a function of theta (idle iterations: theta behind stop_gradient)."""
            if ata:
                G, c = A.T @ A, A.T @ b  # formed once per call, outside the loop

                def step(x, p):
                    return x - alpha * (G @ x - c + p * x)
            else:
                def step(x, p):
                    return x - alpha * (A.T @ (A @ x - b) + p * x)
            x = unroll(step, jnp.zeros(n), t, lax.stop_gradient(th))
            return unroll(step, x, K - t, th)

        A, b, theta = D['A'], D['b'], D['theta']
        how = 'G = AᵀA, Aᵀb formed by hand once per call; ' if ata else ''
        if meta['derivative'] in ('hypergradient', 'vjp'):
            ct = D.get('cotangent')

            def f(A, b, theta, ct):
                x, pull = jax.vjp(lambda th: ridge(A, b, th), theta)
                return x, pull(x if ct is None else ct)[0]
            args = (A, b, theta, ct)
            method = f"{how}jax.jit of jax.vjp through lax.scan ({'cotangent x_K: d/dθ ½‖x_K‖²' if ct is None else 'cotangent ū'}); idle iterations: stop_gradient(θ)"
        else:
            def f(A, b, theta):
                return ridge(A, b, theta), jax.jacfwd(lambda th: ridge(A, b, th))(theta)
            args = (A, b, theta)
            method = f'{how}jax.jit of jax.jacfwd through lax.scan'
    elif meta['problem'] == 'least_squares':
        def ls(A, b):
            if ata:
                G, c = A.T @ A, A.T @ b  # its tangent ȦᵀA + AᵀȦ is formed once, by jvp

                def step(x):
                    return x - alpha * (G @ x - c)
            else:
                def step(x):
                    return x - alpha * (A.T @ (A @ x - b))
            return unroll(step, jnp.zeros(n), K)

        def f(A, b, Adot, bdot):
            return jax.jvp(ls, (A, b), (Adot, bdot))
        args = (D['A'], D['b'], D['Adot'], D['bdot'])
        method = ('G = AᵀA, Aᵀb formed by hand once per call; ' if ata else '') + 'jax.jit of jax.jvp through lax.scan'
    else:
        if ata:
            raise NotApplicable('the tanh layer x ← tanh(Wx + Uθ + c) has no AᵀA to form')

        def f(W, c, U, theta, ct):
            u = U @ theta

            def layer(W, c):
                return unroll(lambda x, W, c: jnp.tanh(W @ x + u + c), jnp.zeros(n), K, W, c)
            x, pull = jax.vjp(layer, W, c)
            gW, gc = pull(ct)
            return x, jnp.concatenate([gW.reshape(-1), gc])
        args = (D['W'], D['c'], D['U'], D['theta'], D['cotangent'])
        method = 'jax.jit of jax.vjp (W and c) through lax.scan'

    t0 = time.perf_counter()
    compiled = jax.jit(f).lower(*args).compile()
    compile_ms = (time.perf_counter() - t0) * 1e3

    def call():
        x, d = jax.device_get(compiled(*args))
        return np.asarray(x), np.asarray(d)
    return call, method, None, {'peerCompileMs': compile_ms}


def main():
    wdir, out_file, variant, threads = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    peer = ('jaxata' if variant == 'ata' else 'jax') + ('1t' if threads == '1' else '')
    holder = {}

    def load():
        import jax
        jax.config.update('jax_enable_x64', True)
        import jaxlib
        import numpy as np
        holder['jax'] = jax
        return f"jax {jax.__version__} (jaxlib {jaxlib.__version__}, numpy {np.__version__}, XLA CPU, {'1 thread: eigen multi-threading off, intra_op_parallelism_threads=1' if threads == '1' else 'default threads'})"

    run_child(peer, wdir, out_file, load, lambda meta, arrays: setup(holder['jax'], meta, arrays, variant))


if __name__ == '__main__':
    main()
