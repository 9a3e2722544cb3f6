"""The machine's roofline for the workloads' hot operations, measured with numpy.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 -B roofline.py <sizes.json> <result file>

sizes.json: [{"kind": "matvec"|"matvecT"|"matmul", "m": .., "n": .., "k": ..}, ...]: the products
phic's generated code performs (performed.ts). For each: GFLOP/s and microseconds per call of
numpy's A @ x (2mn flops), A.T @ x (A m×n, 2mn flops) or A @ B (m×n · n×k, 2mnk flops), with out= buffers
(the faster of one call and a stack of calls in numpy's C loop, per call), the median of several
batches, with OpenBLAS's default thread count and with 1 thread (threadpoolctl). Also a
1000³ dgemm as the machine's compute ceiling. Reports which BLAS kernel runs (threadpoolctl).
"""
import json
import os
import sys
import time

import numpy as np


def gflops(f, flop, target_s=0.25, batches=5):
    f()
    t0 = time.perf_counter()
    f()
    one = max(time.perf_counter() - t0, 1e-7)
    reps = max(1, int(target_s / one))
    rates = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(reps):
            f()
        dt = time.perf_counter() - t0
        rates.append(flop * reps / dt / 1e9)
    rates.sort()
    return rates[len(rates) // 2], 1e6 * flop / (rates[len(rates) // 2] * 1e9)


def stack_size(flop):
    """Copies in a stacked call: enough that numpy's per-call overhead is spread thin (about 2 Mflop)."""
    return max(1, min(4096, int(2e6 // flop)))


def measure(sizes):
    """us per call of each shape: the faster of a single call from Python and the same call
    repeated over a broadcast stack in numpy's C loop (np.matmul: one BLAS call per item)."""
    rng = np.random.default_rng(1)
    out = []
    for s in sizes:
        m, n = s['m'], s['n']
        A = rng.standard_normal((m, n))
        if s['kind'] in ('matvec', 'matvecT'):
            M = A if s['kind'] == 'matvec' else A.T
            rows, cols = M.shape
            x = rng.standard_normal(cols)
            y = np.empty(rows)
            flop = 2 * m * n
            rate, us = gflops(lambda: np.dot(M, x, out=y), flop)
            B = stack_size(flop)
            if B > 1:
                Ms, xs, ys = np.broadcast_to(M, (B, rows, cols)), np.broadcast_to(x.reshape(cols, 1), (B, cols, 1)), np.empty((B, rows, 1))
                r2, us2 = gflops(lambda: np.matmul(Ms, xs, out=ys), flop * B)
                if us2 / B < us:
                    rate, us = r2, us2 / B
        else:
            k = s.get('k', n)
            Bm = rng.standard_normal((n, k))
            C = np.empty((m, k))
            flop = 2 * m * n * k
            rate, us = gflops(lambda: np.dot(A, Bm, out=C), flop)
            B = stack_size(flop)
            if B > 1:
                As, Bs, Cs = np.broadcast_to(A, (B, m, n)), np.broadcast_to(Bm, (B, n, k)), np.empty((B, m, k))
                r2, us2 = gflops(lambda: np.matmul(As, Bs, out=Cs), flop * B)
                if us2 / B < us:
                    rate, us = r2, us2 / B
        out.append({**s, 'gflops': rate, 'usPerCall': us})
    return out


def main():
    sizes = json.load(open(sys.argv[1]))
    sizes_peak = [{'kind': 'matmul', 'm': 1000, 'n': 1000, 'k': 1000, 'peak': True}]
    result = {'numpy': np.__version__, 'env': {k: os.environ.get(k) for k in ('OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE', 'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS')}}
    try:
        import threadpoolctl
        result['blas'] = [i for i in threadpoolctl.threadpool_info() if i.get('user_api') == 'blas']
        result['defaultThreads'] = measure(sizes + sizes_peak)
        with threadpoolctl.threadpool_limits(limits=1, user_api='blas'):
            result['oneThread'] = measure(sizes + sizes_peak)
    except ImportError:
        result['blas'] = 'threadpoolctl unavailable: kernel not reported'
        result['defaultThreads'] = measure(sizes + sizes_peak)
    with open(sys.argv[2], 'w') as f:
        json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()
