"""What every Python peer of samples/bench/peers shares: the timing rule of protocol.ts, the
agreement check against phic's reference, memory readings, and the driver that writes a
ChildResult (torch_peer.py and jax_peer.py).
"""
import json
import math
import os
import resource
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


class NotApplicable(Exception):
    """The peer has no way to run this workload as asked (reported as 'skipped', with the reason)."""


def run_child(peer, wdir, out_file, load, setup):
    """load() -> version string (imports the library); setup(meta, arrays) -> (call, method[, primal][, extra]).

    call() -> (state or None, derivative) as numpy arrays; primal() -> state where call() gives none;
    extra: a dict merged into the result (e.g. compileMs)."""
    result = {'peer': peer, 'workload': wdir, 'status': 'failed'}

    def write():
        result.setdefault('memory', {'baselineRss': 0})
        result['memory']['maxRss'] = max_rss_bytes()
        with open(out_file, 'w') as f:
            json.dump(result, f, indent=1)

    try:
        import numpy as np
        result['version'] = load()
        result['memory'] = {'baselineRss': rss_bytes()}
        with open(os.path.join(wdir, 'meta.json')) as f:
            meta = json.load(f)
        result['workload'] = meta['id']
        arrays = {k: np.fromfile(os.path.join(wdir, f'{k}.f64'), dtype='<f8') for k in meta['arrays']}
        made = setup(meta, arrays)
        call, method = made[0], made[1]
        primal = made[2] if len(made) > 2 else None
        if len(made) > 3 and made[3]:
            result.update(made[3])
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
            result['message'] = f"{peer} disagrees with phic on {meta['id']}: relative difference x_K {ds:.2e}, derivative {dd:.2e} (tolerance {TOLERANCE})"
            write()
            return
        result['timing'] = time_calls(call)
        result['status'] = 'ok'
    except NotApplicable as e:
        result['status'] = 'skipped'
        result['message'] = f'not applicable: {e}'
    except Exception:  # noqa: BLE001
        result['status'] = 'failed'
        result['message'] = traceback.format_exc()
    write()
