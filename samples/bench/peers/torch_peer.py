"""PyTorch as a peer (one workload, in its own process), for samples/bench/peers/main.ts.

    /usr/bin/python3 -B torch_peer.py <workload dir> <result file> [threads]

Debian's python3-torch (1.13), float64, torch.set_num_threads(threads), 2 by default (peer id
'pytorch'; with 1 thread the peer id is 'pytorch1t'). The iteration is unrolled in
Python with autograd; idle iterations (t) run under torch.no_grad(). Reverse mode:
torch.autograd.grad. Forward mode: torch.autograd.forward_ad dual tensors (P2); the full
Jacobian (P3): torch.autograd.functional.jacobian(strategy='forward-mode', vectorize=True),
which is forward mode vmapped over the directions (falls back to functorch.jacfwd, then to
reverse mode; the result says which ran). Reads the workload's data and phic's reference
written by the orchestrator, checks agreement (relative 1e-9) before timing, and times with
the same rule as protocol.ts (peer_common.py, shared with jax_peer.py). Writes a ChildResult as JSON.
"""
import sys

from peer_common import run_child


def setup(torch, meta, arrays):
    """Returns (call, method); call() -> (state or None, derivative) as numpy arrays."""
    f64 = torch.float64
    K, t, alpha = meta['K'], meta['t'], meta['alpha']
    T = {k: torch.from_numpy(v.reshape(meta['arrays'][k])) for k, v in arrays.items()}
    if meta['problem'] == 'ridge':
        A, b, theta = T['A'], T['b'], T['theta']
        n = meta['dims']['n']
        At = A.t()

        def step(x, th):
            return x - alpha * (At @ (A @ x - b) + th * x)

        if meta['derivative'] in ('hypergradient', 'vjp'):
            th = theta.clone().requires_grad_(True)
            ct = T.get('cotangent')

            def call():
                x = torch.zeros(n, dtype=f64)
                with torch.no_grad():
                    for _ in range(t):
                        x = step(x, theta)
                for _ in range(t, K):
                    x = step(x, th)
                if ct is None:
                    loss = 0.5 * (x * x).sum()
                    (g,) = torch.autograd.grad(loss, th)
                else:
                    (g,) = torch.autograd.grad(x, th, grad_outputs=ct)
                return x.detach().numpy(), g.numpy()

            method = 'torch.autograd.grad of ½‖x_K‖²; idle iterations under no_grad' if ct is None else 'torch.autograd.grad with grad_outputs=ū'
            return call, method

        def run(th):
            x = torch.zeros(n, dtype=f64)
            for _ in range(K):
                x = step(x, th)
            return x

        def primal():
            with torch.no_grad():
                return run(theta).numpy()

        attempts = []
        try:
            from torch.autograd.functional import jacobian
            jacobian(run, theta, vectorize=True, strategy='forward-mode')  # probe: raises where unsupported
            return (lambda: (None, jacobian(run, theta, vectorize=True, strategy='forward-mode').numpy())), "torch.autograd.functional.jacobian(strategy='forward-mode', vectorize=True)", primal
        except Exception as e:  # noqa: BLE001
            attempts.append(f'forward-mode jacobian: {e}')
        try:
            import functorch
            jf = functorch.jacfwd(run)
            jf(theta)
            return (lambda: (None, jf(theta).numpy())), f'functorch.jacfwd (forward-mode jacobian failed: {attempts[0][:120]})', primal
        except Exception as e:  # noqa: BLE001
            attempts.append(f'functorch.jacfwd: {e}')
        from torch.autograd.functional import jacobian
        return (lambda: (None, jacobian(run, theta, vectorize=True).numpy())), 'reverse-mode jacobian, vectorized (forward mode unavailable: ' + '; '.join(a[:120] for a in attempts) + ')', primal

    if meta['problem'] == 'least_squares':
        import torch.autograd.forward_ad as fwAD
        A, b, Adot, bdot = T['A'], T['b'], T['Adot'], T['bdot']
        n = meta['dims']['n']

        def call():
            with fwAD.dual_level():
                Ad = fwAD.make_dual(A, Adot)
                bd = fwAD.make_dual(b, bdot)
                Adt = Ad.t()
                x = torch.zeros(n, dtype=f64)
                for _ in range(K):
                    x = x - alpha * (Adt @ (Ad @ x - bd))
                p, tangent = fwAD.unpack_dual(x)
                return p.numpy().copy(), tangent.numpy().copy()

        return call, 'torch.autograd.forward_ad (dual tensors)'

    W0, U, theta, c0, ct = T['W'], T['U'], T['theta'], T['c'], T['cotangent']
    n = meta['dims']['n']
    W = W0.clone().requires_grad_(True)
    c = c0.clone().requires_grad_(True)

    def call():
        u = U @ theta  # Uθ once per call
        x = torch.zeros(n, dtype=f64)
        for _ in range(K):
            x = torch.tanh(W @ x + u + c)
        gW, gc = torch.autograd.grad(x, (W, c), grad_outputs=ct)
        return x.detach().numpy(), torch.cat([gW.reshape(-1), gc]).numpy()

    return call, 'torch.autograd.grad with respect to W and c, grad_outputs=ū'


def main():
    wdir, out_file = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    holder = {}

    def load():
        import numpy as np
        import torch
        torch.set_num_threads(threads)
        try:  # OpenBLAS has its own thread pool: hold it to the same count
            import threadpoolctl
            threadpoolctl.threadpool_limits(limits=threads, user_api='blas')
        except Exception:  # noqa: BLE001
            pass
        torch.set_default_dtype(torch.float64)
        blas = ''
        try:
            import threadpoolctl
            info = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture', '')} ({i.get('threading_layer', '')}, {i.get('num_threads')} thread{'' if i.get('num_threads') == 1 else 's'})" for i in threadpoolctl.threadpool_info() if i.get('user_api') == 'blas']
            blas = '; '.join(info)
        except Exception:  # noqa: BLE001
            blas = 'threadpoolctl unavailable'
        nt = torch.get_num_threads()
        holder['torch'] = torch
        return f'torch {torch.__version__} (numpy {np.__version__}, {nt} thread{"" if nt == 1 else "s"}, BLAS: {blas or "not reported"})'

    run_child('pytorch' if threads == 2 else f'pytorch{threads}t', wdir, out_file, load, lambda meta, arrays: setup(holder['torch'], meta, arrays))


if __name__ == '__main__':
    main()
