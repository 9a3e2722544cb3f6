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
the same rule as protocol.ts. Writes a ChildResult as JSON.
"""
import json
import math
import os
import resource
import sys
import time
import traceback

TOLERANCE = 1e-9
BUDGET_S, MIN_REPS, MAX_REPS, SLOW_CALL_S, SLOW_MIN_REPS = 5.0, 5, 60, 2.0, 3


def rss_bytes():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) * 1024
    return 0


def max_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rel_diff(a, b):
    import numpy as np
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        return math.inf
    d = float(np.linalg.norm(a - b)) / max(float(np.linalg.norm(a)), float(np.linalg.norm(b)), 1e-300)
    return math.inf if math.isnan(d) else d


def time_calls(call):
    """The timing rule of protocol.ts: warm up (>= 2 more calls and >= 1 s), then median of reps."""
    warmup_calls, started = 1, time.perf_counter()
    while True:
        t0 = time.perf_counter()
        call()
        last = time.perf_counter() - t0
        warmup_calls += 1
        spent = time.perf_counter() - started
        if not (warmup_calls < 50 and ((warmup_calls < 3 and spent < 3) or spent < 1)):
            break
    reps = math.ceil(BUDGET_S / max(last, 1e-6))
    reps = min(MAX_REPS, max(SLOW_MIN_REPS if last > SLOW_CALL_S else MIN_REPS, reps))
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        call()
        samples.append((time.perf_counter() - t0) * 1e3)
    samples.sort()
    mid = len(samples) // 2
    median = samples[mid] if len(samples) % 2 else (samples[mid - 1] + samples[mid]) / 2
    return {'medianMs': median, 'minMs': samples[0], 'maxMs': samples[-1], 'reps': reps, 'warmupCalls': warmup_calls}


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
    result = {'peer': 'pytorch' if threads == 2 else f'pytorch{threads}t', 'workload': wdir, 'status': 'failed'}

    def write():
        result.setdefault('memory', {'baselineRss': 0})
        result['memory']['maxRss'] = max_rss_bytes()
        with open(out_file, 'w') as f:
            json.dump(result, f, indent=1)

    try:
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
        result['version'] = f'torch {torch.__version__} (numpy {np.__version__}, {nt} thread{"" if nt == 1 else "s"}, BLAS: {blas or "not reported"})'
        result['memory'] = {'baselineRss': rss_bytes()}
        with open(os.path.join(wdir, 'meta.json')) as f:
            meta = json.load(f)
        result['workload'] = meta['id']
        arrays = {k: np.fromfile(os.path.join(wdir, f'{k}.f64'), dtype='<f8') for k in meta['arrays']}
        made = setup(torch, meta, arrays)
        call, method = made[0], made[1]
        primal = made[2] if len(made) > 2 else None
        result['precision'] = 'float64'
        result['method'] = method
        state, deriv = call()
        if state is None:
            state = primal()
        ref_state = np.fromfile(os.path.join(wdir, 'ref-state.f64'), dtype='<f8')
        ref_deriv = np.fromfile(os.path.join(wdir, 'ref-deriv.f64'), dtype='<f8')
        ds, dd = rel_diff(state, ref_state), rel_diff(deriv, ref_deriv)
        passed = ds < TOLERANCE and dd < TOLERANCE
        result['check'] = {'state': ds, 'derivative': dd, 'tolerance': TOLERANCE, 'passed': passed, 'against': 'phic'}
        if not passed:
            result['status'] = 'disagrees'
            result['message'] = f"pytorch disagrees with phic on {meta['id']}: relative difference x_K {ds:.2e}, derivative {dd:.2e} (tolerance {TOLERANCE})"
            write()
            return
        result['timing'] = time_calls(call)
        result['status'] = 'ok'
    except Exception:  # noqa: BLE001
        result['status'] = 'failed'
        result['message'] = traceback.format_exc()
    write()


if __name__ == '__main__':
    main()
